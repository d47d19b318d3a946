"""ai REST routes (gRPC-gateway paths of the Cosmos SDK where the module is standard),
mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.types.protogen import ai_pb2

ROUTES = (
    RestRoute(
        "/aivm/ai/v1/params",
        "/aivm.ai.v1.Query/Params",
        ai_pb2.QueryParamsRequest,
        ai_pb2.QueryParamsResponse,
        "Params of the ai module (DSM gas prices and limits).",
    ),
    RestRoute(
        "/aivm/ai/v1/models",
        "/aivm.ai.v1.Query/Models",
        ai_pb2.QueryModelsRequest,
        ai_pb2.QueryModelsResponse,
        "Models, optionally by `owner` and/or `tag` (paginated).",
    ),
    RestRoute(
        "/aivm/ai/v1/models/{model_id}",
        "/aivm.ai.v1.Query/Model",
        ai_pb2.QueryModelRequest,
        ai_pb2.QueryModelResponse,
        "A model and its versions.",
    ),
    RestRoute(
        "/aivm/ai/v1/models/{model_id}/versions/{version}",
        "/aivm.ai.v1.Query/ModelVersion",
        ai_pb2.QueryModelVersionRequest,
        ai_pb2.QueryModelVersionResponse,
        "One version of a model.",
    ),
    RestRoute(
        "/aivm/ai/v1/executions/{id}",
        "/aivm.ai.v1.Query/Execution",
        ai_pb2.QueryExecutionRequest,
        ai_pb2.QueryExecutionResponse,
        "An on-chain inference record.",
    ),
)
