"""feemarket gRPC queries, answered over ABCI Query (``/aivm.feemarket.v1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.keeper import FeeMarketKeeper
from aivm.modules.feemarket.params import dec_text
from aivm.modules.framework import Context, QueryRoute
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

SERVICE = "/aivm.feemarket.v1.Query/"
QUERY_PARAMS = SERVICE + "Params"
QUERY_STATE = SERVICE + "State"
QUERY_GAS_PRICE = SERVICE + "GasPrice"


def query_routes(keeper: FeeMarketKeeper) -> Sequence[QueryRoute]:
    """Params, State and GasPrice."""

    def params(
        ctx: Context, req: feemarket_pb2.QueryParamsRequest
    ) -> feemarket_pb2.QueryParamsResponse:
        return feemarket_pb2.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def state(
        ctx: Context, req: feemarket_pb2.QueryStateRequest
    ) -> feemarket_pb2.QueryStateResponse:
        return feemarket_pb2.QueryStateResponse(state=keeper.get_state(ctx).to_proto())

    def gas_price(
        ctx: Context, req: feemarket_pb2.QueryGasPriceRequest
    ) -> feemarket_pb2.QueryGasPriceResponse:
        price = pb.coin.DecCoin(denom=BOND_DENOM, amount=dec_text(keeper.base_gas_price(ctx)))
        return feemarket_pb2.QueryGasPriceResponse(price=price)

    return [
        QueryRoute(QUERY_PARAMS, feemarket_pb2.QueryParamsRequest, params),
        QueryRoute(QUERY_STATE, feemarket_pb2.QueryStateRequest, state),
        QueryRoute(QUERY_GAS_PRICE, feemarket_pb2.QueryGasPriceRequest, gas_price),
    ]
