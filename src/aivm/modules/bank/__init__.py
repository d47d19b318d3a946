"""bank: balances, transfers, total supply, denom metadata and send params."""

from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.bank.module import BankModule
from aivm.modules.bank.params import BankParams

__all__ = ["BankKeeper", "BankModule", "BankParams"]
