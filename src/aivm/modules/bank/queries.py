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


def _coin(denom: str, amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=denom, amount=str(amount))


def _check_denom(denom: str) -> None:
    if not denom:
        raise ErrInvalidRequest.wrap("invalid denom")
    Coin(denom, 0)


def query_routes(keeper: BankKeeper) -> Sequence[QueryRoute]:
    """Routes of the bank query service."""

    def balance(
        ctx: Context, req: pb.bank_query.QueryBalanceRequest
    ) -> pb.bank_query.QueryBalanceResponse:
        _check_denom(req.denom)
        amount = keeper.get_balance(ctx, addr_bytes(req.address), req.denom)
        return pb.bank_query.QueryBalanceResponse(balance=_coin(req.denom, amount))

    def all_balances(
        ctx: Context, req: pb.bank_query.QueryAllBalancesRequest
    ) -> pb.bank_query.QueryAllBalancesResponse:
        coins = coins_to_proto(keeper.get_all_balances(ctx, addr_bytes(req.address)))
        page, page_response = paginate(coins, req.pagination)
        return pb.bank_query.QueryAllBalancesResponse(balances=page, pagination=page_response)

    def spendable_balances(
        ctx: Context, req: pb.bank_query.QuerySpendableBalancesRequest
    ) -> pb.bank_query.QuerySpendableBalancesResponse:
        coins = coins_to_proto(keeper.get_all_balances(ctx, addr_bytes(req.address)))
        page, page_response = paginate(coins, req.pagination)
        return pb.bank_query.QuerySpendableBalancesResponse(balances=page, pagination=page_response)

    def total_supply(
        ctx: Context, req: pb.bank_query.QueryTotalSupplyRequest
    ) -> pb.bank_query.QueryTotalSupplyResponse:
        page, page_response = paginate(coins_to_proto(keeper.get_total_supply(ctx)), req.pagination)
        return pb.bank_query.QueryTotalSupplyResponse(supply=page, pagination=page_response)

    def supply_of(
        ctx: Context, req: pb.bank_query.QuerySupplyOfRequest
    ) -> pb.bank_query.QuerySupplyOfResponse:
        _check_denom(req.denom)
        return pb.bank_query.QuerySupplyOfResponse(
            amount=_coin(req.denom, keeper.get_supply(ctx, req.denom))
        )

    def params(
        ctx: Context, req: pb.bank_query.QueryParamsRequest
    ) -> pb.bank_query.QueryParamsResponse:
        return pb.bank_query.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def denom_metadata(
        ctx: Context, req: pb.bank_query.QueryDenomMetadataRequest
    ) -> pb.bank_query.QueryDenomMetadataResponse:
        _check_denom(req.denom)
        metadata = keeper.get_denom_metadata(ctx, req.denom)
        if metadata is None:
            raise ErrDenomMetadataNotFound.wrap(f"client metadata for denom {req.denom}")
        return pb.bank_query.QueryDenomMetadataResponse(metadata=metadata)

    def denoms_metadata(
        ctx: Context, req: pb.bank_query.QueryDenomsMetadataRequest
    ) -> pb.bank_query.QueryDenomsMetadataResponse:
        page, page_response = paginate(list(keeper.iterate_denom_metadata(ctx)), req.pagination)
        return pb.bank_query.QueryDenomsMetadataResponse(metadatas=page, pagination=page_response)

    base = "/cosmos.bank.v1beta1.Query/"
    return [
        QueryRoute(base + "Balance", pb.bank_query.QueryBalanceRequest, balance),
        QueryRoute(base + "AllBalances", pb.bank_query.QueryAllBalancesRequest, all_balances),
        QueryRoute(
            base + "SpendableBalances",
            pb.bank_query.QuerySpendableBalancesRequest,
            spendable_balances,
        ),
        QueryRoute(base + "TotalSupply", pb.bank_query.QueryTotalSupplyRequest, total_supply),
        QueryRoute(base + "SupplyOf", pb.bank_query.QuerySupplyOfRequest, supply_of),
        QueryRoute(base + "Params", pb.bank_query.QueryParamsRequest, params),
        QueryRoute(base + "DenomMetadata", pb.bank_query.QueryDenomMetadataRequest, denom_metadata),
        QueryRoute(
            base + "DenomsMetadata", pb.bank_query.QueryDenomsMetadataRequest, denoms_metadata
        ),
    ]
