"""compute invariants, checked by the simulation (and ``aivm devnet --check-invariants``)
after every block: the compute account holds exactly the providers' collateral plus job
escrow, bid deposits and channel deposits; the offer index is exactly the offers of ACTIVE
providers; the exit queue is exactly the EXITING providers at their completion times; every
job has exactly the index and queue entries its state implies, final jobs hold nothing, and
each provider's running-job count is its running assignments; plus the channel invariants
(:func:`aivm.modules.compute.channels.channel_invariants`)."""

from __future__ import annotations

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.channels import channel_invariants
from aivm.modules.compute.genesis import account_problems
from aivm.modules.compute.hardware_checks import hardware_invariants
from aivm.modules.compute.index_checks import check_offer_index
from aivm.modules.compute.jobs import A_RUNNING, FINAL_STATES, JobKeeper, expected_entries
from aivm.modules.compute.keeper import EXITING, ComputeKeeper
from aivm.modules.compute.module import ComputeModule
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant


def invariants(module: ComputeModule) -> dict[str, Invariant]:
    """collateral (the whole account), offer_index, exit_queue, job_entries, job_holdings,
    active_jobs and the channel invariants, by name."""
    keeper, jobs, channels = module.keeper, module.jobs, module.channels
    return {
        "collateral": lambda ctx: account_problems(keeper, ctx, jobs, channels),
        "offer_index": lambda ctx: check_offer_index(ctx, keeper),
        "exit_queue": lambda ctx: check_exit_queue(ctx, keeper),
        "job_entries": lambda ctx: check_job_entries(ctx, jobs),
        "job_holdings": lambda ctx: check_job_holdings(ctx, jobs),
        "active_jobs": lambda ctx: check_active_jobs(ctx, jobs),
        **channel_invariants(channels),
        **hardware_invariants(module.hardware),
    }


QUEUES = (
    keys.JOBS_BY_CLIENT,
    keys.JOBS_BY_PROVIDER,
    keys.ASSIGNMENT_DEADLINES,
    keys.JOB_DEADLINES,
    keys.SETTLE_QUEUE,
    keys.AUCTION_QUEUE,
)


def check_job_entries(ctx: Context, jobs: JobKeeper) -> list[str]:
    """The job indexes and queues hold exactly the entries the job records imply."""
    expected: set[bytes] = set()
    for job in jobs.iterate_jobs(ctx):
        expected |= expected_entries(job)
    found = {q + k for q in QUEUES for k, _ in jobs.queue_store(ctx, q).iterate()}
    problems = [f"job entry missing: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray job entry: {k.hex()}" for k in sorted(found - expected)]
    return problems


def check_job_holdings(ctx: Context, jobs: JobKeeper) -> list[str]:
    """A finished job holds no escrow or deposits; paid + fee + refunded + held = locked."""
    problems = []
    for job in jobs.iterate_jobs(ctx):
        if job.state in FINAL_STATES and (
            job.escrow != "0" or any(b.deposit not in ("", "0") for b in job.bids)
        ):
            problems.append(f"finished job {job.id} still holds {job.escrow}")
    return problems


def check_active_jobs(ctx: Context, jobs: JobKeeper) -> list[str]:
    """Each provider's running-job count equals its running assignments."""
    running: dict[str, int] = {}
    for job in jobs.iterate_jobs(ctx):
        for a in job.assignments:
            if a.status == A_RUNNING:
                running[a.provider] = running.get(a.provider, 0) + 1
    problems = []
    for _, raw in jobs.stats_store(ctx).iterate():
        stats = compute_pb2.ProviderStats.FromString(raw)
        if stats.active_jobs != running.pop(stats.operator, 0):
            problems.append(f"{stats.operator}: active_jobs {stats.active_jobs} is wrong")
    problems += [f"{op}: running assignments without a stats record" for op in sorted(running)]
    return problems


def check_exit_queue(ctx: Context, keeper: ComputeKeeper) -> list[str]:
    """Each EXITING provider sits in the queue at its completion time, and nothing else."""
    expected = {
        keys.exit_key(r.exit_completion_time_ns, addr_bytes(r.operator))[1:]
        for r in keeper.iterate_providers(ctx)
        if r.status == EXITING
    }
    found = {key for key, _ in keeper.exit_queue(ctx).iterate()}
    problems = [f"exiting provider not queued: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray exit queue entry: {k.hex()}" for k in sorted(found - expected)]
    return problems
