"""Canonical serialization of DSM models: one byte string per model, so its hash commits to it.

The artifact is UTF-8 JSON with sorted keys, no whitespace, ASCII only, integers only (a float,
NaN or an unknown key is rejected). Integer arrays are objects ``{"dtype", "shape", "data"}``
where ``data`` is the base64 of the little-endian values in the *smallest* of
int8/int16/int32/int64 that holds them, so each array has exactly one encoding. Parsing
re-serializes the model and requires the very same bytes: a non-canonical artifact is
rejected, which makes ``sha256(artifact)`` a commitment to the model itself.

Parsing is bounded, and its work is counted before it is done (:class:`LoadWork`, in two
stages a caller can charge gas for: what the raw bytes show before the JSON is read, what the
JSON shows before anything is decoded). A JSON integer longer than any int64 is refused while
still text, by a scan of the artifact outside its strings, before ``json.loads`` converts
anything: the answer never depends on the interpreter's integer-conversion limit
(``sys.set_int_max_str_digits``), and no long digit string is ever converted. ``json.loads``
runs without per-value Python callbacks (only floats, which are refused, reach one), so its
cost per byte is bounded by C code; duplicate keys need no callback either, because the
canonical re-serialization check rejects them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aivm.ai.runtime.errors import ErrInvalidArtifact, ErrModelLimit
from aivm.ai.runtime.model import (
    FORMAT,
    OP_NAMES,
    Add,
    Argmax,
    Dense,
    InputSpec,
    IntArray,
    Lut,
    Model,
    Op,
    OutputSpec,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
)

DTYPES = (
    ("int8", np.dtype("<i1")),
    ("int16", np.dtype("<i2")),
    ("int32", np.dtype("<i4")),
    ("int64", np.dtype("<i8")),
)
_RANGES: tuple[tuple[str, np.dtype[Any], int, int], ...] = tuple(
    (name, dtype, int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)) for name, dtype in DTYPES
)
_DTYPES_BY_NAME: dict[str, np.dtype[Any]] = dict(DTYPES)
_ARRAY_KEYS = frozenset({"dtype", "shape", "data"})
MAX_ARRAY_ELEMENTS = 16_777_216
MAX_ARRAY_DIMENSIONS = 2
"""Every array of the format is a vector or a matrix."""
MAX_INT_DIGITS = len(str(2**63))
"""Digits of the longest int64 magnitude (19); a longer JSON integer is refused unconverted."""
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_INT_DIGITS + 1}}}")
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")


REQUANTIZE_COLUMN_ITEMS = 5
"""A requantize column is checked and compiled with several big-integer steps in Python."""
_INPUT_LISTS = ("scale_num", "scale_den", "zero_point", "names")


@dataclass(frozen=True)
class LoadWork:
    """What parsing, checking and compiling one artifact costs, counted before decoding.

    It is counted, and charged, in two stages (:meth:`stages`). Before the JSON is read, what
    the raw bytes show: the artifact itself (a fixed cost), its bytes (JSON, base64, canonical
    re-serialization) and its *containers*, one per ``[`` or ``{`` (every JSON list or object
    costs an allocation and the garbage collector's attention). Before anything is decoded,
    what the JSON shows: operators, encoded arrays, and *items*, the values the loader handles
    one at a time in Python: one per input feature (the longest of the input's ``scale_num``,
    ``scale_den``, ``zero_point`` and ``names`` lists), one per dense output row and
    ``REQUANTIZE_COLUMN_ITEMS`` per requantize column. Tree nodes, scorecard edges and table
    entries are checked with vectorized numpy and are paid for by their bytes and arrays.
    """

    artifacts: int = 0
    bytes: int = 0
    containers: int = 0
    ops: int = 0
    arrays: int = 0
    items: int = 0

    def stages(self) -> tuple[LoadWork, LoadWork]:
        """The work charged before the JSON is read, and the work charged after it."""
        before = LoadWork(artifacts=self.artifacts, bytes=self.bytes, containers=self.containers)
        return before, LoadWork(ops=self.ops, arrays=self.arrays, items=self.items)


Charge = Callable[[LoadWork], None]
"""Called with each stage of an artifact's :class:`LoadWork` before that stage's work."""


def serialize(model: Model) -> bytes:
    """The canonical bytes of ``model``."""
    document = {
        "format": FORMAT,
        "name": model.name,
        "input": _input_json(model.input),
        "output": _output_json(model.output),
        "ops": [_op_json(op) for op in model.ops],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def model_hash(artifact: bytes) -> bytes:
    """sha256 of a serialized model."""
    return hashlib.sha256(artifact).digest()


def parse(artifact: bytes, max_bytes: int | None = None, charge: Charge | None = None) -> Model:
    """Parse canonical model bytes; raise ErrInvalidArtifact (or ErrModelLimit) otherwise.

    ``charge``, when given, receives the two stages of the artifact's :class:`LoadWork`: the
    first before the JSON is read, the second before anything is decoded (it may raise, e.g.
    out of gas, to stop the parse there).
    """
    model, _ = parse_counted(artifact, max_bytes, charge)
    return model


def parse_counted(
    artifact: bytes,
    max_bytes: int | None = None,
    charge: Charge | None = None,
    max_ops: int | None = None,
) -> tuple[Model, LoadWork]:
    """:func:`parse`, also returning the artifact's :class:`LoadWork`; with ``max_ops``, a
    model with more operators is refused (ErrModelLimit) before they are counted."""
    if max_bytes is not None and len(artifact) > max_bytes:
        raise ErrModelLimit.wrap(f"artifact of {len(artifact)} bytes exceeds {max_bytes}")
    before = LoadWork(
        artifacts=1, bytes=len(artifact), containers=artifact.count(b"[") + artifact.count(b"{")
    )
    if charge is not None:
        charge(before)
    document = _read_json(artifact)
    ops = document.get("ops") if isinstance(document, dict) else None
    if max_ops is not None and isinstance(ops, list) and len(ops) > max_ops:
        raise ErrModelLimit.wrap(f"{len(ops)} operators exceed {max_ops}")
    after = census(document)
    if charge is not None:
        charge(after)
    try:
        model = _model_from(document)
    except (_Schema, ValueError, TypeError, OverflowError) as err:
        raise ErrInvalidArtifact.wrap(str(err)) from None
    if serialize(model) != artifact:
        raise ErrInvalidArtifact.wrap("artifact is not in canonical form")
    return model, LoadWork(
        before.artifacts, before.bytes, before.containers, after.ops, after.arrays, after.items
    )


def _read_json(artifact: bytes) -> Any:
    """The JSON document of an artifact: ASCII, integers within int64's digits, no floats."""
    try:
        text = artifact.decode("ascii")
    except UnicodeDecodeError as err:
        raise ErrInvalidArtifact.wrap(f"not a DSM model: {err}") from None
    # a digit run that long is rare even inside strings (base64): strip them only then
    if _has_long_digit_run(artifact) and _LONG_DIGITS.search(_JSON_STRING.sub("", text)):
        raise ErrInvalidArtifact.wrap(
            f"not a DSM model: an integer has more than {MAX_INT_DIGITS} digits"
        )
    try:
        return json.loads(text, parse_float=_reject_float, parse_constant=_reject_float)
    except (ValueError, RecursionError, _Schema) as err:
        raise ErrInvalidArtifact.wrap(f"not a DSM model: {err}") from None


def _has_long_digit_run(artifact: bytes) -> bool:
    """True when ``artifact`` holds more than ``MAX_INT_DIGITS`` digits in a row (C speed)."""
    return artifact.translate(_DIGITS_AS_ZERO).find(b"0" * (MAX_INT_DIGITS + 1)) >= 0


def census(document: Any) -> LoadWork:
    """The operators, arrays and items of a parsed (not yet decoded) artifact.

    Reads only list lengths and array shapes, so it costs O(operators + scorecard features);
    parts that do not follow the schema count as nothing (decoding rejects them anyway).
    """
    if not isinstance(document, dict):
        return LoadWork()
    ops = document.get("ops")
    ops = ops if isinstance(ops, list) else []
    spec = document.get("input")
    items = 0
    if isinstance(spec, dict):
        items = max(_length(spec.get(name)) for name in _INPUT_LISTS)
    arrays = 0
    for op in ops:
        if isinstance(op, dict):
            op_arrays, op_items = _op_census(op)
            arrays += op_arrays
            items += op_items
    return LoadWork(ops=len(ops), arrays=arrays, items=items)


def _op_census(op: dict[str, Any]) -> tuple[int, int]:
    """(encoded arrays, one-at-a-time items) of one operator's JSON."""
    kind = op.get("op")
    if kind == "scorecard":
        return _length(op.get("edges")) + _length(op.get("points")), 0
    arrays = sum(1 for value in op.values() if isinstance(value, dict))
    if kind == "dense":
        return arrays, _leading_dim(op.get("weights"))
    if kind == "requantize":
        columns = max(_leading_dim(op.get("multiplier")), _leading_dim(op.get("shift")))
        return arrays, REQUANTIZE_COLUMN_ITEMS * columns
    return arrays, 0


def _length(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def _leading_dim(array: Any) -> int:
    """First dimension of an encoded array's declared shape (0 when malformed)."""
    shape = array.get("shape") if isinstance(array, dict) else None
    if not isinstance(shape, list) or not shape:
        return 0
    first = shape[0]
    if not isinstance(first, int) or isinstance(first, bool):
        return 0
    return min(max(first, 0), MAX_ARRAY_ELEMENTS)


class _Schema(Exception):
    """The document does not follow the model schema."""


def _reject_float(text: str) -> Any:
    raise _Schema(f"non-integer number {text!r}")


# --- writing ---------------------------------------------------------------------------


def encode_array(array: IntArray) -> dict[str, Any]:
    """The canonical JSON form of an integer array."""
    values = np.asarray(array, dtype=np.int64)
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    name, dtype = next((n, d) for n, d, low, high in _RANGES if low <= lo and hi <= high)
    data = base64.b64encode(values.astype(dtype).tobytes()).decode()
    return {"dtype": name, "shape": list(values.shape), "data": data}


def _input_json(spec: InputSpec) -> dict[str, Any]:
    return {
        "width": spec.width,
        "lo": spec.lo,
        "hi": spec.hi,
        "scale_num": list(spec.scale_num),
        "scale_den": list(spec.scale_den),
        "zero_point": list(spec.zero_point),
        "names": list(spec.names),
    }


def _output_json(spec: OutputSpec) -> dict[str, Any]:
    return {
        "labels": list(spec.labels),
        "scale_num": spec.scale_num,
        "scale_den": spec.scale_den,
        "zero_point": spec.zero_point,
    }


def _op_json(op: Op) -> dict[str, Any]:
    body: dict[str, Any] = {"op": OP_NAMES[type(op)], "inputs": list(op.inputs)}
    if isinstance(op, Dense):
        body.update(
            weights=encode_array(op.weights), bias=encode_array(op.bias), zero_point=op.zero_point
        )
    elif isinstance(op, Requantize):
        body.update(
            multiplier=encode_array(op.multiplier),
            shift=encode_array(op.shift),
            zero_point=op.zero_point,
            clamp=None if op.lo is None else [op.lo, op.hi],
        )
    elif isinstance(op, Relu):
        body.update(zero_point=op.zero_point)
    elif isinstance(op, Lut):
        body.update(table=encode_array(op.table), offset=op.offset)
    elif isinstance(op, Threshold):
        body.update(threshold=op.threshold)
    elif isinstance(op, TreeEnsemble):
        for name in ("roots", "feature", "threshold", "left", "right", "values", "base"):
            body[name] = encode_array(getattr(op, name))
        body["depth"] = op.depth
    elif isinstance(op, Scorecard):
        body.update(
            edges=[encode_array(e) for e in op.edges],
            points=[encode_array(p) for p in op.points],
            base=op.base,
        )
    return body


# --- reading ---------------------------------------------------------------------------


def _fields(obj: Any, where: str, names: set[str] | frozenset[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _Schema(f"{where} must be an object")
    if set(obj) != names:
        raise _Schema(f"{where} must have exactly the keys {sorted(names)}, got {sorted(obj)}")
    return obj


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Schema(f"{where} must be an integer")
    if not -(2**63) <= value < 2**63:
        raise _Schema(f"{where} is out of the int64 range")
    return value


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _Schema(f"{where} must be a list of integers")
    if not all(type(v) is int for v in value):
        raise _Schema(f"{where} must be a list of integers")
    if value and not (min(value) >= -(2**63) and max(value) < 2**63):
        raise _Schema(f"{where} is out of the int64 range")
    return tuple(value)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Schema(f"{where} must be a string")
    return value


def decode_array(obj: Any, where: str) -> IntArray:
    """An int64 array from its canonical JSON form."""
    fields = _fields(obj, where, _ARRAY_KEYS)
    dtype = _DTYPES_BY_NAME.get(fields["dtype"]) if isinstance(fields["dtype"], str) else None
    if dtype is None:
        raise _Schema(f"{where}: unknown dtype {fields['dtype']!r}")
    shape = _ints(fields["shape"], f"{where}.shape")
    if len(shape) > MAX_ARRAY_DIMENSIONS or any(d < 0 for d in shape):
        raise _Schema(f"{where}: bad shape {list(shape)}")
    count = math.prod(shape)
    if count > MAX_ARRAY_ELEMENTS:
        raise _Schema(f"{where}: bad shape {list(shape)}")
    try:
        raw = base64.b64decode(_str(fields["data"], f"{where}.data"), validate=True)
    except binascii.Error:
        raise _Schema(f"{where}: data is not base64") from None
    if len(raw) != count * dtype.itemsize:
        raise _Schema(f"{where}: data length does not match shape and dtype")
    values: IntArray = np.frombuffer(raw, dtype=dtype).astype(np.int64).reshape(shape)
    return values


def _model_from(document: Any) -> Model:
    fields = _fields(document, "model", {"format", "name", "input", "output", "ops"})
    if fields["format"] != FORMAT:
        raise _Schema(f"format must be {FORMAT!r}")
    spec = _fields(
        fields["input"],
        "input",
        {"width", "lo", "hi", "scale_num", "scale_den", "zero_point", "names"},
    )
    names = spec["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _Schema("input.names must be a list of strings")
    input_spec = InputSpec(
        width=_int(spec["width"], "input.width"),
        lo=_int(spec["lo"], "input.lo"),
        hi=_int(spec["hi"], "input.hi"),
        scale_num=_ints(spec["scale_num"], "input.scale_num"),
        scale_den=_ints(spec["scale_den"], "input.scale_den"),
        zero_point=_ints(spec["zero_point"], "input.zero_point"),
        names=tuple(names),
    )
    out = _fields(fields["output"], "output", {"labels", "scale_num", "scale_den", "zero_point"})
    labels = out["labels"]
    if not isinstance(labels, list) or not all(isinstance(n, str) for n in labels):
        raise _Schema("output.labels must be a list of strings")
    output_spec = OutputSpec(
        labels=tuple(labels),
        scale_num=_int(out["scale_num"], "output.scale_num"),
        scale_den=_int(out["scale_den"], "output.scale_den"),
        zero_point=_int(out["zero_point"], "output.zero_point"),
    )
    ops = fields["ops"]
    if not isinstance(ops, list):
        raise _Schema("ops must be a list")
    return Model(
        input_spec,
        tuple(_op_from(op, i) for i, op in enumerate(ops)),
        output_spec,
        _str(fields["name"], "name"),
    )


def _op_from(obj: Any, index: int) -> Op:
    where = f"ops[{index}]"
    if not isinstance(obj, dict) or not isinstance(obj.get("op"), str):
        raise _Schema(f"{where} must be an object with an 'op' name")
    reader = _READERS.get(obj["op"])
    if reader is None:
        raise _Schema(f"{where}: unknown operator {obj['op']!r}")
    keys, build = reader
    fields = _fields(obj, where, keys | {"op", "inputs"})
    inputs = _ints(fields["inputs"], f"{where}.inputs")
    return build(fields, inputs, where)


def _array(fields: dict[str, Any], name: str, where: str) -> IntArray:
    return decode_array(fields[name], f"{where}.{name}")


def _read_dense(f: dict[str, Any], inputs: tuple[int, ...], w: str) -> Op:
    return Dense(inputs, _array(f, "weights", w), _array(f, "bias", w), _int(f["zero_point"], w))


def _read_requantize(f: dict[str, Any], inputs: tuple[int, ...], w: str) -> Op:
    clamp = f["clamp"]
    lo = hi = None
    if clamp is not None:
        bounds = _ints(clamp, f"{w}.clamp")
        if len(bounds) != 2:
            raise _Schema(f"{w}.clamp must be [lo, hi] or null")
        lo, hi = bounds
    return Requantize(
        inputs, _array(f, "multiplier", w), _array(f, "shift", w), _int(f["zero_point"], w), lo, hi
    )


def _read_trees(f: dict[str, Any], inputs: tuple[int, ...], w: str) -> Op:
    arrays = {
        n: _array(f, n, w)
        for n in ("roots", "feature", "threshold", "left", "right", "values", "base")
    }
    return TreeEnsemble(inputs, depth=_int(f["depth"], f"{w}.depth"), **arrays)


def _read_scorecard(f: dict[str, Any], inputs: tuple[int, ...], w: str) -> Op:
    for name in ("edges", "points"):
        if not isinstance(f[name], list):
            raise _Schema(f"{w}.{name} must be a list of arrays")
    edges = tuple(decode_array(e, f"{w}.edges") for e in f["edges"])
    points = tuple(decode_array(p, f"{w}.points") for p in f["points"])
    return Scorecard(inputs, edges, points, _int(f["base"], f"{w}.base"))


_READERS: dict[str, tuple[set[str], Callable[[dict[str, Any], tuple[int, ...], str], Op]]] = {
    "dense": ({"weights", "bias", "zero_point"}, _read_dense),
    "requantize": ({"multiplier", "shift", "zero_point", "clamp"}, _read_requantize),
    "add": (set(), lambda f, i, w: Add(i)),
    "relu": ({"zero_point"}, lambda f, i, w: Relu(i, _int(f["zero_point"], w))),
    "lut": (
        {"table", "offset"},
        lambda f, i, w: Lut(i, _array(f, "table", w), _int(f["offset"], w)),
    ),
    "argmax": (set(), lambda f, i, w: Argmax(i)),
    "threshold": ({"threshold"}, lambda f, i, w: Threshold(i, _int(f["threshold"], w))),
    "tree_ensemble": (
        {"roots", "feature", "threshold", "left", "right", "values", "base", "depth"},
        _read_trees,
    ),
    "scorecard": ({"edges", "points", "base"}, _read_scorecard),
}
