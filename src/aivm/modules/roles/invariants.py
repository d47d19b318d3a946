"""roles invariants, checked by the simulation after every block: the roles account holds
exactly what it owes, every active set fits its size and holds only eligible operators, the
candidate index agrees with the records, and every work counter is a positive uint64 of a
registered operator."""

from __future__ import annotations

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context
from aivm.modules.roles import keys
from aivm.modules.roles.genesis import pool_problems
from aivm.modules.roles.keeper import RolesKeeper, to_int
from aivm.modules.roles.module import RolesModule
from aivm.modules.roles.params import ROLE_NAMES, ROLES
from aivm.modules.simulation import Invariant
from aivm.store import PrefixStore


def invariants(module: RolesModule) -> dict[str, Invariant]:
    """pool, active_sets, candidates and work, by name."""
    keeper = module.keeper
    return {
        "pool": lambda ctx: pool_problems(keeper, ctx),
        "active_sets": lambda ctx: check_active_sets(ctx, keeper),
        "candidates": lambda ctx: check_candidates(ctx, keeper),
        "work": lambda ctx: check_work(ctx, keeper),
    }


def check_active_sets(ctx: Context, keeper: RolesKeeper) -> list[str]:
    """Each role's set is at most ``max_active`` operators, each not jailed, bonded at least
    ``min_bond``, and marked ACTIVE."""
    params = keeper.get_params(ctx)
    problems: list[str] = []
    for role in ROLES:
        members = keeper.active_set(ctx, role)
        name = ROLE_NAMES[role]
        if len(members) > params.max_active[role]:
            problems.append(f"{name}: {len(members)} active, max {params.max_active[role]}")
        for member in members:
            record = keeper.get_operator(ctx, addr_bytes(member.operator), role)
            if record is None:
                problems.append(f"{name}: active {member.operator} has no record")
            elif record.jailed or to_int(record.bond) < params.min_bond[role]:
                problems.append(f"{name}: active {member.operator} is not eligible")
            elif record.status != 1:
                problems.append(f"{name}: active {member.operator} has status {record.status}")
    return problems


def check_candidates(ctx: Context, keeper: RolesKeeper) -> list[str]:
    """Every record not jailed with a bond sits in the candidate index under its score and
    bond, and nothing else does."""
    problems: list[str] = []
    store = PrefixStore(ctx.store, keys.STORE_PREFIX)
    expected: set[bytes] = set()
    for record in keeper.iterate_operators(ctx):
        if record.jailed or to_int(record.bond) == 0:
            continue
        key = keys.candidate_key(
            record.role, to_int(record.selection_score), addr_bytes(record.operator)
        )
        expected.add(key)
        if store.get(key) != record.bond.encode():
            problems.append(
                f"{record.operator} ({ROLE_NAMES[record.role]}) missing from candidates"
            )
    for key, _ in PrefixStore(store, keys.CANDIDATE).iterate():
        if keys.CANDIDATE + key not in expected:
            problems.append(f"stray candidate entry {key.hex()}")
    return problems


def check_work(ctx: Context, keeper: RolesKeeper) -> list[str]:
    """Each work counter holds 8 bytes, a positive count, of an operator registered in the
    counter's role (counters live one reward period: only this block's work is there)."""
    problems: list[str] = []
    for key, raw in keeper.work_store(ctx, None).iterate():
        role, address = key[0], key[2:]
        if len(raw) != 8 or int.from_bytes(raw, "big") == 0:
            problems.append(f"work counter {key.hex()} holds {raw.hex()}")
        elif role not in ROLES or keeper.get_operator(ctx, address, role) is None:
            problems.append(f"work counter {key.hex()} of an unregistered operator")
    return problems
