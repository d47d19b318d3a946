"""Python SDK helpers for the ``feemarket`` module (``client.modules.feemarket``).

Example::

    from aivm.client import Client

    with Client("http://127.0.0.1:26657") as client:
        print(client.modules.feemarket.gas_price())   # Dec('0.025000000000000000')

``Client(..., gas_price="auto")`` uses the same query to price fees (see
:meth:`aivm.client.client.AsyncClient.sign_and_broadcast`).
"""

from __future__ import annotations

from aivm.client.client import Client
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.queries import QUERY_GAS_PRICE, QUERY_PARAMS, QUERY_STATE
from aivm.types.dec import Dec


class FeeMarketClient:
    """``feemarket`` queries over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def gas_price(self) -> Dec:
        """The base gas price (ucgpt per gas) a tx must pay now; 0 when the market is off."""
        response = self.client.query(
            QUERY_GAS_PRICE,
            feemarket_pb2.QueryGasPriceRequest(),
            feemarket_pb2.QueryGasPriceResponse,
        )
        return Dec.from_str(response.price.amount or "0")

    def params(self) -> feemarket_pb2.Params:
        """The fee market's params."""
        response = self.client.query(
            QUERY_PARAMS, feemarket_pb2.QueryParamsRequest(), feemarket_pb2.QueryParamsResponse
        )
        params: feemarket_pb2.Params = response.params
        return params

    def state(self) -> feemarket_pb2.State:
        """The fee market's state (price and last block's gas used)."""
        response = self.client.query(
            QUERY_STATE, feemarket_pb2.QueryStateRequest(), feemarket_pb2.QueryStateResponse
        )
        state: feemarket_pb2.State = response.state
        return state


CLIENT = FeeMarketClient
