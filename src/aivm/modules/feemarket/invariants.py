"""feemarket invariants, checked by the simulation and the devnet's crisis check after every
block: the price lies in [floor, ceiling] while the market runs, and the burn account is empty
(EndBlock burned what the block's txs put in it)."""

from __future__ import annotations

from aivm.modules.feemarket import keys
from aivm.modules.feemarket.module import FeeMarketModule
from aivm.modules.feemarket.params import dec_text
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.types.coin import BOND_DENOM


def invariants(module: FeeMarketModule) -> dict[str, Invariant]:
    """price_in_bounds and burn_account_empty, by name."""
    keeper = module.keeper

    def price_in_bounds(ctx: Context) -> list[str]:
        """floor ≤ base price ≤ ceiling when enabled."""
        params = keeper.get_params(ctx)
        price = keeper.get_state(ctx).base_gas_price
        if not params.enabled or params.clamp(price) == price:
            return []
        return [
            f"base gas price {dec_text(price)} outside [{dec_text(params.min_base_gas_price)}, "
            f"{dec_text(params.max_base_gas_price)}]"
        ]

    def burn_account_empty(ctx: Context) -> list[str]:
        """No base fee is left unburned after a block."""
        address = keeper.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]
        left = keeper.bank.get_balance(ctx, address, BOND_DENOM)
        return [f"the feemarket account holds {left}{BOND_DENOM} after EndBlock"] if left else []

    return {"price_in_bounds": price_in_bounds, "burn_account_empty": burn_account_empty}
