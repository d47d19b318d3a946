"""mint: the Cosmos SDK's inflation, steering toward a bonded-ratio goal, minted each block."""

from aivm.modules.mint.keeper import MintKeeper
from aivm.modules.mint.module import DEFINITION, MintModule
from aivm.modules.mint.params import Minter, MintParams

__all__ = ["DEFINITION", "MintKeeper", "MintModule", "MintParams", "Minter"]
