"""BankKeeper: the only code that reads or writes balances, supply and denom metadata."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aivm.modules.addr import addr_str
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.bank import events, keys
from aivm.modules.bank.errors import ErrSendDisabled
from aivm.modules.bank.params import BankParams
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types import pb
from aivm.types.coin import Coin, Coins
from aivm.types.errors import ErrInsufficientFunds, ErrInvalidCoins, ErrUnauthorized

MAX_AMOUNT = (1 << 256) - 1


SENDS_DISABLED = b"\x08\x00"
"""``Params{default_send_enabled: false}`` with the field written (valid protobuf)."""


class BankKeeper:
    """Balances per (address, denom), total supply per denom, metadata and params."""

    def __init__(self, accounts: AccountKeeper, blocked_addresses: Iterable[bytes]) -> None:
        """``blocked_addresses`` may not receive funds through messages (module accounts)."""
        self.accounts = accounts
        self.blocked_addresses = frozenset(blocked_addresses)

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- balances -------------------------------------------------------------------------

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int:
        """Balance of ``denom`` held by ``address`` (0 when none)."""
        raw = self._store(ctx).get(keys.balance_key(address, denom))
        return 0 if raw is None else int(raw)

    def get_all_balances(self, ctx: Context, address: bytes) -> Coins:
        """Every non-zero balance of ``address``, sorted by denom."""
        store = PrefixStore(self._store(ctx), keys.balances_prefix(address))
        return Coins.from_iter(Coin(k.decode(), int(v)) for k, v in store.iterate())

    def iterate_all_balances(self, ctx: Context) -> Iterator[tuple[bytes, Coins]]:
        """(address, balances) for every holder, in key order."""
        store = PrefixStore(self._store(ctx), keys.BALANCES_PREFIX)
        current: bytes | None = None
        held: list[Coin] = []
        for key, value in store.iterate():
            length = key[0]
            address, denom = key[1 : 1 + length], key[1 + length :].decode()
            if address != current:
                if current is not None:
                    yield current, Coins.from_iter(held)
                current, held = address, []
            held.append(Coin(denom, int(value)))
        if current is not None:
            yield current, Coins.from_iter(held)

    def _set_balance(self, ctx: Context, address: bytes, denom: str, amount: int) -> None:
        key = keys.balance_key(address, denom)
        if amount == 0:
            self._store(ctx).delete(key)
        else:
            self._store(ctx).set(key, str(amount).encode())

    def subtract_coins(self, ctx: Context, address: bytes, amount: Coins) -> None:
        """Remove ``amount`` from ``address``; ErrInsufficientFunds if any denom is short."""
        for coin in amount:
            balance = self.get_balance(ctx, address, coin.denom)
            if balance < coin.amount:
                raise ErrInsufficientFunds.wrap(
                    f"spendable balance {balance}{coin.denom} is smaller than {coin}"
                )
            self._set_balance(ctx, address, coin.denom, balance - coin.amount)
        ctx.events.append(events.coin_spent(addr_str(address), str(amount)))

    def add_coins(self, ctx: Context, address: bytes, amount: Coins) -> None:
        """Add ``amount`` to ``address``."""
        for coin in amount:
            balance = self.get_balance(ctx, address, coin.denom) + coin.amount
            if balance > MAX_AMOUNT:
                raise ErrInvalidCoins.wrap(f"balance overflow for {coin.denom}")
            self._set_balance(ctx, address, coin.denom, balance)
        ctx.events.append(events.coin_received(addr_str(address), str(amount)))

    # -- transfers ------------------------------------------------------------------------

    def send_coins(self, ctx: Context, sender: bytes, recipient: bytes, amount: Coins) -> None:
        """Move ``amount`` from ``sender`` to ``recipient``, creating the recipient's account."""
        self._move(ctx, sender, recipient, amount)
        if not self.accounts.has_account(ctx, recipient):
            self.accounts.new_account(ctx, recipient)

    def _move(self, ctx: Context, sender: bytes, recipient: bytes, amount: Coins) -> None:
        self.subtract_coins(ctx, sender, amount)
        self.add_coins(ctx, recipient, amount)
        sender_str = addr_str(sender)
        ctx.events.append(events.transfer(addr_str(recipient), sender_str, str(amount)))
        ctx.events.append(events.message_sender(sender_str))

    def send_coins_to_module(self, ctx: Context, sender: bytes, module: str, amount: Coins) -> None:
        """Move ``amount`` from an account to a module account (fees, escrow)."""
        self._move(ctx, sender, self.accounts.ensure_module_account(ctx, module), amount)

    def input_output_coins(
        self, ctx: Context, sender: bytes, amount: Coins, outputs: list[tuple[bytes, Coins]]
    ) -> None:
        """MsgMultiSend: one input split over several outputs."""
        self.subtract_coins(ctx, sender, amount)
        sender_str = addr_str(sender)
        ctx.events.append(events.message_sender(sender_str))
        for recipient, coins in outputs:
            self.add_coins(ctx, recipient, coins)
            ctx.events.append(events.transfer(addr_str(recipient), sender_str, str(coins)))
            if not self.accounts.has_account(ctx, recipient):
                self.accounts.new_account(ctx, recipient)

    def check_send_enabled(self, ctx: Context, amount: Coins) -> None:
        """ErrSendDisabled when any denom of ``amount`` is switched off."""
        params = self.get_params(ctx)
        for coin in amount:
            if not params.is_send_enabled(coin.denom):
                raise ErrSendDisabled.wrap(f"{coin.denom} transfers are currently disabled")

    def check_can_receive(self, address: bytes) -> None:
        """ErrUnauthorized when ``address`` is a blocked module address."""
        if address in self.blocked_addresses:
            raise ErrUnauthorized.wrap(f"{addr_str(address)} is not allowed to receive funds")

    # -- supply ---------------------------------------------------------------------------

    def get_supply(self, ctx: Context, denom: str) -> int:
        """Total supply of ``denom``."""
        raw = self._store(ctx).get(keys.supply_key(denom))
        return 0 if raw is None else int(raw)

    def set_supply(self, ctx: Context, denom: str, amount: int) -> None:
        """Record the total supply of ``denom`` (zero deletes the entry)."""
        if amount == 0:
            self._store(ctx).delete(keys.supply_key(denom))
        else:
            self._store(ctx).set(keys.supply_key(denom), str(amount).encode())

    def get_total_supply(self, ctx: Context) -> Coins:
        """Supply of every denom."""
        store = PrefixStore(self._store(ctx), keys.SUPPLY_PREFIX)
        return Coins.from_iter(Coin(k.decode(), int(v)) for k, v in store.iterate())

    def mint_coins(self, ctx: Context, module: str, amount: Coins) -> None:
        """Create ``amount`` in the module account ``module`` (needs the minter permission)."""
        account = self.accounts.get_module_account(ctx, module)
        if "minter" not in account.permissions:
            raise ErrUnauthorized.wrap(f"module account {module} does not have minting permission")
        self.add_coins(ctx, account.address, amount)
        for coin in amount:
            self.set_supply(ctx, coin.denom, self.get_supply(ctx, coin.denom) + coin.amount)
        ctx.emit("coinbase", ("minter", addr_str(account.address)), ("amount", str(amount)))

    def burn_coins(self, ctx: Context, module: str, amount: Coins) -> None:
        """Destroy ``amount`` held by module ``module`` (needs the burner permission)."""
        account = self.accounts.get_module_account(ctx, module)
        if "burner" not in account.permissions:
            raise ErrUnauthorized.wrap(f"module account {module} does not have burning permission")
        self.subtract_coins(ctx, account.address, amount)
        for coin in amount:
            self.set_supply(ctx, coin.denom, self.get_supply(ctx, coin.denom) - coin.amount)
        ctx.emit("burn", ("burner", addr_str(account.address)), ("amount", str(amount)))

    # -- metadata and params --------------------------------------------------------------

    def get_denom_metadata(self, ctx: Context, denom: str) -> pb.bank.Metadata | None:
        """Metadata of ``denom``, or None."""
        raw = self._store(ctx).get(keys.metadata_key(denom))
        return None if raw is None else pb.bank.Metadata.FromString(raw)

    def set_denom_metadata(self, ctx: Context, metadata: pb.bank.Metadata) -> None:
        """Store metadata under its base denom."""
        self._store(ctx).set(keys.metadata_key(metadata.base), metadata.SerializeToString())

    def iterate_denom_metadata(self, ctx: Context) -> Iterator[pb.bank.Metadata]:
        """All metadata, by base denom."""
        store = PrefixStore(self._store(ctx), keys.DENOM_METADATA_PREFIX)
        for _, raw in store.iterate():
            yield pb.bank.Metadata.FromString(raw)

    def get_params(self, ctx: Context) -> BankParams:
        """Current bank params."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        return (
            BankParams() if raw is None else BankParams.from_proto(pb.bank.Params.FromString(raw))
        )

    def set_params(self, ctx: Context, params: BankParams) -> None:
        """Store ``params``. All-default proto3 params encode to no bytes, which the store
        refuses (and which would read back as "no params", i.e. sends enabled), so sends
        switched off with no per-denom switch are stored as field 1 written out: false."""
        raw = params.to_proto().SerializeToString() or SENDS_DISABLED
        self._store(ctx).set(keys.PARAMS_KEY, raw)
