"""mint params and minter as Python values (SDK ``x/mint`` v0.50), their protobuf and JSON
forms, and the SDK's validation.

Protobuf carries a ``LegacyDec`` as its backing integer (``"130000000000000000"``); genesis
JSON and the CLI show the decimal (``"0.130000000000000000"``), as the SDK does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aivm.modules.mint import types
from aivm.modules.mint.errors import ErrInvalidMintParams
from aivm.types.coin import BOND_DENOM, Coin
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.numbers import parse_digits

DEC_PARAMS = ("inflation_rate_change", "inflation_max", "inflation_min", "goal_bonded")
MAX_BLOCKS_PER_YEAR = (1 << 63) - 1
"""The SDK converts blocks_per_year to int64."""
DEFAULT_INFLATION_RATE_CHANGE = Dec("0.13")
DEFAULT_INFLATION_MAX = Dec("0.20")
DEFAULT_INFLATION_MIN = Dec("0.07")
DEFAULT_GOAL_BONDED = Dec("0.67")
DEFAULT_INFLATION = Dec("0.13")
ZERO = Dec.zero()


@dataclass(frozen=True)
class MintParams:
    """``cosmos.mint.v1beta1.Params``; defaults as the SDK's, minting ``ucgpt``."""

    mint_denom: str = BOND_DENOM
    inflation_rate_change: Dec = DEFAULT_INFLATION_RATE_CHANGE
    """Largest yearly change of the inflation rate."""
    inflation_max: Dec = DEFAULT_INFLATION_MAX
    inflation_min: Dec = DEFAULT_INFLATION_MIN
    goal_bonded: Dec = DEFAULT_GOAL_BONDED
    """Bonded ratio the inflation steers toward."""
    blocks_per_year: int = 6_311_520
    """Expected blocks per year (6 s blocks)."""

    def validate(self) -> None:
        """SDK ``Params.Validate``."""
        if not self.mint_denom.strip():
            raise ErrInvalidMintParams.wrap("mint denom cannot be blank")
        try:
            Coin(self.mint_denom, 0)
        except AivmError as exc:
            raise ErrInvalidMintParams.wrap(exc.log) from exc
        for name in ("inflation_rate_change", "inflation_max", "inflation_min"):
            value: Dec = getattr(self, name)
            if value.is_negative():
                raise ErrInvalidMintParams.wrap(f"{name} cannot be negative: {value}")
            if Dec.one() < value:
                raise ErrInvalidMintParams.wrap(f"{name} too large: {value}")
        if not self.goal_bonded.is_positive():
            raise ErrInvalidMintParams.wrap(f"goal bonded must be positive: {self.goal_bonded}")
        if Dec.one() < self.goal_bonded:
            raise ErrInvalidMintParams.wrap(f"goal bonded too large: {self.goal_bonded}")
        if not 0 < self.blocks_per_year <= MAX_BLOCKS_PER_YEAR:
            raise ErrInvalidMintParams.wrap("blocks per year must be positive")
        if self.inflation_max < self.inflation_min:
            raise ErrInvalidMintParams.wrap(
                f"max inflation ({self.inflation_max}) must be greater than or equal to "
                f"min inflation ({self.inflation_min})"
            )

    def to_proto(self) -> Any:
        """``cosmos.mint.v1beta1.Params`` (Dec fields as wire integers)."""
        return types.Params(
            mint_denom=self.mint_denom,
            blocks_per_year=self.blocks_per_year,
            **{name: getattr(self, name).to_proto_str() for name in DEC_PARAMS},
        )

    @classmethod
    def from_proto(cls, proto: Any) -> MintParams:
        """Parse and validate the protobuf form."""
        values = {name: wire_dec(getattr(proto, name), name) for name in DEC_PARAMS}
        params = cls(mint_denom=proto.mint_denom, blocks_per_year=proto.blocks_per_year, **values)
        params.validate()
        return params

    def to_json(self) -> dict[str, Any]:
        """SDK genesis JSON: decimals as ``"0.130000000000000000"``, blocks_per_year a string."""
        data: dict[str, Any] = {"mint_denom": self.mint_denom}
        data.update({name: str(getattr(self, name)) for name in DEC_PARAMS})
        data["blocks_per_year"] = str(self.blocks_per_year)
        return data

    @classmethod
    def from_json(cls, data: Any) -> MintParams:
        """Parse and validate the SDK genesis JSON form (absent fields: the defaults)."""
        if not isinstance(data, dict):
            raise ErrInvalidMintParams.wrap("mint params must be an object")
        unknown = set(data) - {"mint_denom", "blocks_per_year", *DEC_PARAMS}
        if unknown:
            raise ErrInvalidMintParams.wrap(f"unknown mint params {sorted(unknown)}")
        default = cls()
        values: dict[str, Any] = {
            name: json_dec(data[name], name) if name in data else getattr(default, name)
            for name in DEC_PARAMS
        }
        denom = data.get("mint_denom", default.mint_denom)
        if not isinstance(denom, str):
            raise ErrInvalidMintParams.wrap("mint_denom must be a string")
        blocks = json_uint(data.get("blocks_per_year", default.blocks_per_year), "blocks_per_year")
        params = cls(mint_denom=denom, blocks_per_year=blocks, **values)
        params.validate()
        return params


@dataclass(frozen=True)
class Minter:
    """``cosmos.mint.v1beta1.Minter``: the current inflation and annual provisions."""

    inflation: Dec = DEFAULT_INFLATION
    annual_provisions: Dec = ZERO

    def validate(self) -> None:
        """SDK ``ValidateMinter`` (and provisions not negative)."""
        if self.inflation.is_negative():
            raise ErrInvalidMintParams.wrap(
                f"mint parameter Inflation should be positive, is {self.inflation}"
            )
        if self.annual_provisions.is_negative():
            raise ErrInvalidMintParams.wrap("annual provisions cannot be negative")

    def to_proto(self) -> Any:
        """``cosmos.mint.v1beta1.Minter`` (wire integers)."""
        return types.Minter(
            inflation=self.inflation.to_proto_str(),
            annual_provisions=self.annual_provisions.to_proto_str(),
        )

    @classmethod
    def from_proto(cls, proto: Any) -> Minter:
        """From the protobuf form."""
        return cls(
            wire_dec(proto.inflation, "inflation"),
            wire_dec(proto.annual_provisions, "annual_provisions"),
        )

    def to_json(self) -> dict[str, Any]:
        """SDK genesis JSON."""
        return {"inflation": str(self.inflation), "annual_provisions": str(self.annual_provisions)}

    @classmethod
    def from_json(cls, data: Any) -> Minter:
        """Parse and validate the SDK genesis JSON form."""
        if not isinstance(data, dict):
            raise ErrInvalidMintParams.wrap("minter must be an object")
        unknown = set(data) - {"inflation", "annual_provisions"}
        if unknown:
            raise ErrInvalidMintParams.wrap(f"unknown minter fields {sorted(unknown)}")
        default = cls()
        minter = cls(
            json_dec(data["inflation"], "inflation") if "inflation" in data else default.inflation,
            json_dec(data["annual_provisions"], "annual_provisions")
            if "annual_provisions" in data
            else default.annual_provisions,
        )
        minter.validate()
        return minter


def wire_dec(text: str, name: str) -> Dec:
    """A LegacyDec from its protobuf wire form ("" is 0, as an unset field)."""
    if text == "":
        return Dec.zero()
    try:
        return Dec.from_proto_str(text)
    except AivmError as exc:
        raise ErrInvalidMintParams.wrap(f"{name}: {exc.log}") from exc


def json_dec(value: Any, name: str) -> Dec:
    """A decimal from JSON text."""
    if not isinstance(value, str):
        raise ErrInvalidMintParams.wrap(f"{name} must be a decimal string")
    try:
        return Dec.from_str(value)
    except AivmError as exc:
        raise ErrInvalidMintParams.wrap(f"{name}: {exc.log}") from exc


def json_uint(value: Any, name: str) -> int:
    """A uint64 from JSON (a string of digits, or a number)."""
    if isinstance(value, bool):
        raise ErrInvalidMintParams.wrap(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ErrInvalidMintParams.wrap(f"{name} must be an integer")
    return parse_digits(value, 20, ErrInvalidMintParams, name)
