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
from aivm.ai.runtime.codec import model_hash, parse, serialize
from aivm.ai.runtime.errors import ErrInvalidArtifact, ErrInvalidInput, ErrModelLimit, ErrOverflow
from aivm.ai.runtime.interpreter import Program, check_rows, compile_model, quantize_row
from aivm.ai.runtime.limits import GasTable, Limits
from aivm.ai.runtime.model import FORMAT, IntArray, Model

__all__ = [
    "FORMAT",
    "Analysis",
    "Cost",
    "ErrInvalidArtifact",
    "ErrInvalidInput",
    "ErrModelLimit",
    "ErrOverflow",
    "GasTable",
    "IntArray",
    "Limits",
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
    "quantize_row",
    "serialize",
]


def load(artifact: bytes, limits: Limits | None = None, gas: GasTable | None = None) -> Program:
    """Parse, check and compile a serialized model."""
    model = parse(artifact, None if limits is None else limits.max_model_bytes)
    program = compile_model(model)
    if limits is not None:
        limits.check_model(model, program.analysis, gas)
    return program


def as_rows(rows: Sequence[Sequence[int]]) -> IntArray:
    """An ``(n, width)`` int64 array from integer rows (rejects non-integers)."""
    for row in rows:
        for value in row:
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise ErrInvalidInput.wrap(f"{value!r} is not an integer")
            if not -(2**63) <= int(value) < 2**63:
                raise ErrInvalidInput.wrap(f"{value} is out of the int64 range")
    if not rows or len({len(r) for r in rows}) != 1:
        raise ErrInvalidInput.wrap("input must be one or more rows of equal length")
    return np.array(rows, dtype=np.int64).reshape(len(rows), -1)


def output_bytes(output: IntArray) -> bytes:
    """Canonical bytes of an output tensor (little-endian int64, row-major), for hashing."""
    return np.ascontiguousarray(output, dtype="<i8").tobytes()
