"""Unmodified cosmjs (``@cosmjs/stargate``) queries and sends against a node's JSON-RPC: the
devnet's and a real CometBFT's (1-validator localnet) — the ``chain`` fixture.

``tests/compat/cosmjs/send.mjs`` connects with ``StargateClient`` and
``SigningStargateClient`` (which picks cosmjs' comet38 client from ``status``), queries chain id,
height, balances and accounts, sends twice (fee ``"auto"``, which runs Simulate, and an explicit
fee), finds both txs with ``getTx``/``searchTx``, decodes the other CometBFT methods with the
comet38 client and waits for a websocket ``NewBlock``. It prints a JSON summary that is checked
here against the chain as Python sees it.

Needs ``node`` and ``npm`` (CI has both): their absence, or a failed ``npm ci``, fails the test.
The dependencies are pinned by the committed ``package-lock.json``; ``node_modules`` is cached in
that folder (git-ignored) and reinstalled only when ``package.json`` or the lock changes.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aivm.types import pb
from chain_drivers import ChainEndpoint
from devnet_helpers import result
from npm_projects import npm_project, tool

DENOM = "ucgpt"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def cosmjs_dir() -> Path:
    """``tests/compat/cosmjs`` with its node_modules installed (``npm ci``), once per session."""
    return npm_project("cosmjs")


def _query(url: str, path: str, request: Any, response_class: Any) -> Any:
    r = result(url, "abci_query", {"path": path, "data": request.SerializeToString().hex()})
    response = r["response"]
    assert response["code"] == 0, response
    return response_class.FromString(base64.b64decode(response["value"] or ""))


def _balance(url: str, address: str) -> int:
    value = _query(
        url,
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
        pb.bank_query.QueryBalanceResponse,
    )
    return int(value.balance.amount or 0)


def _sequence(url: str, address: str) -> int:
    account = _query(
        url,
        "/cosmos.auth.v1beta1.Query/Account",
        pb.auth_query.QueryAccountRequest(address=address),
        pb.auth_query.QueryAccountResponse,
    )
    return int(pb.auth.BaseAccount.FromString(account.account.value).sequence)


def test_cosmjs_queries_and_sends(cosmjs_dir: Path, chain: ChainEndpoint) -> None:
    url = chain.rpc_url
    chain.wait_height(2)
    dev = chain.accounts[0]
    before = _balance(url, dev.address)
    assert before == chain.initial_balance

    try:
        run = subprocess.run(
            [tool("node", "the cosmjs test"), "send.mjs", url, dev.mnemonic],
            cwd=cosmjs_dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"send.mjs timed out after 120 s; stderr:\n{exc.stderr!r}")
    assert run.returncode == 0, f"send.mjs failed (exit {run.returncode}):\n{run.stderr}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])

    # what cosmjs saw
    assert summary["chainId"] == chain.chain_id
    assert summary["height"] >= 2
    assert summary["from"] == dev.address
    assert summary["balanceBefore"] == str(before)
    assert summary["unfundedBalance"] == "0"
    assert summary["unknownAccount"] is None
    assert (summary["sequenceBefore"], summary["sequenceAfter"]) == (0, 2)
    auto, explicit = summary["auto"], summary["explicit"]
    assert auto["code"] == explicit["code"] == 0
    # "auto" = simulated gas x 1.4 at 0.025ucgpt
    assert 0 < int(auto["gasUsed"]) <= int(auto["gasWanted"])
    assert int(auto["fee"]) == -(-int(auto["gasWanted"]) * 25 // 1000)
    assert (explicit["gasWanted"], explicit["fee"]) == ("200000", "5000")
    assert sorted(summary["searchByRecipient"]) == sorted([auto["hash"], explicit["hash"]])
    assert summary["comet"]["version"].startswith("0.38.")

    # the chain as Python sees it
    fees = int(auto["fee"]) + int(explicit["fee"])
    after = _balance(url, dev.address)
    assert after == before - 12345 - 1000 - fees
    assert summary["balanceAfter"] == str(after)
    assert _balance(url, summary["to"]) == 13345
    assert _balance(url, summary["unfunded"]) == 0
    assert _sequence(url, dev.address) == 2
    for sent in (auto, explicit):
        # JSON-RPC takes the hash as base64 bytes (CometBFT; the devnet also accepts hex)
        tx_hash = base64.b64encode(bytes.fromhex(sent["hash"])).decode()
        tx = result(url, "tx", {"hash": tx_hash})
        assert tx["height"] == str(sent["height"])
        assert tx["tx_result"]["code"] == 0
        assert tx["tx_result"]["gas_wanted"] == sent["gasWanted"]
