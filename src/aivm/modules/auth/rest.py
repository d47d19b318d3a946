"""auth REST routes (gRPC-gateway paths of the Cosmos SDK where the module is standard),
mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.types import pb

ROUTES = (
    RestRoute(
        "/cosmos/auth/v1beta1/accounts/{address}",
        "/cosmos.auth.v1beta1.Query/Account",
        pb.auth_query.QueryAccountRequest,
        pb.auth_query.QueryAccountResponse,
        "Account returns account details based on address.",
    ),
    RestRoute(
        "/cosmos/auth/v1beta1/params",
        "/cosmos.auth.v1beta1.Query/Params",
        pb.auth_query.QueryParamsRequest,
        pb.auth_query.QueryParamsResponse,
        "Params queries all parameters of the auth module.",
    ),
)
