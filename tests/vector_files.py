"""Golden vectors of the DSM runtime: write and check them (used by tests and generators).

A vector is two files in ``tests/vectors/``: ``<name>.dsm`` (the canonical model artifact)
and ``<name>.json``::

    {"name": ..., "source": "how it was made", "model_sha256": hex,
     "inputs": [[int, ...], ...], "output": [[int, ...], ...], "output_sha256": hex,
     "gas_per_row": int}

``output_sha256`` is the sha256 of :func:`aivm.ai.runtime.output_bytes` of the output. The
same files must give the same bytes on every machine; nothing here uses floats.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from aivm.ai import runtime

VECTORS = Path(__file__).resolve().parent / "vectors"


@dataclass(frozen=True)
class Vector:
    """One golden vector as stored."""

    name: str
    source: str
    artifact: bytes
    model_sha256: str
    inputs: list[list[int]]
    output: list[list[int]]
    output_sha256: str
    gas_per_row: int


def write_vector(name: str, model: runtime.Model, inputs: list[list[int]], source: str) -> Vector:
    """Run ``model`` on ``inputs`` and store the result as vector ``name``."""
    artifact = runtime.serialize(model)
    program = runtime.load(artifact)
    rows = runtime.check_rows(program, runtime.as_rows(inputs))
    output = program.run(rows)
    vector = Vector(
        name=name,
        source=source,
        artifact=artifact,
        model_sha256=hashlib.sha256(artifact).hexdigest(),
        inputs=[[int(v) for v in row] for row in inputs],
        output=[[int(v) for v in row] for row in output],
        output_sha256=hashlib.sha256(runtime.output_bytes(output)).hexdigest(),
        gas_per_row=program.gas_per_row(runtime.GasTable()),
    )
    VECTORS.mkdir(exist_ok=True)
    (VECTORS / f"{name}.dsm").write_bytes(artifact)
    meta = {k: v for k, v in vector.__dict__.items() if k != "artifact"}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()]
    (VECTORS / f"{name}.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return vector


def read_vectors() -> list[Vector]:
    """Every stored vector, sorted by name."""
    vectors = []
    for meta_path in sorted(VECTORS.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        artifact = (VECTORS / f"{meta['name']}.dsm").read_bytes()
        vectors.append(Vector(artifact=artifact, **meta))
    return vectors
