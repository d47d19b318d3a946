"""roles genesis: params, operators, unbonding entries, slash records, rewards, remainders and
the work counters of the current reward period.

Import recomputes what follows from the records (capability and selection scores, statuses,
the candidate index, the active sets) and checks that the ``roles`` module account (funded
by the bank genesis) holds exactly the bonds, the unbonding entries, the rewards and the
remainders.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context
from aivm.modules.roles import keys, roles_pb2
from aivm.modules.roles.capability import capability_score, check_capability
from aivm.modules.roles.errors import ErrInvalidGenesis
from aivm.modules.roles.keeper import MAX_WORK_COUNTER, RolesKeeper, check_role, to_int
from aivm.modules.roles.params import DEFAULT_PARAMS, ROLES, RolesParams, params_from_proto
from aivm.modules.roles.rewards import DecAmounts, add_amounts, from_dec_coins
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec
from aivm.types.errors import AivmError


def default_genesis() -> dict[str, Any]:
    """Default params, no operators."""
    state = roles_pb2.GenesisState(params=DEFAULT_PARAMS.to_proto())
    exported: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return exported


def parse_genesis(data: dict[str, Any]) -> tuple[roles_pb2.GenesisState, RolesParams]:
    """The genesis state and its params; ErrInvalidGenesis on anything malformed."""
    state = roles_pb2.GenesisState()
    try:
        json_format.ParseDict(data, state)
    except json_format.ParseError as exc:
        raise ErrInvalidGenesis.wrap(f"invalid roles genesis: {exc}") from exc
    params = params_from_proto(state.params) if state.HasField("params") else DEFAULT_PARAMS
    return state, params


def validate_genesis(data: dict[str, Any]) -> None:
    """Every record is one the handlers could have written; no duplicates."""
    state, params = parse_genesis(data)
    try:
        _check_operators(state, params)
        _check_entries(state)
        _check_work(state)
    except AivmError as exc:
        if exc.codespace == ErrInvalidGenesis.codespace:
            raise
        raise ErrInvalidGenesis.wrap(exc.log) from None


def _check_operators(state: roles_pb2.GenesisState, params: RolesParams) -> None:
    seen: set[tuple[bytes, int]] = set()
    for record in state.operators:
        key = (addr_bytes(record.operator), record.role)
        check_role(record.role)
        if key in seen:
            raise ErrInvalidGenesis.wrap(f"{record.operator} twice in role {record.role}")
        seen.add(key)
        to_int(record.bond)
        check_capability(record.role, record.capability)
        performance = Dec.from_str(record.performance)
        if not params.performance_min <= performance <= params.performance_max:
            raise ErrInvalidGenesis.wrap(
                f"{record.operator}: performance {performance} out of range"
            )
    for entry in state.unbonding_entries:
        if (addr_bytes(entry.operator), entry.role) not in seen:
            raise ErrInvalidGenesis.wrap(f"unbonding entry {entry.id} of an unknown operator")
        if to_int(entry.balance) > to_int(entry.initial_balance):
            raise ErrInvalidGenesis.wrap(f"unbonding entry {entry.id} grew")


def _check_entries(state: roles_pb2.GenesisState) -> None:
    for name, ids in (
        ("unbonding entry", [e.id for e in state.unbonding_entries]),
        ("slash record", [s.id for s in state.slash_records]),
    ):
        if 0 in ids or len(set(ids)) != len(ids):
            raise ErrInvalidGenesis.wrap(f"{name} ids must be distinct and positive")
    for slash in state.slash_records:
        addr_bytes(slash.operator)
        check_role(slash.role)
    rewards = [(addr_bytes(r.operator), r.role) for r in state.rewards]
    if len(set(rewards)) != len(rewards):
        raise ErrInvalidGenesis.wrap("two rewards entries for one operator and role")
    for entry in state.rewards:
        check_role(entry.role)
        from_dec_coins(entry.rewards)
    roles = [r.role for r in state.remainders]
    if len(set(roles)) != len(roles) or any(r not in ROLES for r in roles):
        raise ErrInvalidGenesis.wrap("one remainder per role at most")
    for remainder in state.remainders:
        from_dec_coins(remainder.remainder)


def _check_work(state: roles_pb2.GenesisState) -> None:
    """One counter per operator and role, of a registered operator, 1 to 2**64 − 1 units."""
    registered = {(addr_bytes(r.operator), r.role) for r in state.operators}
    seen: set[tuple[bytes, int]] = set()
    for counter in state.work_counters:
        key = (addr_bytes(counter.operator), counter.role)
        check_role(counter.role)
        if key not in registered:
            raise ErrInvalidGenesis.wrap(f"work counter of an unknown operator {counter.operator}")
        if key in seen:
            raise ErrInvalidGenesis.wrap(f"two work counters of {counter.operator} in one role")
        seen.add(key)
        if not 0 < counter.units <= MAX_WORK_COUNTER:
            raise ErrInvalidGenesis.wrap(f"work counter of {counter.operator} must be positive")


def init_genesis(keeper: RolesKeeper, ctx: Context, data: dict[str, Any]) -> None:
    """Write the state, rebuild the derived indexes and active sets, check the pool."""
    validate_genesis(data)
    state, params = parse_genesis(data)
    keeper.set_params(ctx, params)
    for record in state.operators:
        record.capability_score = str(capability_score(record.capability))
        record.selection_score = "0"
        record.status = roles_pb2.OPERATOR_STATUS_UNSPECIFIED
        keeper.write_operator(ctx, record)
    for entry in state.unbonding_entries:
        keeper.set_unbonding_entry(ctx, entry)
    keeper.set_next_id(
        ctx, keys.NEXT_UNBONDING_ID, max((e.id for e in state.unbonding_entries), default=0) + 1
    )
    for slash in state.slash_records:
        keeper.add_slash_record(ctx, slash, params.max_slash_records)
    keeper.set_next_id(
        ctx, keys.NEXT_SLASH_ID, max((s.id for s in state.slash_records), default=0) + 1
    )
    for entry in state.rewards:
        keeper.set_rewards(
            ctx, addr_bytes(entry.operator), entry.role, from_dec_coins(entry.rewards)
        )
    for remainder in state.remainders:
        keeper.set_remainder(ctx, remainder.role, from_dec_coins(remainder.remainder))
    for counter in state.work_counters:
        keeper.set_work(ctx, addr_bytes(counter.operator), counter.role, counter.units)
    keeper.update_active_sets(ctx)
    problems = pool_problems(keeper, ctx)
    if problems:
        raise ErrInvalidGenesis.wrap("; ".join(problems))


def export_genesis(keeper: RolesKeeper, ctx: Context) -> dict[str, Any]:
    """The state in genesis form."""
    state = roles_pb2.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        operators=list(keeper.iterate_operators(ctx)),
        unbonding_entries=list(keeper.iterate_unbonding(ctx)),
        slash_records=list(keeper.iterate_slash_records(ctx)),
        rewards=list(keeper.iterate_rewards(ctx)),
        remainders=list(keeper.iterate_remainders(ctx)),
        work_counters=list(keeper.iterate_work(ctx)),
    )
    exported: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return exported


def owed(keeper: RolesKeeper, ctx: Context) -> DecAmounts:
    """What the roles account must hold: bonds + unbonding entries + rewards + remainders."""
    bonded = sum(to_int(r.bond) for r in keeper.iterate_operators(ctx))
    unbonding = sum(to_int(e.balance) for e in keeper.iterate_unbonding(ctx))
    total: DecAmounts = {BOND_DENOM: Dec(bonded + unbonding)} if bonded + unbonding else {}
    for entry in keeper.iterate_rewards(ctx):
        total = add_amounts(total, from_dec_coins(entry.rewards))
    for role in ROLES:
        total = add_amounts(total, keeper.get_remainder(ctx, role))
    return {denom: amount for denom, amount in total.items() if not amount.is_zero()}


def pool_problems(keeper: RolesKeeper, ctx: Context) -> list[str]:
    """One line per denom where the roles account's balance differs from what it owes."""
    held = keeper.bank.get_all_balances(ctx, keeper.module_address)
    expected = owed(keeper, ctx)
    denoms = sorted(set(expected) | set(held.denoms()))
    return [
        f"roles account holds {held.amount_of(d)}{d}, owes {expected.get(d, Dec.zero())}{d}"
        for d in denoms
        if Dec(held.amount_of(d)) != expected.get(d, Dec.zero())
    ]
