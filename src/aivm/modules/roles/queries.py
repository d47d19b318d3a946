"""roles gRPC queries (``/aivm.roles.v1.Query/...``)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, QueryRoute
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.keeper import (
    RolesKeeper,
    check_role,
    decode_operator,
    decode_work,
    to_int,
)
from aivm.modules.roles.params import ROLES
from aivm.modules.roles.rewards import from_dec_coins, to_dec_coins, total_amounts
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest

SERVICE = "/aivm.roles.v1.Query/"
STATUSES = tuple(roles_pb2.OperatorStatus.values())


def _page(
    req: roles_pb2.QueryOperatorsRequest
    | roles_pb2.QuerySlashRecordsRequest
    | roles_pb2.QueryWorkCountersRequest,
) -> pb.pagination.PageRequest | None:
    return req.pagination if req.HasField("pagination") else None


def query_routes(keeper: RolesKeeper) -> Sequence[QueryRoute]:
    """Params, Operator, Operators, ActiveSet, SlashRecords, Rewards, ReasonCodes,
    WorkCounters."""

    def params(ctx: Context, req: roles_pb2.QueryParamsRequest) -> roles_pb2.QueryParamsResponse:
        return roles_pb2.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def operator(
        ctx: Context, req: roles_pb2.QueryOperatorRequest
    ) -> roles_pb2.QueryOperatorResponse:
        address = addr_bytes(req.operator)
        record = keeper.require_operator(ctx, address, req.role)
        entries = keeper.unbonding_entries(ctx, address, req.role)
        return roles_pb2.QueryOperatorResponse(operator=record, unbonding_entries=entries)

    def operators(
        ctx: Context, req: roles_pb2.QueryOperatorsRequest
    ) -> roles_pb2.QueryOperatorsResponse:
        role = None if req.role == roles_pb2.ROLE_UNSPECIFIED else req.role
        if role is not None:
            check_role(role)
        if req.status not in STATUSES:
            raise ErrInvalidRequest.wrap(f"unknown status {req.status}")
        wanted = req.status

        def decode(_: bytes, raw: bytes) -> roles_pb2.RoleOperator | None:
            record = decode_operator(raw)
            if wanted and record.status != wanted:
                return None
            return record

        found, page = paginate_store(keeper.operators_store(ctx, role), _page(req), decode)
        return roles_pb2.QueryOperatorsResponse(operators=found, pagination=page)

    def active_set(
        ctx: Context, req: roles_pb2.QueryActiveSetRequest
    ) -> roles_pb2.QueryActiveSetResponse:
        check_role(req.role)
        members = keeper.active_set(ctx, req.role)
        members.sort(key=lambda m: (-to_int(m.selection_score), addr_bytes(m.operator)))
        return roles_pb2.QueryActiveSetResponse(members=members)

    def slash_records(
        ctx: Context, req: roles_pb2.QuerySlashRecordsRequest
    ) -> roles_pb2.QuerySlashRecordsResponse:
        role = None if req.role == roles_pb2.ROLE_UNSPECIFIED else req.role
        if role is not None:
            check_role(role)
        address = addr_bytes(req.operator) if req.operator else None
        store = keeper.slash_store(ctx, address, role)

        def decode(_: bytes, raw: bytes) -> roles_pb2.SlashRecord | None:
            record: roles_pb2.SlashRecord = roles_pb2.SlashRecord.FromString(raw)
            return None if role is not None and record.role != role else record

        found, page = paginate_store(store, _page(req), decode)
        return roles_pb2.QuerySlashRecordsResponse(records=found, pagination=page)

    def rewards(ctx: Context, req: roles_pb2.QueryRewardsRequest) -> roles_pb2.QueryRewardsResponse:
        entries = list(keeper.iterate_rewards(ctx, addr_bytes(req.operator)))
        total = total_amounts(from_dec_coins(e.rewards) for e in entries)
        return roles_pb2.QueryRewardsResponse(rewards=entries, total=to_dec_coins(total))

    def reason_codes(
        ctx: Context, req: roles_pb2.QueryReasonCodesRequest
    ) -> roles_pb2.QueryReasonCodesResponse:
        codes = [
            roles_pb2.ReasonCode(code=r.code, name=r.name, module=r.module)
            for r in keeper.reasons()
        ]
        return roles_pb2.QueryReasonCodesResponse(codes=codes)

    def work_counters(
        ctx: Context, req: roles_pb2.QueryWorkCountersRequest
    ) -> roles_pb2.QueryWorkCountersResponse:
        role = None if req.role == roles_pb2.ROLE_UNSPECIFIED else req.role
        if role is not None:
            check_role(role)
        if req.operator:
            address = addr_bytes(req.operator)
            counters = [
                roles_pb2.WorkCounter(operator=req.operator, role=each, units=units)  # type: ignore[arg-type]
                for each in ((role,) if role is not None else ROLES)
                if (units := keeper.get_work(ctx, address, each))
            ]
            return roles_pb2.QueryWorkCountersResponse(counters=counters)
        store = keeper.work_store(ctx, role)

        def decode(key: bytes, raw: bytes) -> roles_pb2.WorkCounter:
            return decode_work(key if role is None else bytes([role]) + key, raw)

        found, page = paginate_store(store, _page(req), decode)
        return roles_pb2.QueryWorkCountersResponse(counters=found, pagination=page)

    return [
        QueryRoute(SERVICE + "Params", roles_pb2.QueryParamsRequest, params),
        QueryRoute(SERVICE + "Operator", roles_pb2.QueryOperatorRequest, operator),
        QueryRoute(SERVICE + "Operators", roles_pb2.QueryOperatorsRequest, operators),
        QueryRoute(SERVICE + "ActiveSet", roles_pb2.QueryActiveSetRequest, active_set),
        QueryRoute(SERVICE + "SlashRecords", roles_pb2.QuerySlashRecordsRequest, slash_records),
        QueryRoute(SERVICE + "Rewards", roles_pb2.QueryRewardsRequest, rewards),
        QueryRoute(SERVICE + "ReasonCodes", roles_pb2.QueryReasonCodesRequest, reason_codes),
        QueryRoute(SERVICE + "WorkCounters", roles_pb2.QueryWorkCountersRequest, work_counters),
    ]
