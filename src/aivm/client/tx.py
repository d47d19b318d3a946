"""Build and sign Cosmos SDK transactions for AIVM.

Two sign modes: ``"direct"`` (SIGN_MODE_DIRECT, the default: the signature covers the
protobuf SignDoc) and ``"amino-json"`` (SIGN_MODE_LEGACY_AMINO_JSON: it covers the amino JSON
StdSignDoc of :mod:`aivm.types.amino_json`, as Ledger and cosmjs' amino signers sign; ADR 0015).

Example::

    key = derive_privkey(mnemonic)
    msg = bank_send(key.pubkey.address(), recipient, [Coin("ucgpt", 5)])
    raw = sign_tx([msg], [Signer(key, account_number=0, sequence=0)],
                  chain_id="aivm-devnet-1", fee=[Coin("ucgpt", 2000)], gas_limit=200_000)
    raw = sign_tx([msg], [Signer(key, 0, 1)], chain_id="aivm-devnet-1",
                  fee=[Coin("ucgpt", 2000)], sign_mode="amino-json")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aivm.crypto.keys import SECP256K1_PUBKEY_TYPE_URL, PrivKey
from aivm.types import amino_json, pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin

SIGN_MODES: dict[str, int] = {
    "direct": pb.signing.SIGN_MODE_DIRECT,
    "amino-json": pb.signing.SIGN_MODE_LEGACY_AMINO_JSON,
}
"""The sign modes this client signs with, by the name the CLI's ``--sign-mode`` takes."""
DEFAULT_SIGN_MODE = "direct"


def sign_mode_number(name: str) -> int:
    """The SignMode enum value of ``name`` (``direct`` or ``amino-json``); ValueError else."""
    try:
        return SIGN_MODES[name]
    except KeyError:
        raise ValueError(
            f"unknown sign mode {name!r} (expected one of: {', '.join(SIGN_MODES)})"
        ) from None


@dataclass(frozen=True)
class Signer:
    """A signing key and the account state the SignDoc commits to."""

    key: PrivKey
    account_number: int
    sequence: int


def coins_proto(coins: Sequence[Coin]) -> list[pb.coin.Coin]:
    """Wire form of a coin list (kept in the given order)."""
    return [pb.coin.Coin(denom=c.denom, amount=str(c.amount)) for c in coins]


def bank_send(sender: bytes, recipient: bytes, amount: Sequence[Coin]) -> pb.bank_tx.MsgSend:
    """A MsgSend from ``sender`` to ``recipient`` (address bytes)."""
    return pb.bank_tx.MsgSend(
        from_address=acc_address(sender),
        to_address=acc_address(recipient),
        amount=coins_proto(amount),
    )


def pub_key_any(key: PrivKey) -> pb.AnyProto:
    """The signer's public key packed as ``/cosmos.crypto.secp256k1.PubKey``."""
    return pb.AnyProto(
        type_url=SECP256K1_PUBKEY_TYPE_URL,
        value=pb.secp256k1.PubKey(key=key.pubkey.bytes).SerializeToString(),
    )


def build_body(msgs: Sequence[pb.Message], memo: str = "", timeout_height: int = 0) -> bytes:
    """Serialized TxBody."""
    body = pb.tx.TxBody(
        messages=[pb.pack_any(m) for m in msgs], memo=memo, timeout_height=timeout_height
    )
    return bytes(body.SerializeToString())


def build_auth_info(
    signers: Sequence[Signer],
    fee: Sequence[Coin],
    gas_limit: int,
    mode: int = pb.signing.SIGN_MODE_DIRECT,
) -> bytes:
    """Serialized AuthInfo with one SignerInfo per signer."""
    infos = [
        pb.tx.SignerInfo(
            public_key=pub_key_any(s.key),
            mode_info=pb.tx.ModeInfo(single=pb.tx.ModeInfo.Single(mode=mode)),
            sequence=s.sequence,
        )
        for s in signers
    ]
    auth_info = pb.tx.AuthInfo(
        signer_infos=infos, fee=pb.tx.Fee(amount=coins_proto(fee), gas_limit=gas_limit)
    )
    return bytes(auth_info.SerializeToString())


def sign_doc_bytes(body: bytes, auth_info: bytes, chain_id: str, account_number: int) -> bytes:
    """The SIGN_MODE_DIRECT SignDoc bytes a signer signs."""
    doc = pb.tx.SignDoc(
        body_bytes=body, auth_info_bytes=auth_info, chain_id=chain_id, account_number=account_number
    )
    return bytes(doc.SerializeToString())


def amino_sign_doc_bytes(
    msgs: Sequence[pb.Message],
    signer: Signer,
    chain_id: str,
    fee: Sequence[Coin] = (),
    gas_limit: int = 200_000,
    memo: str = "",
    timeout_height: int = 0,
) -> bytes:
    """The SIGN_MODE_LEGACY_AMINO_JSON StdSignDoc bytes ``signer`` signs (raises
    ``AminoJSONError``, a ValueError, for a message the SDK cannot encode as amino JSON)."""
    return amino_json.sign_doc_bytes(
        amino_json.encode_msgs(msgs),
        chain_id,
        signer.account_number,
        signer.sequence,
        coins_proto(fee),
        gas_limit,
        memo,
        timeout_height,
    )


def sign_tx(
    msgs: Sequence[pb.Message],
    signers: Sequence[Signer],
    chain_id: str,
    fee: Sequence[Coin] = (),
    gas_limit: int = 200_000,
    memo: str = "",
    timeout_height: int = 0,
    sign_mode: str = DEFAULT_SIGN_MODE,
) -> bytes:
    """Build, sign and serialize a TxRaw; signers in the order the messages require.

    ``sign_mode``: ``"direct"`` or ``"amino-json"`` (every signer signs in that mode)."""
    mode = sign_mode_number(sign_mode)
    body = build_body(msgs, memo, timeout_height)
    auth_info = build_auth_info(signers, fee, gas_limit, mode=mode)
    if mode == pb.signing.SIGN_MODE_DIRECT:
        docs = [sign_doc_bytes(body, auth_info, chain_id, s.account_number) for s in signers]
    else:
        docs = [
            amino_sign_doc_bytes(msgs, s, chain_id, fee, gas_limit, memo, timeout_height)
            for s in signers
        ]
    signatures = [s.key.sign(doc) for s, doc in zip(signers, docs, strict=True)]
    raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_info, signatures=signatures)
    return bytes(raw.SerializeToString())


def unsigned_tx(
    msgs: Sequence[pb.Message],
    signers: Sequence[Signer],
    fee: Sequence[Coin] = (),
    gas_limit: int = 0,
    memo: str = "",
) -> bytes:
    """A TxRaw with empty signatures and SIGN_MODE_UNSPECIFIED, as clients send to Simulate."""
    body = build_body(msgs, memo)
    auth_info = build_auth_info(signers, fee, gas_limit, mode=pb.signing.SIGN_MODE_UNSPECIFIED)
    raw = pb.tx.TxRaw(body_bytes=body, auth_info_bytes=auth_info, signatures=[b""] * len(signers))
    return bytes(raw.SerializeToString())
