"""auth gRPC queries, answered over ABCI Query (``/cosmos.auth.v1beta1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.auth.types import Account
from aivm.modules.framework import Context, QueryRoute
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest, ErrKeyNotFound


def query_routes(keeper: AccountKeeper) -> Sequence[QueryRoute]:
    """Routes of the auth query service."""

    def account(
        ctx: Context, req: pb.auth_query.QueryAccountRequest
    ) -> pb.auth_query.QueryAccountResponse:
        if not req.address:
            raise ErrInvalidRequest.wrap("empty address")
        found = keeper.get_account(ctx, addr_bytes(req.address))
        if found is None:
            # cosmjs maps exactly this log to "account does not exist" (null).
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.address} not found"
            )
        response = pb.auth_query.QueryAccountResponse()
        response.account.CopyFrom(found.to_any())
        return response

    def accounts(
        ctx: Context, req: pb.auth_query.QueryAccountsRequest
    ) -> pb.auth_query.QueryAccountsResponse:
        page, page_response = paginate_store(
            keeper.accounts_store(ctx), req.pagination, lambda _, raw: Account.decode(raw).to_any()
        )
        return pb.auth_query.QueryAccountsResponse(accounts=page, pagination=page_response)

    def params(
        ctx: Context, req: pb.auth_query.QueryParamsRequest
    ) -> pb.auth_query.QueryParamsResponse:
        return pb.auth_query.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def module_account_by_name(
        ctx: Context, req: pb.auth_query.QueryModuleAccountByNameRequest
    ) -> pb.auth_query.QueryModuleAccountByNameResponse:
        if req.name not in keeper.module_addresses:
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.name} not found"
            )
        found = keeper.get_account(ctx, keeper.module_addresses[req.name])
        if found is None:
            raise ErrKeyNotFound.wrap(
                f"rpc error: code = NotFound desc = account {req.name} not found"
            )
        response = pb.auth_query.QueryModuleAccountByNameResponse()
        response.account.CopyFrom(found.to_any())
        return response

    base = "/cosmos.auth.v1beta1.Query/"
    return [
        QueryRoute(base + "Account", pb.auth_query.QueryAccountRequest, account),
        QueryRoute(base + "Accounts", pb.auth_query.QueryAccountsRequest, accounts),
        QueryRoute(base + "Params", pb.auth_query.QueryParamsRequest, params),
        QueryRoute(
            base + "ModuleAccountByName",
            pb.auth_query.QueryModuleAccountByNameRequest,
            module_account_by_name,
        ),
    ]
