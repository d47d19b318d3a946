"""The devnet's RPC front end: a process of its own that serves the public JSON-RPC port.

At a few thousand tx/s, HTTP parsing, JSON and the socket writes of ``broadcast_tx_sync`` took
about 30% of the node's busy thread, the thread that also runs CheckTx and produces blocks.
The front end moves that work to the machine's other core (ADR 0009):

- The node binds the public port and its own ``RpcServer`` on a private loopback port, then
  starts ``python -m aivm.devnet.rpc_frontend`` with the listening socket and one end of a socket
  pair as inherited descriptors.
- ``broadcast_tx_sync`` and ``broadcast_tx_async`` (a POST of one JSON-RPC object, or a GET of
  ``/broadcast_tx_sync?tx=…``): the front end decodes the params, sends the raw tx over the
  socket pair and renders the CheckTx response. The txs of one loop iteration travel in one
  write each way.
- Everything else (other methods, batches, bodies that are not JSON, the websocket) is relayed
  unchanged to the private ``RpcServer``, so every method, error and limit (batch size,
  subscriptions, query length) has one implementation. Only origin-form request targets
  (``/path?query``) are relayed, always to that server; any other form is answered 400.
- Limits of its own: the request body (``max-body-bytes``) and the open websocket
  connections (``max-websocket-connections``, HTTP 503 beyond), each relayed 1:1 to the
  private server, which therefore sees the same clients and counts their subscriptions.
- Lifetimes: the front end exits when the socket pair closes (the node stopped or died). The
  node restarts a front end that died; its listening socket stays open meanwhile, so clients
  wait in the backlog instead of being refused.

The wire between the two, in both directions a sequence of frames:
request ``u32 length | u64 id | tx``, reply ``u32 length | u64 id | u8 status | payload``
(status 0: a serialized ``ResponseCheckTx``; 1: an error message). A request with id 0 and
no tx says the front end is serving.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

from aivm.devnet import rpc_json as J
from aivm.devnet.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    Param,
    RpcError,
    bind,
    json_response,
    read_body,
    response,
    too_big_response,
    websocket_refusal,
)
from aivm.devnet.mempool import tx_hash
from aivm.node import eventloop
from aivm.node.config import RpcConfig
from aivm.types import pb

log = logging.getLogger(__name__)

REQUEST = struct.Struct(">IQ")
"""Request frame header: tx length, request id."""
REPLY = struct.Struct(">IQB")
"""Reply frame header: payload length, request id, status."""
READY_ID = 0
STATUS_OK, STATUS_ERROR = 0, 1
BROADCAST_METHODS = frozenset({"broadcast_tx_sync", "broadcast_tx_async"})
TX_PARAMS = [Param("tx", "b64", True)]
LISTEN_BACKLOG = 1024
START_TIMEOUT_S = 30.0
RESTART_DELAY_S = 1.0
SHUTDOWN_TIMEOUT_S = 2.0
BIND_WAIT_S = 5.0


class FrontendError(RuntimeError):
    """The front-end process could not start, or the node behind it is gone."""


def take_frames(buffer: bytearray, header: struct.Struct) -> list[tuple[tuple[int, ...], bytes]]:
    """Remove the complete frames at the start of ``buffer`` and return them as (the header's
    fields after the length, payload); the header's first field is the payload's length."""
    frames, offset = [], 0
    while len(buffer) - offset >= header.size:
        length, *fields = header.unpack_from(buffer, offset)
        end = offset + header.size + length
        if len(buffer) < end:
            break
        frames.append((tuple(fields), bytes(buffer[offset + header.size : end])))
        offset = end
    del buffer[:offset]
    return frames


# -- the node's side ---------------------------------------------------------------------

CheckTx = Callable[[bytes], pb.abci.ResponseCheckTx]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CheckTxService(asyncio.Protocol):
    """The node's end of the socket pair: CheckTx for each forwarded tx, in arrival order."""

    def __init__(
        self, check: CheckTx, on_ready: Callable[[], None], on_lost: Callable[[], None]
    ) -> None:
        self._check = check
        self._on_ready = on_ready
        self._on_lost = on_lost
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        replies = []
        for (id_,), tx in take_frames(self._buffer, REQUEST):
            if id_ == READY_ID:
                self._on_ready()
            else:
                replies.append(self._reply(id_, tx))
        if replies and self._transport is not None:
            self._transport.write(b"".join(replies))

    def _reply(self, id_: int, tx: bytes) -> bytes:
        try:
            payload: bytes = self._check(tx).SerializeToString()
            status = STATUS_OK
        except Exception as exc:
            log.exception("CheckTx of a forwarded tx failed")
            payload, status = str(exc).encode(), STATUS_ERROR
        return REPLY.pack(len(payload), id_, status) + payload

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._on_lost()


class RpcFrontend:
    """Starts, watches and stops the front-end process serving ``listener``.

    ``backend`` is the URL of the node's private ``RpcServer``; ``check`` runs CheckTx for a
    broadcast tx; ``config`` holds the limits the front end enforces itself. A front end that
    dies is restarted after ``RESTART_DELAY_S``.
    """

    def __init__(
        self, listener: socket.socket, backend: str, check: CheckTx, config: RpcConfig
    ) -> None:
        self.listener = listener
        self.backend = backend
        self.check = check
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._ready: asyncio.Future[None] | None = None
        self._closing = False
        self._restart: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The public port."""
        return int(self.listener.getsockname()[1])

    async def start(self) -> None:
        """Start the front end and wait until it serves; raises FrontendError if it cannot."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        with theirs:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "aivm.devnet.rpc_frontend",
                    "--listen-fd",
                    str(self.listener.fileno()),
                    "--channel-fd",
                    str(theirs.fileno()),
                    "--backend",
                    self.backend,
                    "--max-body-bytes",
                    str(self.config.max_body_bytes),
                    "--max-websocket-connections",
                    str(self.config.max_websocket_connections),
                    "--log-level",
                    logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                ],
                pass_fds=(self.listener.fileno(), theirs.fileno()),
            )
        ready: asyncio.Future[None] = loop.create_future()
        self._ready = ready
        self._transport, _ = await loop.create_unix_connection(
            lambda: CheckTxService(self.check, self._on_ready, self._on_lost), sock=ours
        )
        try:
            await asyncio.wait_for(asyncio.shield(ready), START_TIMEOUT_S)
        except TimeoutError as exc:
            ready.cancel()  # the kill below then restarts nothing: this start() fails instead
            await self._reap()
            raise FrontendError(f"RPC front end did not start in {START_TIMEOUT_S:.0f} s") from exc
        except FrontendError:
            await self._reap()
            raise

    def _on_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _on_lost(self) -> None:
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_exception(FrontendError("RPC front end exited while starting"))
            return
        if ready is not None and ready.cancelled():
            return  # a start that timed out: start() reports it
        if not self._closing:
            self._restart = asyncio.get_running_loop().create_task(self._restart_after_exit())

    async def _restart_after_exit(self) -> None:
        code = await self._reap()
        log.warning("RPC front end exited (code %s); restarting it", code)
        await asyncio.sleep(RESTART_DELAY_S)
        if self._closing:
            return
        try:
            await self.start()
        except FrontendError:
            log.exception("RPC front end failed to restart")
            if not self._closing:
                self._restart = asyncio.get_running_loop().create_task(self._restart_after_exit())

    async def _reap(self) -> int | None:
        """Wait for the process to exit, killing it after a grace period; its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            return await asyncio.to_thread(proc.wait, SHUTDOWN_TIMEOUT_S * 2)
        except subprocess.TimeoutExpired:
            proc.kill()
            return await asyncio.to_thread(proc.wait)

    async def stop(self) -> None:
        """Close the socket pair (the front end then exits), wait for it, close the port."""
        self._closing = True
        if self._restart is not None:
            self._restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restart
        if self._transport is not None:
            self._transport.close()
        await self._reap()
        self.listener.close()


async def bind_listener(host: str, port: int, wait_s: float = BIND_WAIT_S) -> socket.socket:
    """A listening TCP socket for the public port (``port`` 0: a free one).

    A port still in use is tried again for up to ``wait_s``: after a crash of the node, its
    front end holds the port until it notices, a moment later, and exits.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return socket.create_server((host, port), backlog=LISTEN_BACKLOG)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.1)


# -- the front end's side ----------------------------------------------------------------


class CoreChannel(asyncio.Protocol):
    """The front end's end of the socket pair: sends txs, matches replies to their callers."""

    def __init__(self, lost: asyncio.Event) -> None:
        self._lost = lost
        self._transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[pb.abci.ResponseCheckTx]] = {}
        self._next_id = READY_ID + 1
        self._out: list[bytes] = []
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send_ready(self) -> None:
        """Tell the node this front end is serving."""
        if self._transport is not None:
            self._transport.write(REQUEST.pack(0, READY_ID))

    def check_tx(self, tx: bytes) -> asyncio.Future[pb.abci.ResponseCheckTx]:
        """CheckTx of ``tx`` on the node; the future fails with FrontendError if it is gone."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[pb.abci.ResponseCheckTx] = loop.create_future()
        if self._transport is None:
            future.set_exception(FrontendError("the node is not reachable"))
            return future
        id_ = self._next_id
        self._next_id += 1
        self._pending[id_] = future
        if not self._out:
            loop.call_soon(self._flush)
        self._out += (REQUEST.pack(len(tx), id_), tx)
        return future

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and out:
            self._transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for (id_, status), payload in take_frames(self._buffer, REPLY):
            future = self._pending.pop(id_, None)
            if future is None or future.done():
                continue
            if status == STATUS_OK:
                future.set_result(pb.abci.ResponseCheckTx.FromString(payload))
            else:
                future.set_exception(FrontendError(payload.decode(errors="replace")))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(FrontendError("the node closed the connection"))
        self._pending.clear()
        self._lost.set()


def broadcast_call(body: bytes) -> dict[str, Any] | None:
    """The JSON-RPC request in ``body`` if it is one broadcast the front end answers itself."""
    if b"broadcast_tx_" not in body:
        return None
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(message, dict) and message.get("method") in BROADCAST_METHODS:
        return message
    return None


def origin_form(target: str) -> bool:
    """Whether a request target is in origin form (``/path?query``), the only form relayed:
    appended to the back end's URL it cannot name another host (RFC 9112, section 3.2)."""
    return target.startswith("/")


def not_origin_form_response() -> web.Response:
    """HTTP 400 with an Invalid Request error, for a target that is not in origin form."""
    error = RpcError(INVALID_REQUEST, "only origin-form request targets (/path) are served")
    return json_response(response(None, error=error), status=400)


@web.middleware
async def origin_form_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 400 to absolute-form (``http://host/…``), authority-form and asterisk-form
    targets: a relay must never send them anywhere."""
    if not origin_form(request.raw_path):
        return not_origin_form_response()
    return await handler(request)


class Frontend:
    """The front end's HTTP side: broadcasts over the channel, everything else relayed."""

    def __init__(
        self,
        channel: CoreChannel,
        session: aiohttp.ClientSession,
        backend: str,
        max_body_bytes: int,
        max_websocket_connections: int,
    ) -> None:
        self.channel = channel
        self.session = session
        self.backend = backend.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.max_websocket_connections = max_websocket_connections
        self._websockets: set[web.WebSocketResponse] = set()
        self._websockets_open = 0

    def app(self) -> web.Application:
        """The aiohttp application serving the public port."""
        app = web.Application(client_max_size=self.max_body_bytes, middlewares=[origin_form_only])
        app.router.add_get("/websocket", self._websocket)
        app.router.add_get("/broadcast_tx_sync", self._get_broadcast)
        app.router.add_get("/broadcast_tx_async", self._get_broadcast)
        app.router.add_route("*", "/{tail:.*}", self._any)
        return app

    async def _any(self, request: web.Request) -> web.StreamResponse:
        body, too_big = await read_body(request, self.max_body_bytes)
        if too_big:
            return too_big_response(self.max_body_bytes)
        if request.method == "POST" and request.path == "/":
            message = broadcast_call(body)
            if message is not None:
                result = await self._broadcast(message.get("id"), message.get("params"), False)
                return json_response(result)
        return await self._relay(request, body)

    async def _get_broadcast(self, request: web.Request) -> web.Response:
        return json_response(await self._broadcast(-1, dict(request.query), True))

    async def _broadcast(self, id_: Any, params: Any, uri: bool) -> dict[str, Any]:
        try:
            tx = bind(TX_PARAMS, params, uri)["tx"]
            if not tx:
                raise RpcError(INVALID_PARAMS, "tx is empty")
            checked = await self.channel.check_tx(tx)
            return response(id_, J.broadcast_json(checked, tx_hash(tx)))
        except RpcError as error:
            return response(id_, error=error)
        except FrontendError as exc:
            return response(id_, error=RpcError(INTERNAL_ERROR, str(exc)))

    async def _relay(self, request: web.Request, body: bytes) -> web.Response:
        if not origin_form(request.raw_path):  # origin_form_only answers these first
            return not_origin_form_response()
        url = URL(self.backend + request.raw_path, encoded=True)
        headers = {}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        try:
            async with self.session.request(
                request.method, url, data=body or None, headers=headers, allow_redirects=False
            ) as upstream:
                payload = await upstream.read()
                content_type = upstream.headers.get("Content-Type", "application/json")
                return web.Response(
                    body=payload, status=upstream.status, headers={"Content-Type": content_type}
                )
        except aiohttp.ClientError as exc:
            error = RpcError(INTERNAL_ERROR, f"the node is not reachable: {exc}")
            return json_response(response(None, error=error), status=502)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        limit = self.max_websocket_connections
        if self._websockets_open >= limit:
            return websocket_refusal(limit)
        self._websockets_open += 1  # counted from before the handshake: no race past the limit
        try:
            return await self._relay_client_websocket(request)
        finally:
            self._websockets_open -= 1

    async def _relay_client_websocket(self, request: web.Request) -> web.WebSocketResponse:
        client = web.WebSocketResponse(max_msg_size=self.max_body_bytes, heartbeat=30)
        await client.prepare(request)
        self._websockets.add(client)
        try:
            async with self.session.ws_connect(
                self.backend + "/websocket", max_msg_size=0
            ) as upstream:
                await _relay_websocket(client, upstream)
        except aiohttp.ClientError as exc:
            log.warning("websocket relay to the node failed: %s", exc)
        finally:
            self._websockets.discard(client)
            await client.close()
        return client

    async def close_websockets(self) -> None:
        """Close every client websocket ("going away"), ending their relays."""
        for client in list(self._websockets):
            await client.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"node stopping")


async def _pipe(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for message in source:
        if message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            return


async def _relay_websocket(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    """Copy messages both ways until either side closes."""
    tasks = [
        asyncio.create_task(_pipe(client, upstream)),
        asyncio.create_task(_pipe(upstream, client)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def serve(
    listen_fd: int, channel_fd: int, backend: str, max_body_bytes: int, max_websockets: int
) -> None:
    """Serve the inherited listening socket until the node closes the socket pair."""
    loop = asyncio.get_running_loop()
    lost = asyncio.Event()
    _, channel = await loop.create_unix_connection(
        lambda: CoreChannel(lost), sock=socket.socket(fileno=channel_fd)
    )
    listener = socket.socket(fileno=listen_fd)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        frontend = Frontend(channel, session, backend, max_body_bytes, max_websockets)
        runner = web.AppRunner(frontend.app(), access_log=None)
        await runner.setup()
        site = web.SockSite(runner, listener, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await site.start()
        channel.send_ready()
        try:
            await lost.wait()
        finally:
            await frontend.close_websockets()
            await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """``python -m aivm.devnet.rpc_frontend``: started by the node, not by hand."""
    parser = argparse.ArgumentParser(prog="python -m aivm.devnet.rpc_frontend", description=__doc__)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--channel-fd", type=int, required=True)
    parser.add_argument("--backend", required=True, help="URL of the node's private RpcServer")
    parser.add_argument("--max-body-bytes", type=int, default=RpcConfig.max_body_bytes)
    parser.add_argument(
        "--max-websocket-connections", type=int, default=RpcConfig.max_websocket_connections
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the node, which stops us
    eventloop.run(
        serve(
            args.listen_fd,
            args.channel_fd,
            args.backend,
            args.max_body_bytes,
            args.max_websocket_connections,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
