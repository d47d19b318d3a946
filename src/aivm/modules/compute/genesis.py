"""compute genesis: params, providers (EXITING ones with their completion time), slash
records, jobs, provider SLA records, reference prices, payment channels and hardware
challenges (with the next challenge id and the scheduler cursor).

Import recomputes each provider's tier from its hardware, rebuilds the offer index (ACTIVE
providers) and the exit queue (EXITING ones), continues slash ids from the largest + 1,
rebuilds every job queue and index from the job records (and each provider's running-job
count from the running assignments) and every hardware-check index from the challenge
records, and checks that the ``compute`` module account (funded
by the bank genesis) holds exactly the collateral, the job escrow and bid deposits, and the
channel deposits not yet paid out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf import json_format

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.channels import (
    ChannelKeeper,
    channels_escrow,
    export_channels,
    import_channels,
    validate_channels,
)
from aivm.modules.compute.errors import ErrInvalidGenesis
from aivm.modules.compute.hardware_checks import (
    export_hardware,
    import_hardware,
    validate_hardware,
)
from aivm.modules.compute.jobs import (
    A_RUNNING,
    JobKeeper,
)
from aivm.modules.compute.keeper import EXITING, STATUS_NAMES, ComputeKeeper, to_int
from aivm.modules.compute.params import DEFAULT_PARAMS, ComputeParams, params_from_proto
from aivm.modules.compute.validation import check_declaration
from aivm.modules.framework import Context
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

if TYPE_CHECKING:
    from aivm.modules.compute.module import ComputeModule


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
        _check_jobs(state)
        validate_channels(state.channels, state.next_channel_id)
        validate_hardware(state.hardware_challenges, state.next_hardware_challenge_id)
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


def _check_jobs(state: compute_pb2.GenesisState) -> None:
    ids = [job.id for job in state.jobs]
    if 0 in ids or len(set(ids)) != len(ids):
        raise ErrInvalidGenesis.wrap("job ids must be distinct and positive")
    if state.next_job_id and any(i >= state.next_job_id for i in ids):
        raise ErrInvalidGenesis.wrap("every job id must be below next_job_id")
    for job in state.jobs:
        addr_bytes(job.client)
        if job.state not in compute_pb2.JobState.values() or job.state == 0:
            raise ErrInvalidGenesis.wrap(f"job {job.id}: state {job.state}")
        to_int(job.escrow)
        for a in job.assignments:
            addr_bytes(a.provider)
            to_int(a.price_per_unit)
        for bid in job.bids:
            addr_bytes(bid.provider)
            to_int(bid.deposit)
    for stats in state.stats:
        addr_bytes(stats.operator)
        to_int(stats.earned)
    to_int(state.pending_protocol_fees)


def init_genesis(module: ComputeModule, ctx: Context, data: dict[str, Any]) -> None:
    """Write the state, rebuild the indexes and queues, check the account."""
    validate_genesis(data)
    state, params = parse_genesis(data)
    keeper = module.keeper
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
    _import_jobs(module.jobs, ctx, state)
    import_channels(module.channels, ctx, state.channels, state.next_channel_id)
    import_hardware(
        module.hardware,
        ctx,
        state.hardware_challenges,
        state.next_hardware_challenge_id,
        state.hardware_cursor,
    )
    problems = account_problems(keeper, ctx, module.jobs, module.channels)
    if problems:
        raise ErrInvalidGenesis.wrap("; ".join(problems))


def _import_jobs(jobs: JobKeeper, ctx: Context, state: compute_pb2.GenesisState) -> None:
    running: dict[str, int] = {}
    for job in state.jobs:
        jobs.restore_job(ctx, job)
        for a in job.assignments:
            if a.status == A_RUNNING:
                running[a.provider] = running.get(a.provider, 0) + 1
    for stats in state.stats:
        stats.active_jobs = running.pop(stats.operator, 0)
        jobs.set_stats(ctx, stats)
    for operator in sorted(running):
        fresh = jobs.get_stats(ctx, addr_bytes(operator))
        fresh.active_jobs = running[operator]
        jobs.set_stats(ctx, fresh)
    for price in state.reference_prices:
        jobs.set_reference_price(ctx, price)
    last = max((job.id for job in state.jobs), default=0)
    jobs.set_next_job_id(ctx, state.next_job_id or last + 1)
    jobs.set_pending_fees(ctx, to_int(state.pending_protocol_fees))


def export_genesis(module: ComputeModule, ctx: Context) -> dict[str, Any]:
    """The state in genesis form."""
    keeper, jobs = module.keeper, module.jobs
    channels, next_channel = export_channels(module.channels, ctx)
    challenges, next_challenge, cursor = export_hardware(module.hardware, ctx)
    state = compute_pb2.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        providers=list(keeper.iterate_providers(ctx)),
        slash_records=list(keeper.iterate_slash_records(ctx)),
        jobs=list(jobs.iterate_jobs(ctx)),
        stats=[
            compute_pb2.ProviderStats.FromString(raw) for _, raw in jobs.stats_store(ctx).iterate()
        ],
        reference_prices=[
            compute_pb2.ReferencePrice.FromString(raw)
            for _, raw in jobs.reference_prices_store(ctx).iterate()
        ],
        channels=channels,
        next_job_id=jobs.next_job_id(ctx),
        next_channel_id=next_channel,
        pending_protocol_fees=str(jobs.pending_fees(ctx)),
        hardware_challenges=challenges,
        next_hardware_challenge_id=next_challenge,
        hardware_cursor=cursor,
    )
    exported: dict[str, Any] = json_format.MessageToDict(state, preserving_proto_field_name=True)
    return exported


def owed(
    keeper: ComputeKeeper, ctx: Context, jobs: JobKeeper, channels: ChannelKeeper
) -> tuple[int, int, int]:
    """(Σ collateral of every provider, exiting ones included; Σ job escrow and bid
    deposits; Σ channel deposits not yet paid out)."""
    collateral = sum(to_int(r.collateral) for r in keeper.iterate_providers(ctx))
    held = jobs.held(ctx)
    in_channels = channels_escrow(list(channels.iterate_channels(ctx)))
    return collateral, held, in_channels


def account_problems(
    keeper: ComputeKeeper, ctx: Context, jobs: JobKeeper, channels: ChannelKeeper
) -> list[str]:
    """One line when the compute account does not hold exactly collateral + job escrow +
    channel deposits (in ucgpt, and nothing in any other denom)."""
    held = keeper.bank.get_all_balances(ctx, keeper.module_address)
    collateral, escrow, in_channels = owed(keeper, ctx, jobs, channels)
    expected = collateral + escrow + in_channels
    problems = []
    if held.amount_of(BOND_DENOM) != expected:
        problems.append(
            f"compute account holds {held.amount_of(BOND_DENOM)}{BOND_DENOM}, "
            f"owes {expected}{BOND_DENOM} ({collateral} collateral, {escrow} job escrow "
            f"and bid deposits, {in_channels} in channels)"
        )
    others = [c for c in held if c.denom != BOND_DENOM]
    problems += [f"compute account holds {c.amount}{c.denom}" for c in others]
    return problems
