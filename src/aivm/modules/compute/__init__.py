"""compute: the compute marketplace's provider registry (first slice) — providers with
collateral, declared hardware and tier, runtimes, offers indexed by (model, version, tier,
price), heartbeats, pause/resume/exit, and the slashing and jailing API (see README.md)."""

from aivm.modules.compute.keeper import ComputeKeeper
from aivm.modules.compute.module import DEFINITION, ComputeModule

__all__ = ["DEFINITION", "ComputeKeeper", "ComputeModule"]
