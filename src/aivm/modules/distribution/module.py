"""The distribution AppModule: fee and inflation rewards by the F1 scheme."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.distribution import genesis, keys, msgs, queries, rest
from aivm.modules.distribution.hooks import DistributionHooks
from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.distribution.params import DistributionParams, params_from_proto
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.types import pb


class DistributionModule:
    """Allocation in BeginBlock, reward and commission withdrawals, the community pool."""

    name = "distribution"
    consensus_version = 1

    def __init__(self, keeper: DistributionKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """The four SDK messages and MsgUpdateParams."""
        update = update_params_route(
            pb.distribution_tx.MsgUpdateParams,
            pb.distribution_tx.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """The SDK's distribution query service."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Allocate the fee collector's balance to the last commit's validators."""
        self.keeper.begin_block(ctx)

    def default_genesis(self) -> dict[str, Any]:
        """Default params, empty pool."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Params, addresses and amounts."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the state; check the module account balance."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the state back."""
        return genesis.export_genesis(ctx, self.keeper)


def _parse_params(ctx: Context | None, proto: pb.distribution.Params) -> DistributionParams:
    return params_from_proto(proto)


def _build(keepers: Keepers) -> tuple[DistributionModule, DistributionKeeper]:
    from aivm.modules.staking.keeper import StakingKeeper

    staking = keepers.get("staking", StakingKeeper)
    keeper = DistributionKeeper(keepers.get("bank", BankKeeper), staking)
    staking.add_hooks(DistributionHooks(keeper))
    return DistributionModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="distribution",
    store_key="distribution",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ()},
    rest_routes=rest.ROUTES,
)
