"""CometBFT 0.38-compatible JSON-RPC for the devnet: HTTP POST ``/``, GET ``/<method>?…``, and
a websocket at ``/websocket`` with ``subscribe``/``unsubscribe``. See ``README.md``.

Everything runs on one asyncio event loop, together with the block producer, so the app is
never called concurrently. The ``[rpc]`` limits of ``app.toml`` (``config.RpcConfig``) hold
here, with CometBFT's error shapes: request body size, JSON-RPC batch size, open websockets,
subscribing clients and subscriptions per client, query length and conditions.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from aivm.app.genesis import consensus_params_json
from aivm.devnet import rpc_json as J
from aivm.devnet.blockstore import BlockRecord
from aivm.devnet.devnet import Devnet
from aivm.devnet.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    Param,
    RpcError,
    batch_error,
    bind,
    json_response,
    parse_error,
    read_body,
    response,
    too_big_response,
    websocket_refusal,
)
from aivm.devnet.mempool import tx_hash
from aivm.devnet.query_budget import QueryBudget
from aivm.devnet.txindex import INT64_MAX, INT64_MIN, int64_value
from aivm.node.config import RpcConfig
from aivm.types import pb

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30


# -- queries (tx_search and subscriptions) -----------------------------------------------
#
# ``key op value`` conditions joined by ``AND`` (any case, with whitespace around it); keys of
# ``KEY_CHARS``; operators ``=``, ``<``, ``<=``, ``>``, ``>=``; values quoted (``'text'``, no
# escapes) or bare integers. The parser scans the text once, left to right, so its time is
# linear in the query's length (the regular expressions it replaces backtracked: 20,000
# characters took 5 s of the node's thread).

KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/")
NUMBER_CHARS = frozenset("-0123456789")
OPERATORS = ("<=", ">=", "=", "<", ">")  # two-character operators first
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Condition:
    """One ``key op value`` of a query; ``number`` is ``value`` as an int64 when it is one."""

    key: str
    op: str
    value: str
    number: int | None = None

    def matches(self, values: list[str]) -> bool:
        """Whether any of an event key's values satisfies the condition."""
        if self.op == "=":
            return self.value in values
        assert self.number is not None  # the parser requires a number for comparisons
        compare = _COMPARE[self.op]
        for text in values:
            value = int64_value(text)
            if value is not None and compare(value, self.number):
                return True
        return False


class _QueryScanner:
    """A cursor over a query's text; every method moves forward only."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def fail(self, what: str) -> RpcError:
        return RpcError(INVALID_PARAMS, f"invalid query: {what} at position {self.pos}")

    def skip_space(self) -> int:
        """Skip whitespace; returns how much was skipped."""
        start, text = self.pos, self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1
        return self.pos - start

    def take(self, chars: frozenset[str]) -> str:
        """The longest run of ``chars`` at the cursor (possibly empty)."""
        start, text = self.pos, self.text
        while self.pos < len(text) and text[self.pos] in chars:
            self.pos += 1
        return text[start : self.pos]

    def operator(self) -> str:
        for op in OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        raise self.fail("expected one of = < <= > >=")

    def value(self) -> tuple[str, int | None]:
        """A quoted string or a bare integer, and its int64 value if it has one."""
        if self.text.startswith("'", self.pos):
            end = self.text.find("'", self.pos + 1)
            if end < 0:
                raise self.fail("unterminated string")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value, int64_value(value)
        start = self.pos
        value = self.take(NUMBER_CHARS)
        number = int64_value(value)
        if number is None:
            self.pos = start
            raise self.fail("expected a 'quoted string' or an int64 number")
        return value, number

    def conjunction(self) -> None:
        """``AND`` with whitespace on both sides (the space before is already skipped)."""
        if self.text[self.pos : self.pos + 3].upper() != "AND":
            raise self.fail("expected AND")
        self.pos += 3
        if not self.skip_space():
            raise self.fail("expected whitespace after AND")


def parse_query(text: str, max_length: int = 512, max_conditions: int = 8) -> list[Condition]:
    """``key = 'value' AND key2 >= 5``: only AND, =, <, <=, >, >=; at most ``max_length``
    bytes (UTF-8) and ``max_conditions`` conditions. Time linear in ``len(text)``."""
    if len(text) > max_length or len(text.encode()) > max_length:
        raise RpcError(
            INVALID_PARAMS, f"maximum query length exceeded (the limit is {max_length} bytes)"
        )
    scanner = _QueryScanner(text)
    scanner.skip_space()
    if scanner.at_end():
        raise RpcError(INVALID_PARAMS, "empty query")
    conditions: list[Condition] = []
    while True:
        if len(conditions) == max_conditions:
            raise RpcError(
                INVALID_PARAMS, f"too many query conditions (the limit is {max_conditions})"
            )
        conditions.append(_condition(scanner))
        spaced = scanner.skip_space()
        if scanner.at_end():
            return conditions
        if not spaced:
            raise scanner.fail("expected whitespace and AND")
        scanner.conjunction()


def _condition(scanner: _QueryScanner) -> Condition:
    key = scanner.take(KEY_CHARS)
    if not key:
        raise scanner.fail("expected a key (letters, digits and _ . - /)")
    scanner.skip_space()
    op = scanner.operator()
    scanner.skip_space()
    value, number = scanner.value()
    if op != "=" and number is None:
        raise scanner.fail(f"operator {op} needs an int64 value")
    return Condition(key, op, value, number)


def query_matches(conditions: list[Condition], events: dict[str, list[str]]) -> bool:
    """Whether an event map (``type.attribute`` → values) satisfies every condition."""
    return all(c.matches(events.get(c.key, [])) for c in conditions)


# -- the server --------------------------------------------------------------------------

Handler = Callable[..., Awaitable[Any]]


@dataclass(eq=False)
class Subscription:
    query: str
    conditions: list[Condition]
    id_: Any
    queue: asyncio.Queue[dict[str, Any]]


class RpcServer:
    """JSON-RPC over HTTP and websocket for one Devnet, within the ``[rpc]`` limits of
    ``config`` (default: the devnet's ``app.toml``)."""

    def __init__(
        self,
        devnet: Devnet,
        config: RpcConfig | None = None,
        commit_timeout_s: float = 10.0,
        query_budget: QueryBudget | None = None,
    ) -> None:
        self.devnet = devnet
        self.query_budget = query_budget
        self.config = config if config is not None else devnet.config.rpc
        self.max_body_bytes = self.config.max_body_bytes
        self.commit_timeout_s = commit_timeout_s
        self._runner: web.AppRunner | None = None
        self._waiters: dict[bytes, list[asyncio.Future[tuple[BlockRecord, int]]]] = {}
        self._subscriptions: set[Subscription] = set()
        self._sockets: set[web.WebSocketResponse] = set()
        self._ws_state: dict[int, dict[str, Subscription]] = {}
        self._websockets_open = 0
        s, i, b, bl, h, hx = "str", "int", "b64", "bool", "hash", "hex"
        self.methods: dict[str, tuple[Handler, list[Param]]] = {
            "health": (self.health, []),
            "status": (self.status, []),
            "abci_info": (self.abci_info, []),
            "abci_query": (
                self.abci_query,
                [Param("path", s), Param("data", hx), Param("height", i), Param("prove", bl)],
            ),
            "broadcast_tx_sync": (self.broadcast_tx_sync, [Param("tx", b, True)]),
            "broadcast_tx_async": (self.broadcast_tx_async, [Param("tx", b, True)]),
            "broadcast_tx_commit": (self.broadcast_tx_commit, [Param("tx", b, True)]),
            "check_tx": (self.check_tx, [Param("tx", b, True)]),
            "tx": (self.tx, [Param("hash", h, True), Param("prove", bl)]),
            "tx_search": (
                self.tx_search,
                [
                    Param("query", s, True),
                    Param("prove", bl),
                    Param("page", i),
                    Param("per_page", i),
                    Param("order_by", s),
                ],
            ),
            "block": (self.block, [Param("height", i)]),
            "block_by_hash": (self.block_by_hash, [Param("hash", h, True)]),
            "header": (self.header, [Param("height", i)]),
            "header_by_hash": (self.header_by_hash, [Param("hash", h, True)]),
            "consensus_params": (self.consensus_params, [Param("height", i)]),
            "net_info": (self.net_info, []),
            "block_results": (self.block_results, [Param("height", i)]),
            "blockchain": (self.blockchain, [Param("minHeight", i), Param("maxHeight", i)]),
            "commit": (self.commit, [Param("height", i)]),
            "validators": (
                self.validators,
                [Param("height", i), Param("page", i), Param("per_page", i)],
            ),
            "genesis": (self.genesis, []),
            "num_unconfirmed_txs": (self.num_unconfirmed_txs, []),
            "unconfirmed_txs": (self.unconfirmed_txs, [Param("limit", i)]),
        }
        devnet.listeners.append(self._on_block)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 26657) -> int:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post("/", self._http_post)
        app.router.add_get("/websocket", self._websocket)
        app.router.add_get("/", self._index)
        app.router.add_get("/{method}", self._http_get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._on_block in self.devnet.listeners:
            self.devnet.listeners.remove(self._on_block)

    # -- transport ----------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        names = "\n".join(sorted(self.methods))
        return web.Response(text=f"Available endpoints:\n{names}\n")

    async def _http_post(self, request: web.Request) -> web.Response:
        body, too_big = await read_body(request, self.max_body_bytes)
        if too_big:
            return too_big_response(self.max_body_bytes)
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return json_response(response(None, error=parse_error(exc)), status=500)
        if isinstance(message, list):
            error = batch_error(message, self.config.max_request_batch_size)
            if error is not None:
                return json_response(response(None, error=error))
            return json_response([await self._dispatch(m) for m in message])
        return json_response(await self._dispatch(message))

    async def _http_get(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        entry = self.methods.get(method)
        if entry is None:
            return json_response(
                response(None, error=RpcError(METHOD_NOT_FOUND, f"method {method!r} not found"))
            )
        try:
            kwargs = bind(entry[1], dict(request.query), uri=True)
            result = await entry[0](**kwargs)
            return json_response(response(-1, result))
        except RpcError as error:
            return json_response(response(-1, error=error))
        except Exception as exc:
            log.exception("rpc %s failed", method)
            return json_response(response(-1, error=RpcError(INTERNAL_ERROR, str(exc))))

    async def _dispatch(
        self, message: Any, ws: web.WebSocketResponse | None = None
    ) -> dict[str, Any]:
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return response(
                message.get("id") if isinstance(message, dict) else None,
                error=RpcError(INVALID_REQUEST, "expected a JSON-RPC 2.0 request object"),
            )
        id_ = message.get("id")
        method = message["method"]
        try:
            if ws is not None and method in ("subscribe", "unsubscribe", "unsubscribe_all"):
                return response(id_, await self._ws_method(ws, method, id_, message.get("params")))
            entry = self.methods.get(method)
            if entry is None:
                raise RpcError(METHOD_NOT_FOUND, f"method {method!r} not found")
            kwargs = bind(entry[1], message.get("params"))
            return response(id_, await entry[0](**kwargs))
        except RpcError as error:
            return response(id_, error=error)
        except Exception as exc:
            log.exception("rpc %s failed", method)
            return response(id_, error=RpcError(INTERNAL_ERROR, str(exc)))

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        limit = self.config.max_websocket_connections
        if self._websockets_open >= limit:
            return websocket_refusal(limit)
        self._websockets_open += 1  # counted from before the handshake: no race past the limit
        try:
            return await self._serve_websocket(request)
        finally:
            self._websockets_open -= 1

    async def _serve_websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_body_bytes, heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        ws_subs: dict[str, Subscription] = {}
        self._ws_state[id(ws)] = ws_subs
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.ERROR:
                        break
                    continue
                try:
                    message = json.loads(msg.data)
                except ValueError as exc:
                    await ws.send_json(response(None, error=parse_error(exc)))
                    continue
                await ws.send_json(await self._dispatch(message, ws))
        finally:
            for sub in ws_subs.values():
                self._end(sub)
            self._ws_state.pop(id(ws), None)
            self._sockets.discard(ws)
        return ws

    async def _ws_method(
        self, ws: web.WebSocketResponse, method: str, id_: Any, params: Any
    ) -> dict[str, Any]:
        subs = self._ws_state.setdefault(id(ws), {})
        if method == "unsubscribe_all":
            for sub in subs.values():
                self._end(sub)
            subs.clear()
            return {}
        query = bind([Param("query", "str", True)], params)["query"]
        if method == "unsubscribe":
            if query not in subs:
                raise RpcError(INTERNAL_ERROR, "subscription not found")
            self._end(subs.pop(query))
            return {}
        if query in subs:
            raise RpcError(INTERNAL_ERROR, "already subscribed")
        self._check_subscription_room(subs)
        sub = Subscription(query, self._parse_query(query), id_, asyncio.Queue(maxsize=1000))
        subs[query] = sub
        self._subscriptions.add(sub)
        asyncio.get_running_loop().create_task(self._pump(ws, sub))
        return {}

    def _end(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` and end its pump (dropping queued events if it is full)."""
        self._subscriptions.discard(sub)
        while True:
            try:
                sub.queue.put_nowait({})
                return
            except asyncio.QueueFull:
                sub.queue.get_nowait()

    def _check_subscription_room(self, subs: dict[str, Subscription]) -> None:
        """CometBFT's subscription limits, with its error texts."""
        per_client = self.config.max_subscriptions_per_client
        if len(subs) >= per_client:
            raise RpcError(INTERNAL_ERROR, f"max_subscriptions_per_client {per_client} reached")
        clients = self.config.max_subscription_clients
        if not subs and sum(1 for s in self._ws_state.values() if s) >= clients:
            raise RpcError(INTERNAL_ERROR, f"max_subscription_clients {clients} reached")

    def _parse_query(self, query: str) -> list[Condition]:
        return parse_query(query, self.config.max_query_length, self.config.max_query_conditions)

    async def _pump(self, ws: web.WebSocketResponse, sub: Subscription) -> None:
        while True:
            item = await sub.queue.get()
            if not item or ws.closed:
                return
            try:
                await ws.send_json(response(sub.id_, item))
            except (ConnectionError, RuntimeError):
                return

    # -- events -------------------------------------------------------------------------

    def _on_block(self, record: BlockRecord) -> None:
        height = record.header.height
        if self.query_budget is not None:
            self.query_budget.new_block()
        for index, raw in enumerate(record.txs):
            for future in self._waiters.pop(tx_hash(raw), []):
                if not future.done():
                    future.set_result((record, index))
        if not self._subscriptions:
            return
        previous = self.devnet.record(height - 1) if height > 1 else None
        address = self.devnet.key.address
        block_events = J.event_map(
            record.results.events, {"tm.event": ["NewBlock"], "block.height": [str(height)]}
        )
        block_data = {
            "type": "tendermint/event/NewBlock",
            "value": {
                "block": J.block_json(record, previous, address),
                "block_id": J.block_id_json(record.hash),
                "result_finalize_block": J.finalize_block_json(record.results),
            },
        }
        tx_items = []
        for index, raw in enumerate(record.txs):
            result = record.results.tx_results[index]
            events = J.event_map(
                result.events,
                {
                    "tm.event": ["Tx"],
                    "tx.hash": [J.hexu(tx_hash(raw))],
                    "tx.height": [str(height)],
                },
            )
            data = {
                "type": "tendermint/event/Tx",
                "value": {
                    "TxResult": {
                        "height": str(height),
                        "index": index,
                        "tx": J.b64(raw),
                        "result": J.exec_result_json(result),
                    }
                },
            }
            tx_items.append((events, data))
        for sub in list(self._subscriptions):
            items = [(block_events, block_data), *tx_items]
            for events, data in items:
                if query_matches(sub.conditions, events):
                    try:
                        sub.queue.put_nowait({"query": sub.query, "data": data, "events": events})
                    except asyncio.QueueFull:
                        log.warning("subscriber too slow; dropping event for %s", sub.query)

    # -- helpers ------------------------------------------------------------------------

    def _record(self, height: int | None) -> BlockRecord:
        latest = self.devnet.height
        if height is None or height == 0:
            height = latest
        if height < 1:
            raise RpcError(INVALID_PARAMS, f"height must be greater than 0, but got {height}")
        if height > latest:
            raise RpcError(
                INTERNAL_ERROR,
                f"height {height} must be less than or equal to the current blockchain height "
                f"{latest}",
            )
        record = self.devnet.record(height)
        if record is None:
            raise RpcError(INTERNAL_ERROR, f"block at height {height} not found")
        return record

    def _validator_json(self) -> dict[str, Any]:
        key = self.devnet.key
        return {
            "address": J.hexu(key.address),
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": J.b64(key.pub_key)},
            "voting_power": str(sum(v.power for v in self.devnet.validator_updates()) or 10),
        }

    # -- methods ------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        return {}

    async def status(self) -> dict[str, Any]:
        d = self.devnet
        latest = d.latest()
        base = d.blocks.base
        earliest = d.record(base) if base else None
        genesis_ns = _genesis_ns(d)

        def facts(r: BlockRecord | None) -> tuple[str, str, str, str]:
            if r is None:
                return "", "", "0", J.time_json(genesis_ns)
            return (
                J.hexu(r.hash),
                J.hexu(r.results.app_hash),
                str(r.header.height),
                J.time_json(r.header.time_ns),
            )

        lb, la, lh, lt = facts(latest)
        eb, ea, eh, et = facts(earliest)
        return {
            "node_info": {
                "protocol_version": {"p2p": J.P2P_PROTOCOL, "block": J.BLOCK_PROTOCOL, "app": "1"},
                "id": hashlib.sha256(d.key.pub_key).digest()[:20].hex(),
                "listen_addr": "tcp://127.0.0.1:26656",
                "network": d.chain_id,
                "version": J.COMETBFT_VERSION,
                "channels": "40202122233038606100",
                "moniker": "aivm-devnet",
                "other": {"tx_index": "on", "rpc_address": "tcp://127.0.0.1:26657"},
            },
            "sync_info": {
                "latest_block_hash": lb,
                "latest_app_hash": la,
                "latest_block_height": lh,
                "latest_block_time": lt,
                "earliest_block_hash": eb,
                "earliest_app_hash": ea,
                "earliest_block_height": eh,
                "earliest_block_time": et,
                "catching_up": False,
            },
            "validator_info": self._validator_json(),
        }

    async def abci_info(self) -> dict[str, Any]:
        info = self.devnet.app.info(pb.abci.RequestInfo())
        return {
            "response": {
                "data": info.data,
                "version": info.version,
                "app_version": str(info.app_version),
                "last_block_height": str(info.last_block_height),
                "last_block_app_hash": J.b64(info.last_block_app_hash),
            }
        }

    async def _query(self, request: pb.abci.RequestQuery) -> pb.abci.ResponseQuery:
        """Run an ABCI query within the share of the block interval queries may take."""
        budget = self.query_budget
        if budget is None:
            return self.devnet.app.query(request)
        await budget.admit()
        return budget.run(lambda: self.devnet.app.query(request))

    async def abci_query(
        self, path: str | None, data: bytes | None, height: int | None, prove: bool | None
    ) -> dict[str, Any]:
        if height is not None and height < 0:
            raise RpcError(INVALID_PARAMS, "height must be non-negative")
        request = pb.abci.RequestQuery(
            path=path or "", data=data or b"", height=height or 0, prove=bool(prove)
        )
        r = await self._query(request)
        proof_ops = (
            {
                "ops": [
                    {"type": op.type, "key": J.b64(op.key), "data": J.b64(op.data)}
                    for op in r.proof_ops.ops
                ]
            }
            if r.proof_ops.ops
            else None
        )
        return {
            "response": {
                "code": r.code,
                "log": r.log,
                "info": r.info,
                "index": str(r.index),
                "key": J.b64(r.key) if r.key else None,
                "value": J.b64(r.value) if r.value else None,
                "proofOps": proof_ops,
                "height": str(r.height),
                "codespace": r.codespace,
            }
        }

    def _check(self, tx: bytes, with_events: bool = True) -> pb.abci.ResponseCheckTx:
        if not tx:
            raise RpcError(INVALID_PARAMS, "tx is empty")
        return self.devnet.check_tx(tx, with_events)

    def check_broadcast(self, tx: bytes) -> pb.abci.ResponseCheckTx:
        """CheckTx of a broadcast tx (also for the front end), without the unshown events."""
        return self._check(tx, with_events=False)

    async def broadcast_tx_sync(self, tx: bytes) -> dict[str, Any]:
        return J.broadcast_json(self.check_broadcast(tx), tx_hash(tx))

    async def broadcast_tx_async(self, tx: bytes) -> dict[str, Any]:
        return await self.broadcast_tx_sync(tx)

    async def check_tx(self, tx: bytes) -> dict[str, Any]:
        if not tx:
            raise RpcError(INVALID_PARAMS, "tx is empty")
        r = self.devnet.app.check_tx(pb.abci.RequestCheckTx(tx=tx, type=pb.abci.NEW))
        return J.check_tx_json(r)

    async def broadcast_tx_commit(self, tx: bytes) -> dict[str, Any]:
        h = tx_hash(tx)
        future: asyncio.Future[tuple[BlockRecord, int]] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(h, []).append(future)
        r = self._check(tx)
        if r.code != 0:
            self._waiters.pop(h, None)
            return {
                "check_tx": J.check_tx_json(r),
                "tx_result": J.exec_result_json(pb.abci.ExecTxResult()),
                "hash": J.hexu(h),
                "height": "0",
            }
        try:
            record, index = await asyncio.wait_for(future, self.commit_timeout_s)
        except TimeoutError as exc:
            raise RpcError(
                INTERNAL_ERROR, "timed out waiting for tx to be included in a block"
            ) from exc
        return {
            "check_tx": J.check_tx_json(r),
            "tx_result": J.exec_result_json(record.results.tx_results[index]),
            "hash": J.hexu(h),
            "height": str(record.header.height),
        }

    async def _index_caught_up(self) -> None:
        """Wait (up to ``commit_timeout_s``) until every committed block is in the tx index."""
        await self.devnet.index.caught_up(self.devnet.height, self.commit_timeout_s)

    async def tx(self, hash: bytes, prove: bool | None) -> dict[str, Any]:
        await self._index_caught_up()
        found = self.devnet.index.find_tx(hash)
        record = self.devnet.record(found[0]) if found else None
        if found is None or record is None:
            raise RpcError(INTERNAL_ERROR, f"tx ({J.hexu(hash)}) not found")
        return J.tx_json(record, found[1])

    async def tx_search(
        self,
        query: str,
        prove: bool | None,
        page: int | None,
        per_page: int | None,
        order_by: str | None,
    ) -> dict[str, Any]:
        conditions = self._parse_query(query)
        equals: list[tuple[str, str]] = []
        lo: int | None = None
        hi: int | None = None
        for c in conditions:
            if c.key == "tx.height" and c.op != "=":
                assert c.number is not None  # the parser requires one for comparisons
                v = c.number
                if c.op in (">", ">="):
                    bound = min(v + (c.op == ">"), INT64_MAX)
                    lo = bound if lo is None else max(lo, bound)
                else:
                    bound = max(v - (c.op == "<"), INT64_MIN)
                    hi = bound if hi is None else min(hi, bound)
            elif c.op != "=":
                raise RpcError(INVALID_PARAMS, f"operator {c.op} only supported on tx.height")
            else:
                key, value = c.key, c.value
                if key == "tx.hash":
                    value = value.upper()
                equals.append((key, value))
        order = (order_by or "asc").lower()
        if order not in ("asc", "desc", ""):
            raise RpcError(INVALID_PARAMS, "order_by must be 'asc' or 'desc'")
        await self._index_caught_up()
        tx_index = self.devnet.index
        total = tx_index.count(equals, (lo, hi))
        per_page = _per_page(per_page)
        page = _page(page, per_page, total)
        offset = (page - 1) * per_page
        chosen = tx_index.search(
            equals, (lo, hi), descending=order == "desc", limit=per_page, offset=offset
        )
        txs = []
        cache: dict[int, BlockRecord] = {}
        for height, index in chosen:
            if height not in cache:
                record = self.devnet.record(height)
                assert record is not None
                cache[height] = record
            txs.append(J.tx_json(cache[height], index))
        return {"txs": txs, "total_count": str(total)}

    async def block(self, height: int | None) -> dict[str, Any]:
        if self.devnet.height == 0:
            return {"block_id": J.block_id_json(b""), "block": None}
        record = self._record(height)
        previous = self.devnet.record(record.header.height - 1)
        return {
            "block_id": J.block_id_json(record.hash),
            "block": J.block_json(record, previous, self.devnet.key.address),
        }

    async def block_by_hash(self, hash: bytes) -> dict[str, Any]:
        height = self.devnet.blocks.height_of_hash(hash)
        if height is None:
            return {"block_id": J.block_id_json(b""), "block": None}
        return await self.block(height)

    async def header(self, height: int | None) -> dict[str, Any]:
        return {"header": J.header_json(self._record(height).header)}

    async def header_by_hash(self, hash: bytes) -> dict[str, Any]:
        height = self.devnet.blocks.height_of_hash(hash)
        if height is None:
            return {"header": None}  # as CometBFT: an unknown hash is no error
        return await self.header(height)

    async def consensus_params(self, height: int | None) -> dict[str, Any]:
        """The consensus params (the devnet's are fixed at genesis: the same at every height)."""
        record = self._record(height)
        params = self.devnet.app.consensus_params()
        return {
            "block_height": str(record.header.height),
            "consensus_params": consensus_params_json(params),
        }

    async def net_info(self) -> dict[str, Any]:
        return {"listening": False, "listeners": [], "n_peers": "0", "peers": []}

    async def block_results(self, height: int | None) -> dict[str, Any]:
        return J.block_results_json(self._record(height))

    async def commit(self, height: int | None) -> dict[str, Any]:
        record = self._record(height)
        return {
            "signed_header": {
                "header": J.header_json(record.header),
                "commit": J.commit_json(record, self.devnet.key.address),
            },
            "canonical": True,
        }

    async def blockchain(self, minHeight: int | None, maxHeight: int | None) -> dict[str, Any]:
        latest = self.devnet.height
        hi = min(maxHeight or latest, latest)
        lo = max(minHeight or 1, 1)
        if lo > hi and latest > 0:
            raise RpcError(INVALID_PARAMS, f"min height {lo} can't be greater than max height {hi}")
        lo = max(lo, hi - 19)
        metas = []
        for height in range(hi, lo - 1, -1):
            record = self.devnet.record(height)
            if record is not None:
                metas.append(J.block_meta_json(record))
        return {"last_height": str(latest), "block_metas": metas}

    async def validators(
        self, height: int | None, page: int | None, per_page: int | None
    ) -> dict[str, Any]:
        block_height = self._record(height).header.height if self.devnet.height else 0
        validator = {**self._validator_json(), "proposer_priority": "0"}
        return {
            "block_height": str(block_height),
            "validators": [validator],
            "count": "1",
            "total": "1",
        }

    async def genesis(self) -> dict[str, Any]:
        return {"genesis": self.devnet.genesis.to_json()}

    async def num_unconfirmed_txs(self) -> dict[str, Any]:
        m = self.devnet.mempool
        return {
            "n_txs": str(len(m)),
            "total": str(len(m)),
            "total_bytes": str(m.size_bytes),
            "txs": None,
        }

    async def unconfirmed_txs(self, limit: int | None) -> dict[str, Any]:
        m = self.devnet.mempool
        txs = m.txs()[: _per_page(limit)]
        return {
            "n_txs": str(len(txs)),
            "total": str(len(m)),
            "total_bytes": str(m.size_bytes),
            "txs": [J.b64(t) for t in txs],
        }


def _per_page(per_page: int | None) -> int:
    if per_page is None or per_page <= 0:
        return DEFAULT_PER_PAGE
    return min(per_page, MAX_PER_PAGE)


def _page(page: int | None, per_page: int, total: int) -> int:
    pages = max(1, (total + per_page - 1) // per_page)
    page = 1 if page is None else page
    if page < 1 or page > pages:
        raise RpcError(INVALID_PARAMS, f"page should be within [1, {pages}] range, given {page}")
    return page


def _genesis_ns(devnet: Devnet) -> int:
    from aivm.app.genesis import parse_time

    seconds, nanos = parse_time(devnet.genesis.genesis_time)
    return seconds * 1_000_000_000 + nanos


__all__ = ["RpcError", "RpcServer"]
