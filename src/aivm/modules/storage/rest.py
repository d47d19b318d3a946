"""storage REST routes (gRPC-gateway paths of the Cosmos SDK where the module is standard),
mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.types.protogen import storage_pb2

ROUTES = (
    RestRoute(
        "/aivm/storage/v1/objects/{cid}",
        "/aivm.storage.v1.Query/Object",
        storage_pb2.QueryObjectRequest,
        storage_pb2.QueryObjectResponse,
        "A record of a stored object: the `owner`'s, else the first of the CID by owner.",
    ),
    RestRoute(
        "/aivm/storage/v1/objects/{cid}/records",
        "/aivm.storage.v1.Query/ObjectRecords",
        storage_pb2.QueryObjectRecordsRequest,
        storage_pb2.QueryObjectRecordsResponse,
        "Every record of a stored object, one per paying owner (paginated).",
    ),
    RestRoute(
        "/aivm/storage/v1/challenges/{id}",
        "/aivm.storage.v1.Query/Challenge",
        storage_pb2.QueryChallengeRequest,
        storage_pb2.QueryChallengeResponse,
        "An availability challenge.",
    ),
    RestRoute(
        "/aivm/storage/v1/holders/{cid}",
        "/aivm.storage.v1.Query/Holders",
        storage_pb2.QueryHoldersRequest,
        storage_pb2.QueryHoldersResponse,
        "The data-role holders assigned to a CID.",
    ),
    RestRoute(
        "/aivm/storage/v1/holder_objects/{holder}",
        "/aivm.storage.v1.Query/HolderObjects",
        storage_pb2.QueryHolderObjectsRequest,
        storage_pb2.QueryHolderObjectsResponse,
        "The CIDs a holder is assigned (paginated).",
    ),
    RestRoute(
        "/aivm/storage/v1/holder_stats/{holder}",
        "/aivm.storage.v1.Query/HolderStats",
        storage_pb2.QueryHolderStatsRequest,
        storage_pb2.QueryHolderStatsResponse,
        "A holder's missed and passed scheduled challenges.",
    ),
    RestRoute(
        "/aivm/storage/v1/assigned_challenges/{assignee}",
        "/aivm.storage.v1.Query/AssignedChallenges",
        storage_pb2.QueryAssignedChallengesRequest,
        storage_pb2.QueryAssignedChallengesResponse,
        "The open scheduled challenges naming an assignee (paginated).",
    ),
)
