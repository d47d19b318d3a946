"""Node-local snapshots: taking, keeping, serving (ListSnapshots / LoadSnapshotChunk) and
restoring (OfferSnapshot / ApplySnapshotChunk) through the ABCI server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aivm.app.application import AivmApp
from aivm.node.abci_server import AbciServer
from aivm.node.snapshots import SnapshotManager
from aivm.store import CommitStore
from aivm.types import pb

Offer = pb.abci.ResponseOfferSnapshot
Apply = pb.abci.ResponseApplySnapshotChunk


def _source(tmp_path: Path, heights: int = 12, interval: int = 5) -> SnapshotManager:
    store = CommitStore.open(tmp_path / "src" / "state")
    app = AivmApp(store)
    manager = SnapshotManager(app, tmp_path / "src" / "snapshots", interval, keep_recent=2)
    for height in range(1, heights + 1):
        for i in range(200):
            store.working.set(f"k/{i:04d}".encode(), f"{height}-{i}".encode() * 20)
        store.commit(height)
        manager.after_commit()
        assert manager.wait(30)
    return manager


def _target(tmp_path: Path) -> SnapshotManager:
    app = AivmApp(CommitStore.open(tmp_path / "dst" / "state"))
    return SnapshotManager(app, tmp_path / "dst" / "snapshots")


def _handle(server: AbciServer, **request: pb.Message) -> pb.abci.Response:
    return asyncio.run(server.handle(pb.abci.Request(**request)))


def test_snapshots_taken_every_interval_and_pruned(tmp_path: Path) -> None:
    source = _source(tmp_path, heights=16)
    assert [s.height for s in source.list()] == [15, 10]
    assert sorted(p.name for p in source.root.iterdir()) == ["10", "15"]
    meta = source.root / "15" / "1" / "metadata.json"
    assert meta.exists()
    off = SnapshotManager(source.app, tmp_path / "off", interval=0)
    off.after_commit()
    assert off.list() == []


def _restore(source: SnapshotManager, target: SnapshotManager, app_hash: bytes) -> list[int]:
    src_server = AbciServer(source.app, source)
    dst_server = AbciServer(target.app, target)
    snaps = _handle(src_server, list_snapshots=pb.abci.RequestListSnapshots()).list_snapshots
    snap = snaps.snapshots[0]
    offered = _handle(
        dst_server, offer_snapshot=pb.abci.RequestOfferSnapshot(snapshot=snap, app_hash=app_hash)
    ).offer_snapshot
    assert offered.result == Offer.ACCEPT
    results = []
    for index in range(snap.chunks):
        chunk = _handle(
            src_server,
            load_snapshot_chunk=pb.abci.RequestLoadSnapshotChunk(
                height=snap.height, format=snap.format, chunk=index
            ),
        ).load_snapshot_chunk.chunk
        results.append(
            _handle(
                dst_server,
                apply_snapshot_chunk=pb.abci.RequestApplySnapshotChunk(
                    index=index, chunk=chunk, sender="peer"
                ),
            ).apply_snapshot_chunk.result
        )
    return results


def test_abci_restore_round_trip(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = _target(tmp_path)
    app_hash = source.app.store.root_at(10)
    results = _restore(source, target, app_hash)
    assert results and all(r == Apply.ACCEPT for r in results)
    info = target.app.info(pb.abci.RequestInfo())
    assert info.last_block_height == 10
    assert info.last_block_app_hash == app_hash
    assert list(target.app.store.view_at(10).iterate()) == list(
        source.app.store.view_at(10).iterate()
    )
    assert not (target.root / "restore").exists()


def test_wrong_trusted_hash_rejects_the_snapshot(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = _target(tmp_path)
    results = _restore(source, target, b"\x07" * 32)
    assert results[-1] == Apply.REJECT_SNAPSHOT
    assert target.app.store.version == 0
    assert list(target.app.store.working.iterate()) == []


def test_corrupted_chunk_is_refetched_and_sender_rejected(tmp_path: Path) -> None:
    source = _source(tmp_path)
    target = _target(tmp_path)
    snap = source.list()[0].to_abci()
    assert (
        target.offer_snapshot(
            pb.abci.RequestOfferSnapshot(snapshot=snap, app_hash=source.app.store.root_at(10))
        ).result
        == Offer.ACCEPT
    )
    good = source.load_snapshot_chunk(
        pb.abci.RequestLoadSnapshotChunk(height=10, format=1, chunk=0)
    ).chunk
    bad = target.apply_snapshot_chunk(
        pb.abci.RequestApplySnapshotChunk(index=0, chunk=good + b"x", sender="evil")
    )
    assert bad.result == Apply.RETRY
    assert list(bad.refetch_chunks) == [0] and list(bad.reject_senders) == ["evil"]
    for index in range(snap.chunks):
        chunk = source.load_snapshot_chunk(
            pb.abci.RequestLoadSnapshotChunk(height=10, format=1, chunk=index)
        ).chunk
        result = target.apply_snapshot_chunk(
            pb.abci.RequestApplySnapshotChunk(index=index, chunk=chunk, sender="good")
        )
        assert result.result == Apply.ACCEPT
    assert target.app.store.version == 10


@pytest.mark.parametrize("damage", ["format", "hash", "metadata", "app_hash"])
def test_malformed_offers_are_refused(tmp_path: Path, damage: str) -> None:
    source = _source(tmp_path)
    target = _target(tmp_path)
    snap = source.list()[0].to_abci()
    app_hash = source.app.store.root_at(10)
    expected = Offer.REJECT
    if damage == "format":
        snap.format = 2
        expected = Offer.REJECT_FORMAT
    elif damage == "hash":
        snap.hash = b"\x00" * 32
    elif damage == "metadata":
        snap.metadata = snap.metadata[:-1]
    else:
        app_hash = b"short"
    result = target.offer_snapshot(pb.abci.RequestOfferSnapshot(snapshot=snap, app_hash=app_hash))
    assert result.result == expected


def test_offer_to_a_node_with_state_aborts(tmp_path: Path) -> None:
    source = _source(tmp_path)
    snap = source.list()[0].to_abci()
    result = source.offer_snapshot(
        pb.abci.RequestOfferSnapshot(snapshot=snap, app_hash=source.app.store.root_at(10))
    )
    assert result.result == Offer.ABORT


def test_missing_chunk_loads_empty(tmp_path: Path) -> None:
    source = _source(tmp_path)
    missing = source.load_snapshot_chunk(
        pb.abci.RequestLoadSnapshotChunk(height=3, format=1, chunk=0)
    )
    assert missing.chunk == b""


def _commit_heights(manager: SnapshotManager, heights: range, wait: bool = True) -> None:
    """Commit ``heights``; with ``wait``, let each snapshot finish before the next height."""
    store = manager.app.store
    for height in heights:
        store.working.set(b"k/height", str(height).encode())
        store.commit(height)
        manager.after_commit()
        if wait:
            assert manager.wait(30)


def test_snapshot_is_written_off_the_consensus_path(tmp_path: Path) -> None:
    """Commit returns while the snapshot is written; a height due meanwhile is skipped."""
    import threading

    manager = SnapshotManager(
        AivmApp(CommitStore.open(tmp_path / "state")), tmp_path / "snaps", interval=2
    )
    release = threading.Event()
    write = manager._write

    def slow_write(height: int, chunks: object, app_hash: bytes) -> object:
        assert release.wait(30)
        return write(height, chunks, app_hash)  # type: ignore[arg-type]

    manager._write = slow_write  # type: ignore[method-assign]
    _commit_heights(manager, range(1, 3), wait=False)  # height 2 starts a snapshot that waits
    _commit_heights(manager, range(3, 7), wait=False)  # 4 and 6 come due while it runs
    assert manager.list() == []
    assert not manager.wait(0.05)
    release.set()
    assert manager.wait(30)
    assert [s.height for s in manager.list()] == [2]
    _commit_heights(manager, range(7, 9))
    assert manager.wait(30)
    assert [s.height for s in manager.list()] == [8, 2]


@pytest.mark.parametrize("grace", [120.0, 0.0])
def test_pruning_spares_a_snapshot_being_fetched(tmp_path: Path, grace: float) -> None:
    store = CommitStore.open(tmp_path / "state")
    manager = SnapshotManager(
        AivmApp(store), tmp_path / "snaps", interval=5, keep_recent=2, serve_grace_s=grace
    )
    _commit_heights(manager, range(1, 11))
    assert manager.wait(30)
    assert [s.height for s in manager.list()] == [10, 5]
    chunk = manager.load_snapshot_chunk(
        pb.abci.RequestLoadSnapshotChunk(height=5, format=1, chunk=0)
    )
    assert chunk.chunk  # a peer is fetching snapshot 5
    _commit_heights(manager, range(11, 16))
    assert manager.wait(30)
    expected = [15, 10, 5] if grace else [15, 10]
    assert [s.height for s in manager.list()] == expected
