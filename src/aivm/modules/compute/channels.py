"""compute payment channels: a client deposits ``ucgpt`` for one provider, pays per job off
chain with signed **cumulative** vouchers, and the provider redeems the latest voucher after a
challenge period (``channel_challenge_blocks``). Semantics: the compute README, "Payment
channels".

Everything of the feature lives here: store keys (``0x20``–``0x24`` under ``compute/``),
error codes (60–69 of the ``compute`` codespace), events, the voucher format,
:class:`ChannelKeeper`, message and query routes, REST routes, invariants, genesis helpers
and simulation operations. Deposits sit in the ``compute`` module account, beside provider
collateral and job escrow.

Store layout (relative to ``compute/``; ids and heights 8-byte big-endian, ``op`` is
``len(address) | address``):

- ``0x20 | id → Channel``
- ``0x21 → next channel id``
- ``0x22 | op(client) | id → 0x01`` and ``0x23 | op(provider) | id → 0x01``: by party
- ``0x24 | height | id | kind → 0x01``: the due queue, kind 1 a claim that pays at
  ``claim_final_height``, 2 a CLOSING channel that settles at ``close_height``, 3 an OPEN
  channel that starts closing at ``expiry_height``
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from aivm.crypto.keys import PrivKey, verify_secp256k1
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.errors import CODESPACE, ErrInvalidGenesis, ErrProviderNotFound
from aivm.modules.framework import Context, ExecMode, MsgRoute, QueryRoute, RestRoute
from aivm.modules.simulation import Invariant, SimEnv, WeightedOperation
from aivm.store import CacheStore, GasMeter, KVStore, PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.errors import AivmError, register
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

# -- store keys -------------------------------------------------------------------------------

CHANNEL = b"\x20"
NEXT_CHANNEL_ID = b"\x21"
CHANNELS_BY_CLIENT = b"\x22"
CHANNELS_BY_PROVIDER = b"\x23"
CHANNEL_QUEUE = b"\x24"
DUE_CLAIM, DUE_CLOSE, DUE_EXPIRY = 1, 2, 3
"""Kinds of due-queue entries (in this order within one height and channel)."""

DEFAULT_CHALLENGE_BLOCKS = 20
DEFAULT_MAX_CHANNEL_BLOCKS = 1_000_000
VOUCHER_VERIFY_GAS = 1_000
"""Gas a voucher's signature check costs (the SDK's secp256k1 verification cost)."""
VOUCHER_DOMAIN = b"aivm-voucher/v1\x00"
SIGNATURE_BYTES = 64
PUBKEY_BYTES = 33

OPEN = compute_pb2.CHANNEL_STATE_OPEN
CLOSING = compute_pb2.CHANNEL_STATE_CLOSING
STATE_NAMES = {OPEN: "open", CLOSING: "closing"}

# -- errors (codespace ``compute``, codes 60..79) ---------------------------------------------

ErrChannelNotFound = register(CODESPACE, 60, "payment channel not found")
ErrInvalidChannel = register(CODESPACE, 61, "invalid payment channel request")
ErrNoClientPubkey = register(CODESPACE, 62, "client account has no public key")
ErrNotChannelParty = register(CODESPACE, 63, "signer is not a party of the channel")
ErrChannelState = register(CODESPACE, 64, "not allowed in the channel's state")
ErrStaleVoucher = register(CODESPACE, 65, "voucher is not above the channel's current claim")
ErrVoucherOverDeposit = register(CODESPACE, 66, "voucher exceeds the channel deposit")
ErrInvalidVoucherSignature = register(CODESPACE, 67, "invalid voucher signature")
ErrInvalidVoucher = register(CODESPACE, 68, "malformed voucher")
ErrChannelExpired = register(CODESPACE, 69, "payment channel has expired")

# -- events -----------------------------------------------------------------------------------

EVENT_OPEN = "compute_channel_open"
EVENT_TOPUP = "compute_channel_topup"
EVENT_REDEEM = "compute_channel_redeem"
EVENT_PAYOUT = "compute_channel_payout"
EVENT_CLOSE = "compute_channel_close"


# -- keys -------------------------------------------------------------------------------------


def channel_key(channel_id: int) -> bytes:
    """Key of a channel record."""
    return CHANNEL + keys.u64(channel_id)


def party_key(index: bytes, address: bytes, channel_id: int) -> bytes:
    """Key of a channel in the by-client (0x22) or by-provider (0x23) index."""
    return index + keys.op_key(address) + keys.u64(channel_id)


def due_key(height: int, channel_id: int, kind: int) -> bytes:
    """Key of a due-queue entry (relative to ``compute/``)."""
    return CHANNEL_QUEUE + keys.u64(max(height, 0)) + keys.u64(channel_id) + bytes([kind])


# -- amounts and vouchers ---------------------------------------------------------------------


def amount_of(text: str) -> int:
    """An integer amount kept as text in a record (empty: 0)."""
    return parse_digits(text or "0", MAX_UINT256_DIGITS, ErrInvalidChannel, "amount")


def deposit_amount(coin: pb.coin.Coin) -> int:
    """A positive amount of the bond denom; ErrInvalidChannel otherwise."""
    if coin.denom != BOND_DENOM:
        raise ErrInvalidChannel.wrap(f"deposits are in {BOND_DENOM}, not {coin.denom[:64]!r}")
    amount = parse_digits(coin.amount, MAX_UINT256_DIGITS, ErrInvalidChannel, "amount")
    if amount <= 0:
        raise ErrInvalidChannel.wrap("the amount must be positive")
    return amount


def voucher_amount(text: str) -> int:
    """A voucher's cumulative amount: a positive integer; ErrInvalidVoucher otherwise."""
    amount = parse_digits(text, MAX_UINT256_DIGITS, ErrInvalidVoucher, "cumulative_amount")
    if amount <= 0:
        raise ErrInvalidVoucher.wrap("cumulative_amount must be positive")
    return amount


def voucher_sign_bytes(chain_id: str, channel_id: int, cumulative: int) -> bytes:
    """What a voucher signs (hashed with sha256 by the signature scheme):
    ``b"aivm-voucher/v1\\x00" ‖ chain_id ‖ 0x00 ‖ channel_id (8 bytes BE) ‖ decimal amount``."""
    return (
        VOUCHER_DOMAIN
        + chain_id.encode()
        + b"\x00"
        + keys.u64(channel_id)
        + str(cumulative).encode()
    )


def sign_voucher(privkey_bytes: bytes, chain_id: str, channel_id: int, cumulative: int) -> bytes:
    """Client side: the 64-byte compact low-S secp256k1 signature of a voucher paying
    ``cumulative`` ucgpt in total over channel ``channel_id`` of chain ``chain_id``."""
    message = voucher_sign_bytes(chain_id, channel_id, cumulative)
    return PrivKey.from_bytes(privkey_bytes).sign(message)


def verify_voucher(
    pubkey: bytes, chain_id: str, channel_id: int, cumulative: int, signature: bytes
) -> bool:
    """True iff ``signature`` is a valid low-S voucher signature by ``pubkey``; never raises."""
    message = voucher_sign_bytes(chain_id, channel_id, cumulative)
    return verify_secp256k1(pubkey, message, signature)


def decode_channel(raw: bytes) -> compute_pb2.Channel:
    """A Channel record."""
    record: compute_pb2.Channel = compute_pb2.Channel.FromString(raw)
    return record


def pending_claim(record: compute_pb2.Channel) -> int:
    """What the channel's claim will pay the provider (claimed − redeemed)."""
    return max(amount_of(record.claimed) - amount_of(record.redeemed), 0)


def escrow_of(record: compute_pb2.Channel) -> int:
    """What the module account holds for the channel (deposit − redeemed)."""
    return amount_of(record.deposit) - amount_of(record.redeemed)


def channels_escrow(channels: Sequence[compute_pb2.Channel]) -> int:
    """Σ (deposit − redeemed): what the ``compute`` account holds for these channels."""
    return sum(escrow_of(c) for c in channels)


def _state_name(record: compute_pb2.Channel) -> str:
    return STATE_NAMES.get(record.state, f"in state {record.state}")


def _coins(amount: int) -> Coins:
    return Coins([Coin(BOND_DENOM, amount)])


def _due_entries(record: compute_pb2.Channel) -> set[bytes]:
    """The due-queue keys a channel must have."""
    found = set()
    if record.state == OPEN:
        found.add(due_key(record.expiry_height, record.id, DUE_EXPIRY))
    if record.state == CLOSING:
        found.add(due_key(record.close_height, record.id, DUE_CLOSE))
    if pending_claim(record) > 0:
        found.add(due_key(record.claim_final_height, record.id, DUE_CLAIM))
    return found


# -- keeper -----------------------------------------------------------------------------------


class ChannelKeeper:
    """Reads and writes payment channels under ``compute/0x20``–``0x24``."""

    def __init__(
        self,
        bank: BankKeeper,
        auth: AccountKeeper,
        module_address: bytes,
        get_params: Callable[[Context], object],
        provider_exists: Callable[[Context, bytes], bool],
    ) -> None:
        """``get_params`` gives the compute params; ``provider_exists`` says whether an
        address is a registered compute provider."""
        self.bank = bank
        self.auth = auth
        self.module_address = module_address
        self.get_params = get_params
        self.provider_exists = provider_exists

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- params -------------------------------------------------------------------------

    def challenge_blocks(self, ctx: Context) -> int:
        """The ``channel_challenge_blocks`` param."""
        value = getattr(self.get_params(ctx), "channel_challenge_blocks", DEFAULT_CHALLENGE_BLOCKS)
        return int(value)

    def max_blocks(self, ctx: Context) -> int:
        """The ``max_channel_blocks`` param (longest lifetime of a channel)."""
        value = getattr(self.get_params(ctx), "max_channel_blocks", DEFAULT_MAX_CHANNEL_BLOCKS)
        return int(value)

    # -- records and indexes -------------------------------------------------------------

    def get_channel(self, ctx: Context, channel_id: int) -> compute_pb2.Channel | None:
        """The channel, or None."""
        raw = self._store(ctx).get(channel_key(channel_id))
        return None if raw is None else decode_channel(raw)

    def require_channel(self, ctx: Context, channel_id: int) -> compute_pb2.Channel:
        """The channel, or ErrChannelNotFound."""
        record = self.get_channel(ctx, channel_id)
        if record is None:
            raise ErrChannelNotFound.wrap(f"channel {channel_id}")
        return record

    def set_channel(self, ctx: Context, record: compute_pb2.Channel) -> None:
        """Write a record as it is (indexes and queue are the caller's business)."""
        self._store(ctx).set(channel_key(record.id), record.SerializeToString())

    def index_channel(self, ctx: Context, record: compute_pb2.Channel) -> None:
        """Put the channel in the by-client and by-provider indexes."""
        store = self._store(ctx)
        store.set(party_key(CHANNELS_BY_CLIENT, addr_bytes(record.client), record.id), b"\x01")
        store.set(party_key(CHANNELS_BY_PROVIDER, addr_bytes(record.provider), record.id), b"\x01")

    def _delete(self, ctx: Context, record: compute_pb2.Channel, due: set[bytes]) -> None:
        """Delete the record, its index entries and its due entries ``due``."""
        store = self._store(ctx)
        for key in sorted(due):
            store.delete(key)
        store.delete(party_key(CHANNELS_BY_CLIENT, addr_bytes(record.client), record.id))
        store.delete(party_key(CHANNELS_BY_PROVIDER, addr_bytes(record.provider), record.id))
        store.delete(channel_key(record.id))

    def _queue(self, ctx: Context, height: int, channel_id: int, kind: int) -> None:
        self._store(ctx).set(due_key(height, channel_id, kind), b"\x01")

    def restore_due(self, ctx: Context, record: compute_pb2.Channel) -> None:
        """Write every due entry the record implies (genesis import)."""
        store = self._store(ctx)
        for key in sorted(_due_entries(record)):
            store.set(key, b"\x01")

    def _unqueue(self, ctx: Context, height: int, channel_id: int, kind: int) -> None:
        self._store(ctx).delete(due_key(height, channel_id, kind))

    def channels_store(self, ctx: Context) -> KVStore:
        """The channel records as a store (keys ``id``), for pagination."""
        return PrefixStore(self._store(ctx), CHANNEL)

    def party_store(self, ctx: Context, index: bytes, address: bytes) -> KVStore:
        """One party's index entries (keys ``id``), for pagination."""
        return PrefixStore(self._store(ctx), index + keys.op_key(address))

    def index_store(self, ctx: Context, index: bytes) -> KVStore:
        """A whole party index (keys ``op | id``), for invariants."""
        return PrefixStore(self._store(ctx), index)

    def queue_store(self, ctx: Context) -> KVStore:
        """The due queue (keys ``height | id | kind``)."""
        return PrefixStore(self._store(ctx), CHANNEL_QUEUE)

    def iterate_channels(self, ctx: Context) -> Iterator[compute_pb2.Channel]:
        """Every channel, by id."""
        for _, raw in self.channels_store(ctx).iterate():
            yield decode_channel(raw)

    def peek_next_id(self, ctx: Context) -> int:
        """The id the next channel gets."""
        raw = self._store(ctx).get(NEXT_CHANNEL_ID)
        return 1 if raw is None else int.from_bytes(raw, "big")

    def set_next_id(self, ctx: Context, value: int) -> None:
        """Set the channel id counter (genesis import)."""
        self._store(ctx).set(NEXT_CHANNEL_ID, keys.u64(value))

    # -- money --------------------------------------------------------------------------

    def _pay(self, ctx: Context, recipient: str, amount: int) -> None:
        if amount > 0:
            self.bank.send_coins(ctx, self.module_address, addr_bytes(recipient), _coins(amount))

    def _pay_claim(self, ctx: Context, record: compute_pb2.Channel) -> int:
        """Pay the pending claim to the provider (record updated, not written)."""
        amount = pending_claim(record)
        if amount <= 0:
            return 0
        self._pay(ctx, record.provider, amount)
        record.redeemed = record.claimed
        record.claim_final_height = 0
        ctx.emit(
            EVENT_PAYOUT,
            ("channel_id", str(record.id)),
            ("provider", record.provider),
            ("amount", f"{amount}{BOND_DENOM}"),
            ("redeemed", f"{record.redeemed}{BOND_DENOM}"),
        )
        return amount

    # -- messages -----------------------------------------------------------------------

    def open(
        self, ctx: Context, client: bytes, provider: bytes, deposit: int, duration_blocks: int
    ) -> compute_pb2.Channel:
        """Open a channel from ``client`` to ``provider`` with ``deposit`` moved to the
        compute account, expiring ``duration_blocks`` from now."""
        limit = self.max_blocks(ctx)
        if not 0 < duration_blocks <= limit:
            raise ErrInvalidChannel.wrap(f"duration_blocks must be 1 to {limit}")
        if client == provider:
            raise ErrInvalidChannel.wrap("a client cannot open a channel to itself")
        if not self.provider_exists(ctx, provider):
            raise ErrProviderNotFound.wrap(f"{addr_str(provider)} is not a compute provider")
        account = self.auth.get_account(ctx, client)
        if account is None or not account.pub_key:
            raise ErrNoClientPubkey.wrap(f"{addr_str(client)} has not signed a transaction yet")
        self.bank.send_coins_to_module(ctx, client, keys.MODULE_ACCOUNT, _coins(deposit))
        channel_id = self.peek_next_id(ctx)
        self.set_next_id(ctx, channel_id + 1)
        record = compute_pb2.Channel(
            id=channel_id,
            client=addr_str(client),
            provider=addr_str(provider),
            client_pubkey=account.pub_key,
            deposit=str(deposit),
            redeemed="0",
            claimed="0",
            state=OPEN,
            opened_height=ctx.header.height,
            expiry_height=ctx.header.height + duration_blocks,
        )
        self.set_channel(ctx, record)
        self.index_channel(ctx, record)
        self._queue(ctx, record.expiry_height, channel_id, DUE_EXPIRY)
        return record

    def top_up(
        self, ctx: Context, client: bytes, channel_id: int, amount: int
    ) -> compute_pb2.Channel:
        """Add ``amount`` to the deposit of an OPEN, unexpired channel (its client only)."""
        record = self.require_channel(ctx, channel_id)
        if addr_bytes(record.client) != client:
            raise ErrNotChannelParty.wrap(f"only the client {record.client} tops up")
        if record.state != OPEN:
            raise ErrChannelState.wrap(f"channel {channel_id} is {_state_name(record)}")
        if ctx.header.height >= record.expiry_height:
            raise ErrChannelExpired.wrap(f"channel {channel_id} expired at {record.expiry_height}")
        self.bank.send_coins_to_module(ctx, client, keys.MODULE_ACCOUNT, _coins(amount))
        record.deposit = str(amount_of(record.deposit) + amount)
        self.set_channel(ctx, record)
        return record

    def redeem(
        self, ctx: Context, presenter: bytes, channel_id: int, cumulative: int, signature: bytes
    ) -> compute_pb2.Channel:
        """Present a voucher (by the provider or the client): above the current claim and
        the amount redeemed, within the deposit, signed by the client's key. It becomes the
        claim; a new claim pays ``channel_challenge_blocks`` from now, a higher one replaces
        a pending claim and keeps its final height."""
        record = self.require_channel(ctx, channel_id)
        if presenter not in (addr_bytes(record.client), addr_bytes(record.provider)):
            raise ErrNotChannelParty.wrap(f"{addr_str(presenter)} is not in channel {channel_id}")
        self._check_voucher(ctx, record, cumulative, signature)
        if pending_claim(record) == 0:
            record.claim_final_height = ctx.header.height + self.challenge_blocks(ctx)
            self._queue(ctx, record.claim_final_height, channel_id, DUE_CLAIM)
        record.claimed = str(cumulative)
        self.set_channel(ctx, record)
        return record

    def _check_voucher(
        self, ctx: Context, record: compute_pb2.Channel, cumulative: int, signature: bytes
    ) -> None:
        current = max(amount_of(record.redeemed), amount_of(record.claimed))
        if cumulative <= current:
            raise ErrStaleVoucher.wrap(f"voucher {cumulative} is not above {current}")
        deposit = amount_of(record.deposit)
        if cumulative > deposit:
            raise ErrVoucherOverDeposit.wrap(f"voucher {cumulative} exceeds deposit {deposit}")
        ctx.gas_meter.consume(VOUCHER_VERIFY_GAS, "compute: voucher signature")
        chain_id = ctx.header.chain_id
        if not verify_voucher(record.client_pubkey, chain_id, record.id, cumulative, signature):
            raise ErrInvalidVoucherSignature.wrap(
                f"not a voucher of channel {record.id} on {chain_id} signed by {record.client}"
            )

    def close(self, ctx: Context, sender: bytes, channel_id: int) -> compute_pb2.Channel:
        """The provider settles at once (claim paid, the rest to the client, record deleted);
        the client moves an OPEN channel to CLOSING, settled ``channel_challenge_blocks``
        from now. Returns the record as it was last (``close_height`` set)."""
        record = self.require_channel(ctx, channel_id)
        if sender == addr_bytes(record.provider):
            self.settle(ctx, record, "provider")
            record.close_height = ctx.header.height
            return record
        if sender != addr_bytes(record.client):
            raise ErrNotChannelParty.wrap(f"{addr_str(sender)} is not in channel {channel_id}")
        if record.state != OPEN:
            raise ErrChannelState.wrap(f"channel {channel_id} is already closing")
        self.begin_closing(ctx, record, "client")
        return record

    def begin_closing(self, ctx: Context, record: compute_pb2.Channel, by: str) -> None:
        """OPEN → CLOSING: settled after the challenge period (the provider may redeem)."""
        self._unqueue(ctx, record.expiry_height, record.id, DUE_EXPIRY)
        record.state = CLOSING
        record.close_height = ctx.header.height + self.challenge_blocks(ctx)
        self.set_channel(ctx, record)
        self._queue(ctx, record.close_height, record.id, DUE_CLOSE)
        ctx.emit(
            EVENT_CLOSE,
            ("channel_id", str(record.id)),
            ("by", by),
            ("status", "closing"),
            ("close_height", str(record.close_height)),
        )

    def settle(self, ctx: Context, record: compute_pb2.Channel, by: str) -> None:
        """Pay the pending claim, return the rest of the deposit to the client and delete the
        channel with its index and queue entries."""
        due = _due_entries(record)  # of the record as stored, before the payout
        paid = self._pay_claim(ctx, record)
        refund = amount_of(record.deposit) - amount_of(record.redeemed)
        self._pay(ctx, record.client, refund)
        self._delete(ctx, record, due)
        ctx.emit(
            EVENT_CLOSE,
            ("channel_id", str(record.id)),
            ("by", by),
            ("status", "closed"),
            ("paid", f"{paid}{BOND_DENOM}"),
            ("redeemed", f"{record.redeemed}{BOND_DENOM}"),
            ("refund", f"{refund}{BOND_DENOM}"),
        )

    # -- EndBlock -----------------------------------------------------------------------

    def end_block(self, ctx: Context) -> int:
        """Pay the claims whose final height is reached, settle the CLOSING channels due and
        start closing the OPEN channels that expired. Reads only the due queue entries (and
        their channels); returns how many entries it handled."""
        due = self.due_keys(ctx)
        for key in due:
            self.handle_due(ctx, key)
        return len(due)

    def due_keys(self, ctx: Context, channel_id: int | None = None) -> list[bytes]:
        """The due-queue keys (``height | id | kind``) at or below this block's height (of
        channel ``channel_id`` only, when given)."""
        entries = self.queue_store(ctx).iterate(None, keys.u64(ctx.header.height + 1))
        found = [key for key, _ in entries]
        if channel_id is None:
            return found
        return [key for key in found if int.from_bytes(key[8:16], "big") == channel_id]

    def handle_due(self, ctx: Context, key: bytes) -> None:
        """Remove one due entry and do what it asks, if its channel still needs it."""
        self.queue_store(ctx).delete(key)
        record = self.get_channel(ctx, int.from_bytes(key[8:16], "big"))
        if record is not None:
            self._handle_due(ctx, record, key[16])

    def _handle_due(self, ctx: Context, record: compute_pb2.Channel, kind: int) -> None:
        height = ctx.header.height
        if kind == DUE_CLAIM and pending_claim(record) > 0 and record.claim_final_height <= height:
            self._pay_claim(ctx, record)
            self.set_channel(ctx, record)
        elif kind == DUE_CLOSE and record.state == CLOSING and record.close_height <= height:
            self.settle(ctx, record, "timeout")
        elif kind == DUE_EXPIRY and record.state == OPEN and record.expiry_height <= height:
            self.begin_closing(ctx, record, "expiry")


# -- messages ---------------------------------------------------------------------------------


def _channel_id(channel_id: int) -> None:
    if channel_id <= 0:
        raise ErrInvalidChannel.wrap("channel_id must be set")


def validate_open(msg: compute_pb2.MsgOpenChannel) -> None:
    """Client and provider addresses (distinct), a positive deposit, a duration."""
    if addr_bytes(msg.client) == addr_bytes(msg.provider):
        raise ErrInvalidChannel.wrap("a client cannot open a channel to itself")
    deposit_amount(msg.deposit)
    if msg.duration_blocks <= 0:
        raise ErrInvalidChannel.wrap("duration_blocks must be positive")


def handle_open(
    keeper: ChannelKeeper, ctx: Context, msg: compute_pb2.MsgOpenChannel
) -> compute_pb2.MsgOpenChannelResponse:
    """Move the deposit to the compute account and open the channel."""
    deposit = deposit_amount(msg.deposit)
    record = keeper.open(
        ctx, addr_bytes(msg.client), addr_bytes(msg.provider), deposit, msg.duration_blocks
    )
    ctx.emit(
        EVENT_OPEN,
        ("channel_id", str(record.id)),
        ("client", record.client),
        ("provider", record.provider),
        ("deposit", f"{deposit}{BOND_DENOM}"),
        ("expiry_height", str(record.expiry_height)),
    )
    return compute_pb2.MsgOpenChannelResponse(channel_id=record.id)


def validate_top_up(msg: compute_pb2.MsgTopUpChannel) -> None:
    """Client, channel id and a positive amount."""
    addr_bytes(msg.client)
    _channel_id(msg.channel_id)
    deposit_amount(msg.amount)


def handle_top_up(
    keeper: ChannelKeeper, ctx: Context, msg: compute_pb2.MsgTopUpChannel
) -> compute_pb2.MsgTopUpChannelResponse:
    """Add to the deposit."""
    amount = deposit_amount(msg.amount)
    record = keeper.top_up(ctx, addr_bytes(msg.client), msg.channel_id, amount)
    ctx.emit(
        EVENT_TOPUP,
        ("channel_id", str(record.id)),
        ("amount", f"{amount}{BOND_DENOM}"),
        ("deposit", f"{record.deposit}{BOND_DENOM}"),
    )
    return compute_pb2.MsgTopUpChannelResponse()


def validate_redeem(msg: compute_pb2.MsgRedeemVoucher) -> None:
    """Presenter, channel id, a positive cumulative amount, a 64-byte signature."""
    addr_bytes(msg.provider)
    _channel_id(msg.channel_id)
    voucher_amount(msg.cumulative_amount)
    if len(msg.signature) != SIGNATURE_BYTES:
        raise ErrInvalidVoucher.wrap(f"signature must be {SIGNATURE_BYTES} bytes")


def handle_redeem(
    keeper: ChannelKeeper, ctx: Context, msg: compute_pb2.MsgRedeemVoucher
) -> compute_pb2.MsgRedeemVoucherResponse:
    """The voucher becomes the channel's claim."""
    cumulative = voucher_amount(msg.cumulative_amount)
    presenter = addr_bytes(msg.provider)
    record = keeper.redeem(ctx, presenter, msg.channel_id, cumulative, bytes(msg.signature))
    ctx.emit(
        EVENT_REDEEM,
        ("channel_id", str(record.id)),
        ("presenter", addr_str(presenter)),
        ("cumulative", f"{cumulative}{BOND_DENOM}"),
        ("claim", f"{pending_claim(record)}{BOND_DENOM}"),
        ("final_height", str(record.claim_final_height)),
    )
    return compute_pb2.MsgRedeemVoucherResponse(final_height=record.claim_final_height)


def validate_close(msg: compute_pb2.MsgCloseChannel) -> None:
    """Sender and channel id."""
    addr_bytes(msg.sender)
    _channel_id(msg.channel_id)


def handle_close(
    keeper: ChannelKeeper, ctx: Context, msg: compute_pb2.MsgCloseChannel
) -> compute_pb2.MsgCloseChannelResponse:
    """Settle now (provider) or after the challenge period (client)."""
    record = keeper.close(ctx, addr_bytes(msg.sender), msg.channel_id)
    return compute_pb2.MsgCloseChannelResponse(close_height=record.close_height)


def _route(
    message_class: type[pb.Message],
    signer: Callable[[Any], str],
    validate: Callable[[Any], None],
    handle: Callable[[ChannelKeeper, Context, Any], pb.Message],
    keeper: ChannelKeeper,
) -> MsgRoute:
    return MsgRoute(
        message_class=message_class,
        signers=lambda msg: [addr_bytes(signer(msg))],
        validate_basic=validate,
        handler=lambda ctx, msg: handle(keeper, ctx, msg),
    )


def channel_msg_routes(keeper: ChannelKeeper) -> list[MsgRoute]:
    """MsgOpenChannel and MsgTopUpChannel (signer ``client``), MsgRedeemVoucher (signer
    ``provider``: the presenter, the channel's provider or client), MsgCloseChannel (signer
    ``sender``)."""
    m = compute_pb2
    return [
        _route(m.MsgOpenChannel, lambda x: x.client, validate_open, handle_open, keeper),
        _route(m.MsgTopUpChannel, lambda x: x.client, validate_top_up, handle_top_up, keeper),
        _route(m.MsgRedeemVoucher, lambda x: x.provider, validate_redeem, handle_redeem, keeper),
        _route(m.MsgCloseChannel, lambda x: x.sender, validate_close, handle_close, keeper),
    ]


# -- queries ----------------------------------------------------------------------------------

SERVICE = "/aivm.compute.v1.Query/"


def channel_query_routes(keeper: ChannelKeeper) -> list[QueryRoute]:
    """Channel (by id) and Channels (all, or by client and/or provider; paginated)."""

    def channel(
        ctx: Context, req: compute_pb2.QueryChannelRequest
    ) -> compute_pb2.QueryChannelResponse:
        return compute_pb2.QueryChannelResponse(channel=keeper.require_channel(ctx, req.channel_id))

    def channels(
        ctx: Context, req: compute_pb2.QueryChannelsRequest
    ) -> compute_pb2.QueryChannelsResponse:
        page = req.pagination if req.HasField("pagination") else None
        client = addr_bytes(req.client) if req.client else None
        provider = addr_bytes(req.provider) if req.provider else None
        if client is None and provider is None:
            found, response = paginate_store(
                keeper.channels_store(ctx), page, lambda _, raw: decode_channel(raw)
            )
            return compute_pb2.QueryChannelsResponse(channels=found, pagination=response)
        if client is not None:
            store = keeper.party_store(ctx, CHANNELS_BY_CLIENT, client)
        else:
            store = keeper.party_store(ctx, CHANNELS_BY_PROVIDER, provider or b"")

        def decode(key: bytes, _: bytes) -> compute_pb2.Channel | None:
            record = keeper.get_channel(ctx, int.from_bytes(key, "big"))
            if record is None:
                return None
            if provider is not None and addr_bytes(record.provider) != provider:
                return None
            return record

        found, response = paginate_store(store, page, decode)
        return compute_pb2.QueryChannelsResponse(channels=found, pagination=response)

    q = compute_pb2
    return [
        QueryRoute(SERVICE + "Channel", q.QueryChannelRequest, channel),
        QueryRoute(SERVICE + "Channels", q.QueryChannelsRequest, channels),
    ]


CHANNEL_REST_ROUTES = (
    RestRoute(
        "/aivm/compute/v1/channels",
        SERVICE + "Channels",
        compute_pb2.QueryChannelsRequest,
        compute_pb2.QueryChannelsResponse,
        "Payment channels (filter with ?client= and ?provider=; paginated).",
    ),
    RestRoute(
        "/aivm/compute/v1/channels/{channel_id}",
        SERVICE + "Channel",
        compute_pb2.QueryChannelRequest,
        compute_pb2.QueryChannelResponse,
        "A payment channel.",
    ),
)


# -- invariants -------------------------------------------------------------------------------


def check_channel_escrow(ctx: Context, keeper: ChannelKeeper) -> list[str]:
    """The compute account holds at least Σ (deposit − redeemed) of every channel (it also
    holds collateral and job escrow: the module's exact account invariant adds them up)."""
    owed = channels_escrow(list(keeper.iterate_channels(ctx)))
    held = keeper.bank.get_balance(ctx, keeper.module_address, BOND_DENOM)
    if held < owed:
        return [f"compute account holds {held}{BOND_DENOM}, channels owe {owed}{BOND_DENOM}"]
    return []


def channel_record_problems(record: compute_pb2.Channel) -> list[str]:
    """What is wrong with one record: amounts (redeemed ≤ claimed ≤ deposit), state and
    heights, addresses and the client key."""
    name = f"channel {record.id}"
    try:
        deposit, redeemed = amount_of(record.deposit), amount_of(record.redeemed)
        claimed = amount_of(record.claimed)
        addr_bytes(record.client), addr_bytes(record.provider)
    except AivmError as exc:
        return [f"{name}: {exc}"]
    problems = []
    if not redeemed <= claimed <= deposit:
        problems.append(f"{name}: want redeemed {redeemed} ≤ claimed {claimed} ≤ deposit {deposit}")
    if record.state not in STATE_NAMES:
        problems.append(f"{name}: state {record.state}")
    if (record.state == CLOSING) != (record.close_height > 0):
        problems.append(f"{name}: close_height is set exactly when closing")
    if (claimed > redeemed) != (record.claim_final_height > 0):
        problems.append(f"{name}: claim_final_height is set exactly when a claim is pending")
    if record.id <= 0 or record.expiry_height <= record.opened_height:
        problems.append(f"{name}: id or heights")
    if len(record.client_pubkey) != PUBKEY_BYTES or record.client == record.provider:
        problems.append(f"{name}: client key or parties")
    return problems


def check_channel_records(ctx: Context, keeper: ChannelKeeper) -> list[str]:
    """Every record is well formed and below the next id."""
    next_id = keeper.peek_next_id(ctx)
    problems = []
    for record in keeper.iterate_channels(ctx):
        problems += channel_record_problems(record)
        if record.id >= next_id:
            problems.append(f"channel {record.id}: not below the next id {next_id}")
    return problems


def check_channel_indexes(ctx: Context, keeper: ChannelKeeper) -> list[str]:
    """The party indexes and the due queue hold exactly the entries the records imply."""
    expected: set[bytes] = set()
    for record in keeper.iterate_channels(ctx):
        try:
            expected.add(party_key(CHANNELS_BY_CLIENT, addr_bytes(record.client), record.id))
            expected.add(party_key(CHANNELS_BY_PROVIDER, addr_bytes(record.provider), record.id))
        except AivmError:
            continue  # reported by check_channel_records
        expected |= _due_entries(record)
    found = set()
    for prefix in (CHANNELS_BY_CLIENT, CHANNELS_BY_PROVIDER, CHANNEL_QUEUE):
        found |= {prefix + key for key, _ in keeper.index_store(ctx, prefix).iterate()}
    problems = [f"channel entry missing: {k.hex()}" for k in sorted(expected - found)]
    problems += [f"stray channel entry: {k.hex()}" for k in sorted(found - expected)]
    return problems


def channel_invariants(keeper: ChannelKeeper) -> dict[str, Invariant]:
    """channel_escrow, channel_records and channel_indexes, by name."""
    return {
        "channel_escrow": lambda ctx: check_channel_escrow(ctx, keeper),
        "channel_records": lambda ctx: check_channel_records(ctx, keeper),
        "channel_indexes": lambda ctx: check_channel_indexes(ctx, keeper),
    }


# -- genesis ----------------------------------------------------------------------------------


def export_channels(keeper: ChannelKeeper, ctx: Context) -> tuple[list[compute_pb2.Channel], int]:
    """Every channel (by id) and the next channel id."""
    return list(keeper.iterate_channels(ctx)), keeper.peek_next_id(ctx)


def validate_channels(channels: Sequence[compute_pb2.Channel], next_id: int) -> None:
    """ErrInvalidGenesis unless every record is well formed, ids are distinct and below
    ``next_id`` (0: one past the largest)."""
    seen: set[int] = set()
    for record in channels:
        problems = channel_record_problems(record)
        if record.id in seen:
            problems.append(f"channel {record.id} twice")
        if next_id and record.id >= next_id:
            problems.append(f"channel {record.id} not below next_channel_id {next_id}")
        if problems:
            raise ErrInvalidGenesis.wrap("; ".join(problems))
        seen.add(record.id)


def import_channels(
    keeper: ChannelKeeper, ctx: Context, channels: Sequence[compute_pb2.Channel], next_id: int
) -> None:
    """Write the channels, rebuild their indexes and due entries, and set the next id
    (``next_id`` 0: one past the largest). The module's import checks the account holds
    :func:`channels_escrow` on top of collateral and job escrow."""
    validate_channels(channels, next_id)
    for record in channels:
        keeper.set_channel(ctx, record)
        keeper.index_channel(ctx, record)
        keeper.restore_due(ctx, record)
    keeper.set_next_id(ctx, next_id or max((c.id for c in channels), default=0) + 1)


# -- simulation -------------------------------------------------------------------------------


def _sim_key(env: SimEnv, address: bytes) -> PrivKey | None:
    """The simulation's private key of ``address`` when the environment offers a
    ``key_of`` mapping (address → PrivKey); None otherwise."""
    table = getattr(env, "key_of", None)
    if table is None:
        return None
    found = table.get(address)
    return found if isinstance(found, PrivKey) else None


def _sim_providers(keeper: ChannelKeeper, env: SimEnv) -> list[bytes]:
    return [a for a in env.accounts if keeper.provider_exists(env.ctx, a)]


def _sim_channel(keeper: ChannelKeeper, env: SimEnv) -> compute_pb2.Channel | None:
    found = list(keeper.iterate_channels(env.ctx))
    return env.rng.choice(found) if found else None


def _sim_party(env: SimEnv, record: compute_pb2.Channel, main: str) -> str:
    """Mostly ``main``; sometimes the other party or any account (refused or not)."""
    roll = env.rng.randrange(0, 10)
    if roll < 7:
        return main
    if roll < 9:
        return record.client if main == record.provider else record.provider
    return addr_str(env.rng.choice(env.accounts))


def channel_sim_ops(keeper: ChannelKeeper) -> dict[str, WeightedOperation]:
    """open_channel, topup_channel, redeem_voucher, close_channel and channel_flow.

    ``redeem_voucher`` signs with the client's simulation key when the environment offers
    ``key_of`` (else with a stranger's key: refused). ``channel_flow`` runs a whole channel
    (open, top-up, vouchers with real signatures, a stale one, closes, EndBlock payouts) on a
    throwaway branch with a fresh key and checks balances and the invariants there."""

    def open_channel(env: SimEnv) -> Sequence[pb.Message] | None:
        providers = _sim_providers(keeper, env)
        client = env.rng.choice(env.accounts)
        provider = env.rng.choice(providers) if providers else env.rng.choice(env.accounts)
        if provider == client:
            return None
        duration = env.rng.randrange(0, 40)  # 0: refused
        deposit = pb.coin.Coin(denom=BOND_DENOM, amount=str(env.rng.randrange(1, 10**6)))
        msg = compute_pb2.MsgOpenChannel(
            client=addr_str(client),
            provider=addr_str(provider),
            deposit=deposit,
            duration_blocks=duration,
        )
        return [msg]

    def topup_channel(env: SimEnv) -> Sequence[pb.Message] | None:
        record = _sim_channel(keeper, env)
        if record is None:
            return None
        amount = pb.coin.Coin(denom=BOND_DENOM, amount=str(env.rng.randrange(1, 10**5)))
        client = _sim_party(env, record, record.client)
        return [compute_pb2.MsgTopUpChannel(client=client, channel_id=record.id, amount=amount)]

    def redeem_voucher(env: SimEnv) -> Sequence[pb.Message] | None:
        record = _sim_channel(keeper, env)
        if record is None:
            return None
        current = max(amount_of(record.claimed), amount_of(record.redeemed))
        cumulative = current + env.rng.randrange(
            -2, 1 + max(amount_of(record.deposit) - current, 0)
        )
        cumulative = max(cumulative, 1)  # ≤ current: stale; over the deposit: refused
        stranger = PrivKey.from_bytes(env.rng.randbytes(32))
        key = _sim_key(env, addr_bytes(record.client))
        if key is None or env.rng.randrange(0, 8) == 0:
            key = stranger  # not the client's signature: refused
        signature = sign_voucher(key.bytes, env.ctx.header.chain_id, record.id, cumulative)
        msg = compute_pb2.MsgRedeemVoucher(
            provider=_sim_party(env, record, record.provider),
            channel_id=record.id,
            cumulative_amount=str(cumulative),
            signature=signature,
        )
        return [msg]

    def close_channel(env: SimEnv) -> Sequence[pb.Message] | None:
        record = _sim_channel(keeper, env)
        if record is None:
            return None
        main = env.rng.choice((record.client, record.provider))
        return [
            compute_pb2.MsgCloseChannel(sender=_sim_party(env, record, main), channel_id=record.id)
        ]

    def channel_flow(env: SimEnv) -> Sequence[pb.Message] | None:
        problems = check_channel_flow(keeper, env)
        if problems:
            raise AssertionError("compute channel_flow: " + "; ".join(problems))
        return None  # nothing to send: the flow runs on a dropped branch

    return {
        "open_channel": WeightedOperation(3, open_channel),
        "topup_channel": WeightedOperation(2, topup_channel),
        "redeem_voucher": WeightedOperation(3, redeem_voucher),
        "close_channel": WeightedOperation(2, close_channel),
        "channel_flow": WeightedOperation(1, channel_flow),
    }


def _branch(env: SimEnv, store: KVStore, height: int) -> Context:
    header = dataclasses.replace(env.ctx.header, height=height)
    return Context(store, GasMeter(None), header, ExecMode.FINALIZE)


def check_channel_flow(keeper: ChannelKeeper, env: SimEnv) -> list[str]:
    """One channel's life with a fresh client key on a branch of the committed state: open,
    top up, two vouchers (the second replaces the first), a stale one refused, a client
    close, a voucher inside the challenge period, EndBlock settlement. Returns what went
    wrong (the branch is dropped)."""
    providers = _sim_providers(keeper, env)
    funders = [a for a in env.accounts if a not in providers]
    if not providers or not funders:
        return []
    store = CacheStore(env.ctx.store)
    ctx = _branch(env, store, env.height)
    funder, provider = env.rng.choice(funders), env.rng.choice(providers)
    if keeper.bank.get_balance(ctx, funder, BOND_DENOM) < 2_000:
        return []
    key = PrivKey.from_bytes(env.rng.randbytes(32))
    client = key.pubkey.address()
    keeper.bank.send_coins(ctx, funder, client, _coins(2_000))
    account = keeper.auth.get_account(ctx, client)
    if account is None:
        return ["funded account missing"]
    keeper.auth.set_account(ctx, dataclasses.replace(account, pub_key=key.pubkey.bytes))
    return _run_flow(keeper, env, store, key, provider)


def _run_flow(
    keeper: ChannelKeeper, env: SimEnv, store: KVStore, key: PrivKey, provider: bytes
) -> list[str]:
    ctx = _branch(env, store, env.height)
    client = key.pubkey.address()
    before = _balances(keeper, ctx, client, provider)
    try:
        record = keeper.open(ctx, client, provider, 1_000, min(30, keeper.max_blocks(ctx)))
        keeper.top_up(ctx, client, record.id, 500)
        chain_id = ctx.header.chain_id
        for amount in (300, 700):
            signature = sign_voucher(key.bytes, chain_id, record.id, amount)
            keeper.redeem(ctx, provider, record.id, amount, signature)
        keeper.close(ctx, client, record.id)
        late = sign_voucher(key.bytes, chain_id, record.id, 900)
        keeper.redeem(ctx, provider, record.id, 900, late)
    except AivmError as exc:
        return [f"channel flow refused: {exc}"]
    problems = _stale_refused(keeper, ctx, key, provider, record.id)
    final = _branch(env, store, env.height + keeper.challenge_blocks(ctx) + 1)
    for entry in keeper.due_keys(final, record.id):  # other channels' payouts stay out
        keeper.handle_due(final, entry)
    after = _balances(keeper, final, client, provider)
    moved = tuple(b - a for a, b in zip(before, after, strict=True))
    if moved != (-900, 900, 0):  # 1,500 deposited, 900 paid by the last voucher
        problems.append(f"balances moved by {moved}, want (-900, 900, 0)")
    if keeper.get_channel(final, record.id) is not None:
        problems.append("channel not settled after the challenge period")
    return problems + check_channel_records(final, keeper) + check_channel_indexes(final, keeper)


def _stale_refused(
    keeper: ChannelKeeper, ctx: Context, key: PrivKey, provider: bytes, channel_id: int
) -> list[str]:
    signature = sign_voucher(key.bytes, ctx.header.chain_id, channel_id, 700)
    try:
        keeper.redeem(ctx, provider, channel_id, 700, signature)
    except AivmError as exc:
        return [] if ErrStaleVoucher.is_(exc) else [f"stale voucher: {exc}"]
    return ["a stale voucher was accepted"]


def _balances(
    keeper: ChannelKeeper, ctx: Context, client: bytes, provider: bytes
) -> tuple[int, int, int]:
    get = keeper.bank.get_balance
    return (
        get(ctx, client, BOND_DENOM),
        get(ctx, provider, BOND_DENOM),
        get(ctx, keeper.module_address, BOND_DENOM),
    )
