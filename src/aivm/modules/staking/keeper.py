"""StakingKeeper: the only code that reads or writes the staking state.

Methods for the queries, REST and CLI code (stable names):

- ``get_validator_proto(ctx, val_addr) -> pb.staking.Validator | None``
- ``iterate_validator_protos(ctx) -> Iterator[pb.staking.Validator]`` (operator order)
- ``get_delegation_proto(ctx, del_addr, val_addr) -> pb.staking.Delegation | None``
- ``iterate_all_delegations(ctx) -> Iterator[pb.staking.Delegation]`` (delegator, validator)
- ``iterate_delegation_protos_of(ctx, del_addr)``, ``iterate_validator_delegation_protos(ctx, val)``
- ``get_unbonding_delegation(ctx, del_addr, val_addr) -> pb.staking.UnbondingDelegation | None``
- ``iterate_unbonding_delegations_of(ctx, del_addr)``
- ``iterate_validator_unbonding_delegations(ctx, val_addr)``
- ``get_redelegation(ctx, del_addr, src, dst) -> pb.staking.Redelegation | None``
- ``iterate_redelegations_of(ctx, del_addr)``, ``iterate_redelegations_from(ctx, src_val)``
- ``get_historical_info(ctx, height) -> pb.staking.HistoricalInfo | None``
- ``get_params_proto(ctx) -> pb.staking.Params``
- ``not_bonded_tokens(ctx) -> int``, ``total_bonded_tokens(ctx) -> int``
- everything in :class:`aivm.modules.staking.api.StakingReader`

State transitions (delegate, unbond, redelegate, slash, validator-set updates) live in
``delegation.py``, ``slash.py`` and ``endblock.py``; they use the accessors here.
"""

from __future__ import annotations

from aivm.modules.framework import Context
from aivm.modules.staking import slash as slashing
from aivm.modules.staking.state import (
    INDEX_VALUE,
    StakingState,
    consensus_power,
    delegation_to_api,
    operator_of,
    potential_power,
    shares_of,
    to_api,
    tokens_of,
)
from aivm.types.dec import Dec

__all__ = [
    "INDEX_VALUE",
    "StakingKeeper",
    "consensus_power",
    "delegation_to_api",
    "operator_of",
    "potential_power",
    "shares_of",
    "to_api",
    "tokens_of",
]


class StakingKeeper(StakingState):
    """The staking keeper: the store accessors of :class:`StakingState` plus slash and jail
    (the :class:`aivm.modules.staking.api.StakingReader` other modules use)."""

    def slash(
        self, ctx: Context, cons_addr: bytes, infraction_height: int, power: int, slash_factor: Dec
    ) -> int:
        """SDK ``Slash`` (see :func:`aivm.modules.staking.slash.slash`)."""
        return slashing.slash(self, ctx, cons_addr, infraction_height, power, slash_factor)

    def jail(self, ctx: Context, cons_addr: bytes) -> None:
        """Jail the validator with this consensus address (it leaves the set at EndBlock)."""
        slashing.jail(self, ctx, cons_addr)

    def unjail(self, ctx: Context, cons_addr: bytes) -> None:
        """Unjail the validator with this consensus address."""
        slashing.unjail(self, ctx, cons_addr)
