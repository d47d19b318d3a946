"""bank gRPC queries, answered over ABCI Query (``/cosmos.bank.v1beta1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.bank.errors import ErrDenomMetadataNotFound
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context, QueryRoute
from aivm.types import pb
from aivm.types.coin import Coin
from aivm.types.coin_proto import coins_to_proto
from aivm.types.errors import ErrInvalidRequest
from aivm.types.pagination import paginate

Q = pb.bank_query


def _coin(denom: str, amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=denom, amount=str(amount))


def _check_denom(denom: str) -> None:
    if not denom:
        raise ErrInvalidRequest.wrap("invalid denom")
    Coin(denom, 0)


def query_routes(keeper: BankKeeper) -> Sequence[QueryRoute]:
    """Routes of the bank query service."""

    def balance(ctx: Context, req: Q.QueryBalanceRequest) -> Q.QueryBalanceResponse:
        _check_denom(req.denom)
        amount = keeper.get_balance(ctx, addr_bytes(req.address), req.denom)
        return Q.QueryBalanceResponse(balance=_coin(req.denom, amount))

    def all_balances(ctx: Context, req: Q.QueryAllBalancesRequest) -> Q.QueryAllBalancesResponse:
        coins = coins_to_proto(keeper.get_all_balances(ctx, addr_bytes(req.address)))
        page, page_response = paginate(coins, req.pagination)
        return Q.QueryAllBalancesResponse(balances=page, pagination=page_response)

    def spendable_balances(
        ctx: Context, req: Q.QuerySpendableBalancesRequest
    ) -> Q.QuerySpendableBalancesResponse:
        coins = coins_to_proto(keeper.get_all_balances(ctx, addr_bytes(req.address)))
        page, page_response = paginate(coins, req.pagination)
        return Q.QuerySpendableBalancesResponse(balances=page, pagination=page_response)

    def total_supply(ctx: Context, req: Q.QueryTotalSupplyRequest) -> Q.QueryTotalSupplyResponse:
        page, page_response = paginate(coins_to_proto(keeper.get_total_supply(ctx)), req.pagination)
        return Q.QueryTotalSupplyResponse(supply=page, pagination=page_response)

    def supply_of(ctx: Context, req: Q.QuerySupplyOfRequest) -> Q.QuerySupplyOfResponse:
        _check_denom(req.denom)
        return Q.QuerySupplyOfResponse(amount=_coin(req.denom, keeper.get_supply(ctx, req.denom)))

    def params(ctx: Context, req: Q.QueryParamsRequest) -> Q.QueryParamsResponse:
        return Q.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def denom_metadata(
        ctx: Context, req: Q.QueryDenomMetadataRequest
    ) -> Q.QueryDenomMetadataResponse:
        _check_denom(req.denom)
        metadata = keeper.get_denom_metadata(ctx, req.denom)
        if metadata is None:
            raise ErrDenomMetadataNotFound.wrap(f"client metadata for denom {req.denom}")
        return Q.QueryDenomMetadataResponse(metadata=metadata)

    def denoms_metadata(
        ctx: Context, req: Q.QueryDenomsMetadataRequest
    ) -> Q.QueryDenomsMetadataResponse:
        page, page_response = paginate(list(keeper.iterate_denom_metadata(ctx)), req.pagination)
        return Q.QueryDenomsMetadataResponse(metadatas=page, pagination=page_response)

    base = "/cosmos.bank.v1beta1.Query/"
    return [
        QueryRoute(base + "Balance", Q.QueryBalanceRequest, balance),
        QueryRoute(base + "AllBalances", Q.QueryAllBalancesRequest, all_balances),
        QueryRoute(base + "SpendableBalances", Q.QuerySpendableBalancesRequest, spendable_balances),
        QueryRoute(base + "TotalSupply", Q.QueryTotalSupplyRequest, total_supply),
        QueryRoute(base + "SupplyOf", Q.QuerySupplyOfRequest, supply_of),
        QueryRoute(base + "Params", Q.QueryParamsRequest, params),
        QueryRoute(base + "DenomMetadata", Q.QueryDenomMetadataRequest, denom_metadata),
        QueryRoute(base + "DenomsMetadata", Q.QueryDenomsMetadataRequest, denoms_metadata),
    ]
