"""The compute AppModule: providers, jobs, payment channels and hardware checks — messages,
queries, genesis, and EndBlock (auctions, assignment and job deadlines, matching, settlement,
reference prices, channel payouts, hardware-check tallies and schedule, then exits).

Listed after ``ai`` (offers and jobs name ai model versions, which must exist and run
off-chain). No BeginBlock. EndBlock reads only due queue entries and at most
``max_match_jobs_per_block`` / ``max_settlements_per_block`` jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.compute import compute_pb2, genesis, keys, msgs, queries, rest
from aivm.modules.compute.channels import (
    CHANNEL_REST_ROUTES,
    ChannelKeeper,
    channel_msg_routes,
    channel_query_routes,
)
from aivm.modules.compute.hardware_checks import (
    HARDWARE_REST_ROUTES,
    HardwareChecks,
    hardware_msg_routes,
    hardware_query_routes,
)
from aivm.modules.compute.job_msgs import job_msg_routes
from aivm.modules.compute.job_queries import JOB_REST_ROUTES, job_query_routes
from aivm.modules.compute.jobs import JobKeeper
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
from aivm.modules.roles.keeper import RolesKeeper


class ComputeModule:
    """Compute providers, jobs and payment channels."""

    name = "compute"
    consensus_version = 1

    def __init__(
        self,
        keeper: ComputeKeeper,
        authority: AuthorityKeeper,
        accounts: AccountKeeper,
        roles: RolesKeeper | None = None,
    ) -> None:
        """``roles``: the roles keeper when the app has it (hardware-check committees)."""
        self.keeper = keeper
        self.authority = authority
        self.jobs = JobKeeper(keeper)
        keeper.jobs = self.jobs
        self.channels = ChannelKeeper(
            keeper.bank, accounts, keeper.module_address, keeper.get_params, keeper.provider_exists
        )
        self.hardware = HardwareChecks(keeper, roles)

    def msg_routes(self) -> Sequence[MsgRoute]:
        """The provider messages and MsgUpdateParams."""
        update = update_params_route(
            compute_pb2.MsgUpdateParams,
            compute_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [
            *msgs.msg_routes(self.keeper),
            *job_msg_routes(self.jobs),
            *channel_msg_routes(self.channels),
            *hardware_msg_routes(self.hardware),
            update,
        ]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Providers (Params, Provider, Providers, Asks, SlashRecords, ReasonCodes), jobs
        (Job, Jobs, ProviderStats, ReferencePrice), channels (Channel, Channels) and hardware
        checks (HardwareChallenge, HardwareChallenges)."""
        return [
            *queries.query_routes(self.keeper),
            *job_query_routes(self.jobs),
            *channel_query_routes(self.channels),
            *hardware_query_routes(self.hardware),
        ]

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Jobs (auctions, deadlines, matching, settlement, reference prices), channel
        payouts, then the exits due at this block's time."""
        self.jobs.end_block(ctx)
        self.channels.end_block(ctx)
        if self.hardware.end_block(ctx) and self.hardware.roles is not None:
            # roles' EndBlock ran before this one: re-select the sets the slashes changed
            self.hardware.roles.update_active_sets(ctx)
        self.keeper.complete_exits(ctx)
        return []

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no providers."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check the records (see :mod:`aivm.modules.compute.genesis`)."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the state and check the compute account holds exactly what it owes."""
        genesis.init_genesis(self, ctx, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the state back."""
        return genesis.export_genesis(self, ctx)


def _parse_params(ctx: Context | None, proto: compute_pb2.Params) -> ComputeParams:
    return params_from_proto(proto)


def _build(keepers: Keepers) -> tuple[ComputeModule, ComputeKeeper]:
    staking = keepers.find("staking", object)
    source = cast(UnbondingTimeSource, staking) if hasattr(staking, "get_params") else None
    bank = keepers.get("bank", BankKeeper)
    keeper = ComputeKeeper(bank, keepers.get("ai", AiKeeper), source)
    module = ComputeModule(
        keeper,
        keepers.get("authority", AuthorityKeeper),
        bank.accounts,
        keepers.find("roles", RolesKeeper),
    )
    return module, keeper


DEFINITION = ModuleDefinition(
    name="compute",
    store_key="compute",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ("burner",)},
    rest_routes=(*rest.ROUTES, *JOB_REST_ROUTES, *CHANNEL_REST_ROUTES, *HARDWARE_REST_ROUTES),
)
