"""Transaction decoding: TxRaw bytes → a checked :class:`DecodedTx`.

Decoding is stateless and rejects, with a coded error, anything the Cosmos SDK rejects
before execution: bytes that are not a TxRaw, unknown fields in critical messages, message
types no module handles, malformed fees, signer/signature count mismatches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.unknown_fields import UnknownFieldSet

from aivm.app.router import Router
from aivm.modules.framework import MsgRoute
from aivm.types import pb
from aivm.types.coin import Coins
from aivm.types.coin_proto import coins_from_proto
from aivm.types.errors import (
    AivmError,
    ErrInvalidRequest,
    ErrNotSupported,
    ErrTxDecode,
    ErrUnauthorized,
    ErrUnknownExtensionOptions,
    ErrUnknownRequest,
)

MAX_GAS_WANTED = 2**63 - 1
"""Largest gas limit a tx may ask for: ABCI reports gas as int64 (the SDK's MaxGasWanted)."""
NON_CRITICAL_FIELD_BIT = 1 << 10
"""TxBody field numbers with this bit set are non-critical: unknown ones may be ignored."""


@dataclass(frozen=True, slots=True)
class DecodedTx:
    """A transaction after stateless decoding."""

    raw: bytes
    """The TxRaw bytes as broadcast."""
    hash: bytes
    """sha256 of ``raw``; shown upper-case hex."""
    body_bytes: bytes
    """Signed TxBody bytes (exactly as in the SignDoc)."""
    auth_info_bytes: bytes
    """Signed AuthInfo bytes."""
    signatures: tuple[bytes, ...]
    """One signature per signer."""
    body: pb.tx.TxBody
    auth_info: pb.tx.AuthInfo
    msgs: tuple[pb.Message, ...]
    """Decoded messages, in order."""
    routes: tuple[MsgRoute, ...]
    """Route of each message."""
    signers: tuple[bytes, ...]
    """Unique required signers in order of first appearance; the first pays the fee."""
    fee: Coins
    """Fee offered."""
    gas_limit: int
    """Gas limit (gas wanted)."""

    @property
    def hash_hex(self) -> str:
        """Upper-case hex tx hash, as CometBFT and Cosmos clients show it."""
        return self.hash.hex().upper()


MAX_NESTING = 32
"""Deepest message nesting the unknown-field walk follows (the wire types nest far less)."""

Resolver = Callable[[str], "type[pb.Message] | None"]
"""Type URL → the message class an ``Any`` may carry (None: not allowed here)."""


def reject_unknown_fields(
    message: pb.Message,
    data: bytes,
    what: str,
    allow_non_critical: bool = False,
    resolve: Resolver | None = None,
    skip: frozenset[str] = frozenset(),
) -> bool:
    """Reject unknown fields in ``message`` (parsed from ``data``) and in every message nested
    in it, with ErrTxDecode; return True when ``data`` was canonical (the fast path below).

    As the SDK's ``RejectUnknownFields``: with ``allow_non_critical``, unknown fields whose
    number has bit 11 set (>= 1024) are ignored at every depth; every ``Any`` is resolved with
    ``resolve`` and its packed message checked too (an unresolvable type URL is an error).
    Fields named in ``skip`` are not descended into at the top level.

    Fast path: when ``data`` is exactly the canonical encoding of the known fields, nothing
    unknown can hide in it, and only the ``Any`` values need a look; otherwise every nested
    message is walked.
    """
    canonical = _is_canonical_without_unknown(message, data)
    if canonical:
        problem = _first_bad_any(message, allow_non_critical, resolve, skip, 0)
    else:
        problem = _first_unknown(message, allow_non_critical, resolve, skip, 0)
    if problem is not None:
        raise ErrTxDecode.wrap(f"{problem} in {what}")
    return canonical


def _is_canonical_without_unknown(message: pb.Message, data: bytes) -> bool:
    """True when ``data`` re-encodes identically with every unknown field discarded."""
    probe = type(message)()
    probe.CopyFrom(message)
    probe.DiscardUnknownFields()  # recursive (not into Any values)
    return bool(probe.SerializeToString() == data)


def _first_bad_any(
    message: pb.Message,
    allow_non_critical: bool,
    resolve: Resolver | None,
    skip: frozenset[str],
    depth: int,
) -> str | None:
    """The first ``Any`` under ``message`` whose value is unresolvable or has unknown fields
    (``message`` itself is known to be clean)."""
    if depth > MAX_NESTING:
        return f"messages nested deeper than {MAX_NESTING}"
    for name, item in _nested(message, _fields_reaching_any(message.DESCRIPTOR), skip):
        if isinstance(item, pb.AnyProto):  # the wrapper is clean: only its value needs a look
            problem = _first_bad_packed(
                item.type_url, item.value, allow_non_critical, resolve, depth
            )
        else:
            problem = _first_bad_any(item, allow_non_critical, resolve, frozenset(), depth + 1)
        if problem is not None:
            return f"{problem} (in {name})"
    return None


def _first_unknown(
    message: pb.Message,
    allow_non_critical: bool,
    resolve: Resolver | None,
    skip: frozenset[str],
    depth: int,
) -> str | None:
    """A description of the first disallowed field under ``message``, or None (the path is
    only spelled out on failure: this runs for every tx)."""
    if depth > MAX_NESTING:
        return f"messages nested deeper than {MAX_NESTING}"
    known = message.DESCRIPTOR.fields_by_number
    for field in UnknownFieldSet(message):
        if field.field_number in known:  # a known field the parser could not read as its type
            return f"wrong wire type {field.wire_type} for field {field.field_number}"
        if not (allow_non_critical and field.field_number & NON_CRITICAL_FIELD_BIT):
            return f"unknown field {field.field_number}"
    for name, item in _nested(message, _message_fields(message.DESCRIPTOR), skip):
        problem = _first_unknown_in_item(item, allow_non_critical, resolve, depth)
        if problem is not None:
            return f"{problem} (in {name})"
    return None


def _nested(
    message: pb.Message, fields: dict[str, str], skip: frozenset[str]
) -> Iterator[tuple[str, Any]]:
    """(field name, value) of every set element of ``fields`` (name → kind) in ``message``."""
    if not fields:
        return
    for descriptor, value in message.ListFields():
        kind = fields.get(descriptor.name)
        if kind is None or descriptor.name in skip:
            continue
        items = value.values() if kind == "map" else value if kind == "repeated" else (value,)
        for item in items:
            yield descriptor.name, item


def _first_unknown_in_item(
    item: pb.Message, allow_non_critical: bool, resolve: Resolver | None, depth: int
) -> str | None:
    if isinstance(item, pb.AnyProto):
        wrapper = _first_unknown(item, allow_non_critical, None, frozenset(), depth + 1)
        if wrapper is not None:
            return f"{wrapper} (in google.protobuf.Any)"
        return _first_bad_packed(item.type_url, item.value, allow_non_critical, resolve, depth)
    if not isinstance(item, pb.Message):
        return None  # a map of scalars
    return _first_unknown(item, allow_non_critical, resolve, frozenset(), depth + 1)


@lru_cache(maxsize=4096)
def _first_bad_packed(
    type_url: str, value: bytes, allow_non_critical: bool, resolve: Resolver | None, depth: int
) -> str | None:
    """The problem with an ``Any``'s packed value, or None (a pure function of its inputs,
    remembered: a signer's public key recurs in every one of its txs)."""
    message_class = resolve(type_url) if resolve is not None else None
    if message_class is None:
        return f"unresolvable type URL {type_url!r}"
    try:
        packed = message_class.FromString(value)
    except (pb.DecodeError, RuntimeError, ValueError):
        return f"undecodable {type_url}"
    if _is_canonical_without_unknown(packed, value):
        return _first_bad_any(packed, allow_non_critical, resolve, frozenset(), depth + 1)
    return _first_unknown(packed, allow_non_critical, resolve, frozenset(), depth + 1)


@cache
def _fields_reaching_any(descriptor: Descriptor) -> dict[str, str]:
    """The message fields of a type through which an ``Any`` can be reached: name → kind."""
    return {
        name: kind
        for name, kind in _message_fields(descriptor).items()
        if _reaches_any(descriptor.fields_by_name[name].message_type, frozenset())
    }


def _reaches_any(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    if descriptor.full_name == pb.AnyProto.DESCRIPTOR.full_name:
        return True
    if descriptor.full_name in seen:
        return False
    seen = seen | {descriptor.full_name}
    return any(
        _reaches_any(descriptor.fields_by_name[name].message_type, seen)
        for name in _message_fields(descriptor)
    )


@cache
def _message_fields(descriptor: Descriptor) -> dict[str, str]:
    """Message-typed fields of a message type: name → "single", "repeated" or "map"."""
    kinds = {}
    for field in descriptor.fields:
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            kinds[field.name] = "map"
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            kinds[field.name] = "repeated"
        else:
            kinds[field.name] = "single"
    return kinds


def _parse(message_class: type[pb.Message], data: bytes, what: str) -> pb.Message:
    try:
        return message_class.FromString(data)
    except (pb.DecodeError, RuntimeError, ValueError) as exc:
        raise ErrTxDecode.wrap(f"invalid {what}: {exc}") from exc


def decode_tx(raw: bytes, router: Router) -> DecodedTx:
    """Decode and statically check ``raw``; raises AivmError (code 2 and friends)."""
    if not raw:
        raise ErrTxDecode.wrap("empty tx")
    tx_raw = _parse(pb.tx.TxRaw, raw, "TxRaw")
    if not reject_unknown_fields(tx_raw, raw, "TxRaw"):  # no unknown field, yet not canonical
        raise ErrTxDecode.wrap(
            "TxRaw is not canonically encoded (ADR-027: fields once, in order, minimal lengths)"
        )
    body = _parse(pb.tx.TxBody, tx_raw.body_bytes, "TxBody")
    if body.extension_options:
        raise ErrUnknownExtensionOptions.wrap(body.extension_options[0].type_url)
    body_canonical = reject_unknown_fields(
        body, tx_raw.body_bytes, "TxBody", True, router.resolve_any, frozenset({"messages"})
    )
    auth_info = _parse(pb.tx.AuthInfo, tx_raw.auth_info_bytes, "AuthInfo")
    reject_unknown_fields(auth_info, tx_raw.auth_info_bytes, "AuthInfo", False, router.resolve_any)
    _reject_unsupported(body, auth_info)
    if not body.messages:
        raise ErrInvalidRequest.wrap("must contain at least one message")
    msgs, routes = _decode_msgs(body, router, body_canonical)
    signers = _collect_signers(msgs, routes)
    if len(auth_info.signer_infos) != len(signers):
        raise ErrUnauthorized.wrap(
            f"wrong number of signers; expected {len(signers)}, got {len(auth_info.signer_infos)}"
        )
    if len(tx_raw.signatures) != len(signers):
        raise ErrUnauthorized.wrap(
            f"wrong number of signatures; expected {len(signers)}, got {len(tx_raw.signatures)}"
        )
    if auth_info.fee.gas_limit > MAX_GAS_WANTED:
        raise ErrInvalidRequest.wrap(
            f"invalid gas supplied; {auth_info.fee.gas_limit} > {MAX_GAS_WANTED}"
        )
    try:
        fee = coins_from_proto(auth_info.fee.amount)
    except AivmError as exc:
        raise ErrTxDecode.wrap(f"invalid fee: {exc.log}") from exc
    return DecodedTx(
        raw=raw,
        hash=hashlib.sha256(raw).digest(),
        body_bytes=tx_raw.body_bytes,
        auth_info_bytes=tx_raw.auth_info_bytes,
        signatures=tuple(tx_raw.signatures),
        body=body,
        auth_info=auth_info,
        msgs=tuple(msgs),
        routes=tuple(routes),
        signers=signers,
        fee=fee,
        gas_limit=auth_info.fee.gas_limit,
    )


def _reject_unsupported(body: pb.tx.TxBody, auth_info: pb.tx.AuthInfo) -> None:
    """Fields of newer SDKs whose semantics this chain does not implement must be unset."""
    if body.unordered:
        raise ErrNotSupported.wrap("unordered transactions")
    if auth_info.HasField("tip"):
        raise ErrNotSupported.wrap("tips")


def _decode_msgs(
    body: pb.tx.TxBody, router: Router, body_canonical: bool
) -> tuple[list[pb.Message], list[MsgRoute]]:
    """Resolve, parse and check every message; the ``Any`` wrappers need their own look only
    when the body's bytes were not canonical (else nothing unknown can hide in them)."""
    msgs: list[pb.Message] = []
    routes: list[MsgRoute] = []
    for any_msg in body.messages:
        wrapper = None if body_canonical else _first_unknown(any_msg, True, None, frozenset(), 1)
        if wrapper is not None:
            raise ErrTxDecode.wrap(f"{wrapper} in the Any of message {any_msg.type_url}")
        route = router.msgs.get(any_msg.type_url)
        if route is None:
            raise ErrUnknownRequest.wrap(f"unable to resolve type URL {any_msg.type_url}")
        msg = _parse(route.message_class, any_msg.value, any_msg.type_url)
        reject_unknown_fields(msg, any_msg.value, any_msg.type_url, True, router.resolve_any)
        route.validate_basic(msg)
        msgs.append(msg)
        routes.append(route)
    return msgs, routes


def _collect_signers(msgs: list[pb.Message], routes: list[MsgRoute]) -> tuple[bytes, ...]:
    seen: dict[bytes, None] = {}
    for msg, route in zip(msgs, routes, strict=True):
        for signer in route.signers(msg):
            seen.setdefault(signer, None)
    if not seen:
        raise ErrInvalidRequest.wrap("transaction has no signers")
    return tuple(seen)
