"""Delegation state transitions, as the SDK's ``x/staking/keeper/delegation.go``: delegate,
unbond, undelegate, redelegate, complete the mature entries. Shares arithmetic is the SDK's
(:class:`Dec`, truncating where it truncates); tokens move between the delegator and the
bonded / not-bonded pools according to the validator's status.
"""

from __future__ import annotations

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.framework import Context
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, BondStatus
from aivm.modules.staking.codec import GO_ZERO_TIME_NS, dec_wire, set_ts, ts_ns, val_bytes, val_str
from aivm.modules.staking.errors import (
    ErrBadRedelegationDst,
    ErrDelegatorShareExRateInvalid,
    ErrInsufficientShares,
    ErrMaxRedelegationEntries,
    ErrMaxUnbondingDelegationEntries,
    ErrNoDelegation,
    ErrNoDelegatorForAddress,
    ErrNotEnoughDelegationShares,
    ErrNoValidatorFound,
    ErrSelfRedelegation,
    ErrTinyRedelegationAmount,
    ErrTransitiveRedelegation,
    ErrValidatorJailed,
)
from aivm.modules.staking.state import StakingState, operator_of, shares_of, to_api, tokens_of
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import ErrInvalidRequest

# -- validator tokens and shares (SDK types/validator.go) --------------------------------------


def shares_from_tokens(validator: pb.staking.Validator, amount: int) -> Dec:
    """Shares worth ``amount`` tokens, truncated (SDK ``SharesFromTokens``: ``MulInt`` then
    ``QuoInt``); ErrInsufficientShares when the validator has no tokens."""
    tokens = tokens_of(validator)
    if tokens == 0:
        raise ErrInsufficientShares.wrap("validator has no tokens")
    return shares_of(validator).mul_int(amount).quo_int(tokens)


def shares_from_tokens_truncated(validator: pb.staking.Validator, amount: int) -> Dec:
    """SDK ``SharesFromTokensTruncated``: shares × amount / tokens, truncated."""
    tokens = tokens_of(validator)
    if tokens == 0:
        raise ErrInsufficientShares.wrap("validator has no tokens")
    return shares_of(validator).mul_int(amount).quo_truncate(Dec.from_int(tokens))


def tokens_from_shares(validator: pb.staking.Validator, shares: Dec) -> Dec:
    """SDK ``TokensFromShares``: shares × tokens / delegator_shares (rounded)."""
    return shares.mul_int(tokens_of(validator)).quo(shares_of(validator))


def invalid_ex_rate(validator: pb.staking.Validator) -> bool:
    """No tokens left but shares outstanding (slashed to zero): no more delegations."""
    return tokens_of(validator) == 0 and shares_of(validator).is_positive()


def add_tokens_from_del(validator: pb.staking.Validator, amount: int) -> Dec:
    """Issue shares for ``amount`` new tokens (the first delegation sets the rate to 1)."""
    shares = shares_of(validator)
    issued = Dec.from_int(amount) if shares.is_zero() else shares_from_tokens(validator, amount)
    validator.tokens = str(tokens_of(validator) + amount)
    validator.delegator_shares = (shares + issued).to_proto_str()
    return issued


def remove_del_shares(validator: pb.staking.Validator, shares: Dec) -> int:
    """Remove ``shares``; returns the tokens they were worth (the last shares take all)."""
    remaining = shares_of(validator) - shares
    if remaining.is_zero():
        issued = tokens_of(validator)
    else:
        issued = tokens_from_shares(validator, shares).truncate_int()
    validator.tokens = str(tokens_of(validator) - issued)
    validator.delegator_shares = remaining.to_proto_str()
    return issued


def add_validator_tokens_and_shares(
    keeper: StakingState, ctx: Context, validator: pb.staking.Validator, amount: int
) -> Dec:
    """Add tokens, re-index by power; returns the shares issued."""
    keeper.delete_validator_by_power_index(ctx, validator)
    issued = add_tokens_from_del(validator, amount)
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)
    return issued


def remove_validator_tokens_and_shares(
    keeper: StakingState, ctx: Context, validator: pb.staking.Validator, shares: Dec
) -> int:
    """Remove shares and their tokens, re-index by power; returns the tokens removed."""
    keeper.delete_validator_by_power_index(ctx, validator)
    removed = remove_del_shares(validator, shares)
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)
    return removed


def remove_validator_tokens(
    keeper: StakingState, ctx: Context, validator: pb.staking.Validator, amount: int
) -> None:
    """Remove tokens without touching shares (a slash), re-index by power."""
    keeper.delete_validator_by_power_index(ctx, validator)
    validator.tokens = str(tokens_of(validator) - amount)
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)


def remove_validator(keeper: StakingState, ctx: Context, val_addr: bytes) -> None:
    """Delete an unbonded validator with no tokens (SDK ``RemoveValidator``), then call
    ``after_validator_removed``; a bonded/unbonding one or one with tokens is kept."""
    validator = keeper.get_validator_proto(ctx, val_addr)
    if validator is None or validator.status != BondStatus.UNBONDED:
        return
    if tokens_of(validator) > 0:
        return
    cons = _cons_addr(validator)
    keeper.delete_validator_records(ctx, validator)
    for hooks in keeper.hooks:
        hooks.after_validator_removed(ctx, cons, val_addr)


def _cons_addr(validator: pb.staking.Validator) -> bytes:
    return to_api(validator).cons_address


# -- delegate ---------------------------------------------------------------------------------


def delegate(
    keeper: StakingState,
    ctx: Context,
    del_addr: bytes,
    amount: int,
    token_src: BondStatus,
    validator: pb.staking.Validator,
    subtract_account: bool,
) -> Dec:
    """SDK ``Delegate``: hooks, move the tokens (from the account, or between pools for a
    redelegation), issue shares; returns the new shares."""
    if invalid_ex_rate(validator):
        raise ErrDelegatorShareExRateInvalid.wrap("")
    val_addr = operator_of(validator)
    delegation = keeper.get_delegation_proto(ctx, del_addr, val_addr)
    if delegation is None:
        delegation = pb.staking.Delegation(
            delegator_address=addr_str(del_addr),
            validator_address=validator.operator_address,
            shares=Dec.zero().to_proto_str(),
        )
        for hooks in keeper.hooks:
            hooks.before_delegation_created(ctx, del_addr, val_addr)
    else:
        for hooks in keeper.hooks:
            hooks.before_delegation_shares_modified(ctx, del_addr, val_addr)
    bonded = validator.status == BondStatus.BONDED
    if subtract_account:
        keeper.delegate_coins(ctx, del_addr, BONDED_POOL if bonded else NOT_BONDED_POOL, amount)
    elif token_src == BondStatus.BONDED and not bonded:
        keeper.move_between_pools(ctx, BONDED_POOL, NOT_BONDED_POOL, amount)
    elif token_src != BondStatus.BONDED and bonded:
        keeper.move_between_pools(ctx, NOT_BONDED_POOL, BONDED_POOL, amount)
    new_shares = add_validator_tokens_and_shares(keeper, ctx, validator, amount)
    delegation.shares = (dec_wire(delegation.shares) + new_shares).to_proto_str()
    keeper.set_delegation(ctx, delegation)
    for hooks in keeper.hooks:
        hooks.after_delegation_modified(ctx, del_addr, val_addr)
    return new_shares


# -- unbond -----------------------------------------------------------------------------------


def validate_unbond_amount(
    keeper: StakingState, ctx: Context, del_addr: bytes, val_addr: bytes, amount: int
) -> Dec:
    """SDK ``ValidateUnbondAmount``: the shares to remove for ``amount`` tokens, capped at the
    delegation's shares."""
    validator = keeper.get_validator_proto(ctx, val_addr)
    if validator is None:
        raise ErrNoValidatorFound.wrap("")
    delegation = keeper.get_delegation_proto(ctx, del_addr, val_addr)
    if delegation is None:
        raise ErrNoDelegation.wrap("")
    shares = shares_from_tokens(validator, amount)
    truncated = shares_from_tokens_truncated(validator, amount)
    held = dec_wire(delegation.shares)
    if held < truncated:
        raise ErrInvalidRequest.wrap("invalid shares amount")
    return held if held < shares else shares


def remove_delegation(
    keeper: StakingState, ctx: Context, delegation: pb.staking.Delegation
) -> None:
    """Call ``before_delegation_removed`` and delete the delegation."""
    delegator = addr_bytes(delegation.delegator_address)
    validator = val_bytes(delegation.validator_address)
    for hooks in keeper.hooks:
        hooks.before_delegation_removed(ctx, delegator, validator)
    keeper.delete_delegation(ctx, delegator, validator)


def unbond(
    keeper: StakingState, ctx: Context, del_addr: bytes, val_addr: bytes, shares: Dec
) -> int:
    """SDK ``Unbond``: remove shares from a delegation and their tokens from the validator
    (jailing an operator who falls below its min self-delegation); returns the tokens."""
    delegation = keeper.get_delegation_proto(ctx, del_addr, val_addr)
    if delegation is None:
        raise ErrNoDelegatorForAddress.wrap("")
    for hooks in keeper.hooks:
        hooks.before_delegation_shares_modified(ctx, del_addr, val_addr)
    held = dec_wire(delegation.shares)
    if held < shares:
        raise ErrNotEnoughDelegationShares.wrap(str(held))
    validator = keeper.get_validator_proto(ctx, val_addr)
    if validator is None:
        raise ErrNoValidatorFound.wrap("")
    remaining = held - shares
    delegation.shares = remaining.to_proto_str()
    if (
        del_addr == val_addr
        and not validator.jailed
        and tokens_from_shares(validator, remaining).truncate_int()
        < int(validator.min_self_delegation or "0")
    ):
        jail_validator(keeper, ctx, validator)
    if remaining.is_zero():
        remove_delegation(keeper, ctx, delegation)
    else:
        keeper.set_delegation(ctx, delegation)
        for hooks in keeper.hooks:
            hooks.after_delegation_modified(ctx, del_addr, val_addr)
    amount = remove_validator_tokens_and_shares(keeper, ctx, validator, shares)
    if shares_of(validator).is_zero() and validator.status == BondStatus.UNBONDED:
        remove_validator(keeper, ctx, val_addr)
    return amount


def undelegate(
    keeper: StakingState, ctx: Context, del_addr: bytes, val_addr: bytes, shares: Dec
) -> tuple[int, int]:
    """SDK ``Undelegate``: unbond into a new unbonding entry; returns (completion time in
    ns, tokens)."""
    validator = keeper.get_validator_proto(ctx, val_addr)
    if validator is None:
        raise ErrNoDelegatorForAddress.wrap("")
    params = keeper.get_params(ctx)
    existing = keeper.get_unbonding_delegation(ctx, del_addr, val_addr)
    if existing is not None and len(existing.entries) >= params.max_entries:
        raise ErrMaxUnbondingDelegationEntries.wrap("")
    amount = unbond(keeper, ctx, del_addr, val_addr, shares)
    if validator.status == BondStatus.BONDED:
        keeper.move_between_pools(ctx, BONDED_POOL, NOT_BONDED_POOL, amount)
    completion = ctx.header.time_ns + params.unbonding_time_ns
    ubd = set_unbonding_entry(keeper, ctx, del_addr, val_addr, completion, amount)
    keeper.insert_ubd_queue(ctx, ubd.delegator_address, ubd.validator_address, completion)
    return completion, amount


def set_unbonding_entry(
    keeper: StakingState,
    ctx: Context,
    del_addr: bytes,
    val_addr: bytes,
    completion_ns: int,
    balance: int,
) -> pb.staking.UnbondingDelegation:
    """Add an entry (or grow the one of the same height and completion time)."""
    unbonding_id = keeper.next_unbonding_id(ctx)
    ubd = keeper.get_unbonding_delegation(ctx, del_addr, val_addr)
    if ubd is None:
        ubd = pb.staking.UnbondingDelegation(
            delegator_address=addr_str(del_addr), validator_address=val_str(val_addr)
        )
    height = ctx.header.height
    for entry in ubd.entries:
        if entry.creation_height == height and ts_ns(entry.completion_time) == completion_ns:
            entry.balance = str(int(entry.balance) + balance)
            entry.initial_balance = str(int(entry.initial_balance) + balance)
            break
    else:
        entry = ubd.entries.add(
            creation_height=height,
            initial_balance=str(balance),
            balance=str(balance),
            unbonding_id=unbonding_id,
        )
        set_ts(entry.completion_time, completion_ns)
    keeper.set_unbonding_delegation(ctx, ubd)
    return ubd


def complete_unbonding(
    keeper: StakingState, ctx: Context, del_addr: bytes, val_addr: bytes
) -> int | None:
    """Pay out the mature entries of an unbonding delegation; returns the amount paid, or None
    when there is no such unbonding delegation."""
    ubd = keeper.get_unbonding_delegation(ctx, del_addr, val_addr)
    if ubd is None:
        return None
    now = ctx.header.time_ns
    paid = 0
    kept = [e for e in ubd.entries if ts_ns(e.completion_time) > now]
    for entry in ubd.entries:
        if ts_ns(entry.completion_time) <= now and int(entry.balance) > 0:
            keeper.undelegate_coins(ctx, NOT_BONDED_POOL, del_addr, int(entry.balance))
            paid += int(entry.balance)
    del ubd.entries[:]
    ubd.entries.extend(kept)
    if kept:
        keeper.set_unbonding_delegation(ctx, ubd)
    else:
        keeper.remove_unbonding_delegation(ctx, ubd)
    return paid


# -- redelegate -------------------------------------------------------------------------------


def begin_redelegation(
    keeper: StakingState, ctx: Context, del_addr: bytes, src: bytes, dst: bytes, shares: Dec
) -> int:
    """SDK ``BeginRedelegation``: move shares' tokens from ``src`` to ``dst``; returns the
    completion time in ns (Go's zero time when it completed at once)."""
    if src == dst:
        raise ErrSelfRedelegation.wrap("")
    dst_validator = keeper.get_validator_proto(ctx, dst)
    src_validator = keeper.get_validator_proto(ctx, src)
    if dst_validator is None or src_validator is None:
        raise ErrBadRedelegationDst.wrap("")
    if keeper.has_receiving_redelegation(ctx, del_addr, src):
        raise ErrTransitiveRedelegation.wrap("")
    existing = keeper.get_redelegation(ctx, del_addr, src, dst)
    if existing is not None and len(existing.entries) >= keeper.get_params(ctx).max_entries:
        raise ErrMaxRedelegationEntries.wrap("")
    amount = unbond(keeper, ctx, del_addr, src, shares)
    if amount == 0:
        raise ErrTinyRedelegationAmount.wrap("")
    created = delegate(
        keeper, ctx, del_addr, amount, BondStatus(src_validator.status), dst_validator, False
    )
    begin = _begin_info(keeper, ctx, src)
    if begin is None:
        return GO_ZERO_TIME_NS
    completion, height = begin
    red = set_redelegation_entry(
        keeper, ctx, (del_addr, src, dst), height, completion, amount, created
    )
    keeper.insert_red_queue(ctx, red, completion)
    return completion


def _begin_info(keeper: StakingState, ctx: Context, src: bytes) -> tuple[int, int] | None:
    """(completion time, height) of a redelegation out of ``src``; None when it completes at
    once (``src`` unbonded). A removed ``src`` gives Go's zero time and height 0, as the SDK."""
    validator = keeper.get_validator_proto(ctx, src)
    if validator is None:
        return GO_ZERO_TIME_NS, 0
    if validator.status == BondStatus.BONDED:
        return ctx.header.time_ns + keeper.get_params(ctx).unbonding_time_ns, ctx.header.height
    if validator.status == BondStatus.UNBONDED:
        return None
    return ts_ns(validator.unbonding_time), validator.unbonding_height


def set_redelegation_entry(
    keeper: StakingState,
    ctx: Context,
    addrs: tuple[bytes, bytes, bytes],
    height: int,
    completion_ns: int,
    balance: int,
    shares_dst: Dec,
) -> pb.staking.Redelegation:
    """Append an entry to the (delegator, src, dst) redelegation."""
    del_addr, src, dst = addrs
    red = keeper.get_redelegation(ctx, del_addr, src, dst)
    if red is None:
        red = pb.staking.Redelegation(
            delegator_address=addr_str(del_addr),
            validator_src_address=val_str(src),
            validator_dst_address=val_str(dst),
        )
    entry = red.entries.add(
        creation_height=height,
        initial_balance=str(balance),
        shares_dst=shares_dst.to_proto_str(),
        unbonding_id=keeper.next_unbonding_id(ctx),
    )
    set_ts(entry.completion_time, completion_ns)
    keeper.set_redelegation(ctx, red)
    return red


def complete_redelegation(
    keeper: StakingState, ctx: Context, del_addr: bytes, src: bytes, dst: bytes
) -> int | None:
    """Drop the mature entries of a redelegation; returns their initial balances' sum, or
    None when there is no such redelegation."""
    red = keeper.get_redelegation(ctx, del_addr, src, dst)
    if red is None:
        return None
    now = ctx.header.time_ns
    done = sum(int(e.initial_balance) for e in red.entries if ts_ns(e.completion_time) <= now)
    kept = [e for e in red.entries if ts_ns(e.completion_time) > now]
    del red.entries[:]
    red.entries.extend(kept)
    if kept:
        keeper.set_redelegation(ctx, red)
    else:
        keeper.remove_redelegation(ctx, red)
    return done


def jail_validator(keeper: StakingState, ctx: Context, validator: pb.staking.Validator) -> None:
    """Mark jailed and drop from the power index (ErrValidatorJailed when already jailed)."""
    if validator.jailed:
        raise ErrValidatorJailed.wrap(
            f"cannot jail already jailed validator {validator.operator_address}"
        )
    validator.jailed = True
    keeper.set_validator(ctx, validator)
    keeper.delete_validator_by_power_index(ctx, validator)
