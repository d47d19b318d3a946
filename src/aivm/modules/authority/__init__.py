"""authority: the one address allowed to change module params (``MsgUpdateParams``)."""

from aivm.modules.authority.keeper import AuthorityKeeper
from aivm.modules.authority.module import DEFINITION, AuthorityModule

__all__ = ["DEFINITION", "AuthorityKeeper", "AuthorityModule"]
