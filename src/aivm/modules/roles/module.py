"""The roles AppModule: messages, queries, genesis, and the block hooks.

BeginBlock moves the roles' share of the fee collector to the active operators, split by
selection score and the work they recorded since the previous BeginBlock (the module
is listed after ``mint``, so the collector holds the previous block's fees and this block's
inflation, and before ``distribution``, which takes the rest). EndBlock pays back the
unbonding entries that completed and recomputes the active sets whose candidates changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)
from aivm.modules.roles import genesis, keys, msgs, queries, rest, roles_pb2
from aivm.modules.roles.keeper import RolesKeeper, UnbondingTimeSource
from aivm.modules.roles.params import RolesParams, params_from_proto


class RolesModule:
    """Validator roles: bonds, active sets, role slashing and role rewards."""

    name = "roles"
    consensus_version = 1

    def __init__(self, keeper: RolesKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """The role messages and MsgUpdateParams."""
        update = update_params_route(
            roles_pb2.MsgUpdateParams,
            roles_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, Operator, Operators, ActiveSet, SlashRecords, Rewards, ReasonCodes,
        WorkCounters."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Route the roles' share of the fee collector to the active operators."""
        self.keeper.allocate_rewards(ctx)

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Complete due unbonding entries; recompute the changed active sets."""
        self.keeper.complete_unbonding(ctx)
        self.keeper.update_active_sets(ctx)
        return []

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no operators."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check the records (see :mod:`aivm.modules.roles.genesis`)."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the state and check the roles account holds what it owes."""
        genesis.init_genesis(self.keeper, ctx, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the state back."""
        return genesis.export_genesis(self.keeper, ctx)


def _parse_params(ctx: Context | None, proto: roles_pb2.Params) -> RolesParams:
    return params_from_proto(proto)


def _build(keepers: Keepers) -> tuple[RolesModule, RolesKeeper]:
    staking = keepers.find("staking", object)
    source = cast(UnbondingTimeSource, staking) if hasattr(staking, "get_params") else None
    keeper = RolesKeeper(keepers.get("bank", BankKeeper), source)
    return RolesModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="roles",
    store_key="roles",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ("burner",)},
    rest_routes=rest.ROUTES,
)
