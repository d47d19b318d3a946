"""The params authority: who may sign ``MsgUpdateParams`` for every module."""

from __future__ import annotations

from aivm.modules.addr import addr_str
from aivm.modules.authority import keys
from aivm.modules.authority.errors import ErrInvalidSigner
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types.address import module_address


class AuthorityKeeper:
    """Reads and checks the params authority kept in state."""

    default = module_address(keys.GOV_MODULE)
    """The authority when genesis names none: the gov module account (no key can sign for it
    until a governance module exists, so params are then fixed)."""

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get(self, ctx: Context) -> bytes:
        """The authority's address."""
        return self._store(ctx).get(keys.AUTHORITY) or self.default

    def set(self, ctx: Context, address: bytes) -> None:
        """Set the authority (genesis)."""
        self._store(ctx).set(keys.AUTHORITY, address)

    def check(self, ctx: Context, claimed: str) -> None:
        """Raise the SDK's ``gov`` code 12 unless ``claimed`` is the authority's address."""
        expected = addr_str(self.get(ctx))
        if claimed != expected:
            raise ErrInvalidSigner.wrap(f"invalid authority; expected {expected}, got {claimed}")
