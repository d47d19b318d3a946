"""StorageKeeper: object records, retention payments, challenges and params.

Every account keeps its own retention record of a CID, keyed by (CID, owner): it pays for and
extends only that record, and no other account's record of the same CID can block it. A
record's size is proven by the CID's root block when the record is created (see
:mod:`aivm.modules.storage.msgs`), so every record of a CID has the same size and chunks.

Retention costs ``price_per_kib_block × ceil(size / 1024) × blocks``, paid to the ``storage``
module account. An availability challenge picks a chunk of an object from the block hash
(:func:`aivm.crypto.unixfs.challenge_index`); the holder answers with the chunk and its
Merkle path, which the chain verifies against the object's CID.

Each CID with a record has **assigned holders** drawn from the data role's active set (the
draw and the challenge schedule are in :mod:`aivm.modules.storage.holders`); the keeper keeps
them with an index by holder, the open scheduled challenges by assignee, and each holder's
missed/passed counters. The roles keeper is optional: an app without the roles module assigns
no holders and so schedules no challenges.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.storage import keys
from aivm.modules.storage.errors import ErrChallengeNotFound, ErrObjectNotFound
from aivm.store import KVStore, PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.coin import Coin, Coins
from aivm.types.coin_proto import coins_from_proto
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.protogen import storage_pb2

DEFAULT_PARAMS = storage_pb2.Params(
    price_per_kib_block=[pb.coin.Coin(denom="ucgpt", amount="1")],
    max_object_size=1 << 34,
    challenge_window=50,
    min_retention=10,
    gas_per_kib_hashed=600,
    gas_per_byte_parsed=100,
    holders_per_object=3,
    challenge_interval_blocks=10,
    max_scheduled_challenges_per_block=10,
    holder_response_blocks=2,
    missed_challenge_slash_fraction="0.010000000000000000",
)
EVIDENCE_GAS_PARAMS = ("gas_per_kib_hashed", "gas_per_byte_parsed")
"""Params added with root-block evidence: a genesis written before them gets the defaults."""
SCHEDULE_PARAMS = (
    "holders_per_object",
    "challenge_interval_blocks",
    "max_scheduled_challenges_per_block",
    "holder_response_blocks",
    "missed_challenge_slash_fraction",
)
"""Params added with assigned holders: a genesis written before them gets the defaults."""
MAX_HOLDERS_PER_OBJECT = 20
MAX_CHALLENGE_INTERVAL = 1_000_000
MAX_SCHEDULED_PER_BLOCK = 1_000
MAX_RESPONSE_BLOCKS = 100


def params_from_json(data: dict[str, object]) -> storage_pb2.Params:
    """Parse the genesis JSON form of the params (absent evidence gas prices: the defaults)."""
    params = storage_pb2.Params()
    try:
        json_format.ParseDict(data, params)
    except json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid storage params: {exc}") from exc
    for name in (*EVIDENCE_GAS_PARAMS, *SCHEDULE_PARAMS):
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
    ranges = (
        ("holders_per_object", params.holders_per_object, 1, MAX_HOLDERS_PER_OBJECT),
        ("challenge_interval_blocks", params.challenge_interval_blocks, 1, MAX_CHALLENGE_INTERVAL),
        (
            "max_scheduled_challenges_per_block",
            params.max_scheduled_challenges_per_block,
            0,
            MAX_SCHEDULED_PER_BLOCK,
        ),
        ("holder_response_blocks", params.holder_response_blocks, 1, MAX_RESPONSE_BLOCKS),
    )
    for name, value, low, high in ranges:
        if not low <= value <= high:
            raise ErrInvalidRequest.wrap(f"storage param {name} = {value} not in [{low}, {high}]")
    slash_fraction(params)


def slash_fraction(params: storage_pb2.Params) -> Dec:
    """``missed_challenge_slash_fraction`` as a Dec in [0, 1]; ErrInvalidRequest otherwise."""
    try:
        fraction = Dec.from_str(params.missed_challenge_slash_fraction)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"missed_challenge_slash_fraction: {exc}") from None
    if fraction.is_negative() or fraction > Dec.one():
        raise ErrInvalidRequest.wrap(f"missed_challenge_slash_fraction {fraction} not in [0, 1]")
    return fraction


class StorageKeeper:
    """Reads and writes the storage module's state."""

    def __init__(self, bank: BankKeeper, roles: RolesKeeper | None = None) -> None:
        """``roles`` is the roles keeper when the app has that module (holders come from
        its data role); without it no holder is assigned and nothing is scheduled."""
        self.bank = bank
        self.roles = roles

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
        """Write a new challenge (an open one joins the deadline index, and the assignee
        index when it names an assignee)."""
        store = self._store(ctx)
        store.set(keys.challenge_key(challenge.id), challenge.SerializeToString())
        if challenge.status == storage_pb2.CHALLENGE_STATUS_OPEN:
            self._deadlines(ctx).set(
                keys.open_challenge_key(challenge.deadline_height, challenge.id), b"\x01"
            )
            if challenge.assignee:
                key = keys.assigned_key(addr_bytes(challenge.assignee), challenge.id)
                store.set(key, b"\x01")

    def close_challenge(
        self, ctx: Context, challenge: storage_pb2.Challenge, status: storage_pb2.ChallengeStatus
    ) -> None:
        """Move an open challenge to ``status`` and out of the deadline index."""
        self._deadlines(ctx).delete(
            keys.open_challenge_key(challenge.deadline_height, challenge.id)
        )
        if challenge.assignee:
            self._store(ctx).delete(keys.assigned_key(addr_bytes(challenge.assignee), challenge.id))
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

    def assigned_store(self, ctx: Context, assignee: bytes | None) -> KVStore:
        """The open scheduled challenges (of ``assignee``) as a store: keys end in the id."""
        prefix = keys.OPEN_BY_ASSIGNEE if assignee is None else keys.assignee_prefix(assignee)
        return PrefixStore(self._store(ctx), prefix)

    def assigned_page(
        self, ctx: Context, assignee: str, request: pb.pagination.PageRequest | None
    ) -> tuple[list[storage_pb2.Challenge], pb.pagination.PageResponse]:
        """One page of the open scheduled challenges naming ``assignee``, by id."""
        store = self.assigned_store(ctx, addr_bytes(assignee))
        return paginate_store(
            store, request, lambda key, _: self.get_challenge(ctx, int.from_bytes(key, "big"))
        )

    def iterate_assigned(self, ctx: Context) -> Iterator[tuple[bytes, int]]:
        """(assignee address, challenge id) of every indexed open scheduled challenge."""
        for key, _ in self.assigned_store(ctx, None).iterate():
            yield key[1 : 1 + key[0]], int.from_bytes(key[-8:], "big")

    # -- holders --------------------------------------------------------------------------

    def get_holders(self, ctx: Context, cid: str) -> storage_pb2.ObjectHolders | None:
        """The holders entry of ``cid`` (None when the CID has none)."""
        raw = self._store(ctx).get(keys.holders_key(cid))
        return None if raw is None else decode_holders(raw)

    def set_holders(self, ctx: Context, entry: storage_pb2.ObjectHolders) -> None:
        """Write ``cid``'s holders entry and move the by-holder index to match it."""
        store = self._store(ctx)
        before = self.get_holders(ctx, entry.cid)
        old = set() if before is None else {addr_bytes(h) for h in before.holders}
        new = {addr_bytes(h) for h in entry.holders}
        for holder in sorted(old - new):
            store.delete(keys.by_holder_key(holder, entry.cid))
        for holder in sorted(new - old):
            store.set(keys.by_holder_key(holder, entry.cid), b"\x01")
        store.set(keys.holders_key(entry.cid), entry.SerializeToString())

    def holders_store(self, ctx: Context) -> KVStore:
        """Every holders entry, keyed by the length-prefixed CID (the scheduler's walk)."""
        return PrefixStore(self._store(ctx), keys.HOLDERS)

    def iterate_holders(self, ctx: Context) -> Iterator[storage_pb2.ObjectHolders]:
        """Every holders entry, in CID key order."""
        for _, raw in self.holders_store(ctx).iterate():
            yield decode_holders(raw)

    def holder_objects_page(
        self, ctx: Context, holder: str, request: pb.pagination.PageRequest | None
    ) -> tuple[list[str], pb.pagination.PageResponse]:
        """One page of the CIDs ``holder`` is assigned, in CID key order."""
        store = PrefixStore(self._store(ctx), keys.holder_prefix(addr_bytes(holder)))
        return paginate_store(store, request, lambda key, _: keys.cid_of_part(key))

    def iterate_by_holder(self, ctx: Context) -> Iterator[tuple[bytes, str]]:
        """(holder address, CID) of every by-holder index entry."""
        for key, _ in PrefixStore(self._store(ctx), keys.BY_HOLDER).iterate():
            cut = 1 + key[0]
            yield key[1:cut], keys.cid_of_part(key[cut:])

    def get_cursor(self, ctx: Context) -> bytes:
        """The ``HOLDERS`` key suffix of the last CID the scheduler visited (b"": none)."""
        return self._store(ctx).get(keys.SCHEDULE_CURSOR) or b""

    def set_cursor(self, ctx: Context, cursor: bytes) -> None:
        """Move the scheduler's cursor."""
        if cursor:
            self._store(ctx).set(keys.SCHEDULE_CURSOR, cursor)
        else:
            self._store(ctx).delete(keys.SCHEDULE_CURSOR)

    # -- holder stats ---------------------------------------------------------------------

    def get_holder_stats(self, ctx: Context, holder: str) -> storage_pb2.HolderStats:
        """``holder``'s missed and passed scheduled challenges (zeros when none)."""
        raw = self._store(ctx).get(keys.holder_stats_key(addr_bytes(holder)))
        if raw is None:
            return storage_pb2.HolderStats(holder=holder)
        found: storage_pb2.HolderStats = storage_pb2.HolderStats.FromString(raw)
        return found

    def set_holder_stats(self, ctx: Context, stats: storage_pb2.HolderStats) -> None:
        """Write a holder's counters."""
        key = keys.holder_stats_key(addr_bytes(stats.holder))
        self._store(ctx).set(key, stats.SerializeToString())

    def count_holder_outcome(self, ctx: Context, holder: str, passed: bool) -> None:
        """Add one passed (or missed) scheduled challenge to ``holder``'s counters."""
        stats = self.get_holder_stats(ctx, holder)
        if passed:
            stats.passed += 1
        else:
            stats.missed += 1
        self.set_holder_stats(ctx, stats)

    def iterate_holder_stats(self, ctx: Context) -> Iterator[storage_pb2.HolderStats]:
        """Every holder's counters, by holder address."""
        for _, raw in PrefixStore(self._store(ctx), keys.HOLDER_STATS).iterate():
            yield storage_pb2.HolderStats.FromString(raw)


def decode_holders(raw: bytes) -> storage_pb2.ObjectHolders:
    """An ObjectHolders entry."""
    entry: storage_pb2.ObjectHolders = storage_pb2.ObjectHolders.FromString(raw)
    return entry


def decode_record(raw: bytes) -> storage_pb2.StoredObject:
    """A StoredObject record."""
    record: storage_pb2.StoredObject = storage_pb2.StoredObject.FromString(raw)
    return record
