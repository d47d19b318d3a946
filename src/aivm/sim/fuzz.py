"""Structure-aware fuzz inputs: protobuf messages, signed transactions, queries, DSM artifacts.

Every generator here takes one ``random.Random``: a seeded one in ``scripts/fuzz.py`` (fast,
reproducible from seed and input index) or Hypothesis' ``st.randoms(use_true_random=False)``
in ``tests/fuzz`` (replayed and shrunk by Hypothesis). Nothing here knows a particular module:
messages are built by walking protobuf descriptors, so every message and query type the
router lists is covered the day its module is added. What makes an input *interesting* — the
addresses of funded accounts, ids that exist, a valid model artifact — comes from a
:class:`Vocabulary` the caller fills (``providers`` map a field name to a value source).

Each layer starts from valid input and breaks it:

1. :class:`MessageGenerator` — field values from the descriptor: bech32 addresses valid and
   not, coin amounts and denoms at their edges (``'²'``, ``'٣'``, ``10**80``, ``'+1'``, …),
   every integer type's limits, nested and repeated messages, ``Any`` with valid and invalid
   type URLs, digests derived from sibling fields (``artifact`` → ``artifact_sha256``).
2. :class:`WireMutator` — encoding mutations of a serialized message at any nesting depth,
   following the descriptor (and ``Any`` type URLs) down: unknown fields (critical and
   non-critical ≥ 1024), duplicate, dropped and reordered fields, non-minimal varints, wrong
   wire types, truncation, overlong lengths, invalid tags, groups.
3. :func:`havoc` — byte-level mutation (bit flips, inserts, deletes, repeats, truncation).

:class:`TxFactory` builds and signs real transactions (SIGN_MODE_DIRECT, and for about one
signer in ten SIGN_MODE_LEGACY_AMINO_JSON over :mod:`aivm.types.amino_json`) from generated
messages, mutating bodies and auth infos *before* signing so the signature stays valid and
the input reaches the handlers, and signatures and the TxRaw *after*. Each :class:`FuzzTx`
records what a correct node must do with it: ``decode_reject`` (every decoder must refuse
it: unknown critical fields, wrong wire types, malformed encoding, a non-canonical TxRaw —
ADR-027 —, extension options, an unresolvable type URL) and ``ante_reject`` (CheckTx and
FinalizeBlock must refuse it before any state change: a signature that is not the signer's
over this chain's SignDoc, high-S, not 64 bytes, a public key of another account, a sign
mode other than DIRECT or LEGACY_AMINO_JSON, counts that do not match).

:class:`QueryFactory` builds gRPC query requests for every route, at fuzzed heights.
:class:`ArtifactFactory` builds valid DSM models (every operator kind) serialized with
:mod:`aivm.ai.runtime.codec`, then mutates them at model, JSON and byte level.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import bech32
import numpy as np
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from aivm.ai import runtime
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    InputSpec,
    Lut,
    Model,
    Op,
    OutputSpec,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
    int_array,
)
from aivm.crypto.cid import cid_of
from aivm.crypto.keys import SECP256K1_N, SECP256K1_PUBKEY_TYPE_URL, PrivKey
from aivm.types import amino_json, pb


class Rng(Protocol):
    """The part of ``random.Random`` the generators use (Hypothesis' randoms provide it)."""

    def random(self) -> float:
        """A float in [0, 1)."""
        ...

    def randrange(self, start: int, stop: int | None = None) -> int:
        """An int in [start, stop)."""
        ...

    def randint(self, a: int, b: int) -> int:
        """An int in [a, b]."""
        ...

    def choice(self, seq: Sequence[Any]) -> Any:
        """One element of ``seq``."""
        ...

    def randbytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        ...

    def shuffle(self, x: list[Any]) -> None:
        """Shuffle ``x`` in place."""
        ...


# --- the protobuf wire format ------------------------------------------------------------

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
NON_CRITICAL_BIT = 1 << 10
"""Unknown fields whose number has this bit set are non-critical (SDK ``RejectUnknownFields``)."""
MAX_VARINT_BYTES = 10


def encode_varint(value: int, padding: int = 0) -> bytes:
    """Base-128 varint of ``value`` (negative: 64-bit two's complement) with ``padding``
    redundant trailing zero groups: the non-minimal encodings parsers must tolerate or refuse."""
    if value < 0:
        value &= (1 << 64) - 1
    groups = []
    while True:
        groups.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    groups.extend([0] * padding)
    return bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])


MAX_GROUP_DEPTH = 64
"""Groups nested deeper than this are not parsed (protobuf's own decoders stop at 100; the
fuzzer's parser must not exhaust Python's stack on a mutated input of nested group tags)."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); ValueError when the varint is cut short or longer than 10 bytes."""
    result = shift = 0
    for _ in range(MAX_VARINT_BYTES):
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ValueError("varint longer than 10 bytes")


@dataclass
class WireField:
    """One field as it sits on the wire, with optional non-minimal varint padding."""

    number: int
    wire_type: int
    value: int | bytes
    """The varint value, or the payload (fixed bytes, LEN contents, group contents)."""
    tag_padding: int = 0
    length_padding: int = 0
    value_padding: int = 0

    def encode(self) -> bytes:
        """Wire bytes of the field."""
        tag = encode_varint((self.number << 3) | self.wire_type, self.tag_padding)
        if self.wire_type == VARINT:
            return tag + encode_varint(int(self.value), self.value_padding)
        payload = bytes(self.value) if isinstance(self.value, bytes) else b""
        if self.wire_type == LEN:
            return tag + encode_varint(len(payload), self.length_padding) + payload
        if self.wire_type == SGROUP:
            return tag + payload + encode_varint((self.number << 3) | EGROUP)
        return tag + payload


def parse_wire(data: bytes) -> list[WireField] | None:
    """The fields of a serialized message, or None when ``data`` is not well-formed wire data
    (truncated, a bad tag or wire type, an unmatched group)."""
    try:
        fields, pos = _parse_fields(data, 0, None, 0)
    except ValueError:
        return None
    return fields if pos == len(data) else None


def _parse_fields(
    data: bytes, pos: int, group: int | None, depth: int
) -> tuple[list[WireField], int]:
    if depth > MAX_GROUP_DEPTH:
        raise ValueError("groups nested too deep")
    fields: list[WireField] = []
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise ValueError("bad field number")
        if wire_type == EGROUP:
            if number != group:
                raise ValueError("unmatched end group")
            return fields, pos
        value, pos = _parse_value(data, pos, number, wire_type, depth)
        fields.append(WireField(number, wire_type, value))
    if group is not None:
        raise ValueError("unterminated group")
    return fields, pos


def _parse_value(
    data: bytes, pos: int, number: int, wire_type: int, depth: int
) -> tuple[int | bytes, int]:
    if wire_type == VARINT:
        return read_varint(data, pos)
    if wire_type in (I64, I32):
        size = 8 if wire_type == I64 else 4
        if pos + size > len(data):
            raise ValueError("truncated fixed field")
        return data[pos : pos + size], pos + size
    if wire_type == LEN:
        size, pos = read_varint(data, pos)
        if pos + size > len(data):
            raise ValueError("length past the end")
        return data[pos : pos + size], pos + size
    if wire_type == SGROUP:
        start = pos
        _, end = _parse_fields(data, pos, number, depth + 1)
        closing = len(encode_varint((number << 3) | EGROUP))
        return data[start : end - closing], end
    raise ValueError("bad wire type")


def encode_wire(fields: Sequence[WireField]) -> bytes:
    """Serialize ``fields`` in the order given."""
    return b"".join(f.encode() for f in fields)


def random_wire_value(rng: Rng, wire_type: int) -> int | bytes:
    """A plausible value for a field of ``wire_type``."""
    if wire_type == VARINT:
        return int(rng.choice(INTERESTING_INTS)) & ((1 << 64) - 1)
    if wire_type == I64:
        return rng.randbytes(8)
    if wire_type == I32:
        return rng.randbytes(4)
    return rng.randbytes(rng.choice((0, 1, 2, 8, 33)))


# --- byte-level mutation -----------------------------------------------------------------

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1A, 0x22)


def havoc(rng: Rng, data: bytes, rounds: int = 0) -> bytes:
    """``data`` after 1–4 (or ``rounds``) random byte-level edits."""
    out = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        _havoc_step(rng, out)
    return bytes(out)


def _havoc_step(rng: Rng, out: bytearray) -> None:
    kind = rng.randrange(8)
    if not out or kind == 0:
        at = rng.randint(0, len(out))
        out[at:at] = rng.randbytes(rng.choice((1, 2, 4, 16)))
        return
    at = rng.randrange(len(out))
    if kind == 1:
        out[at] ^= 1 << rng.randrange(8)
    elif kind == 2:
        out[at] = rng.choice(INTERESTING_BYTES)
    elif kind == 3:
        del out[at : at + rng.randint(1, 8)]
    elif kind == 4:
        chunk = out[at : at + rng.randint(1, 16)]
        out[at:at] = chunk * rng.randint(1, 4)
    elif kind == 5:
        del out[at:]
    elif kind == 6:
        out[at] = rng.randrange(256)
    else:
        out.extend(rng.randbytes(rng.randint(1, 8)))


def splice(rng: Rng, first: bytes, second: bytes) -> bytes:
    """A prefix of ``first`` followed by a suffix of ``second``."""
    return first[: rng.randint(0, len(first))] + second[rng.randint(0, len(second)) :]


# --- edge values ---------------------------------------------------------------------------

EDGE_AMOUNTS: tuple[str, ...] = (
    "",
    "0",
    "00",
    "01",
    "007",
    "1",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1\n",
    "1.0",
    "1e3",
    "0x10",
    "1_000",
    "²",
    "٣",
    "१२",
    "１",
    "Ⅻ",
    "\x00",
    "NaN",
    "Infinity",
    str(2**63 - 1),
    str(2**64),
    str(2**256 - 1),
    str(2**256),
    str(10**80),
    "9" * 78,
    "9" * 79,
    "1" + "0" * 4300,
    "1" * 5000,
)
"""Coin amounts at the edges of the SDK's grammar (ASCII digits, ≤ 256 bits)."""

EDGE_DENOMS: tuple[str, ...] = (
    "ucgpt",
    "uatom",
    "stake",
    "ibc/" + "A" * 64,
    "a",
    "ab",
    "abc",
    "UCGPT",
    "1ucgpt",
    "u cgpt",
    "ucgpt\x00",
    "x" * 128,
    "x" * 129,
    "ucgpτ",
    "",
    "factory/aivm1qqqq/sub",
    "a:b.c_d-e/f",
)

INTERESTING_INTS: tuple[int, ...] = (
    0,
    1,
    2,
    3,
    7,
    8,
    16,
    64,
    100,
    127,
    128,
    255,
    256,
    1000,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -1,
    -2,
    -128,
    -(2**31),
    -(2**63),
)

INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}

BAD_TYPE_URLS: tuple[str, ...] = (
    "",
    "/",
    "/unknown.v1.MsgNothing",
    "type.googleapis.com/cosmos.bank.v1beta1.MsgSend",
    "/cosmos.bank.v1beta1.MsgSend ",
    "/COSMOS.BANK.V1BETA1.MSGSEND",
    "/cosmos.bank.v1beta1.MsgSendResponse",
    "/google.protobuf.Any",
    "/cosmos.crypto.ed25519.PubKey",
    "/cosmos.crypto.multisig.LegacyAminoPubKey",
    "\x00",
)

ANY_FULL_NAME = "google.protobuf.Any"
ADDRESS_FIELD = re.compile(
    r"(^|_)(address|addr|owner|sender|recipient|receiver|caller|creator|authority|from|to|"
    r"signer|payer|granter|grantee|challenger|responder|provider|validator|delegator|admin)(_|$)"
)
UNICODE_SAMPLES = "aé中\u200b\u202e\u0301😀٣²\x00\x7f\ufeff\U0010ffff"


def interesting_int(rng: Rng, lo: int, hi: int, known: Sequence[int] = ()) -> int:
    """An int in [lo, hi], biased to limits, small values and ``known`` ids."""
    roll = rng.random()
    if known and roll < 0.3:
        value = int(rng.choice(known))
    elif roll < 0.7:
        value = int(rng.choice(INTERESTING_INTS))
    elif roll < 0.9:
        value = rng.randint(0, 1000)
    else:
        value = rng.randint(lo, hi)
    return value if lo <= value <= hi else int(rng.choice((lo, hi, 0 if lo <= 0 else lo)))


def amount_string(rng: Rng) -> str:
    """A coin amount: mostly valid, often an edge case."""
    if rng.random() < 0.55:
        return str(rng.choice((1, 2, 10, 500, 1000, 123_456, 10**6)))
    return str(rng.choice(EDGE_AMOUNTS))


def denom_string(rng: Rng, known: Sequence[str]) -> str:
    """A denom: mostly one that exists, else an edge case."""
    if known and rng.random() < 0.7:
        return str(rng.choice(known))
    return str(rng.choice(EDGE_DENOMS))


def generic_string(rng: Rng) -> str:
    """An arbitrary (valid Unicode) string: empty, ASCII, odd code points, long."""
    kind = rng.randrange(7)
    if kind == 0:
        return ""
    if kind == 1:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 40)))
    if kind == 2:
        return "".join(rng.choice(UNICODE_SAMPLES) for _ in range(rng.randint(1, 12)))
    if kind == 3:
        return "a" * int(rng.choice((64, 65, 128, 129, 256, 257, 4096, 4097, 20_000)))
    if kind == 4:
        return str(rng.choice(INTERESTING_INTS))
    if kind == 5:
        return str(rng.choice(EDGE_AMOUNTS))
    return "".join(rng.choice(string.ascii_lowercase + "-._") for _ in range(rng.randint(1, 20)))


def bech32_string(hrp: str, data: bytes) -> str:
    """Bech32 of ``data`` with any prefix and length (for invalid addresses too)."""
    words = bech32.convertbits(data, 8, 5, True) or []
    return str(bech32.bech32_encode(hrp, words) or "")


def address_string(rng: Rng, known: Sequence[str]) -> str:
    """An account address: mostly a known one, else valid-but-unknown or invalid variants."""
    if known and rng.random() < 0.85:
        return str(rng.choice(known))
    base = str(rng.choice(known)) if known else bech32_string("aivm", bytes(20))
    kind = rng.randrange(10)
    if kind == 0:
        return bech32_string("aivm", rng.randbytes(20))
    if kind == 1:
        return bech32_string("aivm", rng.randbytes(32))
    if kind == 2:
        return base.upper()
    if kind == 3:
        prefix = rng.choice(("cosmos", "aivmvaloper", "aivmpub", ""))
        return bech32_string(prefix, rng.randbytes(20))
    if kind == 4:
        return base[:-1] + ("q" if base[-1] != "q" else "p")
    if kind == 5:
        return base[:5] + base[5:].upper()
    if kind == 6:
        return bech32_string("aivm", rng.randbytes(rng.choice((0, 1, 19, 21, 33, 64))))
    if kind == 7:
        return str(rng.choice(("", "aivm1", "aivm", " " + base, base + " ", base + "\x00")))
    if kind == 8:
        return generic_string(rng)
    return bech32_string("aivm", bytes(20))


# --- descriptor-driven messages ------------------------------------------------------------


Provider = Callable[[Rng], Any]


@dataclass
class Vocabulary:
    """What makes generated values meaningful on a particular chain."""

    addresses: list[str] = field(default_factory=list)
    """Bech32 addresses that matter (funded accounts, module accounts)."""
    denoms: list[str] = field(default_factory=list)
    """Denoms that have a supply."""
    numbers: list[int] = field(default_factory=list)
    """Ids that exist (models, executions, challenges, …)."""
    validators: list[str] = field(default_factory=list)
    """Operator addresses (``aivmvaloper…``) of validators that exist."""
    message_types: dict[str, type[pb.Message]] = field(default_factory=dict)
    """Type URL → class of every message an ``Any`` may carry (tx messages, public keys)."""
    providers: dict[str, Provider] = field(default_factory=dict)
    """Field name → value source (one element for a repeated field); used 3 times in 4."""


class MessageGenerator:
    """Builds messages of any type by walking its descriptor."""

    def __init__(self, vocab: Vocabulary, max_depth: int = 5) -> None:
        """Use ``vocab`` for values; stop nesting below ``max_depth``."""
        self.vocab = vocab
        self.max_depth = max_depth

    def message(self, rng: Rng, message_class: type[pb.Message]) -> pb.Message:
        """A new message of ``message_class`` with fuzzed fields."""
        message = message_class()
        self.fill(rng, message, 0)
        return message

    def mutate(self, rng: Rng, message: pb.Message) -> pb.Message:
        """A copy of ``message`` with one or two fields regenerated or cleared."""
        copy = type(message)()
        copy.CopyFrom(message)
        fields = copy.DESCRIPTOR.fields
        for _ in range(rng.randint(1, 2)):
            fd = rng.choice(fields)
            copy.ClearField(fd.name)
            if rng.random() < 0.8:
                self._set_field(rng, copy, fd, 1)
        if rng.random() < 0.5:
            derive_digests(rng, copy)
        return copy

    def fill(self, rng: Rng, message: pb.Message, depth: int) -> None:
        """Set some fields of ``message`` (one member of each oneof), recursively."""
        descriptor = message.DESCRIPTOR
        if descriptor.full_name == ANY_FULL_NAME:
            self._fill_any(rng, message, depth)
            return
        chosen = {o.full_name: rng.choice(o.fields) for o in descriptor.oneofs if o.fields}
        for fd in descriptor.fields:
            oneof = fd.containing_oneof
            if oneof is not None and chosen[oneof.full_name] is not fd:
                continue
            if rng.random() < 0.07:
                continue
            self._set_field(rng, message, fd, depth)
        derive_digests(rng, message)

    def _set_field(self, rng: Rng, message: pb.Message, fd: FieldDescriptor, depth: int) -> None:
        is_message = fd.type == FieldDescriptor.TYPE_MESSAGE
        if is_message and fd.message_type.GetOptions().map_entry:
            self._fill_map(rng, getattr(message, fd.name), fd, depth)
        elif fd.label == FieldDescriptor.LABEL_REPEATED:
            container = getattr(message, fd.name)
            for _ in range(self._count(rng)):
                if not is_message:
                    container.append(self.scalar(rng, fd))
                elif depth < self.max_depth:
                    self.fill(rng, container.add(), depth + 1)
        elif is_message:
            sub = getattr(message, fd.name)
            sub.SetInParent()
            if depth < self.max_depth:
                self.fill(rng, sub, depth + 1)
        else:
            setattr(message, fd.name, self.scalar(rng, fd))

    def _fill_map(self, rng: Rng, container: Any, fd: FieldDescriptor, depth: int) -> None:
        key_fd = fd.message_type.fields_by_name["key"]
        value_fd = fd.message_type.fields_by_name["value"]
        for _ in range(self._count(rng)):
            key = self.scalar(rng, key_fd)
            if value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                if depth < self.max_depth:
                    self.fill(rng, container[key], depth + 1)
            else:
                container[key] = self.scalar(rng, value_fd)

    @staticmethod
    def _count(rng: Rng) -> int:
        roll = rng.random()
        if roll < 0.25:
            return 0
        if roll < 0.65:
            return 1
        if roll < 0.97:
            return rng.randint(2, 4)
        return rng.randint(5, 70)

    def scalar(self, rng: Rng, fd: FieldDescriptor) -> Any:
        """A value for a non-message field (one element of a repeated one)."""
        provider = self.vocab.providers.get(fd.name)
        if provider is not None and rng.random() < 0.75:
            value = provider(rng)
            if isinstance(value, bytes) and value and rng.random() < 0.25:
                value = havoc(rng, value)
            if _fits(fd, value):
                return value
        kind = fd.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self._string(rng, fd.name)
        if kind == FieldDescriptor.TYPE_BYTES:
            return self._bytes(rng, fd.name)
        if kind == FieldDescriptor.TYPE_BOOL:
            return rng.random() < 0.5
        if kind == FieldDescriptor.TYPE_ENUM:
            return self._enum(rng, fd)
        if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return float(rng.choice((0.0, -1.5, 1e30, float("inf"), float("nan"))))
        lo, hi = INT_RANGES[kind]
        return interesting_int(rng, lo, hi, self.vocab.numbers)

    def _string(self, rng: Rng, name: str) -> str:
        lowered = name.lower()
        if "validator" in lowered and self.vocab.validators and rng.random() < 0.9:
            return address_string(rng, self.vocab.validators)
        if ADDRESS_FIELD.search(lowered) and rng.random() < 0.9:
            return address_string(rng, self.vocab.addresses)
        if lowered == "amount" or lowered.endswith("_amount"):
            return amount_string(rng)
        if "denom" in lowered:
            return denom_string(rng, self.vocab.denoms)
        if lowered.endswith("cid") and rng.random() < 0.5:
            return cid_of(rng.randbytes(rng.choice((0, 5, 300))))
        return generic_string(rng)

    @staticmethod
    def _bytes(rng: Rng, name: str) -> bytes:
        lowered = name.lower()
        if "sha256" in lowered or "hash" in lowered:
            return rng.randbytes(int(rng.choice((32, 32, 32, 0, 31, 33, 64))))
        return rng.randbytes(int(rng.choice((0, 1, 20, 32, 33, 64, 65, rng.randint(0, 300)))))

    def _enum(self, rng: Rng, fd: FieldDescriptor) -> int:
        if rng.random() < 0.85:
            return int(rng.choice(fd.enum_type.values).number)
        return int(rng.choice((-1, 4, 77, 2**31 - 1, -(2**31))))

    def _fill_any(self, rng: Rng, message: pb.Message, depth: int) -> None:
        types = self.vocab.message_types
        if types and depth < self.max_depth and rng.random() < 0.7:
            url = str(rng.choice(sorted(types)))
            inner = types[url]()
            self.fill(rng, inner, depth + 1)
            message.type_url = url
            message.value = inner.SerializeToString()
            return
        message.type_url = str(rng.choice(BAD_TYPE_URLS))
        message.value = rng.randbytes(int(rng.choice((0, 3, 33, 100))))


def _fits(fd: FieldDescriptor, value: Any) -> bool:
    kind = fd.type
    if kind == FieldDescriptor.TYPE_STRING:
        return isinstance(value, str)
    if kind == FieldDescriptor.TYPE_BYTES:
        return isinstance(value, bytes)
    if kind == FieldDescriptor.TYPE_BOOL:
        return isinstance(value, bool)
    if kind in INT_RANGES:
        lo, hi = INT_RANGES[kind]
        return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    return kind == FieldDescriptor.TYPE_ENUM and isinstance(value, int)


DIGESTS: tuple[tuple[str, Callable[[bytes], Any]], ...] = (
    ("_sha256", lambda data: hashlib.sha256(data).digest()),
    ("_hash", lambda data: hashlib.sha256(data).digest()),
    ("_cid", cid_of),
    ("_size", len),
)
"""Sibling fields derived from a bytes field ``X``: ``X_sha256``, ``X_hash``, ``X_cid``,
``X_size`` — so a generated message carries consistent digests most of the time."""


def derive_digests(rng: Rng, message: pb.Message) -> None:
    """Set the digest siblings of every non-empty bytes field (9 times in 10)."""
    by_name = message.DESCRIPTOR.fields_by_name
    for fd in message.DESCRIPTOR.fields:
        if fd.type != FieldDescriptor.TYPE_BYTES or fd.label == FieldDescriptor.LABEL_REPEATED:
            continue
        data = getattr(message, fd.name)
        if not data or rng.random() < 0.1:
            continue
        for suffix, derive in DIGESTS:
            sibling = by_name.get(fd.name + suffix)
            if sibling is None or sibling.label == FieldDescriptor.LABEL_REPEATED:
                continue
            value = derive(data)
            if _fits(sibling, value):
                setattr(message, sibling.name, value)


# --- encoding mutations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mutated:
    """Mutated bytes and why every correct decoder must reject them ('' when it may accept)."""

    data: bytes
    reject: str = ""


Resolver = Callable[[str], "type[pb.Message] | None"]


def allowed_wire_types(fd: FieldDescriptor) -> tuple[int, ...]:
    """Wire types a parser accepts for ``fd`` (packed and unpacked for repeated scalars)."""
    kind = fd.type
    if kind in (
        FieldDescriptor.TYPE_STRING,
        FieldDescriptor.TYPE_BYTES,
        FieldDescriptor.TYPE_MESSAGE,
    ):
        return (LEN,)
    if kind == FieldDescriptor.TYPE_GROUP:
        return (SGROUP,)
    if kind in (
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_FLOAT,
    ):
        single = I32
    elif kind in (
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_DOUBLE,
    ):
        single = I64
    else:
        single = VARINT
    return (single, LEN) if fd.label == FieldDescriptor.LABEL_REPEATED else (single,)


class WireMutator:
    """Encoding mutations of serialized messages, at any depth the descriptors reach."""

    def __init__(self, resolve: Resolver) -> None:
        """``resolve`` maps an ``Any`` type URL to its message class (None: unknown)."""
        self.resolve = resolve

    def mutate(
        self, rng: Rng, data: bytes, descriptor: Descriptor, strict: bool, depth: int = 0
    ) -> Mutated:
        """Mutate ``data`` (a ``descriptor`` message) here or in a nested message.

        ``strict``: unknown non-critical fields must be rejected too (AuthInfo, TxRaw); in a
        TxBody and the messages it carries they may be ignored.
        """
        fields = parse_wire(data)
        if fields is None:
            return Mutated(havoc(rng, data))
        nested = self._nested(fields, descriptor)
        if nested and depth < 6 and rng.random() < 0.55:
            index, inner_descriptor = rng.choice(nested)
            target = fields[index]
            assert isinstance(target.value, bytes)
            inner = self.mutate(rng, target.value, inner_descriptor, strict, depth + 1)
            fields[index] = replace(target, value=inner.data)
            return Mutated(encode_wire(fields), inner.reject)
        return self._mutate_here(rng, fields, descriptor, strict)

    def _nested(
        self, fields: list[WireField], descriptor: Descriptor
    ) -> list[tuple[int, Descriptor]]:
        """(index, descriptor) of every field holding a message we can descend into."""
        found: list[tuple[int, Descriptor]] = []
        any_class = self._any_class(fields) if descriptor.full_name == ANY_FULL_NAME else None
        for index, wf in enumerate(fields):
            if wf.wire_type != LEN:
                continue
            if any_class is not None and wf.number == 2:
                found.append((index, any_class.DESCRIPTOR))
                continue
            fd = descriptor.fields_by_number.get(wf.number)
            if fd is not None and fd.type == FieldDescriptor.TYPE_MESSAGE:
                found.append((index, fd.message_type))
        return found

    def _any_class(self, fields: list[WireField]) -> type[pb.Message] | None:
        urls = [f.value for f in fields if f.number == 1 and isinstance(f.value, bytes)]
        if not urls:
            return None
        try:
            return self.resolve(urls[-1].decode())
        except UnicodeDecodeError:
            return None

    def _mutate_here(
        self, rng: Rng, fields: list[WireField], descriptor: Descriptor, strict: bool
    ) -> Mutated:
        kind = rng.randrange(11)
        if kind == 0 or not fields:
            return self._add_unknown(rng, fields, descriptor, strict)
        if kind == 1:
            return self._wrong_wire_type(rng, fields, descriptor) or self._add_unknown(
                rng, fields, descriptor, strict
            )
        if kind == 2:
            copy = replace(rng.choice(fields))
            fields.insert(rng.randint(0, len(fields)), copy)
        elif kind == 3:
            del fields[rng.randrange(len(fields))]
        elif kind == 4:
            rng.shuffle(fields)
        elif kind == 5:
            return self._pad_varint(rng, fields)
        elif kind == 6:
            self._replace_value(rng, fields)
        elif kind == 7:
            return _truncated(rng, encode_wire(fields))
        elif kind == 8:
            return self._overlong(rng, fields)
        elif kind == 9:
            return _bad_tag(rng, fields)
        else:
            return self._add_unknown(rng, fields, descriptor, strict, group=True)
        return Mutated(encode_wire(fields))

    @staticmethod
    def _add_unknown(
        rng: Rng,
        fields: list[WireField],
        descriptor: Descriptor,
        strict: bool,
        group: bool = False,
    ) -> Mutated:
        non_critical = rng.random() < 0.4
        number = unknown_field_number(rng, descriptor, non_critical)
        wire_type = SGROUP if group else int(rng.choice((VARINT, LEN, I32, I64)))
        value = b"" if group else random_wire_value(rng, wire_type)
        fields.insert(rng.randint(0, len(fields)), WireField(number, wire_type, value))
        data = encode_wire(fields)
        if non_critical and not strict:
            return Mutated(data)
        what = "non-critical " if non_critical else ""
        return Mutated(data, f"unknown {what}field {number} in {descriptor.full_name}")

    @staticmethod
    def _wrong_wire_type(
        rng: Rng, fields: list[WireField], descriptor: Descriptor
    ) -> Mutated | None:
        known = [
            (i, descriptor.fields_by_number[f.number])
            for i, f in enumerate(fields)
            if f.number in descriptor.fields_by_number
        ]
        if not known:
            return None
        index, fd = rng.choice(known)
        allowed = allowed_wire_types(fd)
        wire_type = int(rng.choice([w for w in (VARINT, I64, LEN, I32) if w not in allowed]))
        fields[index] = WireField(fd.number, wire_type, random_wire_value(rng, wire_type))
        return Mutated(encode_wire(fields), f"wrong wire type {wire_type} for {fd.full_name}")

    @staticmethod
    def _pad_varint(rng: Rng, fields: list[WireField]) -> Mutated:
        target = rng.choice(fields)
        padding = int(rng.choice((1, 1, 2, 4, 9)))
        slot = rng.randrange(3)
        if slot == 0:
            target.tag_padding = padding
        elif slot == 1 and target.wire_type == LEN:
            target.length_padding = padding
        elif target.wire_type == VARINT:
            target.value_padding = padding
        else:
            target.tag_padding = padding
        data = encode_wire(fields)
        return Mutated(data, "" if parse_wire(data) is not None else "varint over 10 bytes")

    @staticmethod
    def _replace_value(rng: Rng, fields: list[WireField]) -> None:
        index = rng.randrange(len(fields))
        target = fields[index]
        if target.wire_type == LEN and rng.random() < 0.5:
            value: int | bytes = rng.choice(
                (b"", b"\xff\xfe", b"\xc3\x28", "٣".encode(), rng.randbytes(rng.randint(1, 64)))
            )
        else:
            value = random_wire_value(rng, target.wire_type)
        fields[index] = replace(target, value=value)

    @staticmethod
    def _overlong(rng: Rng, fields: list[WireField]) -> Mutated:
        candidates = [i for i, f in enumerate(fields) if f.wire_type == LEN]
        if not candidates:
            return _truncated(rng, encode_wire(fields))
        index = rng.choice(candidates)
        target = fields[index]
        assert isinstance(target.value, bytes)
        extra = int(rng.choice((1, 2, 100, 2**31, 2**63)))
        head = encode_wire(fields[:index])
        tag = encode_varint((target.number << 3) | LEN)
        body = tag + encode_varint(len(target.value) + extra) + target.value
        data = head + body + encode_wire(fields[index + 1 :])
        return Mutated(data, "" if parse_wire(data) is not None else "length past the end")


def unknown_field_number(rng: Rng, descriptor: Descriptor, non_critical: bool) -> int:
    """A field number ``descriptor`` does not define, critical or not as asked."""
    known = descriptor.fields_by_number
    while True:
        roll = rng.randrange(4)
        if roll == 0:
            number = rng.randint(1, 30)
        elif roll == 1:
            number = rng.randint(1, 4095)
        elif roll == 2:
            number = rng.randint(19_000, 19_999)
        else:
            number = rng.randint(1, MAX_FIELD_NUMBER)
        number = number | NON_CRITICAL_BIT if non_critical else number & ~NON_CRITICAL_BIT
        if 0 < number <= MAX_FIELD_NUMBER and number not in known:
            return number


def _truncated(rng: Rng, data: bytes) -> Mutated:
    if not data:
        return Mutated(data)
    cut = data[: rng.randrange(len(data))]
    return Mutated(cut, "" if parse_wire(cut) is not None else "truncated")


def _bad_tag(rng: Rng, fields: list[WireField]) -> Mutated:
    """A tag with field number 0 or wire type 6/7: malformed for every parser."""
    number, wire_type = rng.choice(((0, VARINT), (0, LEN), (1, 6), (2, 7), (15, 6)))
    raw = encode_varint((number << 3) | wire_type) + b"\x01"
    at = rng.randint(0, len(fields))
    data = encode_wire(fields[:at]) + raw + encode_wire(fields[at:])
    return Mutated(data, "invalid tag")


# --- transactions --------------------------------------------------------------------------


@dataclass
class FuzzAccount:
    """An account the fuzzer can sign for, with the state its SignDoc needs."""

    key: PrivKey
    number: int
    sequence: int

    @property
    def address(self) -> bytes:
        """Account address bytes."""
        return self.key.pubkey.address()


@dataclass(frozen=True)
class FuzzTx:
    """A fuzzed TxRaw and what a correct node must do with it."""

    raw: bytes
    decode_reject: str = ""
    """Why every decoder (CheckTx, Simulate, proposals, FinalizeBlock) must refuse it."""
    ante_reject: str = ""
    """Why CheckTx and FinalizeBlock must refuse it before any state change."""

    @property
    def must_reject(self) -> str:
        """Either reason ('' when the tx may be accepted)."""
        return self.decode_reject or self.ante_reject


def high_s(signature: bytes) -> bytes:
    """The malleated twin ``(r, n - s)`` of a 64-byte signature."""
    s = int.from_bytes(signature[32:], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big")


def pub_key_any(key: PrivKey) -> pb.AnyProto:
    """``key``'s public key packed as ``/cosmos.crypto.secp256k1.PubKey``."""
    value = pb.secp256k1.PubKey(key=key.pubkey.bytes).SerializeToString()
    return pb.AnyProto(type_url=SECP256K1_PUBKEY_TYPE_URL, value=value)


def sign_doc(body: bytes, auth_info: bytes, chain_id: str, account_number: int) -> bytes:
    """SIGN_MODE_DIRECT SignDoc bytes."""
    doc = pb.tx.SignDoc(
        body_bytes=body, auth_info_bytes=auth_info, chain_id=chain_id, account_number=account_number
    )
    return bytes(doc.SerializeToString())


@dataclass
class _Reasons:
    """Why a tx must be rejected, kept apart by what a later edit can undo."""

    decode: list[str] = field(default_factory=list)
    """Encoding defects (each found in the final bytes)."""
    body: list[str] = field(default_factory=list)
    """Defects of the TxBody's content (undone by a later body mutation)."""
    auth: list[str] = field(default_factory=list)
    """Defects of the AuthInfo's content (undone by a later auth-info mutation)."""
    signers: list[str] = field(default_factory=list)
    """Defects relative to the messages' signers (a body mutation may change those)."""
    signatures: list[str] = field(default_factory=list)
    """Defects of the signatures themselves (nothing later undoes them)."""
    body_mutated: bool = False

    def decode_reject(self) -> str:
        """Every reason a decoder must refuse the tx."""
        return "; ".join(self.decode + self.body)

    def ante_reject(self) -> str:
        """Every reason the ante step must refuse the tx."""
        return "; ".join(self.auth + self.signers + self.signatures)


OTHER_SIGN_MODES = (
    pb.signing.SIGN_MODE_UNSPECIFIED,
    pb.signing.SIGN_MODE_DIRECT_AUX,
    pb.signing.SIGN_MODE_TEXTUAL,
    9999,
)
"""Sign modes the ante step refuses (DIRECT and LEGACY_AMINO_JSON are the valid ones)."""
AMINO_SHARE = 0.1
"""Share of signers that sign SIGN_MODE_LEGACY_AMINO_JSON instead of DIRECT."""


class TxFactory:
    """Builds signed transactions from generated messages, then breaks them."""

    def __init__(
        self,
        generator: MessageGenerator,
        mutator: WireMutator,
        message_types: dict[str, type[pb.Message]],
        signers_of: Callable[[pb.Message], Sequence[bytes]],
        accounts: dict[bytes, FuzzAccount],
        chain_id: str,
        stranger: PrivKey,
    ) -> None:
        """``message_types``: the router's tx messages; ``signers_of``: a message's required
        signers (may raise on invalid input); ``accounts``: who the fuzzer signs for, kept
        current by the caller; ``stranger``: a key that owns no account."""
        self.generator = generator
        self.mutator = mutator
        self.message_types = message_types
        self.classes = [message_types[url] for url in sorted(message_types)]
        self.signers_of = signers_of
        self.accounts = accounts
        self.chain_id = chain_id
        self.stranger = stranger
        self.height = 1
        """Height of the next block (for timeout heights near it)."""

    def signed(
        self, messages: Sequence[pb.Message], fee: Sequence[pb.coin.Coin] | None = None
    ) -> bytes:
        """A correctly signed, canonically encoded tx of ``messages`` (fee 20000ucgpt unless
        ``fee`` is given, gas 20M)."""
        signers = self._signers(None, messages)
        body = bytes(pb.tx.TxBody(messages=[pb.pack_any(m) for m in messages]).SerializeToString())
        auth = pb.tx.AuthInfo()
        for signer in signers:
            account = self.accounts.get(signer)
            info = auth.signer_infos.add(sequence=account.sequence if account else 0)
            info.public_key.CopyFrom(pub_key_any(account.key if account else self.stranger))
            info.mode_info.single.mode = pb.signing.SIGN_MODE_DIRECT
        auth.fee.gas_limit = 20_000_000
        if fee is None:
            auth.fee.amount.add(denom="ucgpt", amount="20000")
        else:
            auth.fee.amount.extend(fee)
        auth_bytes = bytes(auth.SerializeToString())
        signatures = [self._exact_signature(signer, body, auth_bytes) for signer in signers]
        raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_bytes, signatures=signatures)
        return bytes(raw.SerializeToString())

    def tx(self, rng: Rng, messages: Sequence[pb.Message] | None = None) -> FuzzTx:
        """A signed transaction of generated (or given) messages, maybe mutated."""
        reasons = _Reasons()
        if messages is None:
            count = 1 if rng.random() < 0.85 else rng.randint(2, 4)
            messages = [self.generator.message(rng, rng.choice(self.classes)) for _ in range(count)]
        signers = self._signers(rng, messages)
        body_bytes = self._body(rng, messages, reasons)
        auth_bytes = self._auth_info(rng, signers, reasons)
        if rng.random() < 0.25:
            mutated = self.mutator.mutate(rng, body_bytes, pb.tx.TxBody.DESCRIPTOR, strict=False)
            body_bytes = mutated.data
            reasons.body, reasons.signers = [], []
            reasons.body_mutated = True
            _note(reasons.decode, mutated.reject)
        if rng.random() < 0.12:
            mutated = self.mutator.mutate(rng, auth_bytes, pb.tx.AuthInfo.DESCRIPTOR, strict=True)
            auth_bytes = mutated.data
            reasons.auth, reasons.signers = [], []
            _note(reasons.decode, mutated.reject)
        signatures = self._signatures(rng, signers, body_bytes, auth_bytes, reasons)
        raw = self._tx_raw(rng, body_bytes, auth_bytes, signatures, reasons)
        if rng.random() < 0.05:
            return FuzzTx(havoc(rng, raw))
        return FuzzTx(raw, reasons.decode_reject(), reasons.ante_reject())

    def _signers(self, rng: Rng | None, messages: Sequence[pb.Message]) -> list[bytes]:
        """Required signers of ``messages`` in order (a fuzz account when none is valid)."""
        seen: dict[bytes, None] = {}
        for message in messages:
            try:
                for signer in self.signers_of(message):
                    seen.setdefault(bytes(signer), None)
            except Exception:  # the message's own address is invalid: decoding will refuse it
                continue
        if not seen:
            accounts = sorted(self.accounts)
            seen[rng.choice(accounts) if rng is not None else accounts[0]] = None
        return list(seen)

    def _body(self, rng: Rng, messages: Sequence[pb.Message], reasons: _Reasons) -> bytes:
        body = pb.tx.TxBody(messages=[pb.pack_any(m) for m in messages])
        roll = rng.random()
        if roll < 0.2:
            body.memo = str(rng.choice(("x" * 256, "x" * 257, "é" * 200, generic_string(rng))))
        if rng.random() < 0.1:
            body.timeout_height = interesting_int(rng, 0, 2**64 - 1, [self.height - 1, self.height])
        if rng.random() < 0.05:
            self._retype_message(rng, body, reasons)
        if rng.random() < 0.03:
            body.extension_options.add().CopyFrom(self._any(rng))
            reasons.body.append("extension options")
        if rng.random() < 0.03:
            body.non_critical_extension_options.add().CopyFrom(self._any(rng))
        return bytes(body.SerializeToString())

    def _retype_message(self, rng: Rng, body: pb.tx.TxBody, reasons: _Reasons) -> None:
        target = rng.choice(body.messages)
        if rng.random() < 0.5:
            target.type_url = str(rng.choice(sorted(self.message_types)))
            return
        target.type_url = str(rng.choice(BAD_TYPE_URLS))
        reasons.body.append(f"message type URL {target.type_url!r} resolves to no message")

    def _any(self, rng: Rng) -> pb.AnyProto:
        message = pb.AnyProto()
        self.generator.fill(rng, message, 0)
        return message

    def _auth_info(self, rng: Rng, signers: list[bytes], reasons: _Reasons) -> bytes:
        infos = [self._signer_info(rng, signer, reasons) for signer in signers]
        if rng.random() < 0.03:
            if len(infos) > 1 and rng.random() < 0.5:
                infos.pop()
            else:
                infos.append(infos[0])
            reasons.signers.append("signer infos do not match the signers")
        auth = pb.tx.AuthInfo(signer_infos=infos)
        auth.fee.gas_limit = self._gas_limit(rng)
        self._fee_amount(rng, auth.fee)
        if rng.random() < 0.03:
            auth.fee.payer = address_string(rng, self.generator.vocab.addresses)
        if rng.random() < 0.03:
            auth.fee.granter = address_string(rng, self.generator.vocab.addresses)
        return bytes(auth.SerializeToString())

    def _signer_info(self, rng: Rng, signer: bytes, reasons: _Reasons) -> pb.tx.SignerInfo:
        account = self.accounts.get(signer)
        key = account.key if account else self.stranger
        info = pb.tx.SignerInfo(sequence=account.sequence if account else 0)
        if rng.random() < 0.06:
            info.sequence = interesting_int(rng, 0, 2**64 - 1, [info.sequence + 1])
        roll = rng.random()
        if roll < 0.85:
            info.public_key.CopyFrom(pub_key_any(key))
        elif roll < 0.91 and account is not None:
            info.public_key.CopyFrom(pub_key_any(self.stranger))
            reasons.auth.append("public key of another account")
        elif roll < 0.96:
            info.public_key.CopyFrom(self._any(rng))
        mode = pb.signing.SIGN_MODE_DIRECT
        roll = rng.random()
        if roll < 0.05:
            mode = int(rng.choice(OTHER_SIGN_MODES))
            reasons.auth.append(f"sign mode {mode}")
        elif roll < 0.05 + AMINO_SHARE:
            mode = pb.signing.SIGN_MODE_LEGACY_AMINO_JSON
        if rng.random() < 0.02:
            info.mode_info.multi.mode_infos.add().single.mode = mode
            reasons.auth.append("multisig mode info")
        else:
            info.mode_info.single.mode = mode
        return info

    @staticmethod
    def _gas_limit(rng: Rng) -> int:
        if rng.random() < 0.85:
            return int(rng.choice((200_000, 1_000_000, 20_000_000)))
        return interesting_int(rng, 0, 2**64 - 1)

    def _fee_amount(self, rng: Rng, fee: pb.tx.Fee) -> None:
        roll = rng.random()
        if roll < 0.7:
            fee.amount.add(denom="ucgpt", amount=str(rng.choice((1, 2000, 20_000))))
        elif roll < 0.85:
            return
        else:
            for _ in range(rng.randint(1, 3)):
                coin = fee.amount.add()
                self.generator.fill(rng, coin, 1)

    def _signatures(
        self,
        rng: Rng,
        signers: list[bytes],
        body: bytes,
        auth_info: bytes,
        reasons: _Reasons,
    ) -> list[bytes]:
        infos = _signer_infos(auth_info)
        signatures = [
            self._signature(
                rng, signer, body, auth_info, reasons, infos[i] if i < len(infos) else None
            )
            for i, signer in enumerate(signers)
        ]
        if rng.random() < 0.03:
            if signatures and rng.random() < 0.5:
                signatures.pop()
            else:
                signatures.append(signatures[-1] if signatures else b"")
            _note_unless(reasons, "signature count does not match the signers")
        return signatures

    def _exact_signature(self, signer: bytes, body: bytes, auth_info: bytes) -> bytes:
        """The signer's correct signature (the stranger's for an address we cannot sign for)."""
        account = self.accounts.get(signer)
        key = account.key if account else self.stranger
        number = account.number if account else 0
        return key.sign(sign_doc(body, auth_info, self.chain_id, number))

    def _signature(
        self,
        rng: Rng,
        signer: bytes,
        body: bytes,
        auth_info: bytes,
        reasons: _Reasons,
        info: pb.tx.SignerInfo | None = None,
    ) -> bytes:
        account = self.accounts.get(signer)
        key = account.key if account else self.stranger
        if account is None and signer != self.stranger.pubkey.address():
            _note_unless(reasons, "signed by a key that does not own the signer address")
        number = account.number if account else 0
        chain_id = self.chain_id
        roll = rng.random()
        if roll < 0.03:
            chain_id = str(rng.choice(("", "other-chain-1", chain_id + " ")))
            reasons.signatures.append(f"signed for chain id {chain_id!r}")
        elif roll < 0.06:
            number += 1
            reasons.signatures.append("signed with another account number")
        document = sign_doc(body, auth_info, chain_id, number)
        if info is not None and _is_amino(info):
            amino = self._amino_doc(body, auth_info, chain_id, number, info.sequence)
            if amino is None:
                reasons.signatures.append("amino JSON sign bytes cannot be built")
            else:
                document = amino
        signature = key.sign(document)
        return self._break_signature(rng, signature, reasons)

    def _amino_doc(
        self, body: bytes, auth_info: bytes, chain_id: str, number: int, sequence: int
    ) -> bytes | None:
        """The SIGN_MODE_LEGACY_AMINO_JSON bytes of the (possibly mutated) tx, or None when the
        body, a message or the auth info does not decode or has no amino JSON."""
        try:
            tx_body = pb.tx.TxBody.FromString(body)
            auth = pb.tx.AuthInfo.FromString(auth_info)
            msgs = [self.message_types[m.type_url].FromString(m.value) for m in tx_body.messages]
            return amino_json.sign_doc_bytes(
                amino_json.encode_msgs(msgs),
                chain_id,
                number,
                sequence,
                auth.fee.amount,
                auth.fee.gas_limit,
                tx_body.memo,
                tx_body.timeout_height,
                auth.fee.payer,
                auth.fee.granter,
            )
        except (KeyError, ValueError, RuntimeError, pb.DecodeError):
            return None

    @staticmethod
    def _break_signature(rng: Rng, signature: bytes, reasons: _Reasons) -> bytes:
        roll = rng.random()
        if roll < 0.03:
            reasons.signatures.append("high-S signature")
            return high_s(signature)
        if roll < 0.06:
            broken = rng.choice((b"", signature[:63], signature + b"\x00", signature * 2))
            reasons.signatures.append(f"signature of {len(broken)} bytes")
            return bytes(broken)
        if roll < 0.08:
            reasons.signatures.append("corrupted signature")
            if rng.random() < 0.5:
                return bytes(64)
            corrupted = havoc(rng, signature, rounds=1)
            while corrupted == signature:  # an edit may write the byte that was there
                corrupted = havoc(rng, signature, rounds=1)
            return corrupted
        return signature

    def _tx_raw(
        self,
        rng: Rng,
        body: bytes,
        auth_info: bytes,
        signatures: list[bytes],
        reasons: _Reasons,
    ) -> bytes:
        raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_info, signatures=signatures)
        canonical = bytes(raw.SerializeToString())
        if rng.random() < 0.9:
            return canonical
        fields = parse_wire(canonical) or []
        variant = non_canonical_tx_raw(rng, fields)
        data = encode_wire(fields)
        if data != canonical:
            reasons.decode.append(f"non-canonical TxRaw ({variant})")
        return data


def non_canonical_tx_raw(rng: Rng, fields: list[WireField]) -> str:
    """Re-encode a TxRaw's fields in a way ADR-027 forbids; return what was done."""
    kind = rng.randrange(5)
    if kind == 0 or not fields:
        fields.insert(0, WireField(1, LEN, rng.choice((b"", b"\x0a\x00", rng.randbytes(8)))))
        return "a duplicate body_bytes first"
    if kind == 1:
        fields.append(replace(rng.choice(fields)))
        return "a field repeated last"
    if kind == 2 and len({f.number for f in fields}) > 1:
        fields.reverse()
        return "fields out of order"
    if kind == 3:
        target = rng.choice(fields)
        target.length_padding = rng.randint(1, 3)
        return "a non-minimal length"
    fields.append(WireField(rng.randint(4, 2000), VARINT, rng.randint(0, 5)))
    return "an unknown field"


def _signer_infos(auth_info: bytes) -> list[pb.tx.SignerInfo]:
    """The signer infos of (possibly mutated) AuthInfo bytes; none when they do not decode."""
    try:
        return list(pb.tx.AuthInfo.FromString(auth_info).signer_infos)
    except (pb.DecodeError, RuntimeError, ValueError):
        return []


def _is_amino(info: pb.tx.SignerInfo) -> bool:
    return bool(
        info.mode_info.HasField("single")
        and info.mode_info.single.mode == pb.signing.SIGN_MODE_LEGACY_AMINO_JSON
    )


def _note(reasons: list[str], reason: str) -> None:
    if reason:
        reasons.append(reason)


def _note_unless(reasons: _Reasons, reason: str) -> None:
    """A defect relative to the signers, unless a body mutation may have changed them."""
    if not reasons.body_mutated:
        reasons.signers.append(reason)


# --- queries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzQuery:
    """An ABCI query."""

    path: str
    data: bytes
    height: int
    prove: bool = False

    def request(self) -> pb.abci.RequestQuery:
        """As an ABCI RequestQuery."""
        return pb.abci.RequestQuery(
            path=self.path, data=self.data, height=self.height, prove=self.prove
        )


STORE_NAMES = ("acc", "bank", "ai", "storage", "app", "nothing", "")


class QueryFactory:
    """gRPC queries for every route (request bytes generated and mutated), at fuzzed heights."""

    def __init__(
        self,
        generator: MessageGenerator,
        mutator: WireMutator,
        routes: dict[str, type[pb.Message]],
    ) -> None:
        """``routes``: query path → request class (the router's query table)."""
        self.generator = generator
        self.mutator = mutator
        self.routes = routes
        self.paths = sorted(routes)
        self.store_keys: dict[str, list[bytes]] = {}
        """Keys that exist, by ``/store/<name>/key`` name (filled by the caller)."""

    def query(self, rng: Rng, latest: int) -> FuzzQuery:
        """One query against a chain whose latest height is ``latest``."""
        height = self._height(rng, latest)
        roll = rng.random()
        if roll < 0.88 and self.paths:
            path = str(rng.choice(self.paths))
            return FuzzQuery(path, self._request(rng, self.routes[path]), height)
        if roll < 0.96:
            return self._store_query(rng, height)
        path = str(rng.choice(("/app/version", "", "/", "/unknown.Query/X", generic_string(rng))))
        return FuzzQuery(path, rng.randbytes(rng.randint(0, 16)), height)

    def _store_query(self, rng: Rng, height: int) -> FuzzQuery:
        """A raw store read: an existing key (half the time) or any bytes, often proven."""
        name = str(rng.choice(sorted(self.store_keys) or STORE_NAMES))
        if rng.random() < 0.2:
            name = str(rng.choice(STORE_NAMES))
        tail = "key" if rng.random() < 0.9 else generic_string(rng)
        known = self.store_keys.get(name)
        if known and rng.random() < 0.5:
            key = bytes(rng.choice(known))
        else:
            key = rng.randbytes(rng.choice((0, 1, 8, 20, 32, 300)))
        return FuzzQuery(f"/store/{name}/{tail}", key, height, prove=rng.random() < 0.6)

    def _request(self, rng: Rng, request_class: type[pb.Message]) -> bytes:
        data = bytes(self.generator.message(rng, request_class).SerializeToString())
        roll = rng.random()
        if roll < 0.2:
            return self.mutator.mutate(rng, data, request_class.DESCRIPTOR, strict=True).data
        if roll < 0.25:
            return havoc(rng, data)
        return data

    @staticmethod
    def _height(rng: Rng, latest: int) -> int:
        roll = rng.random()
        if roll < 0.6:
            return 0
        if roll < 0.8:
            return int(rng.choice((latest, max(latest - 1, 1), 1)))
        return int(rng.choice((latest + 1, -1, 2**63 - 1, -(2**63), rng.randint(0, latest + 2))))


# --- DSM artifacts ---------------------------------------------------------------------------

SPEC_RANGES = ((-128, 127), (0, 1000), (-(10**6), 10**6), (0, 1))
JSON_EDGE_VALUES: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**62,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**100,
    1.5,
    "1",
    None,
    True,
    [],
    {},
    "",
    [1, 2],
    {"a": 1},
    [2**31, 2**31],
    "int64",
    "AAAA",
)
BIG_INT_TEXT = "1" * 5000
"""A JSON integer past Python's default int-conversion limit (4,300 digits)."""
DEEP_TEXT = "[" * 50_000 + "]" * 50_000
SENTINEL_BIG = "\x01big\x01"
SENTINEL_DEEP = "\x01deep\x01"


class ArtifactFactory:
    """Valid DSM models of every operator kind, and mutations of them at three levels."""

    def __init__(self, seeds: Sequence[bytes] = ()) -> None:
        """``seeds``: extra valid artifacts (e.g. the golden vectors) to start from."""
        self.seeds = list(seeds)

    def artifact(self, rng: Rng) -> bytes:
        """A valid artifact (about a third of the time) or a mutated one."""
        roll = rng.random()
        if roll < 0.35:
            return self.valid(rng)
        if roll < 0.6:
            mutated = self._model_mutation(rng)
            if mutated is not None:
                return mutated
        if roll < 0.9:
            return json_mutation(rng, self.valid(rng))
        return havoc(rng, self.valid(rng))

    def valid(self, rng: Rng) -> bytes:
        """The canonical bytes of a random valid model (or of a seed)."""
        if self.seeds and rng.random() < 0.25:
            return bytes(rng.choice(self.seeds))
        return runtime.serialize(random_model(rng))

    def _model_mutation(self, rng: Rng) -> bytes | None:
        try:
            return runtime.serialize(mutate_model(rng, random_model(rng)))
        except (ValueError, TypeError, OverflowError, KeyError, IndexError):
            return None


def random_model(rng: Rng) -> Model:
    """A small valid model: a chain of 1–5 operators (with skips) over a 1–8 feature input."""
    width = rng.randint(1, 8)
    lo, hi = rng.choice(SPEC_RANGES)
    spec = InputSpec(
        width,
        lo,
        hi,
        tuple(rng.choice((1, 10, 100, -1)) for _ in range(width)),
        tuple(rng.choice((1, 3, 1000)) for _ in range(width)),
        tuple(rng.choice((0, 0, 5)) for _ in range(width)),
        tuple(f"f{i}" for i in range(width)) if rng.random() < 0.5 else (),
    )
    widths = [width]
    ops: list[Op] = []
    for _ in range(rng.randint(1, 5)):
        op = _random_op(rng, widths)
        ops.append(op)
        widths.append(_width_after(op, widths))
    labels = tuple(f"l{i}" for i in range(widths[-1])) if rng.random() < 0.3 else ()
    return Model(spec, tuple(ops), OutputSpec(labels), name=generic_string(rng)[:40])


def _width_after(op: Op, widths: list[int]) -> int:
    source = widths[op.inputs[0]]
    if isinstance(op, Dense):
        return int(op.weights.shape[0])
    if isinstance(op, TreeEnsemble):
        return int(op.base.size)
    if isinstance(op, Argmax | Scorecard):
        return 1
    return source


def _random_op(rng: Rng, widths: list[int]) -> Op:
    last = len(widths) - 1
    source = last if rng.random() < 0.8 else rng.randint(0, last)
    width = widths[source]
    kind = rng.randrange(9)
    if kind == 0:
        out = rng.randint(1, 6)
        weights = [[rng.randint(-100, 100) for _ in range(width)] for _ in range(out)]
        return Dense((source,), int_array(weights, 2), int_array([rng.randint(-50, 50)] * out))
    if kind == 1:
        count = rng.choice((1, width))
        multiplier = int_array([rng.randint(-1000, 1000) or 1 for _ in range(count)])
        shift = int_array([rng.randint(0, 20) for _ in range(rng.choice((1, count)))])
        clamp = rng.random() < 0.5
        return Requantize(
            (source,),
            multiplier,
            shift,
            rng.randint(-5, 5),
            -128 if clamp else None,
            127 if clamp else None,
        )
    if kind == 2:
        twins = [i for i, w in enumerate(widths) if w == width]
        return Add((source, rng.choice(twins)))
    if kind == 3:
        return Relu((source,), rng.randint(-3, 3))
    if kind == 4:
        table = int_array([rng.randint(-1000, 1000) for _ in range(rng.randint(1, 64))])
        return Lut((source,), table, rng.randint(-300, 300))
    if kind == 5:
        return Argmax((source,))
    if kind == 6:
        return Threshold((source,), rng.randint(-100, 100))
    if kind == 7:
        return random_trees(rng, source, width)
    return _random_scorecard(rng, source, width)


def random_trees(rng: Rng, source: int, width: int) -> TreeEnsemble:
    """1–4 random trees of depth ≤ 4 over ``width`` features, 1–3 outputs; ``depth`` is the
    deepest tree's."""
    outputs = rng.randint(1, 3)
    nodes: list[tuple[int, int, int, int]] = []  # feature, threshold, left, right
    leaves: dict[int, list[int]] = {}
    roots = []
    depth = 0
    limit = rng.randint(1, 4)
    for _ in range(rng.randint(1, 4)):
        root, tree_depth = _grow(rng, nodes, leaves, width, outputs, rng.randint(0, limit))
        roots.append(root)
        depth = max(depth, tree_depth)
    values = [leaves.get(i, [0] * outputs) for i in range(len(nodes))]
    return TreeEnsemble(
        (source,),
        roots=int_array(roots),
        feature=int_array([n[0] for n in nodes]),
        threshold=int_array([n[1] for n in nodes]),
        left=int_array([n[2] for n in nodes]),
        right=int_array([n[3] for n in nodes]),
        values=int_array(values, 2),
        base=int_array([rng.randint(-100, 100) for _ in range(outputs)]),
        depth=depth,
    )


def _grow(
    rng: Rng,
    nodes: list[tuple[int, int, int, int]],
    leaves: dict[int, list[int]],
    width: int,
    outputs: int,
    levels: int,
) -> tuple[int, int]:
    """Add a random tree of at most ``levels`` levels; return its root and its depth."""
    index = len(nodes)
    nodes.append((0, 0, index, index))
    if levels == 0 or rng.random() < 0.25:
        leaves[index] = [rng.randint(-1000, 1000) for _ in range(outputs)]
        return index, 0
    left, left_depth = _grow(rng, nodes, leaves, width, outputs, levels - 1)
    right, right_depth = _grow(rng, nodes, leaves, width, outputs, levels - 1)
    nodes[index] = (rng.randrange(width), rng.randint(-200, 200), left, right)
    return index, 1 + max(left_depth, right_depth)


def _random_scorecard(rng: Rng, source: int, width: int) -> Scorecard:
    edges = []
    points = []
    for _ in range(width):
        cuts = sorted({rng.randint(-100, 100) for _ in range(rng.randint(0, 4))})
        edges.append(int_array(cuts))
        points.append(int_array([rng.randint(-50, 50) for _ in range(len(cuts) + 1)]))
    return Scorecard((source,), tuple(edges), tuple(points), rng.randint(-100, 100))


ARRAY_EDGES: tuple[Callable[[Rng], Any], ...] = (
    lambda rng: int_array([]),
    lambda rng: int_array([2**62, -(2**62)]),
    lambda rng: int_array([2**63 - 1]),
    lambda rng: int_array([-(2**63)]),
    lambda rng: int_array([-1, 0, 1]),
    lambda rng: int_array([rng.randint(-5, 70) for _ in range(rng.randint(1, 9))]),
    lambda rng: np.zeros((rng.randint(0, 3), rng.randint(0, 3)), dtype=np.int64),
    lambda rng: np.zeros((2, 2, 2), dtype=np.int64),
)
INT_EDGES = (0, -1, 1, 64, 65, 10**6, 2**31, 2**62, 2**63 - 1, -(2**63))


def mutate_model(rng: Rng, model: Model) -> Model:
    """``model`` with one operator field, the input spec or the op list changed."""
    roll = rng.random()
    if roll < 0.6 and model.ops:
        index = rng.randrange(len(model.ops))
        ops = list(model.ops)
        ops[index] = _mutate_op(rng, ops[index], index)
        return replace(model, ops=tuple(ops))
    if roll < 0.85:
        return replace(model, input=_mutate_spec(rng, model.input))
    ops = list(model.ops)
    kind = rng.randrange(4)
    if kind == 0:
        ops = []
    elif kind == 1:
        ops = ops * (65 // max(len(ops), 1) + 1)
    elif kind == 2:
        ops.reverse()
    else:
        ops.append(ops[0] if ops else Relu((0,)))
    return replace(model, ops=tuple(ops))


def _mutate_op(rng: Rng, op: Op, index: int) -> Op:
    names = [n for n in op.__dataclass_fields__ if n != "inputs"]
    if not names or rng.random() < 0.2:
        inputs = rng.choice(((), (index + 1,), (-1,), (0, 0, 0), (index, index), (2**40,)))
        return replace(op, inputs=inputs)
    name = rng.choice(names)
    current = getattr(op, name)
    if isinstance(current, np.ndarray):
        value: Any = rng.choice(ARRAY_EDGES)(rng)
        if current.ndim == 2 and value.ndim == 1 and rng.random() < 0.7:
            value = value.reshape(-1, 1) if value.size else np.zeros((0, 1), dtype=np.int64)
    elif isinstance(current, tuple):
        value = tuple(rng.choice(ARRAY_EDGES)(rng) for _ in range(rng.randint(0, 3)))
    else:
        value = rng.choice(INT_EDGES + ((None,) if name in ("lo", "hi") else ()))
    return replace(op, **{name: value})


def _mutate_spec(rng: Rng, spec: InputSpec) -> InputSpec:
    kind = rng.randrange(6)
    if kind == 0:
        return replace(spec, width=rng.choice((0, -1, spec.width + 1, 10**6)))
    if kind == 1:
        return replace(spec, lo=spec.hi + 1)
    if kind == 2:
        return replace(spec, lo=-(2**63), hi=2**63 - 1)
    if kind == 3:
        return replace(spec, scale_den=(0,) * spec.width)
    if kind == 4:
        return replace(spec, scale_num=(0,) * spec.width, zero_point=(2**62,) * spec.width)
    return replace(spec, names=("x",) * (spec.width + 1))


def json_mutation(rng: Rng, artifact: bytes) -> bytes:
    """Change one value, key or array encoding of the artifact's JSON; re-serialize it
    canonically most of the time so the change reaches the schema and the analysis."""
    document = json.loads(artifact)
    slots = list(_json_slots(document))
    container, key = rng.choice(slots)
    kind = rng.randrange(6)
    if kind == 0:
        container[key] = _json_edge(rng)
    elif kind == 1 and isinstance(container, dict):
        del container[key]
    elif kind == 2 and isinstance(container, dict):
        container[rng.choice(("extra", key + "_", "Op", "op"))] = _json_edge(rng)
    elif kind == 3 and isinstance(container[key], str):
        container[key] = _mutate_base64(rng, container[key])
    elif kind == 4:
        container[key] = rng.choice((SENTINEL_BIG, SENTINEL_DEEP, "-" + SENTINEL_BIG))
    else:
        container[key] = _json_edge(rng)
    return _dump(rng, document)


def _json_slots(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key
            yield from _json_slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield node, index
            yield from _json_slots(value)


def _json_edge(rng: Rng) -> Any:
    value = rng.choice(JSON_EDGE_VALUES)
    return json.loads(json.dumps(value))  # a fresh copy of lists and dicts


def _mutate_base64(rng: Rng, text: str) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return text + "A"
    if kind == 1:
        return text.rstrip("=")
    if kind == 2:
        return text.replace("+", "-").replace("/", "_") + "\n"
    if kind == 3:
        return base64.b64encode(rng.randbytes(rng.randint(0, 40))).decode()
    if kind == 4:
        return text[: len(text) // 2]
    return "!!" + text


def _dump(rng: Rng, document: Any) -> bytes:
    if rng.random() < 0.85:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    else:
        text = json.dumps(document, indent=rng.choice((None, 1)), ensure_ascii=False)
    text = text.replace(json.dumps(SENTINEL_BIG), BIG_INT_TEXT)
    text = text.replace(json.dumps("-" + SENTINEL_BIG), "-" + BIG_INT_TEXT)
    text = text.replace(json.dumps(SENTINEL_DEEP), DEEP_TEXT)
    return text.encode()
