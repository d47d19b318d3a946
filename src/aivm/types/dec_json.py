"""``LegacyDec`` fields in proto3 JSON, as the Cosmos SDK renders them.

On the protobuf wire a ``cosmossdk.io/math.LegacyDec`` field (a string or bytes field with
that gogoproto ``customtype``: validator shares, commission rates, ``DecCoin`` amounts, mint's
inflation) carries the Dec's backing integer, ``"1500000000000000000"``; the SDK's JSON (gRPC
gateway, CLI) shows the decimal, ``"1.500000000000000000"``. ``MessageToDict`` knows nothing of
gogoproto, so :func:`render_decs` rewrites those fields of its output in place. The fields are
found from the descriptors' own options (cosmpy keeps them), so every SDK type is covered.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cosmpy.protos.gogoproto import gogo_pb2
from google.protobuf import descriptor as _d
from google.protobuf import descriptor_pool

from aivm.types.dec import Dec
from aivm.types.errors import AivmError

LEGACY_DEC = "cosmossdk.io/math.LegacyDec"
_ANY = "google.protobuf.Any"
# field name, kind ("dec", "bytes-dec", "msg", "map"), the field's message type (or None)
_Plan = tuple[tuple[str, str, _d.Descriptor | None], ...]
_plans: dict[str, _Plan] = {}


def _is_dec(field: _d.FieldDescriptor) -> bool:
    options = field.GetOptions()
    return bool(options.HasExtension(gogo_pb2.customtype)) and (
        options.Extensions[gogo_pb2.customtype] == LEGACY_DEC
    )


def _field_plan(field: _d.FieldDescriptor) -> tuple[str, str, _d.Descriptor | None] | None:
    if field.cpp_type == _d.FieldDescriptor.CPPTYPE_MESSAGE:
        sub = field.message_type
        if sub.GetOptions().map_entry:
            value = sub.fields_by_name["value"]
            if value.cpp_type != _d.FieldDescriptor.CPPTYPE_MESSAGE:
                return None
            return (field.name, "map", value.message_type)
        if sub.full_name.startswith("google.protobuf.") and sub.full_name != _ANY:
            return None
        return (field.name, "msg", sub)
    if field.type == _d.FieldDescriptor.TYPE_STRING and _is_dec(field):
        return (field.name, "dec", None)
    if field.type == _d.FieldDescriptor.TYPE_BYTES and _is_dec(field):
        return (field.name, "bytes-dec", None)
    return None


def _plan(descriptor: _d.Descriptor) -> _Plan:
    found = _plans.get(descriptor.full_name)
    if found is None:
        found = tuple(p for f in descriptor.fields if (p := _field_plan(f)) is not None)
        _plans[descriptor.full_name] = found
    return found


def dec_text(wire: str) -> str:
    """The decimal text of a LegacyDec wire string; other text (empty, already decimal) as is."""
    try:
        return str(Dec.from_proto_str(wire)) if wire else wire
    except AivmError:
        return wire


def _bytes_dec_text(encoded: str) -> str:
    try:
        return dec_text(base64.b64decode(encoded, validate=True).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return encoded


def _convert(kind: str, value: Any, sub: _d.Descriptor | None) -> Any:
    if kind == "dec" and isinstance(value, str):
        return dec_text(value)
    if kind == "bytes-dec" and isinstance(value, str):
        return _bytes_dec_text(value)
    if kind == "msg" and sub is not None and isinstance(value, dict):
        render_decs(sub, value)
    if kind == "map" and sub is not None and isinstance(value, dict):
        for item in value.values():
            if isinstance(item, dict):
                render_decs(sub, item)
    return value


def render_decs(descriptor: _d.Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the LegacyDec fields of ``data`` (``MessageToDict`` output of a message of type
    ``descriptor``, with original or JSON field names) to decimal text; returns ``data``."""
    if descriptor.full_name == _ANY:
        type_url = data.get("@type")
        if not isinstance(type_url, str):
            return data
        try:
            descriptor = descriptor_pool.Default().FindMessageTypeByName(type_url.split("/")[-1])
        except KeyError:
            return data
    for name, kind, sub in _plan(descriptor):
        key = name if name in data else descriptor.fields_by_name[name].json_name
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, list) and kind != "map":
            data[key] = [_convert(kind, item, sub) for item in value]
        else:
            data[key] = _convert(kind, value, sub)
    return data
