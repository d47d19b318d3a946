"""staking messages (Cosmos SDK v0.50 ``x/staking/keeper/msg_server.go``): create and edit a
validator, delegate, undelegate, redelegate, cancel an unbonding. Type URLs, signers, checks,
error codes and events are the SDK's, so every wallet can sign them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.staking import delegation as dl
from aivm.modules.staking.api import BondStatus, cons_address
from aivm.modules.staking.codec import (
    ED25519_TYPE_URL,
    dec_wire_checked,
    rfc3339,
    set_ts,
    ts_ns,
    val_bytes,
)
from aivm.modules.staking.errors import (
    ErrCommissionChangeRateGTMaxRate,
    ErrCommissionChangeRateNegative,
    ErrCommissionGTMaxChangeRate,
    ErrCommissionGTMaxRate,
    ErrCommissionHuge,
    ErrCommissionLTMinRate,
    ErrCommissionNegative,
    ErrCommissionUpdateTime,
    ErrDelegatorShareExRateInvalid,
    ErrEmptyValidatorPubKey,
    ErrMinSelfDelegationDecreased,
    ErrNoUnbondingDelegation,
    ErrNoValidatorFound,
    ErrSelfDelegationBelowMinimum,
    ErrValidatorJailed,
    ErrValidatorOwnerExists,
    ErrValidatorPubKeyExists,
    ErrValidatorPubKeyTypeNotSupported,
)
from aivm.modules.staking.keeper import StakingKeeper, tokens_of
from aivm.types import pb
from aivm.types.coin import Coin
from aivm.types.dec import Dec
from aivm.types.errors import (
    AivmError,
    ErrInvalidAddress,
    ErrInvalidPubKey,
    ErrInvalidRequest,
    ErrNotFound,
)
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

DO_NOT_MODIFY = "[do-not-modify]"
"""Description fields sent with this value keep their current value (MsgEditValidator)."""
DESCRIPTION_LIMITS = (
    ("moniker", 70),
    ("identity", 3000),
    ("website", 140),
    ("security_contact", 140),
    ("details", 280),
)
"""Maximum byte lengths of the description fields (SDK ``EnsureLength``)."""
DAY_NS = 24 * 3600 * 1_000_000_000
ED25519_KEY_SIZE = 32


# -- stateless checks ---------------------------------------------------------------------------


def _val_addr(address: str, what: str = "validator") -> bytes:
    try:
        return val_bytes(address)
    except AivmError as exc:
        raise ErrInvalidAddress.wrap(f"invalid {what} address: {exc.log}") from exc


def _del_addr(address: str) -> bytes:
    try:
        return addr_bytes(address)
    except AivmError as exc:
        raise ErrInvalidAddress.wrap(f"invalid delegator address: {exc.log}") from exc


def coin_amount(coin: pb.coin.Coin, message: str) -> int:
    """A positive, valid coin's amount; ErrInvalidRequest with ``message`` otherwise."""
    try:
        amount = parse_digits(coin.amount, MAX_UINT256_DIGITS, ErrInvalidRequest, "amount")
        Coin(coin.denom, amount)
    except (AivmError, ValueError) as exc:
        raise ErrInvalidRequest.wrap(message) from exc
    if amount <= 0:
        raise ErrInvalidRequest.wrap(message)
    return amount


def _int_field(text: str, what: str) -> int:
    return parse_digits(text, MAX_UINT256_DIGITS, ErrInvalidRequest, what)


def ensure_length(description: pb.staking.Description) -> None:
    """SDK ``Description.EnsureLength`` (byte lengths)."""
    for name, limit in DESCRIPTION_LIMITS:
        size = len(getattr(description, name).encode())
        if size > limit:
            label = name.replace("_", " ")
            raise ErrInvalidRequest.wrap(f"invalid {label} length; got: {size}, max: {limit}")


def _is_empty(description: pb.staking.Description) -> bool:
    return not any(getattr(description, name) for name, _ in DESCRIPTION_LIMITS)


def commission_rates(rates: pb.staking.CommissionRates) -> tuple[Dec, Dec, Dec]:
    """SDK ``CommissionRates.Validate``; returns (rate, max_rate, max_change_rate)."""
    rate = dec_wire_checked(rates.rate, "commission rate")
    max_rate = dec_wire_checked(rates.max_rate, "commission max rate")
    max_change = dec_wire_checked(rates.max_change_rate, "commission max change rate")
    if max_rate.is_negative():
        raise ErrCommissionNegative.wrap("")
    if Dec.one() < max_rate:
        raise ErrCommissionHuge.wrap("")
    if rate.is_negative():
        raise ErrCommissionNegative.wrap("")
    if max_rate < rate:
        raise ErrCommissionGTMaxRate.wrap("")
    if max_change.is_negative():
        raise ErrCommissionChangeRateNegative.wrap("")
    if max_rate < max_change:
        raise ErrCommissionChangeRateGTMaxRate.wrap("")
    return rate, max_rate, max_change


def ed25519_key(msg: pb.staking_tx.MsgCreateValidator) -> bytes:
    """The 32-byte ed25519 consensus key in the message's Any."""
    if not msg.HasField("pubkey") or not msg.pubkey.type_url:
        raise ErrEmptyValidatorPubKey.wrap("")
    if msg.pubkey.type_url != ED25519_TYPE_URL:
        raise ErrValidatorPubKeyTypeNotSupported.wrap(
            f"got: {msg.pubkey.type_url}, expected: [{ED25519_TYPE_URL}]"
        )
    try:
        key = bytes(pb.ed25519.PubKey.FromString(msg.pubkey.value).key)
    except pb.DecodeError as exc:
        raise ErrInvalidPubKey.wrap("malformed ed25519 public key") from exc
    if len(key) != ED25519_KEY_SIZE:
        raise ErrInvalidPubKey.wrap(f"ed25519 public key must be 32 bytes, got {len(key)}")
    return key


def validate_create_validator(msg: pb.staking_tx.MsgCreateValidator) -> None:
    """SDK ``MsgCreateValidator.Validate``."""
    _val_addr(msg.validator_address)
    ed25519_key(msg)
    value = coin_amount(msg.value, "invalid delegation amount")
    if _is_empty(msg.description):
        raise ErrInvalidRequest.wrap("empty description")
    rates = msg.commission
    if not (rates.rate or rates.max_rate or rates.max_change_rate):
        raise ErrInvalidRequest.wrap("empty commission")
    commission_rates(rates)
    minimum = _min_self_delegation(msg.min_self_delegation)
    if value < minimum:
        raise ErrSelfDelegationBelowMinimum.wrap("")


def _min_self_delegation(text: str) -> int:
    value = _int_field(text, "min self delegation") if text else 0
    if value <= 0:
        raise ErrInvalidRequest.wrap("minimum self delegation must be a positive integer")
    return value


def validate_edit_validator(msg: pb.staking_tx.MsgEditValidator) -> None:
    """The stateless part of the SDK's EditValidator."""
    _val_addr(msg.validator_address)
    if _is_empty(msg.description):
        raise ErrInvalidRequest.wrap("empty description")
    if msg.min_self_delegation:
        _min_self_delegation(msg.min_self_delegation)
    if msg.commission_rate:
        rate = dec_wire_checked(msg.commission_rate, "commission rate")
        if rate.is_negative() or Dec.one() < rate:
            raise ErrInvalidRequest.wrap("commission rate must be between 0 and 1 (inclusive)")


def validate_delegate(msg: Any) -> None:
    """MsgDelegate / MsgUndelegate: addresses and a positive amount."""
    _val_addr(msg.validator_address)
    _del_addr(msg.delegator_address)
    label = (
        "invalid delegation amount"
        if isinstance(msg, pb.staking_tx.MsgDelegate)
        else "invalid shares amount"
    )
    coin_amount(msg.amount, label)


def validate_redelegate(msg: pb.staking_tx.MsgBeginRedelegate) -> None:
    """MsgBeginRedelegate: three addresses and a positive amount."""
    _val_addr(msg.validator_src_address, "source validator")
    _val_addr(msg.validator_dst_address, "destination validator")
    _del_addr(msg.delegator_address)
    coin_amount(msg.amount, "invalid shares amount")


def validate_cancel(msg: pb.staking_tx.MsgCancelUnbondingDelegation) -> None:
    """MsgCancelUnbondingDelegation: addresses, positive amount and height."""
    _val_addr(msg.validator_address)
    _del_addr(msg.delegator_address)
    coin_amount(msg.amount, "invalid amount")
    if msg.creation_height <= 0:
        raise ErrInvalidRequest.wrap("invalid height")


# -- handlers ---------------------------------------------------------------------------------


def _check_denom(keeper: StakingKeeper, ctx: Context, denom: str) -> None:
    bond_denom = keeper.bond_denom(ctx)
    if denom != bond_denom:
        raise ErrInvalidRequest.wrap(
            f"invalid coin denomination: got {denom}, expected {bond_denom}"
        )


def _validator(keeper: StakingKeeper, ctx: Context, val_addr: bytes) -> pb.staking.Validator:
    found = keeper.get_validator_proto(ctx, val_addr)
    if found is None:
        raise ErrNoValidatorFound.wrap("")
    return found


def handle_create_validator(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgCreateValidator
) -> pb.staking_tx.MsgCreateValidatorResponse:
    """Create an unbonded validator and self-delegate ``value`` from the operator's account."""
    validate_create_validator(msg)
    val_addr = val_bytes(msg.validator_address)
    rate, max_rate, max_change = commission_rates(msg.commission)
    if rate < keeper.get_params(ctx).min_commission_rate:
        raise ErrCommissionLTMinRate.wrap(
            f"cannot set validator commission to less than minimum rate of "
            f"{keeper.get_params(ctx).min_commission_rate}"
        )
    if keeper.get_validator_proto(ctx, val_addr) is not None:
        raise ErrValidatorOwnerExists.wrap("")
    key = ed25519_key(msg)
    if keeper.get_validator_proto_by_cons_addr(ctx, cons_address(key)) is not None:
        raise ErrValidatorPubKeyExists.wrap("")
    if keeper.is_reserved_consensus_key(ctx, cons_address(key)):
        raise ErrValidatorPubKeyExists.wrap("the key of a genesis.json validator is reserved")
    _check_denom(keeper, ctx, msg.value.denom)
    ensure_length(msg.description)
    validator = new_validator(msg, ctx.header.time_ns, (rate, max_rate, max_change))
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_cons_addr(ctx, validator)
    keeper.set_new_validator_by_power_index(ctx, validator)
    for hooks in keeper.hooks:
        hooks.after_validator_created(ctx, val_addr)
    amount = int(msg.value.amount)
    dl.delegate(keeper, ctx, val_addr, amount, BondStatus.UNBONDED, validator, True)
    ctx.emit(
        "create_validator",
        ("validator", msg.validator_address),
        ("amount", f"{amount}{msg.value.denom}"),
    )
    return pb.staking_tx.MsgCreateValidatorResponse()


def new_validator(
    msg: pb.staking_tx.MsgCreateValidator, time_ns: int, rates: tuple[Dec, Dec, Dec]
) -> pb.staking.Validator:
    """SDK ``NewValidator`` + ``SetInitialCommission``: unbonded, no tokens, commission set
    at ``time_ns``."""
    validator = pb.staking.Validator(
        operator_address=msg.validator_address,
        consensus_pubkey=msg.pubkey,
        status=BondStatus.UNBONDED,
        tokens="0",
        delegator_shares=Dec.zero().to_proto_str(),
        description=msg.description,
        min_self_delegation=str(int(msg.min_self_delegation)),
    )
    # the SDK's `UnbondingTime: time.Unix(0, 0).UTC()`: present (a non-nullable gogoproto
    # field), so the REST JSON shows "1970-01-01T00:00:00Z" as the SDK's does
    validator.unbonding_time.SetInParent()
    current = validator.commission.commission_rates
    current.rate, current.max_rate, current.max_change_rate = (r.to_proto_str() for r in rates)
    set_ts(validator.commission.update_time, time_ns)
    return validator


def _update_description(
    current: pb.staking.Description, new: pb.staking.Description
) -> pb.staking.Description:
    updated = pb.staking.Description()
    for name, _ in DESCRIPTION_LIMITS:
        value = getattr(new, name)
        setattr(updated, name, getattr(current, name) if value == DO_NOT_MODIFY else value)
    ensure_length(updated)
    return updated


def _update_commission(ctx: Context, validator: pb.staking.Validator, new_rate: Dec) -> None:
    """SDK ``ValidateNewRate``: once per 24 h, within [0, max_rate], by at most
    max_change_rate."""
    commission = validator.commission
    rates = commission.commission_rates
    if ctx.header.time_ns - ts_ns(commission.update_time) < DAY_NS:
        raise ErrCommissionUpdateTime.wrap("")
    if new_rate.is_negative():
        raise ErrCommissionNegative.wrap("")
    if dec_wire_checked(rates.max_rate, "max rate") < new_rate:
        raise ErrCommissionGTMaxRate.wrap("")
    change = new_rate - dec_wire_checked(rates.rate, "rate")
    if dec_wire_checked(rates.max_change_rate, "max change rate") < change:
        raise ErrCommissionGTMaxChangeRate.wrap("")
    rates.rate = new_rate.to_proto_str()
    set_ts(commission.update_time, ctx.header.time_ns)


def handle_edit_validator(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgEditValidator
) -> pb.staking_tx.MsgEditValidatorResponse:
    """Change the description, commission rate or min self-delegation."""
    validate_edit_validator(msg)
    val_addr = val_bytes(msg.validator_address)
    new_rate = dec_wire_checked(msg.commission_rate, "rate") if msg.commission_rate else None
    min_rate = keeper.get_params(ctx).min_commission_rate
    if new_rate is not None and new_rate < min_rate:
        raise ErrCommissionLTMinRate.wrap(
            f"cannot set validator commission to less than minimum rate of {min_rate}"
        )
    validator = _validator(keeper, ctx, val_addr)
    validator.description.CopyFrom(_update_description(validator.description, msg.description))
    if new_rate is not None:
        _update_commission(ctx, validator, new_rate)
        for hooks in keeper.hooks:
            hooks.before_validator_modified(ctx, val_addr)
    if msg.min_self_delegation:
        minimum = int(msg.min_self_delegation)
        if minimum <= int(validator.min_self_delegation or "0"):
            raise ErrMinSelfDelegationDecreased.wrap("")
        if minimum > tokens_of(validator):
            raise ErrSelfDelegationBelowMinimum.wrap("")
        validator.min_self_delegation = str(minimum)
    keeper.set_validator(ctx, validator)
    ctx.emit(
        "edit_validator",
        (
            "commission_rate",
            str(dec_wire_checked(validator.commission.commission_rates.rate, "rate")),
        ),
        ("min_self_delegation", validator.min_self_delegation),
    )
    return pb.staking_tx.MsgEditValidatorResponse()


def handle_delegate(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgDelegate
) -> pb.staking_tx.MsgDelegateResponse:
    """Delegate tokens from the delegator's account to a validator."""
    validate_delegate(msg)
    validator = _validator(keeper, ctx, val_bytes(msg.validator_address))
    _check_denom(keeper, ctx, msg.amount.denom)
    amount = int(msg.amount.amount)
    delegator = addr_bytes(msg.delegator_address)
    shares = dl.delegate(keeper, ctx, delegator, amount, BondStatus.UNBONDED, validator, True)
    ctx.emit(
        "delegate",
        ("validator", msg.validator_address),
        ("delegator", msg.delegator_address),
        ("amount", f"{amount}{msg.amount.denom}"),
        ("new_shares", str(shares)),
    )
    return pb.staking_tx.MsgDelegateResponse()


def handle_undelegate(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgUndelegate
) -> pb.staking_tx.MsgUndelegateResponse:
    """Start unbonding: the tokens return after the unbonding time."""
    validate_delegate(msg)
    val_addr = val_bytes(msg.validator_address)
    delegator = addr_bytes(msg.delegator_address)
    shares = dl.validate_unbond_amount(keeper, ctx, delegator, val_addr, int(msg.amount.amount))
    _check_denom(keeper, ctx, msg.amount.denom)
    completion, amount = dl.undelegate(keeper, ctx, delegator, val_addr, shares)
    coin = pb.coin.Coin(denom=msg.amount.denom, amount=str(amount))
    ctx.emit(
        "unbond",
        ("validator", msg.validator_address),
        ("delegator", msg.delegator_address),
        ("amount", f"{amount}{msg.amount.denom}"),
        ("completion_time", rfc3339(completion)),
    )
    response = pb.staking_tx.MsgUndelegateResponse(amount=coin)
    set_ts(response.completion_time, completion)
    return response


def handle_redelegate(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgBeginRedelegate
) -> pb.staking_tx.MsgBeginRedelegateResponse:
    """Move a delegation to another validator without unbonding."""
    validate_redelegate(msg)
    src = val_bytes(msg.validator_src_address)
    dst = val_bytes(msg.validator_dst_address)
    delegator = addr_bytes(msg.delegator_address)
    shares = dl.validate_unbond_amount(keeper, ctx, delegator, src, int(msg.amount.amount))
    _check_denom(keeper, ctx, msg.amount.denom)
    completion = dl.begin_redelegation(keeper, ctx, delegator, src, dst, shares)
    ctx.emit(
        "redelegate",
        ("source_validator", msg.validator_src_address),
        ("destination_validator", msg.validator_dst_address),
        ("delegator", msg.delegator_address),
        ("amount", f"{msg.amount.amount}{msg.amount.denom}"),
        ("completion_time", rfc3339(completion)),
    )
    response = pb.staking_tx.MsgBeginRedelegateResponse()
    set_ts(response.completion_time, completion)
    return response


def handle_cancel_unbonding(
    keeper: StakingKeeper, ctx: Context, msg: pb.staking_tx.MsgCancelUnbondingDelegation
) -> pb.staking_tx.MsgCancelUnbondingDelegationResponse:
    """Delegate back (part of) one unbonding entry, found by its creation height."""
    validate_cancel(msg)
    val_addr = val_bytes(msg.validator_address)
    delegator = addr_bytes(msg.delegator_address)
    _check_denom(keeper, ctx, msg.amount.denom)
    validator = _validator(keeper, ctx, val_addr)
    if dl.invalid_ex_rate(validator):
        raise ErrDelegatorShareExRateInvalid.wrap("")
    if validator.jailed:
        raise ErrValidatorJailed.wrap("")
    ubd = keeper.get_unbonding_delegation(ctx, delegator, val_addr)
    if ubd is None:
        raise ErrNoUnbondingDelegation.wrap(
            f"unbonding delegation with delegator {msg.delegator_address} not found for "
            f"validator {msg.validator_address}"
        )
    index = next(
        (i for i, e in enumerate(ubd.entries) if e.creation_height == msg.creation_height), -1
    )
    if index < 0:
        raise ErrNotFound.wrap(
            f"unbonding delegation entry is not found at block height {msg.creation_height}"
        )
    entry = ubd.entries[index]
    completion = ts_ns(entry.completion_time)
    amount = int(msg.amount.amount)
    if int(entry.balance) < amount:
        raise ErrInvalidRequest.wrap(
            "amount is greater than the unbonding delegation entry balance"
        )
    if ts_ns(entry.completion_time) < ctx.header.time_ns:
        raise ErrInvalidRequest.wrap("unbonding delegation is already processed")
    dl.delegate(keeper, ctx, delegator, amount, BondStatus.UNBONDING, validator, False)
    left = int(entry.balance) - amount
    if left == 0:
        del ubd.entries[index]
        if all(ts_ns(e.completion_time) != completion for e in ubd.entries):
            keeper.remove_ubd_queue_pair(
                ctx, ubd.delegator_address, ubd.validator_address, completion
            )
    else:
        entry.balance = str(left)
        entry.initial_balance = str(int(entry.initial_balance) - amount)
    if ubd.entries:
        keeper.set_unbonding_delegation(ctx, ubd)
    else:
        keeper.remove_unbonding_delegation(ctx, ubd)
    ctx.emit(
        "cancel_unbonding_delegation",
        ("amount", f"{amount}{msg.amount.denom}"),
        ("validator", msg.validator_address),
        ("delegator", msg.delegator_address),
        ("creation_height", str(msg.creation_height)),
    )
    return pb.staking_tx.MsgCancelUnbondingDelegationResponse()


def _route(
    cls: type[pb.Message],
    signer: Callable[[Any], bytes],
    validate: Callable[[Any], None],
    handle: Callable[[StakingKeeper, Context, Any], pb.Message],
    keeper: StakingKeeper,
) -> MsgRoute:
    return MsgRoute(
        message_class=cls,
        signers=lambda msg: [signer(msg)],
        validate_basic=validate,
        handler=lambda ctx, msg: handle(keeper, ctx, msg),
    )


def msg_routes(keeper: StakingKeeper) -> Sequence[MsgRoute]:
    """Routes of the staking message service (MsgUpdateParams is added by the module)."""
    tx = pb.staking_tx
    return [
        _route(
            tx.MsgCreateValidator,
            lambda m: _val_addr(m.validator_address),
            validate_create_validator,
            handle_create_validator,
            keeper,
        ),
        _route(
            tx.MsgEditValidator,
            lambda m: _val_addr(m.validator_address),
            validate_edit_validator,
            handle_edit_validator,
            keeper,
        ),
        _route(tx.MsgDelegate, _signer, validate_delegate, handle_delegate, keeper),
        _route(tx.MsgUndelegate, _signer, validate_delegate, handle_undelegate, keeper),
        _route(tx.MsgBeginRedelegate, _signer, validate_redelegate, handle_redelegate, keeper),
        _route(
            tx.MsgCancelUnbondingDelegation,
            _signer,
            validate_cancel,
            handle_cancel_unbonding,
            keeper,
        ),
    ]


def _signer(msg: Any) -> bytes:
    return _del_addr(msg.delegator_address)
