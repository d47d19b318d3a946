"""The Cosmos SDK v0.50 ``cosmos.mint.v1beta1`` messages, built in a private descriptor pool.

The compiled ``cosmos.mint.v1beta1`` types that cosmpy ships (``aivm.types.pb.mint*``) are a
fork's: their ``Params`` has ``inflation_rate`` in field 2 and no fields 3–5. A wallet's
``MsgUpdateParams`` or a ``Params`` query answer would not round-trip through them, and the
same full names cannot be registered twice in protobuf's default pool. So this module declares
the SDK's messages itself, with the SDK's names and field numbers, in its own pool; their type
URLs (``/cosmos.mint.v1beta1.MsgUpdateParams``) are the SDK's.

``LegacyDec`` fields (strings in ``Minter`` and ``Params``, bytes in the query answers) carry the
backing integer on the wire (``"130000000000000000"`` is 0.13), as the SDK writes them.
"""

from __future__ import annotations

from typing import Any

from cosmpy.protos.gogoproto import gogo_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "cosmos.mint.v1beta1"
_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
_UINT64 = descriptor_pb2.FieldDescriptorProto.TYPE_UINT64
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE

_MESSAGES: tuple[tuple[str, tuple[tuple[str, int, int, str], ...]], ...] = (
    ("Minter", (("inflation", 1, _STRING, ""), ("annual_provisions", 2, _STRING, ""))),
    (
        "Params",
        (
            ("mint_denom", 1, _STRING, ""),
            ("inflation_rate_change", 2, _STRING, ""),
            ("inflation_max", 3, _STRING, ""),
            ("inflation_min", 4, _STRING, ""),
            ("goal_bonded", 5, _STRING, ""),
            ("blocks_per_year", 6, _UINT64, ""),
        ),
    ),
    ("GenesisState", (("minter", 1, _MESSAGE, "Minter"), ("params", 2, _MESSAGE, "Params"))),
    ("MsgUpdateParams", (("authority", 1, _STRING, ""), ("params", 2, _MESSAGE, "Params"))),
    ("MsgUpdateParamsResponse", ()),
    ("QueryParamsRequest", ()),
    ("QueryParamsResponse", (("params", 1, _MESSAGE, "Params"),)),
    ("QueryInflationRequest", ()),
    ("QueryInflationResponse", (("inflation", 1, _BYTES, ""),)),
    ("QueryAnnualProvisionsRequest", ()),
    ("QueryAnnualProvisionsResponse", (("annual_provisions", 1, _BYTES, ""),)),
)
# the LegacyDec fields: marked with the SDK's gogoproto ``customtype`` so that JSON renderers
# (``aivm.types.dec_json``: the REST gateway) write them as decimals, as the SDK's gateway does
_LEGACY_DEC = "cosmossdk.io/math.LegacyDec"
_DEC_FIELDS = frozenset(
    [
        "inflation",
        "annual_provisions",
        "inflation_rate_change",
        "inflation_max",
        "inflation_min",
        "goal_bonded",
    ]
)


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="cosmos/mint/v1beta1/aivm_mint.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES:
        message = proto.message_type.add(name=name)
        for field_name, number, kind, type_name in fields:
            field = message.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                json_name=_camel(field_name),
            )
            if type_name:
                field.type_name = f".{PACKAGE}.{type_name}"
            if field_name in _DEC_FIELDS:
                field.options.Extensions[gogo_pb2.customtype] = _LEGACY_DEC
    return proto


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


POOL = descriptor_pool.DescriptorPool()
_DESCRIPTOR = POOL.Add(_file())


def _class(name: str) -> Any:
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


Minter: Any = _class("Minter")
Params: Any = _class("Params")
GenesisState: Any = _class("GenesisState")
MsgUpdateParams: Any = _class("MsgUpdateParams")
MsgUpdateParamsResponse: Any = _class("MsgUpdateParamsResponse")
QueryParamsRequest: Any = _class("QueryParamsRequest")
QueryParamsResponse: Any = _class("QueryParamsResponse")
QueryInflationRequest: Any = _class("QueryInflationRequest")
QueryInflationResponse: Any = _class("QueryInflationResponse")
QueryAnnualProvisionsRequest: Any = _class("QueryAnnualProvisionsRequest")
QueryAnnualProvisionsResponse: Any = _class("QueryAnnualProvisionsResponse")
