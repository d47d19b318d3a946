"""Compute marketplace matching: the compute module's EndBlock with 10,000 open jobs and 1,000
providers (issue 14: "10,000 open jobs × 1,000 providers in one EndBlock ≤ 50 ms").

The script builds, in one process, an ``AivmApp`` on a temporary ``CommitStore`` (one
validator, no inflation, the compute params' defaults unless ``--max-match-jobs`` is given):

- genesis funds an owner, ``--providers`` operators and ``--clients`` clients;
- block 2 delivers one signed tx from the owner: ``MsgStoreObject`` of a small artifact and
  ``--versions`` ``MsgRegisterModel`` of the off-chain model ``bench-lm`` (versions
  ``1.0.0 … 1.0.N-1``, all model id 1);
- the providers are written through the keeper API (``ComputeKeeper.register``, the same call
  ``MsgRegisterProvider`` makes, collateral moved from the operator's balance) in a FINALIZE
  ``Context`` over the app's working state, committed with the next block. Each offers 1–5 of
  the versions at a price that depends on its tier (entry 50–100, standard 80–140,
  high-performance 120–200 ucgpt per unit), with a capacity of 1–16 concurrent jobs; half are
  entry, 35 % standard, 15 % high-performance; 95 % declare onnxruntime (the versions' format
  is ONNX), 5 % only torch;
- the jobs are written the same way (``validate_submit`` then ``JobKeeper.submit``, escrow
  locked from the client's balance) in one go and committed by a block whose compute EndBlock
  is skipped (only that one), so the first measured EndBlock sees all of them in the match
  queue, as jobs that arrived in earlier blocks. ``--same-block`` measures from the block that
  writes them instead: the jobs are then uncommitted writes of the block, which the store's
  working view scans on every iteration (see the README figures). The mix (fixed seed): 10 %
  ask a price below every ask (1–40: they stay unmatched, ``PRICE_TOO_LOW``), the others
  90–250; min tier 70 % entry, 20 % standard, 10 % high; redundancy 1 (90 %) or 3; SLA
  standard (60 %) or batch; 1–50 units; deadline 250 blocks.

Then, each block FinalizeBlock + Commit as CometBFT would drive it:

1. reference: ``--ref-blocks`` empty blocks (the compute EndBlock with 1,000 providers and no
   job) and ``--ref-blocks`` blocks of ``--send-txs`` signed ``MsgSend`` (FinalizeBlock +
   Commit), measured in the same run;
2. matching: ``--blocks`` empty blocks (or until the match queue is empty). The compute
   module's EndBlock hook is timed (all of it: auctions, deadlines, matching, settlement,
   reference prices, channels, exits) and each ``JobKeeper`` step apart; ``match_jobs`` is the
   matcher. The matcher looks at ``max_match_jobs_per_block`` queued jobs a block (default
   200), from ask books read once per EndBlock (``max_asks_per_book`` asks per model
   version and tier: ``aivm.modules.compute.matching``).

Figures: per-block ms (median, p95, max; wall time, and the process's CPU time, which other
work on the shared 2-core VM disturbs less — the load average is in the JSON), jobs looked at
and matched per block, the first EndBlock (every job in the queue), µs per job looked at, how
many jobs one 50 ms EndBlock could look at at that rate (an extrapolation), the distinct
providers matched and the no-match events by reason. ``app_hash_after`` fingerprints the
outcome (same seed and code: same hash), so a faster matcher can be checked to decide the
same. Ratios: against the empty compute EndBlock and the ``MsgSend`` block of the same run.
The goal is checked two ways: the
bounded EndBlock (the chain's design) against 50 ms, and the whole queue in one EndBlock,
extrapolated from the per-job cost, or measured with ``--max-match-jobs`` at least ``--jobs``.
One JSON object goes to stdout, progress and a readable summary to stderr. ``--profile FILE``
writes a cProfile of the measured compute EndBlocks and prints the top 15 entries.

Usage: .venv/bin/python benchmarks/compute.py [--quick] [--providers 1000] [--jobs 10000]
       [--versions 10] [--blocks 20] [--max-match-jobs N] [--same-block] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc, GenesisValidator
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.cid import cid_of
from aivm.crypto.keys import PrivKey
from aivm.modules.compute import compute_pb2, events, keys
from aivm.modules.compute.job_msgs import validate_submit
from aivm.modules.compute.keeper import ComputeKeeper, Declaration
from aivm.modules.compute.module import ComputeModule
from aivm.modules.compute.params import DEFAULT_PARAMS
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import CommitStore, GasMeter, PrefixStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from aivm.types.protogen import ai_pb2, storage_pb2

CHAIN_ID = "aivm-bench-compute-1"
DENOM = "ucgpt"
CGPT = 1_000_000
GENESIS_TIME_S = 1_790_000_000
GOAL_MS = 50.0
ARTIFACT = b"an off-chain onnx model for the matching benchmark"
MODEL_ID = 1
J = compute_pb2
STEPS = (
    "clear_auctions",
    "expire_assignments",
    "expire_jobs",
    "match_jobs",
    "settle_due",
    "update_reference_prices",
)
"""The ``JobKeeper`` steps of the compute EndBlock, timed apart."""
TIERS = ((0.50, 0, (50, 100)), (0.35, 16, (80, 140)), (0.15, 80, (120, 200)))
"""(share of providers, GPU memory GiB (0: CPU only), price range) per tier."""


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"# {message}", file=sys.stderr, flush=True)


def key(kind: str, i: int) -> PrivKey:
    """Deterministic key ``i`` of ``kind``."""
    return PrivKey.from_bytes(hashlib.sha256(b"compute-bench-%s-%d" % (kind.encode(), i)).digest())


def version_name(v: int) -> str:
    """Version ``v`` of the benchmark model."""
    return f"1.0.{v}"


def p50(values: Sequence[float]) -> float:
    """Median, rounded to 0.001."""
    return round(statistics.median(values), 3) if values else 0.0


def p95(values: Sequence[float]) -> float:
    """95th percentile (nearest rank), rounded to 0.001."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, -(-95 * len(ordered) // 100) - 1)], 3)


@dataclass
class Setup:
    """The sizes of one run."""

    providers: int
    jobs: int
    versions: int
    blocks: int
    clients: int = 100
    ref_blocks: int = 5
    send_txs: int = 100
    max_match_jobs: int | None = None
    same_block: bool = False
    """Measure from the block that writes the jobs (they are pending writes in its
    EndBlock) instead of committing them first."""
    seed: int = 14


@dataclass
class Accounts:
    """The funded keys and their account numbers (genesis order)."""

    owner: PrivKey
    providers: list[PrivKey]
    clients: list[PrivKey]
    numbers: dict[bytes, int] = field(default_factory=dict)
    sequences: dict[bytes, int] = field(default_factory=dict)

    @classmethod
    def of(cls, setup: Setup) -> Accounts:
        """Keys of the owner, the operators and the clients."""
        providers = [key("provider", i) for i in range(setup.providers)]
        clients = [key("client", i) for i in range(setup.clients)]
        return cls(key("owner", 0), providers, clients)

    def all(self) -> list[PrivKey]:
        """Every key, in account-number order."""
        return [self.owner, *self.providers, *self.clients]

    def signer(self, k: PrivKey) -> Signer:
        """The next signer of ``k`` (its sequence moves on)."""
        address = k.pubkey.address()
        sequence = self.sequences.get(address, 0)
        self.sequences[address] = sequence + 1
        return Signer(k, self.numbers[address], sequence)


def compute_params(setup: Setup) -> dict[str, Any]:
    """The compute params' defaults, with ``max_match_jobs_per_block`` when given."""
    params: dict[str, Any] = json_format.MessageToDict(
        DEFAULT_PARAMS.to_proto(), preserving_proto_field_name=True
    )
    if setup.max_match_jobs is not None:
        params["max_match_jobs_per_block"] = setup.max_match_jobs
    return params


def genesis(setup: Setup, accounts: Accounts) -> GenesisDoc:
    """Funded accounts, one validator, no inflation, the compute params."""
    funded = [k.pubkey.address() for k in accounts.all()]
    accounts.numbers = {address: n for n, address in enumerate(funded)}
    no_inflation = {"inflation_rate_change": "0", "inflation_max": "0", "inflation_min": "0"}
    return GenesisDoc(
        chain_id=CHAIN_ID,
        genesis_time="2026-09-21T00:00:00Z",
        validators=[GenesisValidator(hashlib.sha256(b"compute-bench-validator").digest(), 10)],
        app_state={
            "auth": {
                "accounts": [
                    {
                        "@type": "/cosmos.auth.v1beta1.BaseAccount",
                        "address": acc_address(address),
                        "account_number": str(n),
                        "sequence": "0",
                    }
                    for n, address in enumerate(funded)
                ]
            },
            "bank": {
                "balances": [
                    {"address": acc_address(a), "coins": [{"denom": DENOM, "amount": str(10**12)}]}
                    for a in sorted(funded)
                ]
            },
            "mint": {
                "minter": {"inflation": "0", "annual_provisions": "0"},
                "params": no_inflation,
            },
            "compute": {"params": compute_params(setup)},
        },
    )


@dataclass
class Timings:
    """What the instrumented compute EndBlock recorded, one entry per block."""

    recording: bool = False
    skip: bool = False
    """Skip the compute EndBlock (the block that commits the jobs, see :func:`submit_jobs`)."""
    end_ms: list[float] = field(default_factory=list)
    end_cpu_ms: list[float] = field(default_factory=list)
    """CPU time of this process in the hook (less sensitive to other work on the VM)."""
    steps: dict[str, list[float]] = field(default_factory=dict)
    examined: list[int] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    profile: cProfile.Profile | None = None

    def reset(self) -> None:
        """Forget what was recorded."""
        self.end_ms, self.end_cpu_ms, self.steps = [], [], {}
        self.examined, self.matched = [], []


def instrument(app: AivmApp, timings: Timings) -> ComputeModule:
    """Time the compute EndBlock hook and each JobKeeper step (instance patches); count the
    jobs the matcher looks at and those it gives a provider. Returns the module."""
    module = app.manager.by_name["compute"]
    assert isinstance(module, ComputeModule)
    jobs = module.jobs

    def timed_step(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return step(*args)
            finally:
                if timings.recording:
                    ms = (time.perf_counter() - start) * 1000
                    timings.steps.setdefault(name, []).append(ms)

        return run

    for name in STEPS:
        setattr(jobs, name, timed_step(name, getattr(jobs, name)))
    match_one = jobs._match_one

    def counted(*args: Any) -> bool:
        if timings.recording:
            timings.examined[-1] += 1
        matched = match_one(*args)
        if timings.recording and matched:
            timings.matched[-1] += 1
        return matched

    jobs._match_one = counted  # type: ignore[method-assign,assignment]

    def hook(ctx: Context) -> Any:
        if timings.skip:
            return []
        if not timings.recording:
            return module.end_block(ctx)
        timings.examined.append(0)
        timings.matched.append(0)
        profile = timings.profile
        start, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        try:
            return module.end_block(ctx)
        finally:
            if profile is not None:
                profile.disable()
            timings.end_ms.append((time.perf_counter() - start) * 1000)
            timings.end_cpu_ms.append((time.process_time() - cpu) * 1000)

    manager = app.manager
    manager._end_hooks = [(n, hook if n == "compute" else h) for n, h in manager._end_hooks]
    return module


@dataclass
class Driver:
    """Drives the app block by block as CometBFT would (the one validator signs)."""

    app: AivmApp
    height: int = 0
    time_s: int = GENESIS_TIME_S
    finalize_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)

    def block(self, txs: Sequence[bytes]) -> pb.abci.ResponseFinalizeBlock:
        """FinalizeBlock + Commit of ``txs``; every tx must succeed."""
        previous_set = self.app.validators() if self.height else []
        self.height += 1
        self.time_s += 1
        request = pb.abci.RequestFinalizeBlock(
            txs=list(txs), height=self.height, hash=hashlib.sha256(b"%d" % self.height).digest()
        )
        request.time.seconds = self.time_s
        for validator in previous_set:
            vote = request.decided_last_commit.votes.add(
                block_id_flag=pb.tm_validator.BLOCK_ID_FLAG_COMMIT
            )
            vote.validator.address = hashlib.sha256(validator.pub_key.ed25519).digest()[:20]
            vote.validator.power = validator.power
        start = time.perf_counter()
        response = self.app.finalize_block(request)
        mid = time.perf_counter()
        self.app.commit(pb.abci.RequestCommit())
        end = time.perf_counter()
        self.finalize_ms.append((mid - start) * 1000)
        self.commit_ms.append((end - mid) * 1000)
        failed = [r.log for r in response.tx_results if r.code != 0]
        assert not failed, failed[:3]
        return response

    def next_context(self) -> Context:
        """A FINALIZE context over the working state at the next height (what it writes is
        committed with the next block)."""
        header = BlockHeader(self.height + 1, (self.time_s + 1) * 10**9, CHAIN_ID)
        return Context(self.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)


def register_models(driver: Driver, setup: Setup, accounts: Accounts) -> None:
    """One tx: store the artifact, register ``versions`` off-chain versions of model 1."""
    owner = acc_address(accounts.owner.pubkey.address())
    msgs: list[pb.Message] = [
        storage_pb2.MsgStoreObject(
            owner=owner, cid=cid_of(ARTIFACT), retention_blocks=100_000, root_block=ARTIFACT
        )
    ]
    for v in range(setup.versions):
        msgs.append(
            ai_pb2.MsgRegisterModel(
                owner=owner,
                name="bench-lm",
                version=version_name(v),
                artifact_cid=cid_of(ARTIFACT),
                artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
                artifact_size=len(ARTIFACT),
                format="onnx",
                execution_path="offchain",
            )
        )
    gas = 2_000_000 + 1_000_000 * setup.versions
    raw = sign_tx(msgs, [accounts.signer(accounts.owner)], CHAIN_ID, [Coin(DENOM, 20_000)], gas)
    driver.block([raw])


def hardware(gib: int) -> compute_pb2.Hardware:
    """A hardware declaration with one GPU of ``gib`` GiB (0: CPU only)."""
    if gib == 0:
        return J.Hardware(cpu_cores=16, memory_mib=65_536)
    return J.Hardware(
        gpu_model="GPU-X", gpu_count=1, gpu_memory_mib=gib * 1024, cpu_cores=32, memory_mib=262_144
    )


def declaration(rng: random.Random, setup: Setup, i: int) -> Declaration:
    """Provider ``i``: a tier, 1–5 offered versions at tier prices, capacity 1–16, runtimes
    (5 % declare only torch, so the ONNX versions' capability filter drops them)."""
    draw, gib, prices = rng.random(), TIERS[-1][1], TIERS[-1][2]
    cumulative = 0.0
    for share, tier_gib, tier_prices in TIERS:
        cumulative += share
        if draw < cumulative:
            gib, prices = tier_gib, tier_prices
            break
    count = rng.randint(1, min(5, setup.versions))
    offers = [
        J.Offer(
            model_id=MODEL_ID, version=version_name(v), price_per_unit=str(rng.randint(*prices))
        )
        for v in sorted(rng.sample(range(setup.versions), count))
    ]
    runtime_draw = rng.random()
    runtimes = ["onnxruntime"] if runtime_draw < 0.75 else ["onnxruntime", "torch"]
    if runtime_draw >= 0.95:
        runtimes = ["torch"]  # cannot run the ONNX versions: filtered by capability fit
    return Declaration(
        hardware=hardware(gib),
        runtimes=runtimes,
        offers=offers,
        capacity=rng.randint(1, 16),
        moniker=f"provider-{i}",
        description="",
    )


def register_providers(
    driver: Driver, setup: Setup, accounts: Accounts, rng: random.Random
) -> None:
    """Every provider through ``ComputeKeeper.register`` (committed with the next block)."""
    ctx = driver.next_context()
    keeper = driver.app.manager.keepers.get("compute", ComputeKeeper)
    for i, k in enumerate(accounts.providers):
        keeper.register(ctx, k.pubkey.address(), 200 * CGPT, declaration(rng, setup, i))


def job_msg(rng: random.Random, setup: Setup, client: bytes, i: int) -> compute_pb2.MsgSubmitJob:
    """Job ``i`` of the mix in the module docstring."""
    data = b"compute-bench-input-%d" % i
    unmatchable = rng.random() < 0.10
    tier_draw = rng.random()
    min_tier = J.TIER_ENTRY if tier_draw < 0.7 else J.TIER_STANDARD
    if tier_draw >= 0.9:
        min_tier = J.TIER_HIGH_PERFORMANCE
    return J.MsgSubmitJob(
        client=acc_address(client),
        model_id=MODEL_ID,
        version=version_name(rng.randrange(setup.versions)),
        input_inline=data,
        input_digest=hashlib.sha256(data).digest(),
        units=rng.randint(1, 50),
        max_price_per_unit=str(rng.randint(1, 40) if unmatchable else rng.randint(90, 250)),
        deadline_blocks=250,
        sla_class=J.SLA_CLASS_STANDARD if rng.random() < 0.6 else J.SLA_CLASS_BATCH,
        redundancy=1 if rng.random() < 0.9 else 3,
        min_tier=min_tier,
    )


def submit_jobs(driver: Driver, setup: Setup, module: ComputeModule, rng: random.Random) -> None:
    """Every job through ``validate_submit`` + ``JobKeeper.submit``, written to the working
    state (committed with the next block)."""
    ctx = driver.next_context()
    clients = [key("client", c).pubkey.address() for c in range(setup.clients)]
    for i in range(setup.jobs):
        client = clients[i % len(clients)]
        msg = job_msg(rng, setup, client, i)
        validate_submit(msg)
        module.jobs.submit(ctx, client, msg)


def queue_size(app: AivmApp) -> int:
    """Entries in the match queue of the working state."""
    store = PrefixStore(PrefixStore(app.store.working, keys.STORE_PREFIX), keys.MATCH_QUEUE)
    return sum(1 for _ in store.iterate())


def send_txs(setup: Setup, accounts: Accounts) -> list[bytes]:
    """``send_txs`` signed MsgSend of 1 ucgpt, from clients in turn."""
    txs = []
    for i in range(setup.send_txs):
        k = accounts.clients[i % len(accounts.clients)]
        recipient = accounts.clients[(i + 1) % len(accounts.clients)].pubkey.address()
        txs.append(
            sign_tx(
                [bank_send(k.pubkey.address(), recipient, [Coin(DENOM, 1)])],
                [accounts.signer(k)],
                CHAIN_ID,
                fee=[Coin(DENOM, 2000)],
                gas_limit=200_000,
            )
        )
    return txs


def reference(driver: Driver, setup: Setup, accounts: Accounts, timings: Timings) -> dict[str, Any]:
    """The empty compute EndBlock (providers, no job) and a block of ``send_txs`` MsgSend."""
    timings.reset()
    timings.recording = True
    for _ in range(setup.ref_blocks):
        driver.block([])
    timings.recording = False
    empty_ms = list(timings.end_ms)
    batches = [send_txs(setup, accounts) for _ in range(setup.ref_blocks)]
    driver.finalize_ms, driver.commit_ms = [], []
    for batch in batches:
        driver.block(batch)
    totals = [f + c for f, c in zip(driver.finalize_ms, driver.commit_ms, strict=True)]
    return {
        "empty_compute_end_block_ms_p50": p50(empty_ms),
        "send_block_txs": setup.send_txs,
        "send_block_ms_p50": p50(totals),
        "blocks": setup.ref_blocks,
    }


def count_events(response: pb.abci.ResponseFinalizeBlock, kind: str) -> int:
    """Events of ``kind`` in a block's response."""
    return sum(1 for e in response.events if e.type == kind)


def attribute_values(response: pb.abci.ResponseFinalizeBlock, kind: str, name: str) -> list[str]:
    """The ``name`` attribute of every ``kind`` event in a block's response."""
    return [
        a.value for e in response.events if e.type == kind for a in e.attributes if a.key == name
    ]


def measure(driver: Driver, setup: Setup, timings: Timings) -> dict[str, Any]:
    """Run ``blocks`` empty blocks with the jobs queued (stop early when the queue is
    empty); per-block figures."""
    timings.reset()
    queued: list[int] = []
    matched_events: list[int] = []
    no_match_events: list[int] = []
    finalize: list[float] = []
    app_hash = b""
    reasons: Counter[str] = Counter()
    providers_used: set[str] = set()
    for b in range(setup.blocks):
        queued.append(queue_size(driver.app))
        if not queued[-1]:
            queued.pop()
            break
        timings.recording = True
        response = driver.block([])
        timings.recording = False
        finalize.append(driver.finalize_ms[-1] + driver.commit_ms[-1])
        app_hash = response.app_hash
        providers_used.update(attribute_values(response, events.JOB_MATCHED, "provider"))
        for reason in attribute_values(response, events.JOB_NO_MATCH, "reason"):
            reasons[reason.removeprefix("NO_MATCH_REASON_").lower()] += 1
        matched_events.append(count_events(response, events.JOB_MATCHED))
        no_match_events.append(count_events(response, events.JOB_NO_MATCH))
        if b % 5 == 0 or b == setup.blocks - 1:
            log(
                f"block {b + 1}: queue {queued[-1]}, compute EndBlock "
                f"{timings.end_ms[-1]:.1f} ms, looked at {timings.examined[-1]}, "
                f"matched {timings.matched[-1]}"
            )
    end, match = timings.end_ms, timings.steps.get("match_jobs", [])
    examined = sum(timings.examined)
    us_per_job = sum(match) * 1000 / examined if examined else 0.0
    return {
        "blocks": len(end),
        "queue_before_block": queued,
        "compute_end_block_ms": _spread(end),
        "compute_end_block_cpu_ms": _spread(timings.end_cpu_ms),
        "match_jobs_ms": _spread(match),
        "steps_ms_p50": {name: p50(timings.steps.get(name, [])) for name in STEPS},
        "first_block": {
            "queued": queued[0] if queued else 0,
            "compute_end_block_ms": round(end[0], 3) if end else 0.0,
            "match_jobs_ms": round(match[0], 3) if match else 0.0,
            "looked_at": timings.examined[0] if end else 0,
            "matched": timings.matched[0] if end else 0,
        },
        "looked_at_per_block": timings.examined,
        "matched_per_block": timings.matched,
        "matched_total": sum(timings.matched),
        "assignments_per_block": matched_events,
        "no_match_events_per_block": no_match_events,
        "no_match_reasons": dict(sorted(reasons.items())),
        "providers_matched": len(providers_used),
        "finalize_plus_commit_ms_p50": p50(finalize),
        "app_hash_after": app_hash.hex(),
        "match_us_per_job_looked_at": round(us_per_job, 1),
        "end_block_cpu_us_per_job_looked_at": round(sum(timings.end_cpu_ms) * 1000 / examined, 1)
        if examined
        else 0.0,
        "match_us_per_job_matched": round(sum(match) * 1000 / sum(timings.matched), 1)
        if sum(timings.matched)
        else 0.0,
    }


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"p50": p50(values), "p95": p95(values), "max": round(max(values, default=0.0), 3)}


def top_costs(profile: cProfile.Profile, limit: int = 15) -> list[str]:
    """The ``limit`` functions with the most cumulative time, as pstats prints them."""
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return lines[start : start + limit + 1]


def run(setup: Setup, workdir: Path, profile_path: Path | None) -> dict[str, Any]:
    """Build the state, measure the reference and the matching blocks, return the figures."""
    rng = random.Random(setup.seed)
    accounts = Accounts.of(setup)
    timings = Timings()
    path = workdir / "state"
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    app = AivmApp(CommitStore.open(path))
    module = instrument(app, timings)
    app.init_chain(genesis(setup, accounts).init_chain_request())
    driver = Driver(app)
    driver.block([])
    register_models(driver, setup, accounts)
    register_providers(driver, setup, accounts, rng)
    driver.block([])
    log(
        f"{setup.providers} providers, {setup.versions} versions in {time.perf_counter() - t0:.1f}s"
    )
    ref = reference(driver, setup, accounts, timings)
    log(f"reference: {ref}")
    t1 = time.perf_counter()
    submit_jobs(driver, setup, module, rng)
    if not setup.same_block:
        timings.skip = True  # commit the jobs without matching: they are all queued
        driver.block([])
        timings.skip = False
    submit_s = time.perf_counter() - t1
    log(f"{setup.jobs} jobs submitted in {submit_s:.1f}s; measuring up to {setup.blocks} blocks")
    params = module.keeper.get_params(driver.next_context())
    if profile_path is not None:
        timings.profile = cProfile.Profile()
    figures = measure(driver, setup, timings)
    profile, timings.profile = timings.profile, None
    app.store.close()
    result = summarize(setup, params.max_match_jobs_per_block, params, ref, figures)
    result["setup_s"] = round(t1 - t0, 1)
    result["submit_s"] = round(submit_s, 1)
    if profile is not None and profile_path is not None:
        profile.dump_stats(str(profile_path))
        result["profile_top"] = top_costs(profile)
    return result


def summarize(
    setup: Setup, per_block: int, params: Any, ref: dict[str, Any], figures: dict[str, Any]
) -> dict[str, Any]:
    """The result object: sizes, figures, ratios, the goal both ways."""
    end = figures["compute_end_block_ms"]
    us = figures["match_us_per_job_looked_at"]
    cpu_us = figures["end_block_cpu_us_per_job_looked_at"]
    empty, send = ref["empty_compute_end_block_ms_p50"], ref["send_block_ms_p50"]
    whole_queue_ms = round(setup.jobs * us / 1000, 1)
    measured_whole = per_block >= setup.jobs
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs (the 2-core development VM unless noted)",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "providers": setup.providers,
        "jobs": setup.jobs,
        "versions": setup.versions,
        "clients": setup.clients,
        "written_by": "providers: ComputeKeeper.register, jobs: validate_submit + "
        "JobKeeper.submit, in a FINALIZE Context over the working state (models: a signed tx)",
        "jobs_committed_before_first_end_block": not setup.same_block,
        "max_match_jobs_per_block": per_block,
        "max_asks_per_book": params.max_asks_per_book,
        "reference": ref,
        "matching": figures,
        "compute_end_block_vs_empty": round(end["p50"] / empty, 1) if empty else 0.0,
        "compute_end_block_vs_send_block": round(end["p50"] / send, 4) if send else 0.0,
        "jobs_per_50ms_extrapolated": int(GOAL_MS * 1000 / us) if us else 0,
        "jobs_per_50ms_cpu_extrapolated": int(GOAL_MS * 1000 / cpu_us) if cpu_us else 0,
        "whole_queue_one_end_block_ms": figures["first_block"]["compute_end_block_ms"]
        if measured_whole
        else whole_queue_ms,
        "whole_queue_figure": "measured" if measured_whole else "extrapolated from µs per job",
        "goal_ms": GOAL_MS,
    }
    result["goal_met_bounded_end_block"] = end["max"] <= GOAL_MS
    result["goal_met_whole_queue_one_end_block"] = result["whole_queue_one_end_block_ms"] <= GOAL_MS
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines of the result."""
    m, ref = result["matching"], result["reference"]
    end, match, first = m["compute_end_block_ms"], m["match_jobs_ms"], m["first_block"]
    met = {True: "met", False: "NOT met"}
    return [
        f"{result['providers']} providers, {result['jobs']} jobs, {result['versions']} model "
        f"versions; {result['machine']}, load {result['load_average_1m_at_end']}; set-up "
        f"{result['setup_s']}s + submit "
        f"{result['submit_s']}s",
        f"matcher bound: {result['max_match_jobs_per_block']} jobs a block, "
        f"{result['max_asks_per_book']} asks per book",
        f"reference: empty compute EndBlock {ref['empty_compute_end_block_ms_p50']} ms; block "
        f"of {ref['send_block_txs']} MsgSend (FinalizeBlock+Commit) {ref['send_block_ms_p50']} ms",
        f"first EndBlock ({first['queued']} jobs queued): compute {first['compute_end_block_ms']}"
        f" ms (match_jobs {first['match_jobs_ms']} ms), looked at {first['looked_at']}, "
        f"matched {first['matched']}",
        f"{m['blocks']} blocks: compute EndBlock p50 {end['p50']} / p95 {end['p95']} / max "
        f"{end['max']} ms (CPU p50 {m['compute_end_block_cpu_ms']['p50']} ms); match_jobs p50 "
        f"{match['p50']} ms; matched {m['matched_total']} jobs",
        f"steps p50 (ms): {m['steps_ms_p50']}",
        f"{m['providers_matched']} distinct providers matched; no-match events (a job's "
        f"reason changed): {m['no_match_reasons']}",
        f"matcher: {m['match_us_per_job_looked_at']} µs per job looked at, "
        f"{m['match_us_per_job_matched']} µs per job matched (wall); EndBlock CPU "
        f"{m['end_block_cpu_us_per_job_looked_at']} µs per job looked at; one 50 ms EndBlock ≈ "
        f"{result['jobs_per_50ms_extrapolated']} jobs (wall), "
        f"{result['jobs_per_50ms_cpu_extrapolated']} (CPU) (extrapolated)",
        f"ratios: compute EndBlock = {result['compute_end_block_vs_empty']}× an empty one, "
        f"{result['compute_end_block_vs_send_block']:.1%} of a {ref['send_block_txs']}-MsgSend "
        "block",
        f"goal ≤ {GOAL_MS:.0f} ms, bounded EndBlock (max): "
        f"{met[result['goal_met_bounded_end_block']]}",
        f"goal ≤ {GOAL_MS:.0f} ms, whole queue in one EndBlock "
        f"({result['whole_queue_figure']}): {result['whole_queue_one_end_block_ms']} ms, "
        f"{met[result['goal_met_whole_queue_one_end_block']]}",
    ]


def setup_from(args: argparse.Namespace) -> Setup:
    """Sizes from the arguments (``--quick``: 100 providers × 1,000 jobs, a smoke run)."""
    if args.quick:
        return Setup(
            100, 1000, min(args.versions, 10), 5, 20, 2, 20, args.max_match_jobs, args.same_block
        )
    return Setup(
        providers=args.providers,
        jobs=args.jobs,
        versions=args.versions,
        blocks=args.blocks,
        clients=args.clients,
        ref_blocks=args.ref_blocks,
        send_txs=args.send_txs,
        max_match_jobs=args.max_match_jobs,
        same_block=args.same_block,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run, print the JSON object (stdout) and a summary (stderr)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 × 1,000 (smoke run)")
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=10, help="off-chain model versions")
    parser.add_argument("--blocks", type=int, default=20, help="matching blocks measured")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--ref-blocks", type=int, default=5, help="blocks of each reference")
    parser.add_argument("--send-txs", type=int, default=100, help="MsgSend per reference block")
    parser.add_argument(
        "--max-match-jobs",
        type=int,
        default=None,
        help="max_match_jobs_per_block (default: the chain's, 200)",
    )
    parser.add_argument(
        "--same-block",
        action="store_true",
        help="first EndBlock in the block that writes the jobs (not committed before)",
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output file")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    setup = setup_from(args)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aivm-bench-compute-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run(setup, workdir, args.profile)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    for line in summary(result):
        log(line)
    for line in result.get("profile_top", []):
        print(line, file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
