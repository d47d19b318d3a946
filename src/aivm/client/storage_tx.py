"""Python SDK for the ``storage`` module's transactions and queries (object records,
retention payments, availability challenges). Upload/download of the bytes themselves goes
through the node's blob service (:mod:`aivm.client.storage`)."""

from __future__ import annotations

from dataclasses import dataclass

from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.types import pb
from aivm.types.protogen import storage_pb2

QUERY = "/aivm.storage.v1.Query/"


@dataclass(frozen=True)
class Opened:
    """A challenge opened on chain."""

    challenge_id: int
    chunk_index: int
    txhash: str


class StorageTxClient:
    """``storage`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float = 30.0) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    def store(self, wallet: Wallet, cid: str, size: int, blocks: int) -> int:
        """Record ``cid`` (``size`` bytes) and pay its retention for ``blocks`` blocks.

        Returns the height up to which retention is paid.
        """
        msg = storage_pb2.MsgStoreObject(
            owner=wallet.address, cid=cid, size=size, retention_blocks=blocks
        )
        result = self._submit(wallet, msg)
        return int(result.attribute("aivm.storage.v1.EventStoreObject", "retained_until"))

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

    def object(self, cid: str) -> storage_pb2.StoredObject:
        """The on-chain record of ``cid``."""
        request = storage_pb2.QueryObjectRequest(cid=cid)
        response = self.client.query(QUERY + "Object", request, storage_pb2.QueryObjectResponse)
        found: storage_pb2.StoredObject = response.object
        return found

    def challenge(self, challenge_id: int) -> storage_pb2.Challenge:
        """A challenge (an open one past its deadline shows EXPIRED)."""
        request = storage_pb2.QueryChallengeRequest(id=challenge_id)
        response = self.client.query(
            QUERY + "Challenge", request, storage_pb2.QueryChallengeResponse
        )
        found: storage_pb2.Challenge = response.challenge
        return found
