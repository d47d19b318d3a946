"""compute job queries (``/aivm.compute.v1.Query/Job|Jobs|ProviderStats|ReferencePrice``) and
their REST routes. ``Jobs`` pages over the by-client or by-provider index when one is given
(reading only that party's jobs), else over every job by id."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.jobs import JobKeeper, decode_job
from aivm.modules.compute.keeper import to_int
from aivm.modules.compute.queries import SERVICE
from aivm.modules.framework import Context, QueryRoute, RestRoute
from aivm.store import KVStore
from aivm.store.pagination import paginate_store
from aivm.types.dec import Dec
from aivm.types.errors import ErrInvalidRequest

J = compute_pb2
STATES = tuple(J.JobState.values())


def provider_figures(
    keeper: JobKeeper, ctx: Context, stats: compute_pb2.ProviderStats
) -> dict[str, str]:
    """Success rate, mean response blocks, availability and reputation of a provider."""
    finished = stats.accepted + stats.timeouts + stats.disagreed
    success = Dec.from_int(stats.accepted).quo_int(finished) if finished else Dec.zero()
    mean = (
        Dec.from_int(stats.response_blocks_total).quo_int(stats.results)
        if stats.results
        else Dec.zero()
    )
    record = keeper.providers.get_provider(ctx, addr_bytes(stats.operator))
    availability = Dec.zero()
    reputation = ""
    if record is not None:
        reputation = record.reputation
        lived = max(1, ctx.header.height - record.registered_height)
        down = min(stats.downtime_blocks, lived)
        availability = Dec.one() - Dec.from_int(down).quo_int(lived)
    return {
        "success_rate": str(success),
        "mean_response_blocks": str(mean),
        "availability": str(availability),
        "reputation": reputation,
    }


def job_query_routes(keeper: JobKeeper) -> Sequence[QueryRoute]:
    """Job, Jobs, ProviderStats, ReferencePrice."""

    def job(ctx: Context, req: compute_pb2.QueryJobRequest) -> compute_pb2.QueryJobResponse:
        return J.QueryJobResponse(job=keeper.require_job(ctx, req.job_id))

    def jobs(ctx: Context, req: compute_pb2.QueryJobsRequest) -> compute_pb2.QueryJobsResponse:
        if req.state not in STATES:
            raise ErrInvalidRequest.wrap(f"unknown state {req.state}")
        if req.client and req.provider:
            raise ErrInvalidRequest.wrap("filter by client or by provider, not both")
        store: KVStore
        if req.client:
            store = keeper.party_store(ctx, keys.JOBS_BY_CLIENT, addr_bytes(req.client))
        elif req.provider:
            store = keeper.party_store(ctx, keys.JOBS_BY_PROVIDER, addr_bytes(req.provider))
        else:
            store = keeper.jobs_store(ctx)
        indexed = bool(req.client or req.provider)

        def decode(key: bytes, raw: bytes) -> compute_pb2.Job | None:
            record = keeper.get_job(ctx, int.from_bytes(key, "big")) if indexed else decode_job(raw)
            if record is None or (req.state and record.state != req.state):
                return None
            return record

        page = req.pagination if req.HasField("pagination") else None
        found, response = paginate_store(store, page, decode)
        return J.QueryJobsResponse(jobs=found, pagination=response)

    def provider_stats(
        ctx: Context, req: compute_pb2.QueryProviderStatsRequest
    ) -> compute_pb2.QueryProviderStatsResponse:
        stats = keeper.get_stats(ctx, addr_bytes(req.operator))
        stats.earned = str(to_int(stats.earned))
        return J.QueryProviderStatsResponse(stats=stats, **provider_figures(keeper, ctx, stats))

    def reference_price(
        ctx: Context, req: compute_pb2.QueryReferencePriceRequest
    ) -> compute_pb2.QueryReferencePriceResponse:
        if req.tier not in (J.TIER_ENTRY, J.TIER_STANDARD, J.TIER_HIGH_PERFORMANCE):
            raise ErrInvalidRequest.wrap("give a tier (entry, standard or high_performance)")
        if req.model_id == 0 or not 0 < len(req.version.encode()) <= keys.MAX_VERSION_BYTES:
            raise ErrInvalidRequest.wrap("give a model_id and a version")
        price = keeper.get_reference_price(ctx, req.model_id, req.version, req.tier)
        if price is None:
            raise ErrInvalidRequest.wrap(
                f"no reference price yet for model {req.model_id} {req.version} in "
                f"{J.Tier.Name(req.tier)} (set by the first match)"
            )
        return J.QueryReferencePriceResponse(price=price)

    return [
        QueryRoute(SERVICE + "Job", J.QueryJobRequest, job),
        QueryRoute(SERVICE + "Jobs", J.QueryJobsRequest, jobs),
        QueryRoute(SERVICE + "ProviderStats", J.QueryProviderStatsRequest, provider_stats),
        QueryRoute(SERVICE + "ReferencePrice", J.QueryReferencePriceRequest, reference_price),
    ]


JOB_REST_ROUTES = (
    RestRoute(
        "/aivm/compute/v1/jobs",
        SERVICE + "Jobs",
        J.QueryJobsRequest,
        J.QueryJobsResponse,
        "Jobs (filter with ?client= or ?provider=, and ?state=; paginated).",
    ),
    RestRoute(
        "/aivm/compute/v1/jobs/{job_id}",
        SERVICE + "Job",
        J.QueryJobRequest,
        J.QueryJobResponse,
        "A job: state, why it is not matched, assignments, results and payouts.",
    ),
    RestRoute(
        "/aivm/compute/v1/providers/{operator}/stats",
        SERVICE + "ProviderStats",
        J.QueryProviderStatsRequest,
        J.QueryProviderStatsResponse,
        "A provider's SLA record: success rate, response time, availability, reputation.",
    ),
    RestRoute(
        "/aivm/compute/v1/reference_price/{model_id}/{version}/{tier}",
        SERVICE + "ReferencePrice",
        J.QueryReferencePriceRequest,
        J.QueryReferencePriceResponse,
        "The reference price of a model version in a tier.",
    ),
)
