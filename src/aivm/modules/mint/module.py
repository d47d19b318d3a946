"""The mint AppModule: the SDK's inflation, minted every BeginBlock into the fee collector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.modules.mint import genesis, keys, msgs, queries, rest
from aivm.modules.mint.keeper import MintKeeper
from aivm.modules.staking.api import StakingReader

EVENT_MINT = "mint"


class MintModule:
    """Inflation toward a bonded-ratio goal (Cosmos SDK ``x/mint``)."""

    name = "mint"
    consensus_version = 1

    def __init__(self, keeper: MintKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgUpdateParams."""
        return [msgs.update_params(self.keeper, self.authority)]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, Inflation, AnnualProvisions."""
        return queries.query_routes(self.keeper)

    def begin_block(self, ctx: Context) -> None:
        """Mint the block provision; emit the SDK's ``mint`` event."""
        minted = self.keeper.mint_block_provision(ctx)
        ctx.emit(
            EVENT_MINT,
            ("bonded_ratio", str(minted.bonded_ratio)),
            ("inflation", str(minted.minter.inflation)),
            ("annual_provisions", str(minted.minter.annual_provisions)),
            ("amount", str(minted.amount)),
        )

    def default_genesis(self) -> dict[str, Any]:
        """The SDK's defaults (inflation 13%, bounds 7–20%, goal 67% bonded), in ucgpt."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """SDK ``ValidateGenesis``."""
        genesis.parse_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write minter and params."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Minter and params."""
        return genesis.export_genesis(ctx, self.keeper)


def _build(keepers: Keepers) -> tuple[MintModule, MintKeeper]:
    # any keeper named "staking" implements StakingReader (aivm.modules.staking.api)
    staking = cast(StakingReader | None, keepers.find("staking", object))
    keeper = MintKeeper(keepers.get("bank", BankKeeper), staking)
    return MintModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="mint",
    store_key="mint",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ("minter",)},
    rest_routes=rest.ROUTES,
)
