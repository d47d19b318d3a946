"""The bank AppModule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.bank import genesis, msgs, queries
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, MsgRoute, QueryRoute


class BankModule:
    """Transfers, balances, supply and metadata."""

    name = "bank"

    def __init__(self, keeper: BankKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgSend and MsgMultiSend."""
        return msgs.msg_routes(self.keeper)

    def query_routes(self) -> Sequence[QueryRoute]:
        """Balance, AllBalances, TotalSupply, SupplyOf, Params, metadata."""
        return queries.query_routes(self.keeper)

    def default_genesis(self) -> dict[str, Any]:
        """Default params and CGPT metadata."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check addresses, coins and supply."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write balances, supply, metadata and params."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the bank state back."""
        return genesis.export_genesis(ctx, self.keeper)
