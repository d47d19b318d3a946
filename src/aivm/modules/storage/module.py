"""The storage AppModule (queries and genesis live here too: both are small)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format

from aivm.crypto import unixfs
from aivm.modules.addr import addr_bytes
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    ValidatorUpdate,
)
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.storage import holders, keys, msgs, rest
from aivm.modules.storage.errors import ErrObjectNotFound
from aivm.modules.storage.keeper import (
    DEFAULT_PARAMS,
    MAX_HOLDERS_PER_OBJECT,
    StorageKeeper,
    check_params,
    params_from_json,
)
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import storage_pb2

SERVICE = "/aivm.storage.v1.Query/"


class StorageModule:
    """Object records, retention payments and availability challenges."""

    name = "storage"
    consensus_version = 1

    def __init__(self, keeper: StorageKeeper, authority: AuthorityKeeper) -> None:
        self.keeper = keeper
        self.authority = authority

    def msg_routes(self) -> Sequence[MsgRoute]:
        """StoreObject, OpenChallenge, AnswerChallenge, UpdateParams."""
        update = update_params_route(
            storage_pb2.MsgUpdateParams,
            storage_pb2.MsgUpdateParamsResponse,
            self.authority,
            _parse_params,
            self.keeper.set_params,
        )
        return [*msgs.msg_routes(self.keeper), update]

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Expire the open challenges whose deadline is this block (an event for each; a
        scheduled one's assignee is penalised), then open this block's scheduled challenges
        (:mod:`aivm.modules.storage.holders`)."""
        penalised = False
        for challenge in self.keeper.expire_challenges(ctx):
            ctx.emit(
                "aivm.storage.v1.EventChallengeExpired",
                ("challenge_id", str(challenge.id)),
                ("cid", challenge.cid),
                ("challenger", challenge.challenger),
                ("deadline_height", str(challenge.deadline_height)),
            )
            if challenge.assignee:
                penalised = True
                holders.record_miss(self.keeper, ctx, challenge)
        if penalised and self.keeper.roles is not None:
            # roles' EndBlock ran before this one: re-select the sets the penalties changed
            # now, so no slashed operator stays active below its minimum bond for a block
            self.keeper.roles.update_active_sets(ctx)
        holders.schedule(self.keeper, ctx)
        return []

    def query_routes(self) -> Sequence[QueryRoute]:
        """Params, Object, ObjectRecords, Challenge, Holders, HolderObjects, HolderStats,
        AssignedChallenges."""
        keeper = self.keeper

        def params(
            ctx: Context, req: storage_pb2.QueryParamsRequest
        ) -> storage_pb2.QueryParamsResponse:
            return storage_pb2.QueryParamsResponse(params=keeper.get_params(ctx))

        def object_(
            ctx: Context, req: storage_pb2.QueryObjectRequest
        ) -> storage_pb2.QueryObjectResponse:
            msgs.check_cid(req.cid)
            if req.owner:
                found = keeper.get_object(ctx, req.cid, req.owner)
            else:
                found = keeper.first_record(ctx, req.cid)
            return storage_pb2.QueryObjectResponse(object=found)

        def object_records(
            ctx: Context, req: storage_pb2.QueryObjectRecordsRequest
        ) -> storage_pb2.QueryObjectRecordsResponse:
            msgs.check_cid(req.cid)
            pagination = req.pagination if req.HasField("pagination") else None
            records, page = keeper.records_page(ctx, req.cid, pagination)
            return storage_pb2.QueryObjectRecordsResponse(records=records, pagination=page)

        def challenge(
            ctx: Context, req: storage_pb2.QueryChallengeRequest
        ) -> storage_pb2.QueryChallengeResponse:
            return storage_pb2.QueryChallengeResponse(challenge=keeper.get_challenge(ctx, req.id))

        return [
            *_holder_query_routes(keeper),
            QueryRoute(SERVICE + "Params", storage_pb2.QueryParamsRequest, params),
            QueryRoute(SERVICE + "Object", storage_pb2.QueryObjectRequest, object_),
            QueryRoute(
                SERVICE + "ObjectRecords", storage_pb2.QueryObjectRecordsRequest, object_records
            ),
            QueryRoute(SERVICE + "Challenge", storage_pb2.QueryChallengeRequest, challenge),
        ]

    def default_genesis(self) -> dict[str, Any]:
        """Default params, no objects."""
        return {
            "params": json_format.MessageToDict(DEFAULT_PARAMS, preserving_proto_field_name=True)
        }

    def _parse(self, data: dict[str, Any]) -> storage_pb2.GenesisState:
        state = storage_pb2.GenesisState()
        try:
            json_format.ParseDict({k: v for k, v in data.items() if k != "params"}, state)
        except json_format.ParseError as exc:
            raise ErrInvalidRequest.wrap(f"invalid storage genesis: {exc}") from exc
        state.params.CopyFrom(params_from_json(data.get("params", {})))
        return state

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Check params and records: valid CID and owner, one record per (CID, owner), a size
        that fits the CID's kind, and the same size and chunks in every record of a CID; and
        the holders (of CIDs that have records, distinct valid addresses), the holder stats
        and the challenges' assignees."""
        state = self._parse(data)
        _check_genesis_holders(state)
        seen: set[tuple[str, bytes]] = set()
        sizes: dict[str, tuple[int, int]] = {}
        for record in state.objects:
            _check_genesis_record(record)
            key = (record.cid, addr_bytes(record.owner))
            if key in seen:
                raise ErrInvalidRequest.wrap(
                    f"storage genesis has two records of {record.cid} for {record.owner}"
                )
            seen.add(key)
            shape = sizes.setdefault(record.cid, (record.size, record.chunks))
            if shape != (record.size, record.chunks):
                raise ErrInvalidRequest.wrap(f"records of {record.cid} disagree on its size")

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Write params, objects, challenges, holders (an entry for every CID with records;
        its ``retained_until`` at least its records' latest) and holder stats."""
        state = self._parse(data)
        _check_genesis_holders(state)
        self.keeper.set_params(ctx, state.params)
        retained: dict[str, int] = {}
        for record in state.objects:
            self.keeper.set_object(ctx, record)
            retained[record.cid] = max(retained.get(record.cid, 0), record.retained_until)
        for challenge in state.challenges:
            self.keeper.set_challenge(ctx, challenge)
        self.keeper.set_next_challenge_id(ctx, max((c.id for c in state.challenges), default=0) + 1)
        entries = {entry.cid: entry for entry in state.holders}
        for cid in sorted(retained):
            entry = entries.get(cid) or storage_pb2.ObjectHolders(cid=cid)
            entry.retained_until = max(entry.retained_until, retained[cid])
            self.keeper.set_holders(ctx, entry)
        for stats in state.holder_stats:
            self.keeper.set_holder_stats(ctx, stats)
        if state.schedule_cursor:
            self.keeper.set_cursor(ctx, keys.cid_part(state.schedule_cursor))

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Read the storage state back."""
        state = storage_pb2.GenesisState(
            params=self.keeper.get_params(ctx),
            objects=list(self.keeper.iterate_objects(ctx)),
            challenges=list(self.keeper.iterate_challenges(ctx)),
            holders=list(self.keeper.iterate_holders(ctx)),
            holder_stats=list(self.keeper.iterate_holder_stats(ctx)),
        )
        cursor = self.keeper.get_cursor(ctx)
        if cursor:
            state.schedule_cursor = keys.cid_of_part(cursor)
        exported: dict[str, Any] = json_format.MessageToDict(
            state, preserving_proto_field_name=True
        )
        return exported


def _check_genesis_record(record: storage_pb2.StoredObject) -> None:
    """A genesis record must be one the handlers could have written."""
    msgs.check_cid(record.cid)
    addr_bytes(record.owner)
    if record.chunks != unixfs.chunk_count(record.size):
        raise ErrInvalidRequest.wrap(
            f"{record.cid}: {record.size} bytes are not {record.chunks} chunks"
        )
    msgs.check_size_fits_cid(record.cid, record.size)


def _check_genesis_holders(state: storage_pb2.GenesisState) -> None:
    """Holders name CIDs with records, once each, with distinct valid addresses; stats and
    assignees are valid addresses; the cursor, when set, is a valid CID."""
    cids = {record.cid for record in state.objects}
    seen: set[str] = set()
    for entry in state.holders:
        if entry.cid not in cids or entry.cid in seen:
            raise ErrInvalidRequest.wrap(
                f"storage genesis: holders of {entry.cid!r} repeat or name a CID without records"
            )
        seen.add(entry.cid)
        addresses = [addr_bytes(holder) for holder in entry.holders]
        if len(set(addresses)) != len(addresses) or len(addresses) > MAX_HOLDERS_PER_OBJECT:
            raise ErrInvalidRequest.wrap(f"storage genesis: bad holder list of {entry.cid}")
    stats = [addr_bytes(s.holder) for s in state.holder_stats]
    if len(set(stats)) != len(stats):
        raise ErrInvalidRequest.wrap("storage genesis: holder stats repeat a holder")
    for challenge in state.challenges:
        if challenge.assignee:
            addr_bytes(challenge.assignee)
    if state.schedule_cursor:
        msgs.check_cid(state.schedule_cursor)


def _holder_query_routes(keeper: StorageKeeper) -> list[QueryRoute]:
    """Holders, HolderObjects, HolderStats, AssignedChallenges."""

    def holders_(
        ctx: Context, req: storage_pb2.QueryHoldersRequest
    ) -> storage_pb2.QueryHoldersResponse:
        msgs.check_cid(req.cid)
        entry = keeper.get_holders(ctx, req.cid)
        if entry is None:
            raise ErrObjectNotFound.wrap(f"{req.cid} has no record")
        return storage_pb2.QueryHoldersResponse(holders=entry)

    def holder_objects(
        ctx: Context, req: storage_pb2.QueryHolderObjectsRequest
    ) -> storage_pb2.QueryHolderObjectsResponse:
        pagination = req.pagination if req.HasField("pagination") else None
        cids, page = keeper.holder_objects_page(ctx, req.holder, pagination)
        return storage_pb2.QueryHolderObjectsResponse(cids=cids, pagination=page)

    def holder_stats(
        ctx: Context, req: storage_pb2.QueryHolderStatsRequest
    ) -> storage_pb2.QueryHolderStatsResponse:
        return storage_pb2.QueryHolderStatsResponse(stats=keeper.get_holder_stats(ctx, req.holder))

    def assigned(
        ctx: Context, req: storage_pb2.QueryAssignedChallengesRequest
    ) -> storage_pb2.QueryAssignedChallengesResponse:
        pagination = req.pagination if req.HasField("pagination") else None
        found, page = keeper.assigned_page(ctx, req.assignee, pagination)
        return storage_pb2.QueryAssignedChallengesResponse(challenges=found, pagination=page)

    return [
        QueryRoute(SERVICE + "Holders", storage_pb2.QueryHoldersRequest, holders_),
        QueryRoute(
            SERVICE + "HolderObjects", storage_pb2.QueryHolderObjectsRequest, holder_objects
        ),
        QueryRoute(SERVICE + "HolderStats", storage_pb2.QueryHolderStatsRequest, holder_stats),
        QueryRoute(
            SERVICE + "AssignedChallenges", storage_pb2.QueryAssignedChallengesRequest, assigned
        ),
    ]


def _parse_params(ctx: Context | None, proto: storage_pb2.Params) -> storage_pb2.Params:
    params = storage_pb2.Params()
    params.CopyFrom(proto)
    check_params(params)
    return params


def _build(keepers: Keepers) -> tuple[StorageModule, StorageKeeper]:
    keeper = StorageKeeper(keepers.get("bank", BankKeeper), keepers.find("roles", RolesKeeper))
    return StorageModule(keeper, keepers.get("authority", AuthorityKeeper)), keeper


DEFINITION = ModuleDefinition(
    name="storage",
    store_key="storage",
    store_prefix=keys.STORE_PREFIX,
    build=_build,
    module_accounts={keys.MODULE_ACCOUNT: ()},
    rest_routes=rest.ROUTES,
)
