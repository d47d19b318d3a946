"""The ABCI socket server over real sockets: framing, ordering, Flush/Echo, several
connections, app errors answered with ResponseException, TCP and Unix addresses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aivm.app.application import AivmApp
from aivm.node.abci_server import (
    AbciServer,
    encode_varint,
    frame,
    parse_address,
    read_message,
)
from aivm.store import CommitStore
from aivm.types import pb


async def _roundtrip(address: str, requests: list[pb.abci.Request]) -> list[pb.abci.Response]:
    kind, host, port = parse_address(address)
    if kind == "unix":
        reader, writer = await asyncio.open_unix_connection(host)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    for request in requests:
        writer.write(frame(request))
    writer.write(frame(pb.abci.Request(flush=pb.abci.RequestFlush())))
    await writer.drain()
    responses = [await _read_response(reader) for _ in range(len(requests) + 1)]
    writer.close()
    return responses


async def _read_response(reader: asyncio.StreamReader) -> pb.abci.Response:
    length = 0
    shift = 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return pb.abci.Response.FromString(await reader.readexactly(length))


@pytest.fixture
def app(tmp_path: Path) -> AivmApp:
    return AivmApp(CommitStore.open(tmp_path / "state"))


def test_varint() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(300) == b"\xac\x02"
    with pytest.raises(ValueError):
        encode_varint(-1)


def test_parse_address() -> None:
    assert parse_address("tcp://127.0.0.1:26658") == ("tcp", "127.0.0.1", 26658)
    assert parse_address("unix:///tmp/x.sock") == ("unix", "/tmp/x.sock", 0)
    for bad in ("http://x:1", "tcp://nohost", "unix://"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_serves_in_order_on_several_connections(app: AivmApp) -> None:
    async def main() -> None:
        server = AbciServer(app)
        address = await server.start("tcp://127.0.0.1:0")
        try:
            info = pb.abci.Request(info=pb.abci.RequestInfo())
            echo = pb.abci.Request(echo=pb.abci.RequestEcho(message="hi"))
            snaps = pb.abci.Request(list_snapshots=pb.abci.RequestListSnapshots())
            offer = pb.abci.Request(offer_snapshot=pb.abci.RequestOfferSnapshot())
            results = await asyncio.gather(
                *(_roundtrip(address, [info, echo, snaps, offer]) for _ in range(4))
            )
            for responses in results:
                kinds = [r.WhichOneof("value") for r in responses]
                assert kinds == ["info", "echo", "list_snapshots", "offer_snapshot", "flush"]
                assert responses[0].info.data == "aivm"
                assert responses[0].info.last_block_height == 0
                assert responses[1].echo.message == "hi"
                assert responses[3].offer_snapshot.result == pb.abci.ResponseOfferSnapshot.REJECT
        finally:
            await server.stop()

    asyncio.run(main())


def test_app_error_answers_exception_and_keeps_serving(app: AivmApp, tmp_path: Path) -> None:
    async def main() -> None:
        server = AbciServer(app)
        address = await server.start(f"unix://{tmp_path / 'abci.sock'}")
        try:
            commit = pb.abci.Request(commit=pb.abci.RequestCommit())  # nothing finalized
            info = pb.abci.Request(info=pb.abci.RequestInfo())
            responses = await _roundtrip(address, [commit, info])
            assert responses[0].WhichOneof("value") == "exception"
            assert "commit" in responses[0].exception.error
            assert responses[1].WhichOneof("value") == "info"
        finally:
            await server.stop()
        assert not (tmp_path / "abci.sock").exists()

    asyncio.run(main())


def test_read_message_eof_and_garbage() -> None:
    async def main() -> None:
        reader = asyncio.StreamReader()
        reader.feed_eof()
        assert await read_message(reader) is None
        reader = asyncio.StreamReader()
        reader.feed_data(b"\x05ab")
        reader.feed_eof()
        with pytest.raises(Exception, match="inside a message"):
            await read_message(reader)

    asyncio.run(main())


def test_responses_wait_for_flush_and_go_out_together(app: AivmApp) -> None:
    """Answers are held until the client's Flush, then written at once (one send per flush)."""

    async def main() -> None:
        server = AbciServer(app)
        address = await server.start("tcp://127.0.0.1:0")
        _, host, port = parse_address(address)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in range(3):
                echo = pb.abci.RequestEcho(message=f"m{i}")
                writer.write(frame(pb.abci.Request(echo=echo)))
            await writer.drain()
            with pytest.raises(TimeoutError):  # nothing before Flush
                await asyncio.wait_for(reader.readexactly(1), 0.2)
            writer.write(frame(pb.abci.Request(flush=pb.abci.RequestFlush())))
            await writer.drain()
            responses = [await _read_response(reader) for _ in range(4)]
            assert [r.WhichOneof("value") for r in responses] == ["echo", "echo", "echo", "flush"]
            assert [r.echo.message for r in responses[:3]] == ["m0", "m1", "m2"]
        finally:
            writer.close()
            await server.stop()

    asyncio.run(main())
