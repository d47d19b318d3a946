"""feemarket params and state as Python values, their protobuf and JSON forms, and checks.

Decimals are :class:`Dec` (18 decimals), written as decimal text in protobuf and JSON
("0.025"). The default keeps the market off (``enabled`` false, floor and price 0), so a chain
whose genesis says nothing about it accepts zero-fee transactions as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.errors import ErrInvalidParams, ErrInvalidState
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

MAX_PRICE = Dec.from_int(1_000_000_000)
"""Largest ceiling accepted (ucgpt per gas): keeps gas × price far from any overflow."""
DEFAULT_BLOCK_GAS_TARGET = 250_000_000
"""Half of the default consensus max gas per block (500,000,000)."""
ZERO = Dec.zero()
DEFAULT_CEILING = Dec.from_int(100)
DEFAULT_UTILIZATION = Dec("0.5")
DEFAULT_CHANGE_RATE = Dec("0.125")


@dataclass(frozen=True)
class FeeMarketParams:
    """``aivm.feemarket.v1.Params`` as values."""

    min_base_gas_price: Dec = ZERO
    """Floor of the base gas price (ucgpt per gas)."""
    max_base_gas_price: Dec = DEFAULT_CEILING
    """Ceiling of the base gas price."""
    target_block_utilization: Dec = DEFAULT_UTILIZATION
    """Target as a share of the block's max gas (informational; see ``block_gas_target``)."""
    max_change_rate: Dec = DEFAULT_CHANGE_RATE
    """Largest relative change of the price per block."""
    burn_base_fee: bool = False
    """Burn the base part of fees (gas_limit × price) at EndBlock instead of paying it out."""
    enabled: bool = False
    """Whether the ante step requires the price and EndBlock moves it."""
    block_gas_target: int = DEFAULT_BLOCK_GAS_TARGET
    """Gas per block the price aims at."""

    def to_proto(self) -> feemarket_pb2.Params:
        """Protobuf form (decimals as text)."""
        return feemarket_pb2.Params(
            min_base_gas_price=dec_text(self.min_base_gas_price),
            max_base_gas_price=dec_text(self.max_base_gas_price),
            target_block_utilization=dec_text(self.target_block_utilization),
            max_change_rate=dec_text(self.max_change_rate),
            burn_base_fee=self.burn_base_fee,
            enabled=self.enabled,
            block_gas_target=self.block_gas_target,
        )

    @classmethod
    def from_proto(cls, proto: feemarket_pb2.Params) -> FeeMarketParams:
        """Parse and check (ErrInvalidParams)."""
        params = cls(
            min_base_gas_price=parse_dec(proto.min_base_gas_price, "min_base_gas_price"),
            max_base_gas_price=parse_dec(proto.max_base_gas_price, "max_base_gas_price"),
            target_block_utilization=parse_dec(
                proto.target_block_utilization, "target_block_utilization"
            ),
            max_change_rate=parse_dec(proto.max_change_rate, "max_change_rate"),
            burn_base_fee=proto.burn_base_fee,
            enabled=proto.enabled,
            block_gas_target=proto.block_gas_target,
        )
        params.validate()
        return params

    def to_json(self) -> dict[str, Any]:
        """Genesis JSON form."""
        data: dict[str, Any] = json_format.MessageToDict(
            self.to_proto(),
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeeMarketParams:
        """Parse the genesis JSON form; absent fields take the defaults."""
        proto = cls().to_proto()
        try:
            json_format.ParseDict(data, proto)
        except json_format.ParseError as exc:
            raise ErrInvalidParams.wrap(f"invalid feemarket params: {exc}") from exc
        return cls.from_proto(proto)

    def validate(self) -> None:
        """Floor ≤ ceiling ≤ MAX_PRICE, utilization in (0, 1], change rate in (0, 1], a
        positive gas target."""
        if self.min_base_gas_price.is_negative():
            raise ErrInvalidParams.wrap("min_base_gas_price must not be negative")
        if self.max_base_gas_price < self.min_base_gas_price:
            raise ErrInvalidParams.wrap("max_base_gas_price must be >= min_base_gas_price")
        if self.max_base_gas_price > MAX_PRICE:
            raise ErrInvalidParams.wrap(f"max_base_gas_price must be <= {dec_text(MAX_PRICE)}")
        if not Dec.zero() < self.target_block_utilization <= Dec.one():
            raise ErrInvalidParams.wrap("target_block_utilization must be in (0, 1]")
        if not Dec.zero() < self.max_change_rate <= Dec.one():
            raise ErrInvalidParams.wrap("max_change_rate must be in (0, 1]")
        if self.block_gas_target <= 0:
            raise ErrInvalidParams.wrap("block_gas_target must be positive")

    def clamp(self, price: Dec) -> Dec:
        """``price`` moved into [floor, ceiling]."""
        if price < self.min_base_gas_price:
            return self.min_base_gas_price
        if self.max_base_gas_price < price:
            return self.max_base_gas_price
        return price


@dataclass(frozen=True)
class FeeMarketState:
    """``aivm.feemarket.v1.State`` as values."""

    base_gas_price: Dec = ZERO
    """ucgpt per gas unit every tx of the next block must pay at least."""
    last_block_gas_used: int = 0
    """Gas used by the last block, as EndBlock saw it."""

    def to_proto(self) -> feemarket_pb2.State:
        """Protobuf form."""
        return feemarket_pb2.State(
            base_gas_price=dec_text(self.base_gas_price),
            last_block_gas_used=self.last_block_gas_used,
        )

    @classmethod
    def from_proto(cls, proto: feemarket_pb2.State) -> FeeMarketState:
        """Parse (ErrInvalidState on a bad or negative price)."""
        try:
            price = parse_dec(proto.base_gas_price, "base_gas_price")
        except AivmError as exc:
            raise ErrInvalidState.wrap(exc.log) from exc
        return cls(price, proto.last_block_gas_used)


def parse_dec(text: str, name: str) -> Dec:
    """A non-negative decimal from text ("" is 0); ErrInvalidParams otherwise."""
    if text == "":
        return Dec.zero()
    try:
        value = Dec.from_str(text)
    except AivmError as exc:
        raise ErrInvalidParams.wrap(f"{name}: {exc.log}") from exc
    if value.is_negative():
        raise ErrInvalidParams.wrap(f"{name} must not be negative")
    return value


def dec_text(value: Dec) -> str:
    """Shortest decimal text of ``value``: ``0.025``, ``1``, ``0``."""
    text = str(value)
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole
