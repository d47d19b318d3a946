"""The ai AppModule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.ai import genesis, msgs, queries
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.msgs import ObjectRegistry
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, MsgRoute, QueryRoute


class AiModule:
    """Model registry, lifecycle, DSM inference and execution records."""

    name = "ai"

    def __init__(self, keeper: AiKeeper, bank: BankKeeper, objects: ObjectRegistry | None) -> None:
        self.keeper = keeper
        self.bank = bank
        self.objects = objects

    def msg_routes(self) -> Sequence[MsgRoute]:
        """Register, set status, transfer, infer."""
        return msgs.msg_routes(self.keeper, self.bank, self.objects)

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, model, version, artifact, models, execution."""
        return queries.query_routes(self.keeper)

    def default_genesis(self) -> dict[str, Any]:
        """Default params."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check the ai genesis."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the ai genesis."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the ai state back."""
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self) -> None:
        """A block starts executing: no program has been loaded by it yet."""
        self.keeper.begin_block()
