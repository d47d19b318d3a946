"""Transaction decoding: TxRaw bytes → a checked :class:`DecodedTx`.

Decoding is stateless and rejects, with a coded error, anything the Cosmos SDK rejects
before execution: bytes that are not a TxRaw, unknown fields in critical messages, message
types no module handles, malformed fees, signer/signature count mismatches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf.unknown_fields import UnknownFieldSet

from aivm.app.router import Router
from aivm.modules.framework import MsgRoute
from aivm.types import pb
from aivm.types.coin import Coins
from aivm.types.coin_proto import coins_from_proto
from aivm.types.errors import (
    AivmError,
    ErrInvalidRequest,
    ErrTxDecode,
    ErrUnauthorized,
    ErrUnknownExtensionOptions,
    ErrUnknownRequest,
)

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


def _reject_unknown_fields(
    message: pb.Message, what: str, allow_non_critical: bool = False
) -> None:
    for field in UnknownFieldSet(message):
        if allow_non_critical and field.field_number & NON_CRITICAL_FIELD_BIT:
            continue
        raise ErrTxDecode.wrap(f"unknown field {field.field_number} in {what}")


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
    _reject_unknown_fields(tx_raw, "TxRaw")
    body = _parse(pb.tx.TxBody, tx_raw.body_bytes, "TxBody")
    _reject_unknown_fields(body, "TxBody", allow_non_critical=True)
    auth_info = _parse(pb.tx.AuthInfo, tx_raw.auth_info_bytes, "AuthInfo")
    _reject_unknown_fields(auth_info, "AuthInfo")
    if body.extension_options:
        raise ErrUnknownExtensionOptions.wrap(body.extension_options[0].type_url)
    if not body.messages:
        raise ErrInvalidRequest.wrap("must contain at least one message")
    msgs, routes = _decode_msgs(body, router)
    signers = _collect_signers(msgs, routes)
    if len(auth_info.signer_infos) != len(signers):
        raise ErrUnauthorized.wrap(
            f"wrong number of signers; expected {len(signers)}, got {len(auth_info.signer_infos)}"
        )
    if len(tx_raw.signatures) != len(signers):
        raise ErrUnauthorized.wrap(
            f"wrong number of signatures; expected {len(signers)}, got {len(tx_raw.signatures)}"
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


def _decode_msgs(body: pb.tx.TxBody, router: Router) -> tuple[list[pb.Message], list[MsgRoute]]:
    msgs: list[pb.Message] = []
    routes: list[MsgRoute] = []
    for any_msg in body.messages:
        route = router.msgs.get(any_msg.type_url)
        if route is None:
            raise ErrUnknownRequest.wrap(f"unable to resolve type URL {any_msg.type_url}")
        msg = _parse(route.message_class, any_msg.value, any_msg.type_url)
        _reject_unknown_fields(msg, any_msg.type_url)
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
