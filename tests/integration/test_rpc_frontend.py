"""The devnet's RPC front-end process: its channel to the node, equivalence with the in-process
server, and recovery when it dies."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aivm.devnet.rpc_frontend import CheckTxService, CoreChannel, FrontendError
from aivm.node.config import RpcConfig
from aivm.types import pb
from aivm.types.address import acc_address
from devnet_helpers import DevnetThread, child_pids, result, rpc, wait_for, wait_height
from integration.test_devnet_rpc import RECIPIENT, balance, signed_send, wait_tx

FRONTEND = "aivm.devnet.rpc_frontend"


async def _channel_pair(
    check: Any,
) -> tuple[CoreChannel, asyncio.Event, asyncio.BaseTransport]:
    """Both ends of the node ↔ front-end wire over a socket pair, in this event loop."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    node_side, _ = await loop.create_unix_connection(
        lambda: CheckTxService(check, lambda: None, lambda: None), sock=ours
    )
    lost = asyncio.Event()
    _, channel = await loop.create_unix_connection(lambda: CoreChannel(lost), sock=theirs)
    return channel, lost, node_side


def test_channel_matches_replies_to_requests_and_reports_errors() -> None:
    def check(tx: bytes) -> pb.abci.ResponseCheckTx:
        if tx == b"boom":
            raise ValueError("exploded")
        return pb.abci.ResponseCheckTx(code=len(tx) % 1000, log=tx[:8].hex())

    async def go() -> None:
        channel, lost, node_side = await _channel_pair(check)
        # many txs in flight at once, one large enough to arrive in several reads
        txs = [bytes([i % 256]) * (i + 1) for i in range(300)] + [b"x" * 300_000]
        replies = await asyncio.gather(*(channel.check_tx(tx) for tx in txs))
        for tx, reply in zip(txs, replies, strict=True):
            assert reply.code == len(tx) % 1000 and reply.log == tx[:8].hex()
        with pytest.raises(FrontendError, match="exploded"):
            await channel.check_tx(b"boom")
        assert (await channel.check_tx(b"ok")).code == 2  # the node side keeps serving
        # the node goes away: waiting callers and new ones get FrontendError, not a hang
        pending = channel.check_tx(b"late")
        node_side.close()
        await asyncio.wait_for(lost.wait(), 5)
        with pytest.raises(FrontendError):
            await pending
        with pytest.raises(FrontendError):
            await channel.check_tx(b"after")

    asyncio.run(go())


BAD_BROADCASTS: list[tuple[str, Any]] = [
    ("garbage tx", {"tx": base64.b64encode(b"junk").decode()}),
    ("empty tx", {"tx": ""}),
    ("invalid base64", {"tx": "!!!not base64!!!"}),
    ("no tx", {}),
    ("params not an object", "abc"),
    ("unknown param", {"tx": "AAAA", "extra": 1}),
    ("positional", [base64.b64encode(b"junk").decode()]),
]


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _bad_broadcast_answers(url: str) -> list[dict[str, Any]]:
    answers = []
    for i, (_, params) in enumerate(BAD_BROADCASTS):
        for method in ("broadcast_tx_sync", "broadcast_tx_async"):
            answers.append(rpc(url, method, params, id_=f"req-{i}"))
    for query in ("tx=0x6a756e6b", 'tx="anVuaw=="', "tx=0xzz", ""):
        answers.append(_get(f"{url}/broadcast_tx_sync?{query}"))
    return answers


def test_front_end_answers_broadcasts_as_the_in_process_server(tmp_path: Path) -> None:
    with (
        DevnetThread(tmp_path / "inline", block_time_ms=120) as inline,
        DevnetThread(tmp_path / "front", block_time_ms=120, rpc_frontend=True) as front,
    ):
        wait_height(inline.url, 1)
        wait_height(front.url, 1)
        expected = _bad_broadcast_answers(inline.url)
        assert _bad_broadcast_answers(front.url) == expected
        assert expected[0]["result"]["code"] == 2  # a tx that does not decode
        assert all("error" in a for a in expected[2:12])  # empty … unknown param
        # a good tx is accepted, committed and indexed through the front end
        raw, _ = signed_send(front.url, front.home, 9)
        sent = result(front.url, "broadcast_tx_sync", {"tx": base64.b64encode(raw).decode()})
        assert sent["code"] == 0, sent
        assert wait_tx(front.url, sent["hash"])["tx_result"]["code"] == 0
        assert balance(front.url, acc_address(RECIPIENT)) == 9


def test_front_end_is_restarted_after_kill_9(tmp_path: Path) -> None:
    others = set(child_pids(os.getpid(), FRONTEND))  # none, unless another fixture runs one

    def ours() -> set[int]:
        return set(child_pids(os.getpid(), FRONTEND)) - others

    with DevnetThread(tmp_path / "home", block_time_ms=120, rpc_frontend=True) as node:
        wait_height(node.url, 1)
        (first,) = ours()
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: ours() - {first}, 15, "a new RPC front end")
        # clients wait in the listening socket's backlog meanwhile; then all works again
        deadline = time.monotonic() + 15
        while True:
            try:
                height = int(result(node.url, "status")["sync_info"]["latest_block_height"])
                break
            except OSError:
                assert time.monotonic() < deadline, "RPC not back after the front end's restart"
                time.sleep(0.1)
        wait_height(node.url, height + 2)
        raw, _ = signed_send(node.url, node.home, 4)
        sent = result(node.url, "broadcast_tx_sync", {"tx": base64.b64encode(raw).decode()})
        assert sent["code"] == 0, sent
        wait_tx(node.url, sent["hash"])
    # stopping the node stops its front end
    wait_for(lambda: not ours(), 10, "the front end to exit")


def test_stopping_with_a_websocket_open_is_prompt(tmp_path: Path) -> None:
    """The front end closes its websockets ("going away") as soon as the node stops; before,
    each waited for the relay's shutdown timeout."""
    node = DevnetThread(tmp_path / "home", block_time_ms=120, rpc_frontend=True).__enter__()
    try:
        wait_height(node.url, 1)

        async def go() -> tuple[float, int | None]:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"ws://127.0.0.1:{node.port}/websocket") as ws,
            ):
                query = {"query": "tm.event='NewBlock'"}
                await ws.send_json(
                    {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": query}
                )
                assert (await ws.receive_json())["result"] == {}
                started = time.monotonic()
                stopping = asyncio.create_task(asyncio.to_thread(node.stop))
                async for _ in ws:  # events until the close
                    pass
                await stopping
                return time.monotonic() - started, ws.close_code

        elapsed, code = asyncio.run(go())
    finally:
        node.stop()
    assert code == aiohttp.WSCloseCode.GOING_AWAY
    assert elapsed < 2.0, f"stopping took {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("script", "message"),
    [("exit 3", "exited while starting"), ("exec sleep 30", "did not start")],
    ids=["exits", "hangs"],
)
def test_a_front_end_that_cannot_start_is_an_error_not_a_restart_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, message: str
) -> None:
    """``run_devnet`` fails with FrontendError; nothing is restarted or left running."""
    from aivm.devnet import rpc_frontend

    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))  # what the front end is started with
    monkeypatch.setattr(rpc_frontend, "START_TIMEOUT_S", 0.5)

    async def go() -> rpc_frontend.RpcFrontend:
        listener = await rpc_frontend.bind_listener("127.0.0.1", 0)
        frontend = rpc_frontend.RpcFrontend(
            listener, "http://127.0.0.1:9", lambda tx: pb.abci.ResponseCheckTx(), RpcConfig()
        )
        with pytest.raises(FrontendError, match=message):
            await frontend.start()
        await asyncio.sleep(rpc_frontend.RESTART_DELAY_S + 0.2)  # long enough for a restart
        assert frontend._restart is None
        await frontend.stop()
        return frontend

    before = set(child_pids(os.getpid()))
    asyncio.run(go())
    assert set(child_pids(os.getpid())) <= before  # the failed front end was reaped
