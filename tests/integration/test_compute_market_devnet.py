"""The compute marketplace with real provider nodes on an in-process devnet (issue 14, "Real
models, made here"): the digits CNN of ``examples/offchain_vision`` registered off-chain and
served by provider nodes running as ``aivm provider start`` subprocesses — A honest, B a liar
(``AIVM_WORKER_FAULT=wrong-output``), C honest but SIGKILLed after computing
(``AIVM_WORKER_HOLD=ran``) and never restarted, D honest and dearest (what the chain
re-matches to). Job (a), redundancy 3, lands on C, A and B: C's assignment times out, the job
is re-matched to D, the client's ``run`` returns onnxruntime's output, B is DISAGREED,
slashed (reason 2) and unpaid, C TIMED_OUT and unpaid, A and D paid exactly once. Job (b),
redundancy 1, lands on C and is re-matched to A within its deadline. The story and its checks
are in ``tests/compute_market.py`` (shared with the localnet e2e test).

Genesis shortens the standard SLA class to 60 blocks (6 s at the devnet's 100 ms blocks)
and the challenge window to 5 blocks, so C's timeout comes quickly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from aivm.client import Wallet
from aivm.node.home import HomePaths, create_home, load_dev_accounts
from compute_market import (
    check_story,
    genesis_params,
    play_story,
    register_market,
    train_vision,
)
from devnet_helpers import DevnetRestThread, wait_height

pytestmark = pytest.mark.slow

BLOCK_TIME_MS = 100
SLA_RESPONSE_BLOCKS = 60
CHALLENGE_WINDOW_BLOCKS = 5
DEADLINE_BLOCKS = 400
ROLES = ("owner", "a", "b", "A", "B", "C", "D")
"""Dev account i plays ROLES[i] (dev0, the validator's operator, registers the model)."""


def wait_rest(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url + "/cosmos/base/tendermint/v1beta1/node_info", timeout=2).json()
            return
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_liar_slashed_killed_provider_rematched_client_gets_the_right_output(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    onnx_path = train_vision(tmp_path / "vision")
    paths = HomePaths(tmp_path / "devnet")
    create_home(paths, accounts=len(ROLES))
    genesis = json.loads(paths.genesis.read_text())
    params = genesis_params(SLA_RESPONSE_BLOCKS, CHALLENGE_WINDOW_BLOCKS)
    genesis["app_state"]["compute"] = {"params": params}
    paths.genesis.write_text(json.dumps(genesis))
    dev = load_dev_accounts(paths)
    accounts = {
        role: (Wallet.from_mnemonic(a.mnemonic), a.mnemonic)
        for role, a in zip(ROLES, dev, strict=True)
    }
    node = DevnetRestThread(paths.root, block_time_ms=BLOCK_TIME_MS, rpc_frontend=True)
    with node:
        wait_height(node.url, 1, timeout=10)
        wait_rest(node.rest_url)
        market = register_market(
            node.url,
            node.rest_url,
            onnx_path,
            accounts["owner"][0],
            {k: v for k, v in accounts.items() if k != "owner"},
            tmp_path,
        )
        outcome = play_story(market, DEADLINE_BLOCKS, timeout=120)
        shown = check_story(market, outcome)
    elapsed = time.monotonic() - started
    print(shown)
    print(f"story {outcome.seconds:.1f} s, test {elapsed:.1f} s")
