"""compute params: minimum collateral, heartbeat timeout, bounds on offers and capacity, the
initial reputation, the default jail duration and the slash records kept per provider."""

from __future__ import annotations

from dataclasses import dataclass

from aivm.modules.compute import compute_pb2
from aivm.modules.compute.errors import ErrInvalidParams
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

DAY_NS = 86_400 * 1_000_000_000
MAX_OFFERS_LIMIT = 64
"""No provider may carry more offers (the stateless check refuses longer lists)."""
MAX_CAPACITY_LIMIT = 10_000
MAX_SLASH_RECORDS_LIMIT = 1_000
MAX_HEARTBEAT_TIMEOUT = 10_000_000
FALLBACK_UNBONDING_TIME_NS = 21 * DAY_NS
"""Collateral unbonding time of an app without staking (staking's ``unbonding_time`` else)."""


@dataclass(frozen=True)
class ComputeParams:
    """``aivm.compute.v1.Params`` as Python values."""

    min_collateral: int
    heartbeat_timeout_blocks: int
    max_offers: int
    max_capacity: int
    initial_reputation: Dec
    jail_duration_ns: int
    max_slash_records: int

    def to_proto(self) -> compute_pb2.Params:
        """The protobuf form."""
        return compute_pb2.Params(
            min_collateral=str(self.min_collateral),
            heartbeat_timeout_blocks=self.heartbeat_timeout_blocks,
            max_offers=self.max_offers,
            max_capacity=self.max_capacity,
            initial_reputation=str(self.initial_reputation),
            jail_duration_ns=self.jail_duration_ns,
            max_slash_records=self.max_slash_records,
        )


DEFAULT_PARAMS = ComputeParams(
    min_collateral=100_000_000,
    heartbeat_timeout_blocks=600,
    max_offers=32,
    max_capacity=256,
    initial_reputation=Dec("0.5"),
    jail_duration_ns=DAY_NS,
    max_slash_records=100,
)


def params_from_proto(proto: compute_pb2.Params) -> ComputeParams:
    """Parse and check params; ErrInvalidParams when any is out of range."""
    try:
        reputation = Dec.from_str(proto.initial_reputation)
    except AivmError as exc:
        raise ErrInvalidParams.wrap(f"initial_reputation: {exc.detail or exc}") from None
    params = ComputeParams(
        min_collateral=parse_digits(
            proto.min_collateral, MAX_UINT256_DIGITS, ErrInvalidParams, "min_collateral"
        ),
        heartbeat_timeout_blocks=proto.heartbeat_timeout_blocks,
        max_offers=proto.max_offers,
        max_capacity=proto.max_capacity,
        initial_reputation=reputation,
        jail_duration_ns=proto.jail_duration_ns,
        max_slash_records=proto.max_slash_records,
    )
    check_params(params)
    return params


def check_params(params: ComputeParams) -> None:
    """ErrInvalidParams unless every value is in range."""
    if params.min_collateral <= 0:
        raise ErrInvalidParams.wrap("min_collateral must be positive")
    if not 0 < params.heartbeat_timeout_blocks <= MAX_HEARTBEAT_TIMEOUT:
        raise ErrInvalidParams.wrap(
            f"heartbeat_timeout_blocks must be 1 to {MAX_HEARTBEAT_TIMEOUT}"
        )
    if not 0 < params.max_offers <= MAX_OFFERS_LIMIT:
        raise ErrInvalidParams.wrap(f"max_offers must be 1 to {MAX_OFFERS_LIMIT}")
    if not 0 < params.max_capacity <= MAX_CAPACITY_LIMIT:
        raise ErrInvalidParams.wrap(f"max_capacity must be 1 to {MAX_CAPACITY_LIMIT}")
    if not Dec.zero() <= params.initial_reputation <= Dec.one():
        raise ErrInvalidParams.wrap("initial_reputation must be in [0, 1]")
    if not 0 < params.jail_duration_ns <= 365 * DAY_NS:
        raise ErrInvalidParams.wrap("jail_duration_ns must be positive and at most a year")
    if not 0 < params.max_slash_records <= MAX_SLASH_RECORDS_LIMIT:
        raise ErrInvalidParams.wrap(f"max_slash_records must be 1 to {MAX_SLASH_RECORDS_LIMIT}")
