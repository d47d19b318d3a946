"""compute messages: register, update, add collateral, heartbeat, pause, resume, exit and
unjail a provider. Every message is signed by its ``operator``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, events
from aivm.modules.compute.keeper import ComputeKeeper, Declaration
from aivm.modules.compute.validation import check_declaration, collateral_amount
from aivm.modules.framework import Context, MsgRoute
from aivm.types import pb
from aivm.types.coin import BOND_DENOM


def _declaration(
    msg: compute_pb2.MsgRegisterProvider | compute_pb2.MsgUpdateProvider,
) -> Declaration:
    return Declaration(
        hardware=msg.hardware,
        runtimes=list(msg.runtimes),
        offers=list(msg.offers),
        capacity=msg.capacity,
        moniker=msg.moniker,
        description=msg.description,
    )


def _check(msg: compute_pb2.MsgRegisterProvider | compute_pb2.MsgUpdateProvider) -> None:
    addr_bytes(msg.operator)
    d = _declaration(msg)
    check_declaration(d.hardware, d.runtimes, d.offers, d.capacity, d.moniker, d.description)


def validate_register(msg: compute_pb2.MsgRegisterProvider) -> None:
    """Operator, collateral in the bond denom, a well-formed declaration."""
    _check(msg)
    collateral_amount(msg.collateral)


def handle_register(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgRegisterProvider
) -> compute_pb2.MsgRegisterProviderResponse:
    """Move the collateral to the compute account; create the ACTIVE provider."""
    amount = collateral_amount(msg.collateral)
    record = keeper.register(ctx, addr_bytes(msg.operator), amount, _declaration(msg))
    ctx.emit(
        events.REGISTER,
        ("operator", record.operator),
        ("collateral", f"{amount}{BOND_DENOM}"),
        ("tier", compute_pb2.Tier.Name(record.tier)),
        ("offers", str(len(record.offers))),
    )
    return compute_pb2.MsgRegisterProviderResponse(tier=record.tier)


def validate_update(msg: compute_pb2.MsgUpdateProvider) -> None:
    """Operator and a well-formed declaration."""
    _check(msg)


def handle_update(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgUpdateProvider
) -> compute_pb2.MsgUpdateProviderResponse:
    """Replace the declaration and re-index the offers."""
    record = keeper.update(ctx, addr_bytes(msg.operator), _declaration(msg))
    ctx.emit(
        events.UPDATE,
        ("operator", record.operator),
        ("tier", compute_pb2.Tier.Name(record.tier)),
        ("offers", str(len(record.offers))),
    )
    return compute_pb2.MsgUpdateProviderResponse(tier=record.tier)


def validate_add_collateral(msg: compute_pb2.MsgAddCollateral) -> None:
    """Operator and a positive amount of the bond denom."""
    addr_bytes(msg.operator)
    collateral_amount(msg.amount)


def handle_add_collateral(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgAddCollateral
) -> compute_pb2.MsgAddCollateralResponse:
    """Top up the collateral."""
    amount = collateral_amount(msg.amount)
    record = keeper.add_collateral(ctx, addr_bytes(msg.operator), amount)
    ctx.emit(
        events.ADD_COLLATERAL,
        ("operator", record.operator),
        ("amount", f"{amount}{BOND_DENOM}"),
        ("collateral", f"{record.collateral}{BOND_DENOM}"),
    )
    return compute_pb2.MsgAddCollateralResponse(collateral=record.collateral)


def validate_operator(msg: Any) -> None:
    """A valid operator address (the messages that carry nothing else)."""
    addr_bytes(msg.operator)


def handle_heartbeat(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgProviderHeartbeat
) -> compute_pb2.MsgProviderHeartbeatResponse:
    """Set last_seen_height (one record read and written)."""
    record = keeper.heartbeat(ctx, addr_bytes(msg.operator))
    ctx.emit(
        events.HEARTBEAT, ("operator", record.operator), ("height", str(record.last_seen_height))
    )
    return compute_pb2.MsgProviderHeartbeatResponse()


def handle_pause(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgPauseProvider
) -> compute_pb2.MsgPauseProviderResponse:
    """ACTIVE → PAUSED."""
    record = keeper.pause(ctx, addr_bytes(msg.operator))
    ctx.emit(events.PAUSE, ("operator", record.operator))
    return compute_pb2.MsgPauseProviderResponse()


def handle_resume(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgResumeProvider
) -> compute_pb2.MsgResumeProviderResponse:
    """PAUSED → ACTIVE."""
    record = keeper.resume(ctx, addr_bytes(msg.operator))
    ctx.emit(events.RESUME, ("operator", record.operator))
    return compute_pb2.MsgResumeProviderResponse()


def handle_exit(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgExitProvider
) -> compute_pb2.MsgExitProviderResponse:
    """→ EXITING; the collateral is returned after the unbonding time."""
    record = keeper.exit(ctx, addr_bytes(msg.operator))
    ctx.emit(
        events.EXIT,
        ("operator", record.operator),
        ("collateral", f"{record.collateral}{BOND_DENOM}"),
        ("completion_time_ns", str(record.exit_completion_time_ns)),
    )
    return compute_pb2.MsgExitProviderResponse(completion_time_ns=record.exit_completion_time_ns)


def handle_unjail(
    keeper: ComputeKeeper, ctx: Context, msg: compute_pb2.MsgUnjailProvider
) -> compute_pb2.MsgUnjailProviderResponse:
    """JAILED → ACTIVE once the jail time is over."""
    record = keeper.unjail(ctx, addr_bytes(msg.operator))
    ctx.emit(events.UNJAIL, ("operator", record.operator))
    return compute_pb2.MsgUnjailProviderResponse()


def _route(
    message_class: type[pb.Message],
    validate: Callable[[Any], None],
    handle: Callable[[ComputeKeeper, Context, Any], pb.Message],
    keeper: ComputeKeeper,
) -> MsgRoute:
    return MsgRoute(
        message_class=message_class,
        signers=lambda msg: [addr_bytes(msg.operator)],
        validate_basic=validate,
        handler=lambda ctx, msg: handle(keeper, ctx, msg),
    )


def msg_routes(keeper: ComputeKeeper) -> Sequence[MsgRoute]:
    """Routes of the compute message service (MsgUpdateParams is added by the module)."""
    m = compute_pb2
    return [
        _route(m.MsgRegisterProvider, validate_register, handle_register, keeper),
        _route(m.MsgUpdateProvider, validate_update, handle_update, keeper),
        _route(m.MsgAddCollateral, validate_add_collateral, handle_add_collateral, keeper),
        _route(m.MsgProviderHeartbeat, validate_operator, handle_heartbeat, keeper),
        _route(m.MsgPauseProvider, validate_operator, handle_pause, keeper),
        _route(m.MsgResumeProvider, validate_operator, handle_resume, keeper),
        _route(m.MsgExitProvider, validate_operator, handle_exit, keeper),
        _route(m.MsgUnjailProvider, validate_operator, handle_unjail, keeper),
    ]
