"""auth invariants, checked by the simulation after every block.

An invariant reads the committed state through a read-only :class:`Context` and returns a
description of every violation it finds (an empty list when the state is sound); see
:mod:`aivm.modules.simulation`.
"""

from __future__ import annotations

from aivm.modules.addr import addr_str
from aivm.modules.auth import keys
from aivm.modules.auth.module import AuthModule
from aivm.modules.auth.types import Account
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.store import PrefixStore


def invariants(module: AuthModule) -> dict[str, Invariant]:
    """accounts and module_accounts, by name."""
    keeper = module.keeper
    # key → (stored bytes, account): an account is decoded again only when its bytes changed
    # (decoding checks its bech32 address, the bulk of this invariant's time)
    decoded: dict[bytes, tuple[bytes, Account]] = {}

    def decode(key: bytes, raw: bytes) -> Account:
        known = decoded.get(key)
        if known is None or known[0] != raw:
            known = decoded[key] = (raw, Account.decode(raw))
        return known[1]

    def accounts(ctx: Context) -> list[str]:
        """Each account sits under its own address; numbers are unique and below the counter."""
        problems: list[str] = []
        next_number = keeper.peek_next_account_number(ctx)
        owners: dict[int, bytes] = {}
        store = PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), keys.ACCOUNT_PREFIX)
        for key, raw in store.iterate():
            account = decode(key, raw)
            if account.address != key:
                problems.append(f"account {addr_str(account.address)} stored under {key.hex()}")
            if account.account_number >= next_number:
                problems.append(
                    f"{addr_str(account.address)} has number {account.account_number}, "
                    f"the counter is at {next_number}"
                )
            other = owners.setdefault(account.account_number, account.address)
            if other != account.address:
                problems.append(
                    f"account number {account.account_number} belongs to both "
                    f"{addr_str(other)} and {addr_str(account.address)}"
                )
        return problems

    def module_accounts(ctx: Context) -> list[str]:
        """A module's address holds that module's account, never a user account."""
        problems: list[str] = []
        for name, address in sorted(keeper.module_addresses.items()):
            account = keeper.get_account(ctx, address)
            if account is not None and account.module_name != name:
                problems.append(
                    f"{addr_str(address)} should be module account {name!r}, "
                    f"holds {account.module_name or 'a user account'!r}"
                )
        return problems

    return {"accounts": accounts, "module_accounts": module_accounts}
