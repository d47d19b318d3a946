"""The devnet process: the block producer loop with its RPC and REST servers, and ``serve``,
the entry point ``aivm devnet`` calls with its parsed options.

``run_devnet`` produces a block every block time (also when the mempool is empty) and serves
the CometBFT JSON-RPC (``rpc.py``; from a front-end process, ``rpc_frontend.py``, when asked)
and the REST gateway (``aivm.node.rest``) on one event loop, so the app is never called
concurrently. ``serve`` opens the home, installs SIGINT/SIGTERM handlers (the current block
finishes, the servers stop, the stores close) and runs it on the node's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aivm.devnet.devnet import Devnet, InvariantBroken
from aivm.devnet.query_budget import QueryBudget
from aivm.devnet.rpc import RpcServer
from aivm.devnet.rpc_frontend import RpcFrontend, bind_listener
from aivm.node import eventloop
from aivm.node.blobstore import open_blob_store
from aivm.node.config import NodeConfigError
from aivm.node.home import DEFAULT_HOME
from aivm.node.rest import RestGateway


@dataclass(frozen=True)
class DevnetOptions:
    """How to run the devnet (``aivm devnet``'s flags, parsed)."""

    home: Path = DEFAULT_HOME
    block_time_ms: int = 1000
    rpc_port: int = 26657
    rest_port: int | None = 1317
    """REST gateway port (0 = a free port); None: no gateway."""
    accounts: int = 3
    """Funded dev accounts written at first start."""
    ipfs_api: str | None = None
    """Keep uploaded blobs in the IPFS daemon at this API URL instead of ``<home>/blobs``."""
    reset: bool = False
    """Wipe the home's chain data first (``config/app.toml`` is kept)."""
    rpc_frontend: bool = True
    """Serve the public RPC port from a front-end process (ADR 0009)."""
    check_invariants: bool = False
    """Debug mode: check every module's invariants after each block; halt when one breaks."""
    log_level: str = "INFO"


async def run_devnet(
    devnet: Devnet,
    block_time_ms: int = 1000,
    rpc_port: int = 26657,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], None] | None = None,
    rest_port: int | None = None,
    on_rest_ready: Callable[[int], None] | None = None,
    ipfs_api: str | None = None,
    rpc_frontend: bool = False,
) -> None:
    """Produce blocks every ``block_time_ms`` and serve JSON-RPC until ``stop`` is set.

    With ``rest_port`` (0 = a free port) the REST gateway also runs, in front of the RPC, with
    the content store (``<home>/blobs``, or the IPFS daemon at ``ipfs_api``). With
    ``rpc_frontend`` the public RPC port is served by a front-end process
    (``rpc_frontend.py``) and this process's RPC server listens on a private loopback port.
    Limits come from ``devnet.config`` (``[rpc]`` and ``[storage]`` of ``app.toml``).
    """
    stop = stop or asyncio.Event()
    rpc_config, storage = devnet.config.rpc, devnet.config.storage
    query_share_ms = block_time_ms * rpc_config.query_time_share_percent // 100
    server = RpcServer(devnet, rpc_config, query_budget=QueryBudget(max(query_share_ms, 1)))
    frontend: RpcFrontend | None = None
    if rpc_frontend:
        listener = await bind_listener("127.0.0.1", rpc_port)
        backend_port = await server.start("127.0.0.1", 0)
        frontend = RpcFrontend(
            listener, f"http://127.0.0.1:{backend_port}", server.check_broadcast, rpc_config
        )
        try:
            await frontend.start()
        except BaseException:
            await frontend.stop()
            await server.stop()
            devnet.close()
            raise
        port = frontend.port
    else:
        port = backend_port = await server.start("127.0.0.1", rpc_port)
    gateway: RestGateway | None = None
    if rest_port is not None:
        gateway = RestGateway(
            f"http://127.0.0.1:{backend_port}",
            max_body_bytes=rpc_config.max_body_bytes,
            blob_store=open_blob_store(devnet.paths.root / "blobs", ipfs_api, storage),
            cors_allowed_origins=storage.cors_allowed_origins,
        )
        try:
            rest_bound = await gateway.start("127.0.0.1", rest_port)
        except BaseException:
            if frontend is not None:
                await frontend.stop()
            await server.stop()
            devnet.close()
            raise
        if on_rest_ready is not None:
            on_rest_ready(rest_bound)
    if on_ready is not None:
        on_ready(port)
    loop = asyncio.get_running_loop()
    interval = block_time_ms / 1000
    next_at = loop.time() + interval
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - loop.time()))
                break
            except TimeoutError:
                pass
            devnet.produce_block()
            next_at = max(next_at + interval, loop.time())
    finally:
        if frontend is not None:
            await frontend.stop()
        if gateway is not None:
            await gateway.stop()
        await server.stop()
        devnet.close()


def serve(options: DevnetOptions) -> int:
    """Run the devnet until SIGINT/SIGTERM; the exit status (1: the home's config is bad)."""
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        devnet = Devnet(
            options.home,
            accounts=options.accounts,
            reset=options.reset,
            check_invariants=options.check_invariants,
        )
    except NodeConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(port: int) -> None:
            print(
                f"devnet {devnet.chain_id} at height {devnet.height}; "
                f"RPC on http://127.0.0.1:{port}",
                flush=True,
            )

        def rest_ready(port: int) -> None:
            print(f"REST gateway on http://127.0.0.1:{port}", flush=True)

        await run_devnet(
            devnet,
            options.block_time_ms,
            options.rpc_port,
            stop,
            ready,
            rest_port=options.rest_port,
            on_rest_ready=rest_ready,
            ipfs_api=options.ipfs_api,
            rpc_frontend=options.rpc_frontend,
        )

    try:
        eventloop.run(_main())
    except InvariantBroken as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0
