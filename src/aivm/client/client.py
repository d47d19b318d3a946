"""RPC clients for an AIVM node: :class:`AsyncClient` (aiohttp) and :class:`Client` (blocking).

Both speak the CometBFT 0.38 JSON-RPC (port 26657) that ``aivm devnet`` and a CometBFT node
serve. Queries go through ``abci_query`` with the Cosmos gRPC paths and protobuf bytes, so
the same code works against any Cosmos-compatible node.

Example (blocking)::

    from aivm.client import Client, Wallet

    with Client("http://127.0.0.1:26657") as client:
        wallet = Wallet.from_mnemonic(mnemonic)
        print(client.balance(wallet.address))              # 1000000000000
        sent = client.send(wallet, "aivm1...", "1000ucgpt")  # auto gas, fee at 0.025ucgpt
        result = client.wait_for_tx(sent.hash)
        assert result.ok

Example (asyncio)::

    async with AsyncClient() as client:
        status = await client.status()
        print(status.chain_id, status.latest_block_height)

:class:`Client` runs the very same :class:`AsyncClient` code on a private event-loop thread,
so it also works where an event loop is already running (Jupyter).

A module's own calls (``aivm/modules/<name>/client.py``) hang off :attr:`Client.modules`::

    with Client() as client:
        client.modules.ai.infer(wallet, model_id, [1, 2, 3])   # an AiClient, built once
"""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib
import importlib.util
import json
import math
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from fractions import Fraction
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiohttp

from aivm.client.errors import ChainError, NodeUnreachableError, RpcError, TxTimeoutError
from aivm.client.results import Account, Block, BroadcastResult, Status, TxResult
from aivm.client.storage import StorageClient
from aivm.client.tx import bank_send
from aivm.client.wallet import Wallet
from aivm.types import pb
from aivm.types.address import acc_address_bytes
from aivm.types.coin import Coin, Coins, parse_coins

__all__ = [
    "DEFAULT_GAS_ADJUSTMENT",
    "DEFAULT_GAS_PRICE",
    "DEFAULT_REST",
    "DEFAULT_RPC",
    "AsyncClient",
    "Client",
    "parse_gas_price",
]

DEFAULT_RPC = "http://127.0.0.1:26657"
DEFAULT_REST = "http://127.0.0.1:1317"
DEFAULT_GAS_PRICE = "0.025ucgpt"
DEFAULT_GAS_ADJUSTMENT = 1.5
AUTO_GAS_PRICE = "auto"
"""``gas_price="auto"``: pay the chain's current base gas price (fee market) with a margin."""
AUTO_GAS_PRICE_MARGIN = Fraction(6, 5)
"""Auto prices are the base price × 1.2: the tx still pays enough after a block at the fee
market's largest step (+12.5%)."""
FEEMARKET_GAS_PRICE_QUERY = "/aivm.feemarket.v1.Query/GasPrice"
DEFAULT_DENOM = "ucgpt"

CoinsLike = int | str | Coin | Sequence[Coin]
T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


def parse_gas_price(text: str) -> tuple[Fraction, str]:
    """``"0.025ucgpt"`` → ``(Fraction(1, 40), "ucgpt")``; exact, no floats."""
    text = text.strip()
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    amount, denom = text[:i], text[i:].strip()
    if not amount or not denom or amount.count(".") > 1:
        raise ValueError(f"invalid gas price {text!r}; expected e.g. 0.025ucgpt")
    return Fraction(amount), denom


def decode_gas_price(raw: bytes) -> tuple[Fraction, str] | None:
    """The price of an ``aivm.feemarket.v1.QueryGasPriceResponse`` (field 1, a ``DecCoin``
    whose amount is decimal text), or None when ``raw`` holds none. Decoded here by hand: the
    client does not import module types."""
    if len(raw) < 2 or raw[0] != 0x0A:  # field 1, length-delimited
        return None
    length, shift, pos = 0, 0, 1
    while pos < len(raw) and shift < 35:
        byte = raw[pos]
        length |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            break
    try:
        coin = pb.coin.DecCoin.FromString(raw[pos : pos + length])
        amount, denom = parse_gas_price(coin.amount + coin.denom)
    except (pb.DecodeError, ValueError):
        return None
    return amount, denom


def to_coins(value: CoinsLike, denom: str = DEFAULT_DENOM) -> list[Coin]:
    """An amount in any accepted form (``1000``, ``"1000ucgpt"``, Coin, [Coin]) as a coin list."""
    if isinstance(value, bool):
        raise TypeError("amount must be an int, a coin string, a Coin or a list of Coins")
    if isinstance(value, int):
        return [Coin(denom, value)]
    if isinstance(value, str):
        return list(parse_coins(value))
    if isinstance(value, Coin):
        return [value]
    return list(Coins(value))


def _check_address(address: str) -> bytes:
    return acc_address_bytes(address)


class AsyncClient:
    """Asynchronous client of a node's CometBFT JSON-RPC.

    ``rest`` is the node's REST gateway, used for its content store (``Client.storage``).
    ``chain_id`` is read from ``status`` on first use unless given. Use as an async context
    manager, or call :meth:`close` when done.
    """

    def __init__(
        self,
        rpc: str = DEFAULT_RPC,
        rest: str | None = None,
        *,
        chain_id: str | None = None,
        gas_price: str = DEFAULT_GAS_PRICE,
        timeout: float = 30.0,
    ) -> None:
        self.rpc = rpc.rstrip("/")
        self.rest = rest
        self._chain_id = chain_id
        self.auto_gas_price = gas_price.strip() == AUTO_GAS_PRICE
        """Price fees from the chain's fee market (``gas_price="auto"``), else ``gas_price``."""
        self.gas_price, self.fee_denom = parse_gas_price(
            DEFAULT_GAS_PRICE if self.auto_gas_price else gas_price
        )
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._next_id = 0

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- transport ---------------------------------------------------------------------------

    async def call(self, /, method: str, **params: Any) -> Any:
        """One JSON-RPC call; returns ``result`` or raises :class:`RpcError`.

        Example: ``await client.call("abci_info")``.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        try:
            async with self._session.post(self.rpc + "/", json=body) as resp:
                text = await resp.text()
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise NodeUnreachableError(f"cannot reach node at {self.rpc}: {exc}") from exc
        except TimeoutError as exc:
            raise NodeUnreachableError(f"node at {self.rpc} did not answer in time") from exc
        try:
            answer = json.loads(text)
        except ValueError as exc:
            raise RpcError(
                -32700, f"node answered non-JSON (HTTP {resp.status})", text[:200]
            ) from exc
        if not isinstance(answer, dict):
            raise RpcError(-32700, "node answered an unexpected JSON value", text[:200])
        if answer.get("error"):
            err = answer["error"]
            raise RpcError(
                int(err.get("code", 0)), str(err.get("message", "")), str(err.get("data", ""))
            )
        return answer.get("result")

    async def abci_query(self, path: str, data: bytes = b"", height: int = 0) -> bytes:
        """Raw ``abci_query``; returns the response value or raises :class:`ChainError`."""
        params: dict[str, Any] = {"path": path, "data": data.hex()}
        if height:
            params["height"] = str(height)
        response = (await self.call("abci_query", **params))["response"]
        code = int(response.get("code", 0))
        if code != 0:
            raise ChainError(str(response.get("codespace", "")), code, str(response.get("log", "")))
        return base64.b64decode(response.get("value") or "")

    async def query(self, path: str, request: pb.Message, response_type: type[pb.M]) -> pb.M:
        """A gRPC-style query: ``request`` protobuf in, decoded ``response_type`` out.

        Example::

            res = await client.query("/cosmos.bank.v1beta1.Query/Params",
                                     pb.bank_query.QueryParamsRequest(),
                                     pb.bank_query.QueryParamsResponse)
        """
        value = await self.abci_query(path, request.SerializeToString())
        decoded: pb.M = response_type.FromString(value)
        return decoded

    # -- chain -------------------------------------------------------------------------------

    async def status(self) -> Status:
        """Node identity and latest block (``status``)."""
        return Status.from_json(await self.call("status"))

    async def chain_id(self) -> str:
        """The chain id (given at construction, else read once from ``status``)."""
        if self._chain_id is None:
            self._chain_id = (await self.status()).chain_id
        return self._chain_id

    async def block(self, height: int | None = None) -> Block:
        """The block at ``height`` (latest when None)."""
        params = {"height": str(height)} if height is not None else {}
        return Block.from_json(await self.call("block", **params))

    # -- queries -----------------------------------------------------------------------------

    async def balance(self, address: str, denom: str = DEFAULT_DENOM) -> int:
        """Balance of ``address`` in ``denom`` (0 when it holds none)."""
        _check_address(address)
        res = await self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            pb.bank_query.QueryBalanceRequest(address=address, denom=denom),
            pb.bank_query.QueryBalanceResponse,
        )
        return int(res.balance.amount or 0)

    async def balances(self, address: str) -> Coins:
        """All balances of ``address`` (every page)."""
        _check_address(address)
        coins: list[Coin] = []
        key = b""
        while True:
            res = await self.query(
                "/cosmos.bank.v1beta1.Query/AllBalances",
                pb.bank_query.QueryAllBalancesRequest(
                    address=address, pagination=pb.pagination.PageRequest(key=key, limit=100)
                ),
                pb.bank_query.QueryAllBalancesResponse,
            )
            coins.extend(Coin(c.denom, int(c.amount)) for c in res.balances)
            key = bytes(res.pagination.next_key)
            if not key:
                return Coins(coins)

    async def account(self, address: str) -> Account | None:
        """The account at ``address``, or None when the chain has never seen it."""
        _check_address(address)
        try:
            res = await self.query(
                "/cosmos.auth.v1beta1.Query/Account",
                pb.auth_query.QueryAccountRequest(address=address),
                pb.auth_query.QueryAccountResponse,
            )
        except ChainError as err:
            if err.codespace == "sdk" and err.code == 22:
                return None
            raise
        base = pb.unpack_any(res.account, pb.auth.BaseAccount)
        pubkey: bytes | None = None
        if base.HasField("pub_key") and base.pub_key.value:
            pubkey = bytes(pb.secp256k1.PubKey.FromString(base.pub_key.value).key)
        return Account(base.address, int(base.account_number), int(base.sequence), pubkey)

    async def tx(self, hash: str) -> TxResult | None:
        """The included tx with this hash (hex), or None when the node does not know it."""
        try:
            return TxResult.from_json(await self.call("tx", hash=_hash_b64(hash)))
        except RpcError as err:
            if "not found" in err.data:
                return None
            raise

    # -- transactions ------------------------------------------------------------------------

    async def simulate(self, msgs: Sequence[pb.Message], wallet: Wallet, memo: str = "") -> int:
        """Gas the messages would use, signed by ``wallet`` (raises :class:`ChainError`)."""
        account = await self.account(wallet.address)
        sequence = account.sequence if account is not None else 0
        request = pb.tx_service.SimulateRequest(tx_bytes=wallet.unsigned_tx(msgs, sequence, memo))
        res = await self.query(
            "/cosmos.tx.v1beta1.Service/Simulate", request, pb.tx_service.SimulateResponse
        )
        return int(res.gas_info.gas_used)

    async def _market_fee(self, gas: int) -> list[Coin]:
        """``ceil(gas × base price × 1.2)`` from the chain's fee market; the default price's
        fee when the chain has no fee market or its price is 0."""
        try:
            price = decode_gas_price(await self.abci_query(FEEMARKET_GAS_PRICE_QUERY))
        except ChainError:
            price = None
        if price is None or price[0] <= 0:
            return self.fee_for(gas)
        amount, denom = price
        return [Coin(denom, math.ceil(amount * AUTO_GAS_PRICE_MARGIN * gas))]

    def fee_for(self, gas: int) -> list[Coin]:
        """``ceil(gas × gas_price)`` in the fee denom."""
        return [Coin(self.fee_denom, math.ceil(self.gas_price * gas))]

    async def sign_and_broadcast(
        self,
        wallet: Wallet,
        msgs: Sequence[pb.Message],
        fee: CoinsLike | None = None,
        gas: int | str = "auto",
        gas_adjustment: float = DEFAULT_GAS_ADJUSTMENT,
        memo: str = "",
        mode: str = "sync",
    ) -> BroadcastResult:
        """Sign ``msgs`` with ``wallet`` and broadcast them.

        ``gas="auto"`` simulates and multiplies by ``gas_adjustment``; ``fee=None`` pays
        ``ceil(gas × gas_price)``. Raises :class:`ChainError` when CheckTx rejects the tx.
        """
        account = await self.account(wallet.address)
        if account is None:
            raise ChainError(
                "sdk", 9, f"account {wallet.address} does not exist on chain; fund it first"
            )
        if gas == "auto":
            used = await self.simulate(msgs, wallet, memo)
            gas_limit = math.ceil(Fraction(str(gas_adjustment)) * used)
        else:
            gas_limit = int(gas)
        if fee is not None:
            fee_coins = to_coins(fee, self.fee_denom)
        elif self.auto_gas_price:
            fee_coins = await self._market_fee(gas_limit)
        else:
            fee_coins = self.fee_for(gas_limit)
        raw = wallet.sign_tx(
            msgs,
            account_number=account.account_number,
            sequence=account.sequence,
            chain_id=await self.chain_id(),
            fee=fee_coins,
            gas_limit=gas_limit,
            memo=memo,
        )
        return await self.broadcast(raw, mode)

    async def send(
        self,
        wallet: Wallet,
        to: str,
        amount: CoinsLike,
        fee: CoinsLike | None = None,
        gas: int | str = "auto",
        gas_adjustment: float = DEFAULT_GAS_ADJUSTMENT,
        memo: str = "",
    ) -> BroadcastResult:
        """Send ``amount`` (``1000``, ``"1000ucgpt"``, a Coin or Coins) from ``wallet`` to ``to``.

        Returns once CheckTx accepted the tx; pass the hash to :meth:`wait_for_tx`.
        """
        msg = bank_send(wallet.address_bytes, _check_address(to), to_coins(amount))
        return await self.sign_and_broadcast(wallet, [msg], fee, gas, gas_adjustment, memo)

    async def broadcast(self, tx_bytes: bytes, mode: str = "sync") -> BroadcastResult:
        """Broadcast a signed TxRaw (``mode``: ``sync``, ``async`` or ``commit``).

        Raises :class:`ChainError` when CheckTx (or, for ``commit``, execution) fails.
        """
        if mode not in ("sync", "async", "commit"):
            raise ValueError(f"broadcast mode must be sync, async or commit, got {mode!r}")
        tx = base64.b64encode(tx_bytes).decode()
        res = await self.call(f"broadcast_tx_{mode}", tx=tx)
        check = res.get("check_tx", res) if mode == "commit" else res
        txhash = str(res.get("hash", "")).upper()
        code = int(check.get("code", 0))
        if code == 0 and mode == "commit":
            check = res.get("tx_result") or {}
            code = int(check.get("code", 0))
        if code != 0:
            raise ChainError(
                str(check.get("codespace", "")), code, str(check.get("log", "")), txhash
            )
        return BroadcastResult(
            txhash, code, str(check.get("codespace", "")), str(check.get("log", ""))
        )

    async def wait_for_tx(
        self, hash: str, timeout: float = 30.0, poll: float = 0.2, check: bool = True
    ) -> TxResult:
        """Poll until the tx is in a block; raise :class:`TxTimeoutError` after ``timeout`` s.

        With ``check=True`` a tx that failed in execution raises :class:`ChainError`.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = await self.tx(hash)
            if found is not None:
                if check and not found.ok:
                    raise ChainError(found.codespace, found.code, found.log, found.hash)
                return found
            if time.monotonic() >= deadline:
                raise TxTimeoutError(f"tx {hash.upper()} not included after {timeout:g}s")
            await asyncio.sleep(poll)


def _hash_b64(hash: str) -> str:
    text = hash.strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise ValueError(f"tx hash must be 64 hex characters, got {hash!r}") from exc
    if len(raw) != 32:
        raise ValueError(f"tx hash must be 64 hex characters, got {hash!r}")
    return base64.b64encode(raw).decode()


def _twin(method: Callable[..., Any], run: Callable[..., Any]) -> None:
    """Give ``run`` the name, docs and signature (``__wrapped__``) of ``method``."""
    functools.update_wrapper(run, method)
    run.__qualname__ = f"Client.{method.__name__}"


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Client, P], R]:
    """The blocking twin of a coroutine method of :class:`AsyncClient`: the same parameters,
    run to completion on the client's private event loop."""

    def run(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(method(self.aio, *args, **kwargs))

    _twin(method, run)
    return run


def _delegated(
    method: Callable[Concatenate[AsyncClient, P], R],
) -> Callable[Concatenate[Client, P], R]:
    """The twin of a plain (not coroutine) method of :class:`AsyncClient`."""

    def run(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.aio, *args, **kwargs)

    _twin(method, run)
    return run


@functools.cache
def modules_with_client_helpers() -> tuple[str, ...]:
    """Names of the app's modules (``aivm.app.modules.MODULES``, in its order) whose package
    has a ``client`` submodule, ``aivm/modules/<name>/client.py``."""
    from aivm.app.modules import MODULES

    return tuple(
        d.name
        for d in MODULES
        if importlib.util.find_spec(f"aivm.modules.{d.name}.client") is not None
    )


class ModuleClients:
    """``client.modules.<name>``: the helper of module ``<name>``, built on first access.

    A module ships its client helpers in ``aivm/modules/<name>/client.py``, which names the
    helper class in a module-level ``CLIENT`` variable (``CLIENT = AiClient``); the class is
    constructed with the blocking :class:`Client`. ``client.modules.ai`` imports
    ``aivm.modules.ai.client``, builds ``CLIENT(client)`` once and returns that same object
    afterwards. A name that is not a module with helpers raises :class:`AttributeError`;
    ``dir(client.modules)`` lists the ones there are.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._built: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probes, and private names: never a module
            raise AttributeError(name)
        built = self._built.get(name)
        if built is not None:
            return built
        available = modules_with_client_helpers()
        if name not in available:
            from aivm.app.modules import MODULES

            problem = (
                f"module {name!r} has no client helpers (aivm/modules/{name}/client.py)"
                if any(d.name == name for d in MODULES)
                else f"the app has no module {name!r}"
            )
            raise AttributeError(f"{problem}; modules with client helpers: {', '.join(available)}")
        helper = importlib.import_module(f"aivm.modules.{name}.client").CLIENT(self._client)
        return self._built.setdefault(name, helper)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *modules_with_client_helpers()})

    def __repr__(self) -> str:
        return f"<ModuleClients {', '.join(modules_with_client_helpers())}>"


class Client:
    """Blocking client with the same methods as :class:`AsyncClient`.

    Example::

        with Client("http://127.0.0.1:26657") as client:
            print(client.status().latest_block_height)
    """

    def __init__(
        self,
        rpc: str = DEFAULT_RPC,
        rest: str | None = None,
        *,
        chain_id: str | None = None,
        gas_price: str = DEFAULT_GAS_PRICE,
        timeout: float = 30.0,
    ) -> None:
        self.aio = AsyncClient(rpc, rest, chain_id=chain_id, gas_price=gas_price, timeout=timeout)
        self._storage: StorageClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.modules = ModuleClients(self)
        """The modules' own helpers: ``client.modules.ai`` (see :class:`ModuleClients`)."""

    @property
    def rpc(self) -> str:
        """The node's JSON-RPC URL."""
        return self.aio.rpc

    @property
    def rest(self) -> str:
        """The node's REST gateway URL (``rest=`` at construction, else 127.0.0.1:1317)."""
        return (self.aio.rest or DEFAULT_REST).rstrip("/")

    @property
    def storage(self) -> StorageClient:
        """The node's content store, on its REST gateway (files in and out, CID-checked).

        Example::

            with Client("http://127.0.0.1:26657", rest="http://127.0.0.1:1317") as client:
                stat = client.storage.put("model.dsm")
                client.storage.get(stat.cid, "copy.dsm")
        """
        if self._storage is None:
            self._storage = StorageClient(self.rest, timeout=max(self.aio.timeout, 60.0))
        return self._storage

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="aivm-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def close(self) -> None:
        """Close the HTTP sessions and stop the private event loop."""
        if self._storage is not None:
            self._storage.session.close()
            self._storage = None
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.aio.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    def __del__(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)

    # Every public method of AsyncClient, run on the private loop (tests/unit/test_client_twins.py
    # checks that none is missing and that the signatures are the same).
    call = _blocking(AsyncClient.call)
    abci_query = _blocking(AsyncClient.abci_query)
    query = _blocking(AsyncClient.query)
    status = _blocking(AsyncClient.status)
    chain_id = _blocking(AsyncClient.chain_id)
    block = _blocking(AsyncClient.block)
    balance = _blocking(AsyncClient.balance)
    balances = _blocking(AsyncClient.balances)
    account = _blocking(AsyncClient.account)
    tx = _blocking(AsyncClient.tx)
    simulate = _blocking(AsyncClient.simulate)
    fee_for = _delegated(AsyncClient.fee_for)
    sign_and_broadcast = _blocking(AsyncClient.sign_and_broadcast)
    send = _blocking(AsyncClient.send)
    broadcast = _blocking(AsyncClient.broadcast)
    wait_for_tx = _blocking(AsyncClient.wait_for_tx)
