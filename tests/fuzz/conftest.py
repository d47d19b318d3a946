"""The fuzz world shared by the fuzz tests of one module (a chain with models and objects)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_targets import FuzzWorld, build_world

SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def world() -> Iterator[FuzzWorld]:
    """A fresh fuzz world per test module, on tmpfs when there is one (commits stay cheap)."""
    with tempfile.TemporaryDirectory(prefix="aivm-fuzz-", dir=SHM if SHM.is_dir() else None) as tmp:
        built = build_world(Path(tmp) / "chain")
        try:
            yield built
        finally:
            built.close()
