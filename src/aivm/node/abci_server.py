"""ABCI socket server: serves an :class:`~aivm.app.application.AivmApp` to CometBFT 0.38.

Wire format (CometBFT ``abci/types/messages.go``): every message is a protobuf
``tendermint.abci.Request`` / ``Response`` preceded by its length as an unsigned varint
(``protoio.NewDelimitedWriter``). CometBFT opens four connections (consensus, mempool, query,
snapshot); each is served by its own reader task and answered strictly in request order.
Responses are buffered and flushed to the socket when CometBFT sends ``Flush``.

All calls into the app are synchronous and run on the event loop thread, so they are
serialised by construction (AivmApp is not thread-safe); the explicit lock documents it and
keeps it true if a call ever awaits. An exception raised by the app is logged and answered with
``ResponseException{error}`` (CometBFT then stops, as the ABCI spec requires), never dropped.

Addresses: ``tcp://HOST:PORT`` or ``unix://PATH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aivm.app.application import AivmApp
from aivm.node.snapshots import SnapshotManager
from aivm.types import pb

log = logging.getLogger(__name__)

DEFAULT_ABCI_ADDRESS = "tcp://127.0.0.1:26658"
MAX_MESSAGE_BYTES = 104_857_600
"""CometBFT's ``maxMsgSize`` for ABCI socket messages (100 MiB)."""
MAX_PENDING_RESPONSE_BYTES = 1 << 20
"""Responses are held until the client's Flush, or until this many bytes are waiting."""


class AbciProtocolError(Exception):
    """A malformed frame from the peer; the connection is closed."""


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128 varint."""
    if value < 0:
        raise ValueError("varint must not be negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def frame(message: pb.Message) -> bytes:
    """A length-prefixed message, as CometBFT's ``WriteMessage`` writes it."""
    body = bytes(message.SerializeToString())
    return encode_varint(len(body)) + body


async def read_varint(reader: asyncio.StreamReader) -> int | None:
    """Read an unsigned varint; None on a clean EOF before the first byte."""
    result = shift = 0
    for index in range(10):
        try:
            chunk = await reader.readexactly(1)
        except asyncio.IncompleteReadError:
            if index == 0:
                return None
            raise AbciProtocolError("connection closed inside a length prefix") from None
        byte = chunk[0]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result
        shift += 7
    raise AbciProtocolError("length prefix longer than 10 bytes")


async def read_message(reader: asyncio.StreamReader) -> pb.abci.Request | None:
    """Read one length-prefixed Request; None on a clean EOF."""
    length = await read_varint(reader)
    if length is None:
        return None
    if length > MAX_MESSAGE_BYTES:
        raise AbciProtocolError(f"message of {length} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise AbciProtocolError("connection closed inside a message") from None
    try:
        return pb.abci.Request.FromString(body)
    except pb.DecodeError as exc:
        raise AbciProtocolError(f"undecodable request: {exc}") from exc


def parse_address(address: str) -> tuple[str, str, int]:
    """``tcp://host:port`` → ("tcp", host, port); ``unix://path`` → ("unix", path, 0)."""
    if address.startswith("unix://"):
        path = address[len("unix://") :]
        if not path:
            raise ValueError(f"invalid ABCI address {address!r}: empty socket path")
        return "unix", path, 0
    rest = address[len("tcp://") :] if address.startswith("tcp://") else address
    if "://" in rest:
        raise ValueError(f"invalid ABCI address {address!r}: use tcp://HOST:PORT or unix://PATH")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"invalid ABCI address {address!r}: use tcp://HOST:PORT or unix://PATH")
    return "tcp", host.strip("[]") or "127.0.0.1", int(port)


class AbciServer:
    """Serve ``app`` over the ABCI socket protocol.

    Example::

        server = AbciServer(app)
        await server.start("tcp://127.0.0.1:26658")
        ...
        await server.stop()
    """

    def __init__(self, app: AivmApp, snapshots: SnapshotManager | None = None) -> None:
        self.app = app
        self.snapshots = snapshots
        self.lock = asyncio.Lock()
        self._server: asyncio.base_events.Server | None = None
        self._unix_path: str | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.address: str = ""
        self._handlers: dict[str, Callable[[Any], pb.Message]] = {
            "info": app.info,
            "init_chain": app.init_chain,
            "query": app.query,
            "check_tx": app.check_tx,
            "prepare_proposal": app.prepare_proposal,
            "process_proposal": app.process_proposal,
            "finalize_block": app.finalize_block,
            "commit": self._commit,
            "extend_vote": app.extend_vote,
            "verify_vote_extension": app.verify_vote_extension,
            **self._snapshot_handlers(snapshots),
        }

    def _commit(self, request: pb.abci.RequestCommit) -> pb.abci.ResponseCommit:
        response = self.app.commit(request)
        if self.snapshots is not None:
            self.snapshots.after_commit()
        return response

    @staticmethod
    def _snapshot_handlers(
        snapshots: SnapshotManager | None,
    ) -> dict[str, Callable[[Any], pb.Message]]:
        if snapshots is not None:
            return {
                "list_snapshots": snapshots.list_snapshots,
                "offer_snapshot": snapshots.offer_snapshot,
                "load_snapshot_chunk": snapshots.load_snapshot_chunk,
                "apply_snapshot_chunk": snapshots.apply_snapshot_chunk,
            }
        # no snapshot manager: no snapshots, refuse offers
        return {
            "list_snapshots": lambda _r: pb.abci.ResponseListSnapshots(),
            "offer_snapshot": lambda _r: pb.abci.ResponseOfferSnapshot(
                result=pb.abci.ResponseOfferSnapshot.REJECT
            ),
            "load_snapshot_chunk": lambda _r: pb.abci.ResponseLoadSnapshotChunk(),
            "apply_snapshot_chunk": lambda _r: pb.abci.ResponseApplySnapshotChunk(
                result=pb.abci.ResponseApplySnapshotChunk.ABORT
            ),
        }

    async def start(self, address: str = DEFAULT_ABCI_ADDRESS) -> str:
        """Listen on ``address``; returns the bound address (a free port for ``:0``)."""
        kind, host, port = parse_address(address)
        if kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(host)
            Path(host).parent.mkdir(parents=True, exist_ok=True)
            self._server = await asyncio.start_unix_server(self._serve, path=host)
            self._unix_path = host
            self.address = f"unix://{host}"
        else:
            self._server = await asyncio.start_server(self._serve, host, port)
            bound = self._server.sockets[0].getsockname()[1]
            self.address = f"tcp://{host}:{bound}"
        log.info("ABCI server listening on %s", self.address)
        return self.address

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        if self._unix_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._unix_path)
            self._unix_path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername") or "unix"
        log.info("ABCI connection from %s", peer)
        pending: list[bytes] = []  # framed responses not yet written
        pending_bytes = 0
        try:
            while True:
                request = await read_message(reader)
                if request is None:
                    break
                response = await self.handle(request)
                framed = frame(response)
                pending.append(framed)
                pending_bytes += len(framed)
                if (
                    response.WhichOneof("value") in ("flush", "exception")
                    or pending_bytes >= MAX_PENDING_RESPONSE_BYTES
                ):  # one write (one send) for everything answered since the last Flush
                    writer.write(b"".join(pending))
                    pending.clear()
                    pending_bytes = 0
                    await writer.drain()
        except AbciProtocolError as exc:
            log.error("ABCI connection %s: %s; closing it", peer, exc)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("ABCI connection from %s closed", peer)

    async def handle(self, request: pb.abci.Request) -> pb.abci.Response:
        """Answer one request (also usable without a socket, e.g. in tests)."""
        kind = request.WhichOneof("value")
        if kind == "flush":
            return pb.abci.Response(flush=pb.abci.ResponseFlush())
        if kind == "echo":
            return pb.abci.Response(echo=pb.abci.ResponseEcho(message=request.echo.message))
        handler = self._handlers.get(kind or "")
        if handler is None:
            log.error("ABCI: unknown request type %r", kind)
            return _exception(f"unknown request type {kind!r}")
        async with self.lock:
            try:
                result = handler(getattr(request, kind))
            except Exception as exc:
                log.exception("ABCI %s failed", kind)
                return _exception(f"{kind}: {type(exc).__name__}: {exc}")
        response = pb.abci.Response()
        getattr(response, kind).CopyFrom(result)
        return response


def _exception(error: str) -> pb.abci.Response:
    return pb.abci.Response(exception=pb.abci.ResponseException(error=error))


async def serve(
    app: AivmApp,
    address: str = DEFAULT_ABCI_ADDRESS,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    snapshots: SnapshotManager | None = None,
) -> None:
    """Serve ``app`` on ``address`` until ``stop`` is set (``aivm start`` runs the REST
    gateway beside it, with the node's ``[storage]`` limits)."""
    stop = stop or asyncio.Event()
    server = AbciServer(app, snapshots)
    bound = await server.start(address)
    try:
        if on_ready is not None:
            on_ready(bound)
        await stop.wait()
    finally:
        await server.stop()
