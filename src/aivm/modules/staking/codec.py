"""Conversions the staking module needs everywhere: operator addresses, LegacyDec wire and
JSON forms, timestamps, consensus public keys. Pure functions, no state."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aivm.types import pb
from aivm.types.address import valoper_address, valoper_address_bytes
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidAddress, ErrInvalidRequest

NS_PER_S = 1_000_000_000
ED25519_TYPE_URL = "/cosmos.crypto.ed25519.PubKey"
GO_ZERO_TIME_NS = -62_135_596_800 * NS_PER_S
"""Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in Unix nanoseconds."""
DEC_JSON_FIELDS = frozenset(
    {
        "min_commission_rate",
        "delegator_shares",
        "rate",
        "max_rate",
        "max_change_rate",
        "shares",
        "shares_dst",
        "commission_rate",
    }
)
"""Field names whose proto3 JSON the SDK writes as a decimal (``"0.100000000000000000"``)
while the protobuf wire carries the backing integer (LegacyDec)."""


@lru_cache(maxsize=1 << 14)
def val_bytes(address: str) -> bytes:
    """Decode a canonical ``aivmvaloper1…`` address (lower case)."""
    decoded = valoper_address_bytes(address)
    if address != address.lower():
        raise ErrInvalidAddress.wrap(f"address {address!r} must be in lower case")
    return decoded


@lru_cache(maxsize=1 << 14)
def val_str(address: bytes) -> str:
    """Encode operator address bytes as ``aivmvaloper1…``."""
    return valoper_address(address)


def dec_wire(text: str) -> Dec:
    """A LegacyDec from its protobuf wire form (empty reads as 0)."""
    return Dec.from_proto_str(text) if text else Dec.zero()


def dec_wire_checked(text: str, what: str) -> Dec:
    """:func:`dec_wire`, an ErrInvalidRequest naming ``what`` when malformed."""
    try:
        return dec_wire(text)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid {what}: {text!r}") from exc


def ts_ns(ts: pb.Message) -> int:
    """A ``google.protobuf.Timestamp`` as Unix nanoseconds."""
    return int(ts.seconds) * NS_PER_S + int(ts.nanos)


def set_ts(ts: pb.Message, time_ns: int) -> None:
    """Write Unix nanoseconds into a ``google.protobuf.Timestamp``."""
    seconds, nanos = divmod(time_ns, NS_PER_S)
    ts.seconds = seconds
    ts.nanos = nanos


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year + (month <= 2), month, day


def rfc3339(time_ns: int) -> str:
    """Go's ``time.Format(time.RFC3339)`` of a UTC time: whole seconds, ``Z``."""
    seconds = time_ns // NS_PER_S
    days, rest = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    hour, minute, second = rest // 3600, rest % 3600 // 60, rest % 60
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def ed25519_any(pubkey: bytes) -> pb.AnyProto:
    """``/cosmos.crypto.ed25519.PubKey`` packed in an Any."""
    return pb.AnyProto(
        type_url=ED25519_TYPE_URL, value=pb.ed25519.PubKey(key=pubkey).SerializeToString()
    )


def consensus_pubkey(validator: pb.staking.Validator) -> bytes:
    """The ed25519 key bytes of a stored validator."""
    return bytes(pb.ed25519.PubKey.FromString(validator.consensus_pubkey.value).key)


def _convert(node: Any, to_json: bool) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in DEC_JSON_FIELDS and isinstance(value, str):
                out[key] = _dec_text(value, to_json)
            else:
                out[key] = _convert(value, to_json)
        return out
    if isinstance(node, list):
        return [_convert(item, to_json) for item in node]
    return node


def _dec_text(value: str, to_json: bool) -> str:
    if not value:
        return value
    if to_json:
        return str(Dec.from_proto_str(value))
    try:
        return Dec.from_str(value).to_proto_str()
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid decimal {value!r}") from exc


def decs_to_json(data: Any) -> Any:
    """Rewrite the LegacyDec fields of a proto3-JSON tree from wire integers to decimals."""
    return _convert(data, True)


def decs_from_json(data: Any) -> Any:
    """Rewrite the LegacyDec fields of an SDK JSON tree from decimals to wire integers."""
    return _convert(data, False)
