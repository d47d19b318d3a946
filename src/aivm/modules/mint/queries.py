"""mint gRPC queries (``/cosmos.mint.v1beta1.Query/Params|Inflation|AnnualProvisions``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.framework import Context, QueryRoute
from aivm.modules.mint import types
from aivm.modules.mint.keeper import MintKeeper

SERVICE = "/cosmos.mint.v1beta1.Query/"
QUERY_PARAMS = SERVICE + "Params"
QUERY_INFLATION = SERVICE + "Inflation"
QUERY_ANNUAL_PROVISIONS = SERVICE + "AnnualProvisions"


def query_routes(keeper: MintKeeper) -> Sequence[QueryRoute]:
    """Params, Inflation and AnnualProvisions (Dec answers as wire bytes, as the SDK)."""

    def params(ctx: Context, req: Any) -> Any:
        return types.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def inflation(ctx: Context, req: Any) -> Any:
        value = keeper.get_minter(ctx).inflation.to_proto_str().encode()
        return types.QueryInflationResponse(inflation=value)

    def annual_provisions(ctx: Context, req: Any) -> Any:
        value = keeper.get_minter(ctx).annual_provisions.to_proto_str().encode()
        return types.QueryAnnualProvisionsResponse(annual_provisions=value)

    return [
        QueryRoute(QUERY_PARAMS, types.QueryParamsRequest, params),
        QueryRoute(QUERY_INFLATION, types.QueryInflationRequest, inflation),
        QueryRoute(QUERY_ANNUAL_PROVISIONS, types.QueryAnnualProvisionsRequest, annual_provisions),
    ]
