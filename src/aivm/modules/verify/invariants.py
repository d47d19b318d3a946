"""verify invariants, checked by the simulation after every block: every open session has
exactly the queue and duty entries its phase implies, no entry points at a closed or missing
session, every compute job held for verification has an open session, and every trail
belongs to a COMPLETED job."""

from __future__ import annotations

from aivm.modules.compute import compute_pb2
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.modules.verify import keys
from aivm.modules.verify.keeper import OPEN_STATUSES, VerifyKeeper, expected_entries
from aivm.modules.verify.module import VerifyModule
from aivm.store import PrefixStore


def invariants(module: VerifyModule) -> dict[str, Invariant]:
    """entries, holds and trails, by name."""
    keeper = module.keeper
    return {
        "entries": lambda ctx: check_entries(ctx, keeper),
        "holds": lambda ctx: check_holds(ctx, keeper),
        "trails": lambda ctx: check_trails(ctx, keeper),
    }


def check_entries(ctx: Context, keeper: VerifyKeeper) -> list[str]:
    """The queue and duty keys are exactly those the sessions' phases imply."""
    expected: set[bytes] = set()
    for session in keeper.iterate_sessions(ctx):
        expected |= expected_entries(session)
    store = PrefixStore(ctx.store, keys.STORE_PREFIX)
    found = set()
    for prefix in (keys.DRAW_QUEUE, keys.TALLY_QUEUE, keys.DUTIES):
        found |= {prefix + key for key, _ in PrefixStore(store, prefix).iterate()}
    problems = [f"missing entry {key.hex()}" for key in sorted(expected - found)]
    problems += [f"stray entry {key.hex()}" for key in sorted(found - expected)]
    return problems


def check_holds(ctx: Context, keeper: VerifyKeeper) -> list[str]:
    """A job held for verification has an open session; an open session's job is held."""
    problems: list[str] = []
    jobs = keeper.jobs
    if jobs is None:
        return problems
    for job in jobs.iterate_jobs(ctx):
        if not job.verification_hold:
            continue
        session = keeper.get_session(ctx, job.id)
        if session is None or session.status not in OPEN_STATUSES:
            problems.append(f"job {job.id} is held without an open session")
    for session in keeper.iterate_sessions(ctx):
        if session.status not in OPEN_STATUSES:
            continue
        held = jobs.get_job(ctx, session.job_id)
        if held is None or not held.verification_hold:
            problems.append(f"session {session.job_id} is open but its job is not held")
    return problems


def check_trails(ctx: Context, keeper: VerifyKeeper) -> list[str]:
    """Every trail is of a COMPLETED job."""
    problems: list[str] = []
    if keeper.jobs is None:
        return problems
    for trail in keeper.iterate_trails(ctx):
        job = keeper.jobs.get_job(ctx, trail.job_id)
        if job is None or job.state != compute_pb2.JOB_STATE_COMPLETED:
            problems.append(f"trail {trail.job_id} is of a job that is not COMPLETED")
    return problems
