"""The node's content store: files as IPFS UnixFS DAGs, every block hash-checked on read.

:class:`BlobStore` holds the logic (chunking a stream into the DAG of
:mod:`aivm.crypto.unixfs`, reading byte ranges by walking the DAG, chunk proofs); subclasses
only move blocks: :class:`LocalBlobStore` keeps one file per block under the node's home
(the default), :class:`IpfsBlobStore` puts and gets blocks through an IPFS (kubo) daemon's
HTTP API. Either way the CID of every block read is recomputed before a byte is returned: a
corrupted or substituted block raises ``storage/4`` and is never served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from aivm.crypto import unixfs
from aivm.crypto.cid import CidError, parse_cid
from aivm.modules.storage.errors import (
    ErrHashMismatch,
    ErrInvalidCid,
    ErrObjectNotFound,
    ErrTooLarge,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectStat:
    """What the store knows about a file."""

    cid: str
    size: int
    chunks: int


class BlobStore(ABC):
    """Content store over a block backend (see the module docstring)."""

    def __init__(self, max_object_size: int = 1 << 34) -> None:
        self.max_object_size = max_object_size

    # -- backend --------------------------------------------------------------------------

    @abstractmethod
    def _read_block(self, cid: str) -> bytes | None:
        """Raw bytes of a block, or None when absent (not yet verified)."""

    @abstractmethod
    def _write_block(self, cid: str, data: bytes) -> None:
        """Store a block under its CID."""

    def _pin(self, cid: str) -> None:  # noqa: B027 (optional hook, not abstract)
        """Keep a finished file (backends that garbage-collect); nothing by default."""

    # -- writing --------------------------------------------------------------------------

    def writer(self) -> BlobWriter:
        """An incremental writer: ``write(piece)`` as bytes arrive, then ``close()``."""
        return BlobWriter(self)

    def put(self, pieces: Iterable[bytes]) -> ObjectStat:
        """Store a file given as consecutive pieces of any size; return its CID and size."""
        writer = self.writer()
        for piece in pieces:
            writer.write(piece)
        return writer.close()

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
    """Cuts incoming bytes into chunks, stores leaves as they fill, then the DAG nodes."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.builder = unixfs.DagBuilder()
        self.pending = bytearray()

    def write(self, piece: bytes) -> None:
        """Add the next bytes of the file."""
        self.pending += piece
        if self.builder.size + len(self.pending) > self.store.max_object_size:
            raise ErrTooLarge.wrap(f"objects are limited to {self.store.max_object_size} bytes")
        while len(self.pending) >= unixfs.CHUNK_SIZE:
            chunk = bytes(self.pending[: unixfs.CHUNK_SIZE])
            del self.pending[: unixfs.CHUNK_SIZE]
            self.store._write_block(*self.builder.add_chunk(chunk))

    def close(self) -> ObjectStat:
        """Store the last chunk and the DAG nodes; return the file's CID and size."""
        if self.pending or self.builder.size == 0:
            self.store._write_block(*self.builder.add_chunk(bytes(self.pending)))
            self.pending.clear()
        root, nodes = self.builder.finish()
        for cid, data, _, _ in nodes:
            self.store._write_block(cid, data)
        self.store._pin(root)
        size = self.builder.size
        return ObjectStat(root, size, unixfs.chunk_count(size))


class LocalBlobStore(BlobStore):
    """Blocks as files under ``root`` (``<home>/blobs``), written atomically."""

    def __init__(self, root: Path, max_object_size: int = 1 << 34) -> None:
        super().__init__(max_object_size)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

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

    def __init__(self, api_url: str, max_object_size: int = 1 << 34, timeout: float = 60.0) -> None:
        super().__init__(max_object_size)
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


def open_blob_store(home_blobs: Path, ipfs_api: str | None = None) -> BlobStore:
    """The IPFS-backed store when an API URL is configured, else the local one."""
    if ipfs_api:
        return IpfsBlobStore(ipfs_api)
    return LocalBlobStore(home_blobs)
