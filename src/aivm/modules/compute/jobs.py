"""Compute jobs: escrow, states, matching, results, SLA records, reputation and settlement.

:class:`JobKeeper` owns the job half of the ``compute/`` prefix (layout in
:mod:`aivm.modules.compute.keys`) and works through :class:`ComputeKeeper` for providers.
Every path a job takes ends in a coded final state (``JobState``) with the client's escrow
paid out or refunded; no path raises out of EndBlock (each step checks what it needs first).

Amounts are integer ``ucgpt``. A job locks ``max_price × units × slots`` at submit, where
``slots`` is the redundancy k plus ``max_escalations`` when k > 1 (the extra providers a
disagreement may call in). Providers are paid their own price (instant) or the clearing
second price (auction) times units, less the protocol fee; the rest is refunded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.modules.compute import compare, compute_pb2, events, keys
from aivm.modules.compute.errors import (
    ErrInvalidJob,
    ErrJobNotFound,
    ErrJobState,
    ErrNotAssigned,
)
from aivm.modules.compute.hooks import AcceptPlan, Payee
from aivm.modules.compute.keeper import ComputeKeeper, to_int
from aivm.modules.compute.matching import Matcher, Search
from aivm.modules.compute.params import ComputeParams
from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore
from aivm.types.coin import BOND_DENOM, Coin, Coins
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

J = compute_pb2
OPEN, AUCTION, RUNNING = J.JOB_STATE_OPEN, J.JOB_STATE_AUCTION, J.JOB_STATE_RUNNING
PENDING, COMPLETED = J.JOB_STATE_PENDING_ACCEPTANCE, J.JOB_STATE_COMPLETED
FINAL_STATES = frozenset(
    {
        J.JOB_STATE_COMPLETED,
        J.JOB_STATE_EXPIRED_UNMATCHED,
        J.JOB_STATE_PROVIDER_TIMEOUT,
        J.JOB_STATE_REJECTED_RESULT,
        J.JOB_STATE_CANCELLED,
        J.JOB_STATE_UNSERVABLE,
    }
)
A_RUNNING, A_SUBMITTED = J.ASSIGNMENT_STATUS_RUNNING, J.ASSIGNMENT_STATUS_SUBMITTED
A_AGREED, A_DISAGREED = J.ASSIGNMENT_STATUS_AGREED, J.ASSIGNMENT_STATUS_DISAGREED
A_TIMED_OUT, A_UNSERVABLE = J.ASSIGNMENT_STATUS_TIMED_OUT, J.ASSIGNMENT_STATUS_UNSERVABLE
A_RELEASED = J.ASSIGNMENT_STATUS_RELEASED
LIVE_ASSIGNMENTS = frozenset({A_RUNNING, A_SUBMITTED, A_AGREED})
"""Assignments that count toward a job's providers (the others were dropped)."""
UNSERVABLE_REPORTS_TO_END = 2
"""Distinct providers reporting the input unavailable that end a job as UNSERVABLE."""
REASON_WRONG_RESULT, REASON_SLA = 2, 3
MATCH_GAS_PER_CANDIDATE = 500
"""Not charged (EndBlock); documents the bounded work per candidate read."""
MAX_BIDS_PER_JOB = 64
"""Sealed bids a job takes at most."""
MAX_RUNTIME_BYTES = 128
MAX_METADATA_BYTES = 1_024
MAX_EVIDENCE_BYTES = 65_536
MAX_DETAIL_BYTES = 280
NO_MATCH_TEXT: dict[int, str] = {
    J.NO_MATCH_REASON_NO_PROVIDER: "no active provider offers this model version",
    J.NO_MATCH_REASON_PRICE_TOO_LOW: "the max price is below every ask in the eligible tiers",
    J.NO_MATCH_REASON_TIER_UNAVAILABLE: "no provider offers it in the required tier or above",
    J.NO_MATCH_REASON_CAPACITY_FULL: "every affordable provider is at capacity",
    J.NO_MATCH_REASON_UNAVAILABLE: "no affordable provider is live (heartbeat or collateral)",
    J.NO_MATCH_REASON_TOO_FEW_PROVIDERS: "fewer eligible providers than the job needs",
    J.NO_MATCH_REASON_DEADLINE_TOO_SHORT: "less time left than the SLA class gives a provider",
    J.NO_MATCH_REASON_NO_BIDS: "not enough valid revealed bids",
    J.NO_MATCH_REASON_INPUT_UNAVAILABLE: "providers reported the input not retrievable",
    J.NO_MATCH_REASON_RUNTIME_MISSING: "no affordable live provider declares the runtime "
    "the model's format needs",
}


def decode_job(raw: bytes) -> compute_pb2.Job:
    """A Job record."""
    job: compute_pb2.Job = compute_pb2.Job.FromString(raw)
    return job


def slots_of(redundancy: int, params: ComputeParams) -> int:
    """Providers a job's escrow covers: k, plus the escalation allowance when k > 1."""
    return redundancy + (params.max_escalations if redundancy > 1 else 0)


def target_providers(job: compute_pb2.Job) -> int:
    """Results a job needs now: k plus the escalations so far."""
    return job.redundancy + job.escalations


def live_count(job: compute_pb2.Job) -> int:
    """Assignments still counting toward the job."""
    return sum(1 for a in job.assignments if a.status in LIVE_ASSIGNMENTS)


def needed_slots(job: compute_pb2.Job) -> int:
    """Providers the matcher still has to find for the job."""
    return max(0, target_providers(job) - live_count(job))


def commitment_of(job_id: int, price: int, salt: bytes) -> bytes:
    """The sealed-bid commitment: ``sha256(job_id(8 BE) ‖ price decimal ‖ 0x00 ‖ salt)``."""
    return hashlib.sha256(keys.u64(job_id) + str(price).encode() + b"\x00" + salt).digest()


@dataclass
class BlockPrices:
    """Clearing prices and load seen this block per (model, version, tier)."""

    prices: dict[tuple[int, str, int], list[int]] = field(default_factory=dict)
    load: dict[tuple[int, str, int], tuple[int, int]] = field(default_factory=dict)


class JobKeeper:
    """Jobs on top of the provider registry."""

    def __init__(self, providers: ComputeKeeper) -> None:
        self.providers = providers
        self.bank = providers.bank
        self.ai = providers.ai
        self._block = BlockPrices()

    # -- storage --------------------------------------------------------------------------

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def get_job(self, ctx: Context, job_id: int) -> compute_pb2.Job | None:
        """The job, or None."""
        raw = self._store(ctx).get(keys.job_key(job_id))
        return None if raw is None else decode_job(raw)

    def require_job(self, ctx: Context, job_id: int) -> compute_pb2.Job:
        """The job, or ErrJobNotFound."""
        job = self.get_job(ctx, job_id)
        if job is None:
            raise ErrJobNotFound.wrap(f"job {job_id}")
        return job

    def set_job(self, ctx: Context, job: compute_pb2.Job) -> None:
        """Write a job record as it is."""
        self._store(ctx).set(keys.job_key(job.id), job.SerializeToString())

    def jobs_store(self, ctx: Context) -> KVStore:
        """Job records keyed by id (8 bytes), for pagination."""
        return PrefixStore(self._store(ctx), keys.JOB)

    def party_store(self, ctx: Context, index: bytes, address: bytes) -> KVStore:
        """The by-client or by-provider index of one address (keys: job id)."""
        return PrefixStore(self._store(ctx), index + keys.op_key(address))

    def iterate_jobs(self, ctx: Context) -> Iterator[compute_pb2.Job]:
        """Every job by id."""
        for _, raw in self.jobs_store(ctx).iterate():
            yield decode_job(raw)

    def next_job_id(self, ctx: Context) -> int:
        """The id the next job gets."""
        raw = self._store(ctx).get(keys.NEXT_JOB_ID)
        return 1 if raw is None else int.from_bytes(raw, "big")

    def set_next_job_id(self, ctx: Context, value: int) -> None:
        """Set the job id counter (genesis import)."""
        self._store(ctx).set(keys.NEXT_JOB_ID, keys.u64(value))

    def get_stats(self, ctx: Context, operator: bytes) -> compute_pb2.ProviderStats:
        """A provider's SLA record (zeros when it has none yet)."""
        raw = self._store(ctx).get(keys.stats_key(operator))
        if raw is None:
            return compute_pb2.ProviderStats(operator=addr_str(operator), earned="0")
        stats: compute_pb2.ProviderStats = compute_pb2.ProviderStats.FromString(raw)
        return stats

    def set_stats(self, ctx: Context, stats: compute_pb2.ProviderStats) -> None:
        """Write a provider's SLA record."""
        key = keys.stats_key(addr_bytes(stats.operator))
        self._store(ctx).set(key, stats.SerializeToString())

    def stats_store(self, ctx: Context) -> KVStore:
        """Every SLA record (keys: op)."""
        return PrefixStore(self._store(ctx), keys.STATS)

    def get_reference_price(
        self, ctx: Context, model_id: int, version: str, tier: int
    ) -> compute_pb2.ReferencePrice | None:
        """The reference price of a model version in a tier, or None before any match."""
        raw = self._store(ctx).get(keys.reference_price_key(model_id, version, tier))
        if raw is None:
            return None
        price: compute_pb2.ReferencePrice = compute_pb2.ReferencePrice.FromString(raw)
        return price

    def set_reference_price(self, ctx: Context, price: compute_pb2.ReferencePrice) -> None:
        """Write a reference price."""
        key = keys.reference_price_key(price.model_id, price.version, price.tier)
        self._store(ctx).set(key, price.SerializeToString())

    def reference_prices_store(self, ctx: Context) -> KVStore:
        """Every reference price."""
        return PrefixStore(self._store(ctx), keys.REFERENCE_PRICE)

    def _queue(self, ctx: Context, queue: bytes, height: int, job_id: int) -> None:
        self._store(ctx).set(keys.height_job_key(queue, height, job_id), keys.MARKER)

    def _unqueue(self, ctx: Context, queue: bytes, height: int, job_id: int) -> None:
        self._store(ctx).delete(keys.height_job_key(queue, height, job_id))

    def _due(self, ctx: Context, queue: bytes, limit: int | None = None) -> list[bytes]:
        """Keys (relative to ``queue``) due at or before this block's height."""
        store = PrefixStore(self._store(ctx), queue)
        out = []
        for key, _ in store.iterate(None, keys.u64(ctx.header.height + 1)):
            out.append(key)
            if limit is not None and len(out) >= limit:
                break
        return out

    def queue_store(self, ctx: Context, queue: bytes) -> KVStore:
        """One of the job queues (for invariants)."""
        return PrefixStore(self._store(ctx), queue)

    # -- money ----------------------------------------------------------------------------

    def _pay(self, ctx: Context, recipient: bytes, amount: int) -> None:
        if amount > 0:
            coins = Coins([Coin(BOND_DENOM, amount)])
            self.bank.send_coins(ctx, self.providers.module_address, recipient, coins)

    def _fee_collector(self) -> bytes:
        return self.bank.accounts.module_addresses[FEE_COLLECTOR]

    def pending_fees(self, ctx: Context) -> int:
        """Protocol fees of jobs settled since the last EndBlock (held by ``compute``)."""
        raw = self._store(ctx).get(keys.PENDING_FEES)
        return 0 if raw is None else to_int(raw.decode())

    def set_pending_fees(self, ctx: Context, amount: int) -> None:
        """Set the pending protocol fees (settlement, genesis)."""
        self._store(ctx).set(keys.PENDING_FEES, str(amount).encode())

    def sweep_protocol_fees(self, ctx: Context) -> int:
        """Move the pending protocol fees to the fee collector, where the fee routing of
        ADR 0014 distributes them (a block-level transfer: no message pays the collector)."""
        amount = self.pending_fees(ctx)
        if amount:
            self._pay(ctx, self._fee_collector(), amount)
            self.set_pending_fees(ctx, 0)
            ctx.emit(events.PROTOCOL_FEES, ("amount", f"{amount}{BOND_DENOM}"))
        return amount

    # -- submit, cancel, top up -----------------------------------------------------------

    def submit(self, ctx: Context, client: bytes, msg: compute_pb2.MsgSubmitJob) -> J.Job:
        """Check the job against the params and the ai registry, lock the escrow and queue
        the job for matching (instant) or open its auction."""
        params = self.providers.get_params(ctx)
        self._check_submit(ctx, msg, params)
        max_price = to_int(msg.max_price_per_unit)
        escrow = max_price * msg.units * slots_of(msg.redundancy, params)
        job_id = self.next_job_id(ctx)
        self.set_next_job_id(ctx, job_id + 1)
        if escrow > 0:
            coins = Coins([Coin(BOND_DENOM, escrow)])
            self.bank.send_coins_to_module(ctx, client, keys.MODULE_ACCOUNT, coins)
        height = ctx.header.height
        job = J.Job(
            id=job_id,
            client=addr_str(client),
            model_id=msg.model_id,
            version=msg.version,
            input_cid=msg.input_cid,
            input_inline=msg.input_inline,
            input_digest=msg.input_digest,
            units=msg.units,
            max_price_per_unit=str(max_price),
            min_tier=msg.min_tier or J.TIER_ENTRY,
            sla_class=msg.sla_class,
            criticality=msg.criticality,
            redundancy=msg.redundancy,
            mode=msg.mode,
            state=OPEN,
            escrow=str(escrow),
            created_height=height,
            deadline_height=height + msg.deadline_blocks,
            protocol_fee="0",
            refunded="0",
        )
        if msg.mode == J.MATCH_MODE_AUCTION:
            job.state = AUCTION
            job.bid_commit_end_height = height + params.bid_window_blocks
            job.bid_reveal_end_height = job.bid_commit_end_height + params.reveal_window_blocks
            self._queue(ctx, keys.AUCTION_QUEUE, job.bid_reveal_end_height, job_id)
        else:
            self._store(ctx).set(keys.MATCH_QUEUE + keys.u64(job_id), keys.MARKER)
        self._queue(ctx, keys.JOB_DEADLINES, job.deadline_height, job_id)
        self._store(ctx).set(keys.party_job_key(keys.JOBS_BY_CLIENT, client, job_id), keys.MARKER)
        self.set_job(ctx, job)
        return job

    def _check_submit(
        self, ctx: Context, msg: compute_pb2.MsgSubmitJob, params: ComputeParams
    ) -> None:
        self.providers.check_version(ctx, msg.model_id, msg.version)
        if len(msg.input_inline) > params.max_inline_input_bytes:
            raise ErrInvalidJob.wrap(
                f"inline input of {len(msg.input_inline)} bytes; at most "
                f"{params.max_inline_input_bytes} (store larger inputs and pass their CID)"
            )
        if not 1 <= msg.redundancy <= params.max_redundancy:
            raise ErrInvalidJob.wrap(f"redundancy must be 1 to {params.max_redundancy}")
        if msg.deadline_blocks > params.max_deadline_blocks:
            raise ErrInvalidJob.wrap(f"deadline at most {params.max_deadline_blocks} blocks")
        response = params.response_blocks(msg.sla_class)
        window = params.bid_window_blocks + params.reveal_window_blocks
        needed = response + (window if msg.mode == J.MATCH_MODE_AUCTION else 0)
        if msg.deadline_blocks < needed:
            raise ErrInvalidJob.wrap(
                f"deadline of {msg.deadline_blocks} blocks is shorter than the {needed} "
                f"blocks the {J.SlaClass.Name(msg.sla_class)} class needs "
                "(SLA response time, plus the bid and reveal windows in auction mode)"
            )
        if self.providers.hooks is not None:
            self.providers.hooks.check_submit(ctx, msg)

    def cancel(self, ctx: Context, client: bytes, job_id: int) -> int:
        """Cancel an OPEN or AUCTION job that has no provider yet: refund the escrow (and
        return bid deposits). Returns the refund."""
        job = self._client_job(ctx, client, job_id)
        if job.state not in (OPEN, AUCTION) or job.assignments:
            raise ErrJobState.wrap(
                f"job {job_id} is {_state(job)}; only a job without providers can be cancelled"
            )
        self._return_deposits(ctx, job)
        return self._finish(ctx, job, J.JOB_STATE_CANCELLED, "cancelled by the client")

    def top_up(
        self, ctx: Context, client: bytes, job_id: int, max_price: int | None, extend: int
    ) -> compute_pb2.Job:
        """Raise the max price (the escrow grows by the difference × units × slots) and/or
        extend the deadline (in total at most ``max_deadline_blocks`` from creation)."""
        job = self._client_job(ctx, client, job_id)
        if job.state in FINAL_STATES or job.state == PENDING:
            raise ErrJobState.wrap(f"job {job_id} is {_state(job)}")
        params = self.providers.get_params(ctx)
        old = to_int(job.max_price_per_unit)
        if max_price is not None:
            if max_price < old:
                raise ErrInvalidJob.wrap(f"the max price can only rise (now {old})")
            extra = (max_price - old) * job.units * slots_of(job.redundancy, params)
            if extra:
                coins = Coins([Coin(BOND_DENOM, extra)])
                self.bank.send_coins_to_module(ctx, client, keys.MODULE_ACCOUNT, coins)
            job.max_price_per_unit = str(max_price)
            job.escrow = str(to_int(job.escrow) + extra)
        if extend:
            deadline = job.deadline_height + extend
            if deadline - job.created_height > params.max_deadline_blocks:
                raise ErrInvalidJob.wrap(
                    f"a deadline at most {params.max_deadline_blocks} blocks after creation"
                )
            self._unqueue(ctx, keys.JOB_DEADLINES, job.deadline_height, job.id)
            job.deadline_height = deadline
            self._queue(ctx, keys.JOB_DEADLINES, deadline, job.id)
        if job.state in (OPEN, RUNNING) and needed_slots(job) > 0:
            self._store(ctx).set(keys.MATCH_QUEUE + keys.u64(job.id), keys.MARKER)
        self.set_job(ctx, job)
        return job

    def _client_job(self, ctx: Context, client: bytes, job_id: int) -> compute_pb2.Job:
        job = self.require_job(ctx, job_id)
        if job.client != addr_str(client):
            raise ErrInvalidJob.wrap(f"job {job_id} belongs to {job.client}")
        return job

    # -- finishing ------------------------------------------------------------------------

    def _finish(self, ctx: Context, job: compute_pb2.Job, state: int, detail: str) -> int:
        """Move ``job`` to a final state, refund what is left of its escrow, release any
        running assignments (no penalty) and clear its queue entries. Returns the refund."""
        refund = to_int(job.escrow)
        self._pay(ctx, addr_bytes(job.client), refund)
        job.refunded = str(to_int(job.refunded) + refund)
        job.escrow = "0"
        for a in job.assignments:
            if a.status in (A_RUNNING, A_SUBMITTED):
                self._release_capacity(ctx, a)
                self._unqueue_assignment(ctx, job.id, a)
                a.status = A_RELEASED
        job.state = state  # type: ignore[assignment]
        job.reason_detail = detail[:MAX_DETAIL_BYTES]
        job.finished_height = ctx.header.height
        self._clear_queues(ctx, job)
        self.set_job(ctx, job)
        ctx.emit(
            events.JOB_FINISHED,
            ("job_id", str(job.id)),
            ("state", J.JobState.Name(state)),
            ("no_match_reason", J.NoMatchReason.Name(job.no_match_reason)),
            ("detail", job.reason_detail),
            ("refunded", f"{refund}{BOND_DENOM}"),
        )
        return refund

    def _clear_queues(self, ctx: Context, job: compute_pb2.Job) -> None:
        store = self._store(ctx)
        store.delete(keys.MATCH_QUEUE + keys.u64(job.id))
        self._unqueue(ctx, keys.JOB_DEADLINES, job.deadline_height, job.id)
        self._unqueue(ctx, keys.AUCTION_QUEUE, job.bid_reveal_end_height, job.id)
        self._unqueue(ctx, keys.SETTLE_QUEUE, job.accept_height, job.id)

    def _unqueue_assignment(self, ctx: Context, job_id: int, a: compute_pb2.Assignment) -> None:
        key = keys.assignment_deadline_key(a.deadline_height, job_id, addr_bytes(a.provider))
        self._store(ctx).delete(key)

    def _release_capacity(self, ctx: Context, a: compute_pb2.Assignment) -> None:
        if a.status != A_RUNNING:
            return
        stats = self.get_stats(ctx, addr_bytes(a.provider))
        stats.active_jobs = max(0, stats.active_jobs - 1)
        self.set_stats(ctx, stats)

    def _return_deposits(self, ctx: Context, job: compute_pb2.Job) -> None:
        for bid in job.bids:
            deposit = to_int(bid.deposit)
            self._pay(ctx, addr_bytes(bid.provider), deposit)
            bid.deposit = "0"

    # -- matching (EndBlock) --------------------------------------------------------------

    def match_jobs(self, ctx: Context) -> int:
        """Walk at most ``max_match_jobs_per_block`` entries of the match queue from the
        cursor (wrapping), assigning providers to each job that needs them (from ask books
        read once for the whole walk: :mod:`aivm.modules.compute.matching`). Returns the
        number of jobs that got at least one provider."""
        params = self.providers.get_params(ctx)
        store = self._store(ctx)
        queue = PrefixStore(store, keys.MATCH_QUEUE)
        cursor = store.get(keys.MATCH_CURSOR) or b""
        limit = params.max_match_jobs_per_block
        ids = [k for k, _ in islice(queue.iterate(cursor or None, None), limit)]
        if len(ids) < limit and cursor:
            ids += [k for k, _ in islice(queue.iterate(None, cursor), limit - len(ids))]
        matcher = Matcher(self, ctx, params)
        matched = 0
        for key in ids:
            job = self.get_job(ctx, int.from_bytes(key, "big"))
            if job is None or job.state not in (OPEN, RUNNING) or needed_slots(job) == 0:
                queue.delete(key)
                continue
            if self._match_one(ctx, job, params, matcher):
                matched += 1
        if ids:
            store.set(keys.MATCH_CURSOR, keys.u64(int.from_bytes(ids[-1], "big") + 1))
        return matched

    def _match_one(
        self, ctx: Context, job: compute_pb2.Job, params: ComputeParams, matcher: Matcher
    ) -> bool:
        need = needed_slots(job)
        remaining = job.deadline_height - ctx.header.height
        if remaining < params.response_blocks(job.sla_class):
            self._no_match(ctx, job, J.NO_MATCH_REASON_DEADLINE_TOO_SHORT)
            self._store(ctx).delete(keys.MATCH_QUEUE + keys.u64(job.id))
            if not job.assignments:
                text = NO_MATCH_TEXT[job.no_match_reason]
                self._finish(ctx, job, J.JOB_STATE_EXPIRED_UNMATCHED, text)
            return False
        search = matcher.search(job, need)
        picked = search.free
        if len(picked) < need and (not job.assignments or not picked):
            self._no_match(ctx, job, _why(search, need))
            return False
        for ask in picked:
            self._assign(ctx, job, ask.operator, ask.price, params)
            matcher.assigned(ask.operator)
            self._block.prices.setdefault(_ref_key(job, ask.tier), []).append(ask.price)
        job.no_match_reason = J.NO_MATCH_REASON_UNSPECIFIED
        job.state = RUNNING
        if needed_slots(job) == 0:
            self._store(ctx).delete(keys.MATCH_QUEUE + keys.u64(job.id))
        self.set_job(ctx, job)
        return True

    def _no_match(self, ctx: Context, job: compute_pb2.Job, reason: int) -> None:
        if job.no_match_reason != reason:
            job.no_match_reason = reason  # type: ignore[assignment]
            job.reason_detail = NO_MATCH_TEXT[reason]
            ctx.emit(
                events.JOB_NO_MATCH,
                ("job_id", str(job.id)),
                ("reason", J.NoMatchReason.Name(reason)),
                ("detail", NO_MATCH_TEXT[reason]),
            )
        self.set_job(ctx, job)

    def _assign(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        operator: bytes,
        price: int,
        params: ComputeParams,
    ) -> None:
        height = ctx.header.height
        deadline = min(height + params.response_blocks(job.sla_class), job.deadline_height)
        assignment = job.assignments.add(
            provider=addr_str(operator),
            price_per_unit=str(price),
            matched_height=height,
            deadline_height=deadline,
            status=A_RUNNING,
            paid="0",
        )
        stats = self.get_stats(ctx, operator)
        stats.assigned += 1
        stats.active_jobs += 1
        self.set_stats(ctx, stats)
        record = self.providers.get_provider(ctx, operator)
        if record is not None:
            key = _ref_key(job, keys.effective_tier(record))
            busy, capacity = self._block.load.get(key, (0, 0))
            self._block.load[key] = (busy + stats.active_jobs, capacity + record.capacity)
        store = self._store(ctx)
        store.set(keys.assignment_deadline_key(deadline, job.id, operator), keys.MARKER)
        store.set(keys.party_job_key(keys.JOBS_BY_PROVIDER, operator, job.id), keys.MARKER)
        ctx.emit(
            events.JOB_MATCHED,
            ("job_id", str(job.id)),
            ("provider", assignment.provider),
            ("price_per_unit", assignment.price_per_unit),
            ("deadline_height", str(deadline)),
        )

    # -- auctions -------------------------------------------------------------------------

    def commit_bid(self, ctx: Context, provider: bytes, job_id: int, commitment: bytes) -> None:
        """A sealed bid during the commit window: the provider must offer the job's model
        version in an eligible tier and be available; ``bid_deposit`` is locked."""
        job = self.require_job(ctx, job_id)
        if job.state != AUCTION or ctx.header.height > job.bid_commit_end_height:
            raise ErrJobState.wrap(f"job {job_id} takes no bids now ({_state(job)})")
        if len(commitment) != 32:
            raise ErrInvalidJob.wrap("a commitment is 32 bytes (sha256)")
        params = self.providers.get_params(ctx)
        name = addr_str(provider)
        if any(b.provider == name for b in job.bids):
            raise ErrInvalidJob.wrap(f"{name} already bid on job {job_id}")
        if len(job.bids) >= MAX_BIDS_PER_JOB:
            raise ErrInvalidJob.wrap(f"job {job_id} has the most bids it takes")
        record = self.providers.require_provider(ctx, provider)
        if not self.providers.record_available(ctx, record):
            raise ErrNotAssigned.wrap(f"{name} is not available")
        if keys.effective_tier(record) < job.min_tier or not any(
            o.model_id == job.model_id and o.version == job.version for o in record.offers
        ):
            raise ErrNotAssigned.wrap(f"{name} does not offer this model version in the tier")
        if params.bid_deposit:
            coins = Coins([Coin(BOND_DENOM, params.bid_deposit)])
            self.bank.send_coins_to_module(ctx, provider, keys.MODULE_ACCOUNT, coins)
        job.bids.add(provider=name, commitment=commitment, deposit=str(params.bid_deposit))
        self.set_job(ctx, job)

    def reveal_bid(
        self, ctx: Context, provider: bytes, job_id: int, price: int, salt: bytes
    ) -> None:
        """Reveal a sealed bid after the commit window: it must match the commitment and be
        at most the job's max price."""
        job = self.require_job(ctx, job_id)
        height = ctx.header.height
        if job.state != AUCTION or not (
            job.bid_commit_end_height < height <= job.bid_reveal_end_height
        ):
            raise ErrJobState.wrap(f"job {job_id} takes no reveals now ({_state(job)})")
        name = addr_str(provider)
        bid = next((b for b in job.bids if b.provider == name), None)
        if bid is None or bid.revealed:
            raise ErrInvalidJob.wrap(f"{name} has no sealed bid to reveal on job {job_id}")
        if commitment_of(job_id, price, salt) != bid.commitment:
            raise ErrInvalidJob.wrap("the price and salt do not match the commitment")
        if price > to_int(job.max_price_per_unit):
            raise ErrInvalidJob.wrap("the bid is above the job's max price")
        bid.revealed = True
        bid.price_per_unit = str(price)
        self.set_job(ctx, job)

    def clear_auctions(self, ctx: Context) -> None:
        """Clear every auction whose reveal window ended: winners are the k cheapest valid
        revealed bids of available providers with free capacity (ties by reputation, then
        address); each is paid the (k+1)-th lowest revealed price, or the job's max price
        when there is none (a uniform second-price auction). Unrevealed deposits are burned,
        revealed ones returned."""
        params = self.providers.get_params(ctx)
        store = self._store(ctx)
        for key in self._due(ctx, keys.AUCTION_QUEUE):
            store.delete(keys.AUCTION_QUEUE + key)
            job = self.get_job(ctx, int.from_bytes(key[8:16], "big"))
            if job is None or job.state != AUCTION:
                continue
            self._clear_auction(ctx, job, params)

    def _clear_auction(self, ctx: Context, job: compute_pb2.Job, params: ComputeParams) -> None:
        revealed: list[tuple[int, Dec, bytes]] = []
        burned = 0
        for bid in job.bids:
            deposit = to_int(bid.deposit)
            bid.deposit = "0"
            if not bid.revealed:
                burned += deposit
                continue
            operator = addr_bytes(bid.provider)
            self._pay(ctx, operator, deposit)
            record = self.providers.get_provider(ctx, operator)
            if record is None or not self.providers.record_available(ctx, record):
                continue
            if self.get_stats(ctx, operator).active_jobs >= record.capacity:
                continue
            reputation = Dec.from_str(record.reputation or "0")
            revealed.append((to_int(bid.price_per_unit), -reputation, operator))
        if burned:
            self.bank.burn_coins(ctx, keys.MODULE_ACCOUNT, Coins([Coin(BOND_DENOM, burned)]))
        revealed.sort()
        k = job.redundancy
        if len(revealed) < k:
            job.no_match_reason = J.NO_MATCH_REASON_NO_BIDS
            self._finish(
                ctx, job, J.JOB_STATE_EXPIRED_UNMATCHED, NO_MATCH_TEXT[job.no_match_reason]
            )
            return
        clearing = revealed[k][0] if len(revealed) > k else to_int(job.max_price_per_unit)
        for _, _, operator in revealed[:k]:
            self._assign(ctx, job, operator, clearing, params)
        job.state = RUNNING
        self.set_job(ctx, job)
        ctx.emit(
            events.AUCTION_CLEARED,
            ("job_id", str(job.id)),
            ("clearing_price", str(clearing)),
            ("bids", str(len(job.bids))),
            ("burned", f"{burned}{BOND_DENOM}"),
        )

    # -- results --------------------------------------------------------------------------

    def submit_result(
        self, ctx: Context, provider: bytes, msg: compute_pb2.MsgSubmitResult
    ) -> compute_pb2.Job:
        """Record a provider's result; when the job has all the results it needs, compare
        them by the model's rule (gas: ``compare.comparison_gas`` per comparison)."""
        job = self.require_job(ctx, msg.job_id)
        a = self._running_assignment(ctx, job, provider)
        params = self.providers.get_params(ctx)
        version = self.ai.get_version(ctx, job.model_id, job.version)
        rule = compare.rule_of(version)
        check_gas = compare.check_gas(rule, len(msg.comparison_data))
        ctx.gas_meter.consume(check_gas, "compute: check result")
        compare.check_result(
            rule, msg.output_digest, msg.comparison_data, params.max_comparison_bytes
        )
        if self.providers.hooks is not None:
            self.providers.hooks.check_result(ctx, job, provider, msg)
        a.result.CopyFrom(
            J.JobResult(
                output_cid=msg.output_cid,
                output_digest=msg.output_digest,
                comparison_data=msg.comparison_data,
                runtime=msg.runtime,
                runtime_metadata=msg.runtime_metadata,
                evidence=msg.evidence,
                submitted_height=ctx.header.height,
            )
        )
        self._release_capacity(ctx, a)
        self._unqueue_assignment(ctx, job.id, a)
        a.status = A_SUBMITTED
        stats = self.get_stats(ctx, provider)
        stats.results += 1
        stats.response_blocks_total += ctx.header.height - a.matched_height
        self.set_stats(ctx, stats)
        self.providers.heartbeat_if_registered(ctx, provider)
        ctx.emit(
            events.RESULT_SUBMITTED,
            ("job_id", str(job.id)),
            ("provider", a.provider),
            ("output_cid", msg.output_cid),
            ("output_digest", msg.output_digest.hex()),
        )
        submitted = [x for x in job.assignments if x.status == A_SUBMITTED]
        if len(submitted) + _agreed(job) >= target_providers(job):
            self._decide(ctx, job, rule, params)
        self.set_job(ctx, job)
        return job

    def _running_assignment(
        self, ctx: Context, job: compute_pb2.Job, provider: bytes
    ) -> compute_pb2.Assignment:
        name = addr_str(provider)
        for a in job.assignments:
            if a.provider == name and a.status == A_RUNNING:
                if ctx.header.height > a.deadline_height:
                    raise ErrJobState.wrap(f"the result was due by height {a.deadline_height}")
                return a
        raise ErrNotAssigned.wrap(f"{name} has no running assignment on job {job.id}")

    def _decide(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        rule: compare.ComparisonRule,
        params: ComputeParams,
        charge: bool = True,
    ) -> None:
        """Compare the results in (k of them, plus escalations): a strict majority is
        accepted after the challenge window and the minority slashed; otherwise escalate
        to one more provider while the allowance lasts, else reject (refund, no slash)."""
        pool = [a for a in job.assignments if a.status in (A_SUBMITTED, A_AGREED)]
        results = [a.result for a in pool]
        size = max((len(r.comparison_data) for r in results), default=0)
        if charge:
            gas = compare.majority_gas(rule, size, len(results))
            ctx.gas_meter.consume(gas, "compute: compare")
        verdict = compare.majority(rule, results)
        if verdict is None:
            if job.escalations < params.max_escalations and job.redundancy > 1:
                job.escalations += 1
                self._store(ctx).set(keys.MATCH_QUEUE + keys.u64(job.id), keys.MARKER)
                ctx.emit(
                    events.JOB_ESCALATED,
                    ("job_id", str(job.id)),
                    ("escalations", str(job.escalations)),
                )
                return
            for a in pool:
                a.status = A_RELEASED
            self._finish(
                ctx, job, J.JOB_STATE_REJECTED_RESULT, "results disagree beyond escalation"
            )
            return
        pivot, agreeing = verdict
        for i, a in enumerate(pool):
            if i in agreeing:
                a.status = A_AGREED
            else:
                self._penalise_wrong(ctx, job, a, params)
        accepted = pool[pivot].result
        job.output_cid, job.output_digest = accepted.output_cid, accepted.output_digest
        job.state = PENDING
        self._store(ctx).delete(keys.MATCH_QUEUE + keys.u64(job.id))
        self._unqueue(ctx, keys.JOB_DEADLINES, job.deadline_height, job.id)
        plan = self._accept_plan(ctx, job, params)
        job.accept_height = ctx.header.height + plan.window_blocks
        job.verification_hold = plan.hold
        if not plan.hold:
            self._queue(ctx, keys.SETTLE_QUEUE, job.accept_height, job.id)
        ctx.emit(
            events.JOB_ACCEPTED,
            ("job_id", str(job.id)),
            ("output_cid", job.output_cid),
            ("output_digest", job.output_digest.hex()),
            ("agreeing", str(len(agreeing))),
            ("accept_height", str(job.accept_height)),
            ("verification_hold", "true" if plan.hold else "false"),
        )

    def _accept_plan(self, ctx: Context, job: compute_pb2.Job, params: ComputeParams) -> AcceptPlan:
        """The verification module's plan for an accepted result; without one, the
        ``challenge_window_blocks`` param and no hold."""
        if self.providers.hooks is None:
            return AcceptPlan(params.challenge_window_blocks, hold=False)
        return self.providers.hooks.on_accepted(ctx, job)

    # -- verification outcomes (called by the verify module) ------------------------------

    def release_verified(self, ctx: Context, job_id: int) -> None:
        """The job's verification passed: it settles once its challenge window is over (at
        the EndBlock of ``max(accept_height, this block)``, or the next block's when this
        block's compute EndBlock already ran). A job not held is left alone."""
        job = self.get_job(ctx, job_id)
        if job is None or job.state != PENDING or not job.verification_hold:
            return
        job.verification_hold = False
        job.accept_height = max(job.accept_height, ctx.header.height)
        self._queue(ctx, keys.SETTLE_QUEUE, job.accept_height, job.id)
        self.set_job(ctx, job)

    def reject_verified(
        self,
        ctx: Context,
        job_id: int,
        detail: str,
        penalty_multiple: int | None,
        payee: Payee | None = None,
    ) -> compute_pb2.Job | None:
        """The job's verification failed. With ``penalty_multiple`` (None: the result could
        not be judged, nobody is at fault) every provider whose result was accepted is
        treated as wrong — unpaid, reputation outcome 0 — and its collateral is slashed by
        ``penalty_multiple × its pay`` (capped at the collateral; 0: the
        ``wrong_result_slash_fraction`` param instead). The job ends REJECTED_RESULT and the
        client is refunded. With a ``payee`` (a dispute's winner) the provider it names is
        slashed ``payee.amount`` instead, paid to ``payee.recipient``. Never raises
        (EndBlock)."""
        job = self.get_job(ctx, job_id)
        if job is None or job.state != PENDING:
            return None
        params = self.providers.get_params(ctx)
        for a in job.assignments:
            if a.status != A_AGREED:
                continue
            if penalty_multiple is None:
                a.status = A_RELEASED
            elif payee is not None and a.provider == payee.provider:
                payee.paid = self._penalise_wrong(
                    ctx, job, a, params, payee.amount, payee.recipient
                )
            else:
                pay = to_int(a.price_per_unit) * job.units
                self._penalise_wrong(ctx, job, a, params, penalty_multiple * pay)
        self._unqueue(ctx, keys.SETTLE_QUEUE, job.accept_height, job.id)
        job.verification_hold = False
        self._finish(ctx, job, J.JOB_STATE_REJECTED_RESULT, detail)
        return job

    def _penalise_wrong(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        a: compute_pb2.Assignment,
        params: ComputeParams,
        penalty: int = 0,
        beneficiary: bytes | None = None,
    ) -> int:
        """A wrong result: unpaid, counted, reputation outcome 0, and a slash of the
        provider's collateral — ``penalty`` ucgpt when given, else the
        ``wrong_result_slash_fraction`` param — burned, or paid to ``beneficiary``. Returns
        the amount slashed."""
        a.status = A_DISAGREED
        operator = addr_bytes(a.provider)
        stats = self.get_stats(ctx, operator)
        stats.disagreed += 1
        self.set_stats(ctx, stats)
        self._reputation(ctx, operator, Dec.zero(), params)
        record = self.providers.get_provider(ctx, operator)
        if record is None:
            return 0
        fraction = params.wrong_result_slash_fraction
        collateral = to_int(record.collateral)
        if penalty > 0 and collateral > 0:
            fraction = min(Dec.from_int(penalty).quo(Dec.from_int(collateral)), Dec.one())
        if not fraction.is_positive():
            return 0
        evidence = hashlib.sha256(keys.u64(job.id) + a.result.output_digest).digest()
        return self.providers.slash_provider(
            ctx, operator, fraction, REASON_WRONG_RESULT, evidence, beneficiary
        )

    def report_unservable(
        self, ctx: Context, provider: bytes, job_id: int, detail: str
    ) -> compute_pb2.Job:
        """A matched provider cannot fetch the input, or the model cannot take it (a
        malformed inline input): its assignment ends without penalty; the job is re-matched,
        or ends UNSERVABLE (refund) once two providers said so. The chain cannot check
        either claim, so one report alone never ends a job."""
        job = self.require_job(ctx, job_id)
        a = self._running_assignment(ctx, job, provider)
        self._release_capacity(ctx, a)
        self._unqueue_assignment(ctx, job.id, a)
        a.status = A_UNSERVABLE
        a.result.runtime_metadata = detail[:MAX_DETAIL_BYTES]
        stats = self.get_stats(ctx, provider)
        stats.unservable += 1
        self.set_stats(ctx, stats)
        reports = sum(1 for x in job.assignments if x.status == A_UNSERVABLE)
        if reports >= UNSERVABLE_REPORTS_TO_END:
            job.no_match_reason = J.NO_MATCH_REASON_INPUT_UNAVAILABLE
            self._finish(ctx, job, J.JOB_STATE_UNSERVABLE, NO_MATCH_TEXT[job.no_match_reason])
            return job
        self._store(ctx).set(keys.MATCH_QUEUE + keys.u64(job.id), keys.MARKER)
        self.set_job(ctx, job)
        return job

    # -- deadlines (EndBlock) -------------------------------------------------------------

    def expire_assignments(self, ctx: Context) -> None:
        """Every assignment past its deadline without a result times out: an SLA violation
        for its provider (reputation, counters, slash and jail after repeated violations);
        the job is re-matched while its deadline allows."""
        params = self.providers.get_params(ctx)
        store = self._store(ctx)
        for key in self._due(ctx, keys.ASSIGNMENT_DEADLINES):
            store.delete(keys.ASSIGNMENT_DEADLINES + key)
            job = self.get_job(ctx, int.from_bytes(key[8:16], "big"))
            if job is None:
                continue
            operator = key[17:]
            name = addr_str(operator)
            for a in job.assignments:
                if a.provider == name and a.status == A_RUNNING:
                    self._time_out(ctx, job, a, params)
            if job.state == RUNNING and needed_slots(job) > 0:
                store.set(keys.MATCH_QUEUE + keys.u64(job.id), keys.MARKER)
            self.set_job(ctx, job)

    def _time_out(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        a: compute_pb2.Assignment,
        params: ComputeParams,
    ) -> None:
        self._release_capacity(ctx, a)
        a.status = A_TIMED_OUT
        operator = addr_bytes(a.provider)
        stats = self.get_stats(ctx, operator)
        stats.timeouts += 1
        height = ctx.header.height
        if height - stats.violation_window_start > params.sla_window_blocks:
            stats.violation_window_start = height
            stats.recent_violations = 0
        stats.recent_violations += 1
        punish = stats.recent_violations >= params.max_sla_violations
        if punish:
            stats.recent_violations = 0
            stats.violation_window_start = height
        self.set_stats(ctx, stats)
        self._reputation(ctx, operator, Dec.zero(), params)
        ctx.emit(
            events.ASSIGNMENT_TIMEOUT,
            ("job_id", str(job.id)),
            ("provider", a.provider),
            ("deadline_height", str(a.deadline_height)),
        )
        if punish and self.providers.get_provider(ctx, operator) is not None:
            if params.sla_slash_fraction.is_positive():
                evidence = hashlib.sha256(b"sla" + keys.u64(job.id) + operator).digest()
                self.providers.slash_provider(
                    ctx, operator, params.sla_slash_fraction, REASON_SLA, evidence
                )
            self.providers.jail_provider(ctx, operator)

    def expire_jobs(self, ctx: Context) -> None:
        """Jobs at their deadline: unmatched ones expire, running ones without accepted
        results end PROVIDER_TIMEOUT (both refund)."""
        store = self._store(ctx)
        for key in self._due(ctx, keys.JOB_DEADLINES):
            store.delete(keys.JOB_DEADLINES + key)
            job = self.get_job(ctx, int.from_bytes(key[8:16], "big"))
            if job is None or job.state in FINAL_STATES or job.state == PENDING:
                continue
            if job.state in (OPEN, AUCTION) or not job.assignments:
                self._return_deposits(ctx, job)
                reason = job.no_match_reason or J.NO_MATCH_REASON_TOO_FEW_PROVIDERS
                job.no_match_reason = reason
                self._finish(ctx, job, J.JOB_STATE_EXPIRED_UNMATCHED, NO_MATCH_TEXT[reason])
            elif not self._accept_partial(ctx, job):
                self._finish(
                    ctx,
                    job,
                    J.JOB_STATE_PROVIDER_TIMEOUT,
                    "the deadline passed without the results the job needs",
                )

    def _accept_partial(self, ctx: Context, job: compute_pb2.Job) -> bool:
        """At the deadline, accept the results that are in when a strict majority of the k
        requested providers agree (the others timed out). True when accepted."""
        submitted = [a for a in job.assignments if a.status == A_SUBMITTED]
        if len(submitted) * 2 <= job.redundancy:
            return False
        params = self.providers.get_params(ctx)
        try:
            rule = compare.rule_of(self.ai.get_version(ctx, job.model_id, job.version))
        except AivmError:
            return False  # the version's rule cannot be read: no partial acceptance (EndBlock)
        verdict = compare.majority(rule, [a.result for a in submitted])
        if verdict is None or len(verdict[1]) * 2 <= job.redundancy:
            return False
        for a in job.assignments:
            if a.status == A_RUNNING:
                self._release_capacity(ctx, a)
                self._unqueue_assignment(ctx, job.id, a)
                a.status = A_RELEASED
        self._decide(ctx, job, rule, params, charge=False)
        self.set_job(ctx, job)
        return job.state == PENDING

    # -- settlement -----------------------------------------------------------------------

    def settle_due(self, ctx: Context) -> int:
        """Settle at most ``max_settlements_per_block`` jobs whose challenge window is over
        (the rest stay queued; anyone may settle one with MsgSettleJob)."""
        params = self.providers.get_params(ctx)
        done = 0
        for key in self._due(ctx, keys.SETTLE_QUEUE, params.max_settlements_per_block):
            job = self.get_job(ctx, int.from_bytes(key[8:16], "big"))
            if job is None or job.state != PENDING or job.verification_hold:
                self._store(ctx).delete(keys.SETTLE_QUEUE + key)
                continue
            self._settle(ctx, job, params)
            done += 1
        return done

    def settle(self, ctx: Context, job_id: int) -> compute_pb2.Job:
        """MsgSettleJob: settle one job whose challenge window is over."""
        job = self.require_job(ctx, job_id)
        if job.state != PENDING:
            raise ErrJobState.wrap(f"job {job_id} is {_state(job)}; nothing to settle")
        if job.verification_hold:
            raise ErrJobState.wrap(
                f"job {job_id} is being verified (`aivm query verify session {job_id}`); "
                "it settles once its methods pass"
            )
        if ctx.header.height < job.accept_height:
            raise ErrJobState.wrap(f"the challenge window runs to height {job.accept_height}")
        self._settle(ctx, job, self.providers.get_params(ctx))
        return job

    def _settle(self, ctx: Context, job: compute_pb2.Job, params: ComputeParams) -> None:
        escrow = to_int(job.escrow)
        fees = 0
        for a in job.assignments:
            if a.status != A_AGREED:
                continue
            gross = min(to_int(a.price_per_unit) * job.units, escrow)
            fee = params.protocol_fee.mul_int(gross).truncate_int()
            operator = addr_bytes(a.provider)
            self._pay(ctx, operator, gross - fee)
            escrow -= gross
            fees += fee
            a.paid = str(gross - fee)
            stats = self.get_stats(ctx, operator)
            stats.accepted += 1
            stats.earned = str(to_int(stats.earned) + gross - fee)
            self.set_stats(ctx, stats)
            self._reputation(ctx, operator, Dec.one(), params)
        self.set_pending_fees(ctx, self.pending_fees(ctx) + fees)
        job.protocol_fee = str(fees)
        job.escrow = str(escrow)
        self._finish(ctx, job, COMPLETED, "accepted")
        ctx.emit(
            events.JOB_SETTLED,
            ("job_id", str(job.id)),
            ("protocol_fee", f"{fees}{BOND_DENOM}"),
        )
        if self.providers.hooks is not None:
            self.providers.hooks.on_settled(ctx, job)

    # -- reputation and reference prices --------------------------------------------------

    def _reputation(
        self, ctx: Context, operator: bytes, outcome: Dec, params: ComputeParams
    ) -> None:
        """EMA: ``rep += alpha × (outcome − rep)``, clipped to [min_reputation, 1]."""
        record = self.providers.get_provider(ctx, operator)
        if record is None:
            return
        rep = Dec.from_str(record.reputation or "0")
        rep = rep + params.reputation_alpha * (outcome - rep)
        rep = min(max(rep, params.min_reputation), Dec.one())
        record.reputation = str(rep)
        self.providers.set_provider(ctx, record)

    def update_reference_prices(self, ctx: Context) -> None:
        """For each (model, version, tier) matched this block: move the reference price
        toward the mean clearing price scaled by utilisation, at most ``reference_price_step``
        (relative) a block. The first match sets it."""
        params = self.providers.get_params(ctx)
        step = params.reference_price_step
        block, self._block = self._block, BlockPrices()
        for key in sorted(block.prices):
            prices = block.prices[key]
            mean = Dec.from_int(sum(prices)).quo_int(len(prices))
            busy, capacity = block.load.get(key, (0, 0))
            if capacity:
                utilization = Dec.from_int(busy).quo_int(capacity)
                mean = mean * (Dec.one() + step * (utilization - params.target_utilization))
            model_id, version, tier = key
            old = self.get_reference_price(ctx, model_id, version, tier)
            if old is None:
                new = mean
            else:
                ref = Dec.from_str(old.price_per_unit)
                new = min(max(mean, ref - ref * step), ref + ref * step)
            self.set_reference_price(
                ctx,
                J.ReferencePrice(
                    model_id=model_id,
                    version=version,
                    tier=tier,  # type: ignore[arg-type]
                    price_per_unit=str(new),
                    updated_height=ctx.header.height,
                ),
            )

    def reset_block(self) -> None:
        """Forget this block's clearing prices (a block that failed, or a new block)."""
        self._block = BlockPrices()

    # -- EndBlock -------------------------------------------------------------------------

    def end_block(self, ctx: Context) -> None:
        """Auctions due, assignment timeouts, job deadlines, matching, settlements, then the
        reference prices of what matched."""
        self.reset_block()
        self.clear_auctions(ctx)
        self.expire_assignments(ctx)
        self.expire_jobs(ctx)
        self.match_jobs(ctx)
        self.settle_due(ctx)
        self.sweep_protocol_fees(ctx)
        self.update_reference_prices(ctx)

    # -- escrow accounting (invariants, genesis) ------------------------------------------

    def restore_job(self, ctx: Context, job: compute_pb2.Job) -> None:
        """Write a job from genesis with its indexes and the queue entries its state implies
        (:meth:`expected_entries`)."""
        self.set_job(ctx, job)
        store = self._store(ctx)
        for key in sorted(expected_entries(job)):
            store.set(key, keys.MARKER)
        if job.state in (OPEN, RUNNING) and needed_slots(job) > 0:
            store.set(keys.MATCH_QUEUE + keys.u64(job.id), keys.MARKER)

    def held(self, ctx: Context) -> int:
        """Escrow plus bid deposits of every job, plus the pending protocol fees."""
        jobs = sum(job_holdings(job) for job in self.iterate_jobs(ctx))
        return jobs + self.pending_fees(ctx)


def expected_entries(job: compute_pb2.Job) -> set[bytes]:
    """Every index and queue key (relative to ``compute/``) a job in its state has. The
    match queue is not included: a job may leave it before it is fully matched (when no
    re-match is possible)."""
    out = {keys.party_job_key(keys.JOBS_BY_CLIENT, addr_bytes(job.client), job.id)}
    for a in job.assignments:
        operator = addr_bytes(a.provider)
        out.add(keys.party_job_key(keys.JOBS_BY_PROVIDER, operator, job.id))
        if a.status == A_RUNNING:
            out.add(keys.assignment_deadline_key(a.deadline_height, job.id, operator))
    if job.state in FINAL_STATES:
        return out
    if job.state == PENDING:
        if not job.verification_hold:  # a held job is queued when the verify module releases it
            out.add(keys.height_job_key(keys.SETTLE_QUEUE, job.accept_height, job.id))
        return out
    out.add(keys.height_job_key(keys.JOB_DEADLINES, job.deadline_height, job.id))
    if job.state == AUCTION:
        out.add(keys.height_job_key(keys.AUCTION_QUEUE, job.bid_reveal_end_height, job.id))
    return out


def job_holdings(job: compute_pb2.Job) -> int:
    """Escrow plus unreturned bid deposits a job holds in the compute account."""
    return to_int(job.escrow) + sum(to_int(b.deposit) for b in job.bids)


def _agreed(job: compute_pb2.Job) -> int:
    return sum(1 for a in job.assignments if a.status == A_AGREED)


def _ref_key(job: compute_pb2.Job, tier: int) -> tuple[int, str, int]:
    return (job.model_id, job.version, tier)


def _state(job: compute_pb2.Job) -> str:
    return J.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()


def _why(search: Search, need: int) -> int:
    if not search.any_offer:
        return J.NO_MATCH_REASON_NO_PROVIDER
    if not search.tier_offer:
        return J.NO_MATCH_REASON_TIER_UNAVAILABLE
    if not search.affordable:
        return J.NO_MATCH_REASON_PRICE_TOO_LOW
    if not search.live:
        return J.NO_MATCH_REASON_UNAVAILABLE
    if not search.runs:
        return J.NO_MATCH_REASON_RUNTIME_MISSING
    if not search.free and search.busy:
        return J.NO_MATCH_REASON_CAPACITY_FULL
    if len(search.free) < need:
        return J.NO_MATCH_REASON_TOO_FEW_PROVIDERS
    return J.NO_MATCH_REASON_UNSPECIFIED
