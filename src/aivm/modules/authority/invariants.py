"""authority invariants, checked by the simulation and the devnet's crisis check."""

from __future__ import annotations

from aivm.modules.authority.module import AuthorityModule
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant


def invariants(module: AuthorityModule) -> dict[str, Invariant]:
    """address, by name."""

    def address(ctx: Context) -> list[str]:
        """The authority is a 20- or 32-byte address."""
        authority = module.keeper.get(ctx)
        if len(authority) not in (20, 32):
            return [f"the authority is {len(authority)} bytes long"]
        return []

    return {"address": address}
