"""proto3 JSON of SDK messages with ``LegacyDec`` fields written as the SDK writes them.

On the protobuf wire a ``LegacyDec`` (a string field with gogoproto ``customtype``
``cosmossdk.io/math.LegacyDec``) is its backing integer (``"20000000000000000"``); in JSON —
genesis files, the REST gateway — the SDK writes the decimal (``"0.020000000000000000"``).
:func:`to_json` and :func:`from_json` convert between the two by walking the message's
descriptor, so every Dec field of every nested message (DecCoin amounts, ratios, stakes) is
covered without listing them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from cosmpy.protos.gogoproto import gogo_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest

LEGACY_DEC = "cosmossdk.io/math.LegacyDec"
M = TypeVar("M", bound=pb.Message)


def is_legacy_dec(field: FieldDescriptor) -> bool:
    """True for a string field carrying a ``LegacyDec``."""
    if field.type != FieldDescriptor.TYPE_STRING or not field.has_options:
        return False
    return bool(field.GetOptions().Extensions[gogo_pb2.customtype] == LEGACY_DEC)


def _convert(descriptor: Descriptor, data: Any, to_decimal: bool) -> Any:
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key) or _by_json_name(descriptor, key)
        if field is None:
            out[key] = value
        elif field.message_type is not None:
            if isinstance(value, list):
                out[key] = [_convert(field.message_type, v, to_decimal) for v in value]
            else:
                out[key] = _convert(field.message_type, value, to_decimal)
        elif is_legacy_dec(field):
            out[key] = (
                [_dec(v, to_decimal) for v in value]
                if isinstance(value, list)
                else _dec(value, to_decimal)
            )
        else:
            out[key] = value
    return out


def _by_json_name(descriptor: Descriptor, key: str) -> FieldDescriptor | None:
    for field in descriptor.fields:
        if field.json_name == key:
            return field
    return None


def _dec(value: Any, to_decimal: bool) -> Any:
    if not isinstance(value, str) or value == "":
        return value
    try:
        if to_decimal:
            return str(Dec.from_proto_str(value))
        return Dec.from_str(value).to_proto_str()
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid decimal {value!r}: {exc.log}") from exc


def to_json(message: pb.Message) -> dict[str, Any]:
    """proto3 JSON (original field names, defaults written) with decimals as the SDK's."""
    data = pb.json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    converted: dict[str, Any] = _convert(message.DESCRIPTOR, data, True)
    return converted


def from_json(data: Any, message: M) -> M:
    """Fill ``message`` from SDK-style JSON (decimals with a point); ErrInvalidRequest when
    it does not parse."""
    if not isinstance(data, dict):
        raise ErrInvalidRequest.wrap(f"expected a JSON object for {message.DESCRIPTOR.name}")
    try:
        pb.json_format.ParseDict(_convert(message.DESCRIPTOR, data, False), message)
    except pb.json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid {message.DESCRIPTOR.name}: {exc}") from exc
    return message
