"""A running chain behind a common endpoint interface, for tests that only talk to a node over
its CometBFT JSON-RPC and REST gateway (SDK, CLI, cosmjs, cosmpy).

Two drivers:

- ``devnet``: the embedded single-validator devnet (``DevnetRestThread``) on free ports, in this
  process, its RPC port served by the front-end process as ``aivm devnet`` does;
- ``cometbft``: a 1-validator ``aivm localnet`` (real CometBFT 0.38 + ``aivm start`` with its REST
  gateway) in a tmp dir on a free port range, stopped in ``finally``, with a check that nothing
  is left running.

``tests/conftest.py`` exposes it as the module-scoped, parametrized ``chain`` fixture (test ids
``[devnet]`` and ``[cometbft]``): each driver starts once per test module, so tests of one module
share its funded accounts (use distinct ones, or fund new keys).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aivm.node.home import HomePaths, load_dev_accounts
from devnet_helpers import DevnetRestThread, result

DRIVERS = ("devnet", "cometbft")
FUNDED_ACCOUNTS = 4
DEVNET_BLOCK_TIME_MS = 100


@dataclass(frozen=True)
class FundedAccount:
    name: str
    address: str
    mnemonic: str


@dataclass(frozen=True)
class ChainEndpoint:
    """What a client needs to know about a running chain."""

    driver: str
    rpc_url: str
    rest_url: str
    chain_id: str
    home: Path
    accounts: tuple[FundedAccount, ...]
    initial_balance: int
    tx_timeout: float  # enough for a tx to be included and indexed (several blocks)

    @property
    def mnemonics(self) -> list[str]:
        return [a.mnemonic for a in self.accounts]

    def height(self) -> int:
        return int(result(self.rpc_url, "status")["sync_info"]["latest_block_height"])

    def wait_height(self, height: int, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError, KeyError, AssertionError):
                h = self.height()
                if h >= height:
                    return h
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.driver}: height {height} not reached in {timeout} s")
            time.sleep(0.05)


def free_base_port(validators: int = 1) -> int:
    """A localnet base port whose whole range is free now (below Linux's ephemeral range)."""
    from aivm.tools.localnet import PORT_STRIDE, ports_free

    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(15000, 32000 - PORT_STRIDE * validators, PORT_STRIDE)
        if ports_free(range(base, base + PORT_STRIDE * validators)):
            return base
    raise AssertionError("no free port range")


def _wait_rest(rest_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = rest_url + "/cosmos/base/tendermint/v1beta1/node_info"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                json.loads(resp.read())
                return
        except (OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"REST gateway {rest_url} not up in {timeout} s") from exc
            time.sleep(0.1)


@contextlib.contextmanager
def devnet_chain(tmp: Path, accounts: int = FUNDED_ACCOUNTS) -> Iterator[ChainEndpoint]:
    from aivm.node.home import DEV_ACCOUNT_BALANCE, DEVNET_CHAIN_ID

    home = tmp / "home"
    with DevnetRestThread(
        home, block_time_ms=DEVNET_BLOCK_TIME_MS, rpc_frontend=True, accounts=accounts
    ) as node:
        endpoint = ChainEndpoint(
            driver="devnet",
            rpc_url=node.url,
            rest_url=node.rest_url,
            chain_id=DEVNET_CHAIN_ID,
            home=home,
            accounts=tuple(
                FundedAccount(f"dev{i}", a.address, a.mnemonic)
                for i, a in enumerate(load_dev_accounts(HomePaths(home)))
            ),
            initial_balance=DEV_ACCOUNT_BALANCE,
            tx_timeout=10.0,
        )
        endpoint.wait_height(1, timeout=10)
        _wait_rest(endpoint.rest_url, 10)
        yield endpoint


@contextlib.contextmanager
def cometbft_chain(tmp: Path, attempts: int = 3) -> Iterator[ChainEndpoint]:
    from aivm.tools.cometbft import ensure_cometbft
    from aivm.tools.localnet import ACCOUNT_BALANCE, Localnet, LocalnetError

    binary = ensure_cometbft()
    for attempt in range(attempts):
        # a free port range can be taken between the check and the bind (another localnet on
        # this machine): then start over on another range
        net = Localnet.init(
            tmp / f"localnet{attempt}",
            1,
            binary,
            base_port=free_base_port(1),
            accounts=FUNDED_ACCOUNTS,
        )
        try:
            try:
                net.start()
                endpoint = ChainEndpoint(
                    driver="cometbft",
                    rpc_url=net.rpc_url(0),
                    rest_url=f"http://127.0.0.1:{net.ports(0).rest}",
                    chain_id=net.chain_id,
                    home=net.home,
                    accounts=tuple(
                        FundedAccount(a["name"], a["address"], a["mnemonic"])
                        for a in net.accounts()
                    ),
                    initial_balance=ACCOUNT_BALANCE,
                    tx_timeout=30.0,
                )
                endpoint.wait_height(2, timeout=60)
                _wait_rest(endpoint.rest_url, 30)
            except (LocalnetError, TimeoutError) as exc:
                if attempt + 1 < attempts:
                    continue
                logs = "\n".join(f"--- {p}:\n{net.tail(0, p, 20)}" for p in ("app", "cometbft"))
                raise TimeoutError(f"localnet did not start: {exc}\n{logs}") from exc
            yield endpoint
            return
        finally:
            net.stop(timeout=10)
            left = [p for p in ("app", "cometbft") if net.running(0, p)]
            assert not left, f"localnet processes still running after stop: {left}"


@contextlib.contextmanager
def start_chain(driver: str, tmp: Path) -> Iterator[ChainEndpoint]:
    chains = {"devnet": devnet_chain, "cometbft": cometbft_chain}
    with chains[driver](tmp) as endpoint:
        yield endpoint
