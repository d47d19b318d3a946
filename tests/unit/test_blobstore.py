"""LocalBlobStore: round trips, byte ranges, chunk proofs, corruption never served, and the
limits: an object over the size limit or past the quota, or an abandoned upload, leaves no
block behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from aivm.crypto import unixfs
from aivm.node.blobstore import LocalBlobStore
from aivm.types.errors import AivmError
from sample_data import sample_bytes

CHUNK = unixfs.CHUNK_SIZE


@pytest.mark.parametrize("size", [0, 5, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_round_trip_ranges_and_proofs(tmp_path: Path, size: int) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = sample_bytes(size)
    pieces = [data[i : i + 70_001] for i in range(0, len(data), 70_001)] or [b""]
    stat = store.put(pieces)
    assert stat.cid == unixfs.cid_of(data) and stat.size == size
    assert store.stat(stat.cid) == stat
    assert store.read_all(stat.cid) == data
    for start, end in [(0, size), (1, size), (CHUNK - 3, CHUNK + 3), (size // 2, size)]:
        if 0 <= start <= end <= size:
            assert b"".join(store.read(stat.cid, start, end)) == data[start:end]
    for index in range(stat.chunks):
        chunk, proof = store.chunk_with_proof(stat.cid, index)
        assert chunk == data[index * CHUNK : (index + 1) * CHUNK]
        unixfs.verify_chunk(stat.cid, size, index, chunk, proof)


def test_corrupted_block_is_detected_and_not_served(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = sample_bytes(2 * CHUNK + 5)
    stat = store.put_bytes(data)
    leaf = unixfs.build_dag(data).leaves[1]
    path = next((tmp_path / "blobs").rglob(leaf))
    path.write_bytes(b"x" + path.read_bytes()[1:])
    with pytest.raises(AivmError) as err:
        store.read_all(stat.cid)
    assert (err.value.codespace, err.value.code) == ("storage", 4)
    # the first chunk is intact and still readable; the corrupted one never is
    assert b"".join(store.read(stat.cid, 0, CHUNK)) == data[:CHUNK]
    with pytest.raises(AivmError):
        store.chunk_with_proof(stat.cid, 1)


def test_missing_and_invalid(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(AivmError) as err:
        store.stat(unixfs.cid_of(b"never stored"))
    assert err.value.code == 3
    with pytest.raises(AivmError) as err:
        store.stat("not-a-cid")
    assert err.value.code == 2
    small = LocalBlobStore(tmp_path / "small", max_object_size=10)
    with pytest.raises(AivmError) as err:
        small.put_bytes(b"x" * 11)
    assert err.value.code == 7


def chunked(n_chunks: int, tail: int = 0) -> bytes:
    """``n_chunks`` distinct full chunks and ``tail`` more bytes (cheap to make)."""
    body = b"".join(i.to_bytes(4, "big") * (CHUNK // 4) for i in range(n_chunks))
    return body + b"t" * tail


@pytest.mark.parametrize("n_chunks", [174, 175])
def test_multi_level_files(tmp_path: Path, n_chunks: int) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = chunked(n_chunks, tail=9)
    stat = store.put(data[i : i + CHUNK // 3] for i in range(0, len(data), CHUNK // 3))
    assert stat.cid == unixfs.cid_of(data) and stat.chunks == n_chunks + 1
    assert store.stat(stat.cid) == stat and store.has(stat.cid)
    assert store.read_all(stat.cid) == data
    start, end = 173 * CHUNK - 5, len(data) - 2  # across the level boundary
    assert b"".join(store.read(stat.cid, start, end)) == data[start:end]
    for index in range(stat.chunks):
        chunk, proof = store.chunk_with_proof(stat.cid, index)
        unixfs.verify_chunk(stat.cid, len(data), index, chunk, proof)
    # blocks are stored once each, written atomically: no temporary files are left behind
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == len(unixfs.build_dag(data).blocks)
    assert not [p for p in files if p.name.startswith(".tmp-")]


def test_missing_block_and_corrupted_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = chunked(3)
    stat = store.put_bytes(data)
    dag = unixfs.build_dag(data)
    next((tmp_path / "blobs").rglob(dag.leaves[2])).unlink()
    with pytest.raises(AivmError) as err:
        store.read_all(stat.cid)
    assert err.value.code == 3
    root = next((tmp_path / "blobs").rglob(stat.cid))
    root.write_bytes(root.read_bytes() + b"\x00")
    with pytest.raises(AivmError) as err:
        store.stat(stat.cid)
    assert err.value.code == 4
    assert store.has(stat.cid)  # present, though unusable: has() does not verify
    assert not store.has("not-a-cid")


def test_uploading_again_repairs_a_corrupted_block(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = chunked(2, tail=1)
    stat = store.put_bytes(data)
    leaf = next((tmp_path / "blobs").rglob(unixfs.build_dag(data).leaves[0]))
    leaf.write_bytes(b"rotten")
    with pytest.raises(AivmError):
        store.read_all(stat.cid)
    assert store.put_bytes(data) == stat
    assert store.read_all(stat.cid) == data


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_an_object_over_the_size_limit_leaves_no_block(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", max_object_size=3 * CHUNK)
    data = chunked(4)
    pieces = (data[i : i + 10_000] for i in range(0, len(data), 10_000))
    with pytest.raises(AivmError) as err:
        store.put(pieces)
    assert (err.value.codespace, err.value.code) == ("storage", 7)
    assert _files(tmp_path / "blobs") == []  # the three full chunks staged were removed
    assert store.used_bytes == 0
    exact = chunked(3)
    assert store.put_bytes(exact).size == 3 * CHUNK


def test_the_quota_counts_what_is_held_and_refuses_past_it(tmp_path: Path) -> None:
    first = LocalBlobStore(tmp_path / "blobs")
    held = first.put_bytes(chunked(2, tail=5))
    used = sum(p.stat().st_size for p in _files(tmp_path / "blobs"))
    store = LocalBlobStore(tmp_path / "blobs", max_total_size=used + 2 * CHUNK)
    assert store.used_bytes == used  # counted from the disk at the first need
    assert store.put_bytes(chunked(2, tail=5)) == held  # held already: costs nothing
    before = sorted(_files(tmp_path / "blobs"))
    with pytest.raises(AivmError) as err:
        store.put_bytes(sample_bytes(3 * CHUNK, b"new"))  # refused at its third chunk
    assert (err.value.codespace, err.value.code) == ("blobstore", 2)
    assert "quota" in err.value.log
    assert sorted(_files(tmp_path / "blobs")) == before
    assert store.used_bytes == used
    small = store.put_bytes(b"fits")
    assert store.used_bytes == used + len(b"fits") and store.read_all(small.cid) == b"fits"


def test_an_abandoned_upload_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", max_total_size=10 * CHUNK)
    writer = store.writer()
    writer.write(chunked(5))
    assert store.used_bytes == 5 * CHUNK  # staged bytes count while the upload runs
    writer.abort()
    assert _files(tmp_path / "blobs") == [] and store.used_bytes == 0
    with pytest.raises(RuntimeError):
        writer.write(b"more")


def test_staging_left_by_a_crash_is_removed_at_open(tmp_path: Path) -> None:
    stale = tmp_path / "blobs" / ".staging" / "tmpcrashed"
    stale.mkdir(parents=True)
    (stale / "bafkreiblock").write_bytes(b"half an upload")
    LocalBlobStore(tmp_path / "blobs")
    assert _files(tmp_path / "blobs") == []
