"""Random feemarket operations for the simulation: ``MsgUpdateParams`` only (the market has no
user messages), valid and deliberately invalid, signed as the authority (or, one time in
eight, as someone else: ``gov`` 12). The default simulation genesis keeps the market off and
these updates keep it off too, so the other modules' random fees stay valid; a run whose
genesis turns it on pays the base price (``aivm.sim.runner``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.module import FeeMarketModule
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types import pb


def operations(module: FeeMarketModule) -> dict[str, WeightedOperation]:
    """update_params, by name."""
    keeper = module.keeper

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """The gas target moved within ±25%, the burn switch flipped; sometimes invalid (a
        floor above the ceiling, a change rate above 1, a malformed decimal)."""
        params = keeper.get_params(env.ctx).to_proto()
        params.block_gas_target = scaled(env, params.block_gas_target, 1)
        params.burn_base_fee = env.rng.randrange(0, 2) == 0
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            params.min_base_gas_price, params.max_base_gas_price = "2", "1"
        elif roll == 1:
            params.max_change_rate = "1.5"
        elif roll == 2:
            params.min_base_gas_price = env.rng.choice(("-1", "0.1.2", "1e3", "٣", ""))
        authority = claimed_authority(env, module.authority)
        return [feemarket_pb2.MsgUpdateParams(authority=authority, params=params)]

    return {"update_params": WeightedOperation(1, update_params)}
