"""slashing params (``cosmos.slashing.v1beta1.Params``): the signing window, the share of it a
validator must sign, the downtime jail time and the two slash fractions.

On the wire the three ratios are ``LegacyDec`` bytes (the backing integer in decimal ASCII);
in genesis JSON they are decimal strings (``"0.500000000000000000"``) and the jail duration a
proto3 JSON duration (``"600s"``), as the SDK writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from google.protobuf.duration_pb2 import Duration

from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.numbers import parse_signed_digits

NS_PER_S = 1_000_000_000
MAX_DURATION_S = 315_576_000_000
"""Largest ``google.protobuf.Duration`` (10,000 years)."""
DEFAULT_MIN_SIGNED = Dec.from_str("0.5")
DEFAULT_DOUBLE_SIGN = Dec.from_str("0.05")
DEFAULT_DOWNTIME = Dec.from_str("0.01")


@dataclass(frozen=True)
class SlashingParams:
    """Params as Python values."""

    signed_blocks_window: int = 100
    """Blocks of the sliding window over which liveness is judged."""
    min_signed_per_window: Dec = DEFAULT_MIN_SIGNED
    """Share of the window a validator must sign."""
    downtime_jail_duration_ns: int = 600 * NS_PER_S
    """Time a validator jailed for downtime stays jailed."""
    slash_fraction_double_sign: Dec = DEFAULT_DOUBLE_SIGN
    """Share of the stake burned for equivocation."""
    slash_fraction_downtime: Dec = DEFAULT_DOWNTIME
    """Share of the stake burned for downtime."""

    def min_signed_blocks(self) -> int:
        """SDK ``MinSignedPerWindow``: min_signed_per_window × window, rounded half-to-even."""
        return self.min_signed_per_window.mul_int(self.signed_blocks_window).round_int()

    def max_missed_blocks(self) -> int:
        """Misses allowed in a window; one more jails the validator."""
        return self.signed_blocks_window - self.min_signed_blocks()

    def validate(self) -> None:
        """SDK ``Params.Validate``; ErrInvalidRequest naming the first bad field."""
        if self.signed_blocks_window <= 0:
            _bad(f"signed blocks window must be positive: {self.signed_blocks_window}")
        if self.signed_blocks_window >= 1 << 63:
            _bad(f"signed blocks window too large: {self.signed_blocks_window}")
        if self.downtime_jail_duration_ns <= 0:
            _bad(f"downtime jail duration must be positive: {self.downtime_jail_duration_ns}ns")
        if self.downtime_jail_duration_ns > MAX_DURATION_S * NS_PER_S:
            _bad("downtime jail duration too large")
        _check_ratio("min signed per window", self.min_signed_per_window)
        _check_ratio("double sign slash fraction", self.slash_fraction_double_sign)
        _check_ratio("downtime slash fraction", self.slash_fraction_downtime)

    def to_proto(self) -> pb.slashing.Params:
        """Protobuf form."""
        seconds, nanos = divmod(self.downtime_jail_duration_ns, NS_PER_S)
        return pb.slashing.Params(
            signed_blocks_window=self.signed_blocks_window,
            min_signed_per_window=_dec_bytes(self.min_signed_per_window),
            downtime_jail_duration=Duration(seconds=seconds, nanos=nanos),
            slash_fraction_double_sign=_dec_bytes(self.slash_fraction_double_sign),
            slash_fraction_downtime=_dec_bytes(self.slash_fraction_downtime),
        )

    @classmethod
    def from_proto(cls, proto: pb.slashing.Params) -> SlashingParams:
        """From the protobuf form, validated (ErrInvalidRequest)."""
        duration = proto.downtime_jail_duration
        if not 0 <= duration.nanos < NS_PER_S or duration.seconds < 0:
            _bad(f"invalid downtime jail duration {duration.seconds}s {duration.nanos}ns")
        params = cls(
            signed_blocks_window=proto.signed_blocks_window,
            min_signed_per_window=_dec_from_bytes(
                "min_signed_per_window", proto.min_signed_per_window
            ),
            downtime_jail_duration_ns=duration.seconds * NS_PER_S + duration.nanos,
            slash_fraction_double_sign=_dec_from_bytes(
                "slash_fraction_double_sign", proto.slash_fraction_double_sign
            ),
            slash_fraction_downtime=_dec_from_bytes(
                "slash_fraction_downtime", proto.slash_fraction_downtime
            ),
        )
        params.validate()
        return params

    def to_json(self) -> dict[str, Any]:
        """Genesis JSON form (the SDK's)."""
        seconds, nanos = divmod(self.downtime_jail_duration_ns, NS_PER_S)
        return {
            "signed_blocks_window": str(self.signed_blocks_window),
            "min_signed_per_window": str(self.min_signed_per_window),
            "downtime_jail_duration": f"{seconds}s" if not nanos else f"{seconds}.{nanos:09d}s",
            "slash_fraction_double_sign": str(self.slash_fraction_double_sign),
            "slash_fraction_downtime": str(self.slash_fraction_downtime),
        }

    @classmethod
    def from_json(cls, data: object) -> SlashingParams:
        """Parse and validate the genesis JSON form; missing fields take the defaults."""
        if not isinstance(data, dict):
            _bad("slashing params must be an object")
        default = cls()
        merged = {**default.to_json(), **data}
        proto = pb.slashing.Params()
        try:
            pb.json_format.ParseDict(
                {
                    "signed_blocks_window": merged["signed_blocks_window"],
                    "downtime_jail_duration": merged["downtime_jail_duration"],
                },
                proto,
            )
            for name in (
                "min_signed_per_window",
                "slash_fraction_double_sign",
                "slash_fraction_downtime",
            ):
                value = merged[name]
                if not isinstance(value, str):
                    _bad(f"{name} must be a decimal string")
                setattr(proto, name, _dec_bytes(Dec.from_str(value)))
        except pb.json_format.ParseError as exc:
            raise ErrInvalidRequest.wrap(f"invalid slashing params: {exc}") from exc
        except AivmError as exc:
            raise ErrInvalidRequest.wrap(f"invalid slashing params: {exc.log}") from exc
        return cls.from_proto(proto)


def _bad(message: str) -> NoReturn:
    raise ErrInvalidRequest.wrap(message)


def _check_ratio(name: str, value: Dec) -> None:
    if value.is_negative():
        _bad(f"{name} cannot be negative: {value}")
    if Dec.one() < value:
        _bad(f"{name} too large: {value}")


def _dec_bytes(value: Dec) -> bytes:
    return value.to_proto_str().encode()


def _dec_from_bytes(name: str, raw: bytes) -> Dec:
    """A ``LegacyDec`` from its wire bytes (empty: nil, refused as the SDK does)."""
    if not raw:
        raise ErrInvalidRequest.wrap(f"{name} cannot be nil")
    try:
        text = raw.decode("ascii")
        return Dec.raw(parse_signed_digits(text, 96, ErrInvalidRequest, name))
    except (UnicodeDecodeError, AivmError) as exc:
        raise ErrInvalidRequest.wrap(f"invalid {name}: {raw[:40]!r}") from exc
