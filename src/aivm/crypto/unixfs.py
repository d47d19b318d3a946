"""UnixFS files as IPFS builds them (kubo / ipfs-unixfs-importer defaults), and chunk proofs.

Pure and deterministic (the state machine verifies availability proofs with it).

- Chunking: fixed 256 KiB chunks (``CHUNK_SIZE``); leaves are raw blocks (CIDv1, codec
  ``raw`` 0x55, sha2-256).
- A file of at most one chunk *is* its raw leaf: its CID is the raw CID of the bytes.
- Larger files: a balanced DAG of dag-pb (0x70) nodes, at most 174 links each, every level
  filled left to right. Each node is a ``PBNode`` whose ``Data`` is a UnixFS ``File`` message
  (``Type=2``, ``filesize``, one ``blocksizes`` entry per child) and whose links are
  ``PBLink{Hash=child CID bytes, Name="", Tsize=child's cumulative size}``. dag-pb's
  canonical encoding writes Links (field 2) before Data (field 1).
- A chunk proof for chunk ``i`` is the list of dag-pb node bytes on the path from the root to
  the leaf's parent. Verification hashes each node against the CID that points at it, picks
  the child whose byte range (from ``blocksizes``) holds chunk ``i``, and finally checks the
  chunk's raw CID against the last link.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

CHUNK_SIZE = 262_144
MAX_LINKS = 174
RAW, DAG_PB, SHA2_256 = 0x55, 0x70, 0x12
RAW_CID_PREFIX = "bafkrei"
MAX_PROOF_DEPTH = 8
MAX_NODE_BYTES = 1 << 20


class CidError(ValueError):
    """A malformed CID or a proof/content that does not match its CID."""


# -- CIDs --------------------------------------------------------------------------------


def cid_bytes(codec: int, digest: bytes) -> bytes:
    """Binary CIDv1 with a sha2-256 multihash."""
    return bytes([0x01, codec, SHA2_256, 32]) + digest


def cid_str(binary: bytes) -> str:
    """Multibase base32 (``b…``) form of a binary CID."""
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def parse_cid(text: str) -> tuple[int, bytes]:
    """(codec, sha256 digest) of a CIDv1 string; CidError when it is not one we accept."""
    if not isinstance(text, str) or not text.startswith("b") or len(text) != 59:
        raise CidError(f"invalid CID {text!r}: expected a base32 CIDv1 (b...) with sha2-256")
    body = text[1:]
    if body != body.lower():
        raise CidError(f"invalid CID {text!r}: base32 must be lower case")
    try:
        binary = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise CidError(f"invalid CID {text!r}: {exc}") from None
    if len(binary) != 36 or binary[0] != 1 or binary[2:4] != bytes([SHA2_256, 32]):
        raise CidError(f"invalid CID {text!r}: not CIDv1 sha2-256")
    if binary[1] not in (RAW, DAG_PB):
        raise CidError(f"invalid CID {text!r}: codec must be raw or dag-pb")
    if cid_str(binary) != text:
        raise CidError(f"invalid CID {text!r}: not canonical")
    return binary[1], binary[4:]


def raw_cid(data: bytes) -> str:
    """CID of a raw block."""
    return cid_str(cid_bytes(RAW, hashlib.sha256(data).digest()))


# -- protobuf writing/reading (only what dag-pb and UnixFS use) ---------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(payload, int)
        return key + _varint(payload)
    assert isinstance(payload, bytes)
    return key + _varint(len(payload)) + payload


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CidError("truncated or oversized varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise CidError("truncated field")
            yield number, wire, data[pos : pos + length]
            pos += length
        else:
            raise CidError(f"unexpected wire type {wire}")


@dataclass(frozen=True)
class Link:
    """A dag-pb link to a child block."""

    cid: bytes
    tsize: int


def encode_node(links: list[Link], blocksizes: list[int]) -> bytes:
    """A dag-pb node holding a UnixFS File with these children."""
    unixfs = _field(1, 0, 2) + _field(3, 0, sum(blocksizes))
    unixfs += b"".join(_field(4, 0, size) for size in blocksizes)
    body = b"".join(
        _field(2, 2, _field(1, 2, link.cid) + _field(2, 2, b"") + _field(3, 0, link.tsize))
        for link in links
    )
    return body + _field(1, 2, unixfs)


def decode_node(data: bytes) -> tuple[list[Link], list[int]]:
    """(links, blocksizes) of a UnixFS File dag-pb node; CidError when it is not one."""
    if len(data) > MAX_NODE_BYTES:
        raise CidError("node too large")
    links: list[Link] = []
    unixfs = None
    for number, wire, value in _fields(data):
        if number == 2 and wire == 2 and unixfs is None:
            assert isinstance(value, bytes)
            cid, tsize = b"", 0
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    assert isinstance(v, bytes)
                    cid = v
                elif n == 3 and w == 0:
                    assert isinstance(v, int)
                    tsize = v
            links.append(Link(cid, tsize))
        elif number == 1 and wire == 2:
            assert isinstance(value, bytes)
            unixfs = value
        else:
            raise CidError("not a dag-pb node")
    if unixfs is None:
        raise CidError("dag-pb node without UnixFS data")
    kind, blocksizes = None, []
    for number, wire, value in _fields(unixfs):
        if number == 1 and wire == 0:
            kind = value
        elif number == 4 and wire == 0:
            assert isinstance(value, int)
            blocksizes.append(value)
    if kind != 2 or len(blocksizes) != len(links):
        raise CidError("not a UnixFS file node")
    return links, blocksizes


# -- building ------------------------------------------------------------------------------


@dataclass
class Dag:
    """A file's DAG: root CID, every block by CID string, and the leaves in order."""

    root_cid: str
    size: int
    blocks: dict[str, bytes] = field(default_factory=dict)
    leaves: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    """dag-pb node CID → child CIDs in order."""
    ranges: dict[str, int] = field(default_factory=dict)
    """CID → size of the file content below it."""

    @property
    def chunks(self) -> int:
        """Number of chunks (leaves)."""
        return len(self.leaves)


def chunk_count(size: int) -> int:
    """Chunks of a file of ``size`` bytes (an empty file is one empty chunk)."""
    return max(1, -(-size // CHUNK_SIZE))


def chunks_of(data: bytes) -> Iterator[bytes]:
    """Fixed-size chunks of ``data`` (one empty chunk for empty data)."""
    if not data:
        yield b""
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start : start + CHUNK_SIZE]


class DagBuilder:
    """Builds a file DAG from chunks fed in order, without holding the file's bytes.

    ``add_chunk`` returns the raw leaf block to store; ``finish`` returns the remaining
    (dag-pb) blocks and the root CID.
    """

    def __init__(self) -> None:
        self._level0: list[tuple[str, int, int]] = []  # (cid, tsize, content size)
        self.size = 0
        self.leaves: list[str] = []

    def add_chunk(self, chunk: bytes) -> tuple[str, bytes]:
        """Add the next chunk (exactly CHUNK_SIZE bytes except the last)."""
        cid = raw_cid(chunk)
        self._level0.append((cid, len(chunk), len(chunk)))
        self.size += len(chunk)
        self.leaves.append(cid)
        return cid, chunk

    def finish(self) -> tuple[str, list[tuple[str, bytes, list[str], int]]]:
        """(root CID, [(cid, node bytes, child CIDs, content size)] of every dag-pb node)."""
        level = self._level0 or [(raw_cid(b""), 0, 0)]
        nodes: list[tuple[str, bytes, list[str], int]] = []
        if len(level) == 1:
            return level[0][0], nodes
        while len(level) > 1:
            parents = []
            for start in range(0, len(level), MAX_LINKS):
                group = level[start : start + MAX_LINKS]
                links = [Link(_binary(cid), tsize) for cid, tsize, _ in group]
                data = encode_node(links, [size for _, _, size in group])
                cid = cid_str(cid_bytes(DAG_PB, hashlib.sha256(data).digest()))
                content = sum(size for _, _, size in group)
                nodes.append((cid, data, [c for c, _, _ in group], content))
                parents.append((cid, len(data) + sum(t for _, t, _ in group), content))
            level = parents
        return level[0][0], nodes


def _binary(cid: str) -> bytes:
    codec, digest = parse_cid(cid)
    return cid_bytes(codec, digest)


def build_dag(data: bytes) -> Dag:
    """The complete DAG of ``data`` (all blocks in memory: for tests and small files)."""
    builder = DagBuilder()
    blocks: dict[str, bytes] = {}
    ranges: dict[str, int] = {}
    for chunk in chunks_of(data):
        cid, block = builder.add_chunk(chunk)
        blocks[cid] = block
        ranges[cid] = len(block)
    root, nodes = builder.finish()
    dag = Dag(root_cid=root, size=len(data), blocks=blocks, leaves=builder.leaves, ranges=ranges)
    for cid, node, children, content in nodes:
        dag.blocks[cid] = node
        dag.children[cid] = children
        dag.ranges[cid] = content
    return dag


def cid_of(data: bytes) -> str:
    """The IPFS CIDv1 of a file's bytes (``ipfs add --cid-version=1``)."""
    return build_dag(data).root_cid


def cid_of_stream(chunks: Iterable[bytes]) -> str:
    """Like :func:`cid_of`, for data given as consecutive pieces of any size."""
    builder = DagBuilder()
    pending = b""
    for piece in chunks:
        pending += piece
        while len(pending) >= CHUNK_SIZE:
            builder.add_chunk(pending[:CHUNK_SIZE])
            pending = pending[CHUNK_SIZE:]
    if pending or builder.size == 0:
        builder.add_chunk(pending)
    return builder.finish()[0]


# -- proofs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkProof:
    """dag-pb node bytes from the root down to the parent of the proven leaf."""

    nodes: tuple[bytes, ...]

    def encode(self) -> bytes:
        """Bytes for a transaction: a protobuf-style list of length-delimited nodes (field 1)."""
        return b"".join(_field(1, 2, node) for node in self.nodes)

    @classmethod
    def decode(cls, data: bytes) -> ChunkProof:
        """Strict inverse of :meth:`encode`."""
        nodes = []
        for number, wire, value in _fields(data):
            if number != 1 or wire != 2:
                raise CidError("malformed chunk proof")
            assert isinstance(value, bytes)
            nodes.append(value)
        if len(nodes) > MAX_PROOF_DEPTH:
            raise CidError("chunk proof too deep")
        proof = cls(tuple(nodes))
        if proof.encode() != data:
            raise CidError("chunk proof is not canonical")
        return proof


def chunk_proof(dag: Dag, index: int) -> ChunkProof:
    """The proof for chunk ``index`` of ``dag``."""
    if not 0 <= index < dag.chunks:
        raise CidError(f"chunk {index} out of range (file has {dag.chunks})")
    nodes = []
    cid = dag.root_cid
    offset = index * CHUNK_SIZE
    while cid in dag.children:
        nodes.append(dag.blocks[cid])
        for child in dag.children[cid]:
            if offset < dag.ranges[child]:
                cid = child
                break
            offset -= dag.ranges[child]
    return ChunkProof(tuple(nodes))


def verify_chunk(root_cid: str, size: int, index: int, chunk: bytes, proof: ChunkProof) -> None:
    """Check that ``chunk`` is chunk ``index`` of the ``size``-byte file ``root_cid``.

    Raises CidError naming the first mismatch.
    """
    chunks = chunk_count(size)
    if not 0 <= index < chunks:
        raise CidError(f"chunk {index} out of range (file has {chunks})")
    expected_len = min(CHUNK_SIZE, size - index * CHUNK_SIZE) if size else 0
    if len(chunk) != expected_len:
        raise CidError(f"chunk {index} must be {expected_len} bytes, got {len(chunk)}")
    codec, digest = parse_cid(root_cid)
    offset = index * CHUNK_SIZE
    remaining = size
    for depth, node in enumerate(proof.nodes):
        if codec != DAG_PB or hashlib.sha256(node).digest() != digest:
            raise CidError(f"proof node {depth} does not match the CID that links to it")
        links, blocksizes = decode_node(node)
        if sum(blocksizes) != remaining:
            raise CidError(f"proof node {depth} covers {sum(blocksizes)} bytes, not {remaining}")
        position, offset = child_covering(blocksizes, offset)
        link, remaining = links[position], blocksizes[position]
        if len(link.cid) != 36 or link.cid[0] != 1 or link.cid[2:4] != bytes([SHA2_256, 32]):
            raise CidError(f"proof node {depth} has a malformed link")
        codec, digest = link.cid[1], link.cid[4:]
    if codec != RAW or offset != 0 or remaining != len(chunk):
        raise CidError("proof does not end at the chunk's leaf")
    if hashlib.sha256(chunk).digest() != digest:
        raise CidError(f"chunk {index} does not match its CID")


def child_covering(blocksizes: list[int], offset: int) -> tuple[int, int]:
    """(child position, offset inside it) of byte ``offset`` of a node's content."""
    for position, span in enumerate(blocksizes):
        if offset < span:
            return position, offset
        offset -= span
    raise CidError(f"byte {offset} is beyond the node's content")


def challenge_index(seed: bytes, root_cid: str, n_chunks: int) -> int:
    """The chunk a challenge asks for: ``sha256(seed ‖ CID bytes) mod n_chunks``."""
    if n_chunks < 1:
        raise CidError("an object has at least one chunk")
    digest = hashlib.sha256(seed + _binary(root_cid)).digest()
    return int.from_bytes(digest, "big") % n_chunks


# -- root blocks: the evidence of a file's size ---------------------------------------------


def file_size(node: bytes) -> int:
    """The size of the file a UnixFS ``File`` dag-pb node describes (its ``filesize``).

    The node must decode as :func:`decode_node` requires and carry a ``filesize`` equal to the
    sum of its ``blocksizes``; CidError otherwise. The node's hash is not checked here.
    """
    _, blocksizes = decode_node(node)
    declared = _unixfs_filesize(node)
    if declared is None:
        raise CidError("UnixFS file node without filesize")
    if declared != sum(blocksizes):
        raise CidError(f"filesize {declared} is not the sum of blocksizes {sum(blocksizes)}")
    return declared


def _unixfs_filesize(node: bytes) -> int | None:
    """The ``filesize`` field of a dag-pb node's UnixFS Data (None when absent)."""
    data = b""
    for number, wire, value in _fields(node):
        if number == 1 and wire == 2:
            assert isinstance(value, bytes)
            data = value
    found = None
    for number, wire, value in _fields(data):
        if number == 3 and wire == 0:
            assert isinstance(value, int)
            found = value
    return found


@dataclass(frozen=True)
class FileRoot:
    """A file's CID, its root block and its size.

    The root block is the root dag-pb node for a file of several chunks, and the file's bytes
    (its only raw leaf) otherwise: what ``MsgStoreObject.root_block`` carries.
    """

    cid: str
    block: bytes
    size: int


def file_root(pieces: Iterable[bytes]) -> FileRoot:
    """The :class:`FileRoot` of data given as consecutive pieces of any size (streamed)."""
    builder = DagBuilder()
    first: bytes | None = None
    for chunk in _rechunked(pieces):
        first = chunk if first is None else first
        builder.add_chunk(chunk)
    root, nodes = builder.finish()
    block = nodes[-1][1] if nodes else first or b""
    return FileRoot(root, block, builder.size)


def _rechunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The file's CHUNK_SIZE chunks (the last shorter; one empty chunk for no data)."""
    buffer = bytearray()
    sent = False
    for piece in pieces:
        view = memoryview(piece)
        pos = 0
        while pos < len(view):
            take = min(CHUNK_SIZE - len(buffer), len(view) - pos)
            buffer += view[pos : pos + take]
            pos += take
            if len(buffer) == CHUNK_SIZE:
                yield bytes(buffer)
                buffer.clear()
                sent = True
    if buffer or not sent:
        yield bytes(buffer)


def root_block_of(dag: Dag) -> bytes:
    """The root block of a built DAG (see :class:`FileRoot`)."""
    return dag.blocks[dag.root_cid]
