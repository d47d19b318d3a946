"""``LegacyDec`` fields in proto3 JSON, as the Cosmos SDK renders them.

On the protobuf wire a ``cosmossdk.io/math.LegacyDec`` field (a string or bytes field with
that gogoproto ``customtype``: validator shares, commission rates, ``DecCoin`` amounts, mint's
inflation) carries the Dec's backing integer, ``"1500000000000000000"``; the SDK's JSON (gRPC
gateway, CLI, genesis files) shows the decimal, ``"1.500000000000000000"``. ``MessageToDict``
and ``ParseDict`` know nothing of gogoproto, so one walker rewrites those fields of a JSON
object: :func:`render_decs` for display (in place; text that does not parse is left as is),
:func:`to_json` and :func:`from_json` for genesis state (both ways; a bad decimal is
ErrInvalidRequest). The fields are found from the descriptors' own options (cosmpy keeps
them), so every SDK type is covered, inside ``Any`` and map values too.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cosmpy.protos.gogoproto import gogo_pb2
from google.protobuf import descriptor as _d
from google.protobuf import descriptor_pool

from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest

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


M = TypeVar("M", bound=pb.Message)
Rewrite = Callable[[str], str]
"""Turns the JSON text of one LegacyDec field into another."""


@dataclass(frozen=True)
class _Codec:
    """How the walker rewrites a string LegacyDec field and a bytes one (base64 in the
    protobuf JSON, on the wire side)."""

    text: Rewrite
    bytes_: Rewrite


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


def _to_decimal(wire: str) -> str:
    try:
        return str(Dec.from_proto_str(wire))
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid decimal {wire!r}: {exc.log}") from exc


def _bytes_to_decimal(encoded: str) -> str:
    try:
        wire = base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ErrInvalidRequest.wrap(f"invalid decimal bytes {encoded!r}") from exc
    return _to_decimal(wire)


def _to_wire(text: str) -> str:
    try:
        return Dec.from_str(text).to_proto_str()
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid decimal {text!r}: {exc.log}") from exc


def _to_wire_bytes(text: str) -> str:
    return base64.b64encode(_to_wire(text).encode("ascii")).decode("ascii")


_DISPLAY = _Codec(dec_text, _bytes_dec_text)
_TO_JSON = _Codec(_to_decimal, _bytes_to_decimal)
_FROM_JSON = _Codec(_to_wire, _to_wire_bytes)


def _convert(kind: str, value: Any, sub: _d.Descriptor | None, codec: _Codec) -> Any:
    if not value:
        return value  # "" (the zero Dec) and empty objects stay as they are
    if kind == "dec" and isinstance(value, str):
        return codec.text(value)
    if kind == "bytes-dec" and isinstance(value, str):
        return codec.bytes_(value)
    if kind == "msg" and sub is not None and isinstance(value, dict):
        _rewrite_decs(sub, value, codec)
    if kind == "map" and sub is not None and isinstance(value, dict):
        for item in value.values():
            if isinstance(item, dict):
                _rewrite_decs(sub, item, codec)
    return value


def _rewrite_decs(descriptor: _d.Descriptor, data: dict[str, Any], codec: _Codec) -> dict[str, Any]:
    """The walker: rewrite every LegacyDec field of ``data`` (JSON of a ``descriptor`` message,
    original or JSON field names) with ``codec``, in place; returns ``data``."""
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
            data[key] = [_convert(kind, item, sub, codec) for item in value]
        else:
            data[key] = _convert(kind, value, sub, codec)
    return data


def render_decs(descriptor: _d.Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the LegacyDec fields of ``data`` (``MessageToDict`` output of a message of type
    ``descriptor``, with original or JSON field names) to decimal text, in place (text that is
    no LegacyDec wire string is left as it is); returns ``data``."""
    return _rewrite_decs(descriptor, data, _DISPLAY)


def to_json(message: pb.Message) -> dict[str, Any]:
    """proto3 JSON (original field names, defaults written) with decimals as the SDK's;
    ErrInvalidRequest for a LegacyDec field that holds no Dec."""
    data = pb.json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _rewrite_decs(message.DESCRIPTOR, data, _TO_JSON)


def from_json(data: Any, message: M) -> M:
    """Fill ``message`` from SDK-style JSON (decimals with a point; ``data`` is not changed);
    ErrInvalidRequest when it does not parse."""
    if not isinstance(data, dict):
        raise ErrInvalidRequest.wrap(f"expected a JSON object for {message.DESCRIPTOR.name}")
    wire = _rewrite_decs(message.DESCRIPTOR, copy.deepcopy(data), _FROM_JSON)
    try:
        pb.json_format.ParseDict(wire, message)
    except pb.json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid {message.DESCRIPTOR.name}: {exc}") from exc
    return message
