"""AIVM's CIDs and blocks are exactly what the reference IPFS importer makes.

``tests/compat/unixfs`` runs ``ipfs-unixfs-importer`` (the JavaScript implementation behind
Helia and js-ipfs) with the defaults of ``ipfs add --cid-version=1`` on the same bytes, and
every root CID and every block (by the sha256 of its bytes) must match, for single-chunk files,
one-level DAGs and a two-level DAG (more than 174 chunks). Needs node and npm (CI has both).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from aivm.crypto import unixfs
from npm_projects import npm_project, tool
from sample_data import sample_bytes

CHUNK = unixfs.CHUNK_SIZE
SIZES = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    3 * CHUNK + 1000,
    174 * CHUNK,
    174 * CHUNK + 1,
    175 * CHUNK + 5,
]


@pytest.mark.slow
def test_cids_and_blocks_match_the_js_importer(tmp_path: Path) -> None:
    folder = npm_project("unixfs")
    paths, dags = [], []
    for size in SIZES:
        data = sample_bytes(size)
        path = tmp_path / f"f{size}"
        path.write_bytes(data)
        paths.append(str(path))
        dags.append(unixfs.build_dag(data))
    done = subprocess.run(
        [tool("node", "the UnixFS compatibility test"), "import.mjs", *paths],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(SIZES)
    for size, dag, reference in zip(SIZES, dags, results, strict=True):
        assert dag.root_cid == reference["cid"], f"root CID differs for {size} bytes"
        ours = sorted(hashlib.sha256(block).hexdigest() for block in dag.blocks.values())
        assert ours == reference["blocks"], f"blocks differ for {size} bytes"
