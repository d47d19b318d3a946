"""The auth AppModule: wires keeper, queries and genesis together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.auth import genesis, keys, queries, rest
from aivm.modules.auth.keeper import FEE_COLLECTOR, AccountKeeper
from aivm.modules.auth.params import AuthParams
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.framework import Context, Keepers, ModuleDefinition, MsgRoute, QueryRoute
from aivm.types import pb


class AuthModule:
    """Accounts and the ante step's params; its one message is MsgUpdateParams."""

    name = "auth"
    consensus_version = 1

    def __init__(self, keeper: AccountKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgUpdateParams (``cosmos.auth.v1beta1``)."""
        return [
            update_params_route(
                pb.auth_tx.MsgUpdateParams,
                pb.auth_tx.MsgUpdateParamsResponse,
                self.authority,
                _parse_params,
                self.keeper.set_params,
            )
        ]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Account, Accounts, Params, ModuleAccountByName."""
        return queries.query_routes(self.keeper)

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no accounts."""
        return genesis.default_genesis()

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check params and accounts."""
        genesis.validate_genesis(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params and accounts."""
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read params and accounts back."""
        return genesis.export_genesis(ctx, self.keeper)


def _parse_params(ctx: Context | None, proto: pb.auth.Params) -> AuthParams:
    params = AuthParams.from_proto(proto)
    params.validate()
    return params


def _build(keepers: Keepers) -> tuple[AuthModule, AccountKeeper]:
    keeper = AccountKeeper(keepers.module_accounts)
    return AuthModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="auth",
    store_key="acc",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={FEE_COLLECTOR: ()},
    rest_routes=rest.ROUTES,
)
