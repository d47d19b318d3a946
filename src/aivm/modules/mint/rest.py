"""mint REST routes (the SDK's gRPC-gateway paths), mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.modules.mint import types
from aivm.modules.mint.queries import QUERY_ANNUAL_PROVISIONS, QUERY_INFLATION, QUERY_PARAMS

ROUTES = (
    RestRoute(
        "/cosmos/mint/v1beta1/params",
        QUERY_PARAMS,
        types.QueryParamsRequest,
        types.QueryParamsResponse,
        "Params returns the total set of minting parameters.",
    ),
    RestRoute(
        "/cosmos/mint/v1beta1/inflation",
        QUERY_INFLATION,
        types.QueryInflationRequest,
        types.QueryInflationResponse,
        "Inflation returns the current minting inflation value.",
    ),
    RestRoute(
        "/cosmos/mint/v1beta1/annual_provisions",
        QUERY_ANNUAL_PROVISIONS,
        types.QueryAnnualProvisionsRequest,
        types.QueryAnnualProvisionsResponse,
        "AnnualProvisions current minting annual provisions value.",
    ),
)
