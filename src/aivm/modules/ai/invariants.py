"""ai invariants, checked by the simulation after every block (see :mod:`aivm.modules.simulation`):
id counters against the records, the name, owner and tag indexes against the models and
versions, every model's latest version, and every on-chain version's artifact."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from aivm.modules.addr import addr_bytes
from aivm.modules.ai import keys
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.ai.module import AiModule
from aivm.modules.ai.msgs import ONCHAIN, semver_core
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.store import KVStore, PrefixStore
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2

RECENT_EXECUTIONS = 64
"""Execution records checked per block, newest first (all of them would grow without bound)."""


def invariants(module: AiModule) -> dict[str, Invariant]:
    """model_ids, indexes, versions and executions, by name."""
    keeper = module.keeper
    return {
        "model_ids": lambda ctx: check_model_ids(ctx, keeper),
        "indexes": lambda ctx: check_indexes(ctx, keeper),
        "versions": lambda ctx: check_versions(ctx, keeper),
        "executions": lambda ctx: check_executions(ctx, keeper),
    }


def _store(ctx: Context) -> KVStore:
    return PrefixStore(ctx.store, keys.STORE_PREFIX)


def check_model_ids(ctx: Context, keeper: AiKeeper) -> list[str]:
    """Models are numbered 1 … next−1 without gaps (a failed registration leaves no id)."""
    next_id, _ = keeper.peek_next_ids(ctx)
    ids = [model.id for model in keeper.iterate_models(ctx)]
    if ids != list(range(1, next_id)):
        return [f"model ids {ids[:5]}… ({len(ids)}) do not match the counter {next_id}"]
    return []


def check_indexes(ctx: Context, keeper: AiKeeper) -> list[str]:
    """The name, owner and tag indexes hold exactly the entries the records imply."""
    models = list(keeper.iterate_models(ctx))
    store = _store(ctx)
    names = {key: int.from_bytes(value, "big") for key, value in _entries(store, keys.NAME)}
    want_names = {model.name.encode(): model.id for model in models}
    owners = {key for key, _ in _entries(store, keys.OWNER)}
    want_owners = {
        bytes([len(owner)]) + owner + keys.u64(model.id)
        for model in models
        for owner in [addr_bytes(model.owner)]
    }
    tags = {key for key, _ in _entries(store, keys.TAG)}
    want_tags = {
        keys.tag_prefix(tag)[1:] + keys.u64(version.model_id)
        for version in keeper.iterate_versions(ctx)
        for tag in version.tags
    }
    problems = []
    if names != want_names:
        problems.append(f"name index {_diff(names.items(), want_names.items())}")
    if owners != want_owners:
        problems.append(f"owner index {_diff(owners, want_owners)}")
    if tags != want_tags:
        problems.append(f"tag index {_diff(tags, want_tags)}")
    return problems


def check_versions(ctx: Context, keeper: AiKeeper) -> list[str]:
    """Each model's latest version exists and is its highest; on-chain artifacts are stored."""
    problems: list[str] = []
    by_model: dict[int, list[ai_pb2.ModelVersion]] = {}
    for version in keeper.iterate_versions(ctx):
        by_model.setdefault(version.model_id, []).append(version)
    models = {model.id: model for model in keeper.iterate_models(ctx)}
    for model_id in sorted(set(by_model) - set(models)):
        problems.append(f"versions of model {model_id}, which does not exist")
    for model in models.values():
        versions = by_model.get(model.id, [])
        if not versions:
            problems.append(f"model {model.id} has no version")
            continue
        highest = max(versions, key=lambda v: semver_core(v.version)).version
        if model.latest_version != highest:
            problems.append(
                f"model {model.id} latest {model.latest_version!r}, highest {highest!r}"
            )
        problems.extend(_artifact_problems(ctx, keeper, versions))
    return problems


def _artifact_problems(
    ctx: Context, keeper: AiKeeper, versions: list[ai_pb2.ModelVersion]
) -> list[str]:
    problems = []
    for version in versions:
        if version.execution_path != ONCHAIN:
            continue
        artifact = keeper.get_artifact(ctx, version.artifact_sha256)
        if artifact is None or hashlib.sha256(artifact).digest() != version.artifact_sha256:
            problems.append(f"model {version.model_id} {version.version}: artifact missing")
        elif version.artifact_size != len(artifact) or version.gas_per_row <= 0:
            problems.append(
                f"model {version.model_id} {version.version}: size {version.artifact_size} / "
                f"gas per row {version.gas_per_row} disagree with its artifact"
            )
    return problems


def check_executions(ctx: Context, keeper: AiKeeper) -> list[str]:
    """The newest execution id is the counter's last; recent records name real versions."""
    _, next_id = keeper.peek_next_ids(ctx)
    store = PrefixStore(_store(ctx), keys.EXECUTION)
    problems: list[str] = []
    newest: int | None = None
    for count, (key, raw) in enumerate(store.iterate(reverse=True)):
        if count == RECENT_EXECUTIONS:
            break
        record = ai_pb2.ExecutionRecord.FromString(raw)
        newest = int.from_bytes(key, "big") if newest is None else newest
        if record.id != int.from_bytes(key, "big"):
            problems.append(f"execution {record.id} stored under {key.hex()}")
        try:
            version = keeper.get_version(ctx, record.model_id, record.version)
        except AivmError as exc:  # a record naming a version that is gone
            problems.append(f"execution {record.id}: {exc}")
            continue
        if version.artifact_sha256 != record.model_sha256:
            problems.append(f"execution {record.id}: model hash differs from its version's")
    if (newest or 0) != next_id - 1:
        problems.append(f"newest execution is {newest}, the counter is at {next_id}")
    return problems


def _entries(store: KVStore, prefix: bytes) -> list[tuple[bytes, bytes]]:
    return list(PrefixStore(store, prefix).iterate())


def _diff(have: Iterable[object], want: Iterable[object]) -> str:
    have_set, want_set = set(have), set(want)
    extra = sorted(map(repr, have_set - want_set))[:3]
    missing = sorted(map(repr, want_set - have_set))[:3]
    return f"has extra {extra} and lacks {missing}"
