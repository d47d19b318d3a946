"""Optimistic verification of a float model end to end on an in-process devnet (100 ms blocks,
REST gateway, content store): an ONNX MLP registered off-chain with comparison ``tolerance``
and declared ``optimistic_float`` by its owner, a provider node (``aivm.worker.node``) that
traces each optimistic job with onnxruntime's every-node trace, posts the commitment and plays
its side of disputes, one challenger (``aivm.worker.verifier`` with ``challenge=True``, not an
AI validator) and three AI validators (``aivm.worker.verifier``) that vote on an opened step.
Genesis makes medium criticality optimistic only (k = 3 for the step vote) with a short
challenge window.

- honest provider: no dispute; the job is paid once the window is over;
- a provider whose output (and trace) is moved by 0.25 (``wrong-trace``): the challenger's own
  output is beyond tolerance, so it disputes; bisection narrows the game to the last node, the
  provider opens that node's inputs and its claim, the validators re-run the node and vote
  it invalid; the challenger wins, the provider's collateral pays the bond, the result is
  rejected and the client refunded;
- a false challenger (``false-dispute``) against an honest provider: the vote finds the
  provider's step valid; the provider wins the challenger's bond and the job is paid.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from test_verify_optimistic_devnet import _wait_rest

from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import JobFailedError
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.params import default_params
from aivm.node.home import HomePaths, create_home, load_dev_accounts
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from aivm.worker.verifier import VerifierNode
from compute_market import genesis_params
from devnet_helpers import DevnetRestThread, wait_height
from onnx_fixtures import build_mnist_like_mlp

pytestmark = pytest.mark.slow

V, J = verify_pb2, compute_pb2
OWNER, CLIENT, PROVIDER, CHALLENGER = 0, 1, 2, 3
VALIDATORS = (4, 5, 6)
ACCOUNTS = 7
BLOCK_TIME_MS = 100
WINDOW = 30
"""Blocks the challenger has to dispute after acceptance (3 s)."""
ROUND_BLOCKS = 30
VOTE_BLOCKS = 30
BOND = 5_000_000
ROLE_BOND = 2_000_000_000
PRICE = 100
COLLATERAL = 1_000_000_000
MODEL = build_mnist_like_mlp(seed=3, sizes=(20, 16, 4)).SerializeToString()


def verify_genesis() -> dict[str, Any]:
    """Default verify params with medium criticality optimistic only (k = 3) and short
    windows, rounds and vote phases."""
    params: dict[str, Any] = json_format.MessageToDict(
        default_params().to_proto(), preserving_proto_field_name=True
    )
    for rule in params["policy"]:
        if rule.get("criticality") == "CRITICALITY_MEDIUM":
            rule["methods"] = ["METHOD_OPTIMISTIC"]
            rule["challenge_window_blocks"] = WINDOW
            rule["validators"] = 3
            rule.pop("sample_rate", None)
    params.update(
        dispute_bond=str(BOND),
        round_blocks=ROUND_BLOCKS,
        commit_blocks=VOTE_BLOCKS,
        reveal_blocks=VOTE_BLOCKS,
    )
    return {"params": params}


@dataclass
class Market:
    """The devnet, the model, the provider node, the challenger and the AI validators."""

    rpc: str
    rest: str
    wallets: list[Wallet]
    model_id: int
    provider: ProviderNode
    challenger: VerifierNode
    validators: list[VerifierNode]
    lines: dict[str, list[str]] = field(default_factory=dict)

    def client(self) -> Client:
        return Client(self.rpc, rest=self.rest)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    root = tmp_path_factory.mktemp("optimistic-float")
    paths = HomePaths(root / "devnet")
    create_home(paths, accounts=ACCOUNTS)
    genesis = json.loads(paths.genesis.read_text())
    genesis["app_state"]["compute"] = {"params": genesis_params(60, 5)}
    genesis["app_state"]["verify"] = verify_genesis()
    paths.genesis.write_text(json.dumps(genesis))
    wallets = [Wallet.from_mnemonic(a.mnemonic) for a in load_dev_accounts(paths)]
    with DevnetRestThread(paths.root, block_time_ms=BLOCK_TIME_MS, rpc_frontend=True) as node:
        wait_height(node.url, 1, timeout=10)
        with open_market(node.url, node.rest_url, wallets, root) as found:
            yield found


def _register(client: Client, wallets: list[Wallet], root: Path) -> int:
    """The model (off-chain, tolerance), the provider and the three AI validators."""
    path = root / "mlp.onnx"
    path.write_bytes(MODEL)
    model_id: int = client.modules.ai.register_model(
        wallets[OWNER], path, "mlp-float", "1.0.0", offchain=True,
        retention_blocks=100_000, comparison="tolerance",
    ).model_id  # fmt: skip
    declare = verify_pb2.MsgSetModelVerification(
        owner=wallets[OWNER].address, model_id=model_id, version="1.0.0", optimistic_float=True
    )
    sent = client.sign_and_broadcast(wallets[OWNER], [declare])
    assert client.wait_for_tx(sent.hash, timeout=30).ok
    compute = client.modules.compute
    result = compute.register(
        wallets[PROVIDER], COLLATERAL, compute.hardware(cpu_cores=2, memory_mib=4096),
        ["onnxruntime"], [compute.offer(model_id, "1.0.0", PRICE)], capacity=4,
    )  # fmt: skip
    assert result.code == 0, result.log
    roles = client.modules.roles
    for v in VALIDATORS:
        cap = roles.ai_capability(["onnxruntime"], ["reexecution"])
        result = roles.register(wallets[v], "ai", ROLE_BOND, cap, moniker=f"val{v}")
        assert result.code == 0, result.log
    return model_id


@contextlib.contextmanager
def open_market(rpc: str, rest: str, wallets: list[Wallet], root: Path) -> Iterator[Market]:
    """Register everything, run the provider node, the challenger and the validators as
    threads (each with its own client) until the block ends."""
    _wait_rest(rest)
    with Client(rpc, rest=rest) as client:
        model_id = _register(client, wallets, root)
    offer = worker_config.Offer(model_id, "1.0.0", PRICE)
    cfg = worker_config.ProviderConfig(
        key="p", node=rpc, rest=rest, keyring_backend="test", capacity=4, poll_seconds=0.1,
        offers=(offer,), hardware=HardwareProfile(2, 4096),
    )  # fmt: skip
    lines: dict[str, list[str]] = {"provider": [], "challenger": []}
    clients: list[Client] = []

    def client_() -> Client:
        clients.append(Client(rpc, rest=rest))
        return clients[-1]

    provider = ProviderNode(
        root / "provider", cfg, wallets[PROVIDER], client_(), lines["provider"].append
    )
    challenger = VerifierNode(
        root / "challenger", wallets[CHALLENGER], client_(), rest, lines["challenger"].append,
        challenge=True,
    )  # fmt: skip
    validators = []
    for v in VALIDATORS:
        lines[f"val{v}"] = []
        validators.append(
            VerifierNode(root / f"val{v}", wallets[v], client_(), rest, lines[f"val{v}"].append)
        )
    stop = threading.Event()
    threads = [
        threading.Thread(target=provider.run, args=(stop,), daemon=True),
        *(
            threading.Thread(target=node.run, args=(stop, rpc, 0.1), daemon=True)
            for node in [challenger, *validators]
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        yield Market(rpc, rest, wallets, model_id, provider, challenger, validators, lines)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for c in clients:
            c.close()


@dataclass
class Outcome:
    job: Any
    output: bytes | None
    failed: bool
    before: dict[str, int]
    after: dict[str, int]
    disputes: list[Any]


def stakes(client: Client, market: Market) -> dict[str, int]:
    """Balances of the provider and the challenger, and the provider's collateral."""
    w = market.wallets
    found = client.modules.compute.provider(w[PROVIDER].address).provider
    return {
        "provider": client.balance(w[PROVIDER].address),
        "challenger": client.balance(w[CHALLENGER].address),
        "collateral": int(found.collateral),
    }


def job_input(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((2, 20)).astype(np.float32)


def run_job(
    market: Market, seed: int, provider_fault: str = "", challenger_fault: str = ""
) -> Outcome:
    """One medium-criticality job (optimistic only) with the given faults."""
    market.provider.wrong_trace = provider_fault == "wrong-trace"
    market.challenger.fault = challenger_fault
    with market.client() as client:
        before = stakes(client, market)
        try:
            done: Any = client.modules.compute.run(
                market.wallets[CLIENT], market.model_id, "1.0.0",
                formats.encode_tensor_input(job_input(seed)), PRICE, sla_class="batch",
                deadline_blocks=400, criticality="medium", timeout=120,
            )  # fmt: skip
            job, output, failed = done.job, done.output, False
        except JobFailedError as exc:
            job, output, failed = exc.job, None, True
        finally:
            market.provider.wrong_trace = False
            market.challenger.fault = ""
        time.sleep(0.5)  # the game's last payments land with the decision
        after = stakes(client, market)
        found = client.modules.verify.disputes(job.id)
    return Outcome(job, output, failed, before, after, found)


def expected_output(seed: int) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(None, {"x": job_input(seed)})[0]
    return out


def step_votes(market: Market, job_id: int) -> list[str]:
    return [
        line
        for v in VALIDATORS
        for line in market.lines[f"val{v}"]
        if line.startswith(f"job {job_id}: committed a step verdict")
    ]


def test_honest_float_result_is_paid_after_the_window_without_a_dispute(market: Market) -> None:
    out = run_job(market, seed=11)
    assert not out.failed, out.job
    assert out.output is not None
    got = np.frombuffer(out.output, "<f4").reshape(2, 4)
    assert np.allclose(got, expected_output(11), rtol=1e-3, atol=1e-4)
    assert out.job.state == J.JOB_STATE_COMPLETED
    assert out.disputes == []
    with market.client() as client:
        session = client.modules.verify.session(out.job.id)
    assert {r.method: r.status for r in session.methods} == {
        V.METHOD_OPTIMISTIC: V.METHOD_STATUS_PASSED
    }
    evidence = client.modules.verify.decode_evidence(bytes(out.job.assignments[0].result.evidence))
    assert list(evidence.trace_output_shape) == [2, 4] and len(evidence.trace_root) == 32
    assert out.after["collateral"] == out.before["collateral"]
    assert out.after["challenger"] == out.before["challenger"]  # it sent nothing
    assert int(out.job.assignments[0].paid) > 0
    assert any(
        f"job {out.job.id}: trace root" in line and "agrees" in line
        for line in market.lines["challenger"]
    )
    assert any(f"job {out.job.id}: ran the traced model" in x for x in market.lines["provider"])


def test_wrong_float_output_is_disputed_voted_down_and_the_challenger_wins(
    market: Market,
) -> None:
    out = run_job(market, seed=12, provider_fault="wrong-trace")
    assert out.failed, "a wrong float result was paid"
    assert out.job.state == J.JOB_STATE_REJECTED_RESULT
    assert len(out.disputes) == 1
    game = out.disputes[0]
    assert game.float_model and game.challenger == market.wallets[CHALLENGER].address
    assert (game.winner, game.outcome) == (V.PARTY_CHALLENGER, V.DISPUTE_OUTCOME_VOTE)
    assert game.status == V.DISPUTE_STATUS_DONE and int(game.paid) == BOND
    assert game.hi == game.n  # the last node's output was the moved one
    assert "vote of 3 AI validators" in game.detail
    assert out.after["collateral"] <= out.before["collateral"] - BOND
    assert out.after["challenger"] > out.before["challenger"] + BOND // 2  # bond won, fees paid
    assert int(out.job.refunded) > 0
    assert all(int(a.paid or 0) == 0 for a in out.job.assignments)
    with market.client() as client:
        session = client.modules.verify.session(out.job.id)
    assert session.status == V.SESSION_STATUS_FAILED and session.disputes == 1
    lines = market.lines
    assert any(f"job {out.job.id}: tampered with the trace" in x for x in lines["provider"])
    assert any(
        f"job {out.job.id}: dispute 1: sent final step (opened step" in x
        for x in lines["provider"]
    )
    votes = step_votes(market, out.job.id)
    assert len(votes) == 3 and all("INVALID" in v for v in votes), votes


def test_false_float_challenger_loses_its_bond_by_the_vote(market: Market) -> None:
    out = run_job(market, seed=13, challenger_fault="false-dispute")
    assert not out.failed, out.job
    assert out.job.state == J.JOB_STATE_COMPLETED
    assert len(out.disputes) == 1
    game = out.disputes[0]
    assert (game.winner, game.outcome) == (V.PARTY_PROVIDER, V.DISPUTE_OUTCOME_VOTE)
    assert int(game.paid) == BOND
    assert out.after["collateral"] == out.before["collateral"]
    assert out.after["provider"] > out.before["provider"] + BOND // 2  # the bond, less fees
    assert out.after["challenger"] < out.before["challenger"] - BOND + BOND // 2
    assert int(out.job.assignments[0].paid) > 0
    votes = step_votes(market, out.job.id)
    assert len(votes) == 3 and all(": VALID" in v for v in votes), votes
