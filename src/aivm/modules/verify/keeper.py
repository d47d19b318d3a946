"""The verify keeper: verification sessions of accepted compute results, AI-validator rounds
with commit-reveal, sampling, and attestation trails.

Life of a session (README.md has the whole story):

1. ``on_accepted`` (compute hook, in the tx or EndBlock that accepted the result): a session
   opens with the methods of the job's criticality; it draws at the next block's BeginBlock,
   so the randomness (that block's hash) did not exist when the provider sent its result.
2. BeginBlock at ``draw_height``: the sampling roll, and for re-execution (or a sampled job) a
   committee of k AI validators drawn stake-weighted from the active set. No committee
   needed: the session passes and the job is released for settlement.
3. Drawn validators commit ``sha256(domain ‖ job ‖ round ‖ validator ‖ output digest ‖
   salt)`` and then reveal; each reveal is compared with the accepted result by the model's
   comparison rule. The round is tallied when every member revealed or at the reveal deadline
   (EndBlock): a strict majority of the committee decides; non-revealers and the losing side
   are slashed through the roles API; no majority draws a fresh committee (up to
   ``max_rounds``), then ends INCONCLUSIVE (refund, nobody at fault).
4. Passed: compute settles after the challenge window and calls ``on_settled``, which writes
   the job's attestation trail. Failed: compute rejects the result (providers slashed,
   client refunded).

Nothing here raises out of BeginBlock or EndBlock: every step reads what it needs first and
skips (with an event) what it cannot do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.compute import compare, compute_pb2
from aivm.modules.compute.hooks import AcceptPlan
from aivm.modules.compute.jobs import JobKeeper
from aivm.modules.compute.keeper import ComputeKeeper, to_int
from aivm.modules.framework import Context, guarded
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.verify import keys, verify_pb2
from aivm.modules.verify.attestation import Attestations
from aivm.modules.verify.errors import (
    ErrAlreadyCommitted,
    ErrInvalidCommitment,
    ErrInvalidVerdict,
    ErrNotDrawn,
    ErrNotVerifiable,
    ErrRevealMismatch,
    ErrSessionNotFound,
    ErrSessionState,
)
from aivm.modules.verify.optimistic import Disputes, optimistic_run
from aivm.modules.verify.params import (
    COMMITTEE_METHODS,
    OUTPUT_METHODS,
    RATE_SCALE,
    Rule,
    VerifyParams,
    default_params,
    params_from_proto,
)
from aivm.store import KVStore, PrefixStore
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

V = verify_pb2
ROLE_AI = roles_pb2.ROLE_AI
REASON_NONREVEAL, REASON_WRONG_VERDICT = 6, 7
"""Role slash reasons registered by this module (roles has 1–5 built in)."""
COMMIT_DOMAIN = b"aivm-verdict/v1\x00"
SAMPLE_DOMAIN = b"aivm-sample/v1\x00"
DRAW_DOMAIN = b"aivm-draw/v1\x00"
SEED_FALLBACK_DOMAIN = b"aivm-seed-fallback/v1\x00"
MIN_SALT, MAX_SALT = 16, 64
DIGEST = 32
COMMIT_GAS = 2_000
REVEAL_BASE_GAS = 3_000
MAX_DETAIL = 280
OPEN_STATUSES = frozenset({V.SESSION_STATUS_DRAW, V.SESSION_STATUS_COMMIT, V.SESSION_STATUS_REVEAL})
HELD_STATUSES = OPEN_STATUSES | {V.SESSION_STATUS_CHALLENGE}
"""Sessions whose job waits for them (CHALLENGE: only the optimistic window is left)."""


def verdict_commitment(
    job_id: int,
    round_: int,
    validator: bytes,
    output_digest: bytes,
    salt: bytes,
    zk_valid: bool = False,
    toploc_valid: bool = False,
    step_valid: bool = False,
) -> bytes:
    """What a drawn validator commits: binds the job, the round and its own address (a copied
    commitment is worthless to anyone else) to its output digest, its zk, TOPLOC and
    float-step verdicts (one flags byte: bit 0 zk, bit 1 toploc, bit 2 step) and a secret
    salt."""
    body = job_id.to_bytes(8, "big") + round_.to_bytes(4, "big") + validator
    flags = bytes(
        [(1 if zk_valid else 0) | (2 if toploc_valid else 0) | (4 if step_valid else 0)]
    )
    return hashlib.sha256(COMMIT_DOMAIN + body + output_digest + flags + salt).digest()


def sampling_multiple(rate_millionths: int) -> int:
    """The penalty, in multiples of a caught provider's pay, that makes cheating a losing
    bet at sampling rate ``r``: a cheat that saves at most its pay ``P`` per job is caught
    with probability ``r`` and then loses ``m × P``; its expected gain per lie is
    ``(1 − r)·P − r·m·P``. Break-even is ``m = (1 − r)/r``; the chain takes twice that,
    ``m = ⌈2(1 − r)/r⌉`` (at least 1), so a lie costs on average as much as it could have
    gained: ``(1 − r)·P − r·m·P ≤ −(1 − r)·P``. r = 5 %: m = 38; 25 %: 6; 100 %: 1. 0 when
    the rate is 0 (no sampling)."""
    if rate_millionths <= 0:
        return 0
    r = min(rate_millionths, RATE_SCALE)
    return max(1, -(-2 * (RATE_SCALE - r) // r))


def sampling_roll(seed: bytes, job_id: int) -> int:
    """The sampling draw of a job, in [0, 10^6): ``sha256(domain ‖ seed ‖ job)`` (first 8
    bytes, big-endian) mod 10^6; the job is re-executed when it is below the rate."""
    digest = hashlib.sha256(SAMPLE_DOMAIN + seed + keys.u64(job_id)).digest()
    return int.from_bytes(digest[:8], "big") % RATE_SCALE


def weighted_draw(
    seed: bytes, job_id: int, round_: int, members: Sequence[tuple[bytes, int]], k: int
) -> list[tuple[bytes, int]]:
    """Draw up to ``k`` distinct members, each pick with probability proportional to its
    weight, from ``sha256(domain ‖ seed ‖ job ‖ round ‖ pick)``. ``members`` are (address,
    weight) in address order; zero weights are never drawn. Deterministic."""
    pool = [(a, w) for a, w in members if w > 0]
    drawn: list[tuple[bytes, int]] = []
    for pick in range(min(k, len(pool))):
        total = sum(w for _, w in pool)
        digest = hashlib.sha256(
            DRAW_DOMAIN + seed + keys.u64(job_id) + round_.to_bytes(4, "big") + bytes([pick])
        ).digest()
        target = int.from_bytes(digest, "big") % total
        for index, (_address, weight) in enumerate(pool):
            if target < weight:
                drawn.append(pool.pop(index))
                break
            target -= weight
    return drawn


@dataclass(frozen=True)
class RoundOutcome:
    """A tallied round: who agreed, who disagreed, who never revealed."""

    agree: tuple[str, ...]
    disagree: tuple[str, ...]
    silent: tuple[str, ...]
    quorum: int

    @property
    def decision(self) -> str:
        """``pass``, ``fail`` or ``none`` (no strict majority of the committee)."""
        if len(self.agree) >= self.quorum:
            return "pass"
        if len(self.disagree) >= self.quorum:
            return "fail"
        return "none"


class VerifyKeeper:
    """Verification of compute results; implements the compute module's hooks."""

    def __init__(
        self,
        compute: ComputeKeeper,
        ai: AiKeeper,
        roles: RolesKeeper | None,
        attestations: Attestations,
    ) -> None:
        self.compute = compute
        self.ai = ai
        self.roles = roles
        self.attestations = attestations
        self.jobs: JobKeeper | None = None
        """The compute job keeper (set by the module builder)."""
        self.disputes = Disputes(self)
        """Optimistic verification: trace checks and dispute games."""
        if roles is not None:
            roles.register_reason(REASON_NONREVEAL, "verdict_not_revealed", "verify")
            roles.register_reason(REASON_WRONG_VERDICT, "wrong_verdict", "verify")

    # -- storage --------------------------------------------------------------------------

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_params(self, ctx: Context) -> VerifyParams:
        """Current params (the defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return default_params()
        return params_from_proto(V.Params.FromString(raw))

    def set_params(self, ctx: Context, params: VerifyParams) -> None:
        """Replace the params."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())

    def get_session(self, ctx: Context, job_id: int) -> verify_pb2.Session | None:
        """The job's session, or None."""
        raw = self._store(ctx).get(keys.SESSIONS + keys.u64(job_id))
        return None if raw is None else V.Session.FromString(raw)

    def require_session(self, ctx: Context, job_id: int) -> verify_pb2.Session:
        """The job's session; ErrSessionNotFound otherwise."""
        session = self.get_session(ctx, job_id)
        if session is None:
            raise ErrSessionNotFound.wrap(f"job {job_id} has no verification session")
        return session

    def set_session(self, ctx: Context, session: verify_pb2.Session) -> None:
        """Write a session."""
        self._store(ctx).set(keys.SESSIONS + keys.u64(session.job_id), session.SerializeToString())

    def iterate_sessions(self, ctx: Context) -> Iterator[verify_pb2.Session]:
        """Every session, by job id."""
        for _, raw in PrefixStore(self._store(ctx), keys.SESSIONS).iterate():
            yield V.Session.FromString(raw)

    def get_trail(self, ctx: Context, job_id: int) -> verify_pb2.Trail | None:
        """The job's attestation trail, or None."""
        raw = self._store(ctx).get(keys.TRAILS + keys.u64(job_id))
        return None if raw is None else V.Trail.FromString(raw)

    def set_trail(self, ctx: Context, trail: verify_pb2.Trail) -> None:
        """Write a trail."""
        self._store(ctx).set(keys.TRAILS + keys.u64(trail.job_id), trail.SerializeToString())

    def iterate_trails(self, ctx: Context) -> Iterator[verify_pb2.Trail]:
        """Every trail, by job id."""
        for _, raw in PrefixStore(self._store(ctx), keys.TRAILS).iterate():
            yield V.Trail.FromString(raw)

    def duties(self, ctx: Context, validator: bytes, most: int = 200) -> list[int]:
        """Job ids of the open rounds ``validator`` was drawn for (at most ``most``, oldest
        job first)."""
        store = PrefixStore(self._store(ctx), keys.duty_prefix(validator))
        found = []
        for key, _ in store.iterate():
            found.append(int.from_bytes(key, "big"))
            if len(found) >= most:
                break
        return found

    def queue_store(self, ctx: Context, queue: bytes) -> KVStore:
        """A queue (draw or tally) as a store of ``height|job`` keys."""
        return PrefixStore(self._store(ctx), queue)

    def duties_store(self, ctx: Context) -> KVStore:
        """Every duty entry (``len|validator|job``)."""
        return PrefixStore(self._store(ctx), keys.DUTIES)

    def _due(self, ctx: Context, queue: bytes, limit: int, before: bool = False) -> list[bytes]:
        """Keys of ``queue`` at heights up to this one (``before``: below it), oldest first."""
        store = self.queue_store(ctx, queue)
        end = keys.u64(ctx.header.height + (0 if before else 1))
        out = []
        for key, _ in store.iterate(None, end):
            out.append(key)
            if len(out) >= limit:
                break
        return out

    # -- compute hooks --------------------------------------------------------------------

    def check_submit(self, ctx: Context, msg: compute_pb2.MsgSubmitJob) -> None:
        """Refuse a job whose policy needs more AI validators than are active, or a zk job
        whose input is not inline (the chain checks the proof's input binding itself)."""
        rule = self.get_params(ctx).rule(msg.criticality)
        zk_job = self.attestations.zk_applies(ctx, msg, V.METHOD_ZK in rule.methods)
        toploc_job = self.attestations.toploc_applies(ctx, msg, V.METHOD_TOPLOC in rule.methods)
        if (
            toploc_job
            and self.ai.get_version(ctx, msg.model_id, msg.version).comparison != "tokens"
        ):
            raise ErrNotVerifiable.wrap(
                f"model {msg.model_id} v{msg.version} has a TOPLOC config but does not generate "
                "tokens (comparison rule tokens)"
            )
        if zk_job and msg.input_cid:
            raise ErrNotVerifiable.wrap(
                f"model {msg.model_id} v{msg.version} is verified by zk proofs: send the input "
                "inline (the chain checks that each proof is about this input)"
            )
        if V.METHOD_OPTIMISTIC in rule.methods and self.disputes.applies(ctx, msg):
            self.disputes.check_submit(ctx, msg)
        if not (rule.needs_committee() or zk_job or toploc_job):
            return
        active = 0 if self.roles is None else len(self.roles.active_set(ctx, ROLE_AI))
        if active < rule.validators:
            name = V.Criticality.Name(msg.criticality).removeprefix("CRITICALITY_").lower()
            raise ErrNotVerifiable.wrap(
                f"{name} criticality needs {rule.validators} active AI validators to "
                f"re-execute the job; {active} active"
            )

    def check_result(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        provider: bytes,
        msg: compute_pb2.MsgSubmitResult,
    ) -> None:
        """A result of a job that needs a TEE quote must carry a valid one."""
        rule = self.get_params(ctx).rule(job.criticality)
        if self.attestations.tee_applies(ctx, job, V.METHOD_TEE in rule.methods):
            self.attestations.check_result(ctx, job, provider, msg)
        if self.attestations.zk_applies(ctx, job, V.METHOD_ZK in rule.methods):
            self.attestations.check_zk_result(ctx, job, msg)
        if self.attestations.toploc_applies(ctx, job, V.METHOD_TOPLOC in rule.methods):
            self.attestations.check_toploc_result(ctx, job, msg)
        if V.METHOD_OPTIMISTIC in rule.methods and self.disputes.applies(ctx, job):
            self.disputes.check_result(ctx, job, msg)

    def _method_runs(
        self, ctx: Context, job: compute_pb2.Job, rule: Rule
    ) -> list[verify_pb2.MethodRun]:
        """The rule's methods for this job: TEE passed already (checked at submission) when
        it applies, skipped when the version declares no measurements; a version that
        requires TEE gets it whatever the rule."""
        listed = V.METHOD_TEE in rule.methods
        applies = self.attestations.tee_applies(ctx, job, listed)
        evidence_methods = (V.METHOD_TEE, V.METHOD_ZK, V.METHOD_TOPLOC)
        toploc_listed = V.METHOD_TOPLOC in rule.methods
        toploc_applies = self.attestations.toploc_applies(ctx, job, toploc_listed)
        runs = []
        for method in rule.methods:
            if method in evidence_methods:
                continue
            if method == V.METHOD_REEXECUTION and toploc_applies:
                detail = "a TOPLOC-fingerprinted generation is checked by prefill instead"
                runs.append(_skipped(method, detail))
            elif method == V.METHOD_OPTIMISTIC and not self.disputes.applies(ctx, job):
                detail = (
                    "the model version is neither a DSM artifact (format aivm-dsm/1) nor an "
                    "ONNX version declared optimistic_float"
                )
                runs.append(_skipped(method, detail))
            elif method == V.METHOD_OPTIMISTIC and not self.disputes.traced(job):
                detail = "an accepted result carries no trace (it was sent before the declaration)"
                runs.append(_skipped(method, detail))
            else:
                runs.append(_pending(method))
        if toploc_applies:
            runs.append(_pending(V.METHOD_TOPLOC))
        elif toploc_listed:
            runs.append(_skipped(V.METHOD_TOPLOC, "the model version registers no TOPLOC config"))
        zk_listed = V.METHOD_ZK in rule.methods
        if self.attestations.zk_applies(ctx, job, zk_listed):
            runs.append(_pending(V.METHOD_ZK))
        elif zk_listed:
            runs.append(_skipped(V.METHOD_ZK, "the model version registers no zk circuit"))
        if applies:
            runs.append(_tee_run(job))
        elif listed:
            runs.append(_skipped(V.METHOD_TEE, "the model version declares no TEE measurements"))
        return runs

    def on_accepted(self, ctx: Context, job: compute_pb2.Job) -> AcceptPlan:
        """Open the job's session (it draws at the next block's BeginBlock) and hold its
        settlement; the window is the larger of the rule's and the compute param's."""
        params = self.get_params(ctx)
        base = self.compute.get_params(ctx).challenge_window_blocks
        try:
            rule = params.rule(job.criticality)
        except AivmError:  # validated params have every criticality; never hold forever
            return AcceptPlan(base, hold=False)
        height = ctx.header.height
        session = V.Session(
            job_id=job.id,
            criticality=job.criticality,  # type: ignore[arg-type]
            status=V.SESSION_STATUS_DRAW,
            methods=self._method_runs(ctx, job, rule),
            opened_height=height,
            draw_height=height + 1,
            validators=rule.validators,
            sample_rate=str(rule.sample_rate),
        )
        window = max(base, rule.challenge_window_blocks)
        run = optimistic_run(session)
        if run is not None and run.status == V.METHOD_STATUS_PENDING:
            session.challenge_end_height = height + window
            self._store(ctx).set(
                keys.queue_key(keys.WINDOW_QUEUE, session.challenge_end_height, job.id),
                keys.MARKER,
            )
        self.set_session(ctx, session)
        self._store(ctx).set(keys.queue_key(keys.DRAW_QUEUE, height + 1, job.id), keys.MARKER)
        ctx.emit(
            "verify_session_open",
            ("job_id", str(job.id)),
            ("criticality", V.Criticality.Name(job.criticality)),
            ("methods", ",".join(V.Method.Name(m) for m in rule.methods)),
            ("draw_height", str(height + 1)),
        )
        return AcceptPlan(window, hold=True)

    def on_settled(self, ctx: Context, job: compute_pb2.Job) -> None:
        """Write the job's attestation trail (never raises)."""
        try:
            self.set_trail(ctx, self._trail(ctx, job))
        except AivmError as exc:  # the version vanished: record what is known
            ctx.emit("verify_trail_incomplete", ("job_id", str(job.id)), ("error", str(exc)))
            self.set_trail(ctx, self._trail(ctx, job, with_model=False))

    # -- BeginBlock: draws ----------------------------------------------------------------

    def begin_block(self, ctx: Context) -> None:
        """Draw the sessions due at this height (at most ``max_draws_per_block``)."""
        params = self.get_params(ctx)
        store = self._store(ctx)
        for key in self._due(ctx, keys.DRAW_QUEUE, params.max_draws_per_block):
            store.delete(keys.DRAW_QUEUE + key)
            session = self.get_session(ctx, int.from_bytes(key[8:16], "big"))
            if session is None or session.status != V.SESSION_STATUS_DRAW:
                continue
            self._draw(ctx, session, params)

    def _seed(self, ctx: Context) -> bytes:
        if ctx.header.seed:
            return ctx.header.seed
        height = ctx.header.height.to_bytes(8, "big")
        return hashlib.sha256(SEED_FALLBACK_DOMAIN + height + ctx.header.chain_id.encode()).digest()

    def _draw(self, ctx: Context, session: verify_pb2.Session, params: VerifyParams) -> None:
        session.seed = self._seed(ctx)
        job = self._job(ctx, session.job_id)
        if job is None:
            self._close(ctx, session, V.SESSION_STATUS_INCONCLUSIVE, "the job is no longer pending")
            return
        rule = self._rule_of(session)
        needs_committee = False
        for run in session.methods:
            if run.method in (V.METHOD_REEXECUTION, V.METHOD_ZK, V.METHOD_TOPLOC):
                needs_committee |= run.status == V.METHOD_STATUS_PENDING
            elif run.method == V.METHOD_SAMPLING:
                needs_committee |= self._sample(session, run, job, rule)
        if not needs_committee:
            self._pass(ctx, session, job)
            return
        if not self._new_round(ctx, session, job, params):
            self._no_validators(ctx, session, job)

    def _rule_of(self, session: verify_pb2.Session) -> Rule:
        rate = Dec.from_str(session.sample_rate or "0")
        methods = tuple(run.method for run in session.methods)
        return Rule(session.criticality, methods, session.validators, rate, 0)

    def _sample(
        self,
        session: verify_pb2.Session,
        run: verify_pb2.MethodRun,
        job: compute_pb2.Job,
        rule: Rule,
    ) -> bool:
        """Roll the sampling draw; True when the job is re-executed. A caught provider loses
        ``sampling_multiple(rate)`` times its pay (``session.penalty``, per provider)."""
        roll = sampling_roll(session.seed, job.id)
        session.sample_roll = roll
        threshold = rule.sample_millionths
        if roll >= threshold:
            run.status = V.METHOD_STATUS_SKIPPED
            run.detail = f"not drawn for re-execution (roll {roll} ≥ {threshold} per million)"
            return False
        session.penalty_multiple = sampling_multiple(threshold)
        run.detail = (
            f"drawn for re-execution (roll {roll} < {threshold} per million); a wrong result "
            f"costs its provider {session.penalty_multiple}× its pay"
        )
        return True

    def _new_round(
        self,
        ctx: Context,
        session: verify_pb2.Session,
        job: compute_pb2.Job,
        params: VerifyParams,
        exclude_voters: bool = True,
    ) -> bool:
        """Draw the next committee (not the job's providers, nor — with ``exclude_voters`` —
        earlier rounds' members); False when no AI validator can be drawn."""
        if self.roles is None:
            return False
        excluded = {a.provider for a in job.assignments}
        if exclude_voters:
            excluded |= {v.validator for v in session.verdicts}
        members = [
            (addr_bytes(m.operator), int(m.selection_score or "0"))
            for m in self.roles.active_set(ctx, ROLE_AI)
            if m.operator not in excluded
        ]
        round_ = session.round + 1
        drawn = weighted_draw(session.seed, job.id, round_, members, session.validators)
        if not drawn:
            return False
        height = ctx.header.height
        session.round = round_
        session.status = V.SESSION_STATUS_COMMIT
        session.commit_end_height = height + params.commit_blocks
        session.reveal_end_height = session.commit_end_height + params.reveal_blocks
        store = self._store(ctx)
        for address, weight in drawn:
            session.verdicts.add(validator=addr_str(address), round=round_, weight=str(weight))
            store.set(keys.duty_key(address, job.id), keys.MARKER)
        store.set(keys.queue_key(keys.TALLY_QUEUE, session.reveal_end_height, job.id), keys.MARKER)
        self.set_session(ctx, session)
        ctx.emit(
            "verify_committee",
            ("job_id", str(job.id)),
            ("round", str(round_)),
            ("validators", ",".join(addr_str(a) for a, _ in drawn)),
            ("commit_end_height", str(session.commit_end_height)),
            ("reveal_end_height", str(session.reveal_end_height)),
        )
        return True

    def _no_validators(
        self, ctx: Context, session: verify_pb2.Session, job: compute_pb2.Job
    ) -> None:
        """No AI validator could be drawn. Re-execution cannot run: the job ends without a
        decision (refund, nobody at fault). A sampled job at a criticality that only samples
        is released: sampling is a deterrent, and a chain with no AI validator cannot
        sample (``check_submit`` keeps re-execution jobs off such a chain)."""
        if any(run.method == V.METHOD_REEXECUTION for run in session.methods):
            self._close(ctx, session, V.SESSION_STATUS_INCONCLUSIVE, "no AI validator to draw")
            self._reject(ctx, job, "verification impossible: no AI validator to draw", None)
            return
        for run in session.methods:
            if run.method == V.METHOD_SAMPLING and run.status == V.METHOD_STATUS_PENDING:
                run.status = V.METHOD_STATUS_SKIPPED
                run.detail = "drawn, but no AI validator is active to re-execute it"
        self._pass(ctx, session, job)

    # -- messages -------------------------------------------------------------------------

    def commit(self, ctx: Context, validator: bytes, job_id: int, commitment: bytes) -> None:
        """MsgCommitVerdict: a drawn validator commits during the commit phase."""
        ctx.gas_meter.consume(COMMIT_GAS, "verify: commit")
        if len(commitment) != DIGEST:
            raise ErrInvalidCommitment.wrap(f"commitment must be {DIGEST} bytes")
        session = self.require_session(ctx, job_id)
        if session.status != V.SESSION_STATUS_COMMIT:
            raise ErrSessionState.wrap(
                f"job {job_id} is not in a commit phase ({_status(session)})"
            )
        if ctx.header.height > session.commit_end_height:
            raise ErrSessionState.wrap(f"commits closed at height {session.commit_end_height}")
        verdict = self._member(session, validator)
        if verdict.commitment:
            raise ErrAlreadyCommitted.wrap(
                f"{verdict.validator} committed at height {verdict.committed_height}"
            )
        verdict.commitment = commitment
        verdict.committed_height = ctx.header.height
        if all(v.commitment for v in self._current(session)):
            session.status = V.SESSION_STATUS_REVEAL
        self.set_session(ctx, session)
        ctx.emit(
            "verify_commit",
            ("job_id", str(job_id)),
            ("validator", verdict.validator),
            ("round", str(session.round)),
        )

    def reveal(self, ctx: Context, validator: bytes, msg: verify_pb2.MsgRevealVerdict) -> bool:
        """MsgRevealVerdict: open the commitment and compare the validator's output with the
        accepted result by the model's rule (gas by size). The round is tallied when its
        last member reveals. Returns whether the validator agrees."""
        session = self.require_session(ctx, msg.job_id)
        height = ctx.header.height
        reveal_open = session.status == V.SESSION_STATUS_REVEAL or (
            session.status == V.SESSION_STATUS_COMMIT and height > session.commit_end_height
        )
        if not reveal_open:
            raise ErrSessionState.wrap(
                f"job {msg.job_id} takes reveals after its commit phase (to height "
                f"{session.commit_end_height}, or once every member committed); "
                f"now {_status(session)}"
            )
        if height > session.reveal_end_height:
            raise ErrSessionState.wrap(f"reveals closed at height {session.reveal_end_height}")
        verdict = self._member(session, validator)
        if not verdict.commitment:
            raise ErrSessionState.wrap(f"{verdict.validator} did not commit in time")
        if verdict.revealed:
            raise ErrSessionState.wrap(f"{verdict.validator} already revealed")
        expected = verdict_commitment(
            msg.job_id,
            session.round,
            validator,
            msg.output_digest,
            msg.salt,
            msg.zk_valid,
            msg.toploc_valid,
            msg.step_valid,
        )
        if expected != verdict.commitment:
            raise ErrRevealMismatch.wrap("sha256 of the revealed digest and salt differs")
        agrees = self._judge(ctx, msg) if "output" in _aspects(session) else True
        verdict.revealed, verdict.agrees = True, agrees
        verdict.zk_valid, verdict.toploc_valid = msg.zk_valid, msg.toploc_valid
        verdict.step_valid = msg.step_valid
        verdict.output_digest, verdict.comparison_data = msg.output_digest, msg.comparison_data
        verdict.salt = msg.salt
        verdict.revealed_height = height
        session.status = V.SESSION_STATUS_REVEAL
        ctx.emit(
            "verify_reveal",
            ("job_id", str(msg.job_id)),
            ("validator", verdict.validator),
            ("round", str(session.round)),
            ("agrees", "true" if agrees else "false"),
            ("zk_valid", "true" if msg.zk_valid else "false"),
            ("toploc_valid", "true" if msg.toploc_valid else "false"),
        )
        if all(v.revealed for v in self._current(session)):
            self._tally(ctx, session, self.get_params(ctx))
        else:
            self.set_session(ctx, session)
        return agrees

    def _judge(self, ctx: Context, msg: verify_pb2.MsgRevealVerdict) -> bool:
        """Compare a revealed output with the job's accepted result by the model's rule."""
        if not MIN_SALT <= len(msg.salt) <= MAX_SALT:
            raise ErrInvalidVerdict.wrap(f"salt must be {MIN_SALT} to {MAX_SALT} bytes")
        job = self._job(ctx, msg.job_id)
        if job is None:
            raise ErrSessionState.wrap(f"job {msg.job_id} is no longer pending")
        version = self.ai.get_version(ctx, job.model_id, job.version)
        rule = compare.rule_of(version)
        size = len(msg.comparison_data)
        ctx.gas_meter.consume(REVEAL_BASE_GAS + compare.check_gas(rule, size), "verify: reveal")
        try:
            compare.check_result(
                rule,
                msg.output_digest,
                msg.comparison_data,
                self.compute.get_params(ctx).max_comparison_bytes,
            )
        except AivmError as exc:
            raise ErrInvalidVerdict.wrap(str(exc)) from None
        accepted = _accepted_result(job)
        ctx.gas_meter.consume(
            compare.comparison_gas(rule, max(size, len(accepted.comparison_data))),
            "verify: compare",
        )
        mine = compute_pb2.JobResult(
            output_digest=msg.output_digest, comparison_data=msg.comparison_data
        )
        return compare.agree(rule, mine, accepted)

    def _member(self, session: verify_pb2.Session, validator: bytes) -> verify_pb2.Verdict:
        name = addr_str(validator)
        for verdict in self._current(session):
            if verdict.validator == name:
                return verdict
        raise ErrNotDrawn.wrap(
            f"{name} is not drawn for round {session.round} of job {session.job_id}"
        )

    @staticmethod
    def _current(session: verify_pb2.Session) -> list[verify_pb2.Verdict]:
        return [v for v in session.verdicts if v.round == session.round]

    # -- EndBlock: tallies ----------------------------------------------------------------

    def end_block(self, ctx: Context) -> None:
        """Tally the rounds whose reveal deadline is this height. The roles EndBlock ran
        before this one, so when a tally slashed someone the AI role's active set is
        recomputed here (a validator slashed below the minimum bond leaves it this block)."""
        params = self.get_params(ctx)
        store = self._store(ctx)
        tallied = False
        for key in self._due(ctx, keys.TALLY_QUEUE, params.max_tallies_per_block):
            store.delete(keys.TALLY_QUEUE + key)
            session = self.get_session(ctx, int.from_bytes(key[8:16], "big"))
            if session is None or session.status not in OPEN_STATUSES:
                continue
            if session.reveal_end_height != int.from_bytes(key[:8], "big"):
                continue  # an earlier round's deadline; the current round has its own
            self._tally(ctx, session, params)
            tallied = True
        if tallied and self.roles is not None:
            self.roles.update_active_sets(ctx)
        self.disputes.end_block(ctx, params.max_tallies_per_block)

    def _tally(self, ctx: Context, session: verify_pb2.Session, params: VerifyParams) -> None:
        """Decide the current round, aspect by aspect (the re-executed output, the zk
        pairing); slash the silent and, once decided, the losing side of every round."""
        store = self._store(ctx)
        store.delete(keys.queue_key(keys.TALLY_QUEUE, session.reveal_end_height, session.job_id))
        current = self._current(session)
        for verdict in current:
            store.delete(keys.duty_key(addr_bytes(verdict.validator), session.job_id))
        silent = tuple(v.validator for v in current if not v.revealed)
        self._slash_members(ctx, session, silent, params.nonreveal_slash_fraction, REASON_NONREVEAL)
        aspects = {name: _outcome(current, vote) for name, vote in _aspects(session).items()}
        if "step" in aspects:
            self._tally_step(ctx, session, params, aspects["step"])
            return
        decisions = {name: outcome.decision for name, outcome in aspects.items()}
        decision = _overall(decisions)
        ctx.emit(
            "verify_tally",
            ("job_id", str(session.job_id)),
            ("round", str(session.round)),
            ("decision", decision),
            *((f"{name}_decision", d) for name, d in sorted(decisions.items())),
            ("silent", str(len(silent))),
        )
        job = self._job(ctx, session.job_id)
        if job is None:
            self._close(ctx, session, V.SESSION_STATUS_INCONCLUSIVE, "the job is no longer pending")
            return
        if decision == "none":
            if session.round < params.max_rounds and self._new_round(ctx, session, job, params):
                return
            self._close(
                ctx,
                session,
                V.SESSION_STATUS_INCONCLUSIVE,
                f"no majority after {session.round} round(s)",
            )
            self._reject(ctx, job, "verification inconclusive: no majority of AI validators", None)
            return
        votes = _aspects(session)
        losers = sorted(
            {
                v.validator
                for v in session.verdicts
                if v.revealed
                and any(
                    decisions[name] != "none" and votes[name](v) != (decisions[name] == "pass")
                    for name in votes
                )
            }
        )
        winners = [v.validator for v in current if v.revealed and v.validator not in losers]
        self._slash_members(
            ctx, session, losers, params.wrong_verdict_slash_fraction, REASON_WRONG_VERDICT
        )
        self._reward_members(ctx, winners)
        if decision == "pass":
            self._pass(ctx, session, job)
            return
        failed = [name for name, d in decisions.items() if d == "fail"]
        _mark_passed(session, [name for name, d in decisions.items() if d == "pass"])
        detail = "; ".join(
            f"{len(aspects[name].disagree)} of {len(current)} AI validators {FAILURE_TEXT[name]}"
            for name in failed
        )
        self._close(ctx, session, V.SESSION_STATUS_FAILED, detail)
        self._reject(ctx, job, f"verification failed: {detail}", session.penalty_multiple)

    def start_step_vote(self, ctx: Context, session: verify_pb2.Session) -> None:
        """A float dispute's step is opened and the session's other methods are done: draw a
        committee that votes on it (any AI validator but the job's providers). None to draw:
        the game is cancelled (bonds back)."""
        job = self._job(ctx, session.job_id)
        if job is None:
            return
        params = self.get_params(ctx)
        session.step_vote = True
        if self._new_round(ctx, session, job, params, exclude_voters=False):
            dispute = self.disputes.active(ctx, session.job_id)
            if dispute is not None:
                dispute.vote_rounds += 1
                self.disputes.set(ctx, dispute)
            return
        session.step_vote = False
        self.set_session(ctx, session)
        self.disputes.settle_vote(ctx, session.job_id, None, 0)

    def _tally_step(
        self,
        ctx: Context,
        session: verify_pb2.Session,
        params: VerifyParams,
        outcome: RoundOutcome,
    ) -> None:
        """Tally a committee's vote on a float dispute's step: the losing side is slashed;
        a majority settles the game; none draws again (up to ``max_rounds``), then the game
        is cancelled."""
        decision = outcome.decision
        if decision != "none":
            right = decision == "pass"
            losers = [v for v in outcome.agree + outcome.disagree if (v in outcome.agree) != right]
            winners = outcome.agree if right else outcome.disagree
            self._slash_members(
                ctx, session, losers, params.wrong_verdict_slash_fraction, REASON_WRONG_VERDICT
            )
            self._reward_members(ctx, list(winners))
        dispute = self.disputes.active(ctx, session.job_id)
        job = self._job(ctx, session.job_id)
        if (
            decision == "none"
            and dispute is not None
            and job is not None
            and dispute.vote_rounds < params.max_rounds
            and self._new_round(ctx, session, job, params, exclude_voters=False)
        ):
            dispute.vote_rounds += 1
            self.disputes.set(ctx, dispute)
            return
        session.step_vote = False
        session.status = V.SESSION_STATUS_CHALLENGE
        self.set_session(ctx, session)
        verdict = None if decision == "none" else decision == "pass"
        voters = len(outcome.agree) + len(outcome.disagree)
        self.disputes.settle_vote(ctx, session.job_id, verdict, voters)

    def _slash_members(
        self,
        ctx: Context,
        session: verify_pb2.Session,
        members: Sequence[str],
        fraction: Dec,
        reason: int,
    ) -> None:
        if self.roles is None:
            return
        for name in members:
            operator = addr_bytes(name)
            self._mark(ctx, operator, ok=False)
            if not fraction.is_positive():
                continue
            evidence = hashlib.sha256(
                keys.u64(session.job_id) + session.round.to_bytes(4, "big") + operator
            ).digest()
            burned = self._slash(ctx, operator, fraction, reason, evidence)
            if burned is None:  # left the role since the draw: nothing bonded to slash
                continue
            for verdict in session.verdicts:  # a validator sits in one round of a session
                if verdict.validator == name:
                    verdict.slashed = str(to_int(verdict.slashed or "0") + burned)

    def _slash(
        self, ctx: Context, operator: bytes, fraction: Dec, reason: int, evidence: bytes
    ) -> int | None:
        """Slash an AI validator's role bond on a branch; None when the roles module
        refuses (the operator left the role meanwhile): nothing changes then."""
        roles = self.roles
        assert roles is not None

        def slash(c: Context) -> int:
            return roles.slash_role(c, operator, ROLE_AI, fraction, reason, evidence)

        return guarded(ctx, slash)

    def _mark(self, ctx: Context, operator: bytes, ok: bool) -> None:
        """A performance outcome, and for a good one a unit of AI-role work (guarded)."""
        roles = self.roles
        assert roles is not None

        def mark(c: Context) -> None:
            roles.record_performance(c, operator, ROLE_AI, ok)
            if ok:
                roles.record_work(c, operator, ROLE_AI, 1)

        guarded(ctx, mark)

    def _reward_members(self, ctx: Context, members: Sequence[str]) -> None:
        """The winning side's work counts toward the AI role's block reward."""
        if self.roles is None:
            return
        for name in members:
            self._mark(ctx, addr_bytes(name), ok=True)

    # -- outcomes -------------------------------------------------------------------------

    def _pass(self, ctx: Context, session: verify_pb2.Session, job: compute_pb2.Job) -> None:
        """Every pending method but optimistic passed: the session passes, or waits for the
        end of the challenge window (CHALLENGE)."""
        for run in session.methods:
            if run.status == V.METHOD_STATUS_PENDING and run.method != V.METHOD_OPTIMISTIC:
                run.status = V.METHOD_STATUS_PASSED
                run.detail = (run.detail + "; " if run.detail else "") + "passed"
        run = optimistic_run(session)
        if run is not None and run.status == V.METHOD_STATUS_PENDING:
            session.status = V.SESSION_STATUS_CHALLENGE
            self._clear_duties(ctx, session)
            self.set_session(ctx, session)
            ctx.emit(
                "verify_session_challenge",
                ("job_id", str(session.job_id)),
                ("challenge_end_height", str(session.challenge_end_height)),
            )
            if self.disputes.vote_waiting(ctx, session.job_id):
                self.start_step_vote(ctx, session)
            return
        self._close(ctx, session, V.SESSION_STATUS_PASSED, "")
        if self.jobs is not None:
            self.jobs.release_verified(ctx, job.id)

    def optimistic_passed(self, ctx: Context, session: verify_pb2.Session) -> None:
        """The optimistic method passed (its window ended, no game open): a session that
        only waited for it passes; one whose committee still works goes on."""
        if session.status != V.SESSION_STATUS_CHALLENGE:
            self.set_session(ctx, session)
            return
        job = self._job(ctx, session.job_id)
        if job is None:
            self._close(ctx, session, V.SESSION_STATUS_INCONCLUSIVE, "the job is no longer pending")
            return
        self._pass(ctx, session, job)

    def _clear_duties(self, ctx: Context, session: verify_pb2.Session) -> None:
        store = self._store(ctx)
        for verdict in self._current(session):
            store.delete(keys.duty_key(addr_bytes(verdict.validator), session.job_id))

    def _close(self, ctx: Context, session: verify_pb2.Session, status: int, detail: str) -> None:
        session.status = status  # type: ignore[assignment]
        session.finished_height = ctx.header.height
        run_status = _RUN_STATUS.get(status)
        if run_status is not None:
            for run in session.methods:
                if run.status == V.METHOD_STATUS_PENDING:
                    run.status = run_status
                    run.detail = ((run.detail + "; ") if run.detail else "") + detail
                    run.detail = run.detail[:MAX_DETAIL]
        self._clear_duties(ctx, session)
        if session.challenge_end_height:
            self._store(ctx).delete(
                keys.queue_key(keys.WINDOW_QUEUE, session.challenge_end_height, session.job_id)
            )
            why = detail or V.SessionStatus.Name(status).removeprefix("SESSION_STATUS_").lower()
            self.disputes.cancel(ctx, session.job_id, f"the session ended: {why}")
        self.set_session(ctx, session)
        ctx.emit(
            "verify_session_closed",
            ("job_id", str(session.job_id)),
            ("status", V.SessionStatus.Name(status)),
            ("detail", detail[:MAX_DETAIL]),
        )

    def _reject(
        self, ctx: Context, job: compute_pb2.Job, detail: str, multiple: int | None
    ) -> None:
        if self.jobs is not None:
            self.jobs.reject_verified(ctx, job.id, detail, multiple)

    def _job(self, ctx: Context, job_id: int) -> compute_pb2.Job | None:
        job = None if self.jobs is None else self.jobs.get_job(ctx, job_id)
        if job is None or job.state != compute_pb2.JOB_STATE_PENDING_ACCEPTANCE:
            return None
        return job

    # -- trail ----------------------------------------------------------------------------

    def _trail(
        self, ctx: Context, job: compute_pb2.Job, with_model: bool = True
    ) -> verify_pb2.Trail:
        session = self.get_session(ctx, job.id)
        trail = V.Trail(
            job_id=job.id,
            client=job.client,
            model_id=job.model_id,
            version=job.version,
            criticality=job.criticality,  # type: ignore[arg-type]
            input_digest=job.input_digest,
            input_cid=job.input_cid,
            output_digest=job.output_digest,
            output_cid=job.output_cid,
            accepted_height=job.accept_height,
            settled_height=ctx.header.height,
            protocol_fee=job.protocol_fee,
            refunded=job.refunded,
        )
        if with_model:
            version = self.ai.get_version(ctx, job.model_id, job.version)
            trail.artifact_cid = version.artifact_cid
            trail.artifact_sha256 = version.artifact_sha256
            trail.comparison = version.comparison or "exact"
        paid = 0
        for a in job.assignments:
            if a.status != compute_pb2.ASSIGNMENT_STATUS_AGREED:
                continue
            record = self.compute.get_provider(ctx, addr_bytes(a.provider))
            evidence = a.result.evidence
            trail.providers.add(
                provider=a.provider,
                tier=compute_pb2.Tier.Name(record.tier) if record else "",
                hardware_attested=bool(record and record.hardware_attested),
                runtime=a.result.runtime,
                output_digest=a.result.output_digest,
                price_per_unit=a.price_per_unit,
                paid=a.paid,
                attestation_digest=hashlib.sha256(evidence).digest() if evidence else b"",
            )
            paid += to_int(a.paid or "0")
        trail.escrow_paid = str(paid)
        if session is not None:
            trail.seed = session.seed
            for run in session.methods:
                entry = trail.methods.add(
                    method=run.method,
                    status=run.status,
                    detail=run.detail,
                    evidence_digest=run.evidence_digest,
                )
                if run.method in COMMITTEE_METHODS:
                    entry.verdicts.extend(session.verdicts)
        return trail

    def restore_session(self, ctx: Context, session: verify_pb2.Session) -> None:
        """Write a session from genesis with the queue and duty entries its phase implies."""
        self.set_session(ctx, session)
        for key in sorted(expected_entries(session)):
            self._store(ctx).set(key, keys.MARKER)


def expected_entries(session: verify_pb2.Session, window: bool = True) -> set[bytes]:
    """The queue and duty keys (relative to ``verify/``) a session in its phase has (with
    ``window``: its challenge-window entry, which an undecided game may have consumed)."""
    out = set()
    run = optimistic_run(session)
    if (
        window
        and session.status in HELD_STATUSES
        and run is not None
        and run.status == V.METHOD_STATUS_PENDING
        and session.challenge_end_height
    ):
        out.add(keys.queue_key(keys.WINDOW_QUEUE, session.challenge_end_height, session.job_id))
    if session.status == V.SESSION_STATUS_DRAW:
        return out | {keys.queue_key(keys.DRAW_QUEUE, session.draw_height, session.job_id)}
    if session.status not in OPEN_STATUSES:
        return out
    out.add(keys.queue_key(keys.TALLY_QUEUE, session.reveal_end_height, session.job_id))
    for verdict in session.verdicts:
        if verdict.round == session.round:
            out.add(keys.duty_key(addr_bytes(verdict.validator), session.job_id))
    return out


def _accepted_result(job: compute_pb2.Job) -> compute_pb2.JobResult:
    """The accepted result (an agreeing provider's result with the accepted digest)."""
    for a in job.assignments:
        if (
            a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED
            and a.result.output_digest == job.output_digest
        ):
            return a.result
    return compute_pb2.JobResult(output_digest=job.output_digest)


_RUN_STATUS: dict[int, int] = {
    V.SESSION_STATUS_FAILED: V.METHOD_STATUS_FAILED,
    V.SESSION_STATUS_INCONCLUSIVE: V.METHOD_STATUS_INCONCLUSIVE,
}


Vote = Callable[[verify_pb2.Verdict], bool]
FAILURE_TEXT = {
    "output": "found a different output",
    "zk": "found the zk proof invalid",
    "toploc": "found the TOPLOC fingerprints do not match the model",
}


def _aspects(session: verify_pb2.Session) -> dict[str, Vote]:
    """What the current round decides: ``output`` (re-execution, a sampled job) by each
    member's agreement with the accepted result, ``zk`` by each member's pairing check,
    ``toploc`` by its prefill check — or, in a vote on a float dispute's step, ``step`` alone
    (``Verdict.step_valid``)."""
    if session.step_vote:
        return {"step": lambda v: v.step_valid}
    pending = {run.method for run in session.methods if run.status == V.METHOD_STATUS_PENDING}
    out: dict[str, Vote] = {}
    if pending & OUTPUT_METHODS:
        out["output"] = lambda v: v.agrees
    if V.METHOD_ZK in pending:
        out["zk"] = lambda v: v.zk_valid
    if V.METHOD_TOPLOC in pending:
        out["toploc"] = lambda v: v.toploc_valid
    return out


def _outcome(current: Sequence[verify_pb2.Verdict], vote: Vote) -> RoundOutcome:
    return RoundOutcome(
        agree=tuple(v.validator for v in current if v.revealed and vote(v)),
        disagree=tuple(v.validator for v in current if v.revealed and not vote(v)),
        silent=tuple(v.validator for v in current if not v.revealed),
        quorum=len(current) // 2 + 1,
    )


def _overall(decisions: dict[str, str]) -> str:
    """Any aspect failed: fail; every aspect passed: pass; else none."""
    if "fail" in decisions.values():
        return "fail"
    if decisions and all(d == "pass" for d in decisions.values()):
        return "pass"
    return "none"


def _mark_passed(session: verify_pb2.Session, aspects: Sequence[str]) -> None:
    for run in session.methods:
        if run.status != V.METHOD_STATUS_PENDING:
            continue
        if (
            ("output" in aspects and run.method in OUTPUT_METHODS)
            or ("zk" in aspects and run.method == V.METHOD_ZK)
            or ("toploc" in aspects and run.method == V.METHOD_TOPLOC)
        ):
            run.status = V.METHOD_STATUS_PASSED
            run.detail = (run.detail + "; " if run.detail else "") + "passed"


def _tee_run(job: compute_pb2.Job) -> verify_pb2.MethodRun:
    """TEE passed: every accepted provider's quote was verified when its result came in."""
    quotes = [
        a.result.evidence
        for a in job.assignments
        if a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED
    ]
    run = V.MethodRun(
        status=V.METHOD_STATUS_PASSED,
        detail=f"{len(quotes)} provider quote(s) verified against on-chain collateral",
        evidence_digest=hashlib.sha256(
            b"".join(hashlib.sha256(q).digest() for q in quotes)
        ).digest(),
    )
    run.method = V.METHOD_TEE
    return run


def _skipped(method: int, detail: str) -> verify_pb2.MethodRun:
    run = V.MethodRun(status=V.METHOD_STATUS_SKIPPED, detail=detail)
    run.method = method  # type: ignore[assignment]
    return run


def _pending(method: int) -> verify_pb2.MethodRun:
    run = V.MethodRun(status=V.METHOD_STATUS_PENDING)
    run.method = method  # type: ignore[assignment]
    return run


def _status(session: verify_pb2.Session) -> str:
    return V.SessionStatus.Name(session.status).removeprefix("SESSION_STATUS_").lower()
