"""feemarket REST routes, mounted by the node's REST gateway."""

from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.queries import QUERY_GAS_PRICE, QUERY_PARAMS, QUERY_STATE
from aivm.modules.framework import RestRoute

ROUTES = (
    RestRoute(
        "/aivm/feemarket/v1/gas_price",
        QUERY_GAS_PRICE,
        feemarket_pb2.QueryGasPriceRequest,
        feemarket_pb2.QueryGasPriceResponse,
        "The base gas price every tx must pay now (0 when the fee market is off).",
    ),
    RestRoute(
        "/aivm/feemarket/v1/params",
        QUERY_PARAMS,
        feemarket_pb2.QueryParamsRequest,
        feemarket_pb2.QueryParamsResponse,
        "Params of the fee market.",
    ),
    RestRoute(
        "/aivm/feemarket/v1/state",
        QUERY_STATE,
        feemarket_pb2.QueryStateRequest,
        feemarket_pb2.QueryStateResponse,
        "State of the fee market: the base gas price and the last block's gas used.",
    ),
)
