"""AiKeeper: the only code that reads or writes models, versions, artifacts and executions."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator

from aivm.ai import runtime
from aivm.modules.ai import keys
from aivm.modules.ai.errors import (
    ErrExecutionNotFound,
    ErrModelNotFound,
    ErrVersionNotFound,
)
from aivm.modules.ai.params import AiParams
from aivm.modules.framework import Context, ExecMode
from aivm.store import KVStore, PrefixStore
from aivm.types.protogen import ai_pb2

PROGRAM_CACHE_SIZE = 64


class AiKeeper:
    """Model registry state, artifacts, execution records and params."""

    def __init__(self) -> None:
        # Compiled programs by artifact sha256: content-addressed, and every use is charged as
        # if it missed, so the cache changes neither results nor gas.
        self._programs: OrderedDict[bytes, runtime.Program] = OrderedDict()
        # Programs loaded (and paid for) by txs of the block being executed, emptied when a
        # block starts (begin_block). Derived from the block alone, so the same on every node;
        # never evicted mid-block.
        self._block_loaded: dict[bytes, runtime.Program] = {}

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- params ---------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> AiParams:
        """Current params (defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS)
        if raw is None:
            return AiParams()
        return AiParams.from_proto(ai_pb2.Params.FromString(raw))

    def set_params(self, ctx: Context, params: AiParams) -> None:
        """Replace the params."""
        self._store(ctx).set(keys.PARAMS, params.to_proto().SerializeToString())

    # -- ids ------------------------------------------------------------------------------

    def _next_id(self, ctx: Context, key: bytes) -> int:
        store = self._store(ctx)
        raw = store.get(key)
        value = 1 if raw is None else int.from_bytes(raw, "big")
        store.set(key, keys.u64(value + 1))
        return value

    def peek_next_ids(self, ctx: Context) -> tuple[int, int]:
        """(next model id, next execution id), for genesis export."""
        store = self._store(ctx)
        model, execution = store.get(keys.NEXT_MODEL_ID), store.get(keys.NEXT_EXECUTION_ID)
        return (
            1 if model is None else int.from_bytes(model, "big"),
            1 if execution is None else int.from_bytes(execution, "big"),
        )

    # -- models ---------------------------------------------------------------------------

    def model_id_by_name(self, ctx: Context, name: str) -> int | None:
        """Id of the model called ``name``, if any."""
        raw = self._store(ctx).get(keys.name_key(name))
        return None if raw is None else int.from_bytes(raw, "big")

    def get_model(self, ctx: Context, model_id: int) -> ai_pb2.Model:
        """The model ``model_id``; ErrModelNotFound otherwise."""
        raw = self._store(ctx).get(keys.model_key(model_id))
        if raw is None:
            raise ErrModelNotFound.wrap(f"model {model_id}")
        model: ai_pb2.Model = ai_pb2.Model.FromString(raw)
        return model

    def new_model(self, ctx: Context, name: str, owner: bytes, owner_str: str) -> ai_pb2.Model:
        """Create a model with a fresh id (the caller checked the name is free)."""
        model = ai_pb2.Model(
            id=self._next_id(ctx, keys.NEXT_MODEL_ID),
            name=name,
            owner=owner_str,
            created_height=ctx.header.height,
        )
        self.index_model(ctx, model, owner)
        self.set_model(ctx, model)
        return model

    def index_model(self, ctx: Context, model: ai_pb2.Model, owner: bytes) -> None:
        """Write the name and owner index entries of ``model``."""
        store = self._store(ctx)
        store.set(keys.name_key(model.name), keys.u64(model.id))
        store.set(keys.owner_prefix(owner) + keys.u64(model.id), keys.INDEX_MARKER)

    def set_model(self, ctx: Context, model: ai_pb2.Model) -> None:
        """Write a model record."""
        self._store(ctx).set(keys.model_key(model.id), model.SerializeToString())

    def change_owner(
        self, ctx: Context, model: ai_pb2.Model, old: bytes, new: bytes, new_str: str
    ) -> None:
        """Move ``model`` to a new owner, keeping the owner index right."""
        store = self._store(ctx)
        store.delete(keys.owner_prefix(old) + keys.u64(model.id))
        store.set(keys.owner_prefix(new) + keys.u64(model.id), keys.INDEX_MARKER)
        model.owner = new_str
        self.set_model(ctx, model)

    def iterate_models(self, ctx: Context) -> Iterator[ai_pb2.Model]:
        """Every model in id order."""
        for _, raw in PrefixStore(self._store(ctx), keys.MODEL).iterate():
            yield ai_pb2.Model.FromString(raw)

    def model_ids_by_owner(self, ctx: Context, owner: bytes) -> list[int]:
        """Ids of the models ``owner`` owns, ascending."""
        store = PrefixStore(self._store(ctx), keys.owner_prefix(owner))
        return [int.from_bytes(k, "big") for k, _ in store.iterate()]

    def model_ids_by_tag(self, ctx: Context, tag: str) -> list[int]:
        """Ids of the models with a version tagged ``tag``, ascending."""
        store = PrefixStore(self._store(ctx), keys.tag_prefix(tag))
        return [int.from_bytes(k, "big") for k, _ in store.iterate()]

    # -- versions -------------------------------------------------------------------------

    def set_version(self, ctx: Context, version: ai_pb2.ModelVersion) -> None:
        """Write a version record and its tag index entries."""
        store = self._store(ctx)
        store.set(keys.version_key(version.model_id, version.version), version.SerializeToString())
        for tag in version.tags:
            store.set(keys.tag_prefix(tag) + keys.u64(version.model_id), keys.INDEX_MARKER)

    def get_version(self, ctx: Context, model_id: int, version: str) -> ai_pb2.ModelVersion:
        """One version (``""`` = the model's latest); ErrVersionNotFound otherwise."""
        if not version:
            version = self.get_model(ctx, model_id).latest_version
        raw = self._store(ctx).get(keys.version_key(model_id, version))
        if raw is None:
            raise ErrVersionNotFound.wrap(f"model {model_id} version {version!r}")
        found: ai_pb2.ModelVersion = ai_pb2.ModelVersion.FromString(raw)
        return found

    def versions(self, ctx: Context, model_id: int) -> list[ai_pb2.ModelVersion]:
        """Every version of a model, in key order."""
        store = PrefixStore(self._store(ctx), keys.versions_prefix(model_id))
        return [ai_pb2.ModelVersion.FromString(raw) for _, raw in store.iterate()]

    def iterate_versions(self, ctx: Context) -> Iterator[ai_pb2.ModelVersion]:
        """Every version of every model."""
        for _, raw in PrefixStore(self._store(ctx), keys.VERSION).iterate():
            yield ai_pb2.ModelVersion.FromString(raw)

    # -- artifacts and programs -----------------------------------------------------------

    def set_artifact(self, ctx: Context, artifact: bytes) -> bytes:
        """Store an on-chain artifact under its sha256; return the hash."""
        digest = hashlib.sha256(artifact).digest()
        store = self._store(ctx)
        if not store.has(keys.artifact_key(digest)):
            store.set(keys.artifact_key(digest), artifact)
        return digest

    def get_artifact(self, ctx: Context, sha256: bytes) -> bytes | None:
        """A stored artifact by hash."""
        return self._store(ctx).get(keys.artifact_key(sha256))

    def iterate_artifacts(self, ctx: Context) -> Iterator[bytes]:
        """Every stored artifact, by hash order."""
        for _, raw in PrefixStore(self._store(ctx), keys.ARTIFACT).iterate():
            yield raw

    def program(self, ctx: Context, sha256: bytes, params: AiParams) -> runtime.Program:
        """The compiled program of a stored artifact, its load gas charged to ``ctx``.

        Gas never depends on what this node has cached: the artifact is read through the
        metered store, and the load gas (parse, checks, compile) is charged, in the same two
        stages, as if the program had to be compiled — as the parse reaches each stage on a
        miss, from the cached program's census on a hit. The cache saves time only.

        One exception, the same on every node because it follows from the block alone: in
        FinalizeBlock, a program that an earlier tx of the same block loaded in full costs
        only ``block_reload_gas`` (every node, however cold, compiled it for that tx and
        keeps it until the block ends). CheckTx and Simulate always pay the full load.
        """
        loaded = self._loaded_in_block(ctx)
        if loaded is not None and sha256 in loaded:
            ctx.gas_meter.consume(params.block_reload_gas, "dsm program loaded in this block")
            program = loaded[sha256]
            params.limits.check_model(program.model, program.analysis, params.gas)
            return program
        program = self._load_program(ctx, sha256, params)
        if loaded is not None:
            loaded[sha256] = program
        return program

    def _loaded_in_block(self, ctx: Context) -> dict[bytes, runtime.Program] | None:
        """The programs loaded so far by the block being finalized (None outside one)."""
        return self._block_loaded if ctx.mode is ExecMode.FINALIZE else None

    def begin_block(self) -> None:
        """Forget the programs the previous block loaded (the app calls this before a block's
        txs run, also when a block is executed again after being discarded)."""
        self._block_loaded = {}

    def _load_program(self, ctx: Context, sha256: bytes, params: AiParams) -> runtime.Program:
        """Read the artifact and charge its full load gas; compile it unless cached."""
        artifact = self.get_artifact(ctx, sha256)
        if artifact is None:
            raise ErrVersionNotFound.wrap(f"artifact {sha256.hex()} is not stored")
        gas = params.gas

        def charge(work: runtime.LoadWork) -> None:
            ctx.gas_meter.consume(gas.load(work), "dsm load")

        program = self._programs.get(sha256)
        if program is None:
            program = runtime.load(artifact, charge=charge)
            self.remember_program(sha256, program)
        else:
            self._programs.move_to_end(sha256)
            for stage in program.load_work.stages():
                charge(stage)
        params.limits.check_model(program.model, program.analysis, gas)
        return program

    def remember_program(self, sha256: bytes, program: runtime.Program) -> None:
        """Cache a compiled program (bounded; least recently used evicted first)."""
        self._programs[sha256] = program
        self._programs.move_to_end(sha256)
        if len(self._programs) > PROGRAM_CACHE_SIZE:
            self._programs.popitem(last=False)

    # -- executions -----------------------------------------------------------------------

    def add_execution(self, ctx: Context, record: ai_pb2.ExecutionRecord) -> int:
        """Store an execution record with a fresh id; return the id."""
        record.id = self._next_id(ctx, keys.NEXT_EXECUTION_ID)
        self.set_execution(ctx, record)
        return record.id

    def set_execution(self, ctx: Context, record: ai_pb2.ExecutionRecord) -> None:
        """Write an execution record."""
        self._store(ctx).set(keys.execution_key(record.id), record.SerializeToString())

    def get_execution(self, ctx: Context, execution_id: int) -> ai_pb2.ExecutionRecord:
        """An execution record; ErrExecutionNotFound otherwise."""
        raw = self._store(ctx).get(keys.execution_key(execution_id))
        if raw is None:
            raise ErrExecutionNotFound.wrap(f"execution {execution_id}")
        record: ai_pb2.ExecutionRecord = ai_pb2.ExecutionRecord.FromString(raw)
        return record

    def iterate_executions(self, ctx: Context) -> Iterator[ai_pb2.ExecutionRecord]:
        """Every execution record in id order."""
        for _, raw in PrefixStore(self._store(ctx), keys.EXECUTION).iterate():
            yield ai_pb2.ExecutionRecord.FromString(raw)

    def set_next_ids(self, ctx: Context, model_id: int, execution_id: int) -> None:
        """Restore id counters (genesis import)."""
        store = self._store(ctx)
        store.set(keys.NEXT_MODEL_ID, keys.u64(model_id))
        store.set(keys.NEXT_EXECUTION_ID, keys.u64(execution_id))
