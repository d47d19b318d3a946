"""storage invariants, checked by the simulation after every block (:mod:`aivm.modules.simulation`):
the module account holds exactly the retention its records say was paid, records agree with
each other and with their keys, challenges agree with their counter and the records, every CID
with records has a holders entry whose holders are registered data-role operators (when the app
has roles) and match the by-holder index, and the open scheduled challenges are exactly the
assignee index."""

from __future__ import annotations

from aivm.crypto import unixfs
from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context
from aivm.modules.roles import roles_pb2
from aivm.modules.simulation import Invariant
from aivm.modules.storage import keys
from aivm.modules.storage.keeper import StorageKeeper
from aivm.modules.storage.module import StorageModule
from aivm.store import PrefixStore
from aivm.types.coin import Coins
from aivm.types.coin_proto import coins_from_proto
from aivm.types.protogen import storage_pb2


def invariants(module: StorageModule) -> dict[str, Invariant]:
    """retention_paid, records, challenges, holders and assigned, by name."""
    keeper = module.keeper
    return {
        "retention_paid": lambda ctx: check_retention_paid(ctx, keeper),
        "records": lambda ctx: check_records(ctx, keeper),
        "challenges": lambda ctx: check_challenges(ctx, keeper),
        "holders": lambda ctx: check_holders(ctx, keeper),
        "assigned": lambda ctx: check_assigned(ctx, keeper),
    }


def check_retention_paid(ctx: Context, keeper: StorageKeeper) -> list[str]:
    """The storage module account holds the sum of ``paid`` over every record, no more."""
    paid = Coins.from_iter([])
    for record in keeper.iterate_objects(ctx):
        paid = paid + coins_from_proto(record.paid)
    address = keeper.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]
    held = keeper.bank.get_all_balances(ctx, address)
    if held != paid:
        return [f"storage module account holds {held or '0'}, records say {paid or '0'} paid"]
    return []


def check_records(ctx: Context, keeper: StorageKeeper) -> list[str]:
    """Records sit under their own key; all records of a CID agree on size and chunks."""
    problems: list[str] = []
    shape: dict[str, tuple[int, int]] = {}
    store = PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), keys.OBJECT)
    for key, raw in store.iterate():
        record = storage_pb2.StoredObject.FromString(raw)
        if keys.OBJECT + key != record_key(record):
            problems.append(f"record of {record.cid} by {record.owner} under key {key.hex()}")
        if record.chunks != unixfs.chunk_count(record.size):
            problems.append(f"{record.cid}: {record.chunks} chunks for {record.size} bytes")
        first = shape.setdefault(record.cid, (record.size, record.chunks))
        if first != (record.size, record.chunks):
            problems.append(f"{record.cid}: records disagree on size ({first} vs {record.size})")
        if record.retained_until < record.created_height:
            problems.append(
                f"{record.cid}: retained until {record.retained_until}, "
                f"created at {record.created_height}"
            )
    return problems


def record_key(record: storage_pb2.StoredObject) -> bytes:
    """The key a record must be stored under (relative to the module prefix)."""
    return keys.object_key(record.cid, addr_bytes(record.owner))


def check_challenges(ctx: Context, keeper: StorageKeeper) -> list[str]:
    """Challenge ids are below the counter and each challenges a CID that has a record."""
    problems: list[str] = []
    raw_next = PrefixStore(ctx.store, keys.STORE_PREFIX).get(keys.NEXT_CHALLENGE_ID)
    next_id = 1 if raw_next is None else int.from_bytes(raw_next, "big")
    cids = {record.cid for record in keeper.iterate_objects(ctx)}
    open_ids: dict[int, int] = {}
    for challenge in keeper.iterate_challenges(ctx):
        if not 0 < challenge.id < next_id:
            problems.append(f"challenge {challenge.id} with the counter at {next_id}")
        if challenge.cid not in cids:
            problems.append(f"challenge {challenge.id} on {challenge.cid}, which has no record")
        if challenge.deadline_height <= challenge.opened_height:
            problems.append(f"challenge {challenge.id} closes before it opens")
        if challenge.status == storage_pb2.CHALLENGE_STATUS_PASSED and not challenge.responder:
            problems.append(f"challenge {challenge.id} passed without a responder")
        is_open = challenge.status == storage_pb2.CHALLENGE_STATUS_OPEN
        if is_open:
            open_ids[challenge.id] = challenge.deadline_height
        if is_open and challenge.deadline_height < ctx.header.height:
            problems.append(
                f"challenge {challenge.id} is still open past its deadline "
                f"{challenge.deadline_height} (EndBlock did not expire it)"
            )
    indexed = {cid: deadline for deadline, cid in keeper.iterate_open_deadlines(ctx)}
    if indexed != open_ids:
        problems.append(
            f"the deadline index {sorted(indexed.items())} is not the open challenges "
            f"{sorted(open_ids.items())}"
        )
    return problems


def check_holders(ctx: Context, keeper: StorageKeeper) -> list[str]:
    """One holders entry per CID with records (none for others); distinct holders, each a
    registered data-role operator when the app has roles; the by-holder index is exactly the
    entries' (holder, CID) pairs."""
    problems: list[str] = []
    cids = {record.cid for record in keeper.iterate_objects(ctx)}
    entries = {entry.cid: entry for entry in keeper.iterate_holders(ctx)}
    if set(entries) != cids:
        problems.append(
            f"holders entries {sorted(set(entries) ^ cids)} do not match the CIDs with records"
        )
    pairs: set[tuple[bytes, str]] = set()
    for entry in entries.values():
        addresses = [addr_bytes(holder) for holder in entry.holders]
        if len(set(addresses)) != len(addresses):
            problems.append(f"{entry.cid}: a holder is assigned twice")
        pairs.update((address, entry.cid) for address in addresses)
        roles = keeper.roles
        for holder in entry.holders:
            if (
                roles is not None
                and roles.get_operator(ctx, addr_bytes(holder), roles_pb2.ROLE_DATA) is None
            ):
                problems.append(f"{entry.cid}: holder {holder} is not a data-role operator")
    indexed = set(keeper.iterate_by_holder(ctx))
    if indexed != pairs:
        problems.append(f"the by-holder index differs from the holders in {len(indexed ^ pairs)}")
    return problems


def check_assigned(ctx: Context, keeper: StorageKeeper) -> list[str]:
    """The assignee index holds exactly the open challenges that name an assignee."""
    wanted = {
        (addr_bytes(c.assignee), c.id)
        for c in keeper.iterate_challenges(ctx)
        if c.assignee and c.status == storage_pb2.CHALLENGE_STATUS_OPEN
    }
    indexed = set(keeper.iterate_assigned(ctx))
    if indexed != wanted:
        return [f"the assignee index {sorted(indexed)} is not the open scheduled {sorted(wanted)}"]
    return []
