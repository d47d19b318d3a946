"""The authority AppModule: genesis, the Authority query and its REST route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.authority import keys
from aivm.modules.authority.keeper import AuthorityKeeper
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    RestRoute,
)
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.protogen import authority_pb2

QUERY_AUTHORITY = "/aivm.authority.v1.Query/Authority"


class AuthorityModule:
    """Holds the params authority; it has no messages (governance will replace it)."""

    name = "authority"
    consensus_version = 1

    def __init__(self, keeper: AuthorityKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        """None."""
        return []

    def query_routes(self) -> Sequence[QueryRoute]:
        """Authority."""
        keeper = self.keeper

        def authority(
            ctx: Context, req: authority_pb2.QueryAuthorityRequest
        ) -> authority_pb2.QueryAuthorityResponse:
            return authority_pb2.QueryAuthorityResponse(authority=addr_str(keeper.get(ctx)))

        return [QueryRoute(QUERY_AUTHORITY, authority_pb2.QueryAuthorityRequest, authority)]

    def default_genesis(self) -> dict[str, Any]:
        """The gov module account."""
        return {"authority": addr_str(AuthorityKeeper.default)}

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """The authority must be a valid account address."""
        self._parse(data)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write the authority."""
        self.keeper.set(ctx, self._parse(data))

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """The authority."""
        return {"authority": addr_str(self.keeper.get(ctx))}

    @staticmethod
    def _parse(data: dict[str, Any]) -> bytes:
        unknown = set(data) - {"authority"}
        if unknown:
            raise ErrInvalidRequest.wrap(f"unknown authority genesis fields {sorted(unknown)}")
        value = data.get("authority")
        if not isinstance(value, str):
            raise ErrInvalidRequest.wrap("authority genesis needs an `authority` address")
        try:
            return addr_bytes(value)
        except AivmError as exc:
            raise ErrInvalidRequest.wrap(f"invalid authority {value!r}: {exc.log}") from exc


def _build(keepers: Keepers) -> tuple[AuthorityModule, AuthorityKeeper]:
    keeper = AuthorityKeeper()
    return AuthorityModule(keeper), keeper


DEFINITION = ModuleDefinition(
    name="authority",
    store_key="authority",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    rest_routes=(
        RestRoute(
            "/aivm/authority/v1/authority",
            QUERY_AUTHORITY,
            authority_pb2.QueryAuthorityRequest,
            authority_pb2.QueryAuthorityResponse,
            "Authority returns the address allowed to sign MsgUpdateParams.",
        ),
    ),
)
