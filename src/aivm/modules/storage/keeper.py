"""StorageKeeper: object records, retention payments, challenges and params.

Every account keeps its own retention record of a CID, keyed by (CID, owner): it pays for and
extends only that record, and no other account's record of the same CID can block it. A
record's size is proven by the CID's root block when the record is created (see
:mod:`aivm.modules.storage.msgs`), so every record of a CID has the same size and chunks.

Retention costs ``price_per_kib_block × ceil(size / 1024) × blocks``, paid to the ``storage``
module account. An availability challenge picks a chunk of an object from the block hash
(:func:`aivm.crypto.unixfs.challenge_index`); the holder answers with the chunk and its
Merkle path, which the chain verifies against the object's CID. Who is challenged and what a
missed deadline costs come with the validator roles; here a missed deadline only shows as
``EXPIRED``.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.modules.storage import keys
from aivm.modules.storage.errors import ErrChallengeNotFound, ErrObjectNotFound
from aivm.store import KVStore, PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.coin import Coin, Coins
from aivm.types.coin_proto import coins_from_proto
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import storage_pb2

DEFAULT_PARAMS = storage_pb2.Params(
    price_per_kib_block=[pb.coin.Coin(denom="ucgpt", amount="1")],
    max_object_size=1 << 34,
    challenge_window=50,
    min_retention=10,
    gas_per_kib_hashed=600,
    gas_per_byte_parsed=100,
)
EVIDENCE_GAS_PARAMS = ("gas_per_kib_hashed", "gas_per_byte_parsed")
"""Params added with root-block evidence: a genesis written before them gets the defaults."""


def params_from_json(data: dict[str, object]) -> storage_pb2.Params:
    """Parse the genesis JSON form of the params (absent evidence gas prices: the defaults)."""
    params = storage_pb2.Params()
    try:
        json_format.ParseDict(data, params)
    except json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid storage params: {exc}") from exc
    for name in EVIDENCE_GAS_PARAMS:
        if name not in data:
            setattr(params, name, getattr(DEFAULT_PARAMS, name))
    check_params(params)
    return params


def check_params(params: storage_pb2.Params) -> None:
    """Raise ErrInvalidRequest unless the price is valid coins and every limit is positive."""
    coins_from_proto(params.price_per_kib_block)
    positive = (
        params.challenge_window,
        params.min_retention,
        params.max_object_size,
        params.gas_per_kib_hashed,
        params.gas_per_byte_parsed,
    )
    if min(positive) <= 0:
        raise ErrInvalidRequest.wrap("storage params must be positive")


class StorageKeeper:
    """Reads and writes the storage module's state."""

    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_params(self, ctx: Context) -> storage_pb2.Params:
        """Current params."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return storage_pb2.Params()
        params: storage_pb2.Params = storage_pb2.Params.FromString(raw)
        return params

    def set_params(self, ctx: Context, params: storage_pb2.Params) -> None:
        """Replace the params."""
        self._store(ctx).set(keys.PARAMS, params.SerializeToString())

    def retention_price(self, ctx: Context, size: int, blocks: int) -> Coins:
        """What keeping ``size`` bytes for ``blocks`` blocks costs."""
        kib = max(1, -(-size // 1024))
        per = coins_from_proto(self.get_params(ctx).price_per_kib_block)
        return Coins.from_iter(Coin(c.denom, c.amount * kib * blocks) for c in per)

    # -- objects --------------------------------------------------------------------------

    def find_object(self, ctx: Context, cid: str, owner: str) -> storage_pb2.StoredObject | None:
        """``owner``'s record of ``cid``, if any."""
        raw = self._store(ctx).get(keys.object_key(cid, addr_bytes(owner)))
        return None if raw is None else storage_pb2.StoredObject.FromString(raw)

    def get_object(self, ctx: Context, cid: str, owner: str) -> storage_pb2.StoredObject:
        """``owner``'s record of ``cid``; ErrObjectNotFound otherwise."""
        found = self.find_object(ctx, cid, owner)
        if found is None:
            raise ErrObjectNotFound.wrap(f"{cid} has no record of {owner}")
        return found

    def first_record(self, ctx: Context, cid: str) -> storage_pb2.StoredObject:
        """The first record of ``cid`` by owner address; ErrObjectNotFound when it has none.

        Its cid, size and chunks are those of every record of the CID.
        """
        records = PrefixStore(self._store(ctx), keys.object_records_prefix(cid))
        for _, raw in records.iterate():
            found: storage_pb2.StoredObject = storage_pb2.StoredObject.FromString(raw)
            return found
        raise ErrObjectNotFound.wrap(f"{cid} has no record")

    def set_object(self, ctx: Context, record: storage_pb2.StoredObject) -> None:
        """Write a record under its (cid, owner) key."""
        key = keys.object_key(record.cid, addr_bytes(record.owner))
        self._store(ctx).set(key, record.SerializeToString())

    def iterate_objects(self, ctx: Context) -> Iterator[storage_pb2.StoredObject]:
        """Every record, in (CID, owner address) order."""
        for _, raw in PrefixStore(self._store(ctx), keys.OBJECT).iterate():
            yield storage_pb2.StoredObject.FromString(raw)

    def records_page(
        self, ctx: Context, cid: str, request: pb.pagination.PageRequest | None
    ) -> tuple[list[storage_pb2.StoredObject], pb.pagination.PageResponse]:
        """One page of the records of ``cid``, read from the store (nothing beyond the page
        is decoded; ``count_total`` counts the keys)."""
        records = PrefixStore(self._store(ctx), keys.object_records_prefix(cid))
        return paginate_store(records, request, lambda _, raw: decode_record(raw))

    def add_reference(self, ctx: Context, cid: str, owner: str, reference: str) -> bool:
        """Record that ``reference`` uses ``owner``'s record of ``cid``; False without one."""
        record = self.find_object(ctx, cid, owner)
        if record is None:
            return False
        if reference not in record.references:
            record.references.append(reference)
            self.set_object(ctx, record)
        return True

    # -- challenges -----------------------------------------------------------------------

    def next_challenge_id(self, ctx: Context) -> int:
        """Allocate a challenge id."""
        store = self._store(ctx)
        raw = store.get(keys.NEXT_CHALLENGE_ID)
        value = 1 if raw is None else int.from_bytes(raw, "big")
        self.set_next_challenge_id(ctx, value + 1)
        return value

    def set_next_challenge_id(self, ctx: Context, value: int) -> None:
        """Set the id the next challenge gets (genesis import)."""
        self._store(ctx).set(keys.NEXT_CHALLENGE_ID, value.to_bytes(8, "big"))

    def set_challenge(self, ctx: Context, challenge: storage_pb2.Challenge) -> None:
        """Write a new challenge (an open one joins the deadline index)."""
        self._store(ctx).set(keys.challenge_key(challenge.id), challenge.SerializeToString())
        if challenge.status == storage_pb2.CHALLENGE_STATUS_OPEN:
            self._deadlines(ctx).set(
                keys.open_challenge_key(challenge.deadline_height, challenge.id), b"\x01"
            )

    def close_challenge(
        self, ctx: Context, challenge: storage_pb2.Challenge, status: storage_pb2.ChallengeStatus
    ) -> None:
        """Move an open challenge to ``status`` and out of the deadline index."""
        self._deadlines(ctx).delete(
            keys.open_challenge_key(challenge.deadline_height, challenge.id)
        )
        challenge.status = status
        self._store(ctx).set(keys.challenge_key(challenge.id), challenge.SerializeToString())

    @staticmethod
    def _deadlines(ctx: Context) -> KVStore:
        return PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), keys.OPEN_BY_DEADLINE)

    def get_challenge(self, ctx: Context, challenge_id: int) -> storage_pb2.Challenge:
        """A challenge as stored (EndBlock marks open ones EXPIRED after their deadline)."""
        raw = self._store(ctx).get(keys.challenge_key(challenge_id))
        if raw is None:
            raise ErrChallengeNotFound.wrap(f"challenge {challenge_id}")
        found: storage_pb2.Challenge = storage_pb2.Challenge.FromString(raw)
        return found

    def expire_challenges(self, ctx: Context) -> list[storage_pb2.Challenge]:
        """Mark EXPIRED every open challenge whose deadline is the current height or earlier
        (no answer can come in a later block); return them in (deadline, id) order."""
        deadlines = self._deadlines(ctx)
        end = (ctx.header.height + 1).to_bytes(8, "big")
        due = [key for key, _ in deadlines.iterate(None, end)]
        expired = []
        for key in due:
            challenge = self.get_challenge(ctx, int.from_bytes(key[8:], "big"))
            self.close_challenge(ctx, challenge, storage_pb2.CHALLENGE_STATUS_EXPIRED)
            expired.append(challenge)
        return expired

    def iterate_open_deadlines(self, ctx: Context) -> Iterator[tuple[int, int]]:
        """(deadline height, challenge id) of every indexed open challenge, in that order."""
        for key, _ in self._deadlines(ctx).iterate():
            yield int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big")

    def iterate_challenges(self, ctx: Context) -> Iterator[storage_pb2.Challenge]:
        """Every challenge in id order (as stored)."""
        for _, raw in PrefixStore(self._store(ctx), keys.CHALLENGE).iterate():
            yield storage_pb2.Challenge.FromString(raw)


def decode_record(raw: bytes) -> storage_pb2.StoredObject:
    """A StoredObject record."""
    record: storage_pb2.StoredObject = storage_pb2.StoredObject.FromString(raw)
    return record
