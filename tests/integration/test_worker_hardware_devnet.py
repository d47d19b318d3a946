"""Hardware checks served by the daemons on an in-process devnet (100 ms blocks, REST gateway):
the compute module opens a timed hardware challenge for the provider every few blocks with a
committee drawn from the roles module's compute role; the provider node
(``aivm.worker.node``) answers it within its deadline and the verifier daemon
(``aivm.worker.verifier``) of the compute-role operator — which finds its role by itself —
commits, then reveals, the workload digest; the chain tallies the check PASSED and the
provider's hardware is attested. A verifier told ``compute_checks=False`` serves nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_compute_hardware import compute_params, roles_params
from test_verify_optimistic_devnet import _wait_rest

from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.node.home import HomePaths, create_home, load_dev_accounts
from aivm.worker import config as worker_config
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from aivm.worker.verifier import VerifierNode
from devnet_helpers import DevnetRestThread, wait_height

pytestmark = pytest.mark.slow

OWNER, PROVIDER, COMPUTE_VALIDATOR, IDLE_VALIDATOR = 0, 1, 2, 3
ACCOUNTS = 4
BLOCK_TIME_MS = 100
INTERVAL = 10
PHASE_BLOCKS = 20
ARTIFACT = b"an off-chain model the provider offers (never run here)"
PASSED = compute_pb2.HARDWARE_CHECK_STATUS_PASSED


def genesis_changes(genesis: dict[str, Any]) -> None:
    """A challenge every INTERVAL blocks, a small workload, one committee member, phases
    long enough for daemons polling every block."""
    genesis["app_state"]["compute"] = {
        "params": compute_params(
            hardware_response_blocks=[str(PHASE_BLOCKS)] * 3,
            hardware_validators=1,
            hardware_commit_blocks=str(PHASE_BLOCKS),
            hardware_reveal_blocks=str(PHASE_BLOCKS),
            hardware_check_interval_blocks=str(INTERVAL),
        )
    }
    genesis["app_state"]["roles"] = {"params": roles_params()}


def register(client: Client, wallets: list[Wallet]) -> int:
    """The model, the provider, and two compute-role operators (one of them idle)."""
    model_id: int = client.modules.ai.register_model(
        wallets[OWNER], ARTIFACT, "remote", "1.0.0", offchain=True, retention_blocks=100_000
    ).model_id
    compute = client.modules.compute
    result = compute.register(
        wallets[PROVIDER], 1_000_000, compute.hardware(cpu_cores=2, memory_mib=4096),
        ["onnxruntime"], [compute.offer(model_id, "1.0.0", 100)], capacity=1,
    )  # fmt: skip
    assert result.code == 0, result.log
    roles = client.modules.roles
    cap = roles.compute_capability("gpu_flagship", 1, 80)
    result = roles.register(wallets[COMPUTE_VALIDATOR], "compute", 100_000, cap, moniker="cv")
    assert result.code == 0, result.log
    return model_id


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[Wallet]]]:
    root = tmp_path_factory.mktemp("hardware")
    paths = HomePaths(root / "devnet")
    create_home(paths, accounts=ACCOUNTS)
    genesis = json.loads(paths.genesis.read_text())
    genesis_changes(genesis)
    paths.genesis.write_text(json.dumps(genesis))
    wallets = [Wallet.from_mnemonic(a.mnemonic) for a in load_dev_accounts(paths)]
    with DevnetRestThread(paths.root, block_time_ms=BLOCK_TIME_MS, rpc_frontend=True) as node:
        wait_height(node.url, 1, timeout=10)
        _wait_rest(node.rest_url)
        yield node.url, node.rest_url, wallets


def test_the_daemons_answer_commit_and_reveal_a_scheduled_challenge(
    devnet: tuple[str, str, list[Wallet]], tmp_path: Path
) -> None:
    rpc, rest, wallets = devnet
    with Client(rpc, rest=rest) as client:
        model_id = register(client, wallets)
    lines: dict[str, list[str]] = {"provider": [], "validator": [], "idle": []}
    clients = [Client(rpc, rest=rest) for _ in range(3)]
    cfg = worker_config.ProviderConfig(
        key="p", node=rpc, rest=rest, keyring_backend="test", capacity=1, poll_seconds=0.1,
        offers=(worker_config.Offer(model_id, "1.0.0", 100),), hardware=HardwareProfile(2, 4096),
    )  # fmt: skip
    provider = ProviderNode(
        tmp_path / "provider", cfg, wallets[PROVIDER], clients[0], lines["provider"].append
    )
    validator = VerifierNode(
        tmp_path / "validator", wallets[COMPUTE_VALIDATOR], clients[1], rest,
        lines["validator"].append,
    )  # fmt: skip
    idle = VerifierNode(
        tmp_path / "idle", wallets[IDLE_VALIDATOR], clients[2], rest, lines["idle"].append,
        compute_checks=False,
    )  # fmt: skip
    stop = threading.Event()
    threads = [
        threading.Thread(target=provider.run, args=(stop,), daemon=True),
        threading.Thread(target=validator.run, args=(stop, rpc, 0.1), daemon=True),
        threading.Thread(target=idle.run, args=(stop, rpc, 0.1), daemon=True),
    ]
    for thread in threads:
        thread.start()
    address = wallets[PROVIDER].address
    passed: list[compute_pb2.HardwareChallenge] = []
    try:
        with Client(rpc, rest=rest) as client:
            deadline = time.monotonic() + 60
            while not passed and time.monotonic() < deadline:
                found = client.modules.compute.hardware_challenges(provider=address)
                passed = [c for c in found if c.status == PASSED]
                time.sleep(0.2)
            record = client.modules.compute.provider(address).provider
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for c in clients:
            c.close()
    assert passed, lines
    challenge = passed[0]
    assert [v.validator for v in challenge.verdicts] == [wallets[COMPUTE_VALIDATOR].address]
    assert challenge.verdicts[0].digest and challenge.answer_hash
    assert record.hardware_attested
    cid = challenge.id
    assert any(f"hardware challenge {cid}: answered" in x for x in lines["provider"]), lines
    assert any(f"hardware challenge {cid}: committed" in x for x in lines["validator"]), lines
    assert any(f"hardware challenge {cid}: revealed" in x for x in lines["validator"]), lines
    assert validator.compute_role is True  # found in the compute role by itself
    assert not any("hardware" in x for x in lines["idle"])
