"""bank invariants, checked by the simulation after every block (:mod:`aivm.modules.simulation`)."""

from __future__ import annotations

from aivm.modules.addr import addr_str
from aivm.modules.bank import keys
from aivm.modules.bank.keeper import MAX_AMOUNT
from aivm.modules.bank.module import BankModule
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.store import PrefixStore


def invariants(module: BankModule) -> dict[str, Invariant]:
    """total_supply, balances and holders_have_accounts, by name."""
    keeper = module.keeper

    def total_supply(ctx: Context) -> list[str]:
        """The supply of every denom is the sum of all balances of it."""
        held: dict[str, int] = {}
        for _, coins in keeper.iterate_all_balances(ctx):
            for coin in coins:
                held[coin.denom] = held.get(coin.denom, 0) + coin.amount
        supply = {coin.denom: coin.amount for coin in keeper.get_total_supply(ctx)}
        return [
            f"supply of {denom} is {supply.get(denom, 0)}, balances add up to {held.get(denom, 0)}"
            for denom in sorted(set(held) | set(supply))
            if supply.get(denom, 0) != held.get(denom, 0)
        ]

    def balances(ctx: Context) -> list[str]:
        """Every stored balance is a canonical decimal in [1, 2²⁵⁶−1] (zero is deleted)."""
        problems: list[str] = []
        store = PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), keys.BALANCES_PREFIX)
        for key, raw in store.iterate():
            text = raw.decode(errors="replace")
            if not (text.isascii() and text.isdigit()) or str(int(text)) != text:
                problems.append(f"balance {key.hex()} is stored as {text!r}")
            elif not 0 < int(text) <= MAX_AMOUNT:
                problems.append(f"balance {key.hex()} is {text}, outside [1, 2**256-1]")
        return problems

    def holders_have_accounts(ctx: Context) -> list[str]:
        """Whoever holds coins has an account (transfers create the recipient's)."""
        return [
            f"{addr_str(address)} holds {coins} but has no account"
            for address, coins in keeper.iterate_all_balances(ctx)
            if not keeper.accounts.has_account(ctx, address)
        ]

    return {
        "total_supply": total_supply,
        "balances": balances,
        "holders_have_accounts": holders_have_accounts,
    }
