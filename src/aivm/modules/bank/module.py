"""The bank AppModule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.auth import AccountKeeper
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank import genesis, keys, msgs, queries, rest
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.bank.params import BankParams
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest


class BankModule:
    """Transfers, balances, supply and metadata."""

    name = "bank"
    consensus_version = 1

    def __init__(self, keeper: BankKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgSend, MsgMultiSend and MsgUpdateParams."""
        keeper = self.keeper

        def store(ctx: Context, default_send_enabled: bool) -> None:
            # per-denom switches are kept (the SDK stores them apart from the params)
            current = keeper.get_params(ctx)
            keeper.set_params(
                ctx, BankParams(default_send_enabled, send_enabled=current.send_enabled)
            )

        update = update_params_route(
            pb.bank_tx.MsgUpdateParams,
            pb.bank_tx.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            store,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Balance, AllBalances, TotalSupply, SupplyOf, Params, metadata."""
        return queries.query_routes(self.keeper)

    def default_genesis(self) -> dict[str, Any]:
        """Default params and CGPT metadata."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check addresses, coins and supply."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write balances, supply, metadata and params."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the bank state back."""
        return genesis.export_genesis(ctx, self.keeper)


def _parse_params(ctx: Context | None, proto: pb.bank.Params) -> bool:
    """The new ``default_send_enabled``; per-denom ``send_enabled`` entries are refused, as by
    the SDK since 0.47 (they are not params any more)."""
    if proto.send_enabled:
        raise ErrInvalidRequest.wrap("use of send_enabled in params is no longer supported")
    return bool(proto.default_send_enabled)


def _build(keepers: Keepers) -> tuple[BankModule, BankKeeper]:
    accounts = keepers.get("auth", AccountKeeper)
    keeper = BankKeeper(accounts, accounts.module_addresses.values())
    return BankModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="bank",
    store_key="bank",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    rest_routes=rest.ROUTES,
)
