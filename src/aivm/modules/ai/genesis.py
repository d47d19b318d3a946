"""ai genesis: params, models, versions, artifacts and execution records (proto3 JSON)."""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import json_format

from aivm.ai import runtime
from aivm.modules.addr import addr_bytes
from aivm.modules.ai.comparison import parse_rule
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.params import AiParams
from aivm.modules.framework import Context
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.protogen import ai_pb2


def default_genesis() -> dict[str, Any]:
    """Default params, no models."""
    return {"params": AiParams().to_json()}


def _parse(data: dict[str, Any]) -> tuple[AiParams, ai_pb2.GenesisState]:
    state = ai_pb2.GenesisState()
    body = {
        k: v for k, v in data.items() if k not in ("params", "next_model_id", "next_execution_id")
    }
    try:
        json_format.ParseDict(body, state)
    except json_format.ParseError as exc:
        raise ErrInvalidRequest.wrap(f"invalid ai genesis: {exc}") from exc
    return AiParams.from_json(data.get("params", {})), state


def validate_genesis(data: dict[str, Any]) -> None:
    """Check params, unique ids/names, that every on-chain version's artifact is present and
    that every version's comparison rule is valid."""
    params, state = _parse(data)
    ids = [m.id for m in state.models]
    names = [m.name for m in state.models]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise ErrInvalidRequest.wrap("ai genesis has duplicate model ids or names")
    hashes = {hashlib.sha256(a).digest() for a in state.artifacts}
    for version in state.versions:
        if version.model_id not in ids:
            raise ErrInvalidRequest.wrap(f"version of unknown model {version.model_id}")
        if version.execution_path == "onchain" and version.artifact_sha256 not in hashes:
            raise ErrInvalidRequest.wrap(f"artifact of model {version.model_id} missing")
        try:
            parse_rule(
                version.comparison,
                version.comparison_atol,
                version.comparison_rtol,
                offchain=version.execution_path == "offchain",
            )
        except AivmError as exc:
            raise ErrInvalidRequest.wrap(
                f"model {version.model_id} {version.version}: {exc}"
            ) from exc
    for artifact in state.artifacts:
        try:
            runtime.load(artifact, params.limits, params.gas)
        except AivmError as exc:
            raise ErrInvalidRequest.wrap(f"ai genesis artifact: {exc}") from exc


def init_genesis(ctx: Context, keeper: AiKeeper, data: dict[str, Any]) -> None:
    """Write the ai state."""
    params, state = _parse(data)
    keeper.set_params(ctx, params)
    for model in state.models:
        keeper.set_model(ctx, model)
        keeper.index_model(ctx, model, addr_bytes(model.owner))
    for version in state.versions:
        keeper.set_version(ctx, version)
    for artifact in state.artifacts:
        keeper.set_artifact(ctx, artifact)
    for record in state.executions:
        keeper.set_execution(ctx, record)
    next_model = int(data.get("next_model_id", max((m.id for m in state.models), default=0) + 1))
    next_exec = int(
        data.get("next_execution_id", max((e.id for e in state.executions), default=0) + 1)
    )
    keeper.set_next_ids(ctx, next_model, next_exec)


def export_genesis(ctx: Context, keeper: AiKeeper) -> dict[str, Any]:
    """Read the ai state back."""
    state = ai_pb2.GenesisState(
        models=list(keeper.iterate_models(ctx)),
        versions=list(keeper.iterate_versions(ctx)),
        artifacts=list(keeper.iterate_artifacts(ctx)),
        executions=list(keeper.iterate_executions(ctx)),
    )
    out = json_format.MessageToDict(state, preserving_proto_field_name=True)
    out.pop("params", None)
    next_model, next_exec = keeper.peek_next_ids(ctx)
    return {
        "params": keeper.get_params(ctx).to_json(),
        **out,
        "next_model_id": str(next_model),
        "next_execution_id": str(next_exec),
    }
