"""The feemarket AppModule: the base gas price moves at EndBlock; the ante step requires it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.feemarket import genesis, keys, msgs, queries, rest
from aivm.modules.feemarket.keeper import FeeMarketKeeper
from aivm.modules.feemarket.params import dec_text
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)

EVENT_BASE_GAS_PRICE = "aivm.feemarket.v1.EventBaseGasPrice"


class FeeMarketModule:
    """A dynamic minimum fee: EIP-1559-style base gas price, floor and ceiling as params."""

    name = "feemarket"
    consensus_version = 1

    def __init__(self, keeper: FeeMarketKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgUpdateParams."""
        return [msgs.update_params(self.keeper, self.authority)]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, State, GasPrice."""
        return queries.query_routes(self.keeper)

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Burn the block's base fees and move the price from the block's gas used."""
        state = self.keeper.end_block(ctx)
        if state is not None:
            ctx.emit(
                EVENT_BASE_GAS_PRICE,
                ("base_gas_price", dec_text(state.base_gas_price)),
                ("gas_used", str(state.last_block_gas_used)),
            )
        return []

    def default_genesis(self) -> dict[str, Any]:
        """Market off (floor 0, price 0)."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Params valid; with the market on, the price within [floor, ceiling]."""
        genesis.parse_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params and state."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Params and state."""
        return genesis.export_genesis(ctx, self.keeper)


def _build(keepers: Keepers) -> tuple[FeeMarketModule, FeeMarketKeeper]:
    keeper = FeeMarketKeeper(keepers.get("bank", BankKeeper))
    return FeeMarketModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="feemarket",
    store_key="feemarket",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ("burner",)},
    rest_routes=rest.ROUTES,
)
