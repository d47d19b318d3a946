"""The devnet RPC's limits over real HTTP and websockets on loopback, with the port served
in-process and by the front-end process (the limits must hold through the relay): JSON-RPC
batch size, subscriptions per client, subscribing clients, open websockets, query length and
conditions; ``tx_search`` values the index cannot bind; and the front end relaying only
origin-form request targets. The limits come from the home's ``config/app.toml``."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aivm.node.config import NodeConfigError
from devnet_helpers import DevnetThread, post_raw, result, rpc, wait_for, wait_height

APP_TOML = """
[rpc]
max-subscription-clients = 2
max-websocket-connections = 4
"""
GUARD_S = 2.0
"""A generous bound on one refused request over loopback HTTP (a guard, not a benchmark)."""


@pytest.fixture(scope="module", params=["in-process", "frontend"])
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevnetThread]:
    """One devnet per mode, with small subscription and websocket limits in its app.toml."""
    home = tmp_path_factory.mktemp("limits") / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "app.toml").write_text(APP_TOML)
    frontend = request.param == "frontend"
    with DevnetThread(home, block_time_ms=150, rpc_frontend=frontend) as n:
        wait_height(n.url, 1)
        yield n


def _call(id_: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


def test_batches_are_limited_to_ten_requests(node: DevnetThread) -> None:
    ten = [_call(i, "health") for i in range(10)]
    status, answers = post_raw(node.url, json.dumps(ten).encode())
    assert status == 200 and [a["id"] for a in answers] == list(range(10))
    status, answer = post_raw(node.url, json.dumps([*ten, _call(10, "health")]).encode())
    assert status == 200 and answer["id"] is None
    assert answer["error"]["code"] == -32600
    assert (
        answer["error"]["data"] == "batch request exceeds maximum (10) allowed number of requests"
    )
    status, answer = post_raw(node.url, b"[]")
    assert answer["error"]["code"] == -32600 and answer["error"]["data"] == "empty batch"


async def _subscribe(ws: aiohttp.ClientWebSocketResponse, id_: int, query: str) -> dict[str, Any]:
    await ws.send_json(_call(id_, "subscribe", {"query": query}))
    async with asyncio.timeout(5):
        while True:
            answer: dict[str, Any] = await ws.receive_json()
            if answer["id"] == id_ and "query" not in (answer.get("result") or {}):
                return answer


def _never(i: int) -> str:
    """A query no event matches (so no event arrives between the answers)."""
    return f"tm.event = 'Never' AND limits.test = {i}"


def test_subscriptions_per_client_and_subscribing_clients(node: DevnetThread) -> None:
    url = f"ws://127.0.0.1:{node.port}/websocket"

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(url)
            for i in range(5):
                assert "error" not in await _subscribe(first, i, _never(i))
            sixth = await _subscribe(first, 5, _never(5))
            assert sixth["error"]["code"] == -32603
            assert sixth["error"]["data"] == "max_subscriptions_per_client 5 reached"
            again = await _subscribe(first, 6, _never(0))  # one taken back, one more allowed
            assert again["error"]["data"] == "already subscribed"
            await first.send_json(_call(7, "unsubscribe", {"query": _never(0)}))
            assert (await first.receive_json())["result"] == {}
            assert "error" not in await _subscribe(first, 8, _never(9))

            second = await session.ws_connect(url)
            assert "error" not in await _subscribe(second, 1, _never(1))
            third = await session.ws_connect(url)
            refused = await _subscribe(third, 1, _never(1))
            assert refused["error"]["code"] == -32603
            assert refused["error"]["data"] == "max_subscription_clients 2 reached"
            await third.send_json(_call(2, "health"))  # the connection itself still serves
            assert (await third.receive_json())["result"] == {}
            await first.close()  # a client that leaves frees its place
            deadline = time.monotonic() + 5
            while "error" in (answer := await _subscribe(third, 3, _never(1))):
                assert time.monotonic() < deadline, answer
                await asyncio.sleep(0.05)
            await second.close()
            await third.close()

    asyncio.run(go())


def test_open_websockets_are_limited(node: DevnetThread) -> None:
    url = f"ws://127.0.0.1:{node.port}/websocket"

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            await _wait_for_websocket_room(session, url, 4)
            sockets = [await session.ws_connect(url) for _ in range(4)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as err:
                await session.ws_connect(url)
            assert err.value.status == 503
            async with session.get(f"http://127.0.0.1:{node.port}/websocket") as refused:
                body = await refused.json(content_type=None)
            assert body["error"]["data"] == "max_websocket_connections 4 reached"
            for ws in sockets:
                await ws.send_json(_call(1, "health"))  # the open ones are unaffected
                assert (await ws.receive_json())["result"] == {}
            await sockets.pop().close()
            await _wait_for_websocket_room(session, url, 1)
            for ws in sockets:
                await ws.close()

    asyncio.run(go())


async def _wait_for_websocket_room(session: aiohttp.ClientSession, url: str, room: int) -> None:
    """Wait until ``room`` more websockets may open (closed ones are noticed asynchronously,
    by the front end and then by the node)."""
    deadline = time.monotonic() + 5
    while True:
        opened = []
        try:
            for _ in range(room):
                opened.append(await session.ws_connect(url))
            return
        except aiohttp.WSServerHandshakeError:
            assert time.monotonic() < deadline, "websockets never freed"
            await asyncio.sleep(0.05)
        finally:
            for ws in opened:
                await ws.close()


def test_long_and_crafted_queries_are_refused_at_once(node: DevnetThread) -> None:
    crafted = "a = 'x'" + " " * 20_000 + "x"  # took seconds of the node's thread before
    for query in (crafted, "tx.height > 0" + " AND tx.height > 0" * 8):
        start = time.perf_counter()
        answer = rpc(node.url, "tx_search", {"query": query})
        assert time.perf_counter() - start < GUARD_S
        assert answer["error"]["code"] == -32602
    assert (
        "maximum query length exceeded"
        in rpc(node.url, "tx_search", {"query": crafted})["error"]["data"]
    )

    async def subscribe() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{node.port}/websocket") as ws,
        ):
            return await _subscribe(ws, 1, crafted)

    answer = asyncio.run(subscribe())
    assert answer["error"]["code"] == -32602 and "maximum query length" in answer["error"]["data"]
    assert result(node.url, "health") == {}


@pytest.mark.parametrize("value", ["'²'", "'99999999999999999999'", "'-'"])
def test_tx_search_values_the_index_cannot_bind_match_nothing(
    node: DevnetThread, value: str
) -> None:
    """They raised inside the index (int('²'), sqlite's int64 overflow): internal errors."""
    found = result(node.url, "tx_search", {"query": f"tx.height = {value}"})
    assert found == {"txs": [], "total_count": "0"}


def test_tx_search_pages_in_the_index(node: DevnetThread) -> None:
    top = int(result(node.url, "status")["sync_info"]["latest_block_height"])
    found = result(node.url, "tx_search", {"query": f"tx.height <= {top}", "per_page": 1})
    assert int(found["total_count"]) == len(found["txs"]) == 0
    answer = rpc(node.url, "tx_search", {"query": "tx.height > 0", "page": 2})
    assert answer["error"]["data"] == "page should be within [1, 1] range, given 2"


# -- the front end relays only origin-form targets -------------------------------------------


def _raw_request(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("node", ["frontend"], indirect=True)  # the in-process one relays nothing
def test_the_front_end_relays_only_origin_form_targets(node: DevnetThread) -> None:
    """The front end must not relay these anywhere: each is answered 400."""
    with socket.create_server(("127.0.0.1", 0)) as elsewhere:
        elsewhere.settimeout(0.5)
        there = f"127.0.0.1:{elsewhere.getsockname()[1]}"
        for target in (
            "http://evil.example/",
            f"http://{there}/status",
            f"http://{there}/",
            "*",
            there,
        ):
            for method in ("GET", "POST", "OPTIONS"):
                head = (
                    f"{method} {target} HTTP/1.1\r\nHost: {there}\r\nContent-Length: 2\r\n"
                    "Connection: close\r\n\r\n{}"
                ).encode()
                answer = _raw_request(node.port, head)
                assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", (target, answer)
        with pytest.raises(TimeoutError):
            elsewhere.accept()  # nothing was relayed there
    wait_for(lambda: result(node.url, "health") == {}, 5, "the node still serves")
    status = _raw_request(
        node.port, b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status.startswith(b"HTTP/1.1 200")


# -- the devnet's app.toml -------------------------------------------------------------------


def test_the_devnet_writes_its_app_toml_and_wires_the_app_table(tmp_path: Path) -> None:
    from aivm.devnet.devnet import Devnet
    from aivm.node.config import NodeConfig, load_node_config
    from aivm.types.dec import Dec

    home = tmp_path / "home"
    Devnet(home, out=io.StringIO()).close()
    assert load_node_config(home / "config", create=False) == NodeConfig()
    (home / "config" / "app.toml").write_text(
        '[app]\nmin-gas-price = "0.5"\nquery-gas-limit = 11\nsimulate-gas-limit = 12\n'
        "query-time-limit-ms = 13\n"
    )
    devnet = Devnet(home, out=io.StringIO(), reset=True)  # a reset keeps app.toml
    try:
        options = devnet.app.options
        assert options.min_gas_price == Dec.from_str("0.5")
        assert (options.query_gas_limit, options.simulate_gas_limit) == (11, 12)
        assert options.query_time_limit_ms == 13 and options.clock is time.monotonic_ns
    finally:
        devnet.close()
    (home / "config" / "app.toml").write_text("[rpc]\nmax-body-bytes = 0\n")
    with pytest.raises(NodeConfigError, match=r"\[rpc\] max-body-bytes: must be at least 1"):
        Devnet(home, out=io.StringIO())
