"""The REST gateway (gRPC-gateway routes, proto3 JSON) in front of the devnet's JSON-RPC."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cosmpy.protos.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmpy.protos.cosmos.consensus.v1 import query_pb2 as consensus_query

from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.node.home import DEV_ACCOUNT_BALANCE, DEVNET_CHAIN_ID, HomePaths, load_dev_accounts
from aivm.node.rest import RestGateway
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from devnet_helpers import DevnetRestThread, wait_height

DENOM = "ucgpt"
UNKNOWN_ADDRESS = acc_address(hashlib.sha256(b"nobody").digest()[:20])


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetRestThread]:
    with DevnetRestThread(tmp_path_factory.mktemp("rest") / "home", block_time_ms=120) as n:
        wait_height(n.url, 1)
        yield n


def http(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def get(node: DevnetRestThread, path: str, **headers: str) -> tuple[int, Any]:
    return http(node.rest_url + path, headers=headers)


def post(node: DevnetRestThread, path: str, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http(node.rest_url + path, raw)


def ok(node: DevnetRestThread, path: str, message: pb.Message) -> Any:
    """GET ``path``; 200; the body parses strictly (no unknown fields) as ``message``."""
    status, body = get(node, path)
    assert status == 200, body
    pb.json_format.ParseDict(body, message)
    return body


def assert_error(status: int, body: Any, http_status: int, code: int, *needles: str) -> None:
    assert status == http_status, body
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code and body["details"] == []
    for needle in needles:
        assert needle in body["message"], body


def signed_send(node: DevnetRestThread, amount: int, recipient: bytes, index: int = 0) -> bytes:
    dev = load_dev_accounts(HomePaths(node.home))[index]
    key = derive_privkey(dev.mnemonic)
    response = pb.auth_query.QueryAccountResponse()
    ok(node, f"/cosmos/auth/v1beta1/accounts/{dev.address}", response)
    base = pb.auth.BaseAccount.FromString(response.account.value)
    return sign_tx(
        [bank_send(key.pubkey.address(), recipient, [Coin(DENOM, amount)])],
        [Signer(key, base.account_number, base.sequence)],
        chain_id=DEVNET_CHAIN_ID,
        fee=[Coin(DENOM, 5000)],
    )


def wait_rest_tx(node: DevnetRestThread, tx_hash: str, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get(node, f"/cosmos/tx/v1beta1/txs/{tx_hash}")
        if status == 200:
            return body
        assert_error(status, body, 404, 5, "tx not found")
        time.sleep(0.05)
    raise TimeoutError(tx_hash)


def test_auth_routes(node: DevnetRestThread) -> None:
    dev = load_dev_accounts(HomePaths(node.home))[0]
    body = ok(
        node, f"/cosmos/auth/v1beta1/accounts/{dev.address}", pb.auth_query.QueryAccountResponse()
    )
    account = body["account"]
    assert account["@type"] == "/cosmos.auth.v1beta1.BaseAccount"
    assert account["address"] == dev.address
    assert "account_number" in account  # snake_case, as the SDK's gateway emits
    params = ok(node, "/cosmos/auth/v1beta1/params", pb.auth_query.QueryParamsResponse())
    assert params["params"]["tx_sig_limit"] == "7"


def test_module_declared_route_is_mounted(node: DevnetRestThread) -> None:
    # declared in modules/authority/module.py only; the gateway mounts what modules declare
    status, body = get(node, "/aivm/authority/v1/authority")
    assert status == 200
    assert body == {"authority": load_dev_accounts(HomePaths(node.home))[0].address}  # devnet
    status, doc = get(node, "/openapi.json")
    assert "/aivm/authority/v1/authority" in doc["paths"]


def test_bank_routes(node: DevnetRestThread) -> None:
    dev = load_dev_accounts(HomePaths(node.home))[1]
    body = ok(
        node,
        f"/cosmos/bank/v1beta1/balances/{dev.address}",
        pb.bank_query.QueryAllBalancesResponse(),
    )
    assert body["balances"] == [{"denom": DENOM, "amount": str(DEV_ACCOUNT_BALANCE)}]
    one = ok(
        node,
        f"/cosmos/bank/v1beta1/balances/{dev.address}/by_denom?denom={DENOM}",
        pb.bank_query.QueryBalanceResponse(),
    )
    assert one["balance"] == {"denom": DENOM, "amount": str(DEV_ACCOUNT_BALANCE)}
    empty = ok(
        node,
        f"/cosmos/bank/v1beta1/balances/{UNKNOWN_ADDRESS}/by_denom?denom={DENOM}",
        pb.bank_query.QueryBalanceResponse(),
    )
    assert empty["balance"]["amount"] == "0"
    paged = ok(
        node,
        f"/cosmos/bank/v1beta1/balances/{dev.address}?pagination.limit=1&pagination.count_total=true",
        pb.bank_query.QueryAllBalancesResponse(),
    )
    assert len(paged["balances"]) == 1
    supply = ok(node, "/cosmos/bank/v1beta1/supply", pb.bank_query.QueryTotalSupplyResponse())
    total = int(supply["supply"][0]["amount"])
    assert total >= 3 * DEV_ACCOUNT_BALANCE
    for path in (
        f"/cosmos/bank/v1beta1/supply/by_denom?denom={DENOM}",
        f"/cosmos/bank/v1beta1/supply/{DENOM}",
    ):
        of = ok(node, path, pb.bank_query.QuerySupplyOfResponse())
        assert of["amount"] == {"denom": DENOM, "amount": str(total)}


def test_tendermint_and_consensus_routes(node: DevnetRestThread) -> None:
    latest = ok(
        node, "/cosmos/base/tendermint/v1beta1/blocks/latest", tm_query.GetLatestBlockResponse()
    )
    header = latest["block"]["header"]
    assert header["chain_id"] == DEVNET_CHAIN_ID and int(header["height"]) >= 1
    assert latest["sdk_block"]["header"]["proposer_address"].startswith("aivmvalcons1")
    first = ok(
        node, "/cosmos/base/tendermint/v1beta1/blocks/1", tm_query.GetBlockByHeightResponse()
    )
    assert first["block"]["header"]["height"] == "1"
    assert base64.b64decode(first["block_id"]["hash"])  # bytes are base64 in proto3 JSON
    info = ok(node, "/cosmos/base/tendermint/v1beta1/node_info", tm_query.GetNodeInfoResponse())
    assert info["default_node_info"]["network"] == DEVNET_CHAIN_ID
    assert info["application_version"]["name"] == "aivm"
    syncing = ok(node, "/cosmos/base/tendermint/v1beta1/syncing", tm_query.GetSyncingResponse())
    assert syncing == {"syncing": False}
    params = ok(node, "/cosmos/consensus/v1/params", consensus_query.QueryParamsResponse())
    assert params["params"]["block"]["max_bytes"] == "22020096"
    assert params["params"]["evidence"]["max_age_duration"].endswith("s")


def test_broadcast_get_tx_and_height_header(node: DevnetRestThread) -> None:
    recipient = hashlib.sha256(b"rest-recipient").digest()[:20]
    raw = signed_send(node, 777, recipient)
    height_before = int(
        get(node, "/cosmos/base/tendermint/v1beta1/blocks/latest")[1]["block"]["header"]["height"]
    )
    status, body = post(
        node,
        "/cosmos/tx/v1beta1/txs",
        {"tx_bytes": base64.b64encode(raw).decode(), "mode": "BROADCAST_MODE_SYNC"},
    )
    assert status == 200, body
    response = pb.tx_service.BroadcastTxResponse()
    pb.json_format.ParseDict(body, response)
    assert response.tx_response.code == 0, body
    tx_hash = hashlib.sha256(raw).hexdigest().upper()
    assert response.tx_response.txhash == tx_hash

    found = wait_rest_tx(node, tx_hash)
    parsed = pb.tx_service.GetTxResponse()
    pb.json_format.ParseDict(found, parsed)
    assert parsed.tx_response.code == 0 and parsed.tx_response.height > height_before
    assert parsed.tx_response.txhash == tx_hash and parsed.tx_response.timestamp
    assert found["tx"]["body"]["messages"][0]["@type"] == "/cosmos.bank.v1beta1.MsgSend"
    assert found["tx_response"]["tx"]["@type"] == "/cosmos.tx.v1beta1.Tx"
    assert any(e["type"] == "transfer" for e in found["tx_response"]["events"])
    path = f"/cosmos/bank/v1beta1/balances/{acc_address(recipient)}/by_denom?denom={DENOM}"
    wait_height(node.url, parsed.tx_response.height)
    assert get(node, path)[1]["balance"]["amount"] == "777"
    # x-cosmos-block-height: the state before the tx
    status, old = get(node, path, **{"x-cosmos-block-height": str(height_before)})
    assert status == 200 and old["balance"]["amount"] == "0"
    status, body = get(node, path, **{"x-cosmos-block-height": "nope"})
    assert_error(status, body, 400, 3, "x-cosmos-block-height")


def test_broadcast_async_camel_case_body(node: DevnetRestThread) -> None:
    raw = signed_send(node, 5, hashlib.sha256(b"async").digest()[:20], index=2)
    status, body = post(
        node,
        "/cosmos/tx/v1beta1/txs",
        {"txBytes": base64.b64encode(raw).decode(), "mode": "BROADCAST_MODE_ASYNC"},
    )
    assert status == 200 and body["tx_response"]["code"] == 0, body
    wait_rest_tx(node, body["tx_response"]["txhash"])


def test_broadcast_rejections(node: DevnetRestThread) -> None:
    # CheckTx failure: 200 with the ABCI code in tx_response, as the SDK does
    status, body = post(
        node,
        "/cosmos/tx/v1beta1/txs",
        {"tx_bytes": base64.b64encode(b"garbage").decode(), "mode": "BROADCAST_MODE_SYNC"},
    )
    assert status == 200 and body["tx_response"]["code"] != 0, body
    assert body["tx_response"]["raw_log"]
    status, body = post(
        node, "/cosmos/tx/v1beta1/txs", {"tx_bytes": "AAAA", "mode": "BROADCAST_MODE_BLOCK"}
    )
    assert_error(status, body, 400, 3, "BROADCAST_MODE_BLOCK")
    status, body = post(
        node,
        "/cosmos/tx/v1beta1/txs",
        {"tx_bytes": "!!not base64!!", "mode": "BROADCAST_MODE_SYNC"},
    )
    assert_error(status, body, 400, 3, "tx_bytes")
    status, body = post(node, "/cosmos/tx/v1beta1/txs", {"mode": "BROADCAST_MODE_SYNC"})
    assert_error(status, body, 400, 3, "empty tx")
    status, body = post(node, "/cosmos/tx/v1beta1/txs", {"tx_bytes": "AAAA", "bogus": 1})
    assert_error(status, body, 400, 3, "bogus")
    status, body = post(node, "/cosmos/tx/v1beta1/txs", b"{not json")
    assert_error(status, body, 400, 3, "invalid JSON")
    status, body = post(node, "/cosmos/tx/v1beta1/txs", [1, 2])
    assert_error(status, body, 400, 3, "JSON object")
    big = json.dumps({"tx_bytes": "A" * 1_100_000}).encode()
    status, body = post(node, "/cosmos/tx/v1beta1/txs", big)
    assert_error(status, body, 413, 8, "too large")


def test_simulate_tx_bytes_and_proto_json(node: DevnetRestThread) -> None:
    raw = signed_send(node, 1, hashlib.sha256(b"sim").digest()[:20])
    status, body = post(
        node, "/cosmos/tx/v1beta1/simulate", {"tx_bytes": base64.b64encode(raw).decode()}
    )
    assert status == 200, body
    simulated = pb.tx_service.SimulateResponse()
    pb.json_format.ParseDict(body, simulated)
    assert simulated.gas_info.gas_used > 0
    # the deprecated `tx` field as cosmpy sends it: camelCase proto-JSON with @type Anys
    tx_raw = pb.tx.TxRaw.FromString(raw)
    tx = pb.tx.Tx(
        body=pb.tx.TxBody.FromString(tx_raw.body_bytes),
        auth_info=pb.tx.AuthInfo.FromString(tx_raw.auth_info_bytes),
        signatures=list(tx_raw.signatures),
    )
    as_json = pb.json_format.MessageToDict(pb.tx_service.SimulateRequest(tx=tx))
    assert "authInfo" in as_json["tx"]
    status, body = post(node, "/cosmos/tx/v1beta1/simulate", as_json)
    assert status == 200, body
    assert int(body["gas_info"]["gas_used"]) == simulated.gas_info.gas_used


def test_simulate_errors(node: DevnetRestThread) -> None:
    status, body = post(node, "/cosmos/tx/v1beta1/simulate", {})
    assert_error(status, body, 400, 3, "empty txBytes")
    status, body = post(node, "/cosmos/tx/v1beta1/simulate", {"tx_bytes": "%%%"})
    assert_error(status, body, 400, 3, "tx_bytes")
    status, body = post(
        node, "/cosmos/tx/v1beta1/simulate", {"tx_bytes": base64.b64encode(b"\xff\x01").decode()}
    )
    assert status in (400, 500) and body["code"] in (2, 3) and body["message"], body
    # a tx that fails in execution: insufficient funds
    raw = signed_send(node, 10 * DEV_ACCOUNT_BALANCE, hashlib.sha256(b"x").digest()[:20])
    status, body = post(
        node, "/cosmos/tx/v1beta1/simulate", {"tx_bytes": base64.b64encode(raw).decode()}
    )
    assert_error(status, body, 500, 2, "insufficient funds")


def test_query_errors(node: DevnetRestThread) -> None:
    status, body = get(node, "/cosmos/auth/v1beta1/accounts/aivm1notanaddress")
    assert_error(status, body, 400, 3, "invalid address")
    status, body = get(node, f"/cosmos/auth/v1beta1/accounts/{UNKNOWN_ADDRESS}")
    assert_error(status, body, 404, 5, "not found")
    status, body = get(node, "/cosmos/bank/v1beta1/balances/bad/by_denom?denom=ucgpt")
    assert_error(status, body, 400, 3)
    status, body = get(node, f"/cosmos/bank/v1beta1/balances/{UNKNOWN_ADDRESS}?pagination.limit=x")
    assert_error(status, body, 400, 3, "pagination.limit")
    status, body = get(node, "/cosmos/tx/v1beta1/txs/" + "AB" * 32)
    assert_error(status, body, 404, 5, "tx not found")
    status, body = get(node, "/cosmos/tx/v1beta1/txs/xyz")
    assert_error(status, body, 400, 3, "hash")
    for height, needle in (
        ("abc", "invalid height"),
        ("0", "greater than 0"),
        ("99999999", "bigger"),
    ):
        status, body = get(node, f"/cosmos/base/tendermint/v1beta1/blocks/{height}")
        assert_error(status, body, 400, 3, needle)
    status, body = get(node, "/cosmos/nothing/here")
    assert_error(status, body, 404, 5, "Not Found")
    status, body = post(node, "/cosmos/auth/v1beta1/params", {})
    assert_error(status, body, 405, 12)
    # the node is still producing blocks and answering
    height = int(
        get(node, "/cosmos/base/tendermint/v1beta1/blocks/latest")[1]["block"]["header"]["height"]
    )
    wait_height(node.url, height + 1)
    assert get(node, "/cosmos/auth/v1beta1/params")[0] == 200


def test_openapi(node: DevnetRestThread) -> None:
    status, doc = get(node, "/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/cosmos/auth/v1beta1/accounts/{address}", "get"),
        ("/cosmos/auth/v1beta1/params", "get"),
        ("/cosmos/bank/v1beta1/balances/{address}", "get"),
        ("/cosmos/bank/v1beta1/balances/{address}/by_denom", "get"),
        ("/cosmos/bank/v1beta1/supply", "get"),
        ("/cosmos/bank/v1beta1/supply/by_denom", "get"),
        ("/cosmos/tx/v1beta1/simulate", "post"),
        ("/cosmos/tx/v1beta1/txs", "post"),
        ("/cosmos/tx/v1beta1/txs/{hash}", "get"),
        ("/cosmos/consensus/v1/params", "get"),
        ("/cosmos/base/tendermint/v1beta1/blocks/latest", "get"),
        ("/cosmos/base/tendermint/v1beta1/blocks/{height}", "get"),
        ("/cosmos/base/tendermint/v1beta1/node_info", "get"),
    ]:
        op = paths[path][method]
        assert "200" in op["responses"] and "default" in op["responses"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    by_denom = paths["/cosmos/bank/v1beta1/balances/{address}/by_denom"]["get"]["parameters"]
    assert {p["name"] for p in by_denom} >= {"address", "denom"}


def test_node_unreachable_is_503() -> None:
    async def main() -> tuple[int, Any]:
        gateway = RestGateway("http://127.0.0.1:9")  # discard port: nothing listens
        port = await gateway.start("127.0.0.1", 0)
        try:
            url = f"http://127.0.0.1:{port}/cosmos/auth/v1beta1/params"
            async with aiohttp.ClientSession() as session, session.get(url) as r:
                return r.status, await r.json()
        finally:
            await gateway.stop()

    status, body = asyncio.run(main())
    assert_error(status, body, 503, 14, "unreachable")


@pytest.mark.e2e
def test_devnet_process_serves_rest(tmp_path: Path) -> None:
    """``aivm devnet --rest-port 0`` prints and serves the gateway."""
    cmd = [sys.executable, "-m", "aivm.cli.main", "devnet", "--home", str(tmp_path / "h")]
    cmd += ["--block-time", "200ms", "--rpc-port", "0", "--rest-port", "0", "--accounts", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        rest_url = ""
        deadline = time.monotonic() + 30
        while not rest_url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "devnet exited early"
            if line.startswith("REST gateway on "):
                rest_url = line.split()[-1]
        status, body = http(rest_url + "/cosmos/base/tendermint/v1beta1/node_info")
        assert status == 200 and body["default_node_info"]["network"] == DEVNET_CHAIN_ID
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
