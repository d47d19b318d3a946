"""Compute marketplace end to end (issue 14: "submit → accepted output for the vision model on
a devnet with 1 s blocks; report blocks and seconds, and provider-side throughput (jobs/s) as
a ratio to raw onnxruntime on the same model in the same run (goal ≥ 0.8 with batching of
queued jobs)").

The script trains the digits CNN of ``examples/offchain_vision`` (``--quick``: its tiny
config), exports it to ONNX, and starts ``aivm devnet`` as a subprocess (``--block-time``,
default 1 s; a fresh home whose genesis lets one block match ``--jobs`` jobs:
``max_match_jobs_per_block`` and ``max_capacity`` at least ``--jobs``, the other compute params
at their defaults). Then, in this process:

- the model is registered off chain (``tolerance`` comparison) and one provider is
  registered (capacity ``--jobs``); a provider node (``aivm.worker.node.ProviderNode``, the
  code ``aivm provider start`` runs) serves it on a thread, with ``upload-outputs``
  ``--upload-outputs`` (default ``large``: the 40-byte outputs travel inline in the results);
- **single job**: ``client.modules.compute.run`` on one digit (inline input), timed from the
  call to the returned, digest-checked output, in seconds and in blocks (job created → result
  in a block → accepted). It runs once per ``--windows`` value of ``challenge_window_blocks``
  (default ``10,0``: the default param, then 0), changed between runs by ``MsgUpdateParams``
  from the devnet's params authority (dev0), so the window's share is shown apart;
- **throughput** (``--batches`` times, default 3; the median batch by provider rate is
  summarized, every batch is in ``throughput_runs``): ``--jobs`` single-row jobs with inline
  inputs, submitted in one tx, matched in one block and served by the node as one round (one
  batched onnxruntime run, one result tx). The node's own round timings
  (``ProviderNode.rounds``) give its **busy time**: from reading its RUNNING assignments to
  the result tx's broadcast returning (query, input fetch and digest check, ``.npy``
  decode + onnxruntime + output encode, keeping the outputs, output placement — inline CIDs
  or uploads —, result messages, ``/status`` and the re-check of the assignments when a
  block passed, simulate + sign, journal, broadcast). Provider jobs/s = jobs / busy time;
  the phases spent waiting on the chain's RPC (query, status, re-check, simulate + sign,
  CheckTx) are also summed apart, the rest being node-local work; wall-clock jobs/s = jobs /
  (submit tx broadcast → result tx in a block), and → every job COMPLETED;
- **references**, in the same process on the same inputs, with the node's own onnxruntime
  session: (a) one ``session.run`` per input (batch 1: a server without batching) and (b) one
  batched ``session.run`` over all inputs; each the best of ``--repeats``. The ratios of the
  provider's rate to (a) (the issue's goal, ≥ 0.8) and to (b) are reported as measured.

Every output the client receives is checked against onnxruntime run here on the same input
(float32 tolerance 1e-4). One JSON object goes to stdout; progress and a readable summary to
stderr. ``--profile FILE`` writes a cProfile of the node's serving round of the throughput
phase and prints its top 25 entries (cumulative).

Usage: .venv/bin/python benchmarks/compute_e2e.py [--quick] [--jobs 256] [--block-time 1000]
       [--windows 10,0] [--batches 3] [--upload-outputs large|always] [--repeats 5]
       [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.util
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import requests

from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.genesis import default_genesis
from aivm.node.home import HomePaths, create_home, load_dev_accounts
from aivm.worker import formats
from aivm.worker.config import Offer, ProviderConfig
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode, RoundTimes
from aivm.worker.runner import ModelRunner

ROOT = Path(__file__).resolve().parents[1]
VISION_DIR = ROOT / "examples" / "offchain_vision"
AUTHORITY, OWNER, CLIENT, PROVIDER = 0, 1, 2, 3
PRICE = 100
COLLATERAL = 100_000_000
TOLERANCE = 1e-4
CHAIN_PHASES = ("query", "status", "recheck", "sign", "broadcast")
"""Phases of a round spent waiting on the chain's RPC (queries, simulate, CheckTx)."""


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def load(name: str) -> ModuleType:
    """Import ``examples/offchain_vision/<name>.py``."""
    if str(VISION_DIR) not in sys.path:
        sys.path.insert(0, str(VISION_DIR))
    alias = f"offchain_vision_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, VISION_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def train_model(out: Path, quick: bool) -> tuple[Path, np.ndarray]:
    """The digits CNN trained here and exported to ONNX; and the test digits."""
    cnn, train, export = load("cnn_model"), load("train"), load("export")
    start = time.perf_counter()
    train.train(cnn.TINY if quick else cnn.CNNConfig(), out, verbose=False)
    onnx_path, _ = export.export(out / "weights.npz", out)
    log(f"trained and exported the digits CNN in {time.perf_counter() - start:.1f} s")
    digits: np.ndarray = np.asarray(cnn.digits_split()[1], np.float32)
    return Path(onnx_path), digits


# -- the devnet -------------------------------------------------------------------------------


def prepare_home(home: Path, jobs: int) -> None:
    """A devnet home (4 dev accounts) whose compute genesis matches ``jobs`` jobs a block."""
    paths = HomePaths(home)
    create_home(paths, 4)
    genesis = json.loads(paths.genesis.read_text())
    compute = default_genesis()
    params = compute["params"]
    params["max_match_jobs_per_block"] = max(int(params["max_match_jobs_per_block"]), jobs)
    params["max_capacity"] = max(int(params["max_capacity"]), jobs)
    genesis["app_state"]["compute"] = compute
    paths.genesis.write_text(json.dumps(genesis, indent=1))


class DevnetProcess:
    """``aivm devnet`` on free ports (RPC and REST), stopped with SIGTERM then SIGKILL."""

    def __init__(self, home: Path, block_time_ms: int) -> None:
        self.out_path = home.parent / "devnet.out"
        self.err_path = home.parent / "devnet.err"
        cmd = [sys.executable, "-m", "aivm.cli.main", "devnet", "--home", str(home)]
        cmd += ["--rpc-port", "0", "--rest-port", "0", "--block-time", f"{block_time_ms}ms"]
        cmd += ["--log-level", "WARNING"]
        self._out = open(self.out_path, "w")  # noqa: SIM115 - closed in stop()
        self._err = open(self.err_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=self._err)
        self.rpc = self.rest = ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"devnet exited: {self.err_path.read_text()[-2000:]}")
            for line in self.out_path.read_text().splitlines():
                if "RPC on " in line:
                    self.rpc = line.split("RPC on ", 1)[1].strip()
                if "REST gateway on " in line:
                    self.rest = line.split("REST gateway on ", 1)[1].strip()
            if self.rpc and self.rest:
                return
            time.sleep(0.05)
        raise TimeoutError("devnet did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self._out.close()
        self._err.close()


@contextmanager
def devnet(home: Path, block_time_ms: int) -> Iterator[DevnetProcess]:
    node = DevnetProcess(home, block_time_ms)
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


def wait_height(client: Client, height: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        now = client.status().latest_block_height
        if now >= height:
            return int(now)
        if time.monotonic() > deadline:
            raise TimeoutError(f"height {now} < {height}")
        time.sleep(0.05)


def wait_rest(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url + "/cosmos/base/tendermint/v1beta1/node_info", timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- the market -------------------------------------------------------------------------------


class Market:
    """The devnet's wallets, the registered model and the provider node on a thread."""

    def __init__(self, node: DevnetProcess, home: Path, onnx_path: Path, jobs: int) -> None:
        self.url, self.rest = node.rpc, node.rest
        accounts = load_dev_accounts(HomePaths(home))
        self.wallets = [Wallet.from_mnemonic(a.mnemonic) for a in accounts]
        self.client = Client(self.url, rest=self.rest)
        self.onnx_path = onnx_path
        self.jobs = jobs
        self.model_id = 0
        self.provider: ProviderNode | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.node_log: list[str] = []

    def register(self) -> None:
        """Register the model (off chain, tolerance rule) and the provider."""
        registered = self.client.modules.ai.register_model(
            self.wallets[OWNER],
            self.onnx_path,
            "digits-cnn",
            "1.0.0",
            offchain=True,
            retention_blocks=100_000,
            comparison="tolerance",
        )
        self.model_id = int(registered.model_id)
        compute = self.client.modules.compute
        result = compute.register(
            self.wallets[PROVIDER],
            COLLATERAL,
            compute.hardware(cpu_cores=os.cpu_count() or 1, memory_mib=4096),
            ["onnxruntime"],
            [compute.offer(self.model_id, "1.0.0", PRICE)],
            capacity=self.jobs,
            moniker="bench",
        )
        assert result.code == 0, result.log
        log(f"registered model {self.model_id} and provider {self.wallets[PROVIDER].address}")

    def start_node(self, home: Path, upload_outputs: str) -> ProviderNode:
        config = ProviderConfig(
            key="bench",
            node=self.url,
            rest=self.rest,
            capacity=self.jobs,
            max_batch=max(256, self.jobs),
            poll_seconds=0.05,
            upload_outputs=upload_outputs,
            offers=(Offer(self.model_id, "1.0.0", PRICE),),
            hardware=HardwareProfile(os.cpu_count() or 1, 4096),
        )
        node_client = Client(self.url, rest=self.rest)
        self.provider = ProviderNode(
            home, config, self.wallets[PROVIDER], node_client, self.node_log.append
        )
        self._thread = threading.Thread(target=self.provider.run, args=(self._stop,), daemon=True)
        self._thread.start()
        return self.provider

    def stop_node(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(20)
        if self.provider is not None:
            self.provider.client.close()

    def set_window(self, blocks: int) -> None:
        """``challenge_window_blocks`` by MsgUpdateParams from the params authority."""
        compute = self.client.modules.compute
        params = compute.params()
        if int(params.challenge_window_blocks) == blocks:
            return
        params.challenge_window_blocks = blocks
        msg = compute_pb2.MsgUpdateParams(authority=self.wallets[AUTHORITY].address, params=params)
        sent = self.client.sign_and_broadcast(self.wallets[AUTHORITY], [msg])
        result = self.client.wait_for_tx(sent.hash, timeout=30)
        assert result.code == 0, result.log
        assert int(compute.params().challenge_window_blocks) == blocks


def expected(session: ModelRunner, x: np.ndarray) -> np.ndarray:
    out: np.ndarray = session.session.run([session.output_name], {session.input_name: x})[0]
    return out.astype(np.float32)


def check_output(output: bytes, metadata: dict[str, Any], want: np.ndarray) -> None:
    shape = tuple(int(d) for d in metadata.get("shape", want.shape))
    got = formats.decode_tensor_output(output, str(metadata.get("dtype", "float32")), shape)
    if got.shape != want.shape or not np.allclose(got, want, atol=TOLERANCE, rtol=0):
        raise AssertionError(f"output {got} differs from onnxruntime's {want}")


# -- single job -------------------------------------------------------------------------------


def single_job(market: Market, runner: ModelRunner, x: np.ndarray, window: int) -> dict[str, Any]:
    """One job through ``client.modules.compute.run``: seconds and blocks, by stage."""
    market.set_window(window)
    stages: list[tuple[str, float]] = []
    start = time.perf_counter()

    def progress(stage: str, detail: str) -> None:
        stages.append((stage, time.perf_counter() - start))

    done = market.client.modules.compute.run(
        market.wallets[CLIENT],
        market.model_id,
        "1.0.0",
        formats.encode_tensor_input(x),
        PRICE,
        timeout=120,
        poll=0.05,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    check_output(done.output, done.metadata, expected(runner, x))
    job = done.job
    result_height = max(a.result.submitted_height for a in job.assignments)
    matched = min(a.matched_height for a in job.assignments)
    row = {
        "challenge_window_blocks": window,
        "seconds": round(seconds, 3),
        "blocks": int(job.finished_height - job.created_height),
        "created_height": int(job.created_height),
        "matched_height": int(matched),
        "result_height": int(result_height),
        "accepted_height": int(job.finished_height),
        "blocks_to_result": int(result_height - job.created_height),
        "blocks_in_window": int(job.finished_height - result_height),
        "output_inline": any(stage == "inline" for stage, _ in stages),
        "stages_s": {stage: round(t, 3) for stage, t in stages},
    }
    log(
        f"single job, challenge window {window}: {row['blocks']} blocks, {seconds:.2f} s "
        f"(created {row['created_height']}, matched {matched}, result {result_height}, "
        f"accepted {row['accepted_height']}; output inline: {row['output_inline']})"
    )
    return row


# -- throughput -------------------------------------------------------------------------------


def submit_msgs(market: Market, xs: list[np.ndarray]) -> list[compute_pb2.MsgSubmitJob]:
    msgs = []
    for x in xs:
        data = formats.encode_tensor_input(x)
        msgs.append(
            compute_pb2.MsgSubmitJob(
                client=market.wallets[CLIENT].address,
                model_id=market.model_id,
                version="1.0.0",
                input_inline=data,
                input_digest=hashlib.sha256(data).digest(),
                units=1,
                max_price_per_unit=str(PRICE),
                deadline_blocks=400,
                sla_class=compute_pb2.SLA_CLASS_BATCH,
                redundancy=1,
            )
        )
    return msgs


def wait_rounds(node: ProviderNode, height: int, results: int, timeout: float) -> list[RoundTimes]:
    """The node's serving rounds from ``height`` on, until ``results`` results were sent."""
    deadline = time.monotonic() + timeout
    while True:
        rounds = [r for r in node.rounds if r.height >= height]
        if sum(r.results for r in rounds) >= results and all(r.ended for r in rounds):
            return rounds
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sum(r.results for r in rounds)} of {results} results sent")
        time.sleep(0.02)


def throughput(
    market: Market,
    node: ProviderNode,
    runner: ModelRunner,
    xs: list[np.ndarray],
    profile: str | None,
) -> dict[str, Any]:
    """``len(xs)`` jobs in one tx, served by the node; its busy time and wall-clock rates."""
    client = market.client
    msgs = submit_msgs(market, xs)
    profiler = _profile_serving(node) if profile else None
    start = time.perf_counter()
    sent = client.sign_and_broadcast(market.wallets[CLIENT], msgs, gas=50_000_000)
    tx = client.wait_for_tx(sent.hash, timeout=60)
    assert tx.code == 0, tx.log
    ids = sorted(
        int(attr[1])
        for event in tx.events
        if event.type == "compute_job_submit"
        for attr in event.attributes
        if attr[0] == "job_id"
    )
    submitted_in = time.perf_counter() - start
    log(f"{len(ids)} jobs submitted in one tx at height {tx.height} ({submitted_in:.2f} s)")
    rounds = wait_rounds(node, int(tx.height), len(ids), timeout=120)
    for r in rounds:
        log(f"node round at height {r.height}: {r.summary()}")
    results_in = max(r.ended for r in rounds) - start
    completed = _wait_completed(market, ids, timeout=120)
    completed_in = time.perf_counter() - start
    if profiler is not None and profile:
        _report_profile(profiler, profile)
    jobs = {j.id: j for j in client.modules.compute.jobs(client=market.wallets[CLIENT].address)}
    # every job of the provider (all batches so far), read between blocks: a reference for
    # the 'query' phase, which reads this batch's RUNNING jobs right after a block
    query_start = time.perf_counter()
    client.modules.compute.jobs(provider=market.wallets[PROVIDER].address)
    query_idle = time.perf_counter() - query_start
    _check_outputs(market, runner, xs, ids, jobs)
    busy = sum(r.busy for r in rounds)
    phases: dict[str, float] = {}
    for r in rounds:
        for name, seconds in r.phases.items():
            phases[name] = phases.get(name, 0.0) + seconds
    heights = [int(r.result_height) for r in rounds if r.result_height]
    chain = sum(phases.get(name, 0.0) for name in CHAIN_PHASES)
    return {
        "jobs": len(ids),
        "rounds": len(rounds),
        "submit_height": int(tx.height),
        "results_height": max(heights) if heights else 0,
        "busy_s": round(busy, 4),
        "busy_ms_per_job": round(busy / len(ids) * 1e3, 4),
        "phases_ms": {k: round(v * 1e3, 2) for k, v in phases.items()},
        "provider_jobs_per_s": round(len(ids) / busy, 1),
        "chain_calls_ms": round(chain * 1e3, 2),
        "all_provider_jobs_query_ms": round(query_idle * 1e3, 2),
        "node_local_ms": round((busy - chain) * 1e3, 2),
        "node_local_jobs_per_s": round(len(ids) / (busy - chain), 1),
        "wall_submit_to_results_in_block_s": round(results_in, 3),
        "wall_jobs_per_s_to_results": round(len(ids) / results_in, 1),
        "wall_submit_to_all_completed_s": round(completed_in, 3),
        "wall_jobs_per_s_to_completed": round(len(ids) / completed_in, 1),
        "completed": completed,
    }


def _wait_completed(market: Market, ids: list[int], timeout: float) -> int:
    compute = market.client.modules.compute
    deadline = time.monotonic() + timeout
    while True:
        done = compute.jobs(client=market.wallets[CLIENT].address, state="completed")
        count = len({j.id for j in done} & set(ids))
        if count == len(ids) or time.monotonic() > deadline:
            return count
        time.sleep(0.25)


def _check_outputs(
    market: Market,
    runner: ModelRunner,
    xs: list[np.ndarray],
    ids: list[int],
    jobs: dict[int, compute_pb2.Job],
) -> None:
    """Every completed job's output, as the client gets it (inline), equals onnxruntime's."""
    compute = market.client.modules.compute
    want = expected(runner, np.concatenate(xs))
    for row, job_id in enumerate(ids):
        job = jobs[job_id]
        if job.state != compute_pb2.JOB_STATE_COMPLETED:
            continue
        got = compute.fetch_output(job)
        check_output(got.output, got.metadata, want[row : row + 1])


def _profile_serving(node: ProviderNode) -> cProfile.Profile:
    """Profile the node's next serving round (``_serve``)."""
    profiler = cProfile.Profile()
    serve = node._serve

    def profiled(work: Any, height: int) -> None:
        node._serve = serve  # type: ignore[method-assign]
        profiler.runcall(serve, work, height)

    node._serve = profiled  # type: ignore[method-assign]
    return profiler


def _report_profile(profiler: cProfile.Profile, path: str) -> None:
    profiler.dump_stats(path)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    log(f"profile of the serving round written to {path}; top entries:")
    print(text.getvalue(), file=sys.stderr)


# -- raw onnxruntime --------------------------------------------------------------------------


def best_of(repeats: int, fn: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_onnxruntime(runner: ModelRunner, xs: list[np.ndarray], repeats: int) -> dict[str, Any]:
    """(a) one session.run per input, (b) one batched run; best of ``repeats``."""
    session, name, output = runner.session, runner.input_name, runner.output_name
    batch = np.concatenate(xs)
    for x in xs[:16]:
        session.run([output], {name: x})
    session.run([output], {name: batch})

    def one_by_one() -> None:
        for x in xs:
            session.run([output], {name: x})

    single = best_of(repeats, one_by_one)
    batched = best_of(repeats, lambda: session.run([output], {name: batch}))
    return {
        "one_by_one_s": round(single, 5),
        "one_by_one_jobs_per_s": round(len(xs) / single, 1),
        "batched_s": round(batched, 5),
        "batched_jobs_per_s": round(len(xs) / batched, 1),
    }


# -- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="aivm-compute-e2e-"))
    try:
        onnx_path, digits = train_model(work / "model", args.quick)
        runner = ModelRunner(onnx_path, max(256, args.jobs))
        xs = [digits[i % len(digits)][None] for i in range(args.jobs)]
        home = work / "devnet" / "home"
        prepare_home(home, args.jobs)
        with devnet(home, args.block_time) as node:
            market = Market(node, home, onnx_path, args.jobs)
            wait_height(market.client, 2)
            wait_rest(market.rest)
            market.register()
            provider = market.start_node(work / "provider", args.upload_outputs)
            wait_height(market.client, market.client.status().latest_block_height + 2)
            try:
                singles = [
                    single_job(market, runner, xs[i % len(xs)], window)
                    for i, window in enumerate(args.windows)
                ]
                log(f"throughput: {args.jobs} jobs in one tx")
                runs = [
                    throughput(market, provider, runner, xs, args.profile if i == 0 else None)
                    for i in range(args.batches)
                ]
                raw = raw_onnxruntime(runner, xs, args.repeats)
            finally:
                market.stop_node()
                market.client.close()
        return summarize(args, singles, runs, raw)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarize(
    args: argparse.Namespace,
    singles: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    raw: dict[str, Any],
) -> dict[str, Any]:
    ranked = sorted(runs, key=lambda r: float(r["provider_jobs_per_s"]))
    served = ranked[len(ranked) // 2]  # the median batch
    rate = served["provider_jobs_per_s"]
    report = {
        "benchmark": "compute_e2e",
        "quick": args.quick,
        "block_time_ms": args.block_time,
        "upload_outputs": args.upload_outputs,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "single_job": singles,
        "throughput": served,
        "throughput_runs": runs,
        "raw_onnxruntime": raw,
        "ratio_vs_raw_one_by_one": round(rate / raw["one_by_one_jobs_per_s"], 4),
        "ratio_vs_raw_batched": round(rate / raw["batched_jobs_per_s"], 5),
        "node_local_ratio_vs_raw_one_by_one": round(
            served["node_local_jobs_per_s"] / raw["one_by_one_jobs_per_s"], 4
        ),
        "goal_ratio": 0.8,
    }
    for single in singles:
        log(
            f"single job (challenge window {single['challenge_window_blocks']}): "
            f"{single['blocks']} blocks, {single['seconds']:.2f} s "
            f"({single['blocks_to_result']} blocks to the result, "
            f"{single['blocks_in_window']} in the window)"
        )
    for i, one in enumerate(runs):
        log(
            f"batch {i + 1}: busy {one['busy_s'] * 1e3:.0f} ms = {one['provider_jobs_per_s']:.0f}"
            f" jobs/s, chain {one['chain_calls_ms']:.0f} ms, node-local {one['node_local_ms']:.0f}"
            f" ms; phases ms {one['phases_ms']}"
        )
    log(
        f"median of {len(runs)} batches: "
        f"{served['jobs']} jobs in {served['rounds']} round(s), provider busy "
        f"{served['busy_s'] * 1e3:.0f} ms = {rate:.0f} jobs/s "
        f"({served['busy_ms_per_job']:.2f} ms/job; phases ms {served['phases_ms']})"
    )
    log(
        f"of which waiting on the chain (query, status, re-check, simulate + sign, CheckTx) "
        f"{served['chain_calls_ms']:.0f} ms; node-local {served['node_local_ms']:.0f} ms = "
        f"{served['node_local_jobs_per_s']:.0f} jobs/s; a query of all the provider's jobs "
        f"between blocks took {served['all_provider_jobs_query_ms']:.0f} ms"
    )
    log(
        f"wall clock: submit → results in a block {served['wall_submit_to_results_in_block_s']:.2f}"
        f" s ({served['wall_jobs_per_s_to_results']:.0f} jobs/s); → all completed "
        f"{served['wall_submit_to_all_completed_s']:.2f} s "
        f"({served['wall_jobs_per_s_to_completed']:.0f} jobs/s)"
    )
    log(
        f"raw onnxruntime: one by one {raw['one_by_one_jobs_per_s']:.0f} jobs/s, batched "
        f"{raw['batched_jobs_per_s']:.0f} jobs/s; ratio provider/(one by one) "
        f"{report['ratio_vs_raw_one_by_one']:.3f} (goal 0.8), provider/(batched) "
        f"{report['ratio_vs_raw_batched']:.4f}; node-local/(one by one) "
        f"{report['node_local_ratio_vs_raw_one_by_one']:.3f}; load average {report['load_avg_1m']}"
    )
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny CNN, 64 jobs, one window")
    parser.add_argument("--jobs", type=int, default=None, help="queued jobs (default 256)")
    parser.add_argument("--block-time", type=int, default=1000, help="block time in ms")
    parser.add_argument(
        "--windows", default=None, help="challenge windows for the single job (default 10,0)"
    )
    parser.add_argument("--upload-outputs", choices=("large", "always"), default="large")
    parser.add_argument("--repeats", type=int, default=5, help="raw onnxruntime repeats")
    parser.add_argument(
        "--batches", type=int, default=None, help="throughput batches, median shown (default 3)"
    )
    parser.add_argument("--profile", help="cProfile the node's serving round into FILE")
    args = parser.parse_args(argv)
    args.jobs = args.jobs or (64 if args.quick else 256)
    args.batches = args.batches or (1 if args.quick else 3)
    windows = args.windows or ("0" if args.quick else "10,0")
    args.windows = [int(w) for w in windows.split(",") if w.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
