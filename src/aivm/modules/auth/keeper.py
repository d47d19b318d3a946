"""AccountKeeper: the only code that reads or writes the auth store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache

from aivm.modules.auth import keys
from aivm.modules.auth.params import AuthParams
from aivm.modules.auth.types import Account
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types import pb
from aivm.types.address import module_address

FEE_COLLECTOR = "fee_collector"
"""Module account that receives transaction fees."""


class AccountKeeper:
    """Accounts, account numbers and auth params."""

    def __init__(self, module_permissions: Mapping[str, tuple[str, ...]]) -> None:
        """``module_permissions`` names every module account and its permissions."""
        self.module_permissions = dict(module_permissions)
        self.module_addresses = {name: module_address(name) for name in module_permissions}

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_account(self, ctx: Context, address: bytes) -> Account | None:
        """The account at ``address``, or None."""
        raw = self._store(ctx).get(keys.account_key(address))
        return None if raw is None else _decode_account(raw)

    def has_account(self, ctx: Context, address: bytes) -> bool:
        """True when an account exists at ``address``."""
        return self._store(ctx).has(keys.account_key(address))

    def set_account(self, ctx: Context, account: Account) -> None:
        """Write ``account``."""
        self._store(ctx).set(keys.account_key(account.address), _encode_account(account))

    def new_account(self, ctx: Context, address: bytes) -> Account:
        """Create, store and return a fresh base account with the next account number."""
        account = Account(address=address, account_number=self.next_account_number(ctx))
        self.set_account(ctx, account)
        return account

    def next_account_number(self, ctx: Context) -> int:
        """Return the next free account number and advance the counter."""
        store = self._store(ctx)
        raw = store.get(keys.NEXT_ACCOUNT_NUMBER_KEY)
        number = 0 if raw is None else int.from_bytes(raw, "big")
        store.set(keys.NEXT_ACCOUNT_NUMBER_KEY, (number + 1).to_bytes(8, "big"))
        return number

    def peek_next_account_number(self, ctx: Context) -> int:
        """The account number the next new account will get, without advancing it."""
        raw = self._store(ctx).get(keys.NEXT_ACCOUNT_NUMBER_KEY)
        return 0 if raw is None else int.from_bytes(raw, "big")

    def set_next_account_number(self, ctx: Context, number: int) -> None:
        """Set the counter (genesis import)."""
        self._store(ctx).set(keys.NEXT_ACCOUNT_NUMBER_KEY, number.to_bytes(8, "big"))

    def iterate_accounts(self, ctx: Context) -> Iterator[Account]:
        """Every account, in address order."""
        for _, raw in self.accounts_store(ctx).iterate():
            yield Account.decode(raw)

    def accounts_store(self, ctx: Context) -> KVStore:
        """The account records (address → account) as a read view, for paged queries."""
        return PrefixStore(self._store(ctx), keys.ACCOUNT_PREFIX)

    def get_module_account(self, ctx: Context, name: str) -> Account:
        """The module account ``name``, created on first use."""
        address = self.module_addresses[name]
        account = self.get_account(ctx, address)
        if account is None:
            account = Account(
                address=address,
                account_number=self.next_account_number(ctx),
                module_name=name,
                permissions=self.module_permissions[name],
            )
            self.set_account(ctx, account)
        return account

    def ensure_module_account(self, ctx: Context, name: str) -> bytes:
        """Address of module account ``name``, creating the account if it does not exist."""
        address = self.module_addresses[name]
        if not self.has_account(ctx, address):
            self.get_module_account(ctx, name)
        return address

    def get_params(self, ctx: Context) -> AuthParams:
        """Current auth params (defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        return AuthParams() if raw is None else _decode_params(raw)

    def set_params(self, ctx: Context, params: AuthParams) -> None:
        """Validate and store ``params``."""
        params.validate()
        self._store(ctx).set(keys.PARAMS_KEY, params.to_proto().SerializeToString())


@lru_cache(maxsize=64)
def _decode_params(raw: bytes) -> AuthParams:
    """Stored params → AuthParams (frozen), decoded once per distinct encoding: the ante step
    reads them for every transaction."""
    return AuthParams.from_proto(pb.auth.Params.FromString(raw))


@lru_cache(maxsize=16384)
def _decode_account(raw: bytes) -> Account:
    """Account.decode, remembered: CheckTx and then FinalizeBlock read the same bytes."""
    return Account.decode(raw)


@lru_cache(maxsize=16384)
def _encode_account(account: Account) -> bytes:
    """Account.encode, remembered: CheckTx and then FinalizeBlock write the same account."""
    return account.encode()
