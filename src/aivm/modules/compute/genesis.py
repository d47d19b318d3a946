"""compute genesis: params, providers (EXITING ones with their completion time) and slash
records.

Import recomputes each provider's tier from its hardware, rebuilds the offer index (ACTIVE
providers) and the exit queue (EXITING ones), continues slash ids from the largest + 1, and
checks that the ``compute`` module account (funded by the bank genesis) holds exactly the
providers' collateral.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.errors import ErrInvalidGenesis
from aivm.modules.compute.keeper import EXITING, STATUS_NAMES, ComputeKeeper, to_int
from aivm.modules.compute.params import DEFAULT_PARAMS, ComputeParams, params_from_proto
from aivm.modules.compute.validation import check_declaration
from aivm.modules.framework import Context
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec
from aivm.types.errors import AivmError


def default_genesis() -> dict[str, Any]:
    """Default params, no providers."""
    state = compute_pb2.GenesisState(params=DEFAULT_PARAMS.to_proto())
    exported: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return exported


def parse_genesis(data: dict[str, Any]) -> tuple[compute_pb2.GenesisState, ComputeParams]:
    """The genesis state and its params; ErrInvalidGenesis on anything malformed."""
    state = compute_pb2.GenesisState()
    try:
        json_format.ParseDict(data, state)
    except json_format.ParseError as exc:
        raise ErrInvalidGenesis.wrap(f"invalid compute genesis: {exc}") from exc
    params = params_from_proto(state.params) if state.HasField("params") else DEFAULT_PARAMS
    return state, params


def validate_genesis(data: dict[str, Any]) -> None:
    """Every provider is one the handlers could have written (model versions are checked
    at import, when the ai state exists); no duplicates; slash ids distinct."""
    state, params = parse_genesis(data)
    try:
        _check_providers(state, params)
        ids = [s.id for s in state.slash_records]
        if 0 in ids or len(set(ids)) != len(ids):
            raise ErrInvalidGenesis.wrap("slash record ids must be distinct and positive")
        for slash in state.slash_records:
            addr_bytes(slash.operator)
    except AivmError as exc:
        if exc.codespace == ErrInvalidGenesis.codespace and exc.code == ErrInvalidGenesis.code:
            raise
        raise ErrInvalidGenesis.wrap(exc.log) from None


def _check_providers(state: compute_pb2.GenesisState, params: ComputeParams) -> None:
    seen: set[bytes] = set()
    for record in state.providers:
        address = addr_bytes(record.operator)
        if address in seen:
            raise ErrInvalidGenesis.wrap(f"provider {record.operator} twice")
        seen.add(address)
        if record.status not in STATUS_NAMES:
            raise ErrInvalidGenesis.wrap(f"{record.operator}: status {record.status}")
        to_int(record.collateral)
        check_declaration(
            record.hardware,
            record.runtimes,
            record.offers,
            record.capacity,
            record.moniker,
            record.description,
        )
        if len(record.offers) > params.max_offers or record.capacity > params.max_capacity:
            raise ErrInvalidGenesis.wrap(f"{record.operator}: offers or capacity over the params")
        reputation = Dec.from_str(record.reputation)
        if not Dec.zero() <= reputation <= Dec.one():
            raise ErrInvalidGenesis.wrap(f"{record.operator}: reputation out of [0, 1]")
        if (record.status == EXITING) != (record.exit_completion_time_ns > 0):
            raise ErrInvalidGenesis.wrap(
                f"{record.operator}: exit_completion_time_ns is set exactly when EXITING"
            )


def init_genesis(keeper: ComputeKeeper, ctx: Context, data: dict[str, Any]) -> None:
    """Write the state, rebuild the offer index and the exit queue, check the account."""
    validate_genesis(data)
    state, params = parse_genesis(data)
    keeper.set_params(ctx, params)
    for record in state.providers:
        for offer in record.offers:
            keeper.check_version(ctx, offer.model_id, offer.version)
        record.tier = keys.tier_of(record.hardware)
        keeper.set_provider(ctx, record)
        if record.status == compute_pb2.PROVIDER_STATUS_ACTIVE:
            keeper.index_offers(ctx, record)
        elif record.status == EXITING:
            keeper.exit_queue(ctx).set(
                keys.exit_key(record.exit_completion_time_ns, addr_bytes(record.operator))[1:],
                keys.MARKER,
            )
    for slash in state.slash_records:
        keeper.add_slash_record(ctx, slash, params.max_slash_records)
    keeper.set_next_slash_id(ctx, max((s.id for s in state.slash_records), default=0) + 1)
    problems = account_problems(keeper, ctx)
    if problems:
        raise ErrInvalidGenesis.wrap("; ".join(problems))


def export_genesis(keeper: ComputeKeeper, ctx: Context) -> dict[str, Any]:
    """The state in genesis form."""
    state = compute_pb2.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        providers=list(keeper.iterate_providers(ctx)),
        slash_records=list(keeper.iterate_slash_records(ctx)),
    )
    exported: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return exported


def owed(keeper: ComputeKeeper, ctx: Context) -> int:
    """Σ collateral of every provider, exiting ones included (no escrow in this slice)."""
    return sum(to_int(r.collateral) for r in keeper.iterate_providers(ctx))


def account_problems(keeper: ComputeKeeper, ctx: Context) -> list[str]:
    """One line when the compute account does not hold exactly Σ collateral (in ucgpt, and
    nothing in any other denom)."""
    held = keeper.bank.get_all_balances(ctx, keeper.module_address)
    expected = owed(keeper, ctx)
    problems = []
    if held.amount_of(BOND_DENOM) != expected:
        problems.append(
            f"compute account holds {held.amount_of(BOND_DENOM)}{BOND_DENOM}, "
            f"owes {expected}{BOND_DENOM} of collateral"
        )
    others = [c for c in held if c.denom != BOND_DENOM]
    problems += [f"compute account holds {c.amount}{c.denom}" for c in others]
    return problems
