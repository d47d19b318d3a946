"""staking params (``cosmos.staking.v1beta1.Params``): defaults, checks and conversions."""

from __future__ import annotations

from aivm.modules.staking.api import StakingParamValues
from aivm.types import pb
from aivm.types.coin import BOND_DENOM, validate_denom
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest

NS_PER_S = 1_000_000_000
DEFAULT_PARAMS = StakingParamValues(
    unbonding_time_ns=21 * 24 * 3600 * NS_PER_S,
    max_validators=100,
    max_entries=7,
    historical_entries=10_000,
    bond_denom=BOND_DENOM,
    min_commission_rate=Dec.zero(),
)
"""21 days of unbonding, 100 validators, 7 entries, 10,000 historical entries, ``ucgpt``."""
MAX_UINT32 = (1 << 32) - 1
MAX_UNBONDING_TIME_NS = 100 * 365 * 24 * 3600 * NS_PER_S
"""100 years: block time + unbonding time must stay within int64 nanoseconds (timestamps,
queue keys, the roles module's completion times) until past the year 2200; the SDK has no
upper bound, where an overlong value overflows in every undelegation."""


def check_params(params: StakingParamValues) -> None:
    """SDK ``Params.Validate``: positive unbonding time, max validators and max entries; a
    valid bond denom; a min commission rate in [0, 1]."""
    if params.unbonding_time_ns <= 0:
        raise ErrInvalidRequest.wrap(f"unbonding time must be positive: {params.unbonding_time_ns}")
    if params.unbonding_time_ns > MAX_UNBONDING_TIME_NS:
        raise ErrInvalidRequest.wrap(
            f"unbonding time must be at most 100 years: {params.unbonding_time_ns}ns"
        )
    if not 0 < params.max_validators <= MAX_UINT32:
        raise ErrInvalidRequest.wrap("max validators must be positive")
    if not 0 < params.max_entries <= MAX_UINT32:
        raise ErrInvalidRequest.wrap("max entries must be positive")
    if not 0 <= params.historical_entries <= MAX_UINT32:
        raise ErrInvalidRequest.wrap("historical entries out of range")
    if not params.bond_denom.strip():
        raise ErrInvalidRequest.wrap("bond denom cannot be blank")
    try:
        validate_denom(params.bond_denom)
    except (AivmError, ValueError) as exc:
        raise ErrInvalidRequest.wrap(f"invalid bond denom {params.bond_denom!r}") from exc
    if params.min_commission_rate.is_negative():
        raise ErrInvalidRequest.wrap(
            f"minimum commission rate cannot be negative: {params.min_commission_rate}"
        )
    if Dec.one() < params.min_commission_rate:
        raise ErrInvalidRequest.wrap(
            f"minimum commission rate cannot be greater than 100%: {params.min_commission_rate}"
        )


def params_to_proto(params: StakingParamValues) -> pb.staking.Params:
    """Protobuf form."""
    proto = pb.staking.Params(
        max_validators=params.max_validators,
        max_entries=params.max_entries,
        historical_entries=params.historical_entries,
        bond_denom=params.bond_denom,
        min_commission_rate=params.min_commission_rate.to_proto_str(),
    )
    proto.unbonding_time.seconds, proto.unbonding_time.nanos = divmod(
        params.unbonding_time_ns, NS_PER_S
    )
    return proto


def params_from_proto(proto: pb.staking.Params) -> StakingParamValues:
    """From the protobuf form (the Dec is the wire form, the backing integer); not checked."""
    rate = proto.min_commission_rate
    try:
        min_rate = Dec.from_proto_str(rate) if rate else Dec.zero()
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid min commission rate {rate!r}") from exc
    return StakingParamValues(
        unbonding_time_ns=proto.unbonding_time.seconds * NS_PER_S + proto.unbonding_time.nanos,
        max_validators=proto.max_validators,
        max_entries=proto.max_entries,
        historical_entries=proto.historical_entries,
        bond_denom=proto.bond_denom,
        min_commission_rate=min_rate,
    )


def parse_params(proto: pb.staking.Params) -> StakingParamValues:
    """Convert and check (MsgUpdateParams, genesis)."""
    params = params_from_proto(proto)
    check_params(params)
    return params
