"""The verify AppModule: verification sessions of compute results (BeginBlock: draws;
EndBlock: tallies), commit/reveal messages, the policy and trail queries, genesis.

Listed after ``compute`` (it registers itself as the compute module's verification hooks) and
uses ``roles`` (the AI role's active set, slashing, work) when the app has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.compute.keeper import ComputeKeeper
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.verify import genesis, keys, msgs, queries, rest, verify_pb2
from aivm.modules.verify.attestation import Attestations
from aivm.modules.verify.keeper import VerifyKeeper
from aivm.modules.verify.optimistic import MODULE_ACCOUNT
from aivm.modules.verify.params import VerifyParams, params_from_proto


class VerifyModule:
    """Verification of off-chain results before payment."""

    name = "verify"
    consensus_version = 1

    def __init__(self, keeper: VerifyKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """Commit, reveal and MsgUpdateParams."""
        update = update_params_route(
            verify_pb2.MsgUpdateParams,
            verify_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, Policy, Session, Duties, Trail."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Draw the sessions due (sampling rolls and committees)."""
        self.keeper.begin_block(ctx)

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Tally the rounds whose reveal deadline is this block."""
        self.keeper.end_block(ctx)
        return []

    def default_genesis(self) -> dict[str, Any]:
        """Default params (the policy), no sessions."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Params valid, one session and one trail per job."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params, sessions (with their queue and duty entries) and trails."""
        genesis.init_genesis(self.keeper, ctx, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the state back."""
        return genesis.export_genesis(self.keeper, ctx)


def _parse_params(ctx: Context | None, proto: verify_pb2.Params) -> VerifyParams:
    return params_from_proto(proto)


def _build(keepers: Keepers) -> tuple[VerifyModule, VerifyKeeper]:
    compute = keepers.get("compute", ComputeKeeper)
    ai = keepers.get("ai", AiKeeper)
    roles = keepers.find("roles", RolesKeeper)
    authority = keepers.get("authority", AuthorityKeeper)
    attestations = Attestations(ai, compute.bank.accounts, authority, roles)
    keeper = VerifyKeeper(compute, ai, roles, attestations)
    keeper.jobs = compute.jobs
    compute.hooks = keeper
    return VerifyModule(keeper, authority), keeper


DEFINITION = ModuleDefinition(
    name="verify",
    store_key="verify",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={MODULE_ACCOUNT: ()},
    rest_routes=rest.ROUTES,
)
