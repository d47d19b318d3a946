"""The JSON-RPC 2.0 envelope of the devnet's CometBFT-compatible RPC, shared by the in-process
server (``rpc.py``) and the RPC front-end process (``rpc_frontend.py``): error codes and
messages, response objects, parameter binding (JSON and URI forms) and body limits.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)
_MESSAGES = {
    PARSE_ERROR: "Parse error. Invalid JSON",  # CometBFT's wording
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
}


class RpcError(Exception):
    """A JSON-RPC error: one of the codes above and a detail string (``data``)."""

    def __init__(self, code: int, data: str = "") -> None:
        super().__init__(data)
        self.code = code
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The error object of a response."""
        return {"code": self.code, "message": _MESSAGES.get(self.code, "Error"), "data": self.data}


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response (compact, as CometBFT writes it)."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def response(id_: Any, result: Any = None, error: RpcError | None = None) -> dict[str, Any]:
    """A JSON-RPC 2.0 response object carrying ``result`` or ``error``."""
    if error is not None:
        return {"jsonrpc": "2.0", "id": id_, "error": error.to_json()}
    return {"jsonrpc": "2.0", "id": id_, "result": result}


# -- parameters --------------------------------------------------------------------------

Kind = str  # "str" | "int" | "bool" | "b64" | "hex" | "hash"


@dataclass(frozen=True)
class Param:
    """One named parameter of a method and how its value is decoded."""

    name: str
    kind: Kind
    required: bool = False


def _convert(p: Param, value: Any, uri: bool) -> Any:
    if value is None:
        return None
    if uri and isinstance(value, str):
        # URI style: "quoted" strings, 0x-prefixed hex bytes, bare numbers and booleans
        if value.startswith("0x") and p.kind in ("b64", "hex", "hash"):
            try:
                return bytes.fromhex(value[2:])
            except ValueError as exc:
                raise RpcError(INVALID_PARAMS, f"{p.name}: invalid hex: {exc}") from exc
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
    try:
        if p.kind == "str":
            if not isinstance(value, str):
                raise TypeError("expected a string")
            return value
        if p.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise TypeError("expected an integer")
            return int(value)
        if p.kind == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise TypeError("expected a boolean")
        if not isinstance(value, str):
            raise TypeError("expected a string")
        if p.kind == "hex":
            return bytes.fromhex(value)
        if p.kind == "hash" and re.fullmatch(r"[0-9a-fA-F]{64}", value):
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise RpcError(INVALID_PARAMS, f"invalid {p.name} ({p.kind}): {exc}") from exc


def bind(spec: list[Param], params: Any, uri: bool = False) -> dict[str, Any]:
    """Decode ``params`` (an object, an array or URI query values) into keyword arguments."""
    if params is None:
        params = {}
    if isinstance(params, list):
        if len(params) > len(spec):
            raise RpcError(INVALID_PARAMS, f"too many params: {len(params)} > {len(spec)}")
        params = {p.name: v for p, v in zip(spec, params, strict=False)}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "params must be an object or an array")
    known = {p.name for p in spec}
    unknown = set(params) - known
    if unknown and not uri:
        raise RpcError(INVALID_PARAMS, f"unknown params {sorted(unknown)}")
    out: dict[str, Any] = {}
    for p in spec:
        value = _convert(p, params.get(p.name), uri)
        if value is None and p.required:
            raise RpcError(INVALID_PARAMS, f"missing param {p.name!r}")
        out[p.name] = value
    return out


async def read_body(request: web.Request, max_bytes: int) -> tuple[bytes, bool]:
    """The request body and whether it exceeds ``max_bytes`` (then not read whole)."""
    length = request.content_length
    if length is not None:
        if length > max_bytes:
            return b"", True
        return await request.read(), False
    chunks: list[bytes] = []  # chunked transfer: read up to the limit
    size = 0
    while size <= max_bytes:
        chunk = await request.content.read(65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"", True


def too_big_response(max_bytes: int) -> web.Response:
    """HTTP 413 with an Invalid Request error, for a body over ``max_bytes``."""
    error = RpcError(INVALID_REQUEST, f"request body exceeds {max_bytes} bytes")
    return json_response(response(None, error=error), status=413)


def batch_error(batch: list[Any], max_size: int) -> RpcError | None:
    """Why a JSON-RPC batch is refused (empty, or over ``max_size`` requests; 0 = no limit),
    or None. The text of the second is CometBFT's (``max_request_batch_size``)."""
    if not batch:
        return RpcError(INVALID_REQUEST, "empty batch")
    if max_size and len(batch) > max_size:
        return RpcError(
            INVALID_REQUEST,
            f"batch request exceeds maximum ({max_size}) allowed number of requests",
        )
    return None


def websocket_refusal(limit: int) -> web.Response:
    """HTTP 503 with an Internal error, for a websocket over ``limit`` open connections."""
    error = RpcError(INTERNAL_ERROR, f"max_websocket_connections {limit} reached")
    return json_response(response(None, error=error), status=503)


def parse_error(exc: Exception) -> RpcError:
    """The error for a request that is not JSON (CometBFT's wording)."""
    return RpcError(PARSE_ERROR, f"error unmarshaling request: {exc}")
