"""The input and output conventions of compute jobs (what a client sends, what a provider
returns), shared by the provider node and ``client.modules.compute.run``.

- **Comparison rule** of a model version: ``exact`` (default, also when the ai module's
  ``ModelVersion`` has no ``comparison`` field), ``tolerance`` (float tensors, element-wise)
  or ``tokens`` (generation: the exact token sequence).
- **Tensor models** (rules ``exact`` and ``tolerance``): the job input is one ``.npy`` file
  (``numpy.save`` format, read with ``allow_pickle=False``) for the model's first input,
  batch dimension included. The output is the model's first output tensor as raw
  little-endian bytes in C order: float32 for ``tolerance``; the tensor's own dtype for
  ``exact``. Its dtype and shape go in the result's ``runtime_metadata`` JSON.
- **Generation models** (rule ``tokens``; a byte-level LM such as ``examples/offchain_lm``):
  the input is UTF-8 JSON ``{"prompt": str, "max_new_tokens": int}``; the model is fed the
  prompt's UTF-8 bytes as ``int64`` ids and extended greedily (the highest logit, the lowest
  id on ties); the output is the generated ids as little-endian ``uint32``.

For ``tolerance`` and ``tokens`` the output bytes are also the result's ``comparison_data``
(their sha256 is the ``output_digest``).
"""

from __future__ import annotations

import functools
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

RULES = ("exact", "tolerance", "tokens")
NPY_MAGIC = b"\x93NUMPY"
MAX_NEW_TOKENS = 4096
"""Largest ``max_new_tokens`` a generation input may ask for."""


class FormatError(ValueError):
    """Job input or output bytes that do not follow the conventions."""


def comparison_rule(version: Any) -> str:
    """The comparison rule of an ai ``ModelVersion`` (``exact`` when it has none)."""
    rule = str(getattr(version, "comparison", "") or "exact")
    if rule not in RULES:
        raise FormatError(f"unknown comparison rule {rule!r} (known: {', '.join(RULES)})")
    return rule


def carries_comparison_data(rule: str) -> bool:
    """Whether results of ``rule`` carry the output inline as ``comparison_data``."""
    return rule in ("tolerance", "tokens")


# -- tensor models ----------------------------------------------------------------------------


def encode_tensor_input(array: npt.ArrayLike) -> bytes:
    """Job input bytes (``.npy``) for a tensor model's first input."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def decode_tensor_input(data: bytes) -> npt.NDArray[Any]:
    """The array of a ``.npy`` job input (no pickles). Format 1.0/2.0 headers are parsed
    once per distinct header (the jobs of one model share theirs) and the data is read in
    place; other inputs go through ``numpy.load``."""
    fast = _decode_npy_fast(data)
    if fast is not None:
        return fast
    try:
        array: npt.NDArray[Any] = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"input is not a .npy array: {exc}") from None
    if array.dtype.hasobject:
        raise FormatError("input array has object dtype")
    return array


def _npy_header_end(data: bytes) -> int:
    """Where the data of a format 1.0/2.0 ``.npy`` starts (0: not one)."""
    if len(data) < 12 or data[:6] != NPY_MAGIC:
        return 0
    if data[6] == 1:
        return 10 + int.from_bytes(data[8:10], "little")
    if data[6] == 2:
        return 12 + int.from_bytes(data[8:12], "little")
    return 0


@functools.lru_cache(maxsize=256)
def _npy_header(header: bytes) -> tuple[np.dtype[Any], tuple[int, ...], bool]:
    """(dtype, shape, fortran order) of a ``.npy`` header; ValueError when malformed."""
    stream = io.BytesIO(header)
    major, _ = np.lib.format.read_magic(stream)
    read = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = read(stream)
    return np.dtype(dtype), tuple(int(d) for d in shape), bool(fortran)


def _decode_npy_fast(data: bytes) -> npt.NDArray[Any] | None:
    """The array of a format 1.0/2.0 ``.npy`` read in place; None when it is not one."""
    end = _npy_header_end(data)
    if not end or end > len(data):
        return None
    try:
        dtype, shape, fortran = _npy_header(bytes(data[:end]))
    except ValueError:
        return None
    if dtype.hasobject:
        raise FormatError("input array has object dtype")
    count = math.prod(shape)
    if len(data) - end < count * dtype.itemsize:
        raise FormatError(f"input is not a .npy array: too few bytes for {dtype} {list(shape)}")
    flat = np.frombuffer(data, dtype, count=count, offset=end)
    return flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)


@dataclass(frozen=True)
class Output:
    """A job's output bytes and what they hold."""

    data: bytes
    dtype: str
    shape: tuple[int, ...]

    def metadata(self) -> dict[str, Any]:
        """The ``dtype``/``shape`` entries of ``runtime_metadata``."""
        return {"dtype": self.dtype, "shape": list(self.shape)}


def encode_tensor_output(tensor: npt.NDArray[Any], rule: str) -> Output:
    """The output bytes of a tensor: float32 LE for ``tolerance``, its own dtype (LE) else."""
    array = np.asarray(tensor)
    if rule == "tolerance":
        array = array.astype("<f4", copy=False)
    else:
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    array = np.ascontiguousarray(array)
    return Output(array.tobytes(order="C"), array.dtype.name, tuple(int(d) for d in array.shape))


def decode_tensor_output(data: bytes, dtype: str, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    """The array of output bytes, given the dtype and shape from ``runtime_metadata``."""
    kind = np.dtype(dtype).newbyteorder("<")
    if len(data) != kind.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise FormatError(f"{len(data)} output bytes do not hold a {dtype} array of {shape}")
    return np.frombuffer(data, kind).reshape(shape)


# -- generation models ------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationInput:
    """A generation job's input."""

    prompt: str
    max_new_tokens: int


def encode_generation_input(prompt: str, max_new_tokens: int) -> bytes:
    """Job input bytes for a generation model."""
    return json.dumps({"prompt": prompt, "max_new_tokens": max_new_tokens}).encode()


def decode_generation_input(data: bytes) -> GenerationInput:
    """The prompt and token count of a generation input (checked)."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"generation input is not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
        raise FormatError('generation input must be {"prompt": str, "max_new_tokens": int}')
    tokens = body.get("max_new_tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= MAX_NEW_TOKENS:
        raise FormatError(f"max_new_tokens must be an integer in [1, {MAX_NEW_TOKENS}]")
    return GenerationInput(body["prompt"], tokens)


def encode_tokens(ids: list[int]) -> Output:
    """Generated ids as little-endian uint32 bytes."""
    array = np.asarray(ids, dtype="<u4")
    return Output(array.tobytes(), "uint32", (len(ids),))


def decode_tokens(data: bytes) -> list[int]:
    """Ids from little-endian uint32 output bytes."""
    if len(data) % 4:
        raise FormatError(f"{len(data)} bytes are not a whole number of uint32 ids")
    return [int(v) for v in np.frombuffer(data, "<u4")]
