"""auth gRPC queries, answered over ABCI Query (``/cosmos.auth.v1beta1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.framework import Context, QueryRoute
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest, ErrKeyNotFound
from aivm.types.pagination import paginate

Q = pb.auth_query


def query_routes(keeper: AccountKeeper) -> Sequence[QueryRoute]:
    """Routes of the auth query service."""

    def account(ctx: Context, req: Q.QueryAccountRequest) -> Q.QueryAccountResponse:
        if not req.address:
            raise ErrInvalidRequest.wrap("empty address")
        found = keeper.get_account(ctx, addr_bytes(req.address))
        if found is None:
            # cosmjs maps exactly this log to "account does not exist" (null).
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.address} not found"
            )
        response = Q.QueryAccountResponse()
        response.account.CopyFrom(found.to_any())
        return response

    def accounts(ctx: Context, req: Q.QueryAccountsRequest) -> Q.QueryAccountsResponse:
        items = [acc.to_any() for acc in keeper.iterate_accounts(ctx)]
        page, page_response = paginate(items, req.pagination)
        return Q.QueryAccountsResponse(accounts=page, pagination=page_response)

    def params(ctx: Context, req: Q.QueryParamsRequest) -> Q.QueryParamsResponse:
        return Q.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def module_account_by_name(
        ctx: Context, req: Q.QueryModuleAccountByNameRequest
    ) -> Q.QueryModuleAccountByNameResponse:
        if req.name not in keeper.module_addresses:
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.name} not found"
            )
        found = keeper.get_account(ctx, keeper.module_addresses[req.name])
        if found is None:
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.name} not found"
            )
        response = Q.QueryModuleAccountByNameResponse()
        response.account.CopyFrom(found.to_any())
        return response

    base = "/cosmos.auth.v1beta1.Query/"
    return [
        QueryRoute(base + "Account", Q.QueryAccountRequest, account),
        QueryRoute(base + "Accounts", Q.QueryAccountsRequest, accounts),
        QueryRoute(base + "Params", Q.QueryParamsRequest, params),
        QueryRoute(
            base + "ModuleAccountByName", Q.QueryModuleAccountByNameRequest, module_account_by_name
        ),
    ]
