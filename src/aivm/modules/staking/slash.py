"""Slashing and jailing, as the SDK's ``x/staking/keeper/slash.go``.

A slash of ``slash_factor`` at ``infraction_height`` takes ``slash_factor`` × (power at the
infraction × POWER_REDUCTION) tokens: first from the validator's unbonding delegations and
redelegations that started at or after that height (they were still at stake then), then what
remains from the validator's tokens, capped by what it has; every part is burned from the pool
holding it.
"""

from __future__ import annotations

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, POWER_REDUCTION, BondStatus
from aivm.modules.staking.codec import dec_wire, ts_ns, val_bytes
from aivm.modules.staking.delegation import jail_validator, remove_validator_tokens, unbond
from aivm.modules.staking.errors import ErrNoValidatorFound
from aivm.modules.staking.state import StakingState, operator_of, tokens_of
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import ErrInvalidRequest


def slash(
    keeper: StakingState,
    ctx: Context,
    cons_addr: bytes,
    infraction_height: int,
    power: int,
    slash_factor: Dec,
) -> int:
    """SDK ``Slash``; returns the tokens burned from the validator itself (0 when it is
    unknown, unbonded, or the infraction is in the future)."""
    if slash_factor.is_negative():
        raise ErrInvalidRequest.wrap(
            f"attempted to slash with a negative slash factor: {slash_factor}"
        )
    slash_amount = (Dec.from_int(power * POWER_REDUCTION) * slash_factor).truncate_int()
    validator = keeper.get_validator_proto_by_cons_addr(ctx, cons_addr)
    if validator is None or validator.status == BondStatus.UNBONDED:
        return 0
    if infraction_height > ctx.header.height:
        return 0
    operator = operator_of(validator)
    for hooks in keeper.hooks:
        hooks.before_validator_modified(ctx, operator)
    remaining = slash_amount
    if infraction_height < ctx.header.height:
        for ubd in list(keeper.iterate_validator_unbonding_delegations(ctx, operator)):
            remaining -= slash_unbonding_delegation(
                keeper, ctx, ubd, infraction_height, slash_factor
            )
        for red in list(keeper.iterate_redelegations_from(ctx, operator)):
            remaining -= slash_redelegation(keeper, ctx, red, infraction_height, slash_factor)
    validator = keeper.get_validator_proto(ctx, operator) or validator
    to_burn = max(0, min(remaining, tokens_of(validator)))
    if to_burn == 0:
        return 0
    # SDK QuoRoundUp of two integral decimals: ceil(to_burn × 10¹⁸ / tokens) raw units
    fraction = min(Dec.raw(-((-to_burn * 10**18) // tokens_of(validator))), Dec.one())
    for hooks in keeper.hooks:
        hooks.before_validator_slashed(ctx, operator, fraction)
    remove_validator_tokens(keeper, ctx, validator, to_burn)
    pool = BONDED_POOL if validator.status == BondStatus.BONDED else NOT_BONDED_POOL
    keeper.burn(ctx, pool, to_burn)
    return to_burn


def _slashable(entry_height: int, completion_ns: int, infraction_height: int, now: int) -> bool:
    """Started at or after the infraction and not yet mature."""
    return entry_height >= infraction_height and completion_ns > now


def slash_unbonding_delegation(
    keeper: StakingState,
    ctx: Context,
    ubd: pb.staking.UnbondingDelegation,
    infraction_height: int,
    slash_factor: Dec,
) -> int:
    """SDK ``SlashUnbondingDelegation``: cut each eligible entry by ``slash_factor`` × its
    initial balance (at most its balance), burn from the not-bonded pool; returns the total
    slash amount computed (not capped), as the SDK."""
    now = ctx.header.time_ns
    total = 0
    burned = 0
    for entry in ubd.entries:
        if not _slashable(
            entry.creation_height, ts_ns(entry.completion_time), infraction_height, now
        ):
            continue
        amount = slash_factor.mul_int(int(entry.initial_balance)).truncate_int()
        total += amount
        cut = min(amount, int(entry.balance))
        if cut <= 0:
            continue
        burned += cut
        entry.balance = str(int(entry.balance) - cut)
    if burned:
        keeper.set_unbonding_delegation(ctx, ubd)
    keeper.burn(ctx, NOT_BONDED_POOL, burned)
    return total


def slash_redelegation(
    keeper: StakingState,
    ctx: Context,
    red: pb.staking.Redelegation,
    infraction_height: int,
    slash_factor: Dec,
) -> int:
    """SDK ``SlashRedelegation``: for each eligible entry, first cut the delegator's
    unbonding entries from the destination, then unbond ``slash_factor`` × shares_dst from the
    destination delegation and burn those tokens from the pool of the destination's status;
    returns the total slash amount computed."""
    now = ctx.header.time_ns
    delegator = addr_bytes(red.delegator_address)
    dst = val_bytes(red.validator_dst_address)
    total = 0
    burned = {BONDED_POOL: 0, NOT_BONDED_POOL: 0}
    for entry in red.entries:
        if not _slashable(
            entry.creation_height, ts_ns(entry.completion_time), infraction_height, now
        ):
            continue
        amount = slash_factor.mul_int(int(entry.initial_balance)).truncate_int()
        total += amount
        remaining, from_unbonding = _slash_dst_unbonding(
            keeper, ctx, (delegator, dst), amount, infraction_height
        )
        burned[NOT_BONDED_POOL] += from_unbonding
        shares = slash_factor * dec_wire(entry.shares_dst)
        if shares.is_zero() or remaining == 0:
            continue
        delegation = keeper.get_delegation_proto(ctx, delegator, dst)
        if delegation is None:
            continue
        shares = min(shares, dec_wire(delegation.shares))
        tokens = unbond(keeper, ctx, delegator, dst, shares)
        dst_validator = keeper.get_validator_proto(ctx, dst)
        bonded = dst_validator is not None and dst_validator.status == BondStatus.BONDED
        burned[BONDED_POOL if bonded else NOT_BONDED_POOL] += tokens
    keeper.burn(ctx, BONDED_POOL, burned[BONDED_POOL])
    keeper.burn(ctx, NOT_BONDED_POOL, burned[NOT_BONDED_POOL])
    return total


def _slash_dst_unbonding(
    keeper: StakingState,
    ctx: Context,
    addrs: tuple[bytes, bytes],
    amount: int,
    infraction_height: int,
) -> tuple[int, int]:
    """Cut the delegator's unbonding entries from the destination first (the SDK's
    "undelegation after redelegation" case); returns (amount still to slash, burned)."""
    ubd = keeper.get_unbonding_delegation(ctx, *addrs)
    if ubd is None:
        return amount, 0
    now = ctx.header.time_ns
    burned = 0
    for entry in ubd.entries:
        cut = min(amount, int(entry.balance))
        if cut <= 0:
            continue
        if not _slashable(
            entry.creation_height, ts_ns(entry.completion_time), infraction_height, now
        ):
            continue
        amount -= cut
        burned += cut
        entry.balance = str(int(entry.balance) - cut)
    if burned:
        keeper.set_unbonding_delegation(ctx, ubd)
    return amount, burned


def jail(keeper: StakingState, ctx: Context, cons_addr: bytes) -> None:
    """Jail the validator with this consensus address (ErrNoValidatorFound when unknown)."""
    validator = keeper.get_validator_proto_by_cons_addr(ctx, cons_addr)
    if validator is None:
        raise ErrNoValidatorFound.wrap(f"no validator with consensus address {cons_addr.hex()}")
    jail_validator(keeper, ctx, validator)


def unjail(keeper: StakingState, ctx: Context, cons_addr: bytes) -> None:
    """Unjail the validator with this consensus address and put it back in the power index
    (ErrNoValidatorFound when unknown, ErrInvalidRequest when not jailed)."""
    validator = keeper.get_validator_proto_by_cons_addr(ctx, cons_addr)
    if validator is None:
        raise ErrNoValidatorFound.wrap(f"no validator with consensus address {cons_addr.hex()}")
    if not validator.jailed:
        raise ErrInvalidRequest.wrap(
            f"cannot unjail already unjailed validator {validator.operator_address}"
        )
    validator.jailed = False
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)
