"""Reading a CometBFT node through its URI-style JSON-RPC, for the tests that run real CometBFT
(``test_cometbft_node.py``, ``test_state_sync.py``): calls, gRPC-path queries, balances and the
app's height and hash."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from aivm.types import pb

DENOM = "ucgpt"


class CometRpcError(RuntimeError):
    """A JSON-RPC error answered by the node."""


class CometRpc:
    """A node's JSON-RPC at ``self.rpc`` (``http://host:port``, set by the subclass)."""

    rpc: str

    def call(self, method: str, **params: str) -> Any:
        """GET ``/<method>?params``; the ``result``, or CometRpcError."""
        url = f"{self.rpc}/{method}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # CometBFT answers RPC errors with HTTP 500
            body = json.loads(exc.read() or b"{}")
        if "error" in body:
            raise CometRpcError(f"{method}: {body['error']}")
        return body["result"]

    def app_info(self) -> tuple[int, bytes]:
        """The app's last block height and app hash, from ``abci_info``."""
        info = self.call("abci_info")["response"]
        return int(info.get("last_block_height", 0)), base64.b64decode(
            info.get("last_block_app_hash") or ""
        )

    def query(self, path: str, request: pb.Message, response_type: type[pb.M]) -> pb.M:
        """A gRPC-path ``abci_query`` that must succeed."""
        result = self.call(
            "abci_query", path=f'"{path}"', data="0x" + request.SerializeToString().hex()
        )["response"]
        assert int(result.get("code", 0)) == 0, result
        decoded: pb.M = response_type.FromString(base64.b64decode(result.get("value") or ""))
        return decoded

    def balance(self, address: str) -> int:
        """The ``ucgpt`` balance of ``address``."""
        resp = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
            pb.bank_query.QueryBalanceResponse,
        )
        return int(resp.balance.amount or 0)
