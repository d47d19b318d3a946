"""REST routes of the node's content store (mounted on the REST gateway).

- ``POST /aivm/storage/v1/blobs`` — the raw body is the file, sent as
  ``Content-Type: application/octet-stream``; streamed into the store; answers
  ``{"cid", "size", "chunks"}``. Refused, with nothing stored: another or no content type
  (415, ``blobstore/3``: a browser must then send a CORS preflight, so no web page can post
  a file to a local node as a "simple request"); an ``Origin`` header not in
  ``cors-allowed-origins``, or ``Sec-Fetch-Site: cross-site`` without an allowed origin (403,
  ``blobstore/4``); a file over ``max-object-bytes`` (413, ``storage/7``: at once from its
  ``Content-Length``, else as soon as the streamed bytes pass it); a file that would take the
  store past ``max-total-bytes`` (507, ``blobstore/2``, as soon as a block that the store
  does not hold yet would pass it).
- ``OPTIONS`` on these paths — the CORS preflight: 204 with ``Access-Control-Allow-*`` for an
  allowed origin, 403 otherwise. Answers to an allowed origin carry
  ``Access-Control-Allow-Origin``.
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
from aivm.node.blobstore import (
    BlobStore,
    BlobWriter,
    ErrForbiddenOrigin,
    ErrStoreFull,
    ErrUnsupportedMediaType,
    ObjectStat,
)
from aivm.types.errors import AivmError

PREFIX = "/aivm/storage/v1/blobs"
PIECE = 1 << 16
UPLOAD_CONTENT_TYPE = "application/octet-stream"
PREFLIGHT_MAX_AGE_S = 600
RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")
T = TypeVar("T")

# gRPC code and HTTP status per storage error
STATUS = {
    ErrObjectNotFound: (5, 404),
    ErrInvalidCid: (3, 400),
    ErrHashMismatch: (15, 500),
    ErrTooLarge: (8, 413),
    ErrStoreFull: (8, 507),
    ErrUnsupportedMediaType: (3, 415),
    ErrForbiddenOrigin: (7, 403),
}


def _error(err: AivmError, close: bool = False) -> web.Response:
    """The coded error answer; ``close``: drop the connection after it (an upload refused
    mid-stream: the rest of its body is not read)."""
    code, status = STATUS.get(err.error, (3, 400))
    message = f"{err.codespace}/{err.code}: {err.log}"
    answer = web.json_response({"code": code, "message": message, "details": []}, status=status)
    if close:
        answer.force_close()
    return answer


class BlobRoutes:
    """Handlers over one :class:`BlobStore`; ``cors_allowed_origins`` are the web origins
    that may upload from a browser (``"*"``: any)."""

    def __init__(self, store: BlobStore, cors_allowed_origins: tuple[str, ...] = ()) -> None:
        self.store = store
        self.cors_allowed_origins = frozenset(cors_allowed_origins)

    def add_to(self, app: web.Application) -> None:
        """Mount the routes."""
        app.router.add_post(PREFIX, self.upload)
        app.router.add_get(PREFIX + "/{cid}", self.download)
        app.router.add_get(PREFIX + "/{cid}/stat", self.stat)
        app.router.add_get(PREFIX + "/{cid}/chunks/{index}", self.chunk)
        app.router.add_route("OPTIONS", PREFIX, self.preflight)
        app.router.add_route("OPTIONS", PREFIX + "/{tail:.+}", self.preflight)
        app.on_response_prepare.append(self._allow_origin)

    # -- cross-origin policy ----------------------------------------------------------------

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser page of ``origin`` may use these routes."""
        return "*" in self.cors_allowed_origins or origin in self.cors_allowed_origins

    def _upload_refusal(self, request: web.Request) -> AivmError | None:
        """Why an upload is refused before its body is read, or None."""
        origin = request.headers.get("Origin")
        if origin is not None and not self.origin_allowed(origin):
            return ErrForbiddenOrigin.wrap(
                f"origin {origin!r} is not in the node's cors-allowed-origins"
            )
        if origin is None and request.headers.get("Sec-Fetch-Site") == "cross-site":
            return ErrForbiddenOrigin.wrap("cross-site request without an allowed Origin")
        declared = request.headers.get("Content-Type")  # absent: aiohttp would assume octets
        if declared is None or request.content_type != UPLOAD_CONTENT_TYPE:
            return ErrUnsupportedMediaType.wrap(
                f"send the file as Content-Type: {UPLOAD_CONTENT_TYPE} (got {declared!r})"
            )
        length = request.content_length
        if length is not None and length > self.store.max_object_size:
            return ErrTooLarge.wrap(f"objects are limited to {self.store.max_object_size} bytes")
        return None  # the quota is checked block by block: blocks held already cost nothing

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        """CORS preflight: the allowed methods and headers, for an allowed origin only."""
        origin = request.headers.get("Origin", "")
        if not self.origin_allowed(origin):
            return _error(
                ErrForbiddenOrigin.wrap(f"origin {origin!r} is not in cors-allowed-origins")
            )
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Content-Type, Range",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            },
        )

    async def _allow_origin(self, request: web.Request, response: web.StreamResponse) -> None:
        """``on_response_prepare``: name an allowed origin on answers of these routes."""
        origin = request.headers.get("Origin")
        if origin is None or not request.path.startswith(PREFIX):
            return
        response.headers["Vary"] = "Origin"
        if self.origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin

    # -- handlers -----------------------------------------------------------------------------

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def upload(self, request: web.Request) -> web.StreamResponse:
        """Stream the body into the store, within the limits (see the module docstring)."""
        refusal = self._upload_refusal(request)
        if refusal is not None:
            return _error(refusal, close=True)
        writer = self.store.writer()
        try:
            stat = await self._receive(request, writer)
        except AivmError as err:  # the writer has aborted itself
            return _error(err, close=True)
        except Exception:  # e.g. the client went away: delete what was staged, off the loop
            await self._run(writer.abort)
            raise
        finally:
            writer.abort()  # nothing once closed or aborted; a cancelled upload is deleted here
        return web.json_response(asdict(stat))

    async def _receive(self, request: web.Request, writer: BlobWriter) -> ObjectStat:
        async for piece in request.content.iter_chunked(PIECE):
            await self._run(writer.write, piece)
        return await self._run(writer.close)

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
