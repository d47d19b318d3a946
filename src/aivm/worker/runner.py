"""Running models for the provider node: one onnxruntime session per artifact, queued
tensor jobs of one model batched into a single run when the model's first input has a
dynamic first (batch) dimension, and greedy generation for ``tokens`` models; DSM programs
(format ``aivm-dsm/1``, :class:`DsmRunner`) run off-chain with the on-chain integer
semantics, one execution trace per job (optimistic verification).

Example::

    runner = ModelRunner(Path("model.onnx"))
    outputs = runner.run_tensors([x1, x2, x3])       # one session.run when batchable
    ids = runner.generate(list(b"The chain"), 20)    # greedy byte-level generation
    dsm = load_runner(Path("model.dsm"), runtime.FORMAT)
    tensors = dsm.trace(dsm.check_input(rows))      # input, then each operator's output
    tensors = runner.trace(x1)                       # ONNX: input, then every node output

An ONNX model's trace (optimistic verification of ``tolerance`` models) comes from
:class:`aivm.ai.verify.trace.OnnxTracer`, built once per artifact: tensor 0 is the fed array,
then every node's output in graph order; the model must have one graph input and its first
graph output must be its last node's output (:meth:`ModelRunner.trace_problem`).
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

from aivm.ai import runtime
from aivm.ai.runtime.model import IntArray
from aivm.ai.verify import trace
from aivm.types.errors import AivmError
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


DSM_RUNTIME = "dsm"
"""The runtime a provider declares (and compute matches) for ``aivm-dsm/1`` versions."""


def runtime_name(format: str = "") -> str:
    """``onnxruntime <version>``, or ``dsm aivm-dsm/1`` for DSM versions (exact integer
    semantics: the format is the version that matters), as results report it."""
    if format == runtime.FORMAT:
        return f"{DSM_RUNTIME} {runtime.FORMAT}"
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
        self._tracer: trace.OnnxTracer | None = None
        self._artifact: bytes | None = None

    @property
    def artifact(self) -> bytes:
        """The model file's bytes (read once)."""
        if self._artifact is None:
            self._artifact = self.path.read_bytes()
        return self._artifact

    @property
    def tracer(self) -> trace.OnnxTracer:
        """The every-node-output session of this model (built once)."""
        if self._tracer is None:
            self._tracer = trace.OnnxTracer(self.artifact)
        return self._tracer

    def trace_problem(self) -> str:
        """Why this model's trace cannot be committed for optimistic verification (empty when
        it can): one graph input (tensor 0 is the job's input), and the graph's first output
        produced by its last node, as float32 (the last tensor is the result's output)."""
        try:
            entries = self.tracer.entries
        except Exception as exc:  # onnx and onnxruntime raise their own exception types
            return f"the model cannot be traced: {exc}"
        inputs = self.tracer.input_names
        if inputs != [self.input_name] or entries[0][1] != self.input_name:
            return f"the model has graph inputs {inputs}; a traced model takes one"
        if len(entries) < 2 or entries[-1][1] != self.output_name:
            return (
                f"the graph output {self.output_name!r} is not its last node's output "
                f"({entries[-1][1]!r})"
            )
        if self.session.get_outputs()[0].type != "tensor(float)":
            return "the graph output is not float32"
        return ""

    def trace(self, array: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
        """Every tensor of one traced run on a checked input: the input, then each node's
        output in graph order (the last one is the model's output)."""
        return [value for _, value in self.tracer.run({self.input_name: array})]

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


class DsmRunner:
    """A DSM program (``aivm-dsm/1``) loaded from its artifact, run with the chain's exact
    integer semantics. Inputs are 2-D int64 quantized rows; outputs are the program's int64
    output; :meth:`trace` gives every tensor of a run (optimistic verification)."""

    batchable = True
    format = runtime.FORMAT

    def __init__(self, artifact: bytes, path: Path | None = None) -> None:
        try:
            self.program = runtime.load(artifact)
        except AivmError as exc:
            raise FormatError(f"artifact is not a loadable DSM model: {exc}") from None
        self.artifact = artifact
        self.path = path

    @classmethod
    def from_file(cls, path: Path) -> DsmRunner:
        """The program of the artifact at ``path``."""
        return cls(path.read_bytes(), path)

    def check_input(self, array: npt.NDArray[Any]) -> IntArray:
        """``array`` as checked quantized rows (2-D int64 of the model's width, values in its
        declared range), or :class:`FormatError`."""
        if array.ndim != 2 or array.dtype.kind not in "iu":
            raise FormatError(
                f"a DSM input is 2-D int64 quantized rows, not {array.dtype} {list(array.shape)}"
            )
        rows = np.ascontiguousarray(array, dtype=np.int64)
        if array.dtype.kind == "u" and rows.size and int(rows.min()) < 0:
            raise FormatError("input values out of the int64 range")
        try:
            checked: IntArray = runtime.check_rows(self.program, rows)
        except AivmError as exc:
            raise FormatError(str(exc)) from None
        return checked

    def trace(self, rows: IntArray) -> list[IntArray]:
        """Every tensor of the run on checked ``rows``: the rows, then each operator's output
        (the last one is the program's output)."""
        return trace.dsm_trace(self.program, rows)

    def run_tensors(self, inputs: Sequence[npt.NDArray[Any]]) -> BatchRun:
        """The program's output for each checked input (one run per input)."""
        start = time.perf_counter()
        outputs: list[npt.NDArray[Any]] = [self.program.run(x) for x in inputs]
        return BatchRun(outputs, len(inputs), time.perf_counter() - start)


Runner = ModelRunner | DsmRunner


def load_runner(path: Path, format: str = "", max_batch: int = 256, threads: int = 0) -> Runner:
    """The runner of a model version's artifact: :class:`DsmRunner` for ``aivm-dsm/1``, an
    onnxruntime :class:`ModelRunner` otherwise."""
    if format == runtime.FORMAT:
        return DsmRunner.from_file(path)
    return ModelRunner(path, max_batch, threads)
