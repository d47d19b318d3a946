"""verify in the randomized simulation: drawn AI validators commit and reveal verdicts on
sessions built by the compute operations. Most verdicts are honest (the sim's honest output
of the job, :func:`aivm.modules.compute.job_simulation.honest_result`); about one in eight is
a lie, one in ten commits and never reveals, and one in ten reveals with the wrong salt
(refused: ErrRevealMismatch). The invariants then check queues, duties, holds and trails.

Optimistic verification (method 2) on the sim's DSM jobs (:mod:`aivm.modules.compute.
job_simulation` keeps every trace it built by root): ``open_dispute`` has an outsider dispute
a job still taking disputes — an honest challenger against a provider whose trace is wrong,
sometimes a false challenger (a self-consistent wrong trace) against an honest one; a provider
of the job, a challenger whose trace agrees, or a bad proof is refused; a provider whose
trace has a step too many is shown wrong at once by the artifact. ``bisect`` and
``final_step`` play the moving party's own trace (sometimes the wrong party, a wrong proof, a
wrong artifact or peaks: refused), and sometimes nobody moves, so EndBlock decides by
timeout. ``honest_never_slashed`` checks that every dispute decided by executing the operator
was won by the party whose trace was the honest one, and that winners were paid."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from aivm.ai.verify import trace
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.job_simulation import (
    DsmTrace,
    dsm_artifacts,
    dsm_job_program,
    dsm_traces,
    honest_result,
    honest_trace,
    output_bytes,
    wrong_trace,
)
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.keeper import verdict_commitment
from aivm.modules.verify.module import VerifyModule
from aivm.modules.verify.params import default_params
from aivm.types import pb

V = verify_pb2


def operations(module: VerifyModule) -> dict[str, WeightedOperation]:
    """commit_verdict and reveal_verdict, by name."""
    keeper = module.keeper

    def pending(env: SimEnv, status: int) -> list[tuple[verify_pb2.Session, str]]:
        out = []
        for session in keeper.iterate_sessions(env.ctx):
            if session.status != status and not (
                status == V.SESSION_STATUS_REVEAL and session.status == V.SESSION_STATUS_COMMIT
            ):
                continue
            for verdict in session.verdicts:
                if verdict.round == session.round and not verdict.revealed:
                    out.append((session, verdict.validator))
        return out

    def commit_verdict(env: SimEnv) -> Sequence[pb.Message] | None:
        found = [
            (s, v)
            for s, v in pending(env, V.SESSION_STATUS_COMMIT)
            if env.height <= s.commit_end_height
        ]
        if not found or keeper.jobs is None:
            return None
        session, validator = env.rng.choice(found)
        job = keeper.jobs.get_job(env.ctx, session.job_id)
        if job is None:
            return None
        output = honest_result(env, keeper.jobs, job)
        if env.rng.randrange(0, 8) == 0:
            output = b"lie:" + env.rng.randbytes(16)
        digest = hashlib.sha256(output).digest()
        salt = env.rng.randbytes(16)
        env.scratch("verify")[f"{session.job_id}/{session.round}/{validator}"] = (digest, salt)
        commitment = verdict_commitment(
            session.job_id, session.round, addr_bytes(validator), digest, salt
        )
        return [
            V.MsgCommitVerdict(validator=validator, job_id=session.job_id, commitment=commitment)
        ]

    def reveal_verdict(env: SimEnv) -> Sequence[pb.Message] | None:
        scratch = env.scratch("verify")
        found = [
            (s, v)
            for s, v in pending(env, V.SESSION_STATUS_REVEAL)
            if f"{s.job_id}/{s.round}/{v}" in scratch
        ]
        if not found:
            return None
        session, validator = env.rng.choice(found)
        digest, salt = scratch[f"{session.job_id}/{session.round}/{validator}"]
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            return None  # this one never reveals: slashed at the deadline
        if roll == 1:
            salt = b"wrong salt, refused!"
        return [
            V.MsgRevealVerdict(
                validator=validator, job_id=session.job_id, output_digest=digest, salt=salt
            )
        ]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        params = keeper.get_params(env.ctx).to_proto()
        params.commit_blocks = env.rng.randrange(1, 12)
        params.reveal_blocks = env.rng.randrange(1, 12)
        params.policy[env.rng.randrange(0, 4)].validators = env.rng.randrange(1, 4)
        params.round_blocks = env.rng.randrange(12, 25)
        params.dispute_bond = str(env.rng.choice((0, 1_000, 5_000, 20_000)))
        if env.rng.randrange(0, 10) == 0:
            rule = params.policy[env.rng.randrange(0, 4)]
            rule.methods.append(rule.methods[0])  # a method listed twice: refused
        authority = claimed_authority(env, module.authority)
        return [V.MsgUpdateParams(authority=authority, params=params)]

    def set_model_verification(env: SimEnv) -> Sequence[pb.Message] | None:
        models = [m for m in keeper.ai.iterate_models(env.ctx) if m.latest_version]
        if not models:
            return None
        model = env.rng.choice(models)
        requirement = V.TeeRequirement()
        roll = env.rng.randrange(0, 4)
        if roll == 0:
            requirement.allowed_measurements.append(env.rng.randbytes(20))  # wrong size: refused
        elif roll == 1:
            requirement.required = True  # no measurement: refused
        owner = model.owner if env.rng.randrange(0, 6) else addr_str(env.rng.choice(env.accounts))
        return [
            V.MsgSetModelVerification(
                owner=owner, model_id=model.id, version=model.latest_version, tee=requirement
            )
        ]

    def update_tee_collateral(env: SimEnv) -> Sequence[pb.Message] | None:
        """Collateral is Intel-signed JSON the simulation cannot make: a malformed upload,
        refused (the accepted path is tests/integration/test_verify_tee.py)."""
        sender = claimed_authority(env, module.authority)
        return [
            V.MsgUpdateTeeCollateral(
                sender=sender, json=b'{"tcb_info": "' + env.rng.randbytes(8).hex().encode() + b'"}'
            )
        ]

    def open_dispute(env: SimEnv) -> Sequence[pb.Message] | None:
        """An outsider disputes an accepted provider's trace while the window is open."""
        if keeper.jobs is None:
            return None
        found = []
        for job_id, _ in keeper.disputes.challengeable(env.ctx):
            job = keeper.jobs.get_job(env.ctx, job_id)
            if job is None:
                continue
            for a in job.assignments:
                if a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED:
                    found.append((job, a))
        if not found:
            return None
        job, a = env.rng.choice(found)
        program = dsm_job_program(env, keeper.jobs, job)
        honest = honest_trace(env, keeper.jobs, job)
        provider_trace = dsm_traces(env).get(_evidence(a).trace_root)
        if program is None or honest is None or provider_trace is None:
            return None
        roll = env.rng.randrange(0, 12)
        if provider_trace.honest:
            if roll < 3:
                return None  # nobody disputes this honest result (now)
            # a false challenger, or (1 in 12) an honest one whose trace agrees: refused
            mine = honest if roll == 3 else wrong_trace(env, program, honest)
        else:
            mine = honest
        outsiders = [x for x in env.accounts if addr_str(x) not in _providers(job)]
        challenger = addr_str(env.rng.choice(outsiders)) if outsiders else a.provider
        if roll == 6:
            challenger = a.provider  # a provider of the job: refused
        opening = trace.open_output(mine.commitment)
        proof = opening.step_proof
        if roll == 7 and mine.commitment.n_steps > 0:
            proof = trace.prove_step(mine.commitment, 0)  # another step's proof: refused
        msg = V.MsgOpenDispute(
            challenger=challenger,
            job_id=job.id,
            provider=a.provider,
            trace_root=mine.commitment.root,
            last_leaf=opening.leaf,
            last_proof=proof,
        )
        wrong_steps = len(provider_trace.tensors) != len(honest.tensors)
        if (wrong_steps and roll != 8) or roll == 9:
            # the artifact shows a wrong step count (the challenger wins at once); without
            # it such a dispute is refused (the traces' trees differ in size)
            version = keeper.ai.get_version(env.ctx, job.model_id, job.version)
            msg.artifact = dsm_artifacts(env)[version.artifact_sha256]
        return [msg]

    def undecided(env: SimEnv, status: int) -> tuple[verify_pb2.Dispute, DsmTrace] | None:
        """An undecided game in ``status`` and the trace of the party whose turn it is."""
        found = [d for d in keeper.disputes.undecided(env.ctx) if d.status == status]
        if not found:
            return None
        dispute = env.rng.choice(found)
        kept = dsm_traces(env).get(_root_of(dispute, dispute.turn))
        return None if kept is None else (dispute, kept)

    def bisect(env: SimEnv) -> Sequence[pb.Message] | None:
        """The party whose turn it is posts its own leaf at the mid step; sometimes the
        other party, or a proof of another step (refused), or nobody moves."""
        picked = undecided(env, V.DISPUTE_STATUS_BISECT)
        roll = env.rng.randrange(0, 16)
        if picked is None or roll == 0:
            return None  # nobody moves: the deadline may pass
        dispute, kept = picked
        mid = (dispute.lo + dispute.hi) // 2
        sender = _party_address(dispute, dispute.turn)
        proof = trace.prove_step(kept.commitment, mid)
        if roll == 1:
            sender = _party_address(dispute, _other(dispute.turn))  # not its turn: refused
        elif roll == 2:
            proof = trace.prove_step(kept.commitment, dispute.lo)  # another step: refused
        return [
            V.MsgBisect(
                sender=sender, job_id=dispute.job_id, leaf=kept.commitment.leaves[mid], proof=proof
            )
        ]

    def final_step(env: SimEnv) -> Sequence[pb.Message] | None:
        """A party (the provider, whose turn it is, mostly) sends the artifact, the disputed
        operator's inputs opened under the agreed leaf and the agreed prefix's peaks;
        sometimes the wrong artifact or peaks, or an outsider (refused), or nobody."""
        picked = undecided(env, V.DISPUTE_STATUS_FINAL)
        roll = env.rng.randrange(0, 16)
        if picked is None or keeper.jobs is None or roll == 0:
            return None
        dispute, kept = picked
        job = keeper.jobs.get_job(env.ctx, dispute.job_id)
        program = None if job is None else dsm_job_program(env, keeper.jobs, job)
        if job is None or program is None:
            return None
        party = dispute.turn if roll != 1 else _other(dispute.turn)
        kept = dsm_traces(env).get(_root_of(dispute, party), kept)
        version = keeper.ai.get_version(env.ctx, job.model_id, job.version)
        artifact = dsm_artifacts(env)[version.artifact_sha256]
        lo, op = dispute.lo, dispute.hi - 1
        inputs = [
            V.TraceTensor(
                index=source,
                rows=kept.tensors[source].shape[0],
                cols=kept.tensors[source].shape[1],
                data=output_bytes(kept.tensors[source]),
                proof=trace.prove_tensor(kept.commitment, lo, source),
            )
            for source in trace.operator_sources(program, op)
        ]
        peaks = list(trace.prove_prefix(kept.commitment, lo))
        sender = _party_address(dispute, party)
        if roll == 2:
            artifact += b"\n"  # not the version's artifact: refused
        elif roll == 3:
            peaks = [*peaks[1:], hashlib.sha256(b"peak").digest()]  # wrong peaks: refused
        elif roll == 4:
            sender = addr_str(env.rng.choice(env.accounts))  # usually no party: refused
        return [
            V.MsgFinalStep(
                sender=sender, job_id=dispute.job_id, artifact=artifact, inputs=inputs, peaks=peaks
            )
        ]

    def honest_never_slashed(env: SimEnv) -> Sequence[pb.Message] | None:
        problems = honesty_problems(module, env) + dispute_problems(module, env)
        if problems:
            raise AssertionError("verify honesty: " + "; ".join(problems[:5]))
        return None  # a check, not a tx

    return {
        "honest_never_slashed": WeightedOperation(2, honest_never_slashed),
        "set_model_verification": WeightedOperation(1, set_model_verification),
        "update_tee_collateral": WeightedOperation(1, update_tee_collateral),
        "commit_verdict": WeightedOperation(15, commit_verdict),
        "reveal_verdict": WeightedOperation(15, reveal_verdict),
        "update_params": WeightedOperation(1, update_params),
        "open_dispute": WeightedOperation(8, open_dispute),
        "bisect": WeightedOperation(20, bisect),
        "final_step": WeightedOperation(10, final_step),
    }


def _evidence(a: compute_pb2.Assignment) -> verify_pb2.Evidence:
    try:
        return V.Evidence.FromString(a.result.evidence)
    except DecodeError:
        return V.Evidence()


def _providers(job: compute_pb2.Job) -> set[str]:
    return {a.provider for a in job.assignments}


def _other(party: int) -> int:
    return V.PARTY_CHALLENGER if party == V.PARTY_PROVIDER else V.PARTY_PROVIDER


def _root_of(dispute: verify_pb2.Dispute, party: int) -> bytes:
    return dispute.provider_root if party == V.PARTY_PROVIDER else dispute.challenger_root


def _party_address(dispute: verify_pb2.Dispute, party: int) -> str:
    return dispute.provider if party == V.PARTY_PROVIDER else dispute.challenger


def dispute_problems(module: VerifyModule, env: SimEnv) -> list[str]:
    """Every decided dispute between an honest and a wrong trace (the sim knows which is
    which): one decided by executing the operator was won by the honest party; a provider
    that won was paid the bond; a challenger that won failed the session."""
    keeper = module.keeper
    traces = dsm_traces(env)
    problems = []
    for dispute in keeper.disputes.iterate(env.ctx):
        if dispute.status != V.DISPUTE_STATUS_DONE:
            continue
        name = f"job {dispute.job_id} dispute {dispute.number}"
        if dispute.winner == V.PARTY_PROVIDER and dispute.paid != dispute.bond:
            problems.append(f"{name}: the provider won but was paid {dispute.paid}")
        session = keeper.get_session(env.ctx, dispute.job_id)
        if dispute.winner == V.PARTY_CHALLENGER and (
            session is None or session.status != V.SESSION_STATUS_FAILED
        ):
            problems.append(f"{name}: the challenger won but the session did not fail")
        provider = traces.get(dispute.provider_root)
        challenger = traces.get(dispute.challenger_root)
        if provider is None or challenger is None or provider.honest == challenger.honest:
            continue
        honest = V.PARTY_PROVIDER if provider.honest else V.PARTY_CHALLENGER
        if dispute.outcome == V.DISPUTE_OUTCOME_EXECUTION and dispute.winner != honest:
            problems.append(f"{name}: the honest {V.Party.Name(honest)} lost ({dispute.detail})")
    return problems


def honesty_problems(module: VerifyModule, env: SimEnv) -> list[str]:
    """The Byzantine-matrix property on every decided session of the run: whenever the honest
    verdicts (the sim's honest output, :func:`honest_result`) hold a majority of the deciding
    committee, the session decided for the truth (an honest result passed, a lie failed) and
    no validator that revealed the honest output was slashed for its verdict."""
    keeper = module.keeper
    if keeper.jobs is None:
        return []
    problems = []
    for session in keeper.iterate_sessions(env.ctx):
        if session.status not in (V.SESSION_STATUS_PASSED, V.SESSION_STATUS_FAILED):
            continue
        if not session.verdicts:
            continue
        job = keeper.jobs.get_job(env.ctx, session.job_id)
        if job is None:
            continue
        if any(
            d.winner == V.PARTY_CHALLENGER
            for d in keeper.disputes.of_job(env.ctx, job.id)
            if d.status == V.DISPUTE_STATUS_DONE
        ):
            continue  # failed by a dispute over the trace (the output may be right)
        honest = hashlib.sha256(honest_result(env, keeper.jobs, job)).digest()
        deciding = [v for v in session.verdicts if v.round == session.round]
        voters = [v for v in deciding if v.revealed and v.output_digest == honest]
        if len(voters) < len(deciding) // 2 + 1:
            continue  # liars (or the silent) held the committee: no promise
        truthful = job.output_digest == honest
        expected = V.SESSION_STATUS_PASSED if truthful else V.SESSION_STATUS_FAILED
        if session.status != expected:
            problems.append(
                f"job {job.id}: honest majority but {V.SessionStatus.Name(session.status)}"
            )
        for verdict in session.verdicts:
            if (
                verdict.revealed
                and verdict.output_digest == honest
                and verdict.slashed not in ("", "0")
            ):
                problems.append(f"job {job.id}: honest validator {verdict.validator} slashed")
    return problems


def sim_genesis() -> dict[str, object]:
    """The simulation's verify genesis: low jobs are sampled at a 100 % rate, high and
    critical ones re-executed by 1–2 validators, so a short run reaches commits, reveals and
    tallies with the few AI validators it registers; medium jobs are verified optimistically
    alone, high and critical ones optimistically too (DSM versions), with 16-block challenge
    windows, 20 blocks per move and a small bond, so disputes run to the end in a short run."""
    params = default_params().to_proto()
    for rule in params.policy:
        rule.validators = 1 if rule.criticality < V.CRITICALITY_CRITICAL else 2
        if V.METHOD_SAMPLING in rule.methods:
            rule.sample_rate = "1.000000000000000000"
        if rule.criticality == V.CRITICALITY_MEDIUM:
            del rule.methods[:]
            rule.methods.append(V.METHOD_OPTIMISTIC)  # optimistic alone
            rule.sample_rate = "0"
        if V.METHOD_OPTIMISTIC in rule.methods:
            rule.challenge_window_blocks = 16
    params.commit_blocks, params.reveal_blocks = 4, 4
    params.round_blocks = 20
    params.dispute_bond = "5000"
    return {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}
