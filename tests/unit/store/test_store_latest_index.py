"""CommitStore's ``latest`` index: reads and iteration at the last version skip deleted keys.

The index holds exactly the live keys of the last committed version, so iterating a range
costs what the range holds now, not every key ever deleted there (a dead key is a history
tombstone that an unmetered EndBlock walk would otherwise step over, block after block).
"""

from __future__ import annotations

import random
from pathlib import Path

import lmdb
import pytest

from aivm.store import CommitStore, compute_root
from aivm.types.errors import AivmError, ErrLogic


def _index_entries(store: CommitStore) -> int:
    with store._env.begin() as txn:
        return int(txn.stat(store._latest)["entries"])


def _random_history(store: CommitStore, seed: int, blocks: int) -> dict[bytes, bytes]:
    """Commit ``blocks`` blocks of random sets and deletes; return the final state."""
    rng = random.Random(seed)
    model: dict[bytes, bytes] = {}
    for block in range(blocks):
        for _ in range(rng.randrange(1, 40)):
            key = bytes([rng.randrange(4)]) + rng.randbytes(rng.randrange(0, 3))
            if key in model and rng.random() < 0.5:
                store.working.delete(key)
                del model[key]
            else:
                value = f"{block}-{rng.random()}".encode()
                store.working.set(key, value)
                model[key] = value
        store.commit()
    return model


def _bounded(model: dict[bytes, bytes], start: bytes | None, end: bytes | None) -> list:
    return sorted(
        (k, v)
        for k, v in model.items()
        if (start is None or k >= start) and (end is None or k < end)
    )


@pytest.mark.parametrize("seed", range(6))
def test_latest_iteration_matches_the_state_in_both_directions(tmp_path: Path, seed: int) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        model = _random_history(store, seed, blocks=25)
        rng = random.Random(seed + 100)
        bounds: list[bytes | None] = [
            None,
            b"",
            b"\x00",
            b"\x01\x00",
            b"\x02",
            b"\x03\xff",
            b"\x04",
        ]
        for _ in range(30):
            start, end = rng.choice(bounds), rng.choice(bounds)
            expected = _bounded(model, start, end)
            assert list(store.working.iterate(start, end)) == expected
            assert list(store.working.iterate(start, end, reverse=True)) == expected[::-1]
            view = store.view_at(store.version)
            assert list(view.iterate(start, end)) == expected
        for key in {bytes([i]) for i in range(4)} | set(model):
            assert store.working.get(key) == model.get(key)
        assert _index_entries(store) == len(model)
        store.verify_integrity()


def test_deleted_keys_leave_nothing_in_the_index(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        for round_ in range(5):
            for i in range(2000):
                store.working.set(b"power/" + i.to_bytes(4, "big"), str(round_).encode())
            store.commit()
            for i in range(2000):
                store.working.delete(b"power/" + i.to_bytes(4, "big"))
            store.working.set(b"power/live", b"1")
            store.commit()
        assert _index_entries(store) == 1
        assert list(store.working.iterate(b"power/", b"power0")) == [(b"power/live", b"1")]
        # past versions still read from history
        assert len(list(store.view_at(1).iterate(b"power/", b"power0"))) == 2000


def test_a_store_without_the_index_is_backfilled_on_open(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with CommitStore.open(path) as store:
        model = _random_history(store, 7, blocks=15)
        version, root = store.version, store.last_hash
    # Remove the index and its marker, as in a store written before the index existed.
    env = lmdb.open(str(path), max_dbs=8, subdir=True)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"latest", txn=txn), delete=True)
        txn.delete(b"latest_index", db=env.open_db(b"meta", txn=txn))
    env.close()
    with CommitStore.open(path) as store:
        assert (store.version, store.last_hash) == (version, root)
        assert list(store.working.iterate()) == sorted(model.items())
        assert compute_root(sorted(model.items())) == root
        store.verify_integrity()
        store.working.set(b"\x09after", b"x")
        store.commit()
        assert store.working.get(b"\x09after") == b"x"


def test_verify_integrity_catches_a_damaged_index(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        _random_history(store, 3, blocks=5)
        with store._env.begin(write=True) as txn:
            txn.put(b"\x07stray", b"v", db=store._latest)
        with pytest.raises(AivmError) as info:
            store.verify_integrity()
        assert ErrLogic.is_(info.value)
        assert "latest index" in info.value.log


def test_snapshot_restore_fills_the_index(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "a") as source:
        model = _random_history(source, 11, blocks=10)
        chunks = list(source.export_snapshot(source.version, chunk_size=64))
        version, root = source.version, source.last_hash
    with CommitStore.open(tmp_path / "b") as target:
        target.restore_snapshot(version, chunks, root)
        assert list(target.working.iterate()) == sorted(model.items())
        assert _index_entries(target) == len(model)
        target.verify_integrity()
