"""verify REST routes (gRPC-gateway style), mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.queries import SERVICE

V = verify_pb2
ROUTES = (
    RestRoute(
        "/aivm/verify/v1/params",
        SERVICE + "Params",
        V.QueryParamsRequest,
        V.QueryParamsResponse,
        "The verify params.",
    ),
    RestRoute(
        "/aivm/verify/v1/policy",
        SERVICE + "Policy",
        V.QueryPolicyRequest,
        V.QueryPolicyResponse,
        "The verification policy: criticality → methods.",
    ),
    RestRoute(
        "/aivm/verify/v1/sessions/{job_id}",
        SERVICE + "Session",
        V.QuerySessionRequest,
        V.QuerySessionResponse,
        "A job's verification session.",
    ),
    RestRoute(
        "/aivm/verify/v1/duties/{validator}",
        SERVICE + "Duties",
        V.QueryDutiesRequest,
        V.QueryDutiesResponse,
        "The open rounds a validator must commit or reveal in.",
    ),
    RestRoute(
        "/aivm/verify/v1/trails/{job_id}",
        SERVICE + "Trail",
        V.QueryTrailRequest,
        V.QueryTrailResponse,
        "A paid job's attestation trail.",
    ),
    RestRoute(
        "/aivm/verify/v1/models/{model_id}/{version}",
        SERVICE + "ModelVerification",
        V.QueryModelVerificationRequest,
        V.QueryModelVerificationResponse,
        "How a model version is verified (TEE, zk circuit, TOPLOC, optimistic_float).",
    ),
    RestRoute(
        "/aivm/verify/v1/tee_collaterals",
        SERVICE + "TeeCollaterals",
        V.QueryTeeCollateralsRequest,
        V.QueryTeeCollateralsResponse,
        "Stored DCAP collateral records (without their JSON).",
    ),
    RestRoute(
        "/aivm/verify/v1/disputes/{job_id}",
        SERVICE + "Disputes",
        V.QueryDisputesRequest,
        V.QueryDisputesResponse,
        "Every optimistic dispute game of a job.",
    ),
    RestRoute(
        "/aivm/verify/v1/open_disputes",
        SERVICE + "OpenDisputes",
        V.QueryOpenDisputesRequest,
        V.QueryOpenDisputesResponse,
        "Undecided dispute games (filter with ?party=).",
    ),
    RestRoute(
        "/aivm/verify/v1/challengeable",
        SERVICE + "Challengeable",
        V.QueryChallengeableRequest,
        V.QueryChallengeableResponse,
        "Optimistic sessions still taking disputes, earliest window end first.",
    ),
)
