"""Hardware checks (issue 15, "compute validators"): timed challenges that attest a provider's
hardware claim, judged by a committee of the roles module's **compute** role.

Semantics are in the compute README ("Hardware checks"). Everything of the feature lives here:
store keys (``0x30``–``0x36`` under ``compute/``), error codes (80–86 of the ``compute``
codespace), events, the answer and verdict hashes, :class:`HardwareChecks` (schedule, answer,
commit, reveal, tally), message and query routes, REST routes, invariants, genesis helpers and
simulation operations.

Store layout (relative to ``compute/``; ids and heights 8-byte big-endian, ``op`` is
``len(address) | address``):

- ``0x30 | id → HardwareChallenge``; ``0x31 → next id``; ``0x32 → scheduler cursor`` (the
  provider key visited last)
- ``0x33 | height | id → 0x01``: tally queue (an OPEN challenge at its reveal deadline, or at
  the height where its last committee member revealed)
- ``0x34 | op(provider) → id``: the provider's OPEN challenge (at most one)
- ``0x35 | op(validator) | id → 0x01``: committee duties (OPEN challenges)
- ``0x36 | op(provider) | id → 0x01``: every challenge of a provider
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aivm.ai.verify.hardware import DIGEST_BYTES, workload_digest
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.errors import CODESPACE, ErrInvalidGenesis
from aivm.modules.compute.index_checks import check_offer_index
from aivm.modules.compute.keeper import ACTIVE, ComputeKeeper
from aivm.modules.compute.params import ComputeParams
from aivm.modules.framework import Context, ExecMode, MsgRoute, QueryRoute, RestRoute, guarded
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.simulation import Invariant, SimEnv, WeightedOperation
from aivm.store import CacheStore, GasMeter, KVStore, PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, register

T = TypeVar("T")

# -- store keys -------------------------------------------------------------------------------

CHALLENGE = b"\x30"
NEXT_ID = b"\x31"
CURSOR = b"\x32"
TALLY_QUEUE = b"\x33"
OPEN_BY_PROVIDER = b"\x34"
DUTIES = b"\x35"
BY_PROVIDER = b"\x36"
MARKER = b"\x01"

# -- errors, reasons, events ------------------------------------------------------------------

ErrHardwareChallengeNotFound = register(CODESPACE, 80, "hardware challenge not found")
ErrInvalidHardwareMsg = register(CODESPACE, 81, "invalid hardware check message")
ErrNotChallenged = register(CODESPACE, 82, "signer is not the challenged provider")
ErrNotCommittee = register(CODESPACE, 83, "signer is not on the challenge's committee")
ErrHardwarePhase = register(CODESPACE, 84, "not allowed in the hardware challenge's phase")
ErrHardwareDuplicate = register(CODESPACE, 85, "already answered, committed or revealed")
ErrHardwareRevealMismatch = register(CODESPACE, 86, "reveal does not match the commitment")

ROLE_COMPUTE = roles_pb2.ROLE_COMPUTE
REASON_FALSE_VERDICT = 20
"""Roles reason ``false_hardware_verdict``: revealed a digest other than the majority's."""
REASON_VERDICT_NOT_REVEALED = 21
"""Roles reason ``hardware_verdict_not_revealed``: a committee member that never revealed."""

EVENT_OPEN = "compute_hardware_challenge_open"
EVENT_ANSWER = "compute_hardware_challenge_answer"
EVENT_COMMIT = "compute_hardware_verdict_commit"
EVENT_REVEAL = "compute_hardware_verdict_reveal"
EVENT_TALLY = "compute_hardware_challenge_tally"
EVENT_TIER = "compute_hardware_tier"

OPEN = compute_pb2.HARDWARE_CHECK_STATUS_OPEN
PASSED = compute_pb2.HARDWARE_CHECK_STATUS_PASSED
FAILED = compute_pb2.HARDWARE_CHECK_STATUS_FAILED
INCONCLUSIVE = compute_pb2.HARDWARE_CHECK_STATUS_INCONCLUSIVE
STATUS_NAMES = {OPEN: "open", PASSED: "passed", FAILED: "failed", INCONCLUSIVE: "inconclusive"}

ANSWER_DOMAIN = b"aivm/hardware-answer/v1\x00"
COMMIT_DOMAIN = b"aivm/hardware-verdict/v1\x00"
_SEED_TAG = b"aivm/hardware-seed/v1\x00"
_DRAW_TAG = b"aivm/hardware-committee/v1\x00"
_EVIDENCE_TAG = b"aivm/hardware-evidence/v1\x00"
MAX_SALT = 64


def challenge_key(challenge_id: int) -> bytes:
    """Key of a challenge record."""
    return CHALLENGE + keys.u64(challenge_id)


def tally_key(height: int, challenge_id: int) -> bytes:
    """Key of a challenge in the tally queue."""
    return TALLY_QUEUE + keys.u64(max(height, 0)) + keys.u64(challenge_id)


def party_key(index: bytes, address: bytes, challenge_id: int) -> bytes:
    """Key of a challenge in the duties or by-provider index."""
    return index + keys.op_key(address) + keys.u64(challenge_id)


def hardware_answer_hash(challenge_id: int, provider: bytes, digest: bytes) -> bytes:
    """What a provider sends: ``sha256(domain ‖ id ‖ provider ‖ digest)``. The chain checks
    it against the committee's majority digest; nobody learns the digest from it."""
    return hashlib.sha256(ANSWER_DOMAIN + keys.u64(challenge_id) + provider + digest).digest()


def hardware_verdict_commitment(
    challenge_id: int, validator: bytes, digest: bytes, salt: bytes
) -> bytes:
    """What a committee member commits: ``sha256(domain ‖ id ‖ validator ‖ digest ‖ salt)``
    (bound to its own address: a copied commitment is worthless)."""
    body = keys.u64(challenge_id) + validator + digest + salt
    return hashlib.sha256(COMMIT_DOMAIN + body).digest()


def decode_challenge(raw: bytes) -> compute_pb2.HardwareChallenge:
    """A HardwareChallenge record."""
    record: compute_pb2.HardwareChallenge = compute_pb2.HardwareChallenge.FromString(raw)
    return record


# -- committee draw -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """An active compute-role operator and its draw weight (selection score)."""

    address: str
    weight: int


def _weight(score: str) -> int:
    return int(score) if score.isascii() and score.isdigit() else 0


def _uniform(seed: bytes, index: int, bound: int) -> int:
    digest = hashlib.sha256(_DRAW_TAG + seed + index.to_bytes(4, "big")).digest()
    return int.from_bytes(digest, "big") % bound


def draw_committee(pool: Sequence[Member], count: int, seed: bytes) -> list[str]:
    """``count`` distinct addresses of ``pool``, each draw with probability proportional to
    weight (uniform when every weight left is 0); integer-only and seed-determined."""
    left = list(pool)
    chosen: list[str] = []
    for index in range(min(count, len(left))):
        total = sum(m.weight for m in left)
        if total == 0:
            pick = _uniform(seed, index, len(left))
        else:
            point = _uniform(seed, index, total)
            bounds = itertools.accumulate(m.weight for m in left)
            pick = next(i for i, bound in enumerate(bounds) if point < bound)
        chosen.append(left.pop(pick).address)
    return chosen


def challenge_seed(ctx: Context, provider: bytes) -> bytes:
    """The workload seed of a challenge opened in this block: ``sha256(tag ‖ block hash ‖
    height ‖ provider)`` (outside FinalizeBlock the block hash is empty: height and provider
    alone, on state that is never committed)."""
    height = ctx.header.height.to_bytes(8, "big", signed=True)
    return hashlib.sha256(_SEED_TAG + ctx.header.seed + height + provider).digest()


@dataclass
class Tally:
    """The outcome of a committee's reveals."""

    truth: bytes | None
    honest: list[str]
    wrong: list[str]
    silent: list[str]


def tally_verdicts(challenge: compute_pb2.HardwareChallenge) -> Tally:
    """Majority digest (strictly more than half of the committee) and who agreed, disagreed
    or never revealed. Without a majority nobody is ``wrong`` (nobody can tell)."""
    size = len(challenge.verdicts)
    counts: dict[bytes, int] = {}
    for verdict in challenge.verdicts:
        if verdict.digest:
            counts[verdict.digest] = counts.get(verdict.digest, 0) + 1
    truth = next((d for d in sorted(counts) if 2 * counts[d] > size), None)
    silent = [v.validator for v in challenge.verdicts if not v.digest]
    if truth is None:
        honest = [v.validator for v in challenge.verdicts if v.digest]
        return Tally(None, honest, [], silent)
    honest = [v.validator for v in challenge.verdicts if v.digest == truth]
    wrong = [v.validator for v in challenge.verdicts if v.digest and v.digest != truth]
    return Tally(truth, honest, wrong, silent)


# -- keeper -----------------------------------------------------------------------------------


class HardwareChecks:
    """Hardware challenges: state, the EndBlock schedule and tally, and the message logic."""

    def __init__(self, providers: ComputeKeeper, roles: RolesKeeper | None) -> None:
        """``roles`` is the roles keeper when the app has it (no committee, no checks else);
        the two slash reasons are registered with it."""
        self.providers = providers
        self.roles = roles
        if roles is not None:
            roles.register_reason(REASON_FALSE_VERDICT, "false_hardware_verdict", "compute")
            roles.register_reason(
                REASON_VERDICT_NOT_REVEALED, "hardware_verdict_not_revealed", "compute"
            )

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- records --------------------------------------------------------------------------

    def get_challenge(
        self, ctx: Context, challenge_id: int
    ) -> compute_pb2.HardwareChallenge | None:
        """A challenge, or None."""
        raw = self._store(ctx).get(challenge_key(challenge_id))
        return None if raw is None else decode_challenge(raw)

    def require_challenge(self, ctx: Context, challenge_id: int) -> compute_pb2.HardwareChallenge:
        """A challenge, or ErrHardwareChallengeNotFound."""
        found = self.get_challenge(ctx, challenge_id)
        if found is None:
            raise ErrHardwareChallengeNotFound.wrap(f"hardware challenge {challenge_id}")
        return found

    def set_challenge(self, ctx: Context, record: compute_pb2.HardwareChallenge) -> None:
        """Write a record as it is (indexes are the caller's business)."""
        self._store(ctx).set(challenge_key(record.id), record.SerializeToString())

    def challenges_store(self, ctx: Context) -> KVStore:
        """Every challenge (keys: id), for pagination."""
        return PrefixStore(self._store(ctx), CHALLENGE)

    def iterate_challenges(self, ctx: Context) -> Iterator[compute_pb2.HardwareChallenge]:
        """Every challenge, by id."""
        for _, raw in self.challenges_store(ctx).iterate():
            yield decode_challenge(raw)

    def index_store(self, ctx: Context, index: bytes) -> KVStore:
        """One index (tally queue, open-by-provider, duties, by-provider) as a store."""
        return PrefixStore(self._store(ctx), index)

    def party_store(self, ctx: Context, index: bytes, address: bytes) -> KVStore:
        """One party's entries of the duties or by-provider index (keys: id)."""
        return PrefixStore(self._store(ctx), index + keys.op_key(address))

    def peek_next_id(self, ctx: Context) -> int:
        """The id the next challenge gets."""
        raw = self._store(ctx).get(NEXT_ID)
        return 1 if raw is None else int.from_bytes(raw, "big")

    def set_next_id(self, ctx: Context, value: int) -> None:
        """Set the id counter (genesis import)."""
        self._store(ctx).set(NEXT_ID, keys.u64(value))

    def get_cursor(self, ctx: Context) -> bytes:
        """The provider key the scheduler visited last (empty: start)."""
        return self._store(ctx).get(CURSOR) or b""

    def set_cursor(self, ctx: Context, cursor: bytes) -> None:
        """Move the scheduler cursor."""
        self._store(ctx).set(CURSOR, cursor)

    def open_challenge_of(self, ctx: Context, provider: bytes) -> int | None:
        """The id of ``provider``'s OPEN challenge, or None."""
        raw = self._store(ctx).get(OPEN_BY_PROVIDER + keys.op_key(provider))
        return None if raw is None else int.from_bytes(raw, "big")

    def index_challenge(self, ctx: Context, record: compute_pb2.HardwareChallenge) -> None:
        """Write every index entry the record implies (an OPEN one: tally queue, open entry,
        duties; every one: by provider)."""
        store = self._store(ctx)
        for key, value in expected_entries(record).items():
            store.set(key, value)

    def _unindex_open(self, ctx: Context, record: compute_pb2.HardwareChallenge) -> None:
        store = self._store(ctx)
        store.delete(tally_key(record.reveal_deadline_height, record.id))
        store.delete(tally_key(ctx.header.height, record.id))
        store.delete(OPEN_BY_PROVIDER + keys.op_key(addr_bytes(record.provider)))
        for verdict in record.verdicts:
            store.delete(party_key(DUTIES, addr_bytes(verdict.validator), record.id))

    # -- schedule -------------------------------------------------------------------------

    def committee_pool(self, ctx: Context) -> list[Member]:
        """The compute role's active set (empty without the roles module)."""
        if self.roles is None:
            return []
        members = self.roles.active_set(ctx, ROLE_COMPUTE)
        return [Member(m.operator, _weight(m.selection_score)) for m in members]

    def schedule(self, ctx: Context) -> list[compute_pb2.HardwareChallenge]:
        """Open this block's challenges (EndBlock of every ``hardware_check_interval_blocks``
        height): visit at most ``max_hardware_checks_per_block`` providers after the cursor
        (wrapping once); each available ACTIVE provider without an open challenge gets one
        when a committee can be drawn."""
        params = self.providers.get_params(ctx)
        interval = params.hardware_check_interval_blocks
        if interval == 0 or ctx.header.height <= 0 or ctx.header.height % interval != 0:
            return []
        visits = self._next_providers(ctx, params.max_hardware_checks_per_block)
        if not visits:
            return []
        pool = self.committee_pool(ctx)
        opened = []
        for key, record in visits:
            self.set_cursor(ctx, key)
            if record.status != ACTIVE or not self.providers.record_available(ctx, record, params):
                continue
            found = self.open(ctx, record, params, pool)
            if found is not None:
                opened.append(found)
        return opened

    def _next_providers(self, ctx: Context, limit: int) -> list[tuple[bytes, compute_pb2.Provider]]:
        store = self.providers.providers_store(ctx)
        cursor = self.get_cursor(ctx)
        after = cursor + b"\x00" if cursor else None
        first = store.iterate(after, None)
        wrapped = store.iterate(None, after) if after is not None else iter(())
        found = list(itertools.islice(itertools.chain(first, wrapped), limit))
        return [(key, compute_pb2.Provider.FromString(raw)) for key, raw in found]

    def open(
        self,
        ctx: Context,
        record: compute_pb2.Provider,
        params: ComputeParams,
        pool: Sequence[Member],
    ) -> compute_pb2.HardwareChallenge | None:
        """Open a challenge of ``record`` with a committee drawn from ``pool`` (never the
        provider); None when it has one open already or nobody else is in the pool."""
        provider = addr_bytes(record.operator)
        if self.open_challenge_of(ctx, provider) is not None:
            return None
        seed = challenge_seed(ctx, provider)
        candidates = [m for m in pool if m.address != record.operator]
        committee = draw_committee(candidates, params.hardware_validators, seed)
        if not committee:
            return None
        size, rounds, response = params.hardware_workload(record.tier)
        height = ctx.header.height
        commit_deadline = height + max(response, params.hardware_commit_blocks)
        challenge = compute_pb2.HardwareChallenge(
            id=self.peek_next_id(ctx),
            provider=record.operator,
            tier=record.tier,
            seed=seed,
            size=size,
            rounds=rounds,
            opened_height=height,
            deadline_height=height + response,
            commit_deadline_height=commit_deadline,
            reveal_deadline_height=commit_deadline + params.hardware_reveal_blocks,
            status=OPEN,
            verdicts=[compute_pb2.HardwareVerdict(validator=v) for v in committee],
        )
        self.set_next_id(ctx, challenge.id + 1)
        self.set_challenge(ctx, challenge)
        self.index_challenge(ctx, challenge)
        ctx.emit(
            EVENT_OPEN,
            ("challenge_id", str(challenge.id)),
            ("provider", record.operator),
            ("tier", compute_pb2.Tier.Name(record.tier)),
            ("size", str(size)),
            ("rounds", str(rounds)),
            ("deadline_height", str(challenge.deadline_height)),
            ("committee", ",".join(committee)),
        )
        return challenge

    # -- messages -------------------------------------------------------------------------

    def _require_open(self, ctx: Context, challenge_id: int) -> compute_pb2.HardwareChallenge:
        record = self.require_challenge(ctx, challenge_id)
        if record.status != OPEN:
            raise ErrHardwarePhase.wrap(f"hardware challenge {challenge_id} is tallied")
        return record

    def answer(self, ctx: Context, provider: bytes, challenge_id: int, answer_hash: bytes) -> None:
        """MsgAnswerHardwareChallenge: the challenged provider's answer, by the deadline."""
        record = self._require_open(ctx, challenge_id)
        if addr_str(provider) != record.provider:
            raise ErrNotChallenged.wrap(f"challenge {challenge_id} is {record.provider}'s")
        if ctx.header.height > record.deadline_height:
            raise ErrHardwarePhase.wrap(f"the answer deadline {record.deadline_height} passed")
        if record.answer_hash:
            raise ErrHardwareDuplicate.wrap("already answered")
        record.answer_hash = answer_hash
        record.answered_height = ctx.header.height
        self.set_challenge(ctx, record)
        ctx.emit(
            EVENT_ANSWER,
            ("challenge_id", str(challenge_id)),
            ("provider", record.provider),
            ("height", str(ctx.header.height)),
        )

    @staticmethod
    def _member(
        record: compute_pb2.HardwareChallenge, validator: bytes
    ) -> compute_pb2.HardwareVerdict:
        name = addr_str(validator)
        for verdict in record.verdicts:
            if verdict.validator == name:
                return verdict
        raise ErrNotCommittee.wrap(f"{name} is not on challenge {record.id}'s committee")

    def commit(self, ctx: Context, validator: bytes, challenge_id: int, commitment: bytes) -> None:
        """MsgCommitHardwareVerdict: a committee member's sealed digest, by the commit
        deadline."""
        record = self._require_open(ctx, challenge_id)
        verdict = self._member(record, validator)
        if ctx.header.height > record.commit_deadline_height:
            raise ErrHardwarePhase.wrap(
                f"the commit deadline {record.commit_deadline_height} passed"
            )
        if verdict.commitment:
            raise ErrHardwareDuplicate.wrap("already committed")
        verdict.commitment = commitment
        verdict.commit_height = ctx.header.height
        self.set_challenge(ctx, record)
        ctx.emit(
            EVENT_COMMIT, ("challenge_id", str(challenge_id)), ("validator", verdict.validator)
        )

    def reveal(
        self, ctx: Context, validator: bytes, challenge_id: int, digest: bytes, salt: bytes
    ) -> None:
        """MsgRevealHardwareVerdict: open the commitment after the commit deadline and by the
        reveal deadline; the last reveal queues the tally for this block's EndBlock."""
        record = self._require_open(ctx, challenge_id)
        verdict = self._member(record, validator)
        height = ctx.header.height
        if not record.commit_deadline_height < height <= record.reveal_deadline_height:
            raise ErrHardwarePhase.wrap(
                f"reveals are taken in heights {record.commit_deadline_height + 1}"
                f"..{record.reveal_deadline_height}"
            )
        if not verdict.commitment:
            raise ErrHardwarePhase.wrap("nothing committed")
        if verdict.digest:
            raise ErrHardwareDuplicate.wrap("already revealed")
        expected = hardware_verdict_commitment(challenge_id, validator, digest, salt)
        if expected != verdict.commitment:
            raise ErrHardwareRevealMismatch.wrap("sha256 of the revealed digest and salt differs")
        verdict.digest = digest
        verdict.reveal_height = height
        self.set_challenge(ctx, record)
        if all(v.digest for v in record.verdicts) and height < record.reveal_deadline_height:
            store = self._store(ctx)
            store.delete(tally_key(record.reveal_deadline_height, record.id))
            store.set(tally_key(height, record.id), MARKER)
        ctx.emit(
            EVENT_REVEAL,
            ("challenge_id", str(challenge_id)),
            ("validator", verdict.validator),
            ("digest", digest.hex()),
        )

    # -- EndBlock -------------------------------------------------------------------------

    def end_block(self, ctx: Context) -> bool:
        """Tally the challenges due at or before this height, then open this block's
        challenges; True when a committee member was slashed (the caller re-selects the
        roles' active sets)."""
        due = list(
            self.index_store(ctx, TALLY_QUEUE).iterate(None, keys.u64(ctx.header.height + 1))
        )
        slashed = False
        for key, _ in due:
            record = self.get_challenge(ctx, int.from_bytes(key[8:16], "big"))
            self._store(ctx).delete(TALLY_QUEUE + key)
            if record is not None and record.status == OPEN:
                slashed = self.tally(ctx, record) or slashed
        self.schedule(ctx)
        return slashed

    def tally(self, ctx: Context, record: compute_pb2.HardwareChallenge) -> bool:
        """Close ``record``: the committee's majority digest is the truth; members that
        revealed another one or none are slashed; the provider passes when its answer (given
        by the deadline) hashes the truth. Returns whether anyone was slashed."""
        result = tally_verdicts(record)
        self._unindex_open(ctx, record)
        if result.truth is None:
            record.status = INCONCLUSIVE
        else:
            record.truth_digest = result.truth
            expected = hardware_answer_hash(record.id, addr_bytes(record.provider), result.truth)
            record.status = PASSED if record.answer_hash == expected else FAILED
        record.tallied_height = ctx.header.height
        self.set_challenge(ctx, record)
        params = self.providers.get_params(ctx)
        slashed = self._judge_committee(ctx, record, result, params)
        if record.status != INCONCLUSIVE:
            self._judge_provider(ctx, record, params)
        ctx.emit(
            EVENT_TALLY,
            ("challenge_id", str(record.id)),
            ("provider", record.provider),
            ("status", STATUS_NAMES[record.status]),
            ("truth", record.truth_digest.hex()),
            ("wrong", ",".join(result.wrong)),
            ("silent", ",".join(result.silent)),
        )
        return slashed

    def _judge_committee(
        self,
        ctx: Context,
        record: compute_pb2.HardwareChallenge,
        result: Tally,
        params: ComputeParams,
    ) -> bool:
        if self.roles is None:
            return False
        for member in result.honest:
            self._reward(ctx, addr_bytes(member))
        slashed = False
        losers = [(m, REASON_FALSE_VERDICT) for m in result.wrong]
        losers += [(m, REASON_VERDICT_NOT_REVEALED) for m in result.silent]
        for member, reason in losers:
            burned = self._punish(ctx, record, addr_bytes(member), reason, params)
            slashed = slashed or burned is not None
        return slashed

    def _reward(self, ctx: Context, address: bytes) -> None:
        """One unit of compute-role work and a good performance outcome (guarded)."""
        roles = self.roles
        if roles is not None:
            guarded(ctx, lambda c: roles.record_work(c, address, ROLE_COMPUTE, 1))
            guarded(ctx, lambda c: roles.record_performance(c, address, ROLE_COMPUTE, True))

    def _punish(
        self,
        ctx: Context,
        record: compute_pb2.HardwareChallenge,
        address: bytes,
        reason: int,
        params: ComputeParams,
    ) -> int | None:
        """Slash ``address``'s compute bond by ``false_verdict_slash_fraction`` for
        ``reason`` and record a bad outcome (each guarded); the amount burned, or None."""
        roles = self.roles
        if roles is None:
            return None
        fraction = params.false_verdict_slash_fraction
        evidence = hashlib.sha256(
            _EVIDENCE_TAG + keys.u64(record.id) + address + bytes([reason])
        ).digest()
        burned = None
        if fraction.is_positive():
            burned = guarded(
                ctx,
                lambda c: roles.slash_role(c, address, ROLE_COMPUTE, fraction, reason, evidence),
            )
        guarded(ctx, lambda c: roles.record_performance(c, address, ROLE_COMPUTE, False))
        return burned

    def _judge_provider(
        self, ctx: Context, challenge: compute_pb2.HardwareChallenge, params: ComputeParams
    ) -> None:
        record = self.providers.get_provider(ctx, addr_bytes(challenge.provider))
        if record is None:
            return
        passed = challenge.status == PASSED
        indexed = record.status == ACTIVE
        if indexed:
            self.providers.unindex_offers(ctx, record)
        was_demoted = record.hardware_demoted
        if passed:
            record.hardware_attested = record.tier == challenge.tier
            record.hardware_attested_height = challenge.opened_height
            record.hardware_failures = 0
            record.hardware_demoted = False
        else:
            record.hardware_attested = False
            record.hardware_failures += 1
            if record.hardware_failures >= params.hardware_max_failures:
                record.hardware_demoted = record.tier != compute_pb2.TIER_ENTRY
        rep = Dec.from_str(record.reputation or "0")
        outcome = Dec.one() if passed else Dec.zero()
        rep = rep + params.reputation_alpha * (outcome - rep)
        record.reputation = str(min(max(rep, params.min_reputation), Dec.one()))
        self.providers.set_provider(ctx, record)
        if indexed:
            self.providers.index_offers(ctx, record)
        if was_demoted != record.hardware_demoted:
            ctx.emit(
                EVENT_TIER,
                ("provider", record.operator),
                ("demoted", "true" if record.hardware_demoted else "false"),
                ("effective_tier", compute_pb2.Tier.Name(keys.effective_tier(record))),
            )


def expected_entries(record: compute_pb2.HardwareChallenge) -> dict[bytes, bytes]:
    """Index entries (keys relative to ``compute/``) a record implies. The tally entry of an
    OPEN challenge is at its reveal deadline, or earlier once every member revealed."""
    provider = addr_bytes(record.provider)
    entries = {party_key(BY_PROVIDER, provider, record.id): MARKER}
    if record.status != OPEN:
        return entries
    entries[OPEN_BY_PROVIDER + keys.op_key(provider)] = keys.u64(record.id)
    for verdict in record.verdicts:
        entries[party_key(DUTIES, addr_bytes(verdict.validator), record.id)] = MARKER
    due = record.reveal_deadline_height
    if record.verdicts and all(v.digest for v in record.verdicts):
        due = min(due, max(v.reveal_height for v in record.verdicts))
    entries[tally_key(due, record.id)] = MARKER
    return entries


# -- message routes ---------------------------------------------------------------------------


def _check_id(challenge_id: int) -> None:
    if challenge_id == 0:
        raise ErrInvalidHardwareMsg.wrap("challenge_id must be positive")


def _check_hash(value: bytes, name: str) -> None:
    if len(value) != DIGEST_BYTES:
        raise ErrInvalidHardwareMsg.wrap(f"{name} must be {DIGEST_BYTES} bytes")


def validate_answer(msg: compute_pb2.MsgAnswerHardwareChallenge) -> None:
    """Stateless check of an answer."""
    addr_bytes(msg.provider)
    _check_id(msg.challenge_id)
    _check_hash(msg.answer_hash, "answer_hash")


def validate_commit(msg: compute_pb2.MsgCommitHardwareVerdict) -> None:
    """Stateless check of a commitment."""
    addr_bytes(msg.validator)
    _check_id(msg.challenge_id)
    _check_hash(msg.commitment, "commitment")


def validate_reveal(msg: compute_pb2.MsgRevealHardwareVerdict) -> None:
    """Stateless check of a reveal."""
    addr_bytes(msg.validator)
    _check_id(msg.challenge_id)
    _check_hash(msg.digest, "digest")
    if len(msg.salt) > MAX_SALT:
        raise ErrInvalidHardwareMsg.wrap(f"salt over {MAX_SALT} bytes")


def hardware_msg_routes(checks: HardwareChecks) -> list[MsgRoute]:
    """MsgAnswerHardwareChallenge (signer ``provider``), MsgCommitHardwareVerdict and
    MsgRevealHardwareVerdict (signer ``validator``)."""
    m = compute_pb2

    def answer(ctx: Context, msg: Any) -> pb.Message:
        checks.answer(ctx, addr_bytes(msg.provider), msg.challenge_id, msg.answer_hash)
        return m.MsgAnswerHardwareChallengeResponse()

    def commit(ctx: Context, msg: Any) -> pb.Message:
        checks.commit(ctx, addr_bytes(msg.validator), msg.challenge_id, msg.commitment)
        return m.MsgCommitHardwareVerdictResponse()

    def reveal(ctx: Context, msg: Any) -> pb.Message:
        checks.reveal(ctx, addr_bytes(msg.validator), msg.challenge_id, msg.digest, msg.salt)
        return m.MsgRevealHardwareVerdictResponse()

    return [
        MsgRoute(
            message_class=m.MsgAnswerHardwareChallenge,
            signers=lambda msg: [addr_bytes(msg.provider)],
            validate_basic=validate_answer,
            handler=answer,
        ),
        MsgRoute(
            message_class=m.MsgCommitHardwareVerdict,
            signers=lambda msg: [addr_bytes(msg.validator)],
            validate_basic=validate_commit,
            handler=commit,
        ),
        MsgRoute(
            message_class=m.MsgRevealHardwareVerdict,
            signers=lambda msg: [addr_bytes(msg.validator)],
            validate_basic=validate_reveal,
            handler=reveal,
        ),
    ]


# -- queries ----------------------------------------------------------------------------------

SERVICE = "/aivm.compute.v1.Query/"


def hardware_query_routes(checks: HardwareChecks) -> list[QueryRoute]:
    """HardwareChallenge (by id) and HardwareChallenges (all, by provider, or a committee
    member's open ones; optional status filter; paginated)."""
    q = compute_pb2

    def one(ctx: Context, req: Any) -> pb.Message:
        return q.QueryHardwareChallengeResponse(
            challenge=checks.require_challenge(ctx, req.challenge_id)
        )

    def many(ctx: Context, req: Any) -> pb.Message:
        page = req.pagination if req.HasField("pagination") else None
        if req.status and req.status not in STATUS_NAMES:
            raise ErrInvalidHardwareMsg.wrap(f"unknown status {req.status}")

        def keep(record: compute_pb2.HardwareChallenge | None) -> Any:
            if record is None or (req.status and record.status != req.status):
                return None
            return record

        if req.provider or req.validator:
            index = BY_PROVIDER if req.provider else DUTIES
            store = checks.party_store(ctx, index, addr_bytes(req.provider or req.validator))

            def by_id(key: bytes, _: bytes) -> Any:
                return keep(checks.get_challenge(ctx, int.from_bytes(key, "big")))

            found, response = paginate_store(store, page, by_id)
        else:
            found, response = paginate_store(
                checks.challenges_store(ctx), page, lambda _, raw: keep(decode_challenge(raw))
            )
        return q.QueryHardwareChallengesResponse(challenges=found, pagination=response)

    return [
        QueryRoute(SERVICE + "HardwareChallenge", q.QueryHardwareChallengeRequest, one),
        QueryRoute(SERVICE + "HardwareChallenges", q.QueryHardwareChallengesRequest, many),
    ]


HARDWARE_REST_ROUTES = (
    RestRoute(
        "/aivm/compute/v1/hardware_challenges",
        SERVICE + "HardwareChallenges",
        compute_pb2.QueryHardwareChallengesRequest,
        compute_pb2.QueryHardwareChallengesResponse,
        "Hardware challenges (?provider=, ?validator= for open duties, ?status=; paginated).",
    ),
    RestRoute(
        "/aivm/compute/v1/hardware_challenges/{challenge_id}",
        SERVICE + "HardwareChallenge",
        compute_pb2.QueryHardwareChallengeRequest,
        compute_pb2.QueryHardwareChallengeResponse,
        "A hardware challenge.",
    ),
)


# -- invariants -------------------------------------------------------------------------------


def record_problems(record: compute_pb2.HardwareChallenge) -> list[str]:
    """What is wrong with one record (heights in order, committee, hashes, status)."""
    name = f"hardware challenge {record.id}"
    problems = []
    if record.id == 0 or record.status not in STATUS_NAMES:
        problems.append(f"{name}: id or status")
    heights = (
        record.opened_height,
        record.deadline_height,
        record.commit_deadline_height,
        record.reveal_deadline_height,
    )
    if list(heights) != sorted(heights) or record.deadline_height > record.commit_deadline_height:
        problems.append(f"{name}: deadlines out of order")
    members = [v.validator for v in record.verdicts]
    if not members or len(set(members)) != len(members) or record.provider in members:
        problems.append(f"{name}: committee")
    if record.answer_hash and len(record.answer_hash) != DIGEST_BYTES:
        problems.append(f"{name}: answer hash")
    if record.status == OPEN and (record.truth_digest or record.tallied_height):
        problems.append(f"{name}: open but tallied")
    try:
        addr_bytes(record.provider)
        for member in members:
            addr_bytes(member)
    except AivmError:
        problems.append(f"{name}: address")
    return problems


def check_hardware_records(ctx: Context, checks: HardwareChecks) -> list[str]:
    """Each record is well formed and below the next id."""
    next_id = checks.peek_next_id(ctx)
    problems = []
    for record in checks.iterate_challenges(ctx):
        problems += record_problems(record)
        if record.id >= next_id:
            problems.append(f"hardware challenge {record.id} not below next id {next_id}")
    return problems


def check_hardware_indexes(ctx: Context, checks: HardwareChecks) -> list[str]:
    """The tally queue, open entries, duties and by-provider index are exactly what the
    records imply (queues ↔ records)."""
    expected: dict[bytes, bytes] = {}
    for record in checks.iterate_challenges(ctx):
        expected.update(expected_entries(record))
    found: dict[bytes, bytes] = {}
    for index in (TALLY_QUEUE, OPEN_BY_PROVIDER, DUTIES, BY_PROVIDER):
        for key, value in checks.index_store(ctx, index).iterate():
            found[index + key] = value
    problems = [
        f"missing hardware index entry {k.hex()}" for k in sorted(set(expected) - set(found))
    ]
    problems += [
        f"stray hardware index entry {k.hex()}" for k in sorted(set(found) - set(expected))
    ]
    problems += [
        f"hardware index entry {k.hex()} holds {found[k].hex()}"
        for k in sorted(set(found) & set(expected))
        if found[k] != expected[k]
    ]
    return problems


def hardware_invariants(checks: HardwareChecks) -> dict[str, Invariant]:
    """hardware_records and hardware_indexes, by name."""
    return {
        "hardware_records": lambda ctx: check_hardware_records(ctx, checks),
        "hardware_indexes": lambda ctx: check_hardware_indexes(ctx, checks),
    }


# -- genesis ----------------------------------------------------------------------------------


def export_hardware(
    checks: HardwareChecks, ctx: Context
) -> tuple[list[compute_pb2.HardwareChallenge], int, bytes]:
    """Every challenge (by id), the next id and the scheduler cursor."""
    return list(checks.iterate_challenges(ctx)), checks.peek_next_id(ctx), checks.get_cursor(ctx)


def validate_hardware(records: Sequence[compute_pb2.HardwareChallenge], next_id: int) -> None:
    """ErrInvalidGenesis unless every record is well formed, ids are distinct and below
    ``next_id`` (0: one past the largest), and a provider has at most one open challenge."""
    seen: set[int] = set()
    open_of: set[str] = set()
    for record in records:
        problems = record_problems(record)
        if record.id in seen:
            problems.append(f"hardware challenge {record.id} twice")
        if next_id and record.id >= next_id:
            problems.append(f"hardware challenge {record.id} not below {next_id}")
        if record.status == OPEN and record.provider in open_of:
            problems.append(f"{record.provider} has two open hardware challenges")
        if problems:
            raise ErrInvalidGenesis.wrap("; ".join(problems))
        seen.add(record.id)
        if record.status == OPEN:
            open_of.add(record.provider)


def import_hardware(
    checks: HardwareChecks,
    ctx: Context,
    records: Sequence[compute_pb2.HardwareChallenge],
    next_id: int,
    cursor: bytes,
) -> None:
    """Write the challenges, rebuild their indexes, set the next id and the cursor."""
    validate_hardware(records, next_id)
    for record in records:
        checks.set_challenge(ctx, record)
        checks.index_challenge(ctx, record)
    checks.set_next_id(ctx, next_id or max((r.id for r in records), default=0) + 1)
    if cursor:
        checks.set_cursor(ctx, cursor)


# -- simulation -------------------------------------------------------------------------------

SIM_MAX_SIZE = 256
"""The simulation computes true digests only for workloads up to this side."""


def _sim_digest(record: compute_pb2.HardwareChallenge | None, honest: bool) -> bytes:
    if record is not None and honest and record.size <= SIM_MAX_SIZE:
        return workload_digest(record.seed, record.size, record.rounds)
    return hashlib.sha256(b"sim wrong digest" + (record.seed if record else b"")).digest()


def _sim_salt(challenge_id: int, validator: bytes) -> bytes:
    return hashlib.sha256(b"sim salt" + keys.u64(challenge_id) + validator).digest()[:16]


def _sim_pick(checks: HardwareChecks, env: SimEnv) -> compute_pb2.HardwareChallenge | None:
    found = [r for r in checks.iterate_challenges(env.ctx) if r.status == OPEN]
    return env.rng.choice(found) if found else None


def _sim_signer(env: SimEnv, main: str) -> str:
    """Mostly ``main``; sometimes any account (refused)."""
    if main and env.rng.randrange(0, 10) < 8:
        return main
    return addr_str(env.rng.choice(env.accounts))


def hardware_sim_ops(checks: HardwareChecks) -> dict[str, WeightedOperation]:
    """answer_hardware (right or wrong digest, sometimes a stranger or an unknown id),
    commit_hardware_verdict and reveal_hardware_verdict (committee members, mostly honest;
    the reveal recomputes the digest and salt the commit used). :func:`check_hardware_flow`
    (a whole challenge on a throwaway branch) is run by the tests rather than in the mix:
    every operation added reshuffles the mix of every seed."""

    def answer(env: SimEnv) -> Sequence[pb.Message] | None:
        record = _sim_pick(checks, env)
        provider = _sim_signer(env, record.provider if record else "")
        digest = _sim_digest(record, env.rng.randrange(0, 4) > 0)
        cid = record.id if record else env.rng.randrange(1, 50)
        return [
            compute_pb2.MsgAnswerHardwareChallenge(
                provider=provider,
                challenge_id=cid,
                answer_hash=hardware_answer_hash(cid, addr_bytes(provider), digest),
            )
        ]

    def member(env: SimEnv) -> tuple[compute_pb2.HardwareChallenge | None, str]:
        record = _sim_pick(checks, env)
        main = env.rng.choice(record.verdicts).validator if record else ""
        return record, _sim_signer(env, main)

    def commit(env: SimEnv) -> Sequence[pb.Message] | None:
        record, validator = member(env)
        cid = record.id if record else env.rng.randrange(1, 50)
        address = addr_bytes(validator)
        honest = _sim_honest(cid, address)
        digest = _sim_digest(record, honest)
        commitment = hardware_verdict_commitment(cid, address, digest, _sim_salt(cid, address))
        return [
            compute_pb2.MsgCommitHardwareVerdict(
                validator=validator, challenge_id=cid, commitment=commitment
            )
        ]

    def reveal(env: SimEnv) -> Sequence[pb.Message] | None:
        record, validator = member(env)
        cid = record.id if record else env.rng.randrange(1, 50)
        address = addr_bytes(validator)
        digest = _sim_digest(record, _sim_honest(cid, address))
        return [
            compute_pb2.MsgRevealHardwareVerdict(
                validator=validator, challenge_id=cid, digest=digest, salt=_sim_salt(cid, address)
            )
        ]

    return {
        "answer_hardware": WeightedOperation(2, answer),
        "commit_hardware_verdict": WeightedOperation(2, commit),
        "reveal_hardware_verdict": WeightedOperation(2, reveal),
    }


def check_hardware_flow(checks: HardwareChecks, env: SimEnv) -> list[str]:
    """A whole challenge on a throwaway branch of the committed state: tiny workloads, a
    random ACTIVE provider, a committee from the compute role (or, when it is empty, plain
    accounts: their slashes are refused and change nothing), an answer that is right or
    wrong, members that reveal the truth, a shared lie or nothing; after the tally the
    status must be the one an independent count gives, and the invariants must hold."""
    branch = CacheStore(env.ctx.store)
    header = dataclasses.replace(env.ctx.header, seed=b"flow" * 8)

    def at(height: int) -> Context:
        moved = dataclasses.replace(header, height=height)
        return Context(branch, GasMeter(None), moved, ExecMode.FINALIZE)

    ctx = at(env.height)
    params = dataclasses.replace(
        checks.providers.get_params(ctx),
        hardware_workload_sizes=(8, 8, 8),
        hardware_workload_rounds=(1, 2, 1),
        hardware_response_blocks=(2, 2, 2),
        hardware_commit_blocks=3,
        hardware_reveal_blocks=2,
    )
    checks.providers.set_params(ctx, params)
    records = [r for r in checks.providers.iterate_providers(ctx) if r.status == ACTIVE]
    if not records:
        return []
    pool = checks.committee_pool(ctx) or [Member(addr_str(a), 1) for a in env.accounts[:5]]
    record = checks.open(ctx, env.rng.choice(records), params, pool)
    if record is None:
        return []
    truth = workload_digest(record.seed, record.size, record.rounds)
    lie = hashlib.sha256(b"flow lie" + record.seed).digest()
    provider = addr_bytes(record.provider)
    answer = truth if env.rng.randrange(0, 3) else lie
    checks.answer(
        at(env.height + 1), provider, record.id, hardware_answer_hash(record.id, provider, answer)
    )
    plan = {v.validator: env.rng.choice((truth, truth, truth, lie, b"")) for v in record.verdicts}
    for member, digest in plan.items():
        if digest:
            address = addr_bytes(member)
            salt = _sim_salt(record.id, address)
            commitment = hardware_verdict_commitment(record.id, address, digest, salt)
            checks.commit(at(env.height + 1), address, record.id, commitment)
    for member, digest in plan.items():
        if digest:
            address = addr_bytes(member)
            reveal_ctx = at(record.commit_deadline_height + 1)
            checks.reveal(reveal_ctx, address, record.id, digest, _sim_salt(record.id, address))
    end = at(record.reveal_deadline_height)
    checks.end_block(end)
    return _flow_problems(checks, end, record.id, plan, answer)


def _flow_problems(
    checks: HardwareChecks, ctx: Context, challenge_id: int, plan: dict[str, bytes], answer: bytes
) -> list[str]:
    record = checks.require_challenge(ctx, challenge_id)
    revealed = [d for d in plan.values() if d]
    majority = [d for d in set(revealed) if 2 * revealed.count(d) > len(plan)]
    expected = PASSED if majority and majority[0] == answer else FAILED
    if not majority:
        expected = INCONCLUSIVE
    problems = []
    if record.status != expected:
        problems.append(
            f"status {STATUS_NAMES.get(record.status)}, expected {STATUS_NAMES[expected]}"
        )
    problems += check_hardware_records(ctx, checks) + check_hardware_indexes(ctx, checks)
    return problems + check_offer_index(ctx, checks.providers)


def _sim_honest(challenge_id: int, validator: bytes) -> bool:
    """Whether the simulation's member is honest on a challenge (fixed per pair: 7 in 8)."""
    return hashlib.sha256(keys.u64(challenge_id) + validator).digest()[0] % 8 != 0
