"""The devnet end to end over its CometBFT-compatible JSON-RPC."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.node.home import DEV_ACCOUNT_BALANCE, DEVNET_CHAIN_ID, HomePaths, load_dev_accounts
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from devnet_helpers import DevnetThread, post_raw, result, rpc, wait_height

RECIPIENT = hashlib.sha256(b"recipient").digest()[:20]


@pytest.fixture(params=["in-process", "frontend"])
def node(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A devnet whose RPC port is served in-process, or by the front-end process."""
    frontend = request.param == "frontend"
    with DevnetThread(tmp_path / "home", block_time_ms=120, rpc_frontend=frontend) as n:
        yield n


def query(url: str, path: str, request: pb.Message, response_class: type[pb.Message]) -> Any:
    r = result(url, "abci_query", {"path": path, "data": request.SerializeToString().hex()})
    response = r["response"]
    assert response["code"] == 0, response
    assert int(response["height"]) > 0
    return response_class.FromString(base64.b64decode(response["value"] or ""))


def balance(url: str, address: str) -> int:
    value = query(
        url,
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address=address, denom="ucgpt"),
        pb.bank_query.QueryBalanceResponse,
    )
    return int(value.balance.amount)


def signed_send(url: str, home: Path, amount: int) -> tuple[bytes, str]:
    dev = load_dev_accounts(HomePaths(home))[0]
    key = derive_privkey(dev.mnemonic)
    account = query(
        url,
        "/cosmos.auth.v1beta1.Query/Account",
        pb.auth_query.QueryAccountRequest(address=dev.address),
        pb.auth_query.QueryAccountResponse,
    )
    base = pb.auth.BaseAccount.FromString(account.account.value)
    raw = sign_tx(
        [bank_send(key.pubkey.address(), RECIPIENT, [Coin("ucgpt", amount)])],
        [Signer(key, base.account_number, base.sequence)],
        chain_id=DEVNET_CHAIN_ID,
        fee=[Coin("ucgpt", 2000)],
    )
    return raw, dev.address


def wait_tx(url: str, tx_hash: str, timeout: float = 8.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = result(url, "tx_search", {"query": f"tx.hash='{tx_hash}'"})
        if found["total_count"] == "1":
            return found["txs"][0]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise TimeoutError(tx_hash)


def test_status_and_empty_blocks(node: DevnetThread) -> None:
    status = result(node.url, "status")
    assert status["node_info"]["network"] == DEVNET_CHAIN_ID
    assert status["node_info"]["version"].startswith("0.38.")
    h = wait_height(node.url, 3)
    block = result(node.url, "block", {"height": str(h)})
    assert block["block"]["header"]["height"] == str(h)
    assert block["block"]["data"]["txs"] == []
    assert block["block_id"]["hash"] == block["block"]["header"]["last_block_id"]["hash"] or h > 1
    prev = result(node.url, "block", {"height": str(h - 1)})
    assert block["block"]["header"]["last_block_id"]["hash"] == prev["block_id"]["hash"]
    assert block["block"]["last_commit"]["height"] == str(h - 1)
    # header.app_hash of block h is the app hash after block h - 1
    prev_results = result(node.url, "block_results", {"height": str(h - 1)})
    assert bytes.fromhex(block["block"]["header"]["app_hash"]) == base64.b64decode(
        prev_results["app_hash"]
    )
    assert result(node.url, "health") == {}
    info = result(node.url, "abci_info")["response"]
    assert int(info["last_block_height"]) >= h
    assert result(node.url, "genesis")["genesis"]["chain_id"] == DEVNET_CHAIN_ID
    assert result(node.url, "validators")["total"] == "1"
    chain = result(node.url, "blockchain", {"minHeight": "1", "maxHeight": str(h)})
    assert chain["block_metas"][0]["header"]["height"] == str(h)


def test_header_consensus_params_and_net_info(node: DevnetThread) -> None:
    h = wait_height(node.url, 2)
    block = result(node.url, "block", {"height": str(h)})
    header = result(node.url, "header", {"height": str(h)})["header"]
    assert header == block["block"]["header"]
    by_hash = result(node.url, "header_by_hash", {"hash": block["block_id"]["hash"]})
    assert by_hash["header"] == header
    unknown = result(node.url, "header_by_hash", {"hash": "AB" * 32})
    assert unknown == {"header": None}
    assert (
        "must be less than or equal"
        in rpc(node.url, "header", {"height": "99999"})["error"]["data"]
    )
    genesis = result(node.url, "genesis")["genesis"]
    params = result(node.url, "consensus_params", {"height": str(h)})
    assert params["block_height"] == str(h)
    assert params["consensus_params"] == genesis["consensus_params"]
    max_gas = result(node.url, "consensus_params")["consensus_params"]["block"]["max_gas"]
    assert max_gas == "500000000"
    assert result(node.url, "net_info")["n_peers"] == "0"


def test_signed_send_is_committed_and_indexed(node: DevnetThread) -> None:
    wait_height(node.url, 1)
    raw, sender = signed_send(node.url, node.home, 12345)
    before = balance(node.url, sender)
    assert before == DEV_ACCOUNT_BALANCE
    sync = result(node.url, "broadcast_tx_sync", {"tx": base64.b64encode(raw).decode()})
    assert sync["code"] == 0, sync
    tx_hash = hashlib.sha256(raw).hexdigest().upper()
    assert sync["hash"] == tx_hash
    # the same tx again: already in the mempool (or, once committed, a sequence mismatch)
    again = result(node.url, "broadcast_tx_sync", {"tx": base64.b64encode(raw).decode()})
    assert again["code"] in (19, 32)
    found = wait_tx(node.url, tx_hash)
    assert found["tx_result"]["code"] == 0
    assert isinstance(found["index"], int)
    by_hash = result(node.url, "tx", {"hash": base64.b64encode(bytes.fromhex(tx_hash)).decode()})
    assert by_hash["height"] == found["height"]
    assert base64.b64decode(by_hash["tx"]) == raw
    wait_height(node.url, int(found["height"]))
    assert balance(node.url, acc_address(RECIPIENT)) == 12345
    assert balance(node.url, sender) == before - 12345 - 2000
    by_sender = result(
        node.url,
        "tx_search",
        {"query": f"message.sender='{sender}' AND tx.height={found['height']}"},
    )
    assert by_sender["total_count"] == "1"
    block = result(node.url, "block", {"height": found["height"]})
    assert block["block"]["data"]["txs"] == [base64.b64encode(raw).decode()]
    results = result(node.url, "block_results", {"height": found["height"]})
    assert results["txs_results"][0]["code"] == 0
    # URI style
    with __import__("urllib.request").request.urlopen(
        f"{node.url}/tx_search?query=%22tx.hash='{tx_hash}'%22", timeout=5
    ) as resp:
        assert json.loads(resp.read())["result"]["total_count"] == "1"


def test_broadcast_tx_commit(node: DevnetThread) -> None:
    wait_height(node.url, 1)
    raw, _ = signed_send(node.url, node.home, 7)
    r = result(node.url, "broadcast_tx_commit", {"tx": base64.b64encode(raw).decode()})
    assert r["check_tx"]["code"] == 0
    assert r["tx_result"]["code"] == 0
    assert int(r["height"]) > 0


@pytest.mark.parametrize("frontend", [False, True], ids=["in-process", "frontend"])
def test_bad_inputs_return_errors_and_node_keeps_running(tmp_path: Path, frontend: bool) -> None:
    with DevnetThread(tmp_path / "home", block_time_ms=120, rpc_frontend=frontend) as node:
        url = node.url
        wait_height(url, 1)
        status, body = post_raw(url, b"{not json")
        assert body["error"]["code"] == -32700
        assert rpc(url, "no_such_method")["error"]["code"] == -32601
        bad = rpc(url, "broadcast_tx_sync", {"tx": "!!!not base64!!!"})
        assert bad["error"]["code"] == -32602
        assert "tx" in bad["error"]["data"]
        assert rpc(url, "broadcast_tx_sync", {})["error"]["code"] == -32602
        assert rpc(url, "abci_query", {"path": "/x", "data": "zz"})["error"]["code"] == -32602
        assert rpc(url, "block", {"height": "abc"})["error"]["code"] == -32602
        assert rpc(url, "tx_search", {"query": "tx.hash=unquoted"})["error"]["code"] == -32602
        assert rpc(url, "block", {"height": "99999"})["error"]["code"] == -32603
        missing = rpc(url, "tx", {"hash": base64.b64encode(b"\x00" * 32).decode()})
        assert "not found" in missing["error"]["data"]
        garbage = result(url, "broadcast_tx_sync", {"tx": base64.b64encode(b"junk").decode()})
        assert garbage["code"] == 2
        big = b'{"jsonrpc":"2.0","id":1,"method":"health","x":"' + b"a" * 1_100_000 + b'"}'
        status, body = post_raw(url, big)
        assert status == 413 and body["error"]["code"] == -32600
        h = int(result(url, "status")["sync_info"]["latest_block_height"])
        wait_height(url, h + 2)
        assert result(url, "num_unconfirmed_txs")["n_txs"] == "0"


def test_websocket_new_block_and_tx_events(node: DevnetThread) -> None:
    wait_height(node.url, 1)

    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{node.port}/websocket") as ws,
        ):
            await ws.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": 7,
                    "method": "subscribe",
                    "params": {"query": "tm.event='NewBlock'"},
                }
            )
            await ws.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": 8,
                    "method": "subscribe",
                    "params": {"query": "tm.event='Tx'"},
                }
            )
            raw, _ = await asyncio.to_thread(signed_send, node.url, node.home, 5)
            await ws.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": 9,
                    "method": "broadcast_tx_sync",
                    "params": {"tx": base64.b64encode(raw).decode()},
                }
            )
            blocks: list[dict[str, Any]] = []
            txs: list[dict[str, Any]] = []
            async with asyncio.timeout(8):
                while len(blocks) < 2 or not txs:
                    msg = await ws.receive_json()
                    res = msg.get("result") or {}
                    data = res.get("data") or {}
                    if data.get("type") == "tendermint/event/NewBlock":
                        assert msg["id"] == 7
                        blocks.append(data)
                    elif data.get("type") == "tendermint/event/Tx":
                        assert msg["id"] == 8
                        assert res["events"]["tm.event"] == ["Tx"]
                        txs.append(data)
            await ws.send_json({"jsonrpc": "2.0", "id": 10, "method": "unsubscribe_all"})
            return blocks, txs

    blocks, txs = asyncio.run(go())
    h0 = int(blocks[0]["value"]["block"]["header"]["height"])
    assert int(blocks[1]["value"]["block"]["header"]["height"]) == h0 + 1
    assert txs[0]["value"]["TxResult"]["result"]["code"] == 0
