"""CommitStore: the authenticated, versioned, persistent state of the chain, on LMDB.

One LMDB environment (a directory) holds five named databases:

- ``nodes``: the versioned records of the state tree: radix-16 pages of binary nodes and
  leaves (:mod:`aivm.store.tree`).
- ``history``: every value each key has had, newest first (tombstones for deletes); it serves
  reads and iteration at past versions.
- ``latest``: the live keys of the last committed version and their values; it serves reads
  and iteration at the latest version, so their cost depends only on the live keys in range,
  never on how many keys were deleted there before (ADR 0016).
- ``stale``: per version, what that version made obsolete (for pruning).
- ``meta``: the last committed version, the oldest retained version and one root record
  per retained version.

Writes of a block accumulate in memory (``working``); :meth:`CommitStore.working_hash`
folds them into the tree and returns the new app hash; :meth:`CommitStore.commit` writes
everything in one LMDB write transaction, so a process killed at any moment restarts at the
last committed version with the same app hash. See ``src/aivm/store/README.md`` for the
on-disk formats.

A CommitStore is not thread-safe: the app serialises calls.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import lmdb

from aivm.store import ics23
from aivm.store.kv import _merge, in_range, validate_key, validate_value
from aivm.store.tree import (
    EMPTY_REF,
    Batch,
    Ref,
    apply_batch,
    compute_root,
    iter_leaves,
    key_hash,
    neighbours,
    node_key_length,
    walk,
)
from aivm.types.errors import ErrInvalidHeight, ErrInvalidRequest, ErrLogic

FORMAT_VERSION = b"aivm-store-2"
"""On-disk format marker (``meta["format"]``); 2: radix-16 pages. Other formats are refused."""
MAP_SIZE = 1 << 40
"""LMDB map size: address space only; the file grows with the data."""
RECENT_NODES_LIMIT = 1_000_000
"""Keep the tree records of the last commit in memory when there are at most this many."""
LATEST_CACHE_LIMIT = 1 << 17
"""Latest committed values kept in memory (cleared when it grows past this many keys)."""

_MAX_U64 = 2**64 - 1
_META_FORMAT = b"format"
_META_LATEST = b"latest"
_META_OLDEST = b"oldest"
_META_ROOT = b"root/"
_META_LATEST_INDEX = b"latest_index"
_STALE_NODES = b"n"
_STALE_KEYS = b"k"
_HISTORY_SEP = b"\x00\x01"
_HISTORY_NEXT = b"\x00\x02"
_TOMBSTONE = b"\x00"
_LIVE = b"\x01"

SNAPSHOT_FORMAT = 1
"""State snapshot format 1: see "State snapshots" in ``src/aivm/store/README.md``."""
SNAPSHOT_CHUNK_SIZE = 2 * 1024 * 1024
"""A chunk is closed once it holds at least this many bytes (~2 MiB)."""


def snapshot_hash(chunk_hashes: Iterable[bytes]) -> bytes:
    """The hash of a snapshot: sha256 over the concatenated sha256 hashes of its chunks."""
    return hashlib.sha256(b"".join(chunk_hashes)).digest()


def decode_snapshot_chunk(chunk: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) records of one format-1 chunk; ErrInvalidRequest if malformed."""
    pos = 0
    end = len(chunk)
    while pos < end:
        if pos + 2 > end:
            raise ErrInvalidRequest.wrap("snapshot chunk: truncated key length")
        key_len = int.from_bytes(chunk[pos : pos + 2], "big")
        pos += 2
        key = chunk[pos : pos + key_len]
        pos += key_len
        if len(key) != key_len or pos + 4 > end:
            raise ErrInvalidRequest.wrap("snapshot chunk: truncated record")
        value_len = int.from_bytes(chunk[pos : pos + 4], "big")
        pos += 4
        value = chunk[pos : pos + value_len]
        pos += value_len
        if len(value) != value_len:
            raise ErrInvalidRequest.wrap("snapshot chunk: truncated value")
        yield key, value


@dataclass(frozen=True)
class CommitInfo:
    """What a commit produced."""

    version: int
    """The committed version (block height)."""
    hash: bytes
    """The root hash of the committed state (the app hash)."""


@dataclass(frozen=True)
class PruningOptions:
    """Which past versions to keep.

    Every ``interval`` versions (when the committed version is a multiple of ``interval``),
    versions older than the newest ``keep_recent`` are deleted. ``keep_recent == 0`` keeps
    everything.
    """

    keep_recent: int
    """How many of the newest versions stay readable (0: all)."""
    interval: int
    """Prune when the committed version is a multiple of this."""

    def __post_init__(self) -> None:
        """Validate the options."""
        if self.keep_recent < 0:
            raise ErrInvalidRequest.wrap("pruning keep_recent must not be negative")
        if self.keep_recent > 0 and self.interval < 1:
            raise ErrInvalidRequest.wrap("pruning interval must be at least 1")

    @classmethod
    def nothing(cls) -> PruningOptions:
        """Keep every version (an archive node)."""
        return cls(keep_recent=0, interval=0)

    @classmethod
    def default(cls) -> PruningOptions:
        """The Cosmos SDK default: keep the last 362880 versions, prune every 10."""
        return cls(keep_recent=362880, interval=10)

    @classmethod
    def everything(cls) -> PruningOptions:
        """Keep only the last 2 versions, prune every 10."""
        return cls(keep_recent=2, interval=10)


def _ver8(version: int) -> bytes:
    return version.to_bytes(8, "big")


def _inv8(version: int) -> bytes:
    return (_MAX_U64 - version).to_bytes(8, "big")


def history_prefix(key: bytes) -> bytes:
    """The order-preserving history prefix of ``key``: 0x00 escaped as 0x00 0xFF, then 0x00 0x01."""
    return key.replace(b"\x00", b"\x00\xff") + _HISTORY_SEP


def _escape(key: bytes) -> bytes:
    return key.replace(b"\x00", b"\x00\xff")


def _unescape(escaped: bytes) -> bytes:
    return escaped.replace(b"\x00\xff", b"\x00")


def _encode_root(ref: Ref) -> bytes:
    return bytes((ref[0],)) + ref[2] + ref[1]


def _decode_root(raw: bytes) -> Ref:
    return (raw[0], raw[9:41], raw[1:9])


def _pack(items: list[bytes], width: int) -> bytes:
    """Length-prefixed concatenation (``width``-byte big-endian lengths)."""
    return b"".join(len(item).to_bytes(width, "big") + item for item in items)


def _split_node_keys(blob: bytes) -> list[bytes]:
    """Split a concatenation of (self-delimiting) node keys."""
    out = []
    pos = 0
    end = len(blob)
    while pos < end:
        size = node_key_length(blob, pos)
        out.append(blob[pos : pos + size])
        pos += size
    return out


def _unpack(blob: bytes, width: int) -> list[bytes]:
    out = []
    pos = 0
    end = len(blob)
    while pos < end:
        size = int.from_bytes(blob[pos : pos + width], "big")
        pos += width
        out.append(blob[pos : pos + size])
        pos += size
    return out


class CommitStore:
    """The chain state: pending writes in memory over the committed versions on disk."""

    def __init__(self, env: Any, pruning: PruningOptions) -> None:
        """Use :meth:`open`."""
        self._env = env
        self.pruning = pruning
        self._nodes = env.open_db(b"nodes")
        self._history = env.open_db(b"history")
        self._latest = env.open_db(b"latest")
        self._stale = env.open_db(b"stale")
        self._meta = env.open_db(b"meta")
        with env.begin(write=True) as txn:
            fmt = txn.get(_META_FORMAT, db=self._meta)
            if fmt is None:
                txn.put(_META_FORMAT, FORMAT_VERSION, db=self._meta)
            elif fmt != FORMAT_VERSION:
                raise ErrInvalidRequest.wrap(
                    f"unsupported store format {fmt.decode(errors='replace')!r} "
                    f"(this build reads {FORMAT_VERSION.decode()!r}); rebuild the store "
                    "from genesis or a snapshot"
                )
            raw_latest = txn.get(_META_LATEST, db=self._meta)
            raw_oldest = txn.get(_META_OLDEST, db=self._meta)
            self.version = int.from_bytes(raw_latest, "big") if raw_latest else 0
            self._oldest = int.from_bytes(raw_oldest, "big") if raw_oldest else 0
            raw_root = txn.get(_META_ROOT + _ver8(self.version), db=self._meta)
            if txn.get(_META_LATEST_INDEX, db=self._meta) != _ver8(self.version):
                self._rebuild_latest_index(txn)
        self._committed_root: Ref = _decode_root(raw_root) if raw_root else EMPTY_REF
        self.last_hash: bytes = self._committed_root[1]
        """Root hash of the last committed version (32 zero bytes when the state is empty)."""
        self._pending: dict[bytes, bytes | None] = {}
        self._dirty: dict[bytes, bytes | None] = {}
        self._root: Ref = self._committed_root
        self._new_nodes: dict[bytes, bytes] = {}
        self._stale_nodes: list[bytes] = []
        self._recent: dict[bytes, bytes] = {}
        self._decoded: dict[bytes, list[Ref]] = {}
        self._latest_cache: dict[bytes, bytes | None] = {}
        """Values at the last committed version already read (None: absent); every commit
        writes its changes through, so it is always exact."""
        self._rtxn: Any = env.begin(db=self._nodes, buffers=False)
        self.working = WorkingStore(self)
        """The state the next commit persists: committed state plus pending writes."""

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        pruning: PruningOptions | None = None,
        *,
        map_size: int = MAP_SIZE,
    ) -> CommitStore:
        """Open (creating if needed) the store in directory ``path``."""
        os.makedirs(path, exist_ok=True)
        env = lmdb.open(
            os.fspath(path),
            map_size=map_size,
            max_dbs=8,
            subdir=True,
            readahead=False,
            sync=True,
            metasync=True,
            writemap=False,
            max_readers=256,
        )
        return cls(env, pruning or PruningOptions.nothing())

    def _rebuild_latest_index(self, txn: Any) -> None:
        """Fill the ``latest`` database from ``history`` at the last committed version.

        Runs once on a store written before the index existed (or whose index does not
        match its last version); afterwards every commit keeps the index in step.
        """
        txn.drop(self._latest, delete=False)
        items = self._history_items(txn, self.version, None, None, False)
        txn.cursor(db=self._latest).putmulti(items, append=True)
        txn.put(_META_LATEST_INDEX, _ver8(self.version), db=self._meta)

    def close(self) -> None:
        """Close the environment; pending (uncommitted) writes are lost."""
        if self._env is not None:
            self._rtxn.abort()
            self._env.close()
            self._env = None

    def __enter__(self) -> CommitStore:
        """Context manager support: closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    # -- pending state ---------------------------------------------------------------------

    def _latest_get(self, key: bytes) -> bytes | None:
        """Value of ``key`` at the last committed version (from the ``latest`` index)."""
        cache = self._latest_cache
        if key in cache:
            return cache[key]
        found: bytes | None = self._rtxn.get(key, db=self._latest)
        if len(cache) >= LATEST_CACHE_LIMIT:
            cache.clear()
        cache[key] = found
        return found

    def working_hash(self) -> bytes:
        """Root hash of the committed state plus pending writes (the next app hash).

        Folds the writes made since the last call into the tree; calling it again without
        new writes costs nothing, and :meth:`commit` reuses the work.
        """
        if self._dirty:
            batch = Batch.from_changes(self._dirty.items())
            try:
                self._root = apply_batch(
                    self._root,
                    batch,
                    _ver8(self.version + 1),
                    self._rtxn.get,
                    self._new_nodes,
                    self._stale_nodes,
                    self._recent,
                    self._decoded,
                )
            except KeyError as exc:
                # Only a damaged database gets here; the half-applied batch is unusable.
                self.discard_pending()
                raise ErrLogic.wrap(f"state tree is damaged: {exc}") from exc
            self._dirty = {}
        return self._root[1]

    def discard_pending(self) -> None:
        """Drop every uncommitted write."""
        self._pending = {}
        self._dirty = {}
        self._new_nodes = {}
        self._stale_nodes = []
        self._decoded = {}
        self._root = self._committed_root

    def commit(self, version: int | None = None) -> CommitInfo:
        """Persist the pending writes atomically as ``version`` (default: last version + 1)."""
        return self._commit(version, mark_oldest=False)

    def _commit(self, version: int | None, *, mark_oldest: bool) -> CommitInfo:
        env = self._require_open()
        target = self.version + 1 if version is None else version
        if target <= self.version:
            raise ErrInvalidHeight.wrap(
                f"cannot commit version {target}; the last committed version is {self.version}"
            )
        if target > _MAX_U64 - 1:
            raise ErrInvalidHeight.wrap(f"version {target} is too large")
        root_hash = self.working_hash()
        tree_ver8 = _ver8(self.version + 1)
        ver8 = _ver8(target)
        inv8 = _inv8(target)
        changed = sorted(self._pending.items())
        with env.begin(write=True) as txn:
            if self._new_nodes:
                nodes_cursor = txn.cursor(db=self._nodes)
                _, added = nodes_cursor.putmulti(self._new_nodes.items(), overwrite=False)
                if added != len(self._new_nodes):
                    raise ErrLogic.wrap("state tree node written twice")
            if changed:
                suffix = _HISTORY_SEP + inv8
                txn.cursor(db=self._history).putmulti(
                    [
                        (
                            key.replace(b"\x00", b"\x00\xff") + suffix,
                            _TOMBSTONE if value is None else _LIVE + value,
                        )
                        for key, value in changed
                    ]
                )
                self._update_latest_index(txn, changed)
            if self._stale_nodes:
                txn.put(ver8 + _STALE_NODES, b"".join(self._stale_nodes), db=self._stale)
            if changed:
                txn.put(ver8 + _STALE_KEYS, _pack([k for k, _ in changed], 2), db=self._stale)
            txn.put(_META_ROOT + ver8, _encode_root(self._root), db=self._meta)
            txn.put(_META_LATEST, ver8, db=self._meta)
            txn.put(_META_LATEST_INDEX, ver8, db=self._meta)
            if mark_oldest:
                # a restored snapshot: no version before it is readable
                txn.put(_META_OLDEST, ver8, db=self._meta)
                new_oldest = target
            elif self.pruning.keep_recent and target % self.pruning.interval == 0:
                oldest = target - self.pruning.keep_recent + 1
                if oldest > self._oldest:
                    self._prune(txn, oldest)
                    txn.put(_META_OLDEST, _ver8(oldest), db=self._meta)
                    new_oldest = oldest
                else:
                    new_oldest = self._oldest
            else:
                new_oldest = self._oldest
        # The transaction is durable; publish the new state in memory.
        if len(self._latest_cache) + len(changed) > LATEST_CACHE_LIMIT:
            self._latest_cache.clear()
        self._latest_cache.update(changed)
        self.version = target
        self._oldest = new_oldest
        self._committed_root = self._root
        self.last_hash = root_hash
        self._pending = {}
        self._dirty = {}
        # Keep the nodes just written in memory: the next block rewrites the top of the tree
        # (and whatever else it touches) starting from them.
        self._recent = self._new_nodes if len(self._new_nodes) <= RECENT_NODES_LIMIT else {}
        self._decoded = (
            {k: v for k, v in self._decoded.items() if k[:8] == tree_ver8} if self._recent else {}
        )
        self._new_nodes = {}
        self._stale_nodes = []
        self._rtxn.abort()
        self._rtxn = env.begin(db=self._nodes, buffers=False)
        return CommitInfo(target, root_hash)

    def _update_latest_index(self, txn: Any, changed: list[tuple[bytes, bytes | None]]) -> None:
        """Apply a commit's sorted changes to the ``latest`` database."""
        latest = self._latest
        writes = [(key, value) for key, value in changed if value is not None]
        if writes:
            txn.cursor(db=latest).putmulti(writes)
        for key, value in changed:
            if value is None:
                txn.delete(key, db=latest)

    def _prune(self, txn: Any, oldest: int) -> None:
        """Delete what no version >= ``oldest`` needs, inside the commit transaction."""
        limit = _ver8(oldest)
        node_keys: list[bytes] = []
        changed_at: list[tuple[int, list[bytes]]] = []
        records = []
        for record_key, blob in txn.cursor(db=self._stale):
            if record_key[:8] > limit:
                break
            records.append(record_key)
            if record_key[8:] == _STALE_NODES:
                node_keys.extend(_split_node_keys(blob))
            else:
                changed_at.append((int.from_bytes(record_key[:8], "big"), _unpack(blob, 2)))
        for record_key in records:
            txn.delete(record_key, db=self._stale)
        node_keys.sort()
        nodes = self._nodes
        for key in node_keys:
            txn.delete(key, db=nodes)
        history_cursor = txn.cursor(db=self._history)
        for since, keys in changed_at:
            previous = _inv8(since - 1)
            current = _inv8(since)
            for key in keys:
                prefix = _escape(key) + _HISTORY_SEP
                if history_cursor.set_range(prefix + previous):
                    while history_cursor.key().startswith(prefix):
                        if not history_cursor.delete():
                            break
                if txn.get(prefix + current, db=self._history) == _TOMBSTONE:
                    txn.delete(prefix + current, db=self._history)
        # Root records: keep the newest version <= oldest (it serves reads at `oldest`).
        meta_cursor = txn.cursor(db=self._meta)
        base = self._newest_root_version(txn, oldest)
        if meta_cursor.set_range(_META_ROOT):
            while meta_cursor.key().startswith(_META_ROOT):
                if int.from_bytes(meta_cursor.key()[len(_META_ROOT) :], "big") >= base:
                    break
                if not meta_cursor.delete():
                    break

    # -- reads at committed versions -------------------------------------------------------

    def _require_open(self) -> Any:
        if self._env is None:
            raise ErrInvalidRequest.wrap("store is closed")
        return self._env

    def available_versions(self) -> tuple[int, int]:
        """(oldest readable version, latest committed version)."""
        return self._oldest, self.version

    def _check_version(self, version: int) -> None:
        if version > self.version:
            raise ErrInvalidHeight.wrap(
                f"version {version} is in the future; latest is {self.version}"
            )
        if version < self._oldest or version < 0:
            raise ErrInvalidHeight.wrap(
                f"version {version} has been pruned; oldest available is {self._oldest}"
            )

    def _newest_root_version(self, txn: Any, version: int) -> int:
        """The newest committed version <= ``version`` that has a root record (0 if none)."""
        cursor = txn.cursor(db=self._meta)
        if cursor.set_range(_META_ROOT + _ver8(version + 1)):
            found = cursor.prev()
        else:
            found = cursor.last()
        if found and cursor.key().startswith(_META_ROOT):
            return int.from_bytes(cursor.key()[len(_META_ROOT) :], "big")
        return 0

    def _root_ref_at(self, txn: Any, version: int) -> Ref:
        self._check_version(version)
        if version == self.version:
            return self._committed_root
        found = self._newest_root_version(txn, version)
        if found == 0:
            return EMPTY_REF
        raw = txn.get(_META_ROOT + _ver8(found), db=self._meta)
        if raw is None:
            raise ErrLogic.wrap(f"root record of version {found} is missing")
        return _decode_root(raw)

    def root_at(self, version: int) -> bytes:
        """Root hash (app hash) of committed ``version``."""
        env = self._require_open()
        with env.begin(buffers=False) as txn:
            return self._root_ref_at(txn, version)[1]

    def get_at(self, key: bytes, version: int) -> bytes | None:
        """Value of ``key`` at committed ``version``."""
        env = self._require_open()
        self._check_version(version)
        if version == self.version:
            return self._latest_get(key)
        with env.begin(buffers=False) as txn:
            return self._history_get(txn.cursor(db=self._history), key, version)

    @staticmethod
    def _history_get(cursor: Any, key: bytes, version: int) -> bytes | None:
        prefix = _escape(key) + _HISTORY_SEP
        if not cursor.set_range(prefix + _inv8(version)):
            return None
        found = cursor.key()
        if not found.startswith(prefix):
            return None
        value: bytes = cursor.value()
        return None if value[:1] == _TOMBSTONE else value[1:]

    def view_at(self, version: int) -> VersionView:
        """A read-only view of committed ``version`` (0: the empty state before any commit)."""
        self._require_open()
        self._check_version(version)
        return VersionView(self, version)

    def _iterate_version(
        self, version: int, start: bytes | None, end: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        """The live (key, value) pairs of committed ``version`` in [start, end)."""
        env = self._require_open()
        at_latest = version == self.version
        with env.begin(buffers=False) as txn:
            if at_latest:
                yield from self._latest_items(txn, start, end, reverse)
            else:
                yield from self._history_items(txn, version, start, end, reverse)

    def _latest_items(
        self, txn: Any, start: bytes | None, end: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        """The (key, value) pairs of the ``latest`` index in [start, end), read in ``txn``."""
        cursor = txn.cursor(db=self._latest)
        if not reverse:
            valid = cursor.set_range(start) if start is not None else cursor.first()
            while valid:
                key = cursor.key()
                if end is not None and key >= end:
                    return
                yield key, cursor.value()
                valid = cursor.next()
        else:
            if end is not None:
                valid = cursor.prev() if cursor.set_range(end) else cursor.last()
            else:
                valid = cursor.last()
            while valid:
                key = cursor.key()
                if start is not None and key < start:
                    return
                yield key, cursor.value()
                valid = cursor.prev()

    def _history_items(
        self, txn: Any, version: int, start: bytes | None, end: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        """The live (key, value) pairs at ``version`` in [start, end), read in ``txn``."""
        low = _escape(start) if start is not None else None
        high = _escape(end) if end is not None else None
        max_inv = _inv8(version)
        cursor = txn.cursor(db=self._history)
        lookup = txn.cursor(db=self._history)
        if not reverse:
            valid = cursor.set_range(low) if low is not None else cursor.first()
            while valid:
                hkey = cursor.key()
                if high is not None and hkey >= high:
                    break
                if hkey[-8:] < max_inv:
                    valid = cursor.next()  # written after `version`
                    continue
                escaped = hkey[:-10]
                value = cursor.value()
                if value[:1] == _LIVE:
                    yield _unescape(escaped), value[1:]
                valid = cursor.set_range(escaped + _HISTORY_NEXT)
        else:
            if high is not None:
                valid = cursor.prev() if cursor.set_range(high) else cursor.last()
            else:
                valid = cursor.last()
            while valid:
                hkey = cursor.key()
                if low is not None and hkey < low:
                    break
                escaped = hkey[:-10]
                key = _unescape(escaped)
                found = self._history_get(lookup, key, version)
                if found is not None:
                    yield key, found
                valid = cursor.set_range(escaped + _HISTORY_SEP) and cursor.prev()

    # -- state snapshots (state sync) ------------------------------------------------------

    def export_snapshot(
        self, version: int, chunk_size: int = SNAPSHOT_CHUNK_SIZE
    ) -> Iterator[bytes]:
        """The chunks of a format-1 snapshot of committed ``version`` (at least one chunk).

        Every live (key, value) pair in ascending key order, each record
        ``len(key) u16 | key | len(value) u32 | value``; a chunk is closed after the record
        that brings it to ``chunk_size`` bytes or more, so records never straddle chunks.
        Deterministic: the same state gives the same chunks on every node.

        The read transaction is opened by this call, not by the first ``next()``: from then
        on the chunks are those of ``version`` even if later commits prune it (LMDB keeps the
        pages a reader sees), so the iterator may be drained later, from another thread,
        while the chain goes on. Drain or ``close()`` it to release the transaction.
        """
        env = self._require_open()
        self._check_version(version)
        txn = env.begin(buffers=False)
        if version == self.version:
            items = self._latest_items(txn, None, None, False)
        else:
            items = self._history_items(txn, version, None, None, False)
        return self._snapshot_chunks(txn, items, chunk_size)

    @staticmethod
    def _snapshot_chunks(
        txn: Any, items: Iterator[tuple[bytes, bytes]], chunk_size: int
    ) -> Iterator[bytes]:
        try:
            parts: list[bytes] = []
            size = 0
            emitted = False
            for key, value in items:
                record = len(key).to_bytes(2, "big") + key + len(value).to_bytes(4, "big") + value
                parts.append(record)
                size += len(record)
                if size >= chunk_size:
                    yield b"".join(parts)
                    emitted = True
                    parts = []
                    size = 0
            if parts or not emitted:
                yield b"".join(parts)
        finally:
            txn.abort()

    def restore_snapshot(self, version: int, chunks: Iterable[bytes], app_hash: bytes) -> bytes:
        """Rebuild an EMPTY store from format-1 ``chunks`` and commit it as ``version``.

        The rebuilt root must equal ``app_hash`` (the trusted app hash of ``version``);
        otherwise ErrInvalidRequest is raised and nothing is written (the store stays empty).
        Malformed chunks (truncated records, keys not strictly ascending, invalid keys) raise
        ErrInvalidRequest the same way. Versions before ``version`` are not readable
        afterwards (``available_versions() == (version, version)``). Returns the root.
        """
        self._require_open()
        if self.version != 0 or self._pending or self._oldest != 0:
            raise ErrInvalidRequest.wrap(
                f"cannot restore a snapshot into a non-empty store (version {self.version})"
            )
        with self._require_open().begin() as txn:
            if txn.cursor(db=self._history).first():
                raise ErrInvalidRequest.wrap("cannot restore a snapshot into a non-empty store")
        if version < 1 or version > _MAX_U64 - 1:
            raise ErrInvalidHeight.wrap(f"invalid snapshot version {version}")
        working = self.working
        try:
            previous: bytes | None = None
            for chunk in chunks:
                for key, value in decode_snapshot_chunk(chunk):
                    if previous is not None and key <= previous:
                        raise ErrInvalidRequest.wrap(
                            "snapshot chunk: keys are not in strictly ascending order"
                        )
                    previous = key
                    working.set(key, value)
            root = self.working_hash()
            if root != app_hash:
                raise ErrInvalidRequest.wrap(
                    f"snapshot of version {version} restores app hash {root.hex()}, "
                    f"expected {app_hash.hex()}"
                )
        except Exception:
            self.discard_pending()
            raise
        self._commit(version, mark_oldest=True)
        return root

    # -- proofs ----------------------------------------------------------------------------

    def prove(self, key: bytes, version: int | None = None) -> ics23.CommitmentProof:
        """An ICS-23 existence or non-existence proof of ``key`` at committed ``version``.

        Verify it with :func:`aivm.store.ics23.verify_membership` /
        ``verify_non_membership`` against :meth:`root_at` and :data:`ics23.AIVM_PROOF_SPEC`.
        """
        env = self._require_open()
        at = self.version if version is None else version
        with env.begin(buffers=False) as txn:
            root = self._root_ref_at(txn, at)
            get_node = self._node_getter(txn)

            history = txn.cursor(db=self._history)
            target = int.from_bytes(key_hash(key), "big")
            own, before, after = neighbours(root, target, get_node)
            if own is not None:
                return ics23.CommitmentProof(
                    exist=self._existence(root, own, at, get_node, history)
                )
            proof = ics23.NonExistenceProof(key=key)
            if before is not None:
                proof.left.CopyFrom(self._existence(root, before, at, get_node, history))
            if after is not None:
                proof.right.CopyFrom(self._existence(root, after, at, get_node, history))
            return ics23.CommitmentProof(nonexist=proof)

    def _node_getter(self, txn: Any) -> Callable[[bytes], bytes]:
        """A reader of committed tree nodes inside ``txn``; a missing node is a logic error."""
        nodes = self._nodes

        def get_node(node_key: bytes) -> bytes:
            record: bytes | None = txn.get(node_key, db=nodes)
            if record is None:
                raise ErrLogic.wrap(f"state tree node {node_key.hex()} is missing")
            return record

        return get_node

    def _existence(
        self, root: Ref, record: bytes, version: int, get_node: Any, history: Any
    ) -> ics23.ExistenceProof:
        key = record[64:]
        steps, _terminal, _leaf = walk(root, int.from_bytes(record[:32], "big"), get_node)
        value = self._history_get(history, key, version)
        if value is None:
            raise ErrLogic.wrap(f"value of {key.hex()} at version {version} is missing")
        path = [
            ics23.inner_op(step.bit, step.left[1] if step.bit else step.right[1])
            for step in reversed(steps)
        ]
        return ics23.existence_proof(key, value, path)

    # -- integrity -------------------------------------------------------------------------

    def verify_integrity(self) -> None:
        """Recompute the root of the latest committed state from scratch and check the tree.

        Raises ErrLogic when the latest values (from ``history``), the ``latest`` index, the
        tree leaves and the committed root hash disagree. Reads the whole state: for tests and
        operators, not for block processing.
        """
        env = self._require_open()
        with env.begin(buffers=False) as txn:
            items = list(self._history_items(txn, self.version, None, None, False))
            if items != list(self._latest_items(txn, None, None, False)):
                raise ErrLogic.wrap(
                    f"latest index disagrees with history at version {self.version}"
                )
            recomputed = compute_root(items)
            if recomputed != self.last_hash:
                raise ErrLogic.wrap(
                    f"state root mismatch at version {self.version}: committed "
                    f"{self.last_hash.hex()}, recomputed from latest values {recomputed.hex()}"
                )
            get_node = self._node_getter(txn)

            values = dict(items)
            count = 0
            for leaf in iter_leaves(self._committed_root, get_node):
                count += 1
                value = values.get(leaf[64:])
                if value is None or key_hash(value) != leaf[32:64]:
                    raise ErrLogic.wrap(f"tree leaf {leaf[64:].hex()} disagrees with latest")
            if count != len(values):
                raise ErrLogic.wrap(f"tree has {count} leaves but latest has {len(values)} keys")


class WorkingStore:
    """The pending state of a CommitStore as a KVStore (reads: pending writes, then latest)."""

    def __init__(self, store: CommitStore) -> None:
        """Bind to ``store``."""
        self._store = store

    def get(self, key: bytes) -> bytes | None:
        """Pending value if written this block, else the committed one."""
        store = self._store
        pending = store._pending
        if key in pending:
            return pending[key]
        return store._latest_get(key)

    def has(self, key: bytes) -> bool:
        """True when the key holds a value."""
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        """Record a pending write."""
        validate_key(key)
        validate_value(value)
        store = self._store
        store._pending[key] = value
        store._dirty[key] = value

    def delete(self, key: bytes) -> None:
        """Record a pending delete."""
        store = self._store
        store._pending[key] = None
        store._dirty[key] = None

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Merge pending writes with the latest committed state, in key order."""
        store = self._store
        pending = store._pending
        buffered = sorted((k, v) for k, v in pending.items() if in_range(k, start, end))
        if reverse:
            buffered.reverse()
        return _merge(buffered, store._iterate_version(store.version, start, end, reverse), reverse)


class VersionView:
    """A read-only KVStore over one committed version."""

    def __init__(self, store: CommitStore, version: int) -> None:
        """Bind to ``store`` at ``version`` (already checked)."""
        self._store = store
        self.version = version

    def get(self, key: bytes) -> bytes | None:
        """Value of ``key`` at this version."""
        return self._store.get_at(key, self.version)

    def has(self, key: bytes) -> bool:
        """True when ``key`` holds a value at this version."""
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        """Not allowed: raises ErrInvalidRequest."""
        raise ErrInvalidRequest.wrap(f"read-only view of version {self.version}")

    def delete(self, key: bytes) -> None:
        """Not allowed: raises ErrInvalidRequest."""
        raise ErrInvalidRequest.wrap(f"read-only view of version {self.version}")

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items of this version in ``[start, end)``, in key order."""
        store = self._store
        store._check_version(self.version)
        return store._iterate_version(self.version, start, end, reverse)
