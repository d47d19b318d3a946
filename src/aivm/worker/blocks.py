"""Following the chain's height: a websocket subscription to CometBFT's ``NewBlock`` events
(``/websocket``, which both CometBFT and ``aivm devnet`` serve), with polling of ``/status``
as the fallback while the websocket is down.

Example::

    follower = BlockFollower("http://127.0.0.1:26657")
    follower.start()
    height = follower.wait_beyond(0, timeout=10)   # the next height above 0
    follower.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp

NEW_BLOCK_QUERY = "tm.event='NewBlock'"
RECONNECT_SECONDS = 2.0
CLOSED = (
    aiohttp.WSMsgType.CLOSE,
    aiohttp.WSMsgType.CLOSING,
    aiohttp.WSMsgType.CLOSED,
    aiohttp.WSMsgType.ERROR,
)


def websocket_url(rpc: str) -> str:
    """``ws://host:port/websocket`` of an ``http://host:port`` RPC address."""
    base = rpc.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/websocket"
    return "ws://" + base.removeprefix("http://") + "/websocket"


def height_of_event(message: dict[str, Any]) -> int | None:
    """The block height of a ``NewBlock`` event message (None for other messages)."""
    data = (message.get("result") or {}).get("data") or {}
    if data.get("type") != "tendermint/event/NewBlock":
        return None
    header = ((data.get("value") or {}).get("block") or {}).get("header") or {}
    height = header.get("height")
    return int(height) if height is not None else None


class BlockFollower:
    """Keeps ``latest`` up to date from a background thread; ``mode`` says how
    (``websocket`` or ``polling``)."""

    def __init__(
        self,
        rpc: str,
        poll_seconds: float = 0.5,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.rpc = rpc.rstrip("/")
        self.poll_seconds = poll_seconds
        self.log = log or (lambda line: None)
        self.latest = 0
        self.mode = "polling"
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the websocket thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="aivm-blocks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop following."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)

    def _seen(self, height: int) -> None:
        with self._cond:
            if height > self.latest:
                self.latest = height
                self._cond.notify_all()

    def poll_status(self) -> int:
        """The node's latest height from ``/status`` (0 when it does not answer)."""
        import requests

        try:
            body = requests.get(self.rpc + "/status", timeout=5).json()
            return int(body["result"]["sync_info"]["latest_block_height"])
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return 0

    def wait_beyond(self, height: int, timeout: float) -> int:
        """The latest height once it is above ``height``, or after ``timeout`` seconds
        (then possibly still ``height``). Polls ``/status`` while the websocket is down."""
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            if self.mode != "websocket":
                self._seen(self.poll_status())
            with self._cond:
                if self.latest > height:
                    return self.latest
                left = deadline - time.monotonic()
                if left <= 0:
                    return self.latest
                self._cond.wait(min(left, self.poll_seconds))
        return self.latest

    def _main(self) -> None:
        asyncio.run(self._follow())

    async def _follow(self) -> None:
        url = websocket_url(self.rpc)
        while not self._stop.is_set():
            try:
                await self._subscribe(url)
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                if self.mode == "websocket":
                    self.log(f"websocket {url} lost ({exc}); polling /status")
            self.mode = "polling"
            for _ in range(int(RECONNECT_SECONDS / 0.1)):
                if self._stop.is_set():
                    return
                await asyncio.sleep(0.1)

    async def _subscribe(self, url: str) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.ws_connect(url, heartbeat=20) as ws,
        ):
            request = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "subscribe",
                "params": {"query": NEW_BLOCK_QUERY},
            }
            await ws.send_json(request)
            self.mode = "websocket"
            self.log(f"following blocks over {url}")
            while not self._stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    msg = await ws.receive(timeout=1.0)
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        if msg.type in CLOSED:
                            raise aiohttp.ClientError(f"websocket closed ({msg.type.name})")
                        continue
                    height = height_of_event(json.loads(msg.data))
                    if height is not None:
                        self._seen(height)
