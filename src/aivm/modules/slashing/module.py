"""The slashing AppModule: liveness and double-sign punishment in BeginBlock, MsgUnjail,
MsgUpdateParams, queries and genesis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.modules.slashing import genesis, keys, msgs, queries, rest
from aivm.modules.slashing.keeper import SlashingHooks, SlashingKeeper
from aivm.modules.slashing.params import SlashingParams
from aivm.modules.staking.keeper import StakingKeeper
from aivm.types import pb


class SlashingModule:
    """Downtime and double-sign slashing, jailing and unjailing."""

    name = "slashing"
    consensus_version = 1

    def __init__(self, keeper: SlashingKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgUnjail and MsgUpdateParams."""
        update = update_params_route(
            pb.slashing_tx.MsgUpdateParams,
            pb.slashing_tx.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, SigningInfo, SigningInfos."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Every vote of the last commit through the liveness check (SDK slashing
        BeginBlocker), then every piece of evidence as equivocation (SDK evidence
        BeginBlocker). Work is one signing info and one bitmap chunk per vote."""
        params = self.keeper.get_params(ctx)
        for vote in ctx.header.last_commit:
            self.keeper.handle_validator_signature(ctx, params, vote)
        for item in ctx.header.misbehavior:
            self.keeper.handle_misbehavior(ctx, params, item)

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no signing infos."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check params, addresses, windows and counters."""
        genesis.parse_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params, signing infos and missed bits."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the slashing state back."""
        return genesis.export_genesis(ctx, self.keeper)


def _parse_params(ctx: Context | None, proto: pb.slashing.Params) -> SlashingParams:
    return SlashingParams.from_proto(proto)


def _build(keepers: Keepers) -> tuple[SlashingModule, SlashingKeeper]:
    staking = keepers.get("staking", StakingKeeper)
    keeper = SlashingKeeper(staking)
    staking.add_hooks(SlashingHooks(keeper))
    return SlashingModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="slashing",
    store_key="slashing",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    rest_routes=rest.ROUTES,
)
