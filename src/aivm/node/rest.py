"""REST gateway (the Cosmos SDK's gRPC-gateway routes on port 1317) in front of CometBFT RPC.

Driver-agnostic: every answer comes from the node's CometBFT JSON-RPC endpoint (``abci_query``
with the gRPC query paths and protobuf bytes, ``broadcast_tx_sync|async``, ``tx``, ``block``,
``status``, ``abci_info``, ``consensus_params``), so the same gateway serves the in-process
devnet and a real CometBFT node. JSON is proto3 JSON with the original (snake_case) field
names and default values emitted, as the SDK's gateway marshals it (``OrigName: true``,
``EmitDefaults: true``); request bodies accept both snake_case and camelCase names.
Errors are ``{"code": <gRPC code>, "message": ..., "details": []}`` with the HTTP status
gRPC-gateway maps that code to.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from cosmpy.protos.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmpy.protos.cosmos.consensus.v1 import query_pb2 as consensus_query
from google.protobuf import descriptor as _descriptor

from aivm.app.modules import MODULES
from aivm.modules.framework import RestRoute
from aivm.node.blobstore import BlobStore
from aivm.types import pb
from aivm.types.address import valcons_address
from aivm.types.dec_json import render_decs

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1_000_000
HEIGHT_HEADER = "x-cosmos-block-height"
SIMULATE_PATH = "/cosmos.tx.v1beta1.Service/Simulate"

# gRPC status codes and the HTTP status gRPC-gateway answers with (runtime.HTTPStatusFromCode)
OK, CANCELED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 1, 2, 3, 4, 5
ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION = 6, 7, 8, 9
ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS = 10, 11, 12, 13, 14, 15
UNAUTHENTICATED = 16
GRPC_NAMES = {
    "OK": OK,
    "Canceled": CANCELED,
    "Unknown": UNKNOWN,
    "InvalidArgument": INVALID_ARGUMENT,
    "DeadlineExceeded": DEADLINE_EXCEEDED,
    "NotFound": NOT_FOUND,
    "AlreadyExists": ALREADY_EXISTS,
    "PermissionDenied": PERMISSION_DENIED,
    "ResourceExhausted": RESOURCE_EXHAUSTED,
    "FailedPrecondition": FAILED_PRECONDITION,
    "Aborted": ABORTED,
    "OutOfRange": OUT_OF_RANGE,
    "Unimplemented": UNIMPLEMENTED,
    "Internal": INTERNAL,
    "Unavailable": UNAVAILABLE,
    "DataLoss": DATA_LOSS,
    "Unauthenticated": UNAUTHENTICATED,
}
HTTP_STATUS = {
    OK: 200,
    CANCELED: 499,
    UNKNOWN: 500,
    INVALID_ARGUMENT: 400,
    DEADLINE_EXCEEDED: 504,
    NOT_FOUND: 404,
    ALREADY_EXISTS: 409,
    PERMISSION_DENIED: 403,
    RESOURCE_EXHAUSTED: 429,
    FAILED_PRECONDITION: 400,
    ABORTED: 409,
    OUT_OF_RANGE: 400,
    UNIMPLEMENTED: 501,
    INTERNAL: 500,
    UNAVAILABLE: 503,
    DATA_LOSS: 500,
    UNAUTHENTICATED: 401,
}
# SDK root-codespace ABCI codes → gRPC codes (the rest become Unknown, as in the SDK)
SDK_GRPC_CODES = {
    2: INVALID_ARGUMENT,  # tx parse error
    6: INVALID_ARGUMENT,  # unknown request
    7: INVALID_ARGUMENT,  # invalid address
    10: INVALID_ARGUMENT,  # invalid coins
    18: INVALID_ARGUMENT,  # invalid request
    22: NOT_FOUND,  # key not found
    26: INVALID_ARGUMENT,  # invalid height
    38: NOT_FOUND,  # not found
}
_RPC_ERROR = re.compile(r"rpc error: code = (\w+) desc = (.*)", re.DOTALL)
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_B64 = re.compile(
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|[A-Za-z0-9_-]*={0,2}"
)


class RestError(Exception):
    """An error answered as ``{"code", "message", "details"}``."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or HTTP_STATUS.get(code, 500)

    def response(self) -> web.Response:
        body = {"code": self.code, "message": self.message, "details": []}
        return web.json_response(body, status=self.http_status)


class NodeRpcError(Exception):
    """A JSON-RPC error answered by the node."""

    def __init__(self, code: int, message: str, data: str) -> None:
        super().__init__(f"{message}: {data}" if data else message)
        self.code = code
        self.message = message
        self.data = data


def abci_error(code: int, codespace: str, log_text: str) -> RestError:
    """The gRPC status the SDK reports for a failed ABCI query."""
    found = _RPC_ERROR.search(log_text)
    if found and found.group(1) in GRPC_NAMES:
        return RestError(GRPC_NAMES[found.group(1)], found.group(2))
    if codespace in ("sdk", ""):
        grpc_code = SDK_GRPC_CODES.get(code, UNKNOWN)
    else:
        grpc_code = MODULE_GRPC_CODES.get((codespace, code), UNKNOWN)
    return RestError(grpc_code, log_text or f"query failed: codespace {codespace} code {code}")


# AIVM module codes that mean "no such thing" → NotFound (404)
MODULE_GRPC_CODES = {
    ("ai", 2): NOT_FOUND,  # model not found
    ("ai", 3): NOT_FOUND,  # model version not found
    ("ai", 10): NOT_FOUND,  # execution not found
    ("storage", 3): NOT_FOUND,  # object not found
    ("storage", 10): NOT_FOUND,  # challenge not found
    ("slashing", 8): NOT_FOUND,  # signing info not found
}


def to_json(message: pb.Message) -> dict[str, Any]:
    """proto3 JSON as the SDK's gateway marshals it (original names, defaults emitted,
    ``LegacyDec`` fields as decimals: see :mod:`aivm.types.dec_json`)."""
    try:
        rendered: dict[str, Any] = pb.json_format.MessageToDict(
            message,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        return render_decs(message.DESCRIPTOR, rendered)
    except (TypeError, KeyError, ValueError) as exc:  # e.g. an Any of an unknown type
        raise RestError(INTERNAL, f"cannot render {message.DESCRIPTOR.full_name}: {exc}") from exc


# -- query parameters ----------------------------------------------------------------------

_INT_TYPES = {
    _descriptor.FieldDescriptor.CPPTYPE_INT32,
    _descriptor.FieldDescriptor.CPPTYPE_INT64,
    _descriptor.FieldDescriptor.CPPTYPE_UINT32,
    _descriptor.FieldDescriptor.CPPTYPE_UINT64,
}


def _scalar(field: _descriptor.FieldDescriptor, text: str) -> Any:
    cpp = field.cpp_type
    if cpp in _INT_TYPES:
        value = int(text)
        if (
            field.cpp_type
            in (
                _descriptor.FieldDescriptor.CPPTYPE_UINT32,
                _descriptor.FieldDescriptor.CPPTYPE_UINT64,
            )
            and value < 0
        ):
            raise ValueError("must not be negative")
        return value
    if cpp == _descriptor.FieldDescriptor.CPPTYPE_BOOL:
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0", ""):
            return False
        raise ValueError("expected true or false")
    if cpp == _descriptor.FieldDescriptor.CPPTYPE_ENUM:
        enum_value = field.enum_type.values_by_name.get(text)
        return enum_value.number if enum_value is not None else int(text)
    if cpp in (
        _descriptor.FieldDescriptor.CPPTYPE_DOUBLE,
        _descriptor.FieldDescriptor.CPPTYPE_FLOAT,
    ):
        return float(text)
    if field.type == _descriptor.FieldDescriptor.TYPE_BYTES:
        padded = text + "=" * (-len(text) % 4)
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    return text


def set_param(message: pb.Message, dotted: str, values: list[str]) -> None:
    """Set ``a.b.c`` = values on ``message`` the way gRPC-gateway populates query params.

    Unknown names are ignored (as gRPC-gateway does); bad values raise InvalidArgument.
    """
    target = message
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        fields = target.DESCRIPTOR.fields_by_name
        field = fields.get(part) or next(
            (f for f in target.DESCRIPTOR.fields if f.json_name == part), None
        )
        if field is None:
            return
        last = i == len(parts) - 1
        if field.cpp_type == _descriptor.FieldDescriptor.CPPTYPE_MESSAGE:
            if last or field.label == _descriptor.FieldDescriptor.LABEL_REPEATED:
                raise RestError(INVALID_ARGUMENT, f"query parameter {dotted!r} is not a scalar")
            target = getattr(target, field.name)
            continue
        if not last:
            return
        try:
            converted = [_scalar(field, v) for v in values]
        except (ValueError, binascii.Error) as exc:
            raise RestError(
                INVALID_ARGUMENT, f"invalid value for query parameter {dotted!r}: {exc}"
            ) from exc
        if field.label == _descriptor.FieldDescriptor.LABEL_REPEATED:
            getattr(target, field.name).extend(converted)
        else:
            setattr(target, field.name, converted[-1])


# -- the node client -------------------------------------------------------------------------


class NodeClient:
    """CometBFT JSON-RPC over HTTP (POST ``/``)."""

    def __init__(self, rpc_url: str, timeout_s: float = 30.0) -> None:
        self.rpc_url = rpc_url.rstrip("/") + "/"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._next_id = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}}
        try:
            async with self._session.post(self.rpc_url, json=body) as resp:
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RestError(UNAVAILABLE, f"node RPC unreachable: {exc}") from exc
        try:
            answer = json.loads(text)
        except ValueError as exc:
            raise RestError(UNAVAILABLE, f"node RPC answered non-JSON: {text[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise RestError(UNAVAILABLE, "node RPC answered a non-object")
        error = answer.get("error")
        if error:
            raise NodeRpcError(
                int(error.get("code", 0)), str(error.get("message", "")), str(error.get("data", ""))
            )
        return answer.get("result")

    async def abci_query(self, path: str, data: bytes, height: int = 0) -> tuple[bytes, int]:
        """Value and height of a successful query; a RestError for a failed one."""
        params: dict[str, Any] = {"path": path, "data": data.hex(), "prove": False}
        if height:
            params["height"] = str(height)
        try:
            result = await self.call("abci_query", params)
        except NodeRpcError as exc:
            raise RestError(INVALID_ARGUMENT if exc.code == -32602 else UNKNOWN, str(exc)) from exc
        response = result["response"]
        if int(response.get("code") or 0) != 0:
            raise abci_error(
                int(response["code"]), response.get("codespace") or "", response.get("log") or ""
            )
        value = base64.b64decode(response.get("value") or "")
        return value, int(response.get("height") or 0)


# -- CometBFT JSON → protobuf ------------------------------------------------------------


def _hex_b64(text: str | None) -> str:
    return base64.b64encode(bytes.fromhex(text or "")).decode()


def _block_id(j: dict[str, Any]) -> dict[str, Any]:
    parts = j.get("parts") or j.get("part_set_header") or {}
    return {
        "hash": _hex_b64(j.get("hash")),
        "part_set_header": {"total": parts.get("total", 0), "hash": _hex_b64(parts.get("hash"))},
    }


_HEADER_HEX = (
    "last_commit_hash",
    "data_hash",
    "validators_hash",
    "next_validators_hash",
    "consensus_hash",
    "app_hash",
    "last_results_hash",
    "evidence_hash",
    "proposer_address",
)


def block_dicts(result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """proto-JSON ``BlockID`` and ``tendermint.types.Block`` of a CometBFT ``block`` result,
    plus the proposer address in hex."""
    block = result["block"]
    header = dict(block["header"])
    proposer = header.get("proposer_address") or ""
    for key in _HEADER_HEX:
        header[key] = _hex_b64(header.get(key))
    header["last_block_id"] = _block_id(header.get("last_block_id") or {})
    commit = block.get("last_commit") or {}
    signatures = [
        {
            "block_id_flag": int(s.get("block_id_flag") or 0),
            "validator_address": _hex_b64(s.get("validator_address")),
            "timestamp": s.get("timestamp") or "0001-01-01T00:00:00Z",
            "signature": s.get("signature") or "",
        }
        for s in commit.get("signatures") or []
    ]
    proto_block = {
        "header": header,
        "data": {"txs": list((block.get("data") or {}).get("txs") or [])},
        "evidence": {"evidence": []},
        "last_commit": {
            "height": commit.get("height", "0"),
            "round": int(commit.get("round") or 0),
            "block_id": _block_id(commit.get("block_id") or {}),
            "signatures": signatures,
        },
    }
    return _block_id(result["block_id"]), proto_block, proposer


def block_response(result: dict[str, Any], response: Any) -> Any:
    """Fill a GetLatestBlock/GetBlockByHeight response from a CometBFT ``block`` result."""
    block_id, block, proposer = block_dicts(result)
    pb.json_format.ParseDict(block_id, response.block_id)
    pb.json_format.ParseDict(block, response.block)
    sdk_block = json.loads(json.dumps(block))
    sdk_block["header"]["proposer_address"] = (
        valcons_address(bytes.fromhex(proposer)) if proposer else ""
    )
    pb.json_format.ParseDict(sdk_block, response.sdk_block)
    return response


def decode_tx(raw: bytes) -> pb.tx.Tx | None:
    """``cosmos.tx.v1beta1.Tx`` of raw tx bytes, or None if they are not a TxRaw."""
    try:
        tx_raw = pb.tx.TxRaw.FromString(raw)
        return pb.tx.Tx(
            body=pb.tx.TxBody.FromString(tx_raw.body_bytes),
            auth_info=pb.tx.AuthInfo.FromString(tx_raw.auth_info_bytes),
            signatures=list(tx_raw.signatures),
        )
    except pb.DecodeError:
        return None


def _hex_of_b64(text: str | None) -> str:
    return base64.b64decode(text or "").hex().upper()


# -- the gateway ----------------------------------------------------------------------------


QUERY_ROUTES: tuple[RestRoute, ...] = tuple(r for d in MODULES for r in d.rest_routes)
"""The GET routes the modules of the app's list declare (``ModuleDefinition.rest_routes``),
each answered by one gRPC query through ``abci_query``."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    response: str
    request_body: str | None = None


class RestGateway:
    """The aiohttp application; ``start``/``stop`` run it on the current event loop."""

    def __init__(
        self,
        rpc_url: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        blob_store: BlobStore | None = None,
        cors_allowed_origins: tuple[str, ...] = (),
    ) -> None:
        """Gateway in front of ``rpc_url``; with ``blob_store`` also the content-store routes,
        which browsers of ``cors_allowed_origins`` only may upload to (``[storage]``)."""
        self.node = NodeClient(rpc_url)
        self.max_body_bytes = max_body_bytes
        self.routes: list[Route] = []
        for q in QUERY_ROUTES:
            self.routes.append(
                Route(
                    "GET",
                    q.path,
                    self._query_handler(q),
                    q.summary,
                    q.response.DESCRIPTOR.full_name,
                )
            )
        service = "cosmos.tx.v1beta1."
        tm = "cosmos.base.tendermint.v1beta1."
        self.routes += [
            Route(
                "POST",
                "/cosmos/tx/v1beta1/simulate",
                self._simulate,
                "Simulate executes a tx without committing it (body: `tx_bytes` or `tx`).",
                service + "SimulateResponse",
                service + "SimulateRequest",
            ),
            Route(
                "POST",
                "/cosmos/tx/v1beta1/txs",
                self._broadcast,
                "BroadcastTx broadcasts a tx (modes BROADCAST_MODE_SYNC, BROADCAST_MODE_ASYNC).",
                service + "BroadcastTxResponse",
                service + "BroadcastTxRequest",
            ),
            Route(
                "GET",
                "/cosmos/tx/v1beta1/txs/{hash}",
                self._get_tx,
                "GetTx fetches a tx by hash.",
                service + "GetTxResponse",
            ),
            Route(
                "GET",
                "/cosmos/consensus/v1/params",
                self._consensus_params,
                "Params queries the CometBFT consensus parameters.",
                "cosmos.consensus.v1.QueryParamsResponse",
            ),
            Route(
                "GET",
                "/cosmos/base/tendermint/v1beta1/blocks/latest",
                self._latest_block,
                "GetLatestBlock returns the latest block.",
                tm + "GetLatestBlockResponse",
            ),
            Route(
                "GET",
                "/cosmos/base/tendermint/v1beta1/blocks/{height}",
                self._block_by_height,
                "GetBlockByHeight queries the block at a height.",
                tm + "GetBlockByHeightResponse",
            ),
            Route(
                "GET",
                "/cosmos/base/tendermint/v1beta1/node_info",
                self._node_info,
                "GetNodeInfo queries the current node info.",
                tm + "GetNodeInfoResponse",
            ),
            Route(
                "GET",
                "/cosmos/base/tendermint/v1beta1/syncing",
                self._syncing,
                "GetSyncing queries whether the node is syncing.",
                tm + "GetSyncingResponse",
            ),
        ]
        self.app = web.Application(client_max_size=max_body_bytes, middlewares=[self._errors])
        for route in self.routes:
            self.app.router.add_route(route.method, route.path, route.handler)
        self.app.router.add_get("/openapi.json", self._openapi)
        if blob_store is not None:
            from aivm.node.blob_routes import BlobRoutes

            BlobRoutes(blob_store, cors_allowed_origins).add_to(self.app)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 1317) -> int:
        """Listen on ``host:port`` (0 = a free port); returns the bound port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.node.close()

    # -- plumbing ------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except RestError as err:
            return err.response()
        except web.HTTPRequestEntityTooLarge:
            return RestError(
                RESOURCE_EXHAUSTED,
                f"request body too large (limit {self.max_body_bytes} bytes)",
                http_status=413,
            ).response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {404: NOT_FOUND, 405: UNIMPLEMENTED, 400: INVALID_ARGUMENT}.get(
                exc.status, UNKNOWN
            )
            return RestError(code, exc.reason, http_status=exc.status).response()
        except NodeRpcError as exc:
            return RestError(UNKNOWN, str(exc)).response()
        except Exception as exc:
            log.exception("REST %s %s failed", request.method, request.path)
            return RestError(INTERNAL, f"internal error: {exc}").response()

    def _height(self, request: web.Request) -> int:
        text = request.headers.get(HEIGHT_HEADER)
        if text is None:
            return 0
        try:
            height = int(text)
        except ValueError as exc:
            raise RestError(INVALID_ARGUMENT, f"invalid {HEIGHT_HEADER}: {text!r}") from exc
        if height < 0:
            raise RestError(INVALID_ARGUMENT, f"{HEIGHT_HEADER} must not be negative")
        return height

    async def _body(self, request: web.Request, message: pb.Message) -> pb.Message:
        raw = await request.read()
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise RestError(INVALID_ARGUMENT, f"invalid JSON body: {exc}") from exc
        if not isinstance(data, dict):
            raise RestError(INVALID_ARGUMENT, "request body must be a JSON object")
        for key in ("tx_bytes", "txBytes"):  # json_format's base64 decoding skips bad characters
            value = data.get(key)
            if isinstance(value, str) and not _B64.fullmatch(value):
                raise RestError(INVALID_ARGUMENT, f"invalid request body: {key} is not base64")
        try:
            pb.json_format.ParseDict(data, message)
        except pb.json_format.ParseError as exc:
            raise RestError(INVALID_ARGUMENT, f"invalid request body: {exc}") from exc
        return message

    def _json(self, message: pb.Message, height: int = 0) -> web.Response:
        headers = {"Grpc-Metadata-X-Cosmos-Block-Height": str(height)} if height else None
        return web.json_response(to_json(message), headers=headers)

    # -- handlers --------------------------------------------------------------------------

    def _query_handler(self, route: RestRoute) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            message = route.request()
            for key in request.query:
                set_param(message, key, request.query.getall(key))
            for key, text in request.match_info.items():
                set_param(message, key, [text])
            value, height = await self.node.abci_query(
                route.query_path, message.SerializeToString(), self._height(request)
            )
            try:
                response = route.response.FromString(value)
            except pb.DecodeError as exc:
                raise RestError(INTERNAL, f"undecodable {route.query_path} answer: {exc}") from exc
            return self._json(response, height)

        return handle

    async def _simulate(self, request: web.Request) -> web.StreamResponse:
        message = await self._body(request, pb.tx_service.SimulateRequest())
        assert isinstance(message, pb.tx_service.SimulateRequest)
        if not message.tx_bytes and not message.HasField("tx"):
            raise RestError(INVALID_ARGUMENT, "empty txBytes is not allowed")
        value, height = await self.node.abci_query(
            SIMULATE_PATH, message.SerializeToString(), self._height(request)
        )
        return self._json(pb.tx_service.SimulateResponse.FromString(value), height)

    async def _broadcast(self, request: web.Request) -> web.StreamResponse:
        message = await self._body(request, pb.tx_service.BroadcastTxRequest())
        assert isinstance(message, pb.tx_service.BroadcastTxRequest)
        if not message.tx_bytes:
            raise RestError(INVALID_ARGUMENT, "invalid empty tx")
        modes = {
            pb.tx_service.BROADCAST_MODE_SYNC: "broadcast_tx_sync",
            pb.tx_service.BROADCAST_MODE_ASYNC: "broadcast_tx_async",
        }
        method = modes.get(message.mode)
        if method is None:
            name = pb.tx_service.BroadcastMode.Name(message.mode)
            raise RestError(
                INVALID_ARGUMENT,
                f"unsupported broadcast mode {name}; supported: "
                "BROADCAST_MODE_SYNC, BROADCAST_MODE_ASYNC",
            )
        try:
            result = await self.node.call(
                method, {"tx": base64.b64encode(message.tx_bytes).decode()}
            )
        except NodeRpcError as exc:
            raise RestError(UNKNOWN, str(exc)) from exc
        tx_response = pb.sdk_abci.TxResponse(
            txhash=str(result.get("hash", "")).upper(),
            code=int(result.get("code") or 0),
            codespace=result.get("codespace") or "",
            data=_hex_of_b64(result.get("data")),
            raw_log=result.get("log") or "",
        )
        return self._json(pb.tx_service.BroadcastTxResponse(tx_response=tx_response))

    async def _get_tx(self, request: web.Request) -> web.StreamResponse:
        tx_hash = request.match_info["hash"]
        if not _HASH.fullmatch(tx_hash):
            raise RestError(INVALID_ARGUMENT, f"invalid tx hash {tx_hash!r}: want 64 hex digits")
        try:
            result = await self.node.call(
                "tx", {"hash": base64.b64encode(bytes.fromhex(tx_hash)).decode()}
            )
        except NodeRpcError as exc:
            if "not found" in str(exc):
                raise RestError(NOT_FOUND, f"tx not found: {tx_hash.upper()}") from exc
            raise RestError(UNKNOWN, str(exc)) from exc
        raw = base64.b64decode(result["tx"])
        height = int(result["height"])
        exec_result = result.get("tx_result") or {}
        block = await self.node.call("block", {"height": str(height)})
        timestamp = ((block or {}).get("block") or {}).get("header", {}).get("time", "")
        tx = decode_tx(raw)
        response = pb.tx_service.GetTxResponse()
        r = response.tx_response
        r.height = height
        r.txhash = str(result.get("hash", tx_hash)).upper()
        r.code = int(exec_result.get("code") or 0)
        r.codespace = exec_result.get("codespace") or ""
        r.data = _hex_of_b64(exec_result.get("data"))
        r.raw_log = exec_result.get("log") or ""
        r.info = exec_result.get("info") or ""
        r.gas_wanted = int(exec_result.get("gas_wanted") or 0)
        r.gas_used = int(exec_result.get("gas_used") or 0)
        r.timestamp = timestamp
        for event in exec_result.get("events") or []:
            e = r.events.add(type=event.get("type", ""))
            for attr in event.get("attributes") or []:
                e.attributes.add(
                    key=attr.get("key") or "",
                    value=attr.get("value") or "",
                    index=bool(attr.get("index")),
                )
        if tx is not None:
            response.tx.CopyFrom(tx)
            r.tx.CopyFrom(pb.AnyProto(type_url=pb.type_url(tx), value=tx.SerializeToString()))
        return self._json(response)

    async def _consensus_params(self, request: web.Request) -> web.StreamResponse:
        response = consensus_query.QueryParamsResponse()
        try:
            result = await self.node.call("consensus_params", {})
        except NodeRpcError as exc:
            raise RestError(UNKNOWN, str(exc)) from exc
        params = dict(result["consensus_params"])
        evidence = dict(params.get("evidence") or {})
        if "max_age_duration" in evidence:
            ns = int(evidence["max_age_duration"])
            evidence["max_age_duration"] = f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}s"
            params["evidence"] = evidence
        params.pop("synchrony", None)
        params.pop("feature", None)
        try:
            pb.json_format.ParseDict(params, response.params, ignore_unknown_fields=True)
        except pb.json_format.ParseError as exc:
            raise RestError(INTERNAL, f"unexpected consensus_params shape: {exc}") from exc
        return self._json(response)

    async def _block(self, height: int | None) -> dict[str, Any]:
        params = {"height": str(height)} if height else {}
        try:
            result = await self.node.call("block", params)
        except NodeRpcError as exc:
            if "must be less than or equal to the current blockchain height" in exc.data:
                raise RestError(
                    INVALID_ARGUMENT, "requested block height is bigger then the chain length"
                ) from exc
            if "not found" in exc.data or "not available" in exc.data:
                raise RestError(NOT_FOUND, exc.data) from exc
            raise RestError(UNKNOWN, str(exc)) from exc
        if not result or not result.get("block"):
            raise RestError(NOT_FOUND, "block not found (no blocks yet)")
        return dict(result)

    async def _latest_block(self, request: web.Request) -> web.StreamResponse:
        result = await self._block(None)
        return self._json(block_response(result, tm_query.GetLatestBlockResponse()))

    async def _block_by_height(self, request: web.Request) -> web.StreamResponse:
        text = request.match_info["height"]
        try:
            height = int(text)
        except ValueError as exc:
            raise RestError(INVALID_ARGUMENT, f"invalid height {text!r}") from exc
        if height < 1:
            raise RestError(INVALID_ARGUMENT, "height must be greater than 0")
        result = await self._block(height)
        return self._json(block_response(result, tm_query.GetBlockByHeightResponse()))

    async def _node_info(self, request: web.Request) -> web.StreamResponse:
        status = await self.node.call("status")
        info = status["node_info"]
        response = tm_query.GetNodeInfoResponse()
        n = response.default_node_info
        version = info.get("protocol_version") or {}
        n.protocol_version.p2p = int(version.get("p2p") or 0)
        n.protocol_version.block = int(version.get("block") or 0)
        n.protocol_version.app = int(version.get("app") or 0)
        n.default_node_id = info.get("id", "")
        n.listen_addr = info.get("listen_addr", "")
        n.network = info.get("network", "")
        n.version = info.get("version", "")
        try:
            n.channels = bytes.fromhex(info.get("channels") or "")
        except ValueError:
            n.channels = b""
        n.moniker = info.get("moniker", "")
        other = info.get("other") or {}
        n.other.tx_index = other.get("tx_index", "")
        n.other.rpc_address = other.get("rpc_address", "")
        try:
            abci = (await self.node.call("abci_info"))["response"]
        except NodeRpcError:
            abci = {}
        app = response.application_version
        app.name = app.app_name = abci.get("data") or ""
        app.version = abci.get("version") or ""
        return self._json(response)

    async def _syncing(self, request: web.Request) -> web.StreamResponse:
        status = await self.node.call("status")
        syncing = bool(status["sync_info"].get("catching_up"))
        return self._json(tm_query.GetSyncingResponse(syncing=syncing))

    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.openapi())

    def openapi(self) -> dict[str, Any]:
        """An OpenAPI 3 document of the served routes (schemas named by proto message)."""
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {
            "Status": {
                "type": "object",
                "properties": {
                    "code": {"type": "integer", "description": "gRPC status code"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
        query_params = {q.path: q for q in QUERY_ROUTES}
        for route in self.routes:
            parameters: list[dict[str, Any]] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"\{(\w+)", route.path)
            ]
            q = query_params.get(route.path)
            if q is not None:
                in_path = {p["name"] for p in parameters}
                for field in q.request.DESCRIPTOR.fields:
                    if field.name in in_path:
                        continue
                    if field.cpp_type == _descriptor.FieldDescriptor.CPPTYPE_MESSAGE:
                        names = [f"{field.name}.{f.name}" for f in field.message_type.fields]
                    else:
                        names = [field.name]
                    parameters += [
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in names
                    ]
                parameters.append(
                    {
                        "name": HEIGHT_HEADER,
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "format": "int64"},
                    }
                )
            schemas.setdefault(route.response, {"type": "object", "description": "proto3 JSON"})
            op: dict[str, Any] = {
                "summary": route.summary,
                "operationId": route.method.lower()
                + re.sub(r"[^A-Za-z0-9]+", "_", route.path).rstrip("_"),
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "A successful response.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{route.response}"}
                            }
                        },
                    },
                    "default": {
                        "description": "An unexpected error response.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Status"}}
                        },
                    },
                },
            }
            if route.request_body is not None:
                schemas.setdefault(
                    route.request_body, {"type": "object", "description": "proto3 JSON"}
                )
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{route.request_body}"}
                        }
                    },
                }
            paths.setdefault(route.path, {})[route.method.lower()] = op
        return {
            "openapi": "3.0.3",
            "info": {
                "title": "AIVM REST gateway",
                "version": "1.0",
                "description": "Cosmos SDK gRPC-gateway routes, proto3 JSON (snake_case).",
            },
            "paths": paths,
            "components": {"schemas": schemas},
        }


async def serve(
    rpc_url: str,
    host: str = "127.0.0.1",
    port: int = 1317,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> RestGateway:
    """Start a gateway in front of ``rpc_url`` on the running loop; returns it (call ``stop``)."""
    gateway = RestGateway(rpc_url, max_body_bytes=max_body_bytes)
    await gateway.start(host, port)
    return gateway


__all__ = ["QUERY_ROUTES", "RestError", "RestGateway", "serve"]
