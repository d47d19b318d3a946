"""compute gRPC queries (``/aivm.compute.v1.Query/...``): every list is paginated over a
store prefix, so a query reads only the page it returns (plus filtered-out entries)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.keeper import ComputeKeeper, decode_provider
from aivm.modules.compute.validation import MAX_PRICE_DIGITS
from aivm.modules.framework import Context, QueryRoute
from aivm.store import KVStore, PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest
from aivm.types.numbers import parse_digits

SERVICE = "/aivm.compute.v1.Query/"
STATUSES = tuple(compute_pb2.ProviderStatus.values())
TIERS = tuple(compute_pb2.Tier.values())


def _page(
    req: compute_pb2.QueryProvidersRequest
    | compute_pb2.QueryAsksRequest
    | compute_pb2.QuerySlashRecordsRequest,
) -> pb.pagination.PageRequest | None:
    return req.pagination if req.HasField("pagination") else None


def _check_tier(tier: int) -> None:
    if tier not in TIERS:
        raise ErrInvalidRequest.wrap(f"unknown tier {tier}")


def query_routes(keeper: ComputeKeeper) -> Sequence[QueryRoute]:
    """Params, Provider, Providers, Asks, SlashRecords, ReasonCodes."""

    def params(
        ctx: Context, req: compute_pb2.QueryParamsRequest
    ) -> compute_pb2.QueryParamsResponse:
        return compute_pb2.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def provider(
        ctx: Context, req: compute_pb2.QueryProviderRequest
    ) -> compute_pb2.QueryProviderResponse:
        record = keeper.require_provider(ctx, addr_bytes(req.operator))
        return compute_pb2.QueryProviderResponse(
            provider=record, available=keeper.record_available(ctx, record)
        )

    def providers(
        ctx: Context, req: compute_pb2.QueryProvidersRequest
    ) -> compute_pb2.QueryProvidersResponse:
        if req.status not in STATUSES:
            raise ErrInvalidRequest.wrap(f"unknown status {req.status}")
        _check_tier(req.tier)

        def decode(_: bytes, raw: bytes) -> compute_pb2.Provider | None:
            record = decode_provider(raw)
            if req.status and record.status != req.status:
                return None
            if req.tier and record.tier != req.tier:
                return None
            return record

        found, page = paginate_store(keeper.providers_store(ctx), _page(req), decode)
        return compute_pb2.QueryProvidersResponse(providers=found, pagination=page)

    def asks(ctx: Context, req: compute_pb2.QueryAsksRequest) -> compute_pb2.QueryAsksResponse:
        _check_tier(req.tier)
        if req.model_id == 0 or not 0 < len(req.version.encode()) <= keys.MAX_VERSION_BYTES:
            raise ErrInvalidRequest.wrap("give a model_id and a version")
        limit = None
        if req.max_price:
            limit = parse_digits(req.max_price, MAX_PRICE_DIGITS, ErrInvalidRequest, "max_price")
        store: KVStore = keeper.offer_index(ctx)
        prefix = keys.version_prefix(req.model_id, req.version)[len(keys.OFFER) :]
        if req.tier:
            prefix += bytes([req.tier])
        store = PrefixStore(store, prefix)

        def decode(key: bytes, _: bytes) -> compute_pb2.Ask | None:
            tier: int
            if req.tier:
                tier = req.tier
                price, address = keys.split_ask(key)
            else:
                tier, price, address = keys.split_version_ask(key)
            if limit is not None and price > limit:
                return None
            record = keeper.get_provider(ctx, address)
            if record is None:
                return None
            return compute_pb2.Ask(
                operator=addr_str(address),
                tier=tier,  # type: ignore[arg-type]
                price_per_unit=str(price),
                available=keeper.record_available(ctx, record),
                reputation=record.reputation,
                capacity=record.capacity,
            )

        found, page = paginate_store(store, _page(req), decode)
        return compute_pb2.QueryAsksResponse(asks=found, pagination=page)

    def slash_records(
        ctx: Context, req: compute_pb2.QuerySlashRecordsRequest
    ) -> compute_pb2.QuerySlashRecordsResponse:
        address = addr_bytes(req.operator) if req.operator else None

        def decode(_: bytes, raw: bytes) -> compute_pb2.SlashRecord:
            record: compute_pb2.SlashRecord = compute_pb2.SlashRecord.FromString(raw)
            return record

        found, page = paginate_store(keeper.slash_store(ctx, address), _page(req), decode)
        return compute_pb2.QuerySlashRecordsResponse(records=found, pagination=page)

    def reason_codes(
        ctx: Context, req: compute_pb2.QueryReasonCodesRequest
    ) -> compute_pb2.QueryReasonCodesResponse:
        codes = [
            compute_pb2.ReasonCode(code=r.code, name=r.name, module=r.module)
            for r in keeper.reasons()
        ]
        return compute_pb2.QueryReasonCodesResponse(codes=codes)

    q = compute_pb2
    return [
        QueryRoute(SERVICE + "Params", q.QueryParamsRequest, params),
        QueryRoute(SERVICE + "Provider", q.QueryProviderRequest, provider),
        QueryRoute(SERVICE + "Providers", q.QueryProvidersRequest, providers),
        QueryRoute(SERVICE + "Asks", q.QueryAsksRequest, asks),
        QueryRoute(SERVICE + "SlashRecords", q.QuerySlashRecordsRequest, slash_records),
        QueryRoute(SERVICE + "ReasonCodes", q.QueryReasonCodesRequest, reason_codes),
    ]
