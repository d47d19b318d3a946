"""The staking module (Cosmos SDK ``x/staking`` semantics): validators, delegations,
unbonding and redelegation, the CometBFT validator set from EndBlock."""

from aivm.modules.staking.keeper import StakingKeeper
from aivm.modules.staking.module import DEFINITION, StakingModule

__all__ = ["DEFINITION", "StakingKeeper", "StakingModule"]
