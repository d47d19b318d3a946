"""verify in the randomized simulation: drawn AI validators commit and reveal verdicts on
sessions built by the compute operations. Most verdicts are honest (the sim's honest output
of the job, :func:`aivm.modules.compute.job_simulation.honest_output`); about one in eight is
a lie, one in ten commits and never reveals, and one in ten reveals with the wrong salt
(refused: ErrRevealMismatch). The invariants then check queues, duties, holds and trails."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.compute.job_simulation import honest_output
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
        output = honest_output(job)
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
        if env.rng.randrange(0, 10) == 0:
            params.policy[0].methods.append(V.METHOD_OPTIMISTIC)  # planned: refused
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

    def honest_never_slashed(env: SimEnv) -> Sequence[pb.Message] | None:
        problems = honesty_problems(module, env)
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
    }


def honesty_problems(module: VerifyModule, env: SimEnv) -> list[str]:
    """The Byzantine-matrix property on every decided session of the run: whenever the honest
    verdicts (the sim's honest output, :func:`honest_output`) hold a majority of the deciding
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
        honest = hashlib.sha256(honest_output(job)).digest()
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
    """The simulation's verify genesis: every job is verified by a small committee (sampling
    at a 100 % rate for low and medium, re-execution by 1–2 validators above), so a short
    run reaches commits, reveals and tallies with the few AI validators it registers."""
    params = default_params().to_proto()
    for rule in params.policy:
        rule.validators = 1 if rule.criticality < V.CRITICALITY_CRITICAL else 2
        if V.METHOD_SAMPLING in rule.methods:
            rule.sample_rate = "1.000000000000000000"
    params.commit_blocks, params.reveal_blocks = 4, 4
    return {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}
