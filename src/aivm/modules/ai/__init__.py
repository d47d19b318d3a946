"""ai module: model registry, lifecycle, on-chain (DSM) inference and execution records."""

from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.module import DEFINITION, AiModule

__all__ = ["DEFINITION", "AiKeeper", "AiModule"]
