"""Assigned holders and the scheduled availability challenges (issue 15, "data validators").

**Holders.** Every CID with a record has an ``ObjectHolders`` entry naming up to
``holders_per_object`` operators of the roles module's **data** role, drawn from its ACTIVE set,
stake-weighted by selection score (bond × capability × performance) and without replacement.
The draw is created with the CID's first record (``MsgStoreObject``) and repaired lazily: when
the scheduler visits a CID, or a record of it is stored again, holders that left the active set
are replaced and a short list is topped up (to ``min(holders_per_object, active set size)``);
holders still active are kept, so a holder keeps its objects as long as it stays in the set.
A CID whose every record's retention has ended loses its holders when the scheduler visits it
(a later retention payment draws new ones).

**Randomness.** Draws use ``sha256(tag ‖ seed ‖ height ‖ CID ‖ i)`` with ``seed`` the block hash
(``BlockHeader.seed``, agreed by consensus). Outside FinalizeBlock (CheckTx, Simulate) the seed
is empty and the draw falls back to height and CID alone: deterministic, and only ever used on
state that is thrown away (CheckTx and Simulate branches are never committed). As for the
challenged chunk, the proposer of a block could grind its hash to steer a draw; the weight of a
draw is bounded by the scheduled challenge it leads to.

**Schedule.** In EndBlock of every height divisible by ``challenge_interval_blocks`` the
scheduler visits at most ``max_scheduled_challenges_per_block`` CIDs, walking the holders
entries from a cursor that persists between blocks (and wraps), so the work per block is
bounded whatever the number of objects. Each visited CID that has holders gets one challenge
naming ONE holder (``assignee``, picked from the seed), on the chunk picked from the seed as for
``MsgOpenChallenge``, due at ``height + holder_response_blocks``.

**Deadline.** Opened at EndBlock of height ``h``, a scheduled challenge can be answered in
blocks ``h+1 … h+R`` (R = ``holder_response_blocks``, default 2). The chain enforces a block
deadline, not a network latency: what it buys is that a holder which does not keep the chunk
must learn the challenge (from block ``h``), fetch 256 KiB plus its Merkle path from someone who
has it, and get its signed answer into a block within R block times (a few seconds on a devnet).
That rules out a holder that relies on slow or cold storage elsewhere; it cannot rule out a
holder that colludes with a fast peer holding the data. With more holders per object such a
holder saves less: every assigned holder is challenged in turn.

**Outcomes.** Only the assignee's key may answer a scheduled challenge (``storage/15`` else,
and the challenge stays open). A pass records one unit of work for the assignee in the data
role and a good performance outcome; a miss (still open at EndBlock of its deadline) counts a
miss, slashes ``missed_challenge_slash_fraction`` of the assignee's data-role bond (reason 5,
``data_unavailable``; evidence ``sha256("aivm/storage/miss" ‖ id ‖ CID)``), records a bad
performance outcome and emits ``storage_challenge_missed``. Every call into the roles module
runs on a branch: one that fails (the holder has left the role meanwhile, say) changes nothing
and never fails the block or the answer.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import TypeVar

from aivm.crypto import unixfs
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.framework import Context, guarded
from aivm.modules.roles import roles_pb2
from aivm.modules.storage import keys
from aivm.modules.storage.keeper import StorageKeeper, slash_fraction
from aivm.types.protogen import storage_pb2

DATA_ROLE = roles_pb2.ROLE_DATA
REASON_DATA_UNAVAILABLE = 5
"""Roles reason code ``data_unavailable`` (built into every roles keeper)."""
MISSED_EVENT = "storage_challenge_missed"
PASSED_EVENT = "storage_challenge_passed"
REASSIGNED_EVENT = "storage_holders_assigned"
_DRAW_TAG = b"aivm/storage/holders"
_ASSIGNEE_TAG = b"aivm/storage/assignee"
_MISS_TAG = b"aivm/storage/miss"

T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """An active data-role operator and its draw weight (selection score)."""

    address: str
    weight: int


@dataclass(frozen=True)
class Candidates:
    """The data role's active set, read once per block step (by address)."""

    members: tuple[Candidate, ...]

    @property
    def addresses(self) -> frozenset[str]:
        """The active operators' addresses."""
        return frozenset(member.address for member in self.members)


def active_candidates(keeper: StorageKeeper, ctx: Context) -> Candidates:
    """The data role's active set (empty without the roles module)."""
    if keeper.roles is None:
        return Candidates(())
    members = keeper.roles.active_set(ctx, DATA_ROLE)
    return Candidates(tuple(Candidate(m.operator, _weight(m.selection_score)) for m in members))


def _weight(score: str) -> int:
    return int(score) if score.isascii() and score.isdigit() else 0


def draw_seed(ctx: Context, cid: str) -> bytes:
    """The seed of every draw about ``cid`` in this block: block hash, height and CID (the
    fallback outside FinalizeBlock, where the block hash is empty, is height and CID alone)."""
    return hashlib.sha256(
        ctx.header.seed + ctx.header.height.to_bytes(8, "big", signed=True) + cid.encode()
    ).digest()


def _uniform(seed: bytes, tag: bytes, index: int, bound: int) -> int:
    digest = hashlib.sha256(tag + seed + index.to_bytes(4, "big")).digest()
    return int.from_bytes(digest, "big") % bound


def weighted_draw(pool: list[Candidate], count: int, seed: bytes) -> list[str]:
    """Draw ``count`` distinct addresses from ``pool``, each draw with probability
    proportional to weight (uniformly when every weight left is 0); integer-only."""
    left = list(pool)
    chosen: list[str] = []
    for index in range(min(count, len(left))):
        total = sum(c.weight for c in left)
        if total == 0:
            pick = _uniform(seed, _DRAW_TAG, index, len(left))
        else:
            point = _uniform(seed, _DRAW_TAG, index, total)
            pick = next(i for i, c in enumerate(_cumulative(left)) if point < c)
        chosen.append(left.pop(pick).address)
    return chosen


def _cumulative(pool: list[Candidate]) -> list[int]:
    return list(itertools.accumulate(c.weight for c in pool))


def refresh_holders(
    keeper: StorageKeeper,
    ctx: Context,
    entry: storage_pb2.ObjectHolders,
    candidates: Candidates,
) -> storage_pb2.ObjectHolders:
    """Keep ``entry``'s holders that are still active, top the list up from the rest of the
    active set (stake-weighted) and write it when it changed; return the entry."""
    target = min(keeper.get_params(ctx).holders_per_object, len(candidates.members))
    active = candidates.addresses
    kept = [h for h in entry.holders if h in active]
    if len(kept) == len(entry.holders) == target:
        return entry
    pool = [c for c in candidates.members if c.address not in kept]
    drawn = weighted_draw(pool, target - len(kept), draw_seed(ctx, entry.cid))
    holders = kept[:target] + drawn
    updated = storage_pb2.ObjectHolders(
        cid=entry.cid,
        holders=holders,
        assigned_height=ctx.header.height,
        retained_until=entry.retained_until,
    )
    keeper.set_holders(ctx, updated)
    ctx.emit(
        REASSIGNED_EVENT,
        ("cid", entry.cid),
        ("holders", ",".join(holders)),
        ("dropped", ",".join(h for h in entry.holders if h not in holders)),
    )
    return updated


def on_store(keeper: StorageKeeper, ctx: Context, cid: str, retained_until: int) -> None:
    """A record of ``cid`` was created or extended: note its retention and draw or repair the
    holders (MsgStoreObject; gas-metered reads of the active set)."""
    existing = keeper.get_holders(ctx, cid)
    entry = existing or storage_pb2.ObjectHolders(cid=cid, assigned_height=ctx.header.height)
    if existing is None or retained_until > entry.retained_until:
        entry.retained_until = max(entry.retained_until, retained_until)
        keeper.set_holders(ctx, entry)
    refresh_holders(keeper, ctx, entry, active_candidates(keeper, ctx))


# -- the schedule -------------------------------------------------------------------------


def schedule(keeper: StorageKeeper, ctx: Context) -> list[storage_pb2.Challenge]:
    """Open this block's scheduled challenges (EndBlock); see the module docstring."""
    params = keeper.get_params(ctx)
    if params.max_scheduled_challenges_per_block == 0 or ctx.header.height <= 0:
        return []
    if ctx.header.height % params.challenge_interval_blocks != 0:
        return []
    visits = _next_cids(keeper, ctx, params.max_scheduled_challenges_per_block)
    if not visits:
        return []
    candidates = active_candidates(keeper, ctx)
    opened = []
    for key, entry in visits:
        challenge = _visit(keeper, ctx, params, entry, candidates)
        if challenge is not None:
            opened.append(challenge)
        keeper.set_cursor(ctx, key)
    return opened


def _next_cids(
    keeper: StorageKeeper, ctx: Context, limit: int
) -> list[tuple[bytes, storage_pb2.ObjectHolders]]:
    """Up to ``limit`` holders entries after the cursor, wrapping around once."""
    store = keeper.holders_store(ctx)
    cursor = keeper.get_cursor(ctx)
    after = cursor + b"\x00" if cursor else None
    first = store.iterate(after, None)
    wrapped = store.iterate(None, after) if after is not None else iter(())
    found = list(itertools.islice(itertools.chain(first, wrapped), limit))
    return [(key, storage_pb2.ObjectHolders.FromString(raw)) for key, raw in found]


def _visit(
    keeper: StorageKeeper,
    ctx: Context,
    params: storage_pb2.Params,
    entry: storage_pb2.ObjectHolders,
    candidates: Candidates,
) -> storage_pb2.Challenge | None:
    """Repair ``entry``'s holders and challenge one of them (None when nobody holds it)."""
    if entry.retained_until < ctx.header.height:
        if entry.holders:
            released = storage_pb2.ObjectHolders(
                cid=entry.cid,
                assigned_height=ctx.header.height,
                retained_until=entry.retained_until,
            )
            keeper.set_holders(ctx, released)
        return None
    entry = refresh_holders(keeper, ctx, entry, candidates)
    if not entry.holders:
        return None
    record = keeper.first_record(ctx, entry.cid)
    seed = draw_seed(ctx, entry.cid)
    assignee = entry.holders[_uniform(seed, _ASSIGNEE_TAG, 0, len(entry.holders))]
    index = unixfs.challenge_index(ctx.header.seed or seed, entry.cid, record.chunks)
    challenge = storage_pb2.Challenge(
        id=keeper.next_challenge_id(ctx),
        cid=entry.cid,
        chunk_index=index,
        challenger=addr_str(keeper.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]),
        opened_height=ctx.header.height,
        deadline_height=ctx.header.height + params.holder_response_blocks,
        status=storage_pb2.CHALLENGE_STATUS_OPEN,
        assignee=assignee,
    )
    keeper.set_challenge(ctx, challenge)
    ctx.emit(
        "aivm.storage.v1.EventChallengeOpened",
        ("challenge_id", str(challenge.id)),
        ("cid", entry.cid),
        ("chunk_index", str(index)),
        ("deadline_height", str(challenge.deadline_height)),
        ("assignee", assignee),
    )
    return challenge


# -- outcomes -----------------------------------------------------------------------------


def record_pass(keeper: StorageKeeper, ctx: Context, challenge: storage_pb2.Challenge) -> None:
    """The assignee answered: count it, record one unit of data-role work and a good
    performance outcome (each skipped when the roles module refuses it)."""
    keeper.count_holder_outcome(ctx, challenge.assignee, passed=True)
    roles = keeper.roles
    if roles is not None:
        holder = addr_bytes(challenge.assignee)
        guarded(ctx, lambda c: roles.record_work(c, holder, DATA_ROLE, 1))
        guarded(ctx, lambda c: roles.record_performance(c, holder, DATA_ROLE, True))
    ctx.emit(
        PASSED_EVENT,
        ("challenge_id", str(challenge.id)),
        ("cid", challenge.cid),
        ("assignee", challenge.assignee),
    )


def miss_evidence(challenge: storage_pb2.Challenge) -> bytes:
    """The evidence hash of a missed challenge: ``sha256(tag ‖ id ‖ CID)``."""
    return hashlib.sha256(
        _MISS_TAG + challenge.id.to_bytes(8, "big") + challenge.cid.encode()
    ).digest()


def record_miss(keeper: StorageKeeper, ctx: Context, challenge: storage_pb2.Challenge) -> int:
    """A scheduled challenge expired unanswered: count the miss, slash the assignee's data
    bond by the param fraction (reason 5), record a bad outcome, emit the event; return the
    amount burned (0 when nothing could be slashed). Never raises for the roles' reasons."""
    keeper.count_holder_outcome(ctx, challenge.assignee, passed=False)
    burned = 0
    roles = keeper.roles
    if roles is not None:
        holder = addr_bytes(challenge.assignee)
        fraction = slash_fraction(keeper.get_params(ctx))
        evidence = miss_evidence(challenge)
        if fraction.is_positive():
            burned = (
                guarded(
                    ctx,
                    lambda c: roles.slash_role(
                        c, holder, DATA_ROLE, fraction, REASON_DATA_UNAVAILABLE, evidence
                    ),
                )
                or 0
            )
        guarded(ctx, lambda c: roles.record_performance(c, holder, DATA_ROLE, False))
    ctx.emit(
        MISSED_EVENT,
        ("challenge_id", str(challenge.id)),
        ("cid", challenge.cid),
        ("assignee", challenge.assignee),
        ("chunk_index", str(challenge.chunk_index)),
        ("deadline_height", str(challenge.deadline_height)),
        ("burned", str(burned)),
    )
    return burned
