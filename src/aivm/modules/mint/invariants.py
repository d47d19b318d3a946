"""mint invariants, checked by the simulation and the devnet's crisis check after every block:
every minted coin reached the fee collector (the ``mint`` account is empty: the supply grew by
what the fee collector received), and the minter is within [0, 1] and non-negative. That the
supply grows by exactly the block provision each block is checked by
``tests/integration/test_mint_module.py`` (other modules burn coins in the same block)."""

from __future__ import annotations

from aivm.modules.framework import Context
from aivm.modules.mint import keys
from aivm.modules.mint.module import MintModule
from aivm.modules.simulation import Invariant


def invariants(module: MintModule) -> dict[str, Invariant]:
    """minted_passed_on and minter_non_negative, by name."""
    keeper = module.keeper

    def minted_passed_on(ctx: Context) -> list[str]:
        """The block provision went on from the mint account to the fee collector."""
        address = keeper.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]
        held = keeper.bank.get_all_balances(ctx, address)
        return [f"the mint account holds {held} after BeginBlock"] if len(held) else []

    def minter_non_negative(ctx: Context) -> list[str]:
        """Inflation and annual provisions are never negative; inflation is at most 1."""
        minter = keeper.get_minter(ctx)
        problems = []
        if minter.inflation.is_negative() or minter.annual_provisions.is_negative():
            problems.append(f"negative minter {minter}")
        if minter.inflation.bigint() > 10**18:
            problems.append(f"inflation {minter.inflation} above 1")
        return problems

    return {"minted_passed_on": minted_passed_on, "minter_non_negative": minter_non_negative}
