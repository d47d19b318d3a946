"""Python SDK for the ``storage`` module's transactions and queries (per-owner object records,
retention payments, availability challenges). Upload/download of the bytes themselves goes
through the node's blob service (:mod:`aivm.client.storage`).

``MsgStoreObject`` carries the object's root block, the evidence of its size: the SDK computes
it from a local file, or fetches it from the node's content store (where ``aivm storage put``
left the file) and checks it against the CID before signing anything.

Example::

    from aivm.client import Client
    from aivm.modules.storage.client import StorageTxClient

    with Client("http://127.0.0.1:26657", rest="http://127.0.0.1:1317") as client:
        stat = client.storage.put("model.dsm")
        stored = StorageTxClient(client).store(wallet, stat.cid, blocks=1000)
        # the same helper, built once per client: client.modules.storage
        print(stored.size, stored.retained_until)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aivm.client.client import Client
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.client.storage import StorageClient, StorageError
from aivm.client.wallet import Wallet
from aivm.crypto import unixfs
from aivm.types import pb
from aivm.types.protogen import storage_pb2

QUERY = "/aivm.storage.v1.Query/"
PIECE = 1 << 16


@dataclass(frozen=True)
class Opened:
    """A challenge opened on chain."""

    challenge_id: int
    chunk_index: int
    txhash: str


@dataclass(frozen=True)
class Answered:
    """What :meth:`StorageTxClient.answer_assigned` did about one assigned challenge."""

    challenge_id: int
    cid: str
    chunk_index: int
    txhash: str
    """The answering tx ('' when none was sent)."""
    error: str = ""
    """Why it was not answered ('' when the chain accepted the answer)."""

    @property
    def ok(self) -> bool:
        """True when the chain accepted the answer."""
        return not self.error


@dataclass(frozen=True)
class Stored:
    """A retention payment included on chain."""

    cid: str
    size: int
    """The size the chain proved from the root block."""
    retained_until: int
    txhash: str


class StorageTxClient:
    """``storage`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float = 30.0) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    def store(
        self,
        wallet: Wallet,
        cid: str,
        blocks: int,
        *,
        source: str | Path | bytes | None = None,
        root_block: bytes | None = None,
        content: StorageClient | None = None,
        size: int = 0,
    ) -> Stored:
        """Create or extend ``wallet``'s record of ``cid``, paying ``blocks`` blocks.

        The root block is ``root_block`` when given, else computed from ``source`` (a path or
        the bytes), else fetched from ``content`` (default: ``client.storage``, the node's
        content store). ``size``, when not 0, is a declared size the chain checks.
        """
        if root_block is None:
            root_block = self.root_block(cid, source=source, content=content)
        msg = storage_pb2.MsgStoreObject(
            owner=wallet.address,
            cid=cid,
            size=size,
            retention_blocks=blocks,
            root_block=root_block,
        )
        result = self._submit(wallet, msg)
        event = "aivm.storage.v1.EventStoreObject"
        return Stored(
            cid,
            int(result.attribute(event, "size")),
            int(result.attribute(event, "retained_until")),
            result.hash,
        )

    def root_block(
        self,
        cid: str,
        *,
        source: str | Path | bytes | None = None,
        content: StorageClient | None = None,
    ) -> bytes:
        """The root block of ``cid``: computed from ``source``, or fetched from the content
        store; StorageError when it does not match ``cid``."""
        if source is not None:
            root = unixfs.file_root(_pieces(source))
            if root.cid != cid:
                raise StorageError(f"{_name(source)} has CID {root.cid}, not {cid}")
            return root.block
        return fetch_root_block(content or self.client.storage, cid)

    def open_challenge(self, wallet: Wallet, cid: str) -> Opened:
        """Challenge the availability of ``cid``; the chain picks the chunk."""
        msg = storage_pb2.MsgOpenChallenge(challenger=wallet.address, cid=cid)
        result = self._submit(wallet, msg)
        event = "aivm.storage.v1.EventChallengeOpened"
        return Opened(
            int(result.attribute(event, "challenge_id")),
            int(result.attribute(event, "chunk_index")),
            result.hash,
        )

    def answer_challenge(
        self, wallet: Wallet, challenge_id: int, chunk: bytes, proof: bytes
    ) -> TxResult:
        """Answer a challenge with the chunk and its encoded Merkle path."""
        msg = storage_pb2.MsgAnswerChallenge(
            responder=wallet.address, challenge_id=challenge_id, chunk=chunk, proof=proof
        )
        return self._submit(wallet, msg)

    def assigned_challenges(
        self, assignee: str, page_size: int = 100
    ) -> list[storage_pb2.Challenge]:
        """Every open scheduled challenge naming ``assignee``, by id."""
        found: list[storage_pb2.Challenge] = []
        request = storage_pb2.QueryAssignedChallengesRequest(assignee=assignee)
        request.pagination.limit = page_size
        while True:
            response = self.client.query(
                QUERY + "AssignedChallenges", request, storage_pb2.QueryAssignedChallengesResponse
            )
            found.extend(response.challenges)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def answer_assigned(
        self, wallet: Wallet, content: StorageClient | None = None
    ) -> list[Answered]:
        """Answer every open challenge assigned to ``wallet`` from ``content`` (default: the
        node's content store, ``client.storage``).

        The answers go in one tx (a scheduled challenge leaves only ``holder_response_blocks``
        blocks); if the chain refuses that tx, each answer is sent on its own so that one bad
        chunk does not sink the others. A chunk the content store cannot serve is reported
        and not sent.
        """
        store = content or self.client.storage
        ready: list[tuple[storage_pb2.Challenge, storage_pb2.MsgAnswerChallenge]] = []
        report: list[Answered] = []
        for challenge in self.assigned_challenges(wallet.address):
            try:
                chunk, proof = store.chunk(challenge.cid, challenge.chunk_index)
            except StorageError as exc:
                report.append(_answered(challenge, "", f"no chunk to answer with: {exc}"))
                continue
            msg = storage_pb2.MsgAnswerChallenge(
                responder=wallet.address, challenge_id=challenge.id, chunk=chunk, proof=proof
            )
            ready.append((challenge, msg))
        if not ready:
            return report
        try:
            result = self.client.wait_for_tx(
                self.client.sign_and_broadcast(wallet, [msg for _, msg in ready]).hash
            )
            return report + [_answered(challenge, result.hash) for challenge, _ in ready]
        except ChainError:
            pass
        for challenge, msg in ready:
            try:
                report.append(_answered(challenge, self._submit(wallet, msg).hash))
            except ChainError as exc:
                report.append(_answered(challenge, exc.txhash or "", str(exc)))
        return report

    def holders(self, cid: str) -> storage_pb2.ObjectHolders:
        """The data-role holders assigned to ``cid``."""
        response = self.client.query(
            QUERY + "Holders",
            storage_pb2.QueryHoldersRequest(cid=cid),
            storage_pb2.QueryHoldersResponse,
        )
        found: storage_pb2.ObjectHolders = response.holders
        return found

    def holder_objects(self, holder: str, page_size: int = 100) -> list[str]:
        """Every CID ``holder`` is assigned, in CID key order."""
        found: list[str] = []
        request = storage_pb2.QueryHolderObjectsRequest(holder=holder)
        request.pagination.limit = page_size
        while True:
            response = self.client.query(
                QUERY + "HolderObjects", request, storage_pb2.QueryHolderObjectsResponse
            )
            found.extend(response.cids)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def holder_stats(self, holder: str) -> storage_pb2.HolderStats:
        """``holder``'s missed and passed scheduled challenges."""
        response = self.client.query(
            QUERY + "HolderStats",
            storage_pb2.QueryHolderStatsRequest(holder=holder),
            storage_pb2.QueryHolderStatsResponse,
        )
        found: storage_pb2.HolderStats = response.stats
        return found

    def object(self, cid: str, owner: str = "") -> storage_pb2.StoredObject:
        """``owner``'s record of ``cid``; without ``owner``, the first record of the CID."""
        request = storage_pb2.QueryObjectRequest(cid=cid, owner=owner)
        response = self.client.query(QUERY + "Object", request, storage_pb2.QueryObjectResponse)
        found: storage_pb2.StoredObject = response.object
        return found

    def records(self, cid: str, page_size: int = 100) -> list[storage_pb2.StoredObject]:
        """Every record of ``cid`` (all owners, in owner-address order), page by page."""
        found: list[storage_pb2.StoredObject] = []
        request = storage_pb2.QueryObjectRecordsRequest(cid=cid)
        request.pagination.limit = page_size
        while True:
            response = self.client.query(
                QUERY + "ObjectRecords", request, storage_pb2.QueryObjectRecordsResponse
            )
            found.extend(response.records)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def challenge(self, challenge_id: int) -> storage_pb2.Challenge:
        """A challenge (an open one past its deadline shows EXPIRED)."""
        request = storage_pb2.QueryChallengeRequest(id=challenge_id)
        response = self.client.query(
            QUERY + "Challenge", request, storage_pb2.QueryChallengeResponse
        )
        found: storage_pb2.Challenge = response.challenge
        return found


def _answered(challenge: storage_pb2.Challenge, txhash: str, error: str = "") -> Answered:
    return Answered(challenge.id, challenge.cid, challenge.chunk_index, txhash, error)


def fetch_root_block(content: StorageClient, cid: str) -> bytes:
    """The root block of ``cid`` from a node's content store, checked against the CID.

    Chunk 0 with its proof holds it: for a one-chunk file the chunk is the root block, for a
    larger file the proof's first node is the root dag-pb node.
    """
    chunk, proof = content.chunk(cid, 0)
    try:
        codec, digest = unixfs.parse_cid(cid)
        nodes = unixfs.ChunkProof.decode(proof).nodes
    except unixfs.CidError as exc:
        raise StorageError(f"cannot take the root block of {cid}: {exc}") from None
    block = chunk if codec == unixfs.RAW else (nodes[0] if nodes else b"")
    if hashlib.sha256(block).digest() != digest:
        raise StorageError(f"the node's root block of {cid} does not match the CID")
    return block


def size_of_root_block(cid: str, block: bytes) -> int:
    """The object size a root block proves (as the chain computes it), without the hash check;
    StorageError when the block proves none."""
    try:
        codec, _ = unixfs.parse_cid(cid)
        return len(block) if codec == unixfs.RAW else unixfs.file_size(block)
    except unixfs.CidError as exc:
        raise StorageError(f"the root block of {cid} is not a UnixFS file root: {exc}") from None


def _pieces(source: str | Path | bytes) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with open(source, "rb") as handle:
        while piece := handle.read(PIECE):
            yield piece


def _name(source: str | Path | bytes) -> str:
    return f"{len(source)} bytes" if isinstance(source, bytes) else str(source)


# The helper class ``client.modules.storage`` builds, once per Client
# (aivm.client.client.ModuleClients).
CLIENT = StorageTxClient
