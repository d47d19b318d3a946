"""Helpers for the tests that run real CometBFT (``test_cometbft_node.py``,
``test_state_sync.py``, ``test_localnet_faults.py``): a node's URI-style JSON-RPC (calls,
heights, headers, gRPC-path queries, balances, the app's height and hash), polling with logs on
timeout, free ports, a one-validator genesis and the ``cometbft_bin`` fixture (loaded by
``tests/conftest.py``)."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aivm.app.genesis import GenesisDoc, GenesisValidator, format_time
from aivm.tools.cometbft import CometbftUnavailable, ensure_cometbft
from aivm.types import pb

DENOM = "ucgpt"


@pytest.fixture(scope="module")
def cometbft_bin() -> Path:
    """The pinned CometBFT binary, built if missing; the test fails (not skips) without it."""
    try:
        return ensure_cometbft()
    except CometbftUnavailable as exc:
        pytest.fail(f"CometBFT could not be built for the e2e test: {exc}")


def free_port() -> int:
    """A loopback TCP port that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    """Call ``check`` every 0.2 s until it returns something true, and return that.

    Connection and RPC errors (``OSError``, ``KeyError``, ``ValueError``, ``RuntimeError``)
    count as "not yet"; an ``AssertionError`` from ``check`` fails at once. On timeout an
    ``AssertionError`` names ``what`` and appends ``logs()``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, KeyError, ValueError, RuntimeError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{logs()}")


def one_validator_genesis(cmt_home: Path, chain_id: str, funded: str, amount: int) -> GenesisDoc:
    """A genesis starting now: the validator key ``cometbft init`` wrote under ``cmt_home``
    (power 10) and ``amount`` ucgpt for the address ``funded``."""
    key = json.loads((cmt_home / "config" / "priv_validator_key.json").read_text())
    validator = GenesisValidator(base64.b64decode(key["pub_key"]["value"]), 10, "validator-0")
    assert validator.address == key["address"]
    now = time.time_ns()
    return GenesisDoc(
        chain_id=chain_id,
        app_state={
            "bank": {
                "balances": [
                    {"address": funded, "coins": [{"denom": DENOM, "amount": str(amount)}]}
                ]
            }
        },
        genesis_time=format_time(now // 1_000_000_000, now % 1_000_000_000),
        validators=[validator],
    )


class CometRpcError(RuntimeError):
    """A JSON-RPC error answered by the node."""


class CometRpc:
    """A node's JSON-RPC at ``self.rpc`` (``http://host:port``; given here or set by a subclass),
    each call limited to ``self.timeout`` seconds."""

    rpc: str
    timeout: float = 10

    def __init__(self, rpc: str, timeout: float = 10) -> None:
        self.rpc = rpc
        self.timeout = timeout

    def call(self, method: str, **params: str) -> Any:
        """GET ``/<method>?params``; the ``result``, or CometRpcError."""
        url = f"{self.rpc}/{method}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # CometBFT answers RPC errors with HTTP 500
            body = json.loads(exc.read() or b"{}")
        if "error" in body:
            raise CometRpcError(f"{method}: {body['error']}")
        return body["result"]

    def height(self) -> int:
        """The latest block height, from ``status``."""
        return int(self.call("status")["sync_info"]["latest_block_height"])

    def header(self, height: int) -> dict[str, Any]:
        """The header of block ``height``."""
        header: dict[str, Any] = self.call("block", height=str(height))["block"]["header"]
        return header

    def app_info(self) -> tuple[int, bytes]:
        """The app's last block height and app hash, from ``abci_info``."""
        info = self.call("abci_info")["response"]
        return int(info.get("last_block_height", 0)), base64.b64decode(
            info.get("last_block_app_hash") or ""
        )

    def query(
        self, path: str, request: pb.Message, response_type: type[pb.M], height: int = 0
    ) -> pb.M:
        """A gRPC-path ``abci_query`` (at ``height``, 0: the latest) that must succeed."""
        params = {"path": f'"{path}"', "data": "0x" + request.SerializeToString().hex()}
        if height:
            params["height"] = str(height)
        result = self.call("abci_query", **params)["response"]
        assert int(result.get("code", 0)) == 0, result
        decoded: pb.M = response_type.FromString(base64.b64decode(result.get("value") or ""))
        return decoded

    def balance(self, address: str, height: int = 0) -> int:
        """The ``ucgpt`` balance of ``address`` (at ``height``, 0: the latest)."""
        resp = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
            pb.bank_query.QueryBalanceResponse,
            height,
        )
        return int(resp.balance.amount or 0)
