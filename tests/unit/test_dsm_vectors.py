"""Golden vectors: every stored model gives exactly the stored output bytes on this machine.

The vectors in ``tests/vectors/`` were written by the generators beside them (one per
operator and per importer). This test re-parses each artifact, checks its hash, re-runs the
stored inputs and compares the sha256 of the output bytes, so any change in the runtime's
semantics, the canonical encoding or the machine's arithmetic fails here.
"""

from __future__ import annotations

import hashlib

import pytest

from aivm.ai import runtime
from vector_files import Vector, read_vectors

VECTORS = read_vectors()


def test_vectors_cover_every_operator() -> None:
    names = {v.name for v in VECTORS}
    for op in (
        "dense",
        "requantize",
        "relu",
        "add",
        "lut",
        "argmax",
        "threshold",
        "tree_ensemble",
        "scorecard",
    ):
        assert any(op in n for n in names), f"no golden vector exercises {op}"


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(vector: Vector) -> None:
    assert hashlib.sha256(vector.artifact).hexdigest() == vector.model_sha256
    program = runtime.load(vector.artifact)
    output = program.run(runtime.check_rows(program, runtime.as_rows(vector.inputs)))
    assert hashlib.sha256(runtime.output_bytes(output)).hexdigest() == vector.output_sha256
    assert output.tolist() == vector.output
    assert program.gas_per_row(runtime.GasTable()) == vector.gas_per_row
