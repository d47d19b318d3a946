"""The node's content store: files as IPFS UnixFS DAGs, every block hash-checked on read.

:class:`BlobStore` holds the logic (chunking a stream into the DAG of
:mod:`aivm.crypto.unixfs`, reading byte ranges by walking the DAG, chunk proofs); subclasses
only move blocks: :class:`LocalBlobStore` keeps one file per block under the node's home
(the default), :class:`IpfsBlobStore` puts and gets blocks through an IPFS (kubo) daemon's
HTTP API. Either way the CID of every block read is recomputed before a byte is returned: a
corrupted or substituted block raises ``storage/4`` and is never served.

Limits (``[storage]`` of ``app.toml``): a file larger than ``max_object_size`` raises
``storage/7`` as soon as its bytes pass the limit, and a file that would take the store past
``max_total_size`` (its quota; 0 = none) raises ``blobstore/2``. Either way nothing of it stays:
a :class:`BlobWriter` stages its blocks in a private directory and moves them into the store
only when the whole file has arrived; a failed or abandoned upload deletes its staging
directory, so no orphan blocks are left behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError, parse_cid
from aivm.modules.storage.errors import (
    ErrHashMismatch,
    ErrInvalidCid,
    ErrObjectNotFound,
    ErrTooLarge,
)
from aivm.types.errors import register

if TYPE_CHECKING:
    from aivm.node.config import StorageConfig

log = logging.getLogger(__name__)

CODESPACE = "blobstore"
"""Errors of the node's content store itself (node-local, never in a tx result)."""
ErrStoreFull = register(CODESPACE, 2, "content store quota exceeded")
ErrUnsupportedMediaType = register(CODESPACE, 3, "unsupported media type")
ErrForbiddenOrigin = register(CODESPACE, 4, "cross-origin upload refused")

DEFAULT_MAX_OBJECT_SIZE = 1 << 30
STAGING_DIR = ".staging"


@dataclass(frozen=True)
class ObjectStat:
    """What the store knows about a file."""

    cid: str
    size: int
    chunks: int


class BlobStore(ABC):
    """Content store over a block backend (see the module docstring).

    ``max_object_size``: the largest file; ``max_total_size``: the quota of the whole store
    in bytes (0 = no quota), counted over what the backend holds plus the uploads in flight.
    """

    recount_after_upload = False
    """Whether the held bytes are asked of the backend again after each upload (when it
    cannot tell which of the blocks it was given were new)."""

    def __init__(
        self, max_object_size: int = DEFAULT_MAX_OBJECT_SIZE, max_total_size: int = 0
    ) -> None:
        self.max_object_size = max_object_size
        self.max_total_size = max_total_size
        self._usage_lock = threading.Lock()
        self._held: int | None = None  # bytes the backend holds, counted on first need
        self._reserved = 0  # bytes staged by uploads in flight

    # -- backend --------------------------------------------------------------------------

    @abstractmethod
    def _read_block(self, cid: str) -> bytes | None:
        """Raw bytes of a block, or None when absent (not yet verified)."""

    @abstractmethod
    def _write_block(self, cid: str, data: bytes) -> None:
        """Store a block under its CID."""

    def _pin(self, cid: str) -> None:  # noqa: B027 (optional hook, not abstract)
        """Keep a finished file (backends that garbage-collect); nothing by default."""

    @abstractmethod
    def _held_bytes(self) -> int:
        """Bytes the backend holds now (for the quota)."""

    def _has_intact(self, cid: str) -> bool:
        """Whether the block is stored with the right content already (then an upload does
        not stage it again, nor count it against the quota); False when unknown."""
        return False

    def _staging_dir(self) -> Path:
        """A new empty directory for one upload's blocks (removed by the writer)."""
        return Path(tempfile.mkdtemp(prefix="aivm-upload-"))

    def _commit_block(self, cid: str, staged: Path) -> int:
        """Move a staged block into the store; returns the bytes the store grew by."""
        data = staged.read_bytes()
        self._write_block(cid, data)
        return len(data)

    # -- quota ----------------------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        """Bytes held plus bytes staged by uploads in flight."""
        with self._usage_lock:
            return self._held_locked() + self._reserved

    def _held_locked(self) -> int:
        if self._held is None:
            self._held = self._held_bytes()
        return self._held

    def _refuse_past_quota(self, used: int, size: int) -> None:
        if used + size > self.max_total_size:
            raise ErrStoreFull.wrap(
                f"storing {size} more bytes would take the content store past its quota of "
                f"{self.max_total_size} bytes ({used} in use)"
            )

    def _reserve(self, size: int) -> None:
        """Count ``size`` staged bytes against the quota (ErrStoreFull when it is passed)."""
        with self._usage_lock:
            if self.max_total_size:
                self._refuse_past_quota(self._held_locked() + self._reserved, size)
            self._reserved += size

    def _settle(self, reserved: int, stored: int) -> None:
        """An upload ended: ``reserved`` staged bytes released, ``stored`` bytes now held."""
        with self._usage_lock:
            self._reserved -= reserved
            if self.recount_after_upload:
                self._held = None
            elif self._held is not None:
                self._held += stored

    # -- writing --------------------------------------------------------------------------

    def writer(self) -> BlobWriter:
        """An incremental writer: ``write(piece)`` as bytes arrive, then ``close()``."""
        return BlobWriter(self)

    def put(self, pieces: Iterable[bytes]) -> ObjectStat:
        """Store a file given as consecutive pieces of any size; return its CID and size.
        On any error nothing of the file is stored."""
        writer = self.writer()
        try:
            for piece in pieces:
                writer.write(piece)
            return writer.close()
        finally:
            writer.abort()

    def put_bytes(self, data: bytes) -> ObjectStat:
        """Store ``data``."""
        return self.put([data])

    # -- reading --------------------------------------------------------------------------

    def block(self, cid: str) -> bytes:
        """A block, verified against its CID (ErrObjectNotFound / ErrHashMismatch)."""
        try:
            _, digest = parse_cid(cid)
        except CidError as exc:
            raise ErrInvalidCid.wrap(str(exc)) from None
        data = self._read_block(cid)
        if data is None:
            raise ErrObjectNotFound.wrap(cid)
        if hashlib.sha256(data).digest() != digest:
            log.error("block %s is corrupted: its content does not match its CID", cid)
            raise ErrHashMismatch.wrap(f"block {cid} is corrupted")
        return data

    def has(self, cid: str) -> bool:
        """Whether the root block of ``cid`` is present (not verified)."""
        try:
            parse_cid(cid)
        except CidError:
            return False
        return self._read_block(cid) is not None

    def stat(self, cid: str) -> ObjectStat:
        """Size and chunk count of a stored file."""
        codec, _ = self._codec(cid)
        size = len(self.block(cid)) if codec == unixfs.RAW else sum(self._node(cid)[1])
        return ObjectStat(cid, size, unixfs.chunk_count(size))

    def read(self, cid: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of a file, chunk by chunk, each block verified first."""
        size = self.stat(cid).size
        end = size if end is None else min(end, size)
        if start < 0 or start > end:
            raise ValueError(f"bad byte range {start}-{end} for {size} bytes")
        if start == end:
            return iter(())
        return self._read_range(cid, start, end)

    def read_all(self, cid: str) -> bytes:
        """The whole file (verified)."""
        return b"".join(self.read(cid))

    def chunk_with_proof(self, cid: str, index: int) -> tuple[bytes, unixfs.ChunkProof]:
        """Chunk ``index`` of a file and its Merkle path, as a challenge answer needs."""
        size = self.stat(cid).size
        if not 0 <= index < unixfs.chunk_count(size):
            raise ErrObjectNotFound.wrap(f"{cid} has no chunk {index}")
        nodes: list[bytes] = []
        current, offset = cid, index * unixfs.CHUNK_SIZE
        while self._codec(current)[0] == unixfs.DAG_PB:
            nodes.append(self.block(current))
            links, sizes = self._node(current)
            position, offset = unixfs.child_covering(sizes, offset)
            current = unixfs.cid_str(links[position].cid)
        return self.block(current), unixfs.ChunkProof(tuple(nodes))

    # -- internals ------------------------------------------------------------------------

    def _codec(self, cid: str) -> tuple[int, bytes]:
        try:
            return parse_cid(cid)
        except CidError as exc:
            raise ErrInvalidCid.wrap(str(exc)) from None

    def _node(self, cid: str) -> tuple[list[unixfs.Link], list[int]]:
        try:
            return unixfs.decode_node(self.block(cid))
        except CidError as exc:
            raise ErrHashMismatch.wrap(f"{cid} is not a UnixFS file node: {exc}") from None

    def _read_range(self, cid: str, start: int, end: int) -> Iterator[bytes]:
        codec, _ = self._codec(cid)
        if codec == unixfs.RAW:
            yield self.block(cid)[start:end]
            return
        links, sizes = self._node(cid)
        offset = 0
        for link, span in zip(links, sizes, strict=True):
            if offset + span > start and offset < end:
                child = unixfs.cid_str(link.cid)
                yield from self._read_range(child, max(start - offset, 0), min(end - offset, span))
            offset += span


class BlobWriter:
    """Cuts incoming bytes into chunks and stages each block as it fills; ``close`` moves the
    whole file into the store, ``abort`` (or any failure) deletes what was staged. The methods
    take a lock: ``abort`` may come from another thread while ``write`` runs."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.builder = unixfs.DagBuilder()
        self.pending = bytearray()
        self._staging: Path | None = None
        self._staged: dict[str, int] = {}  # CID → size, in staging order
        self._present: set[str] = set()  # blocks the store already holds intact
        self._reserved = 0
        self._stored = 0
        self._done = False
        self._lock = threading.RLock()

    def write(self, piece: bytes) -> None:
        """Add the next bytes of the file: ErrTooLarge as soon as they pass the object size
        limit, ErrStoreFull as soon as they would pass the quota; either way the writer is
        aborted (nothing staged is kept)."""
        with self._lock:
            self._write(piece)

    def _write(self, piece: bytes) -> None:
        if self._done:
            raise RuntimeError("the writer is closed")
        try:
            limit = self.store.max_object_size
            if self.builder.size + len(self.pending) + len(piece) > limit:
                raise ErrTooLarge.wrap(f"objects are limited to {limit} bytes")
            self.pending += piece
            while len(self.pending) >= unixfs.CHUNK_SIZE:
                chunk = bytes(self.pending[: unixfs.CHUNK_SIZE])
                del self.pending[: unixfs.CHUNK_SIZE]
                self._stage(*self.builder.add_chunk(chunk))
        except BaseException:
            self.abort()
            raise

    def close(self) -> ObjectStat:
        """Stage the last chunk and the DAG nodes, move every block into the store (leaves
        first, the root last) and return the file's CID and size."""
        with self._lock:
            return self._close()

    def _close(self) -> ObjectStat:
        if self._done:
            raise RuntimeError("the writer is closed")
        try:
            if self.pending or self.builder.size == 0:
                self._stage(*self.builder.add_chunk(bytes(self.pending)))
                self.pending.clear()
            root, nodes = self.builder.finish()
            for cid, data, _, _ in nodes:
                self._stage(cid, data)
            for cid in self._staged:
                assert self._staging is not None
                self._stored += self.store._commit_block(cid, self._staging / cid)
            self.store._pin(root)
        finally:
            self.abort()
        size = self.builder.size
        return ObjectStat(root, size, unixfs.chunk_count(size))

    def abort(self) -> None:
        """Delete the staged blocks and release their quota (nothing once closed)."""
        with self._lock:
            if self._done:
                return
            self._done = True
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
            self.store._settle(self._reserved, self._stored)

    def _stage(self, cid: str, data: bytes) -> None:
        if cid in self._staged or cid in self._present:  # a chunk repeated within the file
            return
        if self.store._has_intact(cid):  # blocks are never removed: still there at close
            self._present.add(cid)
            return
        self.store._reserve(len(data))
        self._reserved += len(data)
        if self._staging is None:
            self._staging = self.store._staging_dir()
        _write_durably(self._staging / cid, data)
        self._staged[cid] = len(data)


def _files_size(directory: str) -> int:
    """Total size of the block files directly in ``directory`` (not temporary ones)."""
    with os.scandir(directory) as entries:
        return sum(
            e.stat(follow_symlinks=False).st_size
            for e in entries
            if e.is_file(follow_symlinks=False) and not e.name.startswith(".")
        )


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


class LocalBlobStore(BlobStore):
    """Blocks as files under ``root`` (``<home>/blobs``), written atomically. Uploads are
    staged under ``root/.staging`` (emptied at open: what is there was abandoned by a crash),
    so a finished block is moved into place by a rename."""

    def __init__(
        self, root: Path, max_object_size: int = DEFAULT_MAX_OBJECT_SIZE, max_total_size: int = 0
    ) -> None:
        super().__init__(max_object_size, max_total_size)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._staging_root = self.root / STAGING_DIR
        shutil.rmtree(self._staging_root, ignore_errors=True)

    def _staging_dir(self) -> Path:
        self._staging_root.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self._staging_root))

    def _held_bytes(self) -> int:
        total = 0
        with os.scandir(self.root) as shards:
            for shard in shards:
                if shard.name != STAGING_DIR and shard.is_dir(follow_symlinks=False):
                    total += _files_size(shard.path)
        return total

    def _has_intact(self, cid: str) -> bool:
        return self._intact(cid, self._path(cid))

    def _commit_block(self, cid: str, staged: Path) -> int:
        path = self._path(cid)
        if self._intact(cid, path):
            return 0
        size = staged.stat().st_size
        previous = path.stat().st_size if path.exists() else 0  # a corrupted copy, replaced
        path.parent.mkdir(exist_ok=True)
        os.replace(staged, path)  # staged durably; same file system: atomic
        return size - previous

    def _path(self, cid: str) -> Path:
        return self.root / cid[-2:] / cid

    def _read_block(self, cid: str) -> bytes | None:
        try:
            return self._path(cid).read_bytes()
        except FileNotFoundError:
            return None

    def _write_block(self, cid: str, data: bytes) -> None:
        path = self._path(cid)
        if self._intact(cid, path):
            return
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _intact(self, cid: str, path: Path) -> bool:
        """Whether the block is already stored with the right content (a corrupted copy is
        replaced by the next upload of the same bytes)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        if hashlib.sha256(data).digest() == parse_cid(cid)[1]:
            return True
        log.warning("block %s is corrupted on disk: replacing it with the uploaded copy", cid)
        return False


class IpfsBlobStore(BlobStore):
    """Blocks kept by an IPFS (kubo) daemon, through its HTTP API (``/api/v0/block/*``).

    Blocks are written with ``block/put`` (so the CIDs are ours, identical to
    :class:`LocalBlobStore`'s and to what ``ipfs add --cid-version=1`` prints) and files pinned
    with ``pin/add``; every block read back is verified against its CID here, the daemon is not
    trusted. Reads never make the daemon search the network (``offline=true``).
    """

    recount_after_upload = True  # block/put does not say whether a block was new

    def __init__(
        self,
        api_url: str,
        max_object_size: int = DEFAULT_MAX_OBJECT_SIZE,
        timeout: float = 60.0,
        max_total_size: int = 0,
    ) -> None:
        super().__init__(max_object_size, max_total_size)
        self.api = api_url.rstrip("/") + "/api/v0/"
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, command: str, params: dict[str, str], body: bytes | None = None) -> bytes:
        """POST one API command (kubo's API accepts only POST); the raw response body."""
        files = {"file": ("block", body, "application/octet-stream")} if body is not None else None
        response = self.session.post(
            self.api + command, params=params, files=files, timeout=self.timeout
        )
        if response.status_code != 200:
            raise IpfsApiError(command, response.status_code, _api_message(response))
        return response.content

    def _read_block(self, cid: str) -> bytes | None:
        try:
            return self._call("block/get", {"arg": cid, "offline": "true"})
        except IpfsApiError as exc:
            if exc.status == 500 and "not found" in exc.message:
                return None
            raise

    def _write_block(self, cid: str, data: bytes) -> None:
        codec = "raw" if parse_cid(cid)[0] == unixfs.RAW else "dag-pb"
        answer = self._call("block/put", {"cid-codec": codec, "mhtype": "sha2-256"}, data)
        key = json.loads(answer).get("Key", "")
        if key != cid:
            raise IpfsApiError("block/put", 200, f"daemon stored {key!r}, expected {cid}")

    def _pin(self, cid: str) -> None:
        self._call("pin/add", {"arg": cid})

    def _held_bytes(self) -> int:
        """The daemon's repository size (``repo/stat``): the quota covers the whole repo."""
        answer = self._call("repo/stat", {"size-only": "true"})
        return int(json.loads(answer).get("RepoSize", 0))


class IpfsApiError(OSError):
    """The IPFS daemon refused or failed an API call."""

    def __init__(self, command: str, status: int, message: str) -> None:
        super().__init__(f"IPFS API {command}: HTTP {status}: {message}")
        self.status = status
        self.message = message


def _api_message(response: requests.Response) -> str:
    """kubo's error text (``{"Message": ...}``) or the body."""
    try:
        return str(response.json().get("Message", response.text))
    except ValueError:
        return response.text


def open_blob_store(
    home_blobs: Path, ipfs_api: str | None = None, limits: StorageConfig | None = None
) -> BlobStore:
    """The IPFS-backed store when an API URL is configured, else the local one, with the
    size limits of ``limits`` (default: ``app.toml``'s defaults)."""
    if limits is None:
        from aivm.node.config import StorageConfig

        limits = StorageConfig()
    max_object, quota = limits.max_object_bytes, limits.max_total_bytes
    if ipfs_api:
        return IpfsBlobStore(ipfs_api, max_object, max_total_size=quota)
    return LocalBlobStore(home_blobs, max_object, quota)
