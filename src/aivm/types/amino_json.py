"""Amino JSON sign bytes (SIGN_MODE_LEGACY_AMINO_JSON), as the Cosmos SDK v0.50 builds them.

Ledger, Keplr in amino mode and cosmjs' ``OfflineAminoSigner`` (``Secp256k1Wallet`` of
``@cosmjs/amino``) sign a JSON document instead of the protobuf SignDoc. This module
reproduces the SDK's encoder (``x/tx/signing/aminojson``) byte for byte; the node (ante step)
and the Python client both use it. Rules (see docs/adr/0015-amino-json-signing.md):

- The document: ``{"account_number","chain_id","fee":{"amount","gas"[,"granter"][,"payer"]},
  "memo","msgs","sequence"[,"timeout_height"]}``, keys sorted, no whitespace, 64-bit numbers as
  strings; ``timeout_height`` only when non-zero, ``payer``/``granter`` only when set.
- Each message is ``{"type": <amino name>, "value": <its amino JSON>}``. The amino name is the
  proto option ``(amino.name)`` (cosmpy's compiled SDK descriptors carry it); AIVM's own
  messages (package ``aivm.<module>.v1``) have none and are named ``aivm/<module>/<Name>``.
- A message's fields are written in order of their amino name (``(amino.field_name)`` or the
  proto name); an unset field is omitted unless ``(amino.dont_omitempty)``; int64/uint64 are
  quoted, other integers and enums are numbers, bytes are base64, ``Any`` is ``{type, value}``,
  ``Timestamp`` is RFC 3339, ``Duration`` is quoted nanoseconds; an empty repeated field that
  is written is ``null``, except ``(amino.encoding) = "legacy_coins"``, which writes ``[]``;
  ``cosmos.Int``/``cosmos.Dec`` strings are written as ``"0"`` when empty and a ``LegacyDec``
  (18-decimal atomics on the wire) as its decimal form (``"0.100000000000000000"``); a message
  with ``(amino.message_encoding) = "key_field"`` (public keys) is its key in base64.
- Strings are escaped as Go's ``encoding/json`` does: ``<``, ``>``, ``&``, U+2028 and U+2029
  as ``\\u003c`` and friends (cosmjs' ``serializeSignDoc`` escapes the first three the same).

Anything the SDK refuses to encode (maps, floats, a packed type without an amino name, a
``dont_omitempty`` message field left unset, a malformed decimal) raises
:class:`AminoJSONError`. The output is a pure function of the decoded messages, linear in
their size: each wire byte produces a bounded number of JSON bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from cosmpy.protos.amino import amino_pb2
from cosmpy.protos.cosmos_proto import cosmos_pb2
from cosmpy.protos.gogoproto import gogo_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from aivm.types import pb

__all__ = [
    "AminoJSONError",
    "Resolver",
    "amino_name",
    "encode_msg",
    "encode_msgs",
    "sign_doc_bytes",
]

LEGACY_DEC_TYPE = "cosmossdk.io/math.LegacyDec"
LEGACY_DEC_PRECISION = 18
MAX_DEC_BIT_LEN = 256 + 60
"""Largest LegacyDec the SDK decodes (its maxDecBitLen)."""
MAX_DURATION_SECONDS = (2**63 - 1) // 10**9 - 1
"""Longest Duration the SDK encodes: its nanoseconds must fit an int64."""
AIVM_PACKAGE = "aivm."

_MINT = "cosmos.mint.v1beta1"
_MINT_DECS = ("inflation_rate_change", "inflation_max", "inflation_min", "goal_bonded")
NAME_TABLE: dict[str, str] = {
    f"{_MINT}.MsgUpdateParams": "cosmos-sdk/x/mint/MsgUpdateParams",
    f"{_MINT}.Params": "cosmos-sdk/x/mint/Params",
}
"""Amino names of SDK types whose descriptors here lack the option: the SDK v0.50 mint types,
which ``aivm.modules.mint.types`` declares in a private pool (cosmpy's are a fork's)."""
FIELD_TABLE: dict[tuple[str, str], tuple[bool, str | None]] = {
    (f"{_MINT}.MsgUpdateParams", "params"): (True, None),
    **{(f"{_MINT}.Params", name): (True, "dec") for name in _MINT_DECS},
}
"""(message, field) → (dont_omitempty, encoding) for those same types, as the SDK's protos say."""

Resolver = Callable[[str], "type[pb.Message] | None"]
"""Type URL → the message class an ``Any`` nested in a message may carry (None: refused)."""


class AminoJSONError(ValueError):
    """The SDK's amino JSON encoder would refuse this input."""


_PUBLIC_KEYS: dict[str, type[pb.Message]] = {
    pb.type_url(pb.secp256k1.PubKey): pb.secp256k1.PubKey,
    pb.type_url(pb.ed25519.PubKey): pb.ed25519.PubKey,
}


def public_keys_only(type_url: str) -> type[pb.Message] | None:
    """The default resolver of nested ``Any`` values: secp256k1 and ed25519 public keys."""
    return _PUBLIC_KEYS.get(type_url)


# --- JSON primitives ----------------------------------------------------------------------------

_GO_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_ESCAPE_TABLE = str.maketrans(_GO_HTML_ESCAPES)


def go_json_string(text: str) -> str:
    """``text`` as Go's ``json.Marshal`` writes a string (HTML-safe, UTF-8 kept)."""
    return json.dumps(text, ensure_ascii=False).translate(_GO_ESCAPE_TABLE)


def _quoted(number: int) -> str:
    return f'"{number}"'


# --- names and options --------------------------------------------------------------------------


def _options(descriptor: Descriptor | FieldDescriptor) -> Message:
    """The descriptor's options, parsed again now that the amino, cosmos_proto and gogoproto
    extensions are registered: protobuf keeps the options parsed on first use, and a file
    whose options were read before those modules were imported would otherwise show them
    as unknown fields (the answer must not depend on import order)."""
    cached = descriptor.GetOptions()
    fresh = type(cached)()
    fresh.ParseFromString(cached.SerializeToString())
    return fresh


def _option(options: Message, extension: object) -> object | None:
    extensions = options.Extensions
    return extensions[extension] if options.HasExtension(extension) else None


@cache
def amino_name(descriptor: Descriptor) -> str | None:
    """A message type's amino name: its ``(amino.name)`` option; ``aivm/<module>/<Name>`` for
    AIVM's own types (``aivm.<module>.v1.<Name>``); None for any other type."""
    name = _option(_options(descriptor), amino_pb2.name)
    if name:
        return str(name)
    full = descriptor.full_name
    if full in NAME_TABLE:
        return NAME_TABLE[full]
    if full.startswith(AIVM_PACKAGE):
        module = full.split(".")[1]
        return f"aivm/{module}/{descriptor.name}"
    return None


@cache
def _message_encoding(descriptor: Descriptor) -> str | None:
    encoding = _option(_options(descriptor), amino_pb2.message_encoding)
    return str(encoding) if encoding else None


def _camel(name: str) -> str:
    """``strcase.ToCamel`` for a snake_case proto identifier."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


@dataclass(frozen=True)
class _Field:
    """How one field of a message type is written."""

    field: FieldDescriptor
    name: str
    omit_empty: bool
    encoding: str | None
    """``legacy_coins``, ``int``, ``dec`` or None (the default encoding)."""
    oneof_key: str | None
    """For a field in a oneof: the key the oneof is written under."""
    oneof_type: str | None


@cache
def _plan(descriptor: Descriptor) -> tuple[_Field, ...]:
    """The fields of a message type in the order the SDK writes them (by amino name)."""
    fields = []
    for field in descriptor.fields:
        options = _options(field)
        name = str(_option(options, amino_pb2.field_name) or field.name)
        dont_omit = _option(options, amino_pb2.dont_omitempty)
        encoding = _field_encoding(field)
        table = FIELD_TABLE.get((descriptor.full_name, field.name))
        if table is not None:
            dont_omit, encoding = table
        oneof = field.containing_oneof
        oneof_key = _camel(oneof.name) if oneof is not None else None
        oneof_type = None
        if oneof is not None:
            oneof_type = _oneof_type(descriptor, field)
        fields.append(
            _Field(
                field=field,
                name=name,
                omit_empty=not dont_omit,
                encoding=encoding,
                oneof_key=oneof_key,
                oneof_type=oneof_type,
            )
        )
    return tuple(sorted(fields, key=lambda f: f.name))


def _oneof_type(descriptor: Descriptor, field: FieldDescriptor) -> str | None:
    """``(amino.oneof_name)``; for AIVM's own types without it, ``aivm/<module>/<Type>`` (the
    member's message type, else its CamelCase field name). None: the SDK refuses the field."""
    name = _option(_options(field), amino_pb2.oneof_name)
    if name:
        return str(name)
    if not descriptor.full_name.startswith(AIVM_PACKAGE):
        return None
    module = descriptor.full_name.split(".")[1]
    member = field.message_type.name if field.message_type is not None else _camel(field.name)
    return f"aivm/{module}/{member}"


def _field_encoding(field: FieldDescriptor) -> str | None:
    options = _options(field)
    if _option(options, amino_pb2.encoding) == "legacy_coins":
        return "legacy_coins"
    scalar = _option(options, cosmos_pb2.scalar)
    if scalar == "cosmos.Int":
        return "int"
    if scalar == "cosmos.Dec" and _option(options, gogo_pb2.customtype) == LEGACY_DEC_TYPE:
        return "dec"
    return None


# --- the encoder --------------------------------------------------------------------------------


class _Encoder:
    """Writes amino JSON; ``resolve`` resolves the ``Any`` values nested in messages."""

    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve

    def named(self, message: pb.Message) -> str:
        """``{"type": <amino name>, "value": ...}`` of a message packed in an ``Any``."""
        name = amino_name(message.DESCRIPTOR)
        if name is None:
            raise AminoJSONError(
                f"message {pb.type_url(message)} is packed into an any field, so requires an "
                "amino.name annotation"
            )
        return f'{{"type":"{name}","value":{self.message(message)}}}'

    def message(self, message: pb.Message) -> str:
        descriptor = message.DESCRIPTOR
        full = descriptor.full_name
        if full == "google.protobuf.Timestamp":
            return _timestamp(message)
        if full == "google.protobuf.Duration":
            return _duration(message)
        if full == "google.protobuf.Any":
            return self.any(message)
        encoding = _message_encoding(descriptor)
        if encoding == "key_field":
            return _key_field(message)
        if encoding:
            raise AminoJSONError(f"message encoding {encoding!r} of {full} is not supported")
        return self.fields(message)

    def fields(self, message: pb.Message) -> str:
        parts = []
        nil_oneofs: set[str] = set()
        for spec in _plan(message.DESCRIPTOR):
            field = spec.field
            if spec.oneof_key is not None and spec.oneof_type is None:
                raise AminoJSONError(
                    f"field {field.name} within a oneof must have the amino.oneof_name option set"
                )
            name = spec.name
            write_nil = False
            if not _has(message, field):
                oneof = field.containing_oneof
                if (
                    oneof is not None
                    and message.WhichOneof(oneof.name) is None
                    and spec.oneof_key not in nil_oneofs
                ):
                    assert spec.oneof_key is not None
                    name = spec.oneof_key
                    write_nil = True
                    nil_oneofs.add(spec.oneof_key)
                elif spec.omit_empty:
                    continue
                elif field.message_type is not None and not _is_repeated(field):
                    raise AminoJSONError(
                        f"not supported: dont_omit_empty=true on invalid (nil?) message field: "
                        f"{name}"
                    )
            value = self.field(message, spec, write_nil)
            entry = f"{go_json_string(name)}:{value}"
            if spec.oneof_key is not None and not write_nil:
                entry = f'"{spec.oneof_key}":{{"type":"{spec.oneof_type}","value":{{{entry}}}}}'
            parts.append(entry)
        return "{" + ",".join(parts) + "}"

    def field(self, message: pb.Message, spec: _Field, write_nil: bool) -> str:
        value = getattr(message, spec.field.name)
        if spec.encoding is not None:
            return self.encoded(value, spec)
        if write_nil:
            return "null"
        if _is_repeated(spec.field):
            if _is_map(spec.field):
                raise AminoJSONError("maps are not supported")
            if not len(value):
                return "null"
            return "[" + ",".join(self.value(item, spec.field) for item in value) + "]"
        return self.value(value, spec.field)

    def encoded(self, value: object, spec: _Field) -> str:
        if spec.encoding == "legacy_coins":
            if not _is_repeated(spec.field) or _is_map(spec.field):
                raise AminoJSONError(f"legacy_coins on the non-list field {spec.field.name}")
            items = list(value)  # type: ignore[call-overload]
            return "[" + ",".join(self.value(item, spec.field) for item in items) + "]"
        if _is_repeated(spec.field):
            raise AminoJSONError(f"unsupported type for {spec.encoding} field {spec.field.name}")
        if isinstance(value, bytes):
            text = value.decode("utf-8", errors="strict") if value else ""
        elif isinstance(value, str):
            text = value
        else:
            raise AminoJSONError(f"unsupported type for {spec.encoding} field {spec.field.name}")
        if not text:
            return '"0"'
        if spec.encoding == "dec":
            return go_json_string(legacy_dec_string(text))
        if isinstance(value, bytes):  # math.Int.Unmarshal, then its canonical String()
            if not _is_int(text):
                raise AminoJSONError(f"malformed integer in {spec.field.name}")
            text = str(int(text))
        return go_json_string(text)

    def value(self, value: object, field: FieldDescriptor) -> str:
        kind = field.type
        if kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            return self.message(value)
        if kind == FieldDescriptor.TYPE_STRING:
            return go_json_string(value)  # type: ignore[arg-type]
        if kind == FieldDescriptor.TYPE_BYTES:
            return '"' + base64.b64encode(value).decode() + '"'  # type: ignore[arg-type]
        if kind == FieldDescriptor.TYPE_BOOL:
            return "true" if value else "false"
        if kind in _INT64_KINDS:
            return _quoted(int(value))  # type: ignore[call-overload]
        if kind in _INT32_KINDS:
            return str(int(value))  # type: ignore[call-overload]
        raise AminoJSONError(f"unknown type for field {field.name} (floats are not supported)")

    def any(self, value: pb.AnyProto) -> str:
        message_class = self.resolve(value.type_url)
        if message_class is None:
            raise AminoJSONError(f"can't resolve type URL {value.type_url}")
        try:
            packed = message_class.FromString(value.value)
        except (pb.DecodeError, RuntimeError, ValueError) as exc:
            raise AminoJSONError(f"undecodable {value.type_url}") from exc
        return self.named(packed)


_INT64_KINDS = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_INT32_KINDS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_ENUM,
    }
)


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _is_map(field: FieldDescriptor) -> bool:
    return bool(field.message_type is not None and field.message_type.GetOptions().map_entry)


def _has(message: pb.Message, field: FieldDescriptor) -> bool:
    """protoreflect's ``Has``: a non-empty list, a set message or optional, a non-zero scalar."""
    if _is_repeated(field):
        return len(getattr(message, field.name)) > 0
    if field.has_presence:
        return bool(message.HasField(field.name))
    return bool(getattr(message, field.name))


def _is_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit()


def legacy_dec_string(atomics: str) -> str:
    """A LegacyDec from its wire form (an integer of 10^-18 units) in its decimal form."""
    if not _is_int(atomics):
        raise AminoJSONError(f"failed to unmarshal for Amino JSON encoding; {atomics!r} into Dec")
    value = int(atomics)
    if abs(value).bit_length() > MAX_DEC_BIT_LEN:
        raise AminoJSONError("decimal out of range")
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**LEGACY_DEC_PRECISION)
    return f"{sign}{whole}.{frac:0{LEGACY_DEC_PRECISION}d}"


def _key_field(message: pb.Message) -> str:
    key = bytes(message.key)
    return '"' + base64.b64encode(key).decode() + '"' if key else "null"


_MIN_TIMESTAMP = -62135596800  # 0001-01-01T00:00:00Z
_MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(message: pb.Message) -> str:
    seconds, nanos = int(message.seconds), int(message.nanos)
    if not 0 <= nanos < 10**9:
        raise AminoJSONError("nanos must be non-negative and below 1e9 on a timestamp")
    if not _MIN_TIMESTAMP <= seconds <= _MAX_TIMESTAMP:
        raise AminoJSONError("timestamp out of the years 0001-9999")
    t = _EPOCH + timedelta(seconds=seconds)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return f'"{text}Z"'


def _duration(message: pb.Message) -> str:
    seconds, nanos = int(message.seconds), int(message.nanos)
    if abs(seconds) > MAX_DURATION_SECONDS or abs(nanos) >= 10**9:
        raise AminoJSONError(f"{seconds} seconds would overflow an int64 as nanoseconds")
    return _quoted(seconds * 10**9 + nanos)


# --- the sign document ---------------------------------------------------------------------------


def encode_msg(message: pb.Message, resolve: Resolver = public_keys_only) -> str:
    """One message as the sign document lists it: ``{"type":…,"value":…}``."""
    return _Encoder(resolve).named(message)


def encode_msgs(messages: Sequence[pb.Message], resolve: Resolver = public_keys_only) -> list[str]:
    """Every message of a tx, in order (computed once per tx; the document once per signer)."""
    encoder = _Encoder(resolve)
    return [encoder.named(m) for m in messages]


def _fee_json(amount: Sequence[pb.coin.Coin], gas: int, payer: str, granter: str) -> str:
    encoder = _Encoder(public_keys_only)
    coins = "[" + ",".join(encoder.message(c) for c in amount) + "]"
    parts = [f'"amount":{coins}', f'"gas":{_quoted(gas)}']
    if granter:
        parts.append(f'"granter":{go_json_string(granter)}')
    if payer:
        parts.append(f'"payer":{go_json_string(payer)}')
    return "{" + ",".join(parts) + "}"


def sign_doc_bytes(
    msgs_json: Sequence[str],
    chain_id: str,
    account_number: int,
    sequence: int,
    fee_amount: Sequence[pb.coin.Coin],
    gas_limit: int,
    memo: str = "",
    timeout_height: int = 0,
    payer: str = "",
    granter: str = "",
) -> bytes:
    """The SIGN_MODE_LEGACY_AMINO_JSON bytes one signer signs (sha256 of them, secp256k1)."""
    parts = [
        f'"account_number":{_quoted(account_number)}',
        f'"chain_id":{go_json_string(chain_id)}',
        f'"fee":{_fee_json(fee_amount, gas_limit, payer, granter)}',
        f'"memo":{go_json_string(memo)}',
        '"msgs":[' + ",".join(msgs_json) + "]",
        f'"sequence":{_quoted(sequence)}',
    ]
    if timeout_height:
        parts.append(f'"timeout_height":{_quoted(timeout_height)}')
    return ("{" + ",".join(parts) + "}").encode()
