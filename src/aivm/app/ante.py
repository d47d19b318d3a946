"""The ante step: every check and charge that precedes a transaction's messages.

Order (as the Cosmos SDK's default ante chain): memo and timeout checks, gas for the tx
size, fee denom and minimum gas price (CheckTx), fee deduction to the fee collector, signer
accounts and public keys, signature count and gas, signature verification (skipped when
simulating), sequence increment. The caller runs this inside its own branch and keeps the
writes (fee, sequence, public keys) even when a message fails afterwards.

A :class:`FeePolicy` (the fee market, when the app has one) adds the consensus fee rule: the
fee must cover gas × the base gas price held in state, in CheckTx and in FinalizeBlock, and
the base part may go to a burn account instead of the fee collector (ADR 0013).
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from aivm.app.router import PUBLIC_KEY_TYPES
from aivm.app.tx import DecodedTx, Resolver, reject_unknown_fields
from aivm.crypto.keys import PUBKEY_LENGTH, SECP256K1_PUBKEY_TYPE_URL, PubKey, verify_secp256k1
from aivm.modules.addr import addr_str
from aivm.modules.auth.keeper import FEE_COLLECTOR, AccountKeeper
from aivm.modules.auth.params import AuthParams
from aivm.modules.auth.types import Account
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.store import CacheStore, GasKVStore
from aivm.types import amino_json, pb
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.dec import Dec
from aivm.types.errors import (
    ErrInsufficientFee,
    ErrInsufficientFunds,
    ErrInvalidPubKey,
    ErrInvalidRequest,
    ErrJSONMarshal,
    ErrMemoTooLarge,
    ErrNotSupported,
    ErrTooManySignatures,
    ErrTxTimeout,
    ErrTxTimeoutHeight,
    ErrUnauthorized,
    ErrUnknownAddress,
    ErrWrongSequence,
)

SIGN_MODE_DIRECT = pb.signing.SIGN_MODE_DIRECT
SIGN_MODE_LEGACY_AMINO_JSON = pb.signing.SIGN_MODE_LEGACY_AMINO_JSON
SUPPORTED_SIGN_MODES = (SIGN_MODE_DIRECT, SIGN_MODE_LEGACY_AMINO_JSON)
SIMULATED_SIGNATURE_BYTES = 64 + 33
"""Bytes a real signature and public key add to a simulated tx, charged as tx-size gas."""


SIGNATURE_LENGTH = 64
"""A secp256k1 signature is exactly r ‖ s, 32 bytes each."""


def signature_cache_key(pub_key: bytes, sign_bytes: bytes, signature: bytes) -> bytes:
    """sha256 over the three fields, each prefixed with its length.

    Without the framing, (signature ‖ a, b) and (signature, a ‖ b) would share a key: a tx
    whose signature field carried the head of another tx's sign bytes would hit the cache
    on nodes that had verified the other tx, and fail on every other node.
    """
    digest = hashlib.sha256()
    for part in (pub_key, signature, sign_bytes):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


class SignatureCache:
    """Remembers (public key, sign bytes, signature) triples that verified.

    CheckTx verifies every signature; FinalizeBlock then finds the same triples here and
    skips the elliptic-curve work. The answer for a triple never changes, so the cache
    affects speed only; gas is charged the same either way. Bounded, oldest evicted first.
    Signatures that are not exactly 64 bytes are refused before any lookup.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._verified: OrderedDict[bytes, None] = OrderedDict()

    def verify(self, pub_key: bytes, sign_bytes: bytes, signature: bytes) -> bool:
        """True when ``signature`` is a valid low-S signature of ``sign_bytes`` by ``pub_key``."""
        if len(signature) != SIGNATURE_LENGTH or len(pub_key) != PUBKEY_LENGTH:
            return False
        key = signature_cache_key(pub_key, sign_bytes, signature)
        if key in self._verified:
            self._verified.move_to_end(key)
            return True
        if not verify_secp256k1(pub_key, sign_bytes, signature):
            return False
        self._verified[key] = None
        if len(self._verified) > self.capacity:
            self._verified.popitem(last=False)
        return True


@dataclass(frozen=True)
class AnteOptions:
    """Node-local settings of the ante step (not consensus)."""

    min_gas_price: Dec
    """Lowest ucgpt per gas unit this node accepts into its mempool (CheckTx only)."""


class FeePolicy(Protocol):
    """The consensus fee rule kept in state (``aivm.modules.feemarket.FeeMarketKeeper``)."""

    burn_account: str
    """Module account that receives the part of the fee to burn."""

    def check_fee(self, ctx: Context, gas_limit: int, offered: int, enforce: bool) -> int:
        """With ``enforce``, raise ErrInsufficientFee (code 13) when ``offered`` ucgpt is below
        what ``gas_limit`` costs now; return the part of the fee for ``burn_account``."""
        ...


def run_ante(
    ctx: Context,
    tx: DecodedTx,
    accounts: AccountKeeper,
    bank: BankKeeper,
    signatures: SignatureCache,
    options: AnteOptions,
    fee_policy: FeePolicy | None = None,
) -> None:
    """Run every ante check and charge; raises AivmError on the first failure."""
    params = accounts.get_params(ctx)
    check_memo(tx, params)
    check_timeout_height(ctx, tx)
    consume_tx_size_gas(ctx, tx, params)
    burned = check_fee(ctx, tx, options, fee_policy)
    signer_accounts = load_signer_accounts(ctx, tx, accounts)
    deduct_fee(ctx, tx, signer_accounts[0], bank, burned, fee_policy)
    signer_accounts = set_pub_keys(ctx, tx, signer_accounts)
    check_signatures(ctx, tx, signer_accounts, params, signatures)
    increment_sequences(ctx, signer_accounts, accounts)


def check_memo(tx: DecodedTx, params: AuthParams) -> None:
    """The memo must not exceed MaxMemoCharacters."""
    if len(tx.body.memo) > params.max_memo_characters:
        raise ErrMemoTooLarge.wrap(
            f"maximum number of characters is {params.max_memo_characters} "
            f"but received {len(tx.body.memo)} characters"
        )


def check_timeout_height(ctx: Context, tx: DecodedTx) -> None:
    """A tx with a timeout height (or timestamp) is invalid in blocks above (after) it."""
    timeout = tx.body.timeout_height
    if timeout and ctx.header.height > timeout:
        raise ErrTxTimeoutHeight.wrap(
            f"block height: {ctx.header.height}, timeout height: {timeout}"
        )
    if not tx.body.HasField("timeout_timestamp") or not ctx.header.time_ns:
        return
    stamp = tx.body.timeout_timestamp
    timeout_ns = stamp.seconds * 1_000_000_000 + stamp.nanos
    if ctx.header.time_ns > timeout_ns:
        raise ErrTxTimeout.wrap(
            f"block time: {ctx.header.time_ns} ns, timeout timestamp: {timeout_ns} ns"
        )


def consume_tx_size_gas(ctx: Context, tx: DecodedTx, params: AuthParams) -> None:
    """Charge gas per byte of the raw tx (plus the missing signatures when simulating)."""
    size = len(tx.raw)
    if ctx.is_simulate:
        size += SIMULATED_SIGNATURE_BYTES * len(tx.signers)
    ctx.gas_meter.consume(size * params.tx_size_cost_per_byte, "txSize")


def check_fee(
    ctx: Context, tx: DecodedTx, options: AnteOptions, fee_policy: FeePolicy | None = None
) -> int:
    """Fees are paid in ucgpt; they must meet the fee policy's base price (consensus: also
    in FinalizeBlock, not when simulating) and, in CheckTx, this node's minimum gas price.
    Returns the part of the fee the policy burns."""
    for coin in tx.fee:
        if coin.denom != BOND_DENOM:
            raise ErrInsufficientFee.wrap(f"fees must be paid in {BOND_DENOM}, got {coin.denom}")
    offered = tx.fee.amount_of(BOND_DENOM)
    burned = 0
    if fee_policy is not None:
        burned = fee_policy.check_fee(ctx, tx.gas_limit, offered, not ctx.is_simulate)
    if not ctx.is_check or options.min_gas_price.is_zero():
        return burned
    required = required_fee(options.min_gas_price, tx.gas_limit)
    if offered < required:
        raise ErrInsufficientFee.wrap(
            f"insufficient fees; got: {offered}{BOND_DENOM} required: {required}{BOND_DENOM}"
        )
    return burned


@lru_cache(maxsize=1024)
def required_fee(min_gas_price: Dec, gas_limit: int) -> int:
    """ceil(min_gas_price × gas_limit) in ucgpt (remembered: clients reuse a few gas limits)."""
    return int((min_gas_price * Dec.from_int(gas_limit)).ceil().truncate_int())


def load_signer_accounts(ctx: Context, tx: DecodedTx, accounts: AccountKeeper) -> list[Account]:
    """Every signer must already have an account."""
    loaded = []
    for signer in tx.signers:
        account = accounts.get_account(ctx, signer)
        if account is None:
            raise ErrUnknownAddress.wrap(f"account {addr_str(signer)} does not exist")
        loaded.append(account)
    return loaded


def deduct_fee(
    ctx: Context,
    tx: DecodedTx,
    payer: Account,
    bank: BankKeeper,
    burned: int = 0,
    fee_policy: FeePolicy | None = None,
) -> None:
    """Move the fee from the first signer to the fee collector (``burned`` ucgpt of it to the
    fee policy's burn account instead)."""
    if tx.auth_info.fee.payer and tx.auth_info.fee.payer != addr_str(payer.address):
        raise ErrNotSupported.wrap("a fee payer other than the first signer")
    if tx.auth_info.fee.granter:
        raise ErrNotSupported.wrap("fee grants")
    if len(tx.fee):
        balance = bank.get_balance(ctx, payer.address, BOND_DENOM)
        if balance < tx.fee.amount_of(BOND_DENOM):
            raise ErrInsufficientFunds.wrap(
                f"insufficient funds to pay for fees; {balance}{BOND_DENOM} < {tx.fee}"
            )
        collected = tx.fee
        if burned and fee_policy is not None:
            burn = Coins.from_iter([Coin(BOND_DENOM, burned)])
            bank.send_coins_to_module(ctx, payer.address, fee_policy.burn_account, burn)
            collected = tx.fee - burn
        if len(collected):
            bank.send_coins_to_module(ctx, payer.address, FEE_COLLECTOR, collected)
    elif ctx.is_simulate:
        charge_simulated_fee_gas(ctx, payer, bank)
    ctx.emit("tx", ("fee", str(tx.fee)), ("fee_payer", addr_str(payer.address)))


def charge_simulated_fee_gas(ctx: Context, payer: Account, bank: BankKeeper) -> None:
    """Charge the gas a fee deduction would cost, for a simulated tx that names no fee.

    Clients simulate before they know the fee; without this the estimate would miss the
    deduction's reads and writes and a tx signed with it would run out of gas. The probe
    deduction of 1ucgpt runs in a branch that is thrown away; only its gas remains.
    """
    if bank.get_balance(ctx, payer.address, BOND_DENOM) < 1:
        return
    probe = Context(
        GasKVStore(CacheStore(ctx.store), ctx.gas_meter), ctx.gas_meter, ctx.header, ctx.mode
    )
    probe_fee = Coins.from_iter([Coin(BOND_DENOM, 1)])
    bank.send_coins_to_module(probe, payer.address, FEE_COLLECTOR, probe_fee)


def _signer_pub_key(info: pb.tx.SignerInfo) -> bytes | None:
    if not info.HasField("public_key"):
        return None
    if info.public_key.type_url != SECP256K1_PUBKEY_TYPE_URL:
        raise ErrInvalidPubKey.wrap(f"unsupported public key type {info.public_key.type_url}")
    try:
        key = bytes(pb.secp256k1.PubKey.FromString(info.public_key.value).key)
    except pb.DecodeError as exc:
        raise ErrInvalidPubKey.wrap("malformed secp256k1 public key") from exc
    if len(key) != PUBKEY_LENGTH:
        raise ErrInvalidPubKey.wrap(f"secp256k1 public key must be {PUBKEY_LENGTH} bytes")
    return key


def set_pub_keys(ctx: Context, tx: DecodedTx, signers: list[Account]) -> list[Account]:
    """Record each signer's public key on first use; it must hash to the signer's address."""
    updated = []
    for account, info in zip(signers, tx.auth_info.signer_infos, strict=True):
        key = _signer_pub_key(info)
        if key is not None and key != account.pub_key and PubKey(key).address() != account.address:
            raise ErrInvalidPubKey.wrap(
                f"pubkey does not match signer address {addr_str(account.address)}"
            )
        if account.pub_key is None and key is not None:
            account = account.with_pub_key(key)
        updated.append(account)
    return updated


def check_signatures(
    ctx: Context,
    tx: DecodedTx,
    signers: list[Account],
    params: AuthParams,
    cache: SignatureCache,
) -> None:
    """Charge signature gas, check sequences and verify each signer's single secp256k1
    signature (SIGN_MODE_DIRECT or SIGN_MODE_LEGACY_AMINO_JSON)."""
    if len(tx.signatures) > params.tx_sig_limit:
        raise ErrTooManySignatures.wrap(
            f"signatures: {len(tx.signatures)}, limit: {params.tx_sig_limit}"
        )
    chain_id = ctx.header.chain_id
    amino_msgs: list[str] | None = None  # the messages' amino JSON, built once per tx
    for account, info, signature in zip(
        signers, tx.auth_info.signer_infos, tx.signatures, strict=True
    ):
        ctx.gas_meter.consume(params.sig_verify_cost_secp256k1, "ante verify: secp256k1")
        if info.sequence != account.sequence:
            raise ErrWrongSequence.wrap(
                f"account sequence mismatch, expected {account.sequence}, got {info.sequence}"
            )
        if ctx.is_simulate:
            continue
        if account.pub_key is None:
            raise ErrInvalidPubKey.wrap(f"pubkey on account {addr_str(account.address)} is not set")
        mode = sign_mode(info)
        if mode == SIGN_MODE_DIRECT:
            sign_bytes = direct_sign_bytes(tx, chain_id, account)
        else:
            if amino_msgs is None:
                amino_msgs = amino_messages(tx)
            sign_bytes = amino_sign_bytes(tx, amino_msgs, chain_id, account)
        if not cache.verify(account.pub_key, sign_bytes, signature):
            raise ErrUnauthorized.wrap(
                f"signature verification failed; please verify account number "
                f"({account.account_number}), sequence ({account.sequence}) and chain-id "
                f"({chain_id})"
            )
        ctx.emit("tx", ("signature", base64.b64encode(signature).decode()))


def sign_mode(info: pb.tx.SignerInfo) -> int:
    """The signer's sign mode; anything but a single DIRECT or LEGACY_AMINO_JSON signature
    (multisig, TEXTUAL, DIRECT_AUX, unknown modes) is refused with ErrNotSupported."""
    if not info.mode_info.HasField("single"):
        raise ErrNotSupported.wrap(
            "only single SIGN_MODE_DIRECT or SIGN_MODE_LEGACY_AMINO_JSON signatures are supported"
        )
    mode = int(info.mode_info.single.mode)
    if mode not in SUPPORTED_SIGN_MODES:
        raise ErrNotSupported.wrap(
            f"sign mode {mode} is not supported "
            "(use SIGN_MODE_DIRECT or SIGN_MODE_LEGACY_AMINO_JSON)"
        )
    return mode


def direct_sign_bytes(tx: DecodedTx, chain_id: str, account: Account) -> bytes:
    """The SIGN_MODE_DIRECT SignDoc of ``account``."""
    return bytes(
        pb.tx.SignDoc(
            body_bytes=tx.body_bytes,
            auth_info_bytes=tx.auth_info_bytes,
            chain_id=chain_id,
            account_number=account.account_number,
        ).SerializeToString()
    )


@lru_cache(maxsize=256)
def _amino_resolver(msg_classes: frozenset[type[pb.Message]]) -> Resolver:
    """Resolves the ``Any`` values an amino-signed tx may nest: public keys and the tx's own
    message types (a fixed set per tx: the same on every node)."""
    table = dict(PUBLIC_KEY_TYPES)
    table.update({pb.type_url(cls): cls for cls in msg_classes})
    return table.get


def amino_messages(tx: DecodedTx) -> list[str]:
    """The amino JSON of ``tx``'s messages, after the checks the SDK makes before building
    amino sign bytes: no extension options and no unknown field at all in the body (not
    even a non-critical one: the JSON would not cover it), and no timeout timestamp (the
    StdSignDoc has no place for it). Linear in the body's size (ADR 0015)."""
    body = tx.body
    if body.non_critical_extension_options:
        raise ErrInvalidRequest.wrap(
            "SIGN_MODE_LEGACY_AMINO_JSON does not support protobuf extension options"
        )
    if body.HasField("timeout_timestamp"):
        raise ErrInvalidRequest.wrap(
            "SIGN_MODE_LEGACY_AMINO_JSON does not cover a timeout timestamp; "
            "use a timeout height or SIGN_MODE_DIRECT"
        )
    resolve = _amino_resolver(frozenset(type(m) for m in tx.msgs))
    reject_unknown_fields(body, tx.body_bytes, "TxBody", False, resolve)
    try:
        return amino_json.encode_msgs(tx.msgs, resolve)
    except amino_json.AminoJSONError as exc:
        raise ErrJSONMarshal.wrap(f"amino JSON sign bytes: {exc}") from exc


def amino_sign_bytes(tx: DecodedTx, msgs: list[str], chain_id: str, account: Account) -> bytes:
    """The SIGN_MODE_LEGACY_AMINO_JSON StdSignDoc of ``account`` (its sequence before this tx)."""
    fee = tx.auth_info.fee
    try:
        return amino_json.sign_doc_bytes(
            msgs,
            chain_id,
            account.account_number,
            account.sequence,
            fee.amount,
            fee.gas_limit,
            tx.body.memo,
            tx.body.timeout_height,
            fee.payer,
            fee.granter,
        )
    except amino_json.AminoJSONError as exc:
        raise ErrJSONMarshal.wrap(f"amino JSON sign bytes: {exc}") from exc


def increment_sequences(ctx: Context, signers: list[Account], accounts: AccountKeeper) -> None:
    """Bump every signer's sequence (and store any newly recorded public key)."""
    for account in signers:
        ctx.emit("tx", ("acc_seq", f"{addr_str(account.address)}/{account.sequence}"))
        accounts.set_account(ctx, account.with_sequence(account.sequence + 1))
