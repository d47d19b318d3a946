"""The provider node's loop (``aivm provider start``): on each new block it heartbeats when
due, reads its RUNNING assignments from the chain, fetches each model artifact and job
input through the content store (digest-checked, resumable, cached in ``<home>/cache``),
runs queued jobs of one model as one batched onnxruntime call and submits all results of
the round in one transaction. An output of at most the chain's ``max_comparison_bytes``
travels inline in its result (``comparison_data``; ``output_cid`` is computed here and names
exactly those bytes) and is not uploaded unless ``upload-outputs = "always"``; larger outputs
are uploaded to the content store.

DSM model versions (format ``aivm-dsm/1``) run with the on-chain integer semantics
(:class:`aivm.worker.runner.DsmRunner`, runtime ``dsm``): the node computes each job's
execution trace, posts its commitment as the result's evidence (optimistic verification),
keeps the trace in ``<home>/traces/<job>.npz`` until the job settles, and plays its side of
every dispute a challenger opens against it (:class:`aivm.worker.disputes.Player`).

Float models (ONNX, comparison rule ``tolerance``) are verified optimistically too when the
model owner declared the version traceable (``ModelVerification.optimistic_float``) and the
job's criticality rule lists ``METHOD_OPTIMISTIC`` (both read from the chain once per round
that needs them): such a job is not batched but run through the model's
:class:`aivm.ai.verify.trace.OnnxTracer` (built once per artifact), and its output is the
traced run's last tensor; the trace is committed, kept and played like a DSM one, except that
at the final step the provider opens the disputed node's inputs and its claim for a vote of
AI validators (:func:`aivm.worker.disputes.float_final_step_msg`). A model whose graph output
is not its last node's output cannot be traced: its jobs run as usual, without evidence (the
chain then refuses the result; the node logs why).

Hardware checks: each block the node answers the compute module's open hardware challenges
of this provider (:func:`aivm.worker.hardware_checks.answer_hardware_challenges`: one query
when none is open; errors are logged, never fatal). The workload runs on a background thread
(:class:`~aivm.worker.hardware_checks.BackgroundWorkload`), so a large one never holds up
jobs; the answer goes out at the first block after it is computed.

Restart safety (``kill -9``): the chain is the source of truth. A result is sent only for an
assignment the chain shows RUNNING, re-read just before signing; the hash of every result tx
is written to ``<home>/state/submitted.json`` *before* it is broadcast, and a job with a
journalled tx is not served again until that tx is found in a block (or has not been found
for :data:`RESEND_AFTER_BLOCKS` blocks, when it is dropped and the job re-read). Outputs are
kept in ``<home>/outputs`` so a restart does not recompute them.

Example::

    node = ProviderNode(home, config, wallet, Client(config.node, rest=config.rest))
    node.run(stop_event)     # logs "job 12: fetched input (3.1 KiB)" ... per step
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests

import aivm.modules.compute.compute_pb2 as compute_pb2
from aivm.ai import runtime
from aivm.client.client import Client
from aivm.client.errors import ChainError, ClientError
from aivm.client.results import TxResult
from aivm.client.storage import StorageClient, StorageError
from aivm.client.wallet import Wallet
from aivm.crypto import unixfs
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.worker import disputes, formats, hardware_checks, toploc_lm
from aivm.worker.blocks import BlockFollower
from aivm.worker.config import ProviderConfig
from aivm.worker.outputs import OutputStore, Saved
from aivm.worker.runner import DsmRunner, ModelRunner, Runner, load_runner, runtime_name

DSM_FORMAT = runtime.FORMAT
METHOD_OPTIMISTIC = 2
"""``aivm.verify.v1.METHOD_OPTIMISTIC`` (policy rules list methods by number)."""
RESEND_AFTER_BLOCKS = 20
"""A journalled result tx not found in a block after this many blocks is given up on (the
job is re-read from the chain and served again if it is still RUNNING)."""
UPLOAD_THREADS = 8
"""Outputs of a round are uploaded this many at a time."""
KEPT_ROUNDS = 100
"""Timings of this many serving rounds are kept (``ProviderNode.rounds``)."""
HOLD_ENV = "AIVM_WORKER_HOLD"
"""Test hook: ``STEP:SECONDS`` pauses the node after ``ran`` (outputs computed, nothing
sent) or ``sent`` (result tx broadcast, not yet confirmed), so a test can kill it there."""
FAULT_ENV = "AIVM_WORKER_FAULT"
"""Test hook: ``wrong-output`` makes the node a liar (every output is altered before it is
saved and submitted: +1 on every float32 element or token id, the first byte flipped
otherwise); ``random-output`` a lazy provider (random bytes of the output's length, the model
never consulted); ``wrong-trace`` a consistent cheater on DSM jobs (one intermediate tensor
changed and every later one recomputed from it: a wrong output with a trace commitment that
matches it, :func:`aivm.worker.disputes.tampered`; on optimistic float jobs the output tensor
moved by 0.25, :func:`aivm.worker.disputes.tampered_float`); for tests of comparison,
escalation, verification, disputes and slashing. On an optimistic job the wrong and random
outputs are committed in the trace too (its last tensor), so the chain accepts the result and
verification has to catch it."""
RUNNING = compute_pb2.ASSIGNMENT_STATUS_RUNNING
SETTLED = {
    compute_pb2.JOB_STATE_COMPLETED,
    compute_pb2.JOB_STATE_EXPIRED_UNMATCHED,
    compute_pb2.JOB_STATE_PROVIDER_TIMEOUT,
    compute_pb2.JOB_STATE_REJECTED_RESULT,
    compute_pb2.JOB_STATE_CANCELLED,
    compute_pb2.JOB_STATE_UNSERVABLE,
}
"""Job states after which no dispute can come: a kept trace is dropped."""
TRACE_SWEEP_BLOCKS = 10
"""Kept traces are checked against their job's state every this many blocks."""
Log = Callable[[str], None]


def size_text(n: int) -> str:
    """``3.1 KiB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1 << 20):.1f} MiB"


def job_list(ids: Sequence[int], shown: int = 8) -> str:
    """``job 4``, ``jobs 4, 5, 6``, or ``jobs 1, 2, 3 … 256 (256 jobs)`` for long lists."""
    if len(ids) == 1:
        return f"job {ids[0]}"
    if len(ids) <= shown:
        return "jobs " + ", ".join(map(str, ids))
    head = ", ".join(map(str, ids[: shown - 1]))
    return f"jobs {head} … {ids[-1]} ({len(ids)} jobs)"


def tx_hash(raw: bytes) -> str:
    """CometBFT's hash of a tx (uppercase hex sha256)."""
    return hashlib.sha256(raw).hexdigest().upper()


class Journal:
    """``<home>/state/submitted.json``: ``{job_id: {"tx": hash, "height": sent at}}``,
    rewritten atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[int, dict[str, Any]] = {}
        if path.exists():
            with contextlib.suppress(ValueError, OSError):
                loaded = json.loads(path.read_text())
                self.entries = {int(k): v for k, v in loaded.items()}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(k): v for k, v in sorted(self.entries.items())}))
        os.replace(tmp, self.path)

    def add(self, job_ids: Sequence[int], tx: str, height: int) -> None:
        """Record that ``tx`` carries the results of ``job_ids``."""
        for job_id in job_ids:
            self.entries[job_id] = {"tx": tx, "height": height}
        self._save()

    def drop(self, job_ids: Sequence[int]) -> None:
        """Forget ``job_ids``."""
        for job_id in job_ids:
            self.entries.pop(job_id, None)
        self._save()


@dataclass
class Work:
    """One assignment being served in this round."""

    job: compute_pb2.Job
    data: bytes = b""
    output: formats.Output | None = None
    cid: str = ""
    inline: bool = False
    """The output travels in the result as ``comparison_data`` (small enough)."""
    reused: bool = False
    """The output was computed before a restart (kept in ``<home>/outputs``)."""
    kept: disputes.KeptTrace | None = None
    """The execution trace of a DSM or optimistic float job (its commitment goes in the
    evidence)."""
    format: str = ""
    """``aivm-dsm/1`` for a DSM job (the runtime the result names)."""
    batch: int = 1
    millis: float = 0.0


@dataclass
class RoundTimes:
    """Where the time of one serving round went (``time.perf_counter`` seconds), kept in
    :attr:`ProviderNode.rounds` and logged as one line per round. ``busy`` runs from reading
    the assignments to the result tx's broadcast returning (CheckTx passed)."""

    height: int
    jobs: int = 0
    results: int = 0
    started: float = field(default_factory=time.perf_counter)
    phases: dict[str, float] = field(default_factory=dict)
    broadcast_at: float = 0.0
    ended: float = 0.0
    """When the round ended (its result tx found in a block, or given up)."""
    result_height: int = 0
    """The height of the block holding the round's (last) result tx."""

    def add(self, phase: str, since: float) -> float:
        """Add the time since ``since`` to ``phase``; returns now."""
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now

    @property
    def busy(self) -> float:
        """Seconds from reading the assignments to the broadcast (0 before it)."""
        return self.broadcast_at - self.started if self.broadcast_at else 0.0

    def summary(self) -> str:
        """``256 jobs, 256 results in 412 ms (query 20, fetch 9, …)``."""
        parts = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in self.phases.items())
        return f"{self.jobs} jobs, {self.results} results in {self.busy * 1e3:.0f} ms ({parts})"


class ProviderNode:
    """A provider node serving its assignments (see the module docstring)."""

    def __init__(
        self,
        home: Path,
        config: ProviderConfig,
        wallet: Wallet,
        client: Client,
        log: Log | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.wallet = wallet
        self.address = wallet.address
        self.client = client
        # the module SDK helpers, reached through the module list at run time
        self.compute: Any = client.modules.compute
        self.ai: Any = client.modules.ai
        self.verify: Any = client.modules.verify
        self.toploc_versions: dict[tuple[int, str], bool] = {}
        self.storage = StorageClient(config.rest)
        self._local = threading.local()
        self.log: Log = log or (lambda line: print(line, flush=True))
        self.cache = home / "cache"
        self.outputs = home / "outputs"
        self.journal = Journal(home / "state" / "submitted.json")
        self.runners: dict[tuple[int, str], tuple[Runner, str]] = {}
        self.given_up: set[int] = set()
        self.heartbeat_every = 1
        self.last_heartbeat = -(10**9)
        self.hold = _parse_hold(os.environ.get(HOLD_ENV, ""))
        self.lies = os.environ.get(FAULT_ENV, "") == "wrong-output"
        self.lazy = os.environ.get(FAULT_ENV, "") == "random-output"
        self.wrong_trace = os.environ.get(FAULT_ENV, "") == "wrong-trace"
        self.traces = disputes.TraceStore(home / "traces")
        """DSM traces kept for disputes until their job settles."""
        self.player = disputes.Player(client, wallet, self._dispute_source, self.log)
        self.last_sweep = -(10**9)
        self.disputes_unreadable = False
        self.policy: dict[int, set[int]] | None = None
        """Methods by criticality (verify params), read once per round that needs them."""
        self.float_versions: dict[tuple[int, str], bool] = {}
        """Versions declared ``optimistic_float`` (read once per round that needs them)."""
        self.untraceable: set[tuple[int, str]] = set()
        """ONNX model versions whose trace cannot be committed (logged once)."""
        self.hardware_failed = False
        self.workload = hardware_checks.BackgroundWorkload()
        """Hardware workloads run on a background thread (the block loop never waits)."""
        self.inline_limit: int | None = None
        """The chain's ``max_comparison_bytes``, read once (outputs up to it go inline)."""
        self.kept: OutputStore | None = None
        self.rounds: list[RoundTimes] = []
        """The timings of the last :data:`KEPT_ROUNDS` rounds that served jobs."""
        self._round: RoundTimes | None = None

    # -- the loop -------------------------------------------------------------------------

    def run(self, stop: threading.Event, follower: BlockFollower | None = None) -> None:
        """Serve until ``stop`` is set: one :meth:`step` per new block."""
        own = follower is None
        follower = follower or BlockFollower(self.config.node, self.config.poll_seconds, self.log)
        follower.start()
        params = self.compute.params()
        self.heartbeat_every = max(1, int(params.heartbeat_timeout_blocks) // 3)
        self.inline_limit = int(params.max_comparison_bytes)
        height = follower.wait_beyond(0, 30)
        self.log(
            f"provider {self.address} started at height {height} "
            f"({len(self.journal.entries)} result txs in the journal, "
            f"heartbeat every {self.heartbeat_every} blocks)"
        )
        self._check_registered()
        # a tx sent before a kill may still be in the mempool: let one block pass first
        height = follower.wait_beyond(height, 30)
        try:
            while not stop.is_set():
                try:
                    self.step(height)
                except (ClientError, requests.RequestException, OSError) as exc:
                    self.log(f"round at height {height} failed: {exc}; retrying next block")
                except Exception as exc:  # a long-lived node logs a bug and keeps serving
                    self.log(f"round at height {height} failed: {type(exc).__name__}: {exc}")
                height = follower.wait_beyond(height, 5)
        finally:
            if own:
                follower.stop()

    def _check_registered(self) -> None:
        """Log whether the chain knows this provider and which offers it has there."""
        try:
            found = self.compute.provider(self.address)
        except ChainError as exc:
            self.log(
                f"provider {self.address} is not registered ({exc}); register it with "
                "'aivm tx compute register-provider' (see 'aivm provider init')"
            )
            return
        record = found.provider
        offers = ", ".join(f"{o.model_id}:{o.version}:{o.price_per_unit}" for o in record.offers)
        status = compute_pb2.ProviderStatus.Name(record.status).removeprefix("PROVIDER_STATUS_")
        self.log(f"on chain: {status}, available={found.available}, offers {offers or 'none'}")

    def step(self, height: int) -> None:
        """One round at ``height``: heartbeat, settle the journal, serve new assignments."""
        if height - self.last_heartbeat >= self.heartbeat_every:
            self._send([compute_pb2.MsgProviderHeartbeat(operator=self.address)], [], height)
            self.last_heartbeat = height
        self._check_journal(height)
        self._disputes(height)
        self._hardware(height)
        self.policy = None
        self.float_versions = {}
        times = RoundTimes(height)
        work = self._assigned(height)
        if not work:
            return
        times.jobs = len(work)
        times.add("query", times.started)
        self._round = times
        try:
            self._serve(work, height)
        finally:
            times.ended = time.perf_counter()
            self._round = None
            self.rounds = [*self.rounds[1 - KEPT_ROUNDS :], times]
            self.log(f"round at height {height}: {times.summary()}")

    # -- what to serve --------------------------------------------------------------------

    def _mine(self, job: compute_pb2.Job) -> compute_pb2.Assignment | None:
        for assignment in job.assignments:
            if assignment.provider == self.address and assignment.status == RUNNING:
                found: compute_pb2.Assignment = assignment
                return found
        return None

    def _assigned(self, height: int) -> list[Work]:
        """Jobs with a RUNNING assignment of this provider, not journalled, not given up."""
        work = []
        for job in self.compute.jobs(provider=self.address, state="running"):
            mine = self._mine(job)
            if mine is None or job.id in self.journal.entries or job.id in self.given_up:
                continue
            if mine.deadline_height and mine.deadline_height < height:
                self.log(f"job {job.id}: deadline {mine.deadline_height} passed; skipped")
                self.given_up.add(job.id)
                continue
            work.append(Work(job))
        return work

    def _check_journal(self, height: int) -> None:
        """Drop journalled txs found in a block, and those lost for too long."""
        for job_id, entry in sorted(self.journal.entries.items()):
            found = self.client.tx(entry["tx"])
            if found is not None:
                if not found.ok:
                    self.log(f"job {job_id}: result tx {entry['tx'][:10]}… failed: {found.log}")
                self.journal.drop([job_id])
            elif height - int(entry["height"]) > RESEND_AFTER_BLOCKS:
                self.log(f"job {job_id}: result tx {entry['tx'][:10]}… lost; re-reading the job")
                self.journal.drop([job_id])

    # -- serving --------------------------------------------------------------------------

    def _serve(self, work: list[Work], height: int) -> None:
        groups: dict[tuple[int, str], list[Work]] = {}
        for item in work:
            groups.setdefault((item.job.model_id, item.job.version), []).append(item)
        msgs: list[pb.Message] = []
        for key in sorted(groups):
            since = time.perf_counter()
            try:
                runner, rule = self._runner(*key)
            except (ClientError, formats.FormatError, requests.RequestException, OSError) as exc:
                self.log(f"model {key[0]} v{key[1]}: cannot load the artifact: {exc}")
                continue
            since = self._lap("model", since)
            ready = [w for w in groups[key] if self._fetch_input(w, msgs)]
            since = self._lap("fetch", since)
            ready = [w for w in ready if self._compute(runner, rule, ready, w, msgs)]
            since = self._lap("run", since)
            self._save_outputs(ready)
            since = self._lap("save", since)
            ready = self._place_outputs(ready)
            since = self._lap("outputs", since)
            msgs.extend(self._result_msg(w, rule) for w in ready)
            self._lap("messages", since)
        self._pause("ran")
        if msgs:
            self._send_results(msgs, height)

    def _lap(self, phase: str, since: float) -> float:
        """Count the time since ``since`` to ``phase`` of the current round; returns now."""
        if self._round is None:
            return time.perf_counter()
        return self._round.add(phase, since)

    def _runner(self, model_id: int, version: str) -> tuple[Runner, str]:
        key = (model_id, version)
        if key not in self.runners:
            found = self.ai.version(model_id, version)
            rule = formats.comparison_rule(found)
            path = self._artifact(found)
            runner = load_runner(path, found.format, self.config.max_batch)
            self.runners[key] = (runner, "exact" if isinstance(runner, DsmRunner) else rule)
        return self.runners[key]

    def _artifact(self, version: Any) -> Path:
        """The model file in the cache, downloaded by CID and checked against its sha256."""
        return fetch_artifact(self.storage, self.cache, version, self.log)

    def _fetch_input(self, item: Work, msgs: list[pb.Message]) -> bool:
        """The job's input (inline or from the content store), digest-checked; an input that
        cannot be had is reported unservable."""
        job = item.job
        try:
            if job.input_cid:
                path = self.cache / "inputs" / job.input_cid
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    self.storage.get(job.input_cid, path)
                data = path.read_bytes()
            else:
                data = bytes(job.input_inline)
            if hashlib.sha256(data).digest() != job.input_digest:
                raise formats.FormatError("the input does not match the job's input digest")
        except (StorageError, formats.FormatError, requests.RequestException, OSError) as exc:
            return self._unservable(item, f"input not retrievable: {exc}", msgs)
        item.data = data
        where = "inline" if not job.input_cid else job.input_cid[:16] + "…"
        self.log(f"job {job.id}: fetched input ({size_text(len(data))}, {where})")
        return True

    def _unservable(self, item: Work, detail: str, msgs: list[pb.Message]) -> bool:
        self.log(f"job {item.job.id}: {detail}; reporting it unservable")
        msgs.append(
            compute_pb2.MsgReportUnservable(
                provider=self.address, job_id=item.job.id, detail=detail[:256]
            )
        )
        return False

    def _compute(
        self,
        runner: Runner,
        rule: str,
        ready: list[Work],
        item: Work,
        msgs: list[pb.Message],
    ) -> bool:
        """Compute ``item``'s output; the first call of a round runs every tensor job of
        ``ready`` as one batch (a DSM job: its trace, whose last tensor is the output)."""
        if isinstance(runner, DsmRunner):
            if item.output is None:
                try:
                    self._run_dsm(runner, item)
                except formats.FormatError as exc:
                    return self._unservable(item, f"input not usable: {exc}", msgs)
                self._apply_output_faults(item, rule)
            return True
        if isinstance(runner, ModelRunner) and self._traced(runner, rule, item.job):
            if item.output is None:
                try:
                    self._run_onnx_trace(runner, item)
                except formats.FormatError as exc:
                    return self._unservable(item, f"input not usable: {exc}", msgs)
                self._apply_output_faults(item, rule)
            return True
        if item.output is not None or self._load_output(item):
            return True
        try:
            if rule == "tokens":
                self._generate(runner, item)
            else:
                batch = [
                    w for w in ready if w.output is None and not self._traced(runner, rule, w.job)
                ]
                self._run_batch(runner, rule, batch)
        except formats.FormatError as exc:
            return self._unservable(item, f"input not usable: {exc}", msgs)
        if item.output is None:
            return self._unservable(item, "input not usable", msgs)
        self._apply_output_faults(item, rule)
        return True

    def _apply_output_faults(self, item: Work, rule: str) -> None:
        """The wrong-output and random-output test hooks (see :data:`FAULT_ENV`)."""
        if item.output is None:
            return
        if self.lies:
            item.output = wrong(item.output, rule)
            self.log(f"job {item.job.id}: altered the output ({FAULT_ENV})")
        elif self.lazy:
            made_up = os.urandom(len(item.output.data))
            item.output = formats.Output(made_up, item.output.dtype, item.output.shape)
            self.log(f"job {item.job.id}: random output ({FAULT_ENV})")
        else:
            return
        if item.kept is not None and item.kept.is_float and item.output is not None:
            out = item.output
            array = formats.decode_tensor_output(out.data, out.dtype, out.shape)
            item.kept = item.kept.with_output(np.array(array, np.float32))
            self.traces.put(item.job.id, item.kept)

    # -- optimistic float jobs --------------------------------------------------------------

    def _policy(self) -> dict[int, set[int]]:
        """The verify policy's methods by criticality (read once per round; empty on a chain
        without the verify module)."""
        if self.policy is None:
            try:
                params = self.verify.params()
                self.policy = {int(r.criticality): set(r.methods) for r in params.policy}
            except (ChainError, AttributeError):
                self.policy = {}
        return self.policy

    def _optimistic_float(self, model_id: int, version: str) -> bool:
        """Whether the owner declared the version ``optimistic_float`` (read once per round)."""
        key = (model_id, version)
        if key not in self.float_versions:
            try:
                found = self.verify.model_verification(model_id, version)
                self.float_versions[key] = bool(found.optimistic_float)
            except (ChainError, AttributeError):
                self.float_versions[key] = False
        return self.float_versions[key]

    def _traced(self, runner: ModelRunner, rule: str, job: compute_pb2.Job) -> bool:
        """Whether ``job`` is an optimistic float job this node commits a trace for (rule
        ``tolerance``, its criticality's rule lists optimistic, the version is declared
        ``optimistic_float``, the model can be traced)."""
        if rule != "tolerance" or METHOD_OPTIMISTIC not in self._policy().get(job.criticality, ()):
            return False
        key = (job.model_id, job.version)
        if key in self.untraceable or not self._optimistic_float(*key):
            return False
        problem = runner.trace_problem()
        if problem:
            self.untraceable.add(key)
            self.log(
                f"model {job.model_id} v{job.version}: no trace evidence ({problem}); "
                "optimistic results of it will be refused"
            )
            return False
        return True

    def _run_onnx_trace(self, runner: ModelRunner, item: Work) -> None:
        """An optimistic float job: the traced run, its output the trace's last tensor
        (float32)."""
        array = runner.check_input(formats.decode_tensor_input(item.data))
        trace = functools.partial(self._onnx_trace, runner, array, item.job.id)
        self._run_traced(item, array, trace, "tolerance", "traced model", "steps")

    def _run_traced(
        self,
        item: Work,
        first: Any,
        compute: Callable[[], list[Any]],
        rule: str,
        what: str,
        unit: str,
    ) -> None:
        """Keep the job's trace (the one computed before a restart when it starts with the
        same input ``first``, else ``compute()``) and its output, the trace's last tensor."""
        start = time.perf_counter()
        kept = self.traces.get(item.job.id)
        if (
            kept is not None
            and kept.tensors[0].shape == first.shape
            and np.array_equal(kept.tensors[0], first)
        ):
            item.reused = True
            self.log(f"job {item.job.id}: trace computed before a restart, reused")
        else:
            kept = disputes.KeptTrace.of(compute())
            self.traces.put(item.job.id, kept)
        item.kept = kept
        item.output = formats.encode_tensor_output(kept.output, rule)
        item.millis = (time.perf_counter() - start) * 1e3
        self.log(
            f"job {item.job.id}: ran the {what} in {item.millis:.1f} ms "
            f"({kept.commitment.n_steps} {unit}, root {kept.commitment.root.hex()[:16]}…)"
        )

    def _onnx_trace(self, runner: ModelRunner, array: Any, job_id: int) -> list[Any]:
        """Every tensor of the traced run (the output moved under the wrong-trace hook)."""
        tensors = runner.trace(array)
        if self.wrong_trace:
            tensors = disputes.tampered_float(tensors)
            self.log(f"job {job_id}: tampered with the trace ({FAULT_ENV})")
        return tensors

    def _run_dsm(self, runner: DsmRunner, item: Work) -> None:
        """A DSM job: its trace and its output, the trace's last tensor (int64)."""
        rows = runner.check_input(formats.decode_tensor_input(item.data))
        item.format = DSM_FORMAT
        trace = functools.partial(self._dsm_trace, runner, rows, item.job.id)
        self._run_traced(item, rows, trace, "exact", "DSM trace", "operators")

    def _dsm_trace(self, runner: DsmRunner, rows: Any, job_id: int) -> list[Any]:
        """Every tensor of the run (tampered under the wrong-trace hook)."""
        tensors = runner.trace(rows)
        if self.wrong_trace:
            tensors = disputes.tampered(runner.program, tensors)
            self.log(f"job {job_id}: tampered with the trace ({FAULT_ENV})")
        return tensors

    def _run_batch(self, runner: ModelRunner, rule: str, items: list[Work]) -> None:
        arrays, usable = [], []
        for w in items:
            with contextlib.suppress(formats.FormatError):
                arrays.append(runner.check_input(formats.decode_tensor_input(w.data)))
                usable.append(w)
        if not usable:
            raise formats.FormatError("the input is not a .npy array the model takes")
        result = runner.run_tensors(arrays)
        for w, out in zip(usable, result.outputs, strict=True):
            w.output = formats.encode_tensor_output(out, rule)
            w.batch, w.millis = len(usable), result.seconds * 1e3
        who = job_list([w.job.id for w in usable])
        runs = f"{result.runs} onnxruntime run" + ("s" if result.runs > 1 else "")
        self.log(f"{who}: ran in {result.seconds * 1e3:.1f} ms ({len(usable)} in {runs})")

    def _generate(self, runner: ModelRunner, item: Work) -> None:
        request = formats.decode_generation_input(item.data)
        start = time.perf_counter()
        ids = runner.generate(list(request.prompt.encode("utf-8")), request.max_new_tokens)
        item.output = formats.encode_tokens(ids)
        item.millis = (time.perf_counter() - start) * 1e3
        self.log(f"job {item.job.id}: generated {len(ids)} tokens in {item.millis:.0f} ms")

    def _kept(self) -> OutputStore:
        """``<home>/outputs`` (opened once the inline limit is known)."""
        if self.kept is None:
            self.kept = OutputStore(self.outputs, self._max_inline())
        return self.kept

    def _save_outputs(self, items: list[Work]) -> None:
        """Keep the round's new outputs for a restart (small ones in one append)."""
        self._kept().save(
            [
                (w.job.id, Saved(w.output, w.job.input_digest.hex(), w.batch, w.millis))
                for w in items
                if w.output is not None and not w.reused
            ]
        )

    def _load_output(self, item: Work) -> bool:
        """An output computed before a restart (same job and input digest)."""
        saved = self._kept().load(item.job.id)
        if saved is None or saved.input_digest != item.job.input_digest.hex():
            return False
        item.output, item.batch, item.millis = saved.output, saved.batch, saved.millis
        item.reused = True
        self.log(f"job {item.job.id}: output computed before a restart, reused")
        return True

    def _store(self) -> StorageClient:
        """This thread's content-store client (uploads run on a small thread pool)."""
        found: StorageClient | None = getattr(self._local, "storage", None)
        if found is None:
            found = self._local.storage = StorageClient(self.config.rest)
        return found

    def _max_inline(self) -> int:
        """The chain's ``max_comparison_bytes`` (read once)."""
        if self.inline_limit is None:
            self.inline_limit = int(self.compute.params().max_comparison_bytes)
        return self.inline_limit

    def _place_outputs(self, ready: list[Work]) -> list[Work]:
        """Name each output: small ones go inline (CID computed here), the others and, with
        ``upload-outputs = "always"``, every one are uploaded (8 at a time). Returns the
        items whose output is placed (an upload that failed is retried next block)."""
        limit = self._max_inline()
        upload: list[Work] = []
        for item in ready:
            assert item.output is not None
            item.inline = len(item.output.data) <= limit
            if item.inline:
                item.cid = unixfs.cid_of(item.output.data)
                self.log(
                    f"job {item.job.id}: output inline ({size_text(len(item.output.data))}, "
                    f"{item.cid[:16]}…)"
                )
            if not item.inline or self.config.upload_outputs == "always":
                upload.append(item)
        if not upload:
            return ready
        with ThreadPoolExecutor(min(UPLOAD_THREADS, len(upload))) as pool:
            done = list(pool.map(self._upload, upload))
        failed = {w.job.id for w, ok in zip(upload, done, strict=True) if not ok}
        return [w for w in ready if w.job.id not in failed]

    def _upload(self, item: Work) -> bool:
        assert item.output is not None
        try:
            item.cid = self._store().put(item.output.data).cid
        except (StorageError, requests.RequestException) as exc:
            self.log(f"job {item.job.id}: output upload failed: {exc}; retrying next block")
            return False
        self.log(
            f"job {item.job.id}: uploaded output {item.cid[:16]}… "
            f"({size_text(len(item.output.data))})"
        )
        return True

    def _result_msg(self, item: Work, rule: str) -> compute_pb2.MsgSubmitResult:
        assert item.output is not None
        data = item.output.data
        meta = item.output.metadata() | {"device": "cpu", "batch": item.batch}
        meta["ms"] = round(item.millis, 3)
        inline = item.inline or formats.carries_comparison_data(rule) or item.kept is not None
        return compute_pb2.MsgSubmitResult(
            provider=self.address,
            job_id=item.job.id,
            output_cid=item.cid,
            output_digest=hashlib.sha256(data).digest(),
            comparison_data=data if inline else b"",
            runtime=runtime_name(item.format),
            runtime_metadata=json.dumps(meta, separators=(",", ":")),
            evidence=self._evidence(item, rule),
        )

    def _evidence(self, item: Work, rule: str) -> bytes:
        """The trace commitment of a DSM or optimistic float job (root, steps, the opening of
        its output and, for a float output, its shape); TOPLOC fingerprints of a generation
        whose model version registered a TOPLOC config (one prefill over prompt + generated
        ids; also after a restart); else none."""
        if item.kept is not None:
            return disputes.evidence_bytes(item.kept)
        job = item.job
        if rule != "tokens" or item.output is None or not self._toploc(job.model_id, job.version):
            return b""
        runner, _ = self._runner(job.model_id, job.version)
        assert isinstance(runner, ModelRunner)
        prompt = list(formats.decode_generation_input(item.data).prompt.encode("utf-8"))
        ids = formats.decode_tokens(item.output.data)
        blob = toploc_lm.fingerprint_generation(runner.session, prompt, ids, context=runner.context)
        evidence: bytes = self.verify.evidence(toploc_proofs=blob)
        return evidence

    def _toploc(self, model_id: int, version: str) -> bool:
        """Whether the version registered a TOPLOC config (read once per version)."""
        key = (model_id, version)
        if key not in self.toploc_versions:
            try:
                found = self.verify.model_verification(model_id, version)
                self.toploc_versions[key] = found.HasField("toploc")
            except (ChainError, AttributeError):
                self.toploc_versions[key] = False
        return self.toploc_versions[key]

    # -- disputes (optimistic verification) -----------------------------------------------

    def _disputes(self, height: int) -> None:
        """Move in every dispute against this provider; drop the traces of settled jobs."""
        try:
            playing = {int(d.job_id) for d in self.player.step()}
        except ChainError as exc:  # a chain without optimistic verification: said once
            if not self.disputes_unreadable:
                self.log(f"disputes not readable at height {height}: {exc}")
            self.disputes_unreadable = True
            return
        if height - self.last_sweep < TRACE_SWEEP_BLOCKS:
            return
        self.last_sweep = height
        for job_id in self.traces.job_ids():
            if job_id in playing:
                continue
            try:
                state = self.compute.job(job_id).state
            except ChainError:
                state = compute_pb2.JOB_STATE_CANCELLED  # the chain no longer knows it
            if state in SETTLED:
                self.traces.drop(job_id)
                self.log(f"job {job_id}: settled; dropped its trace")

    def _hardware(self, height: int) -> None:
        """Answer this provider's open hardware challenges (logged; errors never stop the
        node)."""
        try:
            answered = hardware_checks.answer_hardware_challenges(
                self.client, self.wallet, self.workload
            )
        except (ClientError, requests.RequestException, OSError, AivmError) as exc:
            if not self.hardware_failed:
                self.log(f"hardware challenges not answered at height {height}: {exc}")
            self.hardware_failed = True
            return
        self.hardware_failed = False
        for challenge_id in answered:
            self.log(f"hardware challenge {challenge_id}: answered at height {height}")

    def _dispute_source(self, job_id: int) -> tuple[disputes.KeptTrace, Any, bytes] | None:
        """This provider's trace of ``job_id`` (kept, else computed again from the job's
        input) with the DSM program and artifact, or None and the ONNX model's bytes for a
        float model (None for a job of neither kind)."""
        job = self.compute.job(job_id)
        runner, rule = self._runner(job.model_id, job.version)
        if isinstance(runner, ModelRunner):
            if rule != "tolerance":
                return None
            kept = self.traces.get(job_id)
            if kept is None:
                item = Work(job)
                if not self._fetch_input(item, []):
                    return None
                array = runner.check_input(formats.decode_tensor_input(item.data))
                kept = disputes.KeptTrace.of(self._onnx_trace(runner, array, job_id))
                self.traces.put(job_id, kept)
                self.log(f"job {job_id}: trace computed again for a dispute")
            return kept, None, runner.artifact
        kept = self.traces.get(job_id)
        if kept is None:
            item = Work(job)
            if not self._fetch_input(item, []):
                return None
            rows = runner.check_input(formats.decode_tensor_input(item.data))
            kept = disputes.KeptTrace.of(self._dsm_trace(runner, rows, job_id))
            self.traces.put(job_id, kept)
            self.log(f"job {job_id}: trace computed again for a dispute")
        return kept, runner.program, runner.artifact

    # -- sending --------------------------------------------------------------------------

    def _running_now(self) -> set[int]:
        """Ids of the jobs the chain shows with a RUNNING assignment of this provider."""
        jobs = self.compute.jobs(provider=self.address, state="running")
        return {job.id for job in jobs if self._mine(job) is not None}

    def _send_results(self, msgs: list[pb.Message], height: int) -> None:
        """Send the round's results in one tx (if that tx fails, each alone). When a block
        was committed since the assignments were read, they are read again first and results
        for jobs no longer RUNNING are dropped; at the same height nothing can have changed."""
        since = time.perf_counter()
        live = msgs
        now = int(self.client.status().latest_block_height)
        since = self._lap("status", since)
        if now != height:
            running = self._running_now()
            live = [m for m in msgs if int(getattr(m, "job_id", 0)) in running]
            self._lap("recheck", since)
        if self._round is not None:
            self._round.results = sum(isinstance(m, compute_pb2.MsgSubmitResult) for m in live)
        for dropped in {int(getattr(m, "job_id", 0)) for m in msgs} - {
            int(getattr(m, "job_id", 0)) for m in live
        }:
            self.log(f"job {dropped}: no longer RUNNING for this provider; nothing sent")
        if not live:
            return
        result = self._send(live, [int(getattr(m, "job_id", 0)) for m in live], height)
        if result is None and len(live) > 1:
            for msg in live:
                self._send([msg], [int(getattr(msg, "job_id", 0))], height)

    def _send(self, msgs: list[pb.Message], job_ids: list[int], height: int) -> TxResult | None:
        """Sign, journal (job results), broadcast and wait for one tx; None when it failed."""
        since = time.perf_counter()
        try:
            raw = self._sign(msgs)
        except ChainError as exc:
            self._failed(job_ids, f"simulation failed: {exc}")
            return None
        since = self._lap("sign", since)
        digest = tx_hash(raw)
        if job_ids:
            self.journal.add(job_ids, digest, height)
            since = self._lap("journal", since)
        try:
            self.client.broadcast(raw)
            self._lap("broadcast", since)
            if self._round is not None:
                self._round.broadcast_at = time.perf_counter()
            self._pause("sent")
            result = self.client.wait_for_tx(digest, timeout=30, check=False)
        except ChainError as exc:
            self.journal.drop(job_ids)
            self._failed(job_ids, f"tx {digest[:10]}… refused: {exc}")
            return None
        if job_ids:
            self.journal.drop(job_ids)
            if self._round is not None:
                self._round.result_height = int(result.height)
        if not result.ok:
            self._failed(job_ids, f"tx {digest[:10]}… failed: {result.log}")
            return None
        results = {m.job_id for m in msgs if isinstance(m, compute_pb2.MsgSubmitResult)}
        for job_id in job_ids:
            kind = "result" if job_id in results else "unservable report"
            self.log(f"job {job_id}: submitted {kind} tx {digest[:10]}… at height {result.height}")
        if not job_ids:
            self.log(f"heartbeat tx {digest[:10]}… at height {result.height}")
        return result

    def _failed(self, job_ids: list[int], why: str) -> None:
        if not job_ids:
            self.log(f"heartbeat: {why}")
            return
        if len(job_ids) == 1:
            self.given_up.add(job_ids[0])
        self.log(f"jobs {', '.join(map(str, job_ids))}: {why}")

    def _sign(self, msgs: list[pb.Message]) -> bytes:
        account = self.client.account(self.address)
        if account is None:
            raise ChainError("sdk", 9, f"account {self.address} does not exist on chain")
        gas = int(self.client.simulate(msgs, self.wallet) * 1.5) + 10_000
        return self.wallet.sign_tx(
            msgs,
            account_number=account.account_number,
            sequence=account.sequence,
            chain_id=self.client.chain_id(),
            fee=self.client.fee_for(gas),
            gas_limit=gas,
        )

    def _pause(self, step: str) -> None:
        seconds = self.hold.get(step)
        if seconds:
            self.log(f"holding {seconds:g} s after '{step}' ({HOLD_ENV})")
            time.sleep(seconds)


def fetch_artifact(storage: StorageClient, cache: Path, version: Any, log: Log) -> Path:
    """``version``'s model file in ``cache/artifacts``, downloaded by CID and checked against
    its sha256 (a cached file is re-checked; a mismatch is deleted and raises FormatError)."""
    digest = bytes(version.artifact_sha256)
    path = cache / "artifacts" / digest.hex()
    if path.exists() and hashlib.sha256(path.read_bytes()).digest() == digest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    storage.get(version.artifact_cid, path)
    if hashlib.sha256(path.read_bytes()).digest() != digest:
        path.unlink()
        raise formats.FormatError(f"artifact {version.artifact_cid} does not match its sha256")
    log(
        f"model {version.model_id} v{version.version}: fetched artifact "
        f"({size_text(path.stat().st_size)}) in {(time.perf_counter() - start) * 1e3:.0f} ms"
    )
    return path


def wrong(output: formats.Output | None, rule: str) -> formats.Output | None:
    """A wrong version of ``output`` (see :data:`FAULT_ENV`)."""
    if output is None:
        return None
    data = output.data
    if rule == "tolerance":
        data = (np.frombuffer(data, "<f4") + np.float32(1)).astype("<f4").tobytes()
    elif rule == "tokens":
        data = ((np.frombuffer(data, "<u4") + 1) % 256).astype("<u4").tobytes()
    elif data:
        data = bytes([data[0] ^ 0xFF]) + data[1:]
    return formats.Output(data, output.dtype, output.shape)


def _parse_hold(text: str) -> dict[str, float]:
    """``ran:5`` → ``{"ran": 5.0}`` (several separated by commas)."""
    hold: dict[str, float] = {}
    for part in text.split(","):
        step, _, seconds = part.partition(":")
        with contextlib.suppress(ValueError):
            hold[step.strip()] = float(seconds)
    return hold


def provider_status(client: Client, address: str) -> dict[str, Any]:
    """What ``aivm provider status`` shows: the provider record, its SLA stats, earnings,
    reputation, and its jobs with this provider's assignment in each."""
    compute: Any = client.modules.compute
    shown: dict[str, Any] = {"operator": address}
    try:
        record = compute.provider(address)
        provider = record.provider
        shown |= {
            "status": compute_pb2.ProviderStatus.Name(provider.status),
            "available": record.available,
            "tier": compute_pb2.Tier.Name(provider.tier),
            "collateral": provider.collateral,
            "reputation": provider.reputation,
        }
    except ChainError as exc:
        shown["status"] = f"not registered ({exc.description or exc})"
    with contextlib.suppress(ChainError):
        stats = compute.provider_stats(address)
        shown |= {
            "earned": stats.stats.earned or "0",
            "accepted": stats.stats.accepted,
            "assigned": stats.stats.assigned,
            "timeouts": stats.stats.timeouts,
            "success_rate": stats.success_rate,
            "mean_response_blocks": stats.mean_response_blocks,
            "availability": stats.availability,
            "reputation": stats.reputation or shown.get("reputation", ""),
        }
    jobs = []
    for job in compute.jobs(provider=address):
        mine = [a for a in job.assignments if a.provider == address]
        for assignment in mine:
            jobs.append(
                {
                    "job": job.id,
                    "model": f"{job.model_id}:{job.version}",
                    "state": compute_pb2.JobState.Name(job.state).removeprefix("JOB_STATE_"),
                    "assignment": compute_pb2.AssignmentStatus.Name(assignment.status).removeprefix(
                        "ASSIGNMENT_STATUS_"
                    ),
                    "paid": assignment.paid or "0",
                }
            )
    shown["jobs"] = jobs
    return shown


def reference_output(path: Path, data: bytes, rule: str = "tolerance", format: str = "") -> bytes:
    """The output bytes a provider returns for ``data`` on the model at ``path`` (of the
    version ``format``: ``aivm-dsm/1`` or ONNX), computed here without batching (for tests
    and for checking a result by hand)."""
    return runner_output(load_runner(path, format), data, rule)


def runner_output(runner: Runner, data: bytes, rule: str) -> bytes:
    """The output bytes a provider returns for ``data`` on ``runner``'s model (one job, no
    batching): greedy generation for the token rule, one tensor run otherwise (a DSM
    program's int64 output, raw little-endian, whatever the rule)."""
    if isinstance(runner, DsmRunner):
        rows = runner.check_input(formats.decode_tensor_input(data))
        return formats.encode_tensor_output(runner.program.run(rows), "exact").data
    if rule == "tokens":
        request = formats.decode_generation_input(data)
        ids = runner.generate(list(request.prompt.encode("utf-8")), request.max_new_tokens)
        return formats.encode_tokens(ids).data
    array = runner.check_input(formats.decode_tensor_input(data))
    out = runner.run_tensors([np.asarray(array)]).outputs[0]
    return formats.encode_tensor_output(out, rule).data
