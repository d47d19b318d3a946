"""roles messages: register in a role, add bond, update the capability declaration, unbond,
unjail, withdraw rewards. Every message is signed by its ``operator``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.roles import events, roles_pb2
from aivm.modules.roles.capability import check_capability
from aivm.modules.roles.errors import ErrInvalidBond, ErrInvalidDescription
from aivm.modules.roles.keeper import RolesKeeper, check_role
from aivm.modules.roles.params import ROLE_NAMES
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.coin_proto import coins_to_proto
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

MAX_MONIKER = 70
MAX_DESCRIPTION = 280
"""Lengths of the SDK's validator moniker and details."""


def bond_amount(coin: pb.coin.Coin) -> int:
    """A positive amount of the bond denom; ErrInvalidBond otherwise."""
    if coin.denom != BOND_DENOM:
        raise ErrInvalidBond.wrap(f"role bonds are in {BOND_DENOM}, not {coin.denom[:64]!r}")
    amount = parse_digits(coin.amount, MAX_UINT256_DIGITS, ErrInvalidBond, "bond amount")
    if amount <= 0:
        raise ErrInvalidBond.wrap("the amount must be positive")
    return amount


def _operator_and_role(msg: Any) -> None:
    addr_bytes(msg.operator)
    check_role(msg.role)


def validate_register(msg: roles_pb2.MsgRegisterRole) -> None:
    """Operator, role, a bond in the bond denom, a declaration for the role, short texts."""
    _operator_and_role(msg)
    bond_amount(msg.bond)
    check_capability(msg.role, msg.capability)
    if len(msg.moniker) > MAX_MONIKER or len(msg.description) > MAX_DESCRIPTION:
        raise ErrInvalidDescription.wrap(
            f"moniker at most {MAX_MONIKER}, description at most {MAX_DESCRIPTION} characters"
        )


def handle_register(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgRegisterRole
) -> roles_pb2.MsgRegisterRoleResponse:
    """Move the bond to the roles account and create (or revive) the operator's record."""
    bond = bond_amount(msg.bond)
    record = keeper.register(ctx, addr_bytes(msg.operator), msg.role, bond, msg)
    ctx.emit(
        events.REGISTER,
        ("operator", record.operator),
        ("role", ROLE_NAMES[msg.role]),
        ("bond", f"{bond}{BOND_DENOM}"),
        ("capability_score", record.capability_score),
    )
    return roles_pb2.MsgRegisterRoleResponse()


def validate_add_bond(msg: roles_pb2.MsgAddRoleBond) -> None:
    """Operator, role, a positive amount of the bond denom."""
    _operator_and_role(msg)
    bond_amount(msg.amount)


def handle_add_bond(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgAddRoleBond
) -> roles_pb2.MsgAddRoleBondResponse:
    """Top up the bond."""
    amount = bond_amount(msg.amount)
    record = keeper.add_bond(ctx, addr_bytes(msg.operator), msg.role, amount)
    ctx.emit(
        events.ADD_BOND,
        ("operator", record.operator),
        ("role", ROLE_NAMES[msg.role]),
        ("amount", f"{amount}{BOND_DENOM}"),
        ("bond", f"{record.bond}{BOND_DENOM}"),
    )
    return roles_pb2.MsgAddRoleBondResponse()


def validate_update_capability(msg: roles_pb2.MsgUpdateCapability) -> None:
    """Operator, role and a declaration for the role."""
    _operator_and_role(msg)
    check_capability(msg.role, msg.capability)


def handle_update_capability(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgUpdateCapability
) -> roles_pb2.MsgUpdateCapabilityResponse:
    """Replace the declaration; the score follows."""
    record = keeper.update_capability(ctx, addr_bytes(msg.operator), msg.role, msg.capability)
    ctx.emit(
        events.UPDATE_CAPABILITY,
        ("operator", record.operator),
        ("role", ROLE_NAMES[msg.role]),
        ("capability_score", record.capability_score),
    )
    return roles_pb2.MsgUpdateCapabilityResponse(capability_score=record.capability_score)


def validate_unbond(msg: roles_pb2.MsgUnbondRole) -> None:
    """Operator, role, and either ``all`` or a positive amount of the bond denom."""
    _operator_and_role(msg)
    if not msg.all:
        bond_amount(msg.amount)


def handle_unbond(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgUnbondRole
) -> roles_pb2.MsgUnbondRoleResponse:
    """Start an unbonding entry."""
    amount = None if msg.all else bond_amount(msg.amount)
    entry = keeper.unbond(ctx, addr_bytes(msg.operator), msg.role, amount)
    ctx.emit(
        events.UNBOND,
        ("operator", entry.operator),
        ("role", ROLE_NAMES[msg.role]),
        ("amount", f"{entry.balance}{BOND_DENOM}"),
        ("completion_time_ns", str(entry.completion_time_ns)),
    )
    return roles_pb2.MsgUnbondRoleResponse(
        completion_time_ns=entry.completion_time_ns, entry_id=entry.id
    )


def validate_unjail(msg: roles_pb2.MsgUnjailRole) -> None:
    """Operator and role."""
    _operator_and_role(msg)


def handle_unjail(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgUnjailRole
) -> roles_pb2.MsgUnjailRoleResponse:
    """Lift a jail whose time has passed."""
    keeper.unjail(ctx, addr_bytes(msg.operator), msg.role)
    return roles_pb2.MsgUnjailRoleResponse()


def validate_withdraw(msg: roles_pb2.MsgWithdrawRoleRewards) -> None:
    """Operator, and a role or ROLE_UNSPECIFIED (every role)."""
    addr_bytes(msg.operator)
    if msg.role != roles_pb2.ROLE_UNSPECIFIED:
        check_role(msg.role)


def handle_withdraw(
    keeper: RolesKeeper, ctx: Context, msg: roles_pb2.MsgWithdrawRoleRewards
) -> roles_pb2.MsgWithdrawRoleRewardsResponse:
    """Pay the whole part of the claimable rewards (nothing to pay is not an error)."""
    role = None if msg.role == roles_pb2.ROLE_UNSPECIFIED else msg.role
    paid = keeper.withdraw_rewards(ctx, addr_bytes(msg.operator), role)
    ctx.emit(
        events.WITHDRAW_REWARDS,
        ("operator", msg.operator),
        ("role", "all" if role is None else ROLE_NAMES[role]),
        ("amount", str(paid)),
    )
    return roles_pb2.MsgWithdrawRoleRewardsResponse(amount=coins_to_proto(paid))


def _route(
    message_class: type[pb.Message],
    validate: Callable[[Any], None],
    handle: Callable[[RolesKeeper, Context, Any], pb.Message],
    keeper: RolesKeeper,
) -> MsgRoute:
    return MsgRoute(
        message_class=message_class,
        signers=lambda msg: [addr_bytes(msg.operator)],
        validate_basic=validate,
        handler=lambda ctx, msg: handle(keeper, ctx, msg),
    )


def msg_routes(keeper: RolesKeeper) -> Sequence[MsgRoute]:
    """Routes of the roles message service (MsgUpdateParams is added by the module)."""
    return [
        _route(roles_pb2.MsgRegisterRole, validate_register, handle_register, keeper),
        _route(roles_pb2.MsgAddRoleBond, validate_add_bond, handle_add_bond, keeper),
        _route(
            roles_pb2.MsgUpdateCapability,
            validate_update_capability,
            handle_update_capability,
            keeper,
        ),
        _route(roles_pb2.MsgUnbondRole, validate_unbond, handle_unbond, keeper),
        _route(roles_pb2.MsgUnjailRole, validate_unjail, handle_unjail, keeper),
        _route(roles_pb2.MsgWithdrawRoleRewards, validate_withdraw, handle_withdraw, keeper),
    ]
