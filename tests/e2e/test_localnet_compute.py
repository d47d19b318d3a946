"""The compute marketplace with real provider nodes on a real 4-validator CometBFT localnet
(``aivm.tools.localnet``; issue 14, "Real models, made here"): the story of
``tests/compute_market.py`` — the digits CNN registered off-chain; providers as ``aivm
provider start`` subprocesses pointed at node1's RPC and REST (A honest, B a liar, C killed
with SIGKILL after computing and never restarted, D honest and dearest); job (a) with
redundancy 3 and job (b) with redundancy 1 run at once through the SDK's ``run`` — then:
the liar is slashed (reason 2) and unpaid, C's assignments time out and both jobs are
re-matched (to D and to A), the clients get onnxruntime's output, nothing is paid twice
(assignment payments, ``earned``, balances with every fee accounted for, the compute
account's holdings), and all four nodes have the same app hash at every height.

Genesis shortens the standard SLA class to 20 blocks and the challenge window to 3 blocks.
Every process (validators and providers) is stopped at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aivm.client import Wallet
from aivm.tools.localnet import Localnet, LocalnetError, free_base_port
from comet_rpc import CometRpc, poll
from compute_market import (
    check_story,
    genesis_params,
    play_story,
    register_market,
    train_vision,
)

pytestmark = pytest.mark.e2e

VALIDATORS = 4
SERVED_BY = 1
"""The node whose RPC and REST (content store) the providers and clients use."""
SLA_RESPONSE_BLOCKS = 20
CHALLENGE_WINDOW_BLOCKS = 3
DEADLINE_BLOCKS = 120
ATTEMPTS = 3
ROLES = ("owner", "a", "b", "A", "B", "C", "D")
"""Funded account i plays ROLES[i]."""


def logs(net: Localnet) -> str:
    parts = [json.dumps(net.status())]
    for i in range(net.size):
        for proc in ("app", "cometbft"):
            parts.append(f"--- node{i} {proc}:\n{net.tail(i, proc, 15)}")
    return "\n".join(parts)


@pytest.fixture
def net(cometbft_bin: Path, tmp_path: Path) -> Iterator[Localnet]:
    """A started 4-validator localnet with the compute params above; stopped afterwards,
    with a check that none of its processes is left. A free port range can be taken between
    the check and the bind (another localnet on this machine): then it starts over on another
    range (as ``tests/chain_drivers.py`` does)."""
    for attempt in range(ATTEMPTS):
        localnet = Localnet.init(
            tmp_path / f"localnet{attempt}",
            VALIDATORS,
            cometbft_bin,
            base_port=free_base_port(VALIDATORS),
            accounts=len(ROLES),
            genesis_overrides={
                "compute": {"params": genesis_params(SLA_RESPONSE_BLOCKS, CHALLENGE_WINDOW_BLOCKS)}
            },
        )
        try:
            try:
                localnet.start()
                wait_started(localnet)
            except (LocalnetError, AssertionError):
                if attempt + 1 < ATTEMPTS:
                    continue
                raise
            yield localnet
            return
        finally:
            localnet.stop(timeout=10)
            left = [
                (i, p)
                for i in range(localnet.size)
                for p in ("app", "cometbft")
                if localnet.running(i, p)
            ]
            assert not left, f"still running after stop: {left}"


def wait_started(net: Localnet) -> None:
    """Every node at height 2 or above."""

    def heights() -> list[int]:
        return [CometRpc(net.rpc_url(i), timeout=2).height() for i in range(net.size)]

    poll("height 2 on every node", lambda: min(heights()) >= 2, 90, lambda: logs(net))


def wait_rest(net: Localnet, i: int) -> str:
    url = f"http://127.0.0.1:{net.ports(i).rest}"
    poll(
        f"REST gateway of node{i}",
        lambda: requests.get(url + "/cosmos/base/tendermint/v1beta1/node_info", timeout=2).ok,
        60,
        lambda: logs(net),
    )
    return url


def assert_same_app_hashes(net: Localnet, top: int) -> None:
    """Every node has the same header (hence app hash) at heights 1…top, and each app's last
    committed hash is the app_hash of the next header."""
    rpcs = [CometRpc(net.rpc_url(i), timeout=5) for i in range(net.size)]
    poll("every node at the top", lambda: all(r.height() >= top + 1 for r in rpcs), 60, lambda: "")
    for h in range(1, top + 1):
        headers = [json.dumps(r.header(h), sort_keys=True) for r in rpcs]
        assert len(set(headers)) == 1, (h, headers)
    apps = [r.app_info() for r in rpcs]
    last = max(h for h, _ in apps)
    poll(f"height {last + 1}", lambda: rpcs[0].height() > last, 30, lambda: "")
    for i, (app_height, app_hash) in enumerate(apps):
        assert rpcs[0].header(app_height + 1)["app_hash"] == app_hash.hex().upper(), i


def test_market_on_a_four_validator_localnet(net: Localnet, tmp_path: Path) -> None:
    started = time.monotonic()
    onnx_path = train_vision(tmp_path / "vision")
    accounts = {
        role: (Wallet.from_mnemonic(a["mnemonic"]), a["mnemonic"])
        for role, a in zip(ROLES, net.accounts(), strict=True)
    }
    rpc, rest = net.rpc_url(SERVED_BY), wait_rest(net, SERVED_BY)
    market = register_market(
        rpc,
        rest,
        onnx_path,
        accounts["owner"][0],
        {k: v for k, v in accounts.items() if k != "owner"},
        tmp_path,
    )
    outcome = play_story(market, DEADLINE_BLOCKS, timeout=150)
    shown = check_story(market, outcome)
    top = CometRpc(net.rpc_url(0), timeout=5).height()
    assert_same_app_hashes(net, top)
    print(shown)
    print(f"story {outcome.seconds:.1f} s, test {time.monotonic() - started:.1f} s, {top} blocks")
