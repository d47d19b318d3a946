"""Python SDK for the ``compute`` module: register and manage a provider, read providers,
asks and slash records; submit and follow jobs (``run`` does it all: upload, submit, wait,
download, digest check; see ``src/aivm/worker/README.md`` for the input/output conventions).

Example::

    from aivm.client import Client
    from aivm.modules.compute.client import ComputeClient

    with Client("http://127.0.0.1:26657") as client:
        compute = client.modules.compute
        hardware = compute.hardware("H100-SXM", gpu_count=8, gpu_memory_mib=81920,
                                    cpu_cores=96, memory_mib=1 << 20)
        compute.register(wallet, 100_000_000, hardware, ["onnxruntime"],
                         [compute.offer(1, "1.0.0", 250)], capacity=4, moniker="rack-7")
        print([(a.operator, a.price_per_unit) for a in compute.asks(1, "1.0.0")])
        done = compute.run(wallet, 1, "1.0.0", encode_tensor_input(x), max_price_per_unit=300)
        print(done.job.id, done.metadata["shape"], len(done.output))   # raw float32 bytes
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aivm.client.client import Client
from aivm.client.errors import ClientError, TxTimeoutError
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.queries import SERVICE
from aivm.types import pb
from aivm.types.coin import BOND_DENOM


def bid_commitment(job_id: int, price_per_unit: int, salt: bytes) -> bytes:
    """The sealed-bid commitment the chain checks a reveal against:
    ``sha256(job_id (8 bytes BE) ‖ price decimal ‖ 0x00 ‖ salt)``."""
    body = job_id.to_bytes(8, "big") + str(price_per_unit).encode() + b"\x00" + salt
    return hashlib.sha256(body).digest()


STATUS_BY_NAME = {
    "active": compute_pb2.PROVIDER_STATUS_ACTIVE,
    "paused": compute_pb2.PROVIDER_STATUS_PAUSED,
    "exiting": compute_pb2.PROVIDER_STATUS_EXITING,
    "jailed": compute_pb2.PROVIDER_STATUS_JAILED,
}
TIER_BY_NAME = {
    "entry": compute_pb2.TIER_ENTRY,
    "standard": compute_pb2.TIER_STANDARD,
    "high_performance": compute_pb2.TIER_HIGH_PERFORMANCE,
}


# --- jobs ---

SLA_BY_NAME = {
    "standard": compute_pb2.SLA_CLASS_STANDARD,
    "fast": compute_pb2.SLA_CLASS_FAST,
    "batch": compute_pb2.SLA_CLASS_BATCH,
}
CRITICALITY_BY_NAME = {
    "low": compute_pb2.CRITICALITY_LOW,
    "medium": compute_pb2.CRITICALITY_MEDIUM,
    "high": compute_pb2.CRITICALITY_HIGH,
    "critical": compute_pb2.CRITICALITY_CRITICAL,
}
MODE_BY_NAME = {
    "instant": compute_pb2.MATCH_MODE_INSTANT,
    "auction": compute_pb2.MATCH_MODE_AUCTION,
}
JOB_STATE_BY_NAME = {
    name.removeprefix("JOB_STATE_").lower(): value
    for name, value in compute_pb2.JobState.items()
    if value != compute_pb2.JOB_STATE_UNSPECIFIED
}
FINAL_STATES = frozenset(
    {
        compute_pb2.JOB_STATE_COMPLETED,
        compute_pb2.JOB_STATE_EXPIRED_UNMATCHED,
        compute_pb2.JOB_STATE_PROVIDER_TIMEOUT,
        compute_pb2.JOB_STATE_REJECTED_RESULT,
        compute_pb2.JOB_STATE_CANCELLED,
        compute_pb2.JOB_STATE_UNSERVABLE,
    }
)


@dataclass(frozen=True)
class SubmittedJob:
    """A job the chain accepted: its id and the tx."""

    job_id: int
    tx: TxResult


@dataclass(frozen=True)
class RunResult:
    """What :meth:`ComputeClient.run` returns: the completed job, its accepted output bytes
    (digest-checked) and the accepted result's ``runtime_metadata`` (``dtype``, ``shape``)."""

    job: compute_pb2.Job
    output: bytes
    metadata: dict[str, Any] = field(default_factory=dict)


def describe_job(job: compute_pb2.Job) -> str:
    """``job 7 EXPIRED_UNMATCHED (NO_PROVIDER: detail)``: the state and why."""
    text = f"job {job.id} {compute_pb2.JobState.Name(job.state).removeprefix('JOB_STATE_')}"
    reasons = []
    if job.no_match_reason:
        reasons.append(
            compute_pb2.NoMatchReason.Name(job.no_match_reason).removeprefix("NO_MATCH_REASON_")
        )
    if job.reason_detail:
        reasons.append(job.reason_detail)
    return f"{text} ({': '.join(reasons)})" if reasons else text


class JobFailedError(ClientError):
    """A job ended in a final state other than COMPLETED (``job`` holds it)."""

    def __init__(self, job: compute_pb2.Job) -> None:
        super().__init__(f"{describe_job(job)}; refunded {job.refunded or 0}ucgpt")
        self.job = job


class JobTimeoutError(TxTimeoutError):
    """A job was not COMPLETED within the time the caller waited (``job``: its last state)."""

    def __init__(self, job: compute_pb2.Job, timeout: float) -> None:
        super().__init__(f"{describe_job(job)} after waiting {timeout:g} s")
        self.job = job


def job_stage(job: compute_pb2.Job) -> tuple[str, str]:
    """(stage, detail) of a job that is not final, for progress displays."""
    state = job.state
    if state in (compute_pb2.JOB_STATE_OPEN, compute_pb2.JOB_STATE_AUCTION):
        return "waiting for match", describe_job(job)
    if state == compute_pb2.JOB_STATE_RUNNING:
        done = sum(
            1 for a in job.assignments if a.status == compute_pb2.ASSIGNMENT_STATUS_SUBMITTED
        )
        return "running", f"{done}/{job.redundancy or 1} results"
    if state == compute_pb2.JOB_STATE_PENDING_ACCEPTANCE and job.verification_hold:
        level = compute_pb2.Criticality.Name(job.criticality).removeprefix("CRITICALITY_")
        return "verifying", f"{level.lower()} criticality: payment waits for its methods"
    if state == compute_pb2.JOB_STATE_PENDING_ACCEPTANCE:
        return "challenge window", f"accepted at height {job.accept_height}"
    return compute_pb2.JobState.Name(state).lower(), ""


def accepted_metadata(job: compute_pb2.Job) -> dict[str, Any]:
    """The ``runtime_metadata`` JSON of the first result whose digest is the accepted one."""
    for assignment in job.assignments:
        result = assignment.result
        if result.output_digest == job.output_digest and result.runtime_metadata:
            try:
                found = json.loads(result.runtime_metadata)
            except ValueError:
                return {}
            return found if isinstance(found, dict) else {}
    return {}


def inline_output(job: compute_pb2.Job) -> bytes | None:
    """The accepted output of a completed job when a result carries it inline: the
    ``comparison_data`` of a result whose sha256 is the job's ``output_digest`` (providers put
    outputs up to the chain's ``max_comparison_bytes`` there); None when none does."""
    for assignment in job.assignments:
        data = bytes(assignment.result.comparison_data)
        if data and hashlib.sha256(data).digest() == job.output_digest:
            return data
    return None


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))


class ComputeClient:
    """``compute`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float = 30.0) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    @staticmethod
    def hardware(
        gpu_model: str = "",
        gpu_count: int = 0,
        gpu_memory_mib: int = 0,
        cpu_cores: int = 1,
        memory_mib: int = 1024,
    ) -> compute_pb2.Hardware:
        """A hardware declaration (GPU memory per GPU; no GPU fields for CPU only)."""
        return compute_pb2.Hardware(
            gpu_model=gpu_model,
            gpu_count=gpu_count,
            gpu_memory_mib=gpu_memory_mib,
            cpu_cores=cpu_cores,
            memory_mib=memory_mib,
        )

    @staticmethod
    def offer(model_id: int, version: str, price_per_unit: int) -> compute_pb2.Offer:
        """An offer of an off-chain model version at ``price_per_unit`` ucgpt."""
        return compute_pb2.Offer(
            model_id=model_id, version=version, price_per_unit=str(price_per_unit)
        )

    def register(
        self,
        wallet: Wallet,
        collateral: int,
        hardware: compute_pb2.Hardware,
        runtimes: Sequence[str],
        offers: Sequence[compute_pb2.Offer] = (),
        capacity: int = 1,
        moniker: str = "",
        description: str = "",
    ) -> TxResult:
        """Register ``wallet`` as a provider with ``collateral`` ucgpt."""
        msg = compute_pb2.MsgRegisterProvider(
            operator=wallet.address,
            collateral=_coin(collateral),
            hardware=hardware,
            runtimes=list(runtimes),
            offers=list(offers),
            capacity=capacity,
            moniker=moniker,
            description=description,
        )
        return self._submit(wallet, msg)

    def update(
        self,
        wallet: Wallet,
        hardware: compute_pb2.Hardware,
        runtimes: Sequence[str],
        offers: Sequence[compute_pb2.Offer] = (),
        capacity: int = 1,
        moniker: str = "",
        description: str = "",
    ) -> TxResult:
        """Replace the provider's declaration (every field)."""
        msg = compute_pb2.MsgUpdateProvider(
            operator=wallet.address,
            hardware=hardware,
            runtimes=list(runtimes),
            offers=list(offers),
            capacity=capacity,
            moniker=moniker,
            description=description,
        )
        return self._submit(wallet, msg)

    def add_collateral(self, wallet: Wallet, amount: int) -> TxResult:
        """Top up the collateral."""
        msg = compute_pb2.MsgAddCollateral(operator=wallet.address, amount=_coin(amount))
        return self._submit(wallet, msg)

    def heartbeat(self, wallet: Wallet) -> TxResult:
        """Tell the chain the provider is up."""
        return self._submit(wallet, compute_pb2.MsgProviderHeartbeat(operator=wallet.address))

    def pause(self, wallet: Wallet) -> TxResult:
        """Take the offers off the market."""
        return self._submit(wallet, compute_pb2.MsgPauseProvider(operator=wallet.address))

    def resume(self, wallet: Wallet) -> TxResult:
        """Put the offers back."""
        return self._submit(wallet, compute_pb2.MsgResumeProvider(operator=wallet.address))

    def exit(self, wallet: Wallet) -> TxResult:
        """Leave; the collateral comes back after the unbonding time."""
        return self._submit(wallet, compute_pb2.MsgExitProvider(operator=wallet.address))

    def unjail(self, wallet: Wallet) -> TxResult:
        """Leave jail once its time is over."""
        return self._submit(wallet, compute_pb2.MsgUnjailProvider(operator=wallet.address))

    def params(self) -> compute_pb2.Params:
        """Current params."""
        response = self.client.query(
            SERVICE + "Params", compute_pb2.QueryParamsRequest(), compute_pb2.QueryParamsResponse
        )
        found: compute_pb2.Params = response.params
        return found

    def provider(self, operator: str) -> compute_pb2.QueryProviderResponse:
        """A provider's record and whether it is available now."""
        request = compute_pb2.QueryProviderRequest(operator=operator)
        return self.client.query(SERVICE + "Provider", request, compute_pb2.QueryProviderResponse)

    def providers(
        self, status: str | None = None, tier: str | None = None, page_size: int = 100
    ) -> list[compute_pb2.Provider]:
        """Every provider (with ``status``, in ``tier``), page by page."""
        request = compute_pb2.QueryProvidersRequest(
            status=STATUS_BY_NAME[status] if status else 0,  # type: ignore[arg-type]
            tier=TIER_BY_NAME[tier] if tier else 0,  # type: ignore[arg-type]
        )
        request.pagination.limit = page_size
        found: list[compute_pb2.Provider] = []
        while True:
            response = self.client.query(
                SERVICE + "Providers", request, compute_pb2.QueryProvidersResponse
            )
            found.extend(response.providers)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def asks(
        self,
        model_id: int,
        version: str,
        tier: str | None = None,
        max_price: int | None = None,
        limit: int = 100,
    ) -> list[compute_pb2.Ask]:
        """The first ``limit`` asks for a model version, cheapest first (by tier when no
        tier is given)."""
        request = compute_pb2.QueryAsksRequest(
            model_id=model_id,
            version=version,
            tier=TIER_BY_NAME[tier] if tier else 0,  # type: ignore[arg-type]
            max_price="" if max_price is None else str(max_price),
        )
        request.pagination.limit = limit
        response = self.client.query(SERVICE + "Asks", request, compute_pb2.QueryAsksResponse)
        return list(response.asks)

    def slash_records(self, operator: str = "") -> list[compute_pb2.SlashRecord]:
        """Slash records (of ``operator``), first page of 100."""
        request = compute_pb2.QuerySlashRecordsRequest(operator=operator)
        response = self.client.query(
            SERVICE + "SlashRecords", request, compute_pb2.QuerySlashRecordsResponse
        )
        return list(response.records)

    # --- jobs ---

    def submit_job(
        self,
        wallet: Wallet,
        model_id: int,
        version: str,
        max_price_per_unit: int,
        *,
        input_cid: str = "",
        input_inline: bytes = b"",
        input_digest: bytes = b"",
        units: int = 1,
        deadline_blocks: int = 100,
        sla_class: str = "standard",
        criticality: str = "low",
        redundancy: int = 1,
        mode: str = "instant",
        min_tier: str = "entry",
        timeout: float = 30.0,
    ) -> SubmittedJob:
        """Submit a job (escrow is locked); the input is a CID or inline bytes, and
        ``input_digest`` (sha256) defaults to the inline bytes' digest."""
        if not input_digest and not input_cid:
            input_digest = hashlib.sha256(input_inline).digest()
        msg = compute_pb2.MsgSubmitJob(
            client=wallet.address,
            model_id=model_id,
            version=version,
            input_cid=input_cid,
            input_inline=input_inline,
            input_digest=input_digest,
            units=units,
            max_price_per_unit=str(max_price_per_unit),
            deadline_blocks=deadline_blocks,
            sla_class=SLA_BY_NAME[sla_class],
            criticality=CRITICALITY_BY_NAME[criticality],
            redundancy=redundancy,
            mode=MODE_BY_NAME[mode],
            min_tier=TIER_BY_NAME[min_tier],
        )
        result = self._submit(wallet, msg, timeout)
        return SubmittedJob(self._job_id(result, wallet.address), result)

    def _job_id(self, result: TxResult, client: str) -> int:
        """The new job's id: the ``job_id`` attribute of the tx's events, else the client's
        newest job."""
        for event in result.events:
            value = event.get("job_id")
            if event.type == "compute_job_submit" and value is not None and value.isdigit():
                return int(value)
        jobs = self.jobs(client=client)
        if not jobs:
            raise ClientError(f"tx {result.hash} was included but the chain shows no job")
        return max(j.id for j in jobs)

    def cancel_job(self, wallet: Wallet, job_id: int) -> TxResult:
        """Cancel an unmatched job (the escrow is refunded)."""
        return self._submit(wallet, compute_pb2.MsgCancelJob(client=wallet.address, job_id=job_id))

    def top_up_job(
        self,
        wallet: Wallet,
        job_id: int,
        max_price_per_unit: int | None = None,
        extend_blocks: int = 0,
    ) -> TxResult:
        """Raise the max price (the escrow grows) and/or extend the deadline."""
        msg = compute_pb2.MsgTopUpJob(
            client=wallet.address,
            job_id=job_id,
            max_price_per_unit="" if max_price_per_unit is None else str(max_price_per_unit),
            extend_blocks=extend_blocks,
        )
        return self._submit(wallet, msg)

    @staticmethod
    def result_msg(
        provider: str,
        job_id: int,
        output_cid: str,
        output_digest: bytes,
        comparison_data: bytes = b"",
        runtime: str = "",
        runtime_metadata: str = "",
        evidence: bytes = b"",
    ) -> compute_pb2.MsgSubmitResult:
        """A ``MsgSubmitResult`` (the provider node sends several in one tx)."""
        return compute_pb2.MsgSubmitResult(
            provider=provider,
            job_id=job_id,
            output_cid=output_cid,
            output_digest=output_digest,
            comparison_data=comparison_data,
            runtime=runtime,
            runtime_metadata=runtime_metadata,
            evidence=evidence,
        )

    def submit_result(
        self,
        wallet: Wallet,
        job_id: int,
        output_cid: str,
        output_digest: bytes,
        comparison_data: bytes = b"",
        runtime: str = "",
        runtime_metadata: str = "",
        evidence: bytes = b"",
    ) -> TxResult:
        """Submit the result of a job ``wallet`` (a provider) is assigned to."""
        msg = self.result_msg(
            wallet.address,
            job_id,
            output_cid,
            output_digest,
            comparison_data,
            runtime,
            runtime_metadata,
            evidence,
        )
        return self._submit(wallet, msg)

    def report_unservable(self, wallet: Wallet, job_id: int, detail: str) -> TxResult:
        """Tell the chain the job's input could not be fetched (no penalty)."""
        msg = compute_pb2.MsgReportUnservable(provider=wallet.address, job_id=job_id, detail=detail)
        return self._submit(wallet, msg)

    def settle_job(self, wallet: Wallet, job_id: int) -> TxResult:
        """Settle a job whose challenge window has passed (anyone may)."""
        return self._submit(wallet, compute_pb2.MsgSettleJob(sender=wallet.address, job_id=job_id))

    def commit_bid(self, wallet: Wallet, job_id: int, price_per_unit: int, salt: bytes) -> TxResult:
        """A sealed bid on an auction job: only the commitment to (price, salt) goes on chain;
        keep the salt to reveal it after the commit window (``bid_deposit`` is locked)."""
        msg = compute_pb2.MsgCommitBid(
            provider=wallet.address,
            job_id=job_id,
            commitment=bid_commitment(job_id, price_per_unit, salt),
        )
        return self._submit(wallet, msg)

    def reveal_bid(self, wallet: Wallet, job_id: int, price_per_unit: int, salt: bytes) -> TxResult:
        """Reveal a sealed bid during the reveal window."""
        msg = compute_pb2.MsgRevealBid(
            provider=wallet.address, job_id=job_id, price_per_unit=str(price_per_unit), salt=salt
        )
        return self._submit(wallet, msg)

    def reason_codes(self) -> list[compute_pb2.ReasonCode]:
        """The registered provider slash reason codes."""
        response = self.client.query(
            SERVICE + "ReasonCodes",
            compute_pb2.QueryReasonCodesRequest(),
            compute_pb2.QueryReasonCodesResponse,
        )
        return list(response.codes)

    def job(self, job_id: int) -> compute_pb2.Job:
        """One job."""
        request = compute_pb2.QueryJobRequest(job_id=job_id)
        found: compute_pb2.Job = self.client.query(
            SERVICE + "Job", request, compute_pb2.QueryJobResponse
        ).job
        return found

    def jobs(
        self,
        client: str = "",
        provider: str = "",
        state: str | None = None,
        page_size: int = 100,
    ) -> list[compute_pb2.Job]:
        """Every job (of ``client``, assigned to ``provider``, in ``state``), by id."""
        request = compute_pb2.QueryJobsRequest(
            client=client,
            provider=provider,
            state=JOB_STATE_BY_NAME[state] if state else 0,  # type: ignore[arg-type]
        )
        request.pagination.limit = page_size
        found: list[compute_pb2.Job] = []
        while True:
            response = self.client.query(SERVICE + "Jobs", request, compute_pb2.QueryJobsResponse)
            found.extend(response.jobs)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def provider_stats(self, operator: str) -> compute_pb2.QueryProviderStatsResponse:
        """A provider's SLA record, success rate, response time, availability, reputation."""
        request = compute_pb2.QueryProviderStatsRequest(operator=operator)
        return self.client.query(
            SERVICE + "ProviderStats", request, compute_pb2.QueryProviderStatsResponse
        )

    def reference_price(
        self, model_id: int, version: str, tier: str = "entry"
    ) -> compute_pb2.ReferencePrice:
        """The reference price of a model version in a tier."""
        request = compute_pb2.QueryReferencePriceRequest(
            model_id=model_id, version=version, tier=TIER_BY_NAME[tier]
        )
        found: compute_pb2.ReferencePrice = self.client.query(
            SERVICE + "ReferencePrice", request, compute_pb2.QueryReferencePriceResponse
        ).price
        return found

    def run(
        self,
        wallet: Wallet,
        model_id: int,
        version: str,
        data: bytes | str | Path,
        max_price_per_unit: int,
        units: int = 1,
        redundancy: int = 1,
        *,
        deadline_blocks: int = 100,
        sla_class: str = "standard",
        min_tier: str = "entry",
        criticality: str = "low",
        timeout: float = 300.0,
        poll: float = 0.2,
        progress: Callable[[str, str], None] | None = None,
    ) -> RunResult:
        """Run a model version on the market: upload the input (bytes, or a file's path)
        when it is larger than the inline limit, submit the job, wait until it is COMPLETED,
        and return the accepted output, checked against the job's ``output_digest`` (taken
        from the accepted result's ``comparison_data`` when the output was small enough to
        travel inline, else downloaded by ``output_cid``: see :meth:`fetch_output`).

        ``progress(stage, detail)`` is called as the job moves (stages ``upload``,
        ``submitted``, ``waiting for match``, ``running``, ``challenge window``,
        ``inline`` or ``download``, ``done``). Raises :class:`JobFailedError` when the job
        ends in any other final state (its state, reason and detail in the message) and
        :class:`JobTimeoutError` after ``timeout`` seconds.
        """
        report = progress or (lambda stage, detail: None)
        payload = data if isinstance(data, bytes) else Path(data).read_bytes()
        digest = hashlib.sha256(payload).digest()
        inline_max = self.params().max_inline_input_bytes
        cid = ""
        if len(payload) > inline_max:
            report("upload", f"{len(payload)} bytes to the content store")
            cid = self.client.storage.put(payload).cid
        submitted = self.submit_job(
            wallet,
            model_id,
            version,
            max_price_per_unit,
            input_cid=cid,
            input_inline=b"" if cid else payload,
            input_digest=digest,
            units=units,
            deadline_blocks=deadline_blocks,
            sla_class=sla_class,
            criticality=criticality,
            redundancy=redundancy,
            min_tier=min_tier,
        )
        report("submitted", f"job {submitted.job_id} at height {submitted.tx.height}")
        job = self.wait_job(submitted.job_id, timeout, poll, report)
        return self.fetch_output(job, report)

    def wait_job(
        self,
        job_id: int,
        timeout: float = 300.0,
        poll: float = 0.2,
        progress: Callable[[str, str], None] | None = None,
    ) -> compute_pb2.Job:
        """Poll a job until it is COMPLETED; :class:`JobFailedError` on another final
        state, :class:`JobTimeoutError` after ``timeout`` seconds."""
        report = progress or (lambda stage, detail: None)
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            job = self.job(job_id)
            if job.state == compute_pb2.JOB_STATE_COMPLETED:
                return job
            if job.state in FINAL_STATES:
                raise JobFailedError(job)
            stage, detail = job_stage(job)
            if f"{stage}|{detail}" != last:
                report(stage, detail)
                last = f"{stage}|{detail}"
            if time.monotonic() >= deadline:
                raise JobTimeoutError(job, timeout)
            time.sleep(poll)

    def fetch_output(
        self, job: compute_pb2.Job, progress: Callable[[str, str], None] | None = None
    ) -> RunResult:
        """A completed job's accepted output, checked against the job's ``output_digest``.

        Outputs up to the chain's ``max_comparison_bytes`` travel inline: a result's
        ``comparison_data`` that hashes to the digest is the output, and nothing is
        downloaded (stage ``inline``). Otherwise the output is downloaded from the content
        store by the job's ``output_cid`` (stage ``download``)."""
        report = progress or (lambda stage, detail: None)
        output = inline_output(job)
        if output is not None:
            report("inline", f"{len(output)} bytes in the accepted result")
        else:
            report("download", job.output_cid)
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "output"
                self.client.storage.get(job.output_cid, target)
                output = target.read_bytes()
        if hashlib.sha256(output).digest() != job.output_digest:
            raise ClientError(
                f"job {job.id}: the output {job.output_cid} does not match the accepted digest"
            )
        report("done", f"{len(output)} bytes")
        return RunResult(job, output, accepted_metadata(job))

    # --- payment channels ---

    def open_channel(
        self, wallet: Wallet, provider: str, deposit: int, duration_blocks: int
    ) -> TxResult:
        """Open a payment channel to ``provider`` with ``deposit`` ucgpt, expiring after
        ``duration_blocks``; the new id is :meth:`channel_id_of` the result."""
        msg = compute_pb2.MsgOpenChannel(
            client=wallet.address,
            provider=provider,
            deposit=_coin(deposit),
            duration_blocks=duration_blocks,
        )
        return self._submit(wallet, msg)

    @staticmethod
    def channel_id_of(result: TxResult) -> int:
        """The id of the channel an :meth:`open_channel` tx opened."""
        return int(result.attribute("compute_channel_open", "channel_id"))

    def topup_channel(self, wallet: Wallet, channel_id: int, amount: int) -> TxResult:
        """Add ``amount`` ucgpt to an open channel's deposit (the client only)."""
        msg = compute_pb2.MsgTopUpChannel(
            client=wallet.address, channel_id=channel_id, amount=_coin(amount)
        )
        return self._submit(wallet, msg)

    def redeem_voucher(
        self, wallet: Wallet, channel_id: int, cumulative: int, signature: bytes
    ) -> TxResult:
        """Present the client's voucher for ``cumulative`` ucgpt in total (by the provider, or
        the client presenting a later one); it pays after the challenge period."""
        msg = compute_pb2.MsgRedeemVoucher(
            provider=wallet.address,
            channel_id=channel_id,
            cumulative_amount=str(cumulative),
            signature=signature,
        )
        return self._submit(wallet, msg)

    def close_channel(self, wallet: Wallet, channel_id: int) -> TxResult:
        """Close: at once by the provider, after the challenge period by the client."""
        msg = compute_pb2.MsgCloseChannel(sender=wallet.address, channel_id=channel_id)
        return self._submit(wallet, msg)

    def channel(self, channel_id: int) -> compute_pb2.Channel:
        """A payment channel."""
        request = compute_pb2.QueryChannelRequest(channel_id=channel_id)
        response = self.client.query(SERVICE + "Channel", request, compute_pb2.QueryChannelResponse)
        found: compute_pb2.Channel = response.channel
        return found

    def channels(
        self, client: str = "", provider: str = "", page_size: int = 100
    ) -> list[compute_pb2.Channel]:
        """Every channel (of ``client``, to ``provider``), page by page."""
        request = compute_pb2.QueryChannelsRequest(client=client, provider=provider)
        request.pagination.limit = page_size
        found: list[compute_pb2.Channel] = []
        while True:
            response = self.client.query(
                SERVICE + "Channels", request, compute_pb2.QueryChannelsResponse
            )
            found.extend(response.channels)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    @staticmethod
    def sign_voucher(wallet: Wallet, chain_id: str, channel_id: int, cumulative: int) -> bytes:
        """Off line, as the channel's client: the 64-byte signature of a voucher paying
        ``cumulative`` ucgpt in total over ``channel_id`` on ``chain_id``."""
        from aivm.modules.compute.channels import sign_voucher

        return sign_voucher(wallet.private_key.bytes, chain_id, channel_id, cumulative)

    # --- hardware checks ---

    def hardware_challenge(self, challenge_id: int) -> compute_pb2.HardwareChallenge:
        """A hardware challenge."""
        request = compute_pb2.QueryHardwareChallengeRequest(challenge_id=challenge_id)
        response = self.client.query(
            SERVICE + "HardwareChallenge", request, compute_pb2.QueryHardwareChallengeResponse
        )
        found: compute_pb2.HardwareChallenge = response.challenge
        return found

    def hardware_challenges(
        self, provider: str = "", validator: str = "", status: int = 0, page_size: int = 100
    ) -> list[compute_pb2.HardwareChallenge]:
        """Every hardware challenge (of ``provider``; open ones on ``validator``'s committee;
        in ``status``), page by page."""
        request = compute_pb2.QueryHardwareChallengesRequest(
            provider=provider,
            validator=validator,
            status=status,  # type: ignore[arg-type]
        )
        request.pagination.limit = page_size
        found: list[compute_pb2.HardwareChallenge] = []
        while True:
            response = self.client.query(
                SERVICE + "HardwareChallenges", request, compute_pb2.QueryHardwareChallengesResponse
            )
            found.extend(response.challenges)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def answer_hardware_challenge(
        self, wallet: Wallet, challenge_id: int, digest: bytes
    ) -> TxResult:
        """As the challenged provider: answer with the workload ``digest`` (sent as its
        answer hash, so it stays secret until the committee reveals)."""
        from aivm.modules.compute.hardware_checks import hardware_answer_hash

        address = wallet.address
        answer = hardware_answer_hash(challenge_id, wallet.address_bytes, digest)
        msg = compute_pb2.MsgAnswerHardwareChallenge(
            provider=address, challenge_id=challenge_id, answer_hash=answer
        )
        return self._submit(wallet, msg)

    def commit_hardware_verdict(
        self, wallet: Wallet, challenge_id: int, digest: bytes, salt: bytes
    ) -> TxResult:
        """As a committee member: commit to ``digest`` with a secret ``salt`` (keep both for
        :meth:`reveal_hardware_verdict`)."""
        from aivm.modules.compute.hardware_checks import hardware_verdict_commitment

        commitment = hardware_verdict_commitment(challenge_id, wallet.address_bytes, digest, salt)
        msg = compute_pb2.MsgCommitHardwareVerdict(
            validator=wallet.address, challenge_id=challenge_id, commitment=commitment
        )
        return self._submit(wallet, msg)

    def reveal_hardware_verdict(
        self, wallet: Wallet, challenge_id: int, digest: bytes, salt: bytes
    ) -> TxResult:
        """As a committee member, after the commit deadline: open the commitment."""
        msg = compute_pb2.MsgRevealHardwareVerdict(
            validator=wallet.address, challenge_id=challenge_id, digest=digest, salt=salt
        )
        return self._submit(wallet, msg)


# The helper class ``client.modules.compute`` builds, once per Client.
CLIENT = ComputeClient
