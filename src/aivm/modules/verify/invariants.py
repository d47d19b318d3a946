"""verify invariants, checked by the simulation after every block: every open session has
exactly the queue and duty entries its phase implies, no entry points at a closed or missing
session, every compute job held for verification has an open session, every trail belongs
to a COMPLETED job, and the optimistic method's games and windows are indexed exactly and
their bonds are exactly what the module account holds."""

from __future__ import annotations

from aivm.modules.compute import compute_pb2
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.modules.verify import keys, verify_pb2
from aivm.modules.verify.keeper import HELD_STATUSES, VerifyKeeper, expected_entries
from aivm.modules.verify.module import VerifyModule
from aivm.modules.verify.optimistic import (
    MODULE_ACCOUNT,
    UNDECIDED,
    expected_dispute_entries,
    optimistic_run,
)
from aivm.store import PrefixStore
from aivm.types.coin import BOND_DENOM

V = verify_pb2


def invariants(module: VerifyModule) -> dict[str, Invariant]:
    """entries, holds and trails, by name."""
    keeper = module.keeper
    return {
        "entries": lambda ctx: check_entries(ctx, keeper),
        "holds": lambda ctx: check_holds(ctx, keeper),
        "trails": lambda ctx: check_trails(ctx, keeper),
        "disputes": lambda ctx: check_disputes(ctx, keeper),
    }


def check_entries(ctx: Context, keeper: VerifyKeeper) -> list[str]:
    """The queue and duty keys are exactly those the sessions' phases imply."""
    expected: set[bytes] = set()
    for session in keeper.iterate_sessions(ctx):
        expected |= expected_entries(session, window=False)
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
        if session is None or session.status not in HELD_STATUSES:
            problems.append(f"job {job.id} is held without an open session")
    for session in keeper.iterate_sessions(ctx):
        if session.status not in HELD_STATUSES:
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


def check_disputes(ctx: Context, keeper: VerifyKeeper) -> list[str]:
    """Undecided games have exactly their index and deadline entries; a window entry belongs
    to a held session whose optimistic method is pending, and such a session without an
    undecided game has one; the module account holds exactly the undecided games' bonds."""
    disputes = list(keeper.disputes.iterate(ctx))
    store = PrefixStore(ctx.store, keys.STORE_PREFIX)
    found = set()
    for prefix in (keys.ACTIVE_DISPUTES, keys.GAME_QUEUE):
        found |= {prefix + key for key, _ in PrefixStore(store, prefix).iterate()}
    expected = expected_dispute_entries(disputes)
    problems = [f"missing dispute entry {key.hex()}" for key in sorted(expected - found)]
    problems += [f"stray dispute entry {key.hex()}" for key in sorted(found - expected)]
    windows = {key for key, _ in PrefixStore(store, keys.WINDOW_QUEUE).iterate()}
    undecided = {d.job_id for d in disputes if d.status in UNDECIDED}
    for session in keeper.iterate_sessions(ctx):
        run = optimistic_run(session)
        pending = (
            session.status in HELD_STATUSES
            and run is not None
            and run.status == V.METHOD_STATUS_PENDING
        )
        key = keys.u64(session.challenge_end_height) + keys.u64(session.job_id)
        if key in windows:
            windows.discard(key)
            if not pending:
                problems.append(f"window entry of session {session.job_id}, not pending")
        elif pending and session.job_id not in undecided:
            problems.append(f"session {session.job_id} is pending with no window or game")
    problems += [f"stray window entry {key.hex()}" for key in sorted(windows)]
    bonds = sum(int(d.bond or "0") for d in disputes if d.status in UNDECIDED)
    bank = keeper.compute.bank
    held = bank.get_balance(ctx, bank.accounts.module_addresses[MODULE_ACCOUNT], BOND_DENOM)
    if held != bonds:
        problems.append(f"module account holds {held}, undecided bonds are {bonds}")
    return problems
