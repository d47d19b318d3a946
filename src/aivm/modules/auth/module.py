"""The auth AppModule: wires keeper, queries and genesis together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.auth import genesis, queries
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.framework import Context, MsgRoute, QueryRoute


class AuthModule:
    """auth has no transaction messages yet; params change through governance later."""

    name = "auth"

    def __init__(self, keeper: AccountKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        """None."""
        return []

    def query_routes(self) -> Sequence[QueryRoute]:
        """Account, Accounts, Params, ModuleAccountByName."""
        return queries.query_routes(self.keeper)

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no accounts."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check params and accounts."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params and accounts."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read params and accounts back."""
        return genesis.export_genesis(ctx, self.keeper)
