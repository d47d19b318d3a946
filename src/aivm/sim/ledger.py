"""Invariants that need the block results, not only the state: money moves as events say.

- **coin flow**: over one block, every address's balance changes by exactly what the block's
  ``coin_received`` minus ``coin_spent`` events say (a keeper that minted or burned silently, or
  an event that lies, breaks it);
- **fees**: inside transactions, nothing but fees reaches the ``fee_collector`` module account
  (a blocked address with no permissions): its balance changes by the fees the ``tx`` events
  report as paid, less the base part the fee market sends to its burn account (with
  ``burn_base_fee``), plus what the block's own events (BeginBlock/EndBlock: inflation minted
  into it, rewards distributed out of it) say moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

COIN_RE = re.compile(r"^([0-9]+)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})$")

Amounts = dict[tuple[bytes, str], int]
"""(address bytes, denom) → amount."""


def parse_coins(text: str) -> dict[str, int]:
    """``"12ucgpt,3uother"`` → ``{"ucgpt": 12, "uother": 3}`` (empty text: nothing)."""
    coins: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        match = COIN_RE.match(part)
        if match is None:
            raise ValueError(f"event amount {text!r} is not a coin list")
        coins[match[2]] = coins.get(match[2], 0) + int(match[1])
    return coins


def event_flows(
    results: Iterable[pb.abci.ExecTxResult], block_events: Iterable[Any] = ()
) -> Amounts:
    """Net coins received per (address, denom) according to the results' events and the
    block's own (BeginBlock/EndBlock) events."""
    flows: Amounts = {}
    events = [event for result in results for event in result.events] + list(block_events)
    for event in events:
        attrs = {a.key: a.value for a in event.attributes}
        if event.type == "coin_received":
            sign, who = 1, attrs.get("receiver", "")
        elif event.type == "coin_spent":
            sign, who = -1, attrs.get("spender", "")
        else:
            continue
        address = addr_bytes(who)
        for denom, amount in parse_coins(attrs.get("amount", "")).items():
            flows[(address, denom)] = flows.get((address, denom), 0) + sign * amount
    return flows


def fees_paid(results: Iterable[pb.abci.ExecTxResult]) -> int:
    """ucgpt the results' ``tx`` events report as fees (one per tx whose ante step passed)."""
    total = 0
    for result in results:
        for event in result.events:
            for attribute in event.attributes:
                if event.type == "tx" and attribute.key == "fee":
                    total += parse_coins(attribute.value).get(BOND_DENOM, 0)
    return total


def burned_fees(results: Iterable[pb.abci.ExecTxResult], burn_account: bytes | None) -> int:
    """ucgpt the results' events show reaching the fee market's burn account (the base part of
    fees, with ``burn_base_fee``; nothing else may send to that module account)."""
    if burn_account is None:
        return 0
    return event_flows(results).get((burn_account, BOND_DENOM), 0)


def all_balances(ctx: Context, bank: BankKeeper) -> Amounts:
    """Every non-zero balance in the state."""
    return {
        (address, coin.denom): coin.amount
        for address, coins in bank.iterate_all_balances(ctx)
        for coin in coins
    }


@dataclass
class Ledger:
    """What the events said so far, to hold the state against."""

    bank: BankKeeper
    balances: Amounts = field(default_factory=dict)
    """Balances after the last checked block."""
    fees: int = 0
    """Fees the fee collector should hold."""
    burn_account: bytes | None = None
    """Address of the module account the fee market burns from (None: no fee market)."""

    @classmethod
    def at_genesis(cls, ctx: Context, bank: BankKeeper, burn_module: str | None = None) -> Ledger:
        """Start from the genesis state; ``burn_module`` names the fee market's burn account."""
        addresses = bank.accounts.module_addresses
        burn = addresses.get(burn_module) if burn_module is not None else None
        ledger = cls(bank, all_balances(ctx, bank), burn_account=burn)
        ledger.fees = ledger.balances.get((ledger.fee_collector, BOND_DENOM), 0)
        return ledger

    @property
    def fee_collector(self) -> bytes:
        """Address of the fee collector."""
        return self.bank.accounts.module_addresses[FEE_COLLECTOR]

    def check_block(
        self,
        ctx: Context,
        results: Iterable[pb.abci.ExecTxResult],
        block_events: Iterable[Any] = (),
    ) -> dict[str, list[str]]:
        """Violations of ``coin_flow`` and ``fees`` after a block, by invariant name."""
        results = list(results)
        block_events = list(block_events)
        after = all_balances(ctx, self.bank)
        flows = event_flows(results, block_events)
        self.fees += event_flows((), block_events).get((self.fee_collector, BOND_DENOM), 0)
        flow_problems = [
            f"{addr_str(who)} {denom}: balance moved by {after.get((who, denom), 0) - before}, "
            f"events say {flows.get((who, denom), 0)}"
            for (who, denom) in sorted(set(after) | set(self.balances) | set(flows))
            for before in [self.balances.get((who, denom), 0)]
            if after.get((who, denom), 0) - before != flows.get((who, denom), 0)
        ]
        self.fees += fees_paid(results) - burned_fees(results, self.burn_account)
        held = after.get((self.fee_collector, BOND_DENOM), 0)
        fee_problems = (
            [f"fee collector holds {held}{BOND_DENOM}, fees paid add up to {self.fees}"]
            if held != self.fees
            else []
        )
        self.balances = after
        return {"ledger/coin_flow": flow_problems, "ledger/fees": fee_problems}
