"""roles REST routes (gRPC-gateway style), mounted by the node's REST gateway. A ``role`` is
given by name (``ROLE_COMPUTE``) or number (``2``)."""

from aivm.modules.framework import RestRoute
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.queries import SERVICE

ROUTES = (
    RestRoute(
        "/aivm/roles/v1/params",
        SERVICE + "Params",
        roles_pb2.QueryParamsRequest,
        roles_pb2.QueryParamsResponse,
        "The roles params.",
    ),
    RestRoute(
        "/aivm/roles/v1/operators",
        SERVICE + "Operators",
        roles_pb2.QueryOperatorsRequest,
        roles_pb2.QueryOperatorsResponse,
        "Role operators (filter with ?role= and ?status=; paginated).",
    ),
    RestRoute(
        "/aivm/roles/v1/operators/{operator}/{role}",
        SERVICE + "Operator",
        roles_pb2.QueryOperatorRequest,
        roles_pb2.QueryOperatorResponse,
        "An operator's record in a role, with its unbonding entries.",
    ),
    RestRoute(
        "/aivm/roles/v1/active_set/{role}",
        SERVICE + "ActiveSet",
        roles_pb2.QueryActiveSetRequest,
        roles_pb2.QueryActiveSetResponse,
        "A role's active set, highest selection score first.",
    ),
    RestRoute(
        "/aivm/roles/v1/slashes",
        SERVICE + "SlashRecords",
        roles_pb2.QuerySlashRecordsRequest,
        roles_pb2.QuerySlashRecordsResponse,
        "Role slash records (filter with ?operator= and ?role=; paginated).",
    ),
    RestRoute(
        "/aivm/roles/v1/rewards/{operator}",
        SERVICE + "Rewards",
        roles_pb2.QueryRewardsRequest,
        roles_pb2.QueryRewardsResponse,
        "An operator's claimable role rewards.",
    ),
    RestRoute(
        "/aivm/roles/v1/reason_codes",
        SERVICE + "ReasonCodes",
        roles_pb2.QueryReasonCodesRequest,
        roles_pb2.QueryReasonCodesResponse,
        "Registered role slash reason codes.",
    ),
    RestRoute(
        "/aivm/roles/v1/work",
        SERVICE + "WorkCounters",
        roles_pb2.QueryWorkCountersRequest,
        roles_pb2.QueryWorkCountersResponse,
        "Work recorded in the current reward period (filter with ?role= and ?operator=; "
        "paginated without an operator).",
    ),
)
