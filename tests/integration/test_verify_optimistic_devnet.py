"""Optimistic verification end to end on an in-process devnet (100 ms blocks, REST gateway,
content store): a DSM model registered off-chain (format ``aivm-dsm/1``), a provider node
(``aivm.worker.node``, runtime ``dsm``) that posts each result's trace commitment and plays
its side of disputes, and one challenger (``aivm.worker.verifier`` with ``challenge=True``)
that recomputes the trace of every challengeable job and disputes a wrong one. Genesis makes
medium criticality optimistic only (no committee) with a short challenge window.

- honest provider, honest challenger: no dispute; the job is paid once the window is over;
- a provider with a self-consistent wrong trace (``wrong-trace``): the challenger disputes it
  and wins by on-chain execution of the first wrong operator; the provider's collateral pays
  the dispute bond to the challenger, the result is rejected and the client refunded;
- a false challenger (``false-dispute``) against an honest provider: the provider wins the
  game and the challenger's bond; the job is paid with the right output.
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

import pytest
from google.protobuf import json_format

from aivm.ai import runtime
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
from trace_models import mlp6, rows_for

pytestmark = pytest.mark.slow

V, J = verify_pb2, compute_pb2
OWNER, CLIENT, PROVIDER, CHALLENGER = 0, 1, 2, 3
ACCOUNTS = 4
BLOCK_TIME_MS = 100
WINDOW = 30
"""Blocks the challenger has to dispute after acceptance (3 s)."""
ROUND_BLOCKS = 30
BOND = 5_000_000
PRICE = 100
COLLATERAL = 1_000_000_000
PROGRAM = mlp6(seed=3)
ARTIFACT = runtime.serialize(PROGRAM.model)


def verify_genesis() -> dict[str, Any]:
    """Default verify params with medium criticality optimistic only and a short window."""
    params: dict[str, Any] = json_format.MessageToDict(
        default_params().to_proto(), preserving_proto_field_name=True
    )
    for rule in params["policy"]:
        if rule.get("criticality") == "CRITICALITY_MEDIUM":
            rule["methods"] = ["METHOD_OPTIMISTIC"]
            rule["challenge_window_blocks"] = WINDOW
            rule.pop("sample_rate", None)
    params.update(dispute_bond=str(BOND), round_blocks=ROUND_BLOCKS)
    return {"params": params}


@dataclass
class Market:
    """The devnet, the model, the provider node and the challenger."""

    rpc: str
    rest: str
    wallets: list[Wallet]
    model_id: int
    provider: ProviderNode
    challenger: VerifierNode
    lines: dict[str, list[str]] = field(default_factory=dict)

    def client(self) -> Client:
        return Client(self.rpc, rest=self.rest)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    root = tmp_path_factory.mktemp("optimistic")
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


@contextlib.contextmanager
def open_market(rpc: str, rest: str, wallets: list[Wallet], root: Path) -> Iterator[Market]:
    """Register the model and the provider, run the provider node and the challenger as
    threads (each with its own client) until the block ends."""
    _wait_rest(rest)
    with Client(rpc, rest=rest) as client:
        model_id: int = client.modules.ai.register_model(
            wallets[OWNER], ARTIFACT, "mlp-dsm", "1.0.0", offchain=True,
            format=runtime.FORMAT, retention_blocks=100_000,
        ).model_id  # fmt: skip
        compute = client.modules.compute
        result = compute.register(
            wallets[PROVIDER], COLLATERAL, compute.hardware(cpu_cores=2, memory_mib=4096),
            ["dsm"], [compute.offer(model_id, "1.0.0", PRICE)], capacity=4,
        )  # fmt: skip
        assert result.code == 0, result.log
    offer = worker_config.Offer(model_id, "1.0.0", PRICE)
    cfg = worker_config.ProviderConfig(
        key="p", node=rpc, rest=rest, keyring_backend="test", capacity=4, poll_seconds=0.1,
        offers=(offer,), hardware=HardwareProfile(2, 4096),
    )  # fmt: skip
    lines: dict[str, list[str]] = {"provider": [], "challenger": []}
    clients = [Client(rpc, rest=rest), Client(rpc, rest=rest)]
    provider = ProviderNode(
        root / "provider", cfg, wallets[PROVIDER], clients[0], lines["provider"].append
    )
    challenger = VerifierNode(
        root / "challenger", wallets[CHALLENGER], clients[1], rest, lines["challenger"].append,
        challenge=True,
    )  # fmt: skip
    stop = threading.Event()
    threads = [
        threading.Thread(target=provider.run, args=(stop,), daemon=True),
        threading.Thread(target=challenger.run, args=(stop, rpc, 0.1), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield Market(rpc, rest, wallets, model_id, provider, challenger, lines)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for c in clients:
            c.close()


def _wait_rest(url: str, timeout: float = 20) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url + "/cosmos/base/tendermint/v1beta1/node_info", timeout=2).json()
            return
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Outcome:
    job: Any
    output: bytes | None
    failed: bool
    before: dict[str, int]
    after: dict[str, int]
    disputes: list[Any]


def stakes(client: Client, market: Market) -> dict[str, int]:
    """Balances of the client, provider and challenger, and the provider's collateral."""
    w = market.wallets
    found = client.modules.compute.provider(w[PROVIDER].address).provider
    return {
        "client": client.balance(w[CLIENT].address),
        "provider": client.balance(w[PROVIDER].address),
        "challenger": client.balance(w[CHALLENGER].address),
        "collateral": int(found.collateral),
    }


def run_job(
    market: Market, seed: int, provider_fault: str = "", challenger_fault: str = ""
) -> Outcome:
    """One medium-criticality job (optimistic only) with the given faults."""
    rows = rows_for(PROGRAM, 2, seed)
    market.provider.wrong_trace = provider_fault == "wrong-trace"
    market.challenger.fault = challenger_fault
    with market.client() as client:
        before = stakes(client, market)
        try:
            done: Any = client.modules.compute.run(
                market.wallets[CLIENT], market.model_id, "1.0.0",
                formats.encode_tensor_input(rows), PRICE, sla_class="batch",
                deadline_blocks=400, criticality="medium", timeout=90,
            )  # fmt: skip
            job, output, failed = done.job, done.output, False
        except JobFailedError as exc:
            job, output, failed = exc.job, None, True
        finally:
            market.provider.wrong_trace = False
            market.challenger.fault = ""
        # the game's last payments land with the decision; let one more block pass
        time.sleep(0.5)
        after = stakes(client, market)
        found = client.modules.verify.disputes(job.id)
    return Outcome(job, output, failed, before, after, found)


def expected_output(seed: int) -> bytes:
    data: bytes = PROGRAM.run(rows_for(PROGRAM, 2, seed)).astype("<i8").tobytes()
    return data


def test_honest_result_is_paid_after_the_window_without_a_dispute(market: Market) -> None:
    out = run_job(market, seed=11)
    assert not out.failed, out.job
    assert out.output == expected_output(11)
    assert out.job.state == J.JOB_STATE_COMPLETED
    assert out.disputes == []
    with market.client() as client:
        session = client.modules.verify.session(out.job.id)
    runs = {r.method: r.status for r in session.methods}
    assert runs == {V.METHOD_OPTIMISTIC: V.METHOD_STATUS_PASSED}
    assert session.challenge_end_height > 0
    assert out.after["collateral"] == out.before["collateral"]
    assert out.after["challenger"] == out.before["challenger"]  # it sent nothing
    assert int(out.job.assignments[0].paid) > 0
    assert market.challenger.checked.entries.get(str(out.job.id), {}).get("state") in (
        "agrees", None,  # None: the window ended and the entry was swept
    )  # fmt: skip
    assert any(
        f"job {out.job.id}: trace root" in line and "agrees" in line
        for line in market.lines["challenger"]
    )


def test_wrong_trace_is_disputed_and_the_challenger_wins(market: Market) -> None:
    out = run_job(market, seed=12, provider_fault="wrong-trace")
    assert out.failed, "a wrong trace was paid"
    assert out.job.state == J.JOB_STATE_REJECTED_RESULT
    assert len(out.disputes) == 1
    game = out.disputes[0]
    assert game.challenger == market.wallets[CHALLENGER].address
    assert (game.winner, game.outcome) == (V.PARTY_CHALLENGER, V.DISPUTE_OUTCOME_EXECUTION)
    assert game.status == V.DISPUTE_STATUS_DONE and int(game.paid) == BOND
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
        f"job {out.job.id}: dispute 1: sent final step" in x
        for x in lines["provider"] + lines["challenger"]
    )


def test_false_challenger_loses_its_bond_to_the_honest_provider(market: Market) -> None:
    out = run_job(market, seed=13, challenger_fault="false-dispute")
    assert not out.failed, out.job
    assert out.output == expected_output(13)
    assert out.job.state == J.JOB_STATE_COMPLETED
    assert len(out.disputes) == 1
    game = out.disputes[0]
    assert (game.winner, game.outcome) == (V.PARTY_PROVIDER, V.DISPUTE_OUTCOME_EXECUTION)
    assert int(game.paid) == BOND
    assert out.after["collateral"] == out.before["collateral"]
    assert out.after["provider"] > out.before["provider"] + BOND // 2  # the bond, less fees
    assert int(out.job.assignments[0].paid) > 0
    assert out.after["challenger"] < out.before["challenger"] - BOND + BOND // 2
