"""REST routes of the node's content store (mounted on the REST gateway).

- ``POST /aivm/storage/v1/blobs`` — the raw body is the file; streamed into the store;
  answers ``{"cid", "size", "chunks"}``.
- ``GET /aivm/storage/v1/blobs/{cid}`` — the file; ``Range: bytes=a-b`` / ``bytes=a-`` gives
  206 (resumable downloads). The requested blocks are verified against their CIDs before the
  first byte is sent, so a corrupted blob answers a coded error and no content.
- ``GET /aivm/storage/v1/blobs/{cid}/stat`` — ``{"cid", "size", "chunks"}``.
- ``GET /aivm/storage/v1/blobs/{cid}/chunks/{index}`` — ``{"cid", "index", "chunk", "proof"}``
  (base64): what ``MsgAnswerChallenge`` needs.

Errors are ``{"code": <gRPC code>, "message": "storage/<n>: ...", "details": []}``.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from aiohttp import web

from aivm.modules.storage.errors import (
    ErrHashMismatch,
    ErrInvalidCid,
    ErrObjectNotFound,
    ErrTooLarge,
)
from aivm.node.blobstore import BlobStore
from aivm.types.errors import AivmError

PREFIX = "/aivm/storage/v1/blobs"
PIECE = 1 << 16
RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")
T = TypeVar("T")

# gRPC code and HTTP status per storage error
STATUS = {
    ErrObjectNotFound: (5, 404),
    ErrInvalidCid: (3, 400),
    ErrHashMismatch: (15, 500),
    ErrTooLarge: (8, 413),
}


def _error(err: AivmError) -> web.Response:
    code, status = STATUS.get(err.error, (3, 400))
    message = f"{err.codespace}/{err.code}: {err.log}"
    return web.json_response({"code": code, "message": message, "details": []}, status=status)


class BlobRoutes:
    """Handlers over one :class:`BlobStore`."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def add_to(self, app: web.Application) -> None:
        """Mount the routes."""
        app.router.add_post(PREFIX, self.upload)
        app.router.add_get(PREFIX + "/{cid}", self.download)
        app.router.add_get(PREFIX + "/{cid}/stat", self.stat)
        app.router.add_get(PREFIX + "/{cid}/chunks/{index}", self.chunk)

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def upload(self, request: web.Request) -> web.StreamResponse:
        """Stream the body into the store."""
        writer = self.store.writer()
        try:
            async for piece in request.content.iter_chunked(PIECE):
                await self._run(writer.write, piece)
            stat = await self._run(writer.close)
        except AivmError as err:
            return _error(err)
        return web.json_response(asdict(stat))

    async def stat(self, request: web.Request) -> web.StreamResponse:
        """Size and chunks of a stored file."""
        try:
            stat = await self._run(self.store.stat, request.match_info["cid"])
        except AivmError as err:
            return _error(err)
        return web.json_response(asdict(stat))

    async def chunk(self, request: web.Request) -> web.StreamResponse:
        """One chunk with its Merkle path."""
        cid = request.match_info["cid"]
        try:
            index = int(request.match_info["index"])
            data, proof = await self._run(self.store.chunk_with_proof, cid, index)
        except ValueError:
            return web.json_response(
                {"code": 3, "message": "chunk index must be an integer", "details": []}, status=400
            )
        except AivmError as err:
            return _error(err)
        return web.json_response(
            {
                "cid": cid,
                "index": index,
                "chunk": base64.b64encode(data).decode(),
                "proof": base64.b64encode(proof.encode()).decode(),
            }
        )

    async def download(self, request: web.Request) -> web.StreamResponse:
        """The file or a byte range of it, verified before it is sent."""
        cid = request.match_info["cid"]
        try:
            size = (await self._run(self.store.stat, cid)).size
            start, end, partial = _range(request.headers.get("Range"), size)
            # verify every block of the range first: nothing is sent from a corrupted blob
            await self._run(_drain, self.store, cid, start, end)
        except AivmError as err:
            return _error(err)
        except ValueError as exc:
            return web.json_response(
                {"code": 11, "message": str(exc), "details": []},
                status=416,
                headers={"Content-Range": f"bytes */{size}"},
            )
        response = web.StreamResponse(status=206 if partial else 200)
        response.content_type = "application/octet-stream"
        response.content_length = end - start
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["ETag"] = f'"{cid}"'
        if partial:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        await response.prepare(request)
        pieces = self.store.read(cid, start, end)
        while True:
            piece = await self._run(next, pieces, None)
            if piece is None:
                break
            await response.write(piece)
        await response.write_eof()
        return response


def _drain(store: BlobStore, cid: str, start: int, end: int) -> None:
    for _ in store.read(cid, start, end):
        pass


def _range(header: str | None, size: int) -> tuple[int, int, bool]:
    """(start, end exclusive, partial) for a ``Range`` header; ValueError if unsatisfiable."""
    if not header:
        return 0, size, False
    match = RANGE_RE.match(header.strip())
    if match is None:
        raise ValueError(f"unsupported Range {header!r} (use bytes=START-[END])")
    start = int(match[1])
    end = int(match[2]) + 1 if match[2] else size
    end = min(end, size)
    if start >= size or start >= end:
        raise ValueError(f"range {header!r} is outside the {size}-byte object")
    return start, end, True
