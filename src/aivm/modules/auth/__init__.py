"""auth: accounts, account numbers, sequences, public keys and the auth params."""

from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.auth.module import DEFINITION, AuthModule
from aivm.modules.auth.params import AuthParams
from aivm.modules.auth.types import Account

__all__ = ["DEFINITION", "Account", "AccountKeeper", "AuthModule", "AuthParams"]
