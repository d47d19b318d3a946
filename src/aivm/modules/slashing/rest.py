"""slashing REST routes (the SDK's gRPC-gateway paths), mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.types import pb

ROUTES = (
    RestRoute(
        "/cosmos/slashing/v1beta1/params",
        "/cosmos.slashing.v1beta1.Query/Params",
        pb.slashing_query.QueryParamsRequest,
        pb.slashing_query.QueryParamsResponse,
        "Params queries the parameters of slashing module.",
    ),
    RestRoute(
        "/cosmos/slashing/v1beta1/signing_infos/{cons_address}",
        "/cosmos.slashing.v1beta1.Query/SigningInfo",
        pb.slashing_query.QuerySigningInfoRequest,
        pb.slashing_query.QuerySigningInfoResponse,
        "SigningInfo queries the signing info of given cons address.",
    ),
    RestRoute(
        "/cosmos/slashing/v1beta1/signing_infos",
        "/cosmos.slashing.v1beta1.Query/SigningInfos",
        pb.slashing_query.QuerySigningInfosRequest,
        pb.slashing_query.QuerySigningInfosResponse,
        "SigningInfos queries signing info of all validators.",
    ),
)
