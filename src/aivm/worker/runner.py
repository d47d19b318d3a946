"""Running models for the provider node: one onnxruntime session per artifact, queued
tensor jobs of one model batched into a single run when the model's first input has a
dynamic first (batch) dimension, and greedy generation for ``tokens`` models.

Example::

    runner = ModelRunner(Path("model.onnx"))
    outputs = runner.run_tensors([x1, x2, x3])       # one session.run when batchable
    ids = runner.generate(list(b"The chain"), 20)    # greedy byte-level generation
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from aivm.worker.formats import FormatError

DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}
DEFAULT_CONTEXT = 128
"""Generation context when the model does not say (no ``pos_emb`` initializer)."""


def runtime_name() -> str:
    """``onnxruntime <version>``, as results report it."""
    return f"onnxruntime {ort.__version__}"


@dataclass(frozen=True)
class BatchRun:
    """Outputs of one call and how it ran."""

    outputs: list[npt.NDArray[Any]]
    runs: int
    """``session.run`` calls made (1 for a batched call)."""
    seconds: float


class ModelRunner:
    """An onnxruntime CPU session on one ONNX artifact."""

    def __init__(self, path: Path, max_batch: int = 256, threads: int = 0) -> None:
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise FormatError(f"artifact is not a loadable ONNX model: {exc}") from None
        self.path = path
        self.max_batch = max(1, max_batch)
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_shape: list[Any] = list(first.shape)
        self.input_dtype = DTYPES.get(first.type)
        self.output_name: str = self.session.get_outputs()[0].name
        self._context: int | None = None

    @property
    def batchable(self) -> bool:
        """Whether the first input's first dimension is dynamic (jobs can be stacked)."""
        return bool(self.input_shape) and not isinstance(self.input_shape[0], int)

    def check_input(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """``array`` as the first input's dtype and rank, or :class:`FormatError`."""
        if len(array.shape) != len(self.input_shape):
            raise FormatError(
                f"input has shape {list(array.shape)}; the model takes {self.input_shape}"
            )
        for got, want in zip(array.shape, self.input_shape, strict=True):
            if isinstance(want, int) and want > 0 and got != want:
                raise FormatError(
                    f"input has shape {list(array.shape)}; the model takes {self.input_shape}"
                )
        if self.input_dtype is not None and array.dtype != self.input_dtype:
            if not np.can_cast(array.dtype, self.input_dtype, casting="same_kind"):
                raise FormatError(f"input dtype {array.dtype} does not fit {self.input_dtype}")
            array = array.astype(self.input_dtype)
        return array

    def _run(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        result: npt.NDArray[Any] = self.session.run([self.output_name], {self.input_name: array})[0]
        return result

    def run_tensors(self, inputs: Sequence[npt.NDArray[Any]]) -> BatchRun:
        """The first output for each checked input; inputs with the same trailing shape are
        concatenated along the batch axis (up to ``max_batch`` rows per run)."""
        start = time.perf_counter()
        outputs: list[npt.NDArray[Any] | None] = [None] * len(inputs)
        runs = 0
        for group in self._groups(inputs):
            for chunk in _chunks(group, inputs, self.max_batch):
                runs += 1
                if len(chunk) == 1:
                    outputs[chunk[0]] = self._run(inputs[chunk[0]])
                    continue
                stacked = np.concatenate([inputs[i] for i in chunk], axis=0)
                whole = self._run(stacked)
                offset = 0
                for i in chunk:
                    rows = inputs[i].shape[0]
                    outputs[i] = whole[offset : offset + rows]
                    offset += rows
        done = [o for o in outputs if o is not None]
        return BatchRun(done, runs, time.perf_counter() - start)

    def _groups(self, inputs: Sequence[npt.NDArray[Any]]) -> list[list[int]]:
        """Indices of inputs that may share a run (same dtype and trailing shape)."""
        if not self.batchable:
            return [[i] for i in range(len(inputs))]
        groups: dict[tuple[str, tuple[int, ...]], list[int]] = {}
        for i, array in enumerate(inputs):
            groups.setdefault((array.dtype.str, tuple(array.shape[1:])), []).append(i)
        return list(groups.values())

    # -- generation ---------------------------------------------------------------------

    @property
    def context(self) -> int:
        """Longest window the model takes: the rows of its ``pos_emb`` initializer (the
        convention of ``examples/offchain_lm``), else the input's static sequence length,
        else :data:`DEFAULT_CONTEXT`."""
        if self._context is None:
            self._context = _context_of(self.path, self.input_shape)
        return self._context

    def generate(self, prompt: list[int], max_new_tokens: int) -> list[int]:
        """Greedy continuation of byte ids ``prompt``: ``max_new_tokens`` new ids."""
        ids = list(prompt) or [ord("\n")]
        new: list[int] = []
        for _ in range(max_new_tokens):
            window = np.asarray([ids[-self.context :]], np.int64)
            logits = self._run(window)
            nxt = int(np.argmax(logits[0, -1]))
            ids.append(nxt)
            new.append(nxt)
        return new


def _chunks(group: list[int], inputs: Sequence[npt.NDArray[Any]], max_rows: int) -> list[list[int]]:
    """``group`` split into runs of at most ``max_rows`` batch rows (one input per run at
    least, whatever its size)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for i in group:
        n = int(inputs[i].shape[0]) if inputs[i].shape else 1
        if current and rows + n > max_rows:
            chunks.append(current)
            current, rows = [], 0
        current.append(i)
        rows += n
    if current:
        chunks.append(current)
    return chunks


def _context_of(path: Path, input_shape: list[Any]) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for init in model.graph.initializer:
        if init.name == "pos_emb" and init.dims:
            return int(init.dims[0])
    if len(input_shape) >= 2 and isinstance(input_shape[1], int) and input_shape[1] > 0:
        return int(input_shape[1])
    return DEFAULT_CONTEXT
