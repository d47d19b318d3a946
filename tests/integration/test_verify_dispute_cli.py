"""Optimistic verification by hand, over the ``aivm`` CLI, on an in-process devnet (100 ms
blocks, REST gateway, content store): a DSM model registered off-chain, one provider node
(``aivm.worker.node``) that posts trace commitments and answers its disputes, and no
challenger daemon — a person plays the challenger with the commands:

- an honest result: ``aivm verify job`` passes the trace checks (the output opening and the
  trace re-executed here), ``aivm query verify disputes`` shows none;
- a provider with a self-consistent wrong trace: ``aivm query verify challengeable`` lists the
  job, ``aivm verify job`` fails its trace and prints the ``open-dispute`` command; run as
  printed, then each challenger move as ``aivm verify trace`` prints it (the provider node
  answers its own, and gives up before the final step, so the challenger sends it: the
  ``final-step`` files ``verify trace`` wrote), the game ends with the challenger winning by
  on-chain execution; ``aivm verify job`` then lists the lost dispute, and the REST routes
  show the game.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.ai import runtime
from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2 as V
from aivm.modules.verify.params import default_params
from aivm.node.home import HomePaths, create_home, load_dev_accounts
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from cli_runner import Run, cli_runner
from compute_market import genesis_params
from devnet_helpers import DevnetRestThread, wait_height
from trace_models import mlp6, rows_for

pytestmark = pytest.mark.slow

OWNER, CLIENT, PROVIDER, CHALLENGER = 0, 1, 2, 3
WINDOW = 150
"""Blocks to dispute after acceptance (15 s at 100 ms blocks): time for a person's commands."""
ROUND_BLOCKS = 100
BOND = 5_000_000
PRICE = 100
PROGRAM = mlp6(seed=3)
ARTIFACT = runtime.serialize(PROGRAM.model)


def verify_genesis() -> dict[str, Any]:
    """Default verify params with medium criticality optimistic only."""
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
    rpc: str
    rest: str
    wallets: list[Wallet]
    model_id: int
    provider: ProviderNode
    mnemonics: list[str]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    root = tmp_path_factory.mktemp("optimistic-cli")
    paths = HomePaths(root / "devnet")
    create_home(paths, accounts=4)
    genesis = json.loads(paths.genesis.read_text())
    genesis["app_state"]["compute"] = {"params": genesis_params(60, 5)}
    genesis["app_state"]["verify"] = verify_genesis()
    paths.genesis.write_text(json.dumps(genesis))
    accounts = load_dev_accounts(paths)
    wallets = [Wallet.from_mnemonic(a.mnemonic) for a in accounts]
    with DevnetRestThread(paths.root, block_time_ms=100, rpc_frontend=True) as node:
        wait_height(node.url, 1, timeout=10)
        _wait_rest(node.rest_url)
        with Client(node.url, rest=node.rest_url) as client:
            model_id: int = client.modules.ai.register_model(
                wallets[OWNER], ARTIFACT, "mlp-dsm", "1.0.0", offchain=True,
                format=runtime.FORMAT, retention_blocks=100_000,
            ).model_id  # fmt: skip
            compute = client.modules.compute
            done = compute.register(
                wallets[PROVIDER], 1_000_000_000, compute.hardware(cpu_cores=2, memory_mib=4096),
                ["dsm"], [compute.offer(model_id, "1.0.0", PRICE)], capacity=4,
            )  # fmt: skip
            assert done.code == 0, done.log
        cfg = worker_config.ProviderConfig(
            key="p", node=node.url, rest=node.rest_url, keyring_backend="test", capacity=4,
            poll_seconds=0.1, offers=(worker_config.Offer(model_id, "1.0.0", PRICE),),
            hardware=HardwareProfile(2, 4096),
        )  # fmt: skip
        stop = threading.Event()
        with Client(node.url, rest=node.rest_url) as provider_client:
            provider = ProviderNode(
                root / "provider", cfg, wallets[PROVIDER], provider_client, lambda _line: None
            )
            thread = threading.Thread(target=provider.run, args=(stop,), daemon=True)
            thread.start()
            try:
                yield Market(
                    node.url, node.rest_url, wallets, model_id, provider,
                    [a.mnemonic for a in accounts],
                )  # fmt: skip
            finally:
                stop.set()
                thread.join(30)


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


@pytest.fixture
def cli(
    market: Market,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """``aivm`` against the devnet, with the challenger's key as ``challenger``."""
    run = cli_runner(market.rpc, tmp_path / "home", capsys, monkeypatch)
    code, _, err = run("keys", "import", "challenger", stdin=market.mnemonics[CHALLENGER] + "\n")
    assert code == 0, err
    return run


def json_of(run: Run, *args: str) -> Any:
    code, out, err = run(*args, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def submit(market: Market, seed: int) -> int:
    rows = rows_for(PROGRAM, 2, seed)
    with Client(market.rpc, rest=market.rest) as client:
        return int(
            client.modules.compute.submit_job(
                market.wallets[CLIENT], market.model_id, "1.0.0", PRICE,
                input_inline=formats.encode_tensor_input(rows), deadline_blocks=400,
                sla_class="batch", criticality="medium",
            ).job_id
        )  # fmt: skip


def wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def job_state(market: Market, job_id: int) -> compute_pb2.Job:
    with Client(market.rpc, rest=market.rest) as client:
        found: compute_pb2.Job = client.modules.compute.job(job_id)
        return found


def checks_of(cli: Run, market: Market, job_id: int) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("verify", "job", str(job_id), "--rest", market.rest, "-o", "json")
    assert out, err
    return code, {c["check"]: c for c in json.loads(out)["checks"]}


def as_printed(cli: Run, command: str) -> tuple[int, str, str]:
    """Run an ``aivm …`` command as a check or ``verify trace`` printed it, as the
    challenger, waiting for its block."""
    words = command.replace("<your key>", "challenger").split()
    assert words[0] == "aivm"
    if "--from" not in words:
        words += ["--from", "challenger"]
    code, out, err = cli(*words[1:], "--yes", "--wait", "-o", "json")
    return int(code), str(out), str(err)


def test_an_honest_result_passes_the_trace_checks(cli: Run, market: Market) -> None:
    job_id = submit(market, seed=21)
    job = wait_for(
        "the job to be paid",
        lambda: (j := job_state(market, job_id)).state == compute_pb2.JOB_STATE_COMPLETED and j,
    )
    provider = market.wallets[PROVIDER].address
    code, checks = checks_of(cli, market, job.id)
    assert code == 0, checks
    assert checks[f"trace-output/{provider}"]["ok"] and checks[f"trace/{provider}"]["ok"]
    assert checks["re-execution"]["ok"]
    shown = json_of(cli, "query", "verify", "disputes", str(job_id))
    assert shown["disputes"] == []


def test_a_wrong_trace_disputed_by_hand_is_won_by_the_challenger(
    cli: Run, market: Market, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market.provider.wrong_trace = True
    try:
        job_id = submit(market, seed=22)
        wait_for(
            "the job in its challenge window",
            lambda: any(
                j["job_id"] == job_id
                for j in json_of(cli, "query", "verify", "challengeable")["jobs"]
            ),
        )
    finally:
        market.provider.wrong_trace = False
    provider = market.wallets[PROVIDER].address
    code, checks = checks_of(cli, market, job_id)
    assert code == 1
    assert checks[f"trace-output/{provider}"]["ok"]  # the opening holds: the lie is inside
    failed = checks[f"trace/{provider}"]
    assert not failed["ok"]
    code, out, err = as_printed(cli, failed["detail"].split("dispute it with: ")[1])
    assert code == 0, err
    opened = json.loads(out)
    assert opened["code"] == 0 and opened["dispute"]["status"] in ("bisect", "final"), opened
    assert opened["dispute"]["challenger"] == market.wallets[CHALLENGER].address
    # the provider node answers its moves but gives up once the game is final (a liar would
    # lose it), so the final step is the challenger's; the challenger moves as `verify
    # trace` says
    watcher = Client(market.rpc, rest=market.rest)
    playing = market.provider.player.step

    def step_unless_final() -> list[Any]:
        games = watcher.modules.verify.disputes(job_id)
        if games and games[-1].status == V.DISPUTE_STATUS_FINAL:
            return []
        found: list[Any] = playing()
        return found

    monkeypatch.setattr(market.provider.player, "step", step_unless_final)
    deadline, sent_final = time.monotonic() + 90, False
    while True:
        game = json_of(cli, "query", "verify", "disputes", str(job_id))["disputes"][-1]
        if game["status"] == "done":
            break
        assert time.monotonic() < deadline, game
        mine = game["status"] == "final" or game["turn"] == "challenger"
        if not mine:
            time.sleep(0.2)
            continue
        moves = json_of(
            cli, "verify", "trace", str(job_id), "--rest", market.rest, "--out", str(tmp_path)
        )
        code, out, err = as_printed(cli, moves["next_move"])
        assert code == 0, err
        if game["status"] == "final":
            assert json.loads(out)["dispute"]["winner"] == "challenger", out
            sent_final = True
    monkeypatch.setattr(market.provider.player, "step", playing)
    watcher.close()
    assert sent_final and (game["winner"], game["outcome"]) == ("challenger", "execution"), game
    assert int(game["paid"]) == BOND
    job = wait_for(
        "the result rejected",
        lambda: (j := job_state(market, job_id)).state == compute_pb2.JOB_STATE_REJECTED_RESULT
        and j,
    )
    assert int(job.refunded) > 0
    code, checks = checks_of(cli, market, job_id)
    assert code == 1
    lost = checks["dispute/1"]
    assert not lost["ok"] and "challenger won by execution" in lost["detail"]
    # the same through the REST gateway
    import requests

    base = market.rest + "/aivm/verify/v1"
    (shown,) = requests.get(f"{base}/disputes/{job_id}", timeout=5).json()["disputes"]
    assert (shown["winner"], shown["status"]) == ("PARTY_CHALLENGER", "DISPUTE_STATUS_DONE")
    challenger = market.wallets[CHALLENGER].address
    undecided = requests.get(f"{base}/open_disputes?party={challenger}", timeout=5).json()
    assert undecided.get("disputes", []) == []
    windows = requests.get(f"{base}/challengeable", timeout=5).json().get("jobs", [])
    assert all(int(j["job_id"]) != job_id for j in windows)
    assert requests.get(f"{base}/tee_collaterals", timeout=5).json().get("collaterals", []) == []
    found = requests.get(f"{base}/models/{market.model_id}/1.0.0", timeout=5)
    assert "registered no verification requirements" in found.text  # routed to the query
