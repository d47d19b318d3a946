"""slashing: liveness (downtime) and double-sign punishment, jailing and MsgUnjail."""

from aivm.modules.slashing.keeper import SlashingKeeper
from aivm.modules.slashing.module import DEFINITION, SlashingModule
from aivm.modules.slashing.params import SlashingParams

__all__ = ["DEFINITION", "SlashingKeeper", "SlashingModule", "SlashingParams"]
