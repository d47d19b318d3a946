"""The ai AppModule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.ai import genesis, keys, msgs, queries, rest
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.msgs import ObjectRegistry
from aivm.modules.ai.params import AiParams
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.modules.storage.keeper import StorageKeeper
from aivm.types.protogen import ai_pb2


class AiModule:
    """Model registry, lifecycle, DSM inference and execution records."""

    name = "ai"
    consensus_version = 1

    def __init__(
        self,
        keeper: AiKeeper,
        bank: BankKeeper,
        objects: ObjectRegistry | None,
        authority: AuthorityKeeper,
    ) -> None:
        self.keeper = keeper
        self.bank = bank
        self.objects = objects
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """Register, set status, transfer, infer, update params."""
        update = update_params_route(
            ai_pb2.MsgUpdateParams,
            ai_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper, self.bank, self.objects), update]

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

    def begin_block(self, ctx: Context) -> None:
        """A block starts executing: no program has been loaded by it yet."""
        self.keeper.begin_block()


def _parse_params(ctx: Context | None, proto: ai_pb2.Params) -> AiParams:
    return AiParams.from_proto(proto)


def _build(keepers: Keepers) -> tuple[AiModule, AiKeeper]:
    keeper = AiKeeper()
    module = AiModule(
        keeper,
        keepers.get("bank", BankKeeper),
        keepers.find("storage", StorageKeeper),
        keepers.get("authority", AuthorityKeeper),
    )
    return module, keeper


DEFINITION = ModuleDefinition(
    name="ai",
    store_key="ai",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    rest_routes=rest.ROUTES,
)
