"""The staking AppModule: validators, delegations, the CometBFT validator set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.auth import AccountKeeper
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
from aivm.modules.staking import endblock, genesis, keys, msgs, queries, rest
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, StakingParamValues, cons_address
from aivm.modules.staking.keeper import StakingKeeper
from aivm.modules.staking.params import parse_params
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest

POOL_PERMISSIONS = ("burner", "staking")


class StakingModule:
    """Cosmos SDK ``x/staking``: validators, delegations, unbonding, redelegation."""

    name = "staking"
    consensus_version = 1

    def __init__(self, keeper: StakingKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority
        self._pending: list[pb.staking_tx.MsgCreateValidator] = []
        self._exported = False

    def msg_routes(self) -> Sequence[MsgRoute]:
        """The six staking messages and MsgUpdateParams."""
        update = update_params_route(
            pb.staking_tx.MsgUpdateParams,
            pb.staking_tx.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self._update_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def _update_params(self, ctx: Context, params: StakingParamValues) -> None:
        """MsgUpdateParams: store ``params``; the bond denom may only change while no
        validator exists (the pools hold the old denom: every later pool move and payout
        would fail, and with them every EndBlock)."""
        if params.bond_denom != self.keeper.bond_denom(ctx) and any(
            True for _ in self.keeper.iterate_validator_protos(ctx)
        ):
            raise ErrInvalidRequest.wrap("the bond denom cannot change while validators exist")
        self.keeper.set_params(ctx, params)

    def query_routes(self) -> Sequence[QueryRoute]:
        """``cosmos.staking.v1beta1.Query``."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Record this height's header and bonded set (historical info)."""
        endblock.track_historical_info(self.keeper, ctx)

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Validator-set updates, then mature validators, unbondings and redelegations."""
        return endblock.block_validator_updates(self.keeper, ctx)

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no validators."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """SDK ValidateGenesis plus the gen_txs' stateless checks."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the state and check the pools; keep the gen_txs for ``genesis_validators``."""
        state = genesis.parse_state(data)
        genesis.init_genesis(ctx, self.keeper, state)
        genesis.init_extras(ctx, self.keeper, data)
        self._pending = genesis.parse_gen_txs(data)
        self._exported = state.exported

    def genesis_validators(
        self, ctx: Context, requested: Sequence[ValidatorUpdate]
    ) -> Sequence[ValidatorUpdate]:
        """Deliver the gen_txs, then return the initial set: the exported last powers of an
        exported genesis, else the validators that bond now. When that set is empty,
        genesis.json's validators (``requested``) stand: their consensus keys are reserved, so
        that no MsgCreateValidator can take one over (and move or remove its power)."""
        pending, self._pending = self._pending, []
        for msg in pending:
            msgs.handle_create_validator(self.keeper, ctx, msg)
        owns_none = not any(True for _ in self.keeper.iterate_validator_protos(ctx))
        if not pending and requested and owns_none:
            for update in requested:
                self.keeper.reserve_consensus_key(ctx, cons_address(update.pub_key.ed25519))
            return []
        if self._exported and not pending:
            return [
                endblock.abci_update(validator, power)
                for operator, power in self.keeper.iterate_last_validator_powers(ctx)
                if (validator := self.keeper.get_validator_proto(ctx, operator)) is not None
            ]
        return endblock.apply_and_return_validator_set_updates(self.keeper, ctx)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """The staking state, ``exported: true``."""
        return genesis.export_genesis(ctx, self.keeper)


def _parse_params(ctx: Context | None, proto: pb.staking.Params) -> StakingParamValues:
    return parse_params(proto)


def _build(keepers: Keepers) -> tuple[StakingModule, StakingKeeper]:
    keeper = StakingKeeper(keepers.get("bank", BankKeeper), keepers.get("auth", AccountKeeper))
    return StakingModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="staking",
    store_key="staking",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={BONDED_POOL: POOL_PERMISSIONS, NOT_BONDED_POOL: POOL_PERMISSIONS},
    rest_routes=rest.ROUTES,
)
"""staking: validators, delegations and the CometBFT validator set."""
