"""Node-local state snapshots for CometBFT state sync (the ABCI snapshot connection).

Snapshots are not consensus state: each node decides whether and when to take them. The
store produces and consumes the chunks (:meth:`CommitStore.export_snapshot`,
:meth:`CommitStore.restore_snapshot`, format 1, see ``src/aivm/store/README.md``); this
module keeps them on disk and answers the four ABCI snapshot methods.

On disk, under ``<home>/data/snapshots``::

    <height>/<format>/metadata.json     {"height", "format", "chunks", "hash", "chunk_hashes",
                                         "app_hash"} (hashes in hex)
    <height>/<format>/<index>           chunk bytes (index 0 .. chunks-1)
    restore/                            chunks received while restoring (removed afterwards)

A snapshot is written (by a background thread, see ``SnapshotManager``) into
``<height>/<format>.tmp`` and renamed into place, so a listed snapshot is always complete.
ABCI ``Snapshot.hash`` = sha256 over the concatenated chunk sha256 hashes;
``Snapshot.metadata`` = the concatenated chunk hashes (32 bytes each), which lets the restoring
node check every chunk as it arrives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aivm.app.application import AivmApp
from aivm.store import SNAPSHOT_FORMAT, snapshot_hash
from aivm.types import pb
from aivm.types.errors import AivmError

log = logging.getLogger(__name__)

OfferResult = pb.abci.ResponseOfferSnapshot
ApplyResult = pb.abci.ResponseApplySnapshotChunk
HASH_SIZE = 32
MAX_CHUNKS = 100_000
SERVE_GRACE_S = 120.0
"""A snapshot a peer loaded a chunk of within this many seconds is not pruned."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot on disk."""

    height: int
    format: int
    chunk_hashes: tuple[bytes, ...]
    app_hash: bytes

    @property
    def hash(self) -> bytes:
        """sha256 over the concatenated chunk hashes."""
        return snapshot_hash(self.chunk_hashes)

    def to_abci(self) -> pb.abci.Snapshot:
        """The ABCI Snapshot advertised to peers."""
        return pb.abci.Snapshot(
            height=self.height,
            format=self.format,
            chunks=len(self.chunk_hashes),
            hash=self.hash,
            metadata=b"".join(self.chunk_hashes),
        )


@dataclass
class _Restore:
    """A snapshot being restored (accepted by OfferSnapshot)."""

    snapshot: pb.abci.Snapshot
    app_hash: bytes
    chunk_hashes: list[bytes]


class SnapshotManager:
    """Takes, keeps, serves and restores snapshots of ``app``'s store.

    Taking a snapshot reads the whole state, so it runs on a background thread: Commit only
    opens the store's read transaction at the new height (which pins that version against
    state pruning) and returns. One snapshot is written at a time; a height that comes due
    while one is still being written is skipped, as the Cosmos SDK does. Snapshot pruning
    keeps the newest ``keep_recent`` and also any snapshot a peer fetched a chunk of in the
    last ``serve_grace_s`` seconds, so a state sync in progress is not cut off.
    """

    def __init__(
        self,
        app: AivmApp,
        root: Path,
        interval: int = 0,
        keep_recent: int = 2,
        serve_grace_s: float = SERVE_GRACE_S,
    ) -> None:
        """Snapshot every ``interval`` heights (0: never) and keep the newest ``keep_recent``."""
        if interval < 0 or keep_recent < 1:
            raise ValueError("snapshot interval must be >= 0 and keep_recent >= 1")
        self.app = app
        self.root = Path(root)
        self.interval = interval
        self.keep_recent = keep_recent
        self.serve_grace_s = serve_grace_s
        self._restore: _Restore | None = None
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _served and the deletions of prune()
        self._served: dict[int, float] = {}  # height → monotonic time a chunk was last loaded

    # -- taking snapshots ------------------------------------------------------------------

    def after_commit(self) -> None:
        """Start a snapshot when the just-committed height is a multiple of ``interval``.

        Called on the consensus connection right after Commit; returns at once, the chunks
        are written by a background thread. A failure is logged, never raised: snapshots are
        optional for consensus.
        """
        height = self.app.store.version
        if not self.interval or height == 0 or height % self.interval:
            return
        if self._writer is not None and self._writer.is_alive():
            log.warning("snapshot still being written; skipping the one at height %d", height)
            return
        try:
            chunks = self.app.store.export_snapshot(height)  # pins the version now
            app_hash = self.app.store.root_at(height)
        except Exception:
            log.exception("snapshot at height %d failed", height)
            return
        self._writer = threading.Thread(
            target=self._write_and_prune,
            args=(height, chunks, app_hash),
            name=f"snapshot-{height}",
            daemon=True,
        )
        self._writer.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the snapshot being written, if any; False if it is still running."""
        writer = self._writer
        if writer is not None:
            writer.join(timeout)
            return not writer.is_alive()
        return True

    def close(self) -> None:
        """Finish the snapshot being written (before the store closes under it)."""
        self.wait()

    def _write_and_prune(self, height: int, chunks: Iterator[bytes], app_hash: bytes) -> None:
        try:
            self._write(height, chunks, app_hash)
            self.prune()
        except Exception:
            log.exception("snapshot at height %d failed", height)

    def create(self, height: int) -> SnapshotInfo:
        """Write a snapshot of committed ``height`` to disk (in the calling thread)."""
        chunks = self.app.store.export_snapshot(height)
        return self._write(height, chunks, self.app.store.root_at(height))

    def _write(self, height: int, chunks: Iterator[bytes], app_hash: bytes) -> SnapshotInfo:
        started = time.monotonic()
        final = self.root / str(height) / str(SNAPSHOT_FORMAT)
        tmp = final.with_name(f"{SNAPSHOT_FORMAT}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        hashes = []
        for index, chunk in enumerate(chunks):
            (tmp / str(index)).write_bytes(chunk)
            hashes.append(hashlib.sha256(chunk).digest())
        info = SnapshotInfo(height, SNAPSHOT_FORMAT, tuple(hashes), app_hash)
        (tmp / "metadata.json").write_text(
            json.dumps(
                {
                    "height": height,
                    "format": SNAPSHOT_FORMAT,
                    "chunks": len(hashes),
                    "hash": info.hash.hex(),
                    "chunk_hashes": [h.hex() for h in hashes],
                    "app_hash": info.app_hash.hex(),
                },
                indent=1,
            )
        )
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        log.info(
            "snapshot at height %d: %d chunk(s) in %.3f s",
            height,
            len(hashes),
            time.monotonic() - started,
        )
        return info

    def prune(self) -> None:
        """Delete all but the newest ``keep_recent`` snapshots, sparing any being served."""
        with self._lock:
            now = time.monotonic()
            serving = {h for h, t in self._served.items() if now - t < self.serve_grace_s}
            self._served = {h: self._served[h] for h in serving}
            for info in self.list()[self.keep_recent :]:
                if info.height in serving:
                    log.info("keeping snapshot %d: a peer is fetching it", info.height)
                    continue
                shutil.rmtree(self.root / str(info.height), ignore_errors=True)

    def list(self) -> list[SnapshotInfo]:
        """Complete snapshots on disk, newest first."""
        found = []
        if not self.root.is_dir():
            return []
        for path in self.root.glob("*/*/metadata.json"):
            if not (path.parent.name.isdigit() and path.parent.parent.name.isdigit()):
                continue  # an unfinished ".tmp" snapshot, or the restore staging area
            try:
                meta = json.loads(path.read_text())
                found.append(
                    SnapshotInfo(
                        int(meta["height"]),
                        int(meta["format"]),
                        tuple(bytes.fromhex(h) for h in meta["chunk_hashes"]),
                        bytes.fromhex(meta["app_hash"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("ignoring unreadable snapshot metadata %s", path)
        found.sort(key=lambda s: (s.height, s.format), reverse=True)
        return found

    # -- ABCI: serving ---------------------------------------------------------------------

    def list_snapshots(
        self, _request: pb.abci.RequestListSnapshots
    ) -> pb.abci.ResponseListSnapshots:
        """ListSnapshots: every complete snapshot on disk."""
        return pb.abci.ResponseListSnapshots(snapshots=[s.to_abci() for s in self.list()])

    def load_snapshot_chunk(
        self, request: pb.abci.RequestLoadSnapshotChunk
    ) -> pb.abci.ResponseLoadSnapshotChunk:
        """LoadSnapshotChunk: the chunk's bytes, or empty when we do not have it."""
        with self._lock:
            self._served[request.height] = time.monotonic()
        path = self.root / str(request.height) / str(request.format) / str(request.chunk)
        try:
            return pb.abci.ResponseLoadSnapshotChunk(chunk=path.read_bytes())
        except OSError:
            return pb.abci.ResponseLoadSnapshotChunk()

    # -- ABCI: restoring -------------------------------------------------------------------

    def offer_snapshot(
        self, request: pb.abci.RequestOfferSnapshot
    ) -> pb.abci.ResponseOfferSnapshot:
        """OfferSnapshot: accept a well-formed format-1 snapshot; keep the trusted app hash."""
        snap = request.snapshot
        if snap.format != SNAPSHOT_FORMAT:
            return OfferResult(result=OfferResult.REJECT_FORMAT)
        if self.app.store.version != 0:
            log.error("offered a snapshot but the app already has state; aborting state sync")
            return OfferResult(result=OfferResult.ABORT)
        metadata = bytes(snap.metadata)
        if (
            snap.height < 1
            or not 1 <= snap.chunks <= MAX_CHUNKS
            or len(metadata) != snap.chunks * HASH_SIZE
            or hashlib.sha256(metadata).digest() != bytes(snap.hash)
            or len(request.app_hash) != HASH_SIZE
        ):
            log.warning("rejecting malformed snapshot at height %d", snap.height)
            return OfferResult(result=OfferResult.REJECT)
        staging = self._staging()
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._restore = _Restore(
            snapshot=pb.abci.Snapshot(
                height=snap.height,
                format=snap.format,
                chunks=snap.chunks,
                hash=snap.hash,
                metadata=metadata,
            ),
            app_hash=bytes(request.app_hash),
            chunk_hashes=[metadata[i : i + HASH_SIZE] for i in range(0, len(metadata), HASH_SIZE)],
        )
        log.info("accepted snapshot at height %d (%d chunks)", snap.height, snap.chunks)
        return OfferResult(result=OfferResult.ACCEPT)

    def apply_snapshot_chunk(
        self, request: pb.abci.RequestApplySnapshotChunk
    ) -> pb.abci.ResponseApplySnapshotChunk:
        """ApplySnapshotChunk: check the chunk's hash, stage it; restore after the last one."""
        restore = self._restore
        if restore is None:
            return ApplyResult(result=ApplyResult.ABORT)
        index = request.index
        if index >= len(restore.chunk_hashes):
            return ApplyResult(result=ApplyResult.REJECT_SNAPSHOT)
        chunk = bytes(request.chunk)
        if hashlib.sha256(chunk).digest() != restore.chunk_hashes[index]:
            log.warning("chunk %d from %s has the wrong hash; refetching", index, request.sender)
            return ApplyResult(
                result=ApplyResult.RETRY,
                refetch_chunks=[index],
                reject_senders=[request.sender] if request.sender else [],
            )
        (self._staging() / str(index)).write_bytes(chunk)
        if not all((self._staging() / str(i)).exists() for i in range(restore.snapshot.chunks)):
            return ApplyResult(result=ApplyResult.ACCEPT)
        height = restore.snapshot.height
        try:
            self.app.restore_snapshot(height, self._staged_chunks(), restore.app_hash)
        except AivmError as exc:
            log.error("snapshot at height %d does not restore: %s", height, exc)
            self._finish()
            return ApplyResult(result=ApplyResult.REJECT_SNAPSHOT)
        log.info("restored snapshot at height %d, app hash %s", height, restore.app_hash.hex())
        self._finish()
        return ApplyResult(result=ApplyResult.ACCEPT)

    def _staging(self) -> Path:
        return self.root / "restore"

    def _staged_chunks(self) -> Iterator[bytes]:
        assert self._restore is not None
        for index in range(self._restore.snapshot.chunks):
            yield (self._staging() / str(index)).read_bytes()

    def _finish(self) -> None:
        self._restore = None
        shutil.rmtree(self._staging(), ignore_errors=True)
