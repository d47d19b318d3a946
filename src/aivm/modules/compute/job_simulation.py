"""compute jobs in the randomized simulation: submit jobs (instant and auction, k = 1..3,
sometimes with a deadline too short, an unknown version or a bad digest: refused), cancel,
top up, submit results (honest ones agree on a digest derived from the job's input; about one
in six is a lie, which redundancy catches), report unservable inputs, commit and reveal sealed
bids (sometimes a reveal that does not match), and settle jobs. Results, bids and settlements
are built from the committed state, so most of them are accepted; the invariants then check
escrow, queues and provider counts after every block."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aivm.crypto.cid import cid_of
from aivm.modules.addr import addr_str
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.jobs import (
    A_RUNNING,
    AUCTION,
    PENDING,
    JobKeeper,
    commitment_of,
)
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types import pb

J = compute_pb2


def honest_output(job: compute_pb2.Job) -> bytes:
    """What an honest provider outputs for a sim job (deterministic in the input)."""
    return b"out:" + hashlib.sha256(job.input_digest + job.version.encode()).digest()


def job_operations(jobs: JobKeeper) -> dict[str, WeightedOperation]:
    """submit_job, cancel_job, top_up_job, submit_result, report_unservable, commit_bid,
    reveal_bid and settle_job, by name."""
    providers = jobs.providers

    def offered(env: SimEnv) -> list[tuple[int, str]]:
        pairs = {
            (o.model_id, o.version) for r in providers.iterate_providers(env.ctx) for o in r.offers
        }
        return sorted(pairs)

    def open_jobs(env: SimEnv, states: tuple[int, ...]) -> list[compute_pb2.Job]:
        return [j for j in jobs.iterate_jobs(env.ctx) if j.state in states]

    def submit_job(env: SimEnv) -> Sequence[pb.Message] | None:
        pairs = offered(env)
        if not pairs:
            return None
        model_id, version = env.rng.choice(pairs)
        params = providers.get_params(env.ctx)
        data = env.rng.randbytes(env.rng.randrange(1, 64))
        mode = J.MATCH_MODE_AUCTION if env.rng.randrange(0, 3) == 0 else J.MATCH_MODE_INSTANT
        deadline = params.response_blocks(0) + params.bid_window_blocks
        deadline += params.reveal_window_blocks + env.rng.randrange(0, 40)
        msg = J.MsgSubmitJob(
            client=addr_str(env.rng.choice(env.accounts)),
            model_id=model_id,
            version=version,
            input_inline=data,
            input_digest=hashlib.sha256(data).digest(),
            units=env.rng.randrange(1, 5),
            max_price_per_unit=str(env.rng.randrange(1, 2 * 10**6)),
            deadline_blocks=deadline,
            redundancy=env.rng.choice((1, 1, 2, 3)),
            mode=mode,
            criticality=env.rng.choice((0, 0, 1, 2, 3)),  # type: ignore[arg-type]
        )
        roll = env.rng.randrange(0, 12)
        if roll == 0:
            msg.deadline_blocks = 1  # shorter than the SLA class: refused
        elif roll == 1:
            msg.input_digest = b"\x00" * 32  # not the input's hash: refused
        elif roll == 2:
            msg.version = "9.9.9"  # unknown version: refused
        return [msg]

    def cancel_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (J.JOB_STATE_OPEN, AUCTION, J.JOB_STATE_RUNNING))
        if not found:
            return None
        job = env.rng.choice(found)
        return [J.MsgCancelJob(client=job.client, job_id=job.id)]

    def top_up_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (J.JOB_STATE_OPEN, J.JOB_STATE_RUNNING))
        if not found:
            return None
        job = env.rng.choice(found)
        price = int(job.max_price_per_unit) + env.rng.randrange(0, 10**5)
        return [
            J.MsgTopUpJob(
                client=job.client,
                job_id=job.id,
                max_price_per_unit=str(price),
                extend_blocks=env.rng.randrange(0, 10),
            )
        ]

    def running(env: SimEnv) -> list[tuple[compute_pb2.Job, compute_pb2.Assignment]]:
        return [
            (job, a)
            for job in open_jobs(env, (J.JOB_STATE_RUNNING,))
            for a in job.assignments
            if a.status == A_RUNNING
        ]

    def submit_result(env: SimEnv) -> Sequence[pb.Message] | None:
        found = running(env)
        if not found:
            return None
        job, a = env.rng.choice(found)
        output = honest_output(job)
        if env.rng.randrange(0, 6) == 0:
            output = b"lie:" + env.rng.randbytes(16)
        msg = J.MsgSubmitResult(
            provider=a.provider,
            job_id=job.id,
            output_cid=cid_of(output),
            output_digest=hashlib.sha256(output).digest(),
            runtime="sim",
        )
        return [msg]

    def report_unservable(env: SimEnv) -> Sequence[pb.Message] | None:
        found = running(env)
        if not found:
            return None
        job, a = env.rng.choice(found)
        return [J.MsgReportUnservable(provider=a.provider, job_id=job.id, detail="sim")]

    def commit_bid(env: SimEnv) -> Sequence[pb.Message] | None:
        found = [j for j in open_jobs(env, (AUCTION,)) if env.height <= j.bid_commit_end_height]
        if not found:
            return None
        job = env.rng.choice(found)
        serving = [
            r.operator
            for r in providers.iterate_providers(env.ctx)
            if any(o.model_id == job.model_id and o.version == job.version for o in r.offers)
        ]
        if not serving:
            return None
        provider = env.rng.choice(serving)
        price = env.rng.randrange(1, int(job.max_price_per_unit) + 1)
        salt = env.rng.randbytes(16)
        env.scratch("compute")[f"bid/{job.id}/{provider}"] = (price, salt)
        commitment = commitment_of(job.id, price, salt)
        return [J.MsgCommitBid(provider=provider, job_id=job.id, commitment=commitment)]

    def reveal_bid(env: SimEnv) -> Sequence[pb.Message] | None:
        found = [
            (j, b)
            for j in open_jobs(env, (AUCTION,))
            if j.bid_commit_end_height < env.height <= j.bid_reveal_end_height
            for b in j.bids
            if not b.revealed
        ]
        if not found:
            return None
        job, bid = env.rng.choice(found)
        saved = env.scratch("compute").get(f"bid/{job.id}/{bid.provider}")
        if saved is None:
            return None
        price, salt = saved
        if env.rng.randrange(0, 8) == 0:
            price += 1  # does not match the commitment: refused
        return [
            J.MsgRevealBid(
                provider=bid.provider, job_id=job.id, price_per_unit=str(price), salt=salt
            )
        ]

    def settle_job(env: SimEnv) -> Sequence[pb.Message] | None:
        found = open_jobs(env, (PENDING,))
        if not found:
            return None
        job = env.rng.choice(found)
        sender = addr_str(env.rng.choice(env.accounts))
        return [J.MsgSettleJob(sender=sender, job_id=job.id)]

    return {
        "submit_job": WeightedOperation(6, submit_job),
        "cancel_job": WeightedOperation(1, cancel_job),
        "top_up_job": WeightedOperation(1, top_up_job),
        "submit_result": WeightedOperation(8, submit_result),
        "report_unservable": WeightedOperation(3, report_unservable),
        "commit_bid": WeightedOperation(5, commit_bid),
        "reveal_bid": WeightedOperation(8, reveal_bid),
        "settle_job": WeightedOperation(1, settle_job),
    }
