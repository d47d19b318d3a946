"""The compute marketplace story of issue 14 ("Real models, made here"), shared by the devnet
test (``tests/integration/test_compute_market_devnet.py``) and the 4-validator CometBFT
localnet test (``tests/e2e/test_localnet_compute.py``).

The digits CNN of ``examples/offchain_vision`` is trained here and registered as an off-chain
model (tolerance rule). Four provider nodes run as ``aivm provider start`` subprocesses:

- **A** honest (price 100), **B** a liar (``AIVM_WORKER_FAULT=wrong-output``, price 120),
- **C** honest and cheapest (price 80) but held after computing (``AIVM_WORKER_HOLD=ran``)
  and killed there with SIGKILL, never restarted,
- **D** honest and dearest (price 200): ranked last, so the first matches never pick it; it
  is what the chain re-matches job (a) to once C's assignment times out (A and B are on the
  job already).

Two clients run at once through the SDK's ``run``: job (a) with redundancy 3 (matched to
C, A, B) and job (b) with redundancy 1 (matched to C, the cheapest). C is killed mid-job;
both its assignments time out; (a) is re-matched to D and (b) to A; the liar is outvoted by
A and D, DISAGREED, unpaid and slashed (reason 2 wrong_result). :func:`check_story` then
checks what users see: the outputs equal onnxruntime's, each assignment's status and
payment, the escrow of each job split exactly into payments, protocol fee and refund, each
provider's balance and ``earned`` (every fee its txs paid accounted for), one result tx per
job and provider at most, and the compute account holding exactly collateral + escrow.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort
import requests
from google.protobuf import json_format

from aivm.client import Client, Wallet
from aivm.client.keyring import Keyring
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import RunResult
from aivm.modules.compute.keys import MODULE_ACCOUNT
from aivm.modules.compute.params import DEFAULT_PARAMS
from aivm.types import pb
from aivm.types.address import acc_address, module_address
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile

ROOT = Path(__file__).resolve().parents[1]
VISION_DIR = ROOT / "examples" / "offchain_vision"
VERSION = "1.0.0"
COLLATERAL = 100_000_000
MAX_PRICE = 200
PRICES = {"A": 100, "B": 120, "C": 80, "D": 200}
"""Rank = price × (2 − reputation), all at 0.5 at first: C < A < B < D."""
PROTOCOL_FEE_PERCENT = 2
WRONG_RESULT = 2
KILLED_HOLD_S = 600
"""C holds this long after computing; it is SIGKILLed long before."""
ASSIGNED = compute_pb2.ASSIGNMENT_STATUS_RUNNING
AGREED = compute_pb2.ASSIGNMENT_STATUS_AGREED
DISAGREED = compute_pb2.ASSIGNMENT_STATUS_DISAGREED
TIMED_OUT = compute_pb2.ASSIGNMENT_STATUS_TIMED_OUT


def load(directory: Path, name: str) -> ModuleType:
    """Import ``directory/name.py`` under an alias (as the other off-chain example tests)."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    alias = f"{directory.name}_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def train_vision(out: Path) -> Path:
    """Train the digits CNN (a few seconds on CPU) and export it; returns the ONNX path."""
    train, export = load(VISION_DIR, "train"), load(VISION_DIR, "export")
    train.train(load(VISION_DIR, "cnn_model").CNNConfig(), out, verbose=False)
    onnx_path, _ = export.export(out / "weights.npz", out)
    path: Path = onnx_path
    return path


def held_out_digits() -> np.ndarray:
    """The held-out digits, ``float32 [n, 1, 8, 8]``."""
    digits: np.ndarray = load(VISION_DIR, "cnn_model").digits_split()[1]
    return digits.astype(np.float32)


def onnx_logits(onnx_path: Path, x: np.ndarray) -> np.ndarray:
    """What onnxruntime computes on ``x`` (the model's first output)."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(["logits"], {"pixels": x.astype(np.float32)})[0]
    return out


def genesis_params(sla_response_blocks: int, challenge_window_blocks: int) -> dict[str, Any]:
    """The compute module's complete genesis params (JSON) with a short standard SLA class
    and challenge window."""
    params = dataclasses.replace(
        DEFAULT_PARAMS,
        sla_response_blocks=(sla_response_blocks, 5, 200),
        challenge_window_blocks=challenge_window_blocks,
    )
    found: dict[str, Any] = json_format.MessageToDict(
        params.to_proto(), preserving_proto_field_name=True
    )
    return found


# -- provider nodes as subprocesses ------------------------------------------------------------


@dataclass
class ProviderProcess:
    """One ``aivm provider start`` process with its home, log and test hooks."""

    name: str
    wallet: Wallet
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.home / "node.log"

    def setup(self, mnemonic: str, rpc: str, rest: str, model_id: int, price: int) -> None:
        """The key in a test keyring and ``provider.toml`` (offer, capacity 4)."""
        Keyring(self.home, "test").import_mnemonic(self.name, mnemonic)
        config = worker_config.ProviderConfig(
            key=self.name,
            node=rpc,
            rest=rest,
            keyring_backend="test",
            capacity=4,
            poll_seconds=0.1,
            offers=(worker_config.Offer(model_id, VERSION, price),),
            hardware=HardwareProfile(2, 4096),
        )
        worker_config.save(self.home, config)

    def start(self) -> None:
        hooks = ("AIVM_WORKER_HOLD", "AIVM_WORKER_FAULT")
        env = {k: v for k, v in os.environ.items() if k not in hooks}
        env.update(PYTHONUNBUFFERED="1", **self.env)
        command = [sys.executable, "-m", "aivm.cli.main", "provider", "start"]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [*command, "--home", str(self.home)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_log(self, text: str, timeout: float) -> None:
        """Wait until the log has ``text``; fails at once if the process ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.text():
                return
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: {text!r} not in its log:\n{self.text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 30 s) and reap; nothing left running."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)


@contextlib.contextmanager
def running(nodes: list[ProviderProcess]) -> Iterator[None]:
    """Start every node; stop them all on the way out and check none is left running."""
    try:
        for node in nodes:
            node.start()
        yield
    finally:
        for node in nodes:
            node.stop()
        left = [n.name for n in nodes if n.process is not None and n.process.poll() is None]
        assert not left, f"provider processes still running: {left}"


# -- the story ----------------------------------------------------------------------------------


@dataclass
class Market:
    """A running chain with the model registered and the four providers registered."""

    rpc: str
    rest: str
    onnx_path: Path
    model_id: int
    nodes: dict[str, ProviderProcess]
    clients: dict[str, Wallet]
    """``"a"`` and ``"b"``: one client account per job."""
    balances_before: dict[str, int]
    """Every provider's and client's balance before it signed anything."""

    def client(self) -> Client:
        return Client(self.rpc, rest=self.rest)


def register_market(
    rpc: str,
    rest: str,
    onnx_path: Path,
    owner: Wallet,
    accounts: dict[str, tuple[Wallet, str]],
    home: Path,
) -> Market:
    """Register the model (``owner``) and the providers A–D (collateral, one offer each),
    and write their homes. ``accounts`` maps A, B, C, D, a, b to (wallet, mnemonic)."""
    with Client(rpc, rest=rest) as client:
        balances = {k: client.balance(w.address) for k, (w, _) in accounts.items()}
        model_id = client.modules.ai.register_model(
            owner, onnx_path, "digits-cnn", VERSION, offchain=True,
            retention_blocks=100_000, comparison="tolerance",
        ).model_id  # fmt: skip
        compute = client.modules.compute
        nodes: dict[str, ProviderProcess] = {}
        for name, price in PRICES.items():
            wallet, mnemonic = accounts[name]
            result = compute.register(
                wallet,
                COLLATERAL,
                compute.hardware(cpu_cores=2, memory_mib=4096),
                ["onnxruntime"],
                [compute.offer(model_id, VERSION, price)],
                capacity=4,
                moniker=f"provider-{name}",
            )
            assert result.code == 0, result.log
            env = {
                "B": {"AIVM_WORKER_FAULT": "wrong-output"},
                "C": {"AIVM_WORKER_HOLD": f"ran:{KILLED_HOLD_S}"},
            }.get(name, {})
            node = ProviderProcess(name, wallet, home / f"provider-{name}", env)
            node.home.mkdir(parents=True)
            node.setup(mnemonic, rpc, rest, model_id, price)
            nodes[name] = node
    return Market(
        rpc, rest, onnx_path, model_id, nodes, {k: accounts[k][0] for k in "ab"}, balances
    )


@dataclass
class Outcome:
    """What the story produced."""

    inputs: dict[str, np.ndarray]
    results: dict[str, RunResult]
    job_ids: dict[str, int]
    seconds: float


class _RunThread(threading.Thread):
    """``client.modules.compute.run`` in a thread, its own Client; records the job id from
    the progress callback."""

    def __init__(
        self, market: Market, key: str, x: np.ndarray, redundancy: int, deadline_blocks: int
    ) -> None:
        super().__init__(daemon=True)
        self.market, self.key, self.x = market, key, x
        self.redundancy, self.deadline_blocks = redundancy, deadline_blocks
        self.job_id = 0
        self.result: RunResult | None = None
        self.error: BaseException | None = None

    def progress(self, stage: str, detail: str) -> None:
        if stage == "submitted":
            self.job_id = int(detail.split()[1])

    def run(self) -> None:
        try:
            with self.market.client() as client:
                self.result = client.modules.compute.run(
                    self.market.clients[self.key],
                    self.market.model_id,
                    VERSION,
                    formats.encode_tensor_input(self.x),
                    MAX_PRICE,
                    redundancy=self.redundancy,
                    sla_class="standard",
                    deadline_blocks=self.deadline_blocks,
                    timeout=240,
                    progress=self.progress,
                )
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def _poll(what: str, check: Callable[[], bool], timeout: float, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s\n{logs()}")
        time.sleep(0.2)


def play_story(market: Market, deadline_blocks: int, timeout: float) -> Outcome:
    """Start the four nodes, run jobs (a) and (b) at once, SIGKILL C when it has computed
    and both jobs are assigned to it; returns when both ``run`` calls returned and every
    node has stopped."""
    digits = held_out_digits()
    inputs = {"a": digits[40:43], "b": digits[50:52]}
    nodes = market.nodes
    started = time.monotonic()

    def logs() -> str:
        return "\n".join(f"--- {n.name}:\n{n.text()[-3000:]}" for n in nodes.values())

    with running(list(nodes.values())):
        for node in nodes.values():
            node.wait_log("on chain: ACTIVE, available=True", 90)
        threads = {
            "a": _RunThread(market, "a", inputs["a"], 3, deadline_blocks),
            "b": _RunThread(market, "b", inputs["b"], 1, deadline_blocks),
        }
        for thread in threads.values():
            thread.start()
        killed = nodes["C"]
        with market.client() as client:

            def held_both() -> bool:
                ids = [t.job_id for t in threads.values()]
                if not all(ids) or "holding" not in killed.text():
                    return False
                jobs = [client.modules.compute.job(i) for i in ids]
                return all(
                    any(a.provider == killed.wallet.address for a in j.assignments) for j in jobs
                )

            _poll("C holding with jobs (a) and (b)", held_both, 60, logs)
        killed.kill()
        for thread in threads.values():
            thread.join(timeout)
            assert not thread.is_alive(), f"job ({thread.key}) still running\n{logs()}"
            assert thread.error is None, f"job ({thread.key}): {thread.error!r}\n{logs()}"
    results = {k: t.result for k, t in threads.items() if t.result is not None}
    return Outcome(
        inputs,
        results,
        {k: t.job_id for k, t in threads.items()},
        time.monotonic() - started,
    )


# -- checks -----------------------------------------------------------------------------------


def sent_txs(rpc: str, address: str) -> list[pb.tx.TxRaw]:
    """Every tx in a block whose fee ``address`` paid (its first signer's), failed ones too:
    they paid fees, and only the ante handler's ``tx`` event (not ``message``) stays."""
    response = requests.get(
        rpc + "/tx_search",
        params={"query": f"\"tx.fee_payer='{address}'\"", "per_page": "100"},
        timeout=30,
    ).json()["result"]
    assert int(response["total_count"]) == len(response["txs"]) <= 100, response["total_count"]
    return [pb.tx.TxRaw.FromString(base64.b64decode(item["tx"])) for item in response["txs"]]


def fees_paid(txs: list[pb.tx.TxRaw]) -> int:
    total = 0
    for raw in txs:
        fee = pb.tx.AuthInfo.FromString(raw.auth_info_bytes).fee
        total += sum(int(c.amount) for c in fee.amount if c.denom == "ucgpt")
    return total


def result_job_ids(txs: list[pb.tx.TxRaw]) -> list[int]:
    """The job id of every MsgSubmitResult in ``txs``."""
    found = []
    for raw in txs:
        for msg in pb.tx.TxBody.FromString(raw.body_bytes).messages:
            if msg.type_url.endswith("MsgSubmitResult"):
                found.append(compute_pb2.MsgSubmitResult.FromString(msg.value).job_id)
    return found


def net_of(gross: int) -> int:
    """What a provider receives for ``gross``: minus the 2 % protocol fee (truncated)."""
    return gross - gross * PROTOCOL_FEE_PERCENT // 100


def height(rpc: str) -> int:
    """The chain's latest height."""
    status = requests.get(rpc + "/status", timeout=10).json()["result"]
    return int(status["sync_info"]["latest_block_height"])


def wait_blocks(rpc: str, blocks: int, timeout: float = 60) -> None:
    """Wait until ``blocks`` more blocks are committed."""
    target = height(rpc) + blocks
    _poll(f"height {target}", lambda: height(rpc) >= target, timeout, lambda: "")


def check_story(market: Market, outcome: Outcome) -> str:
    """Everything a user sees after the story (see the module docstring). The nodes have
    stopped; a tx one of them sent just before is in a block after a few more. Returns the
    jobs' timelines (who was matched and answered at which height) for the test's output."""
    nodes = market.nodes
    wait_blocks(market.rpc, 3)
    addr = {name: node.wallet.address for name, node in nodes.items()}
    # the client gets the right output
    for key, x in outcome.inputs.items():
        found = outcome.results[key]
        assert found.job.state == compute_pb2.JOB_STATE_COMPLETED
        got = formats.decode_tensor_output(found.output, "float32", (len(x), 10))
        expect = onnx_logits(market.onnx_path, x)
        assert np.allclose(got, expect, atol=1e-5), (key, got, expect)
        assert np.array_equal(np.argmax(got, axis=1), np.argmax(expect, axis=1))
    with market.client() as client:
        compute = client.modules.compute
        jobs = {k: compute.job(i) for k, i in outcome.job_ids.items()}
        # (a): C timed out, re-matched to D; B outvoted by A and D
        want_a = {"A": AGREED, "B": DISAGREED, "C": TIMED_OUT, "D": AGREED}
        want_b = {"C": TIMED_OUT, "A": AGREED}
        for key, want in (("a", want_a), ("b", want_b)):
            job = jobs[key]
            seen = [(a.provider, a.status) for a in job.assignments]
            assert sorted(seen) == sorted((addr[n], s) for n, s in want.items()), (key, job)
            for a in job.assignments:
                name = next(n for n, x in addr.items() if x == a.provider)
                expected = net_of(PRICES[name]) if a.status == AGREED else 0
                assert int(a.paid or 0) == expected, (key, name, a)
            slots = job.redundancy + (DEFAULT_PARAMS.max_escalations if job.redundancy > 1 else 0)
            gross = sum(int(a.paid or 0) for a in job.assignments) + int(job.protocol_fee)
            assert int(job.escrow) == 0 and int(job.refunded) == MAX_PRICE * slots - gross, job
        # the re-matches came in the EndBlock that timed C's assignments out
        for key, later in (("a", "D"), ("b", "A")):
            by_name = {a.provider: a for a in jobs[key].assignments}
            timed_out, rematched = by_name[addr["C"]], by_name[addr[later]]
            assert rematched.matched_height == timed_out.deadline_height, (key, jobs[key])
        earned = {"A": 2 * net_of(PRICES["A"]), "B": 0, "C": 0, "D": net_of(PRICES["D"])}
        stats = {n: compute.provider_stats(a).stats for n, a in addr.items()}
        for name, amount in earned.items():
            assert int(stats[name].earned or 0) == amount, (name, stats[name])
        assert int(stats["A"].accepted) == 2 and int(stats["D"].accepted) == 1
        assert int(stats["B"].disagreed) == 1 and int(stats["C"].timeouts) == 2
        # the liar is slashed (5 % of its collateral), nobody else
        slashes = {n: compute.slash_records(a) for n, a in addr.items()}
        assert [r.reason_code for r in slashes["B"]] == [WRONG_RESULT]
        assert not slashes["A"] and not slashes["C"] and not slashes["D"]
        providers = {p.operator: p for p in compute.providers()}
        slashed = DEFAULT_PARAMS.wrong_result_slash_fraction.mul_int(COLLATERAL).truncate_int()
        assert int(providers[addr["B"]].collateral) == COLLATERAL - slashed > 0
        for name in "ACD":
            assert int(providers[addr[name]].collateral) == COLLATERAL
        # nothing paid twice: balances = before − collateral − fees + earned
        for name in nodes:
            txs = sent_txs(market.rpc, addr[name])
            results = result_job_ids(txs)
            assert len(results) == len(set(results)), (name, results)  # one per job at most
            after = client.balance(addr[name])
            want_balance = market.balances_before[name] - COLLATERAL - fees_paid(txs) + earned[name]
            assert after == want_balance, (name, after, want_balance)
        sent = {n: set(result_job_ids(sent_txs(market.rpc, a))) for n, a in addr.items()}
        a_id, b_id = outcome.job_ids["a"], outcome.job_ids["b"]
        assert sent == {"A": {a_id, b_id}, "B": {a_id}, "C": set(), "D": {a_id}}, sent
        for key, wallet in market.clients.items():
            job = jobs[key]
            spent = sum(int(a.paid or 0) for a in job.assignments) + int(job.protocol_fee)
            fees = fees_paid(sent_txs(market.rpc, wallet.address))
            after = client.balance(wallet.address)
            assert after == market.balances_before[key] - fees - spent, (key, after)
        # the compute account holds exactly the collateral and the escrow of open jobs
        held = client.balance(acc_address(module_address(MODULE_ACCOUNT)))
        collateral = sum(int(p.collateral) for p in providers.values())
        escrow = sum(int(j.escrow or 0) for j in compute.jobs())
        assert held == collateral + escrow, (held, collateral, escrow)
    # what the nodes said
    assert "altered the output (AIVM_WORKER_FAULT)" in nodes["B"].text()
    killed = nodes["C"].text()
    assert ": ran in " in killed and f"holding {KILLED_HOLD_S} s after 'ran'" in killed
    assert "submitted result tx" not in killed
    for name in "AD":
        assert f"job {outcome.job_ids['a']}: submitted result tx" in nodes[name].text()
    assert f"job {outcome.job_ids['b']}: submitted result tx" in nodes["A"].text()
    return timeline(jobs, {a: n for n, a in addr.items()})


def timeline(jobs: dict[str, compute_pb2.Job], names: dict[str, str]) -> str:
    """``job (a) 1: C matched 12 TIMED_OUT; A matched 12 answered 14 AGREED; …``."""
    lines = []
    for key, job in jobs.items():
        parts = []
        for a in job.assignments:
            status = compute_pb2.AssignmentStatus.Name(a.status).removeprefix("ASSIGNMENT_STATUS_")
            answered = f" answered {a.result.submitted_height}" if a.result.submitted_height else ""
            parts.append(f"{names[a.provider]} matched {a.matched_height}{answered} {status}")
        lines.append(f"job ({key}) {job.id}: " + "; ".join(parts) + f"; done {job.finished_height}")
    return "\n".join(lines)
