"""DSM: the deterministic, integer-only on-chain inference runtime.

Typical use::

    from aivm.ai import runtime

    program = runtime.load(artifact_bytes, runtime.Limits())   # parse + check, or raise
    rows = runtime.as_rows([runtime.quantize_row(program, ["12.5", "3"])])
    output = program.run(runtime.check_rows(program, rows))      # int64 (rows, outputs)

See :mod:`aivm.ai.runtime.model` for the operator semantics and ``README.md`` beside this
file for the format.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aivm.ai.runtime.analysis import Analysis, Cost, analyze
from aivm.ai.runtime.codec import Charge, LoadWork, model_hash, parse, parse_counted, serialize
from aivm.ai.runtime.errors import ErrInvalidArtifact, ErrInvalidInput, ErrModelLimit, ErrOverflow
from aivm.ai.runtime.interpreter import Program, check_rows, compile_model, quantize_row
from aivm.ai.runtime.limits import GasTable, Limits
from aivm.ai.runtime.model import FORMAT, IntArray, Model

__all__ = [
    "FORMAT",
    "Analysis",
    "Charge",
    "Cost",
    "ErrInvalidArtifact",
    "ErrInvalidInput",
    "ErrModelLimit",
    "ErrOverflow",
    "GasTable",
    "IntArray",
    "Limits",
    "LoadWork",
    "Model",
    "Program",
    "analyze",
    "as_rows",
    "check_rows",
    "compile_model",
    "load",
    "model_hash",
    "output_bytes",
    "parse",
    "parse_counted",
    "quantize_row",
    "serialize",
]


def load(
    artifact: bytes,
    limits: Limits | None = None,
    gas: GasTable | None = None,
    charge: Charge | None = None,
) -> Program:
    """Parse, check and compile a serialized model.

    ``charge`` receives the two stages of the artifact's :class:`LoadWork` (before the JSON is
    read, before anything is decoded): the chain charges the load gas there, so each stage's
    work is paid for before it is done.
    """
    model, work = parse_counted(
        artifact,
        None if limits is None else limits.max_model_bytes,
        charge,
        None if limits is None else limits.max_ops,
    )
    program = compile_model(model, limits, work)
    if limits is not None:
        limits.check_model(model, program.analysis, gas)
    return program


def as_rows(rows: Sequence[Sequence[int]]) -> IntArray:
    """An ``(n, width)`` int64 array from integer rows (rejects non-integers)."""
    if not rows or len({len(r) for r in rows}) != 1:
        raise ErrInvalidInput.wrap("input must be one or more rows of equal length")
    for row in rows:
        if not all(type(value) is int for value in row):
            _check_integers(row)
    try:
        return np.array(rows, dtype=np.int64).reshape(len(rows), -1)
    except OverflowError:
        raise ErrInvalidInput.wrap("an input value is out of the int64 range") from None


def _check_integers(row: Sequence[int]) -> None:
    """Reject anything but Python or numpy integers (the slow path of :func:`as_rows`)."""
    for value in row:
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise ErrInvalidInput.wrap(f"{value!r} is not an integer")
        if not -(2**63) <= int(value) < 2**63:
            raise ErrInvalidInput.wrap(f"{value} is out of the int64 range")


def output_bytes(output: IntArray) -> bytes:
    """Canonical bytes of an output tensor (little-endian int64, row-major), for hashing."""
    return np.ascontiguousarray(output, dtype="<i8").tobytes()
