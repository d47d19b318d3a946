"""The compute AppModule (first slice: the provider registry): messages, queries, genesis,
and EndBlock, which returns the collateral of the exits that completed.

Listed after ``ai`` (offers name ai model versions, which must exist and run off-chain).
No BeginBlock. EndBlock reads only the due entries of the exit queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.compute import compute_pb2, genesis, keys, msgs, queries, rest
from aivm.modules.compute.keeper import ComputeKeeper, UnbondingTimeSource
from aivm.modules.compute.params import ComputeParams, params_from_proto
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)


class ComputeModule:
    """Compute providers: registry, offers index, exits, slashing and jailing API."""

    name = "compute"
    consensus_version = 1

    def __init__(self, keeper: ComputeKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """The provider messages and MsgUpdateParams."""
        update = update_params_route(
            compute_pb2.MsgUpdateParams,
            compute_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, Provider, Providers, Asks, SlashRecords, ReasonCodes."""
        return queries.query_routes(self.keeper)

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Return the collateral of the exits due at this block's time."""
        self.keeper.complete_exits(ctx)
        return []

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no providers."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check the records (see :mod:`aivm.modules.compute.genesis`)."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the state and check the compute account holds the collateral."""
        genesis.init_genesis(self.keeper, ctx, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the state back."""
        return genesis.export_genesis(self.keeper, ctx)


def _parse_params(ctx: Context | None, proto: compute_pb2.Params) -> ComputeParams:
    return params_from_proto(proto)


def _build(keepers: Keepers) -> tuple[ComputeModule, ComputeKeeper]:
    staking = keepers.find("staking", object)
    source = cast(UnbondingTimeSource, staking) if hasattr(staking, "get_params") else None
    keeper = ComputeKeeper(keepers.get("bank", BankKeeper), keepers.get("ai", AiKeeper), source)
    return ComputeModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="compute",
    store_key="compute",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ("burner",)},
    rest_routes=rest.ROUTES,
)
