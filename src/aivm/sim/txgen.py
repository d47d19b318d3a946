"""Turning an operation's messages into signed transaction bytes, and mutating those bytes.

A transaction is signed from a :class:`~aivm.modules.simulation.TxFields` (which a tx
fault may have changed) with SIGN_MODE_DIRECT, exactly as a wallet would. Byte mutations
model a relayer or proposer that tampers with someone's signed tx: every mutated tx differs
from the bytes its signer signed, so no node may ever accept it (ADR-027: one signed tx has
exactly one encoding and one hash).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aivm.client.tx import Signer, build_auth_info, build_body, sign_doc_bytes
from aivm.crypto.keys import PrivKey
from aivm.modules.simulation import TxFields
from aivm.types import pb
from aivm.types.coin import Coin


@dataclass(frozen=True)
class SimTx:
    """One transaction of a simulated block, and what the simulation expects of it."""

    raw: bytes
    kind: str
    """The operation that built it (``bank/send``), or ``mutated/<how>``."""
    fault: str
    """The tx fault applied (``none`` for an honest tx)."""
    must_fail: bool
    """No node may accept it: its result must have a non-zero code."""


def sign_fields(msgs: Sequence[pb.Message], key: PrivKey, fields: TxFields) -> bytes:
    """TxRaw bytes of ``msgs`` signed by ``key`` under ``fields`` (a 64-byte random-looking
    signature when ``fields['sign']`` is False)."""
    body = build_body(msgs, fields["memo"], fields["timeout_height"])
    signer = Signer(key, fields["account_number"], fields["sequence"])
    fee = [Coin(fields["fee_denom"], fields["fee"])] if fields["fee"] else []
    auth_info = build_auth_info([signer], fee, fields["gas_limit"])
    doc = sign_doc_bytes(body, auth_info, fields["chain_id"], fields["account_number"])
    signature = key.sign(doc)
    if not fields["sign"]:
        signature = bytes(b ^ 0x5A for b in signature)
    raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_info, signatures=[signature])
    return bytes(raw.SerializeToString())


Mutation = Callable[[random.Random, bytes], bytes]


def _flip_byte(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randrange(len(raw))]


def _duplicate_body(rng: random.Random, raw: bytes) -> bytes:
    """A second ``body_bytes`` field in front: protobuf keeps the last, the hash changes."""
    tx = pb.tx.TxRaw.FromString(raw)
    decoy = pb.tx.TxRaw(body_bytes=rng.randbytes(rng.randrange(0, 8))).SerializeToString()
    return bytes(decoy) + raw if tx.body_bytes else raw + b"\x00"


def _unknown_field(rng: random.Random, raw: bytes) -> bytes:
    """An extra field (number 4…15, length-delimited) appended to the TxRaw."""
    number = rng.randrange(4, 16)
    payload = rng.randbytes(rng.randrange(0, 6))
    return raw + bytes([number << 3 | 2, len(payload)]) + payload


def _long_varint(rng: random.Random, raw: bytes) -> bytes:
    """The first field's length re-encoded with a redundant continuation byte."""
    if len(raw) < 2 or raw[1] >= 0x80:
        return raw + b"\x00"
    return raw[:1] + bytes([raw[1] | 0x80, 0x00]) + raw[2:]


def _random_bytes(rng: random.Random, raw: bytes) -> bytes:
    return rng.randbytes(rng.randrange(0, 300))


MUTATIONS: dict[str, Mutation] = {
    "flip_byte": _flip_byte,
    "truncate": _truncate,
    "duplicate_body": _duplicate_body,
    "unknown_field": _unknown_field,
    "long_varint": _long_varint,
    "random_bytes": _random_bytes,
}
"""Ways to tamper with a signed tx, by name."""


def mutate(rng: random.Random, raw: bytes) -> tuple[str, bytes]:
    """A tampered copy of ``raw`` (never equal to it) and the name of the mutation."""
    name = rng.choice(sorted(MUTATIONS))
    mutated = MUTATIONS[name](rng, raw)
    if mutated == raw:
        mutated = raw + b"\x00"
    return name, mutated
