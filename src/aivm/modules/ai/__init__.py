"""ai module: model registry, lifecycle, on-chain (DSM) inference and execution records."""

from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.module import AiModule

__all__ = ["AiKeeper", "AiModule"]
