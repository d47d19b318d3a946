"""compute REST routes (gRPC-gateway style), mounted by the node's REST gateway. A status or
tier is given by name (``PROVIDER_STATUS_ACTIVE``, ``TIER_STANDARD``) or number."""

from aivm.modules.compute import compute_pb2
from aivm.modules.compute.queries import SERVICE
from aivm.modules.framework import RestRoute

ROUTES = (
    RestRoute(
        "/aivm/compute/v1/params",
        SERVICE + "Params",
        compute_pb2.QueryParamsRequest,
        compute_pb2.QueryParamsResponse,
        "The compute params.",
    ),
    RestRoute(
        "/aivm/compute/v1/providers",
        SERVICE + "Providers",
        compute_pb2.QueryProvidersRequest,
        compute_pb2.QueryProvidersResponse,
        "Compute providers (filter with ?status= and ?tier=; paginated).",
    ),
    RestRoute(
        "/aivm/compute/v1/providers/{operator}",
        SERVICE + "Provider",
        compute_pb2.QueryProviderRequest,
        compute_pb2.QueryProviderResponse,
        "A provider's record and whether it is available now.",
    ),
    RestRoute(
        "/aivm/compute/v1/asks/{model_id}/{version}",
        SERVICE + "Asks",
        compute_pb2.QueryAsksRequest,
        compute_pb2.QueryAsksResponse,
        "Asks for a model version, cheapest first (filter with ?tier= and ?max_price=).",
    ),
    RestRoute(
        "/aivm/compute/v1/slashes",
        SERVICE + "SlashRecords",
        compute_pb2.QuerySlashRecordsRequest,
        compute_pb2.QuerySlashRecordsResponse,
        "Provider slash records (filter with ?operator=; paginated).",
    ),
    RestRoute(
        "/aivm/compute/v1/reason_codes",
        SERVICE + "ReasonCodes",
        compute_pb2.QueryReasonCodesRequest,
        compute_pb2.QueryReasonCodesResponse,
        "Registered provider slash reason codes.",
    ),
)
