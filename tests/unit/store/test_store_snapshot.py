"""State snapshots: export → restore gives the same root and values; bad input is refused."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from aivm.store import (
    EMPTY_HASH,
    CommitStore,
    decode_snapshot_chunk,
    snapshot_hash,
)
from aivm.types.errors import AivmError, ErrInvalidHeight, ErrInvalidRequest


def _build(path: Path, versions: int = 4, count: int = 300) -> CommitStore:
    store = CommitStore.open(path)
    for version in range(1, versions + 1):
        for i in range(count):
            key = b"k\x00" + f"{i:05d}".encode()
            if (i + version) % 5 == 0:
                store.working.delete(key)
            else:
                store.working.set(key, f"v{version}-{i}".encode() * (1 + i % 4))
        store.working.set(f"only-{version}".encode(), b"\x01")
        store.commit()
    return store


def _items(store: CommitStore, version: int) -> list[tuple[bytes, bytes]]:
    return list(store.view_at(version).iterate())


@pytest.mark.parametrize("version", [4, 2])
def test_export_restore_same_root_and_values(tmp_path: Path, version: int) -> None:
    source = _build(tmp_path / "a")
    chunks = list(source.export_snapshot(version, chunk_size=1000))
    assert len(chunks) > 3
    assert chunks == list(source.export_snapshot(version, chunk_size=1000))  # deterministic
    records = [r for c in chunks for r in decode_snapshot_chunk(c)]
    assert records == _items(source, version)

    target = CommitStore.open(tmp_path / "b")
    root = target.restore_snapshot(version, chunks, source.root_at(version))
    assert root == source.root_at(version)
    assert target.version == version and target.last_hash == root
    assert _items(target, version) == _items(source, version)
    assert target.available_versions() == (version, version)
    target.verify_integrity()
    with pytest.raises(AivmError) as err:
        target.view_at(version - 1)
    assert ErrInvalidHeight.is_(err.value)
    # the restored store keeps working, and survives a reopen
    target.working.set(b"new", b"1")
    target.commit()
    target.close()
    reopened = CommitStore.open(tmp_path / "b")
    assert reopened.version == version + 1
    assert reopened.available_versions() == (version, version + 1)
    assert reopened.get_at(b"new", version + 1) == b"1"
    reopened.verify_integrity()
    reopened.close()
    source.close()


def test_empty_state_exports_one_empty_chunk(tmp_path: Path) -> None:
    store = CommitStore.open(tmp_path / "a")
    store.commit()
    assert list(store.export_snapshot(1)) == [b""]
    target = CommitStore.open(tmp_path / "b")
    assert target.restore_snapshot(1, [b""], EMPTY_HASH) == EMPTY_HASH
    assert target.version == 1


def test_snapshot_hash_is_sha256_of_chunk_hashes() -> None:
    chunks = [b"a", b"bc"]
    hashes = [hashlib.sha256(c).digest() for c in chunks]
    assert snapshot_hash(hashes) == hashlib.sha256(hashes[0] + hashes[1]).digest()


def _assert_empty(store: CommitStore) -> None:
    assert store.version == 0
    assert store.last_hash == EMPTY_HASH
    assert store.working_hash() == EMPTY_HASH
    assert list(store.working.iterate()) == []


def test_wrong_app_hash_is_rejected_and_leaves_the_store_empty(tmp_path: Path) -> None:
    source = _build(tmp_path / "a")
    chunks = list(source.export_snapshot(4, chunk_size=1000))
    target = CommitStore.open(tmp_path / "b")
    with pytest.raises(AivmError) as err:
        target.restore_snapshot(4, chunks, b"\x01" * 32)
    assert ErrInvalidRequest.is_(err.value)
    _assert_empty(target)
    # and the right hash still works afterwards
    assert target.restore_snapshot(4, chunks, source.last_hash) == source.last_hash


@pytest.mark.parametrize("damage", ["flip", "truncate", "reorder"])
def test_corrupted_chunk_is_rejected(tmp_path: Path, damage: str) -> None:
    source = _build(tmp_path / "a")
    chunks = list(source.export_snapshot(4, chunk_size=1000))
    if damage == "flip":
        bad = bytearray(chunks[1])
        bad[-1] ^= 0xFF
        chunks[1] = bytes(bad)
    elif damage == "truncate":
        chunks[1] = chunks[1][:-3]
    else:
        chunks[0], chunks[1] = chunks[1], chunks[0]
    target = CommitStore.open(tmp_path / "b")
    with pytest.raises(AivmError) as err:
        target.restore_snapshot(4, chunks, source.last_hash)
    assert ErrInvalidRequest.is_(err.value)
    _assert_empty(target)


def test_restore_into_a_non_empty_store_is_refused(tmp_path: Path) -> None:
    source = _build(tmp_path / "a", versions=1)
    chunks = list(source.export_snapshot(1))
    with pytest.raises(AivmError) as err:
        source.restore_snapshot(5, chunks, source.last_hash)
    assert ErrInvalidRequest.is_(err.value)
    assert source.version == 1


def test_100k_keys_round_trip_in_seconds(tmp_path: Path) -> None:
    source = CommitStore.open(tmp_path / "a")
    for i in range(100_000):
        source.working.set(b"acc/" + i.to_bytes(4, "big"), b"x" * 40)
    source.commit(7)
    started = time.monotonic()
    chunks = list(source.export_snapshot(7))
    target = CommitStore.open(tmp_path / "b")
    target.restore_snapshot(7, chunks, source.last_hash)
    elapsed = time.monotonic() - started
    assert len(chunks) >= 2
    assert target.last_hash == source.last_hash
    assert elapsed < 20, elapsed


def test_export_opened_before_pruning_still_reads_its_version(tmp_path: Path) -> None:
    """The snapshot iterator pins its version: commits that prune it do not change the chunks."""
    from aivm.store import PruningOptions

    store = CommitStore.open(tmp_path / "s", PruningOptions(keep_recent=2, interval=1))
    for version in range(1, 6):
        for i in range(200):
            store.working.set(f"k{i:04d}".encode(), f"{version}-{i}".encode() * 10)
        store.commit()
    expected = list(store.export_snapshot(5, chunk_size=1000))
    pinned = store.export_snapshot(5, chunk_size=1000)
    for version in range(6, 12):  # every key rewritten; version 5 pruned at version 7
        for i in range(200):
            store.working.set(f"k{i:04d}".encode(), f"{version}-{i}".encode() * 10)
        store.commit()
    assert store.available_versions()[0] > 5
    assert list(pinned) == expected
    with pytest.raises(AivmError):
        store.export_snapshot(5)
    store.close()
