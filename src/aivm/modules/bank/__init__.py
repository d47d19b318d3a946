"""bank: balances, transfers, total supply, denom metadata and send params."""

from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.bank.module import DEFINITION, BankModule
from aivm.modules.bank.params import BankParams

__all__ = ["DEFINITION", "BankKeeper", "BankModule", "BankParams"]
