"""distribution: fee and inflation rewards to validators and delegators (F1), commission,
community tax and pool, withdraw addresses (Cosmos SDK v0.50 ``x/distribution``)."""

from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.distribution.module import DEFINITION, DistributionModule

__all__ = ["DEFINITION", "DistributionKeeper", "DistributionModule"]
