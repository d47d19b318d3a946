"""feemarket: AIVM's dynamic minimum fee (an EIP-1559-style base gas price in state)."""

from aivm.modules.feemarket.keeper import FeeMarketKeeper
from aivm.modules.feemarket.module import DEFINITION, FeeMarketModule
from aivm.modules.feemarket.params import FeeMarketParams, FeeMarketState

__all__ = ["DEFINITION", "FeeMarketKeeper", "FeeMarketModule", "FeeMarketParams", "FeeMarketState"]
