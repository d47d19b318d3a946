"""Random mint operations for the simulation: ``MsgUpdateParams`` only (the SDK's mint has no
user messages), following ``authority.simulation``: bounds and goal moved a little, and
deliberately invalid params (min above max, goal 0, blocks_per_year 0, a negative rate),
signed as the authority or, one time in eight, as someone else (``gov`` 12)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.mint import types
from aivm.modules.mint.module import MintModule
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types import pb
from aivm.types.dec import Dec


def operations(module: MintModule) -> dict[str, WeightedOperation]:
    """update_params, by name."""
    keeper = module.keeper

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """Valid params near the current ones, or one invalid field."""
        params = keeper.get_params(env.ctx).to_proto()
        percent = scaled(env, 67, 10)
        params.goal_bonded = Dec.from_int(min(percent, 100)).quo_int(100).to_proto_str()
        params.blocks_per_year = scaled(env, params.blocks_per_year, 1)
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            params.inflation_min, params.inflation_max = params.inflation_max, "10000000000000000"
        elif roll == 1:
            params.goal_bonded = "0"
        elif roll == 2:
            params.blocks_per_year = 0
        elif roll == 3:
            params.inflation_rate_change = "-1"
        authority = claimed_authority(env, module.authority)
        return [types.MsgUpdateParams(authority=authority, params=params)]

    return {"update_params": WeightedOperation(1, update_params)}
