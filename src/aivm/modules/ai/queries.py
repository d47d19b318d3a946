"""ai gRPC queries, answered over ABCI Query (``/aivm.ai.v1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.ai import keys
from aivm.modules.ai.errors import ErrVersionNotFound
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.msgs import TAG_RE
from aivm.modules.framework import Context, QueryRoute
from aivm.store import PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import ai_pb2

SERVICE = "/aivm.ai.v1.Query/"


def decode_model(raw: bytes) -> ai_pb2.Model:
    """A Model record."""
    model: ai_pb2.Model = ai_pb2.Model.FromString(raw)
    return model


def query_routes(keeper: AiKeeper) -> Sequence[QueryRoute]:
    """Routes of the ai query service."""

    def params(ctx: Context, req: ai_pb2.QueryParamsRequest) -> ai_pb2.QueryParamsResponse:
        return ai_pb2.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def model(ctx: Context, req: ai_pb2.QueryModelRequest) -> ai_pb2.QueryModelResponse:
        found = keeper.get_model(ctx, req.model_id)
        return ai_pb2.QueryModelResponse(model=found, versions=keeper.versions(ctx, found.id))

    def model_version(
        ctx: Context, req: ai_pb2.QueryModelVersionRequest
    ) -> ai_pb2.QueryModelVersionResponse:
        return ai_pb2.QueryModelVersionResponse(
            version=keeper.get_version(ctx, req.model_id, req.version)
        )

    def artifact(ctx: Context, req: ai_pb2.QueryArtifactRequest) -> ai_pb2.QueryArtifactResponse:
        data = keeper.get_artifact(ctx, req.sha256)
        if data is None:
            raise ErrVersionNotFound.wrap(f"no on-chain artifact with sha256 {req.sha256.hex()}")
        return ai_pb2.QueryArtifactResponse(artifact=data)

    def models(ctx: Context, req: ai_pb2.QueryModelsRequest) -> ai_pb2.QueryModelsResponse:
        store = PrefixStore(ctx.store, keys.STORE_PREFIX)
        if not req.owner and not req.tag:
            page, page_response = paginate_store(
                PrefixStore(store, keys.MODEL), req.pagination, lambda _, raw: decode_model(raw)
            )
            return ai_pb2.QueryModelsResponse(models=page, pagination=page_response)
        if req.tag and not TAG_RE.fullmatch(req.tag):  # no model can carry it
            raise ErrInvalidRequest.wrap(f"tag {req.tag[:40]!r} must match {TAG_RE.pattern}")
        if req.owner:  # page over the owner index; a tag filters it
            index = PrefixStore(store, keys.owner_prefix(addr_bytes(req.owner)))
            tagged = PrefixStore(store, keys.tag_prefix(req.tag)) if req.tag else None
        else:
            index, tagged = PrefixStore(store, keys.tag_prefix(req.tag)), None

        def indexed_model(key: bytes, _: bytes) -> ai_pb2.Model | None:
            if tagged is not None and not tagged.has(key):
                return None
            return keeper.get_model(ctx, int.from_bytes(key, "big"))

        found, page_response = paginate_store(index, req.pagination, indexed_model)
        return ai_pb2.QueryModelsResponse(models=found, pagination=page_response)

    def execution(ctx: Context, req: ai_pb2.QueryExecutionRequest) -> ai_pb2.QueryExecutionResponse:
        if req.id == 0:
            raise ErrInvalidRequest.wrap("execution ids start at 1")
        return ai_pb2.QueryExecutionResponse(execution=keeper.get_execution(ctx, req.id))

    return [
        QueryRoute(SERVICE + "Params", ai_pb2.QueryParamsRequest, params),
        QueryRoute(SERVICE + "Model", ai_pb2.QueryModelRequest, model),
        QueryRoute(SERVICE + "ModelVersion", ai_pb2.QueryModelVersionRequest, model_version),
        QueryRoute(SERVICE + "Artifact", ai_pb2.QueryArtifactRequest, artifact),
        QueryRoute(SERVICE + "Models", ai_pb2.QueryModelsRequest, models),
        QueryRoute(SERVICE + "Execution", ai_pb2.QueryExecutionRequest, execution),
    ]
