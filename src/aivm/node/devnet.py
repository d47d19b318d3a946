"""The embedded single-validator devnet: an AivmApp driven in-process as CometBFT drives it.

``Devnet`` owns the app, its state store, the block store and the mempool, and is driven
synchronously (one thread or one event loop at a time):

- ``check_tx(raw)``: mempool precheck (duplicate → 19, too large → 21, full → 20), then
  CheckTx(NEW); accepted txs join the mempool in arrival order.
- ``produce_block()``: PrepareProposal(mempool txs, max bytes) → ProcessProposal →
  FinalizeBlock → block store write → Commit, then drop the included txs from the mempool and
  re-run CheckTx(RECHECK) on the rest, dropping failures. Empty blocks are produced too.

Crash safety: the block record (header, txs, FinalizeBlock results) is written *before*
``app.commit()``. On open, if the block store is one block ahead of the state store (a kill
between the two), that block is replayed through FinalizeBlock from its stored txs and
committed, and its app hash checked against the stored one: CometBFT's handshake replay.

Run it with ``python -m aivm.node.devnet --home DIR --block-time 1s --rpc-port 26657``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import signal
import sys
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from aivm.app.application import AivmApp, AppOptions
from aivm.node import eventloop
from aivm.node.blockstore import (
    EMPTY_HASH,
    BlockRecord,
    BlockStore,
    Header,
    data_hash,
    results_hash,
)
from aivm.node.config import NodeConfig, NodeConfigError, app_options, load_node_config
from aivm.node.home import (
    DEFAULT_HOME,
    HomePaths,
    create_home,
    load_home,
    now_ns,
)
from aivm.node.mempool import Mempool, tx_hash
from aivm.node.txindex import TxIndexer
from aivm.store import CommitStore
from aivm.types import pb

log = logging.getLogger(__name__)

UNLIMITED_BLOCK_BYTES = 100 * 1024 * 1024
RECENT_RECORDS = 8
"""Parsed blocks kept in memory (``Devnet.record``)."""


class DevnetError(RuntimeError):
    """The home's stores disagree in a way replay cannot repair."""


class Devnet:
    """One validator, one process: app + stores + mempool + block producer.

    ``config`` defaults to the home's ``config/app.toml`` (written with the defaults when
    missing); ``options`` defaults to its ``[app]`` table.
    """

    def __init__(
        self,
        home: Path | str = DEFAULT_HOME,
        accounts: int = 3,
        reset: bool = False,
        mempool: Mempool | None = None,
        options: AppOptions | None = None,
        out: TextIO | None = None,
        config: NodeConfig | None = None,
    ) -> None:
        self.paths = HomePaths(Path(home).expanduser())
        if reset:
            self.paths.reset()
        self.config = config if config is not None else load_node_config(self.paths.config)
        self.mempool = mempool if mempool is not None else Mempool()
        self.listeners: list[Callable[[BlockRecord], None]] = []
        out = out if out is not None else sys.stdout
        if not self.paths.genesis.exists():
            self.genesis, self.key, dev = create_home(self.paths, accounts)
            print(
                f"created devnet home {self.paths.root} (chain {self.genesis.chain_id})", file=out
            )
            print(
                "dev accounts (mnemonics shown once; kept in config/dev_accounts.json):", file=out
            )
            for account in dev:
                print(f"  {account.name} {account.address}\n    {account.mnemonic}", file=out)
            out.flush()
        else:
            self.genesis, self.key = load_home(self.paths)
        self.state_store = CommitStore.open(self.paths.state)
        self.blocks = BlockStore(self.paths.blocks)
        self.app = AivmApp(self.state_store, options or app_options(self.config.app))
        self.genesis_app_hash = b""
        self._records: OrderedDict[int, BlockRecord] = OrderedDict()  # see record()
        self._closed = False
        self._handshake()
        self.index = TxIndexer(self.paths.blocks)

    # -- startup --------------------------------------------------------------------------

    def _handshake(self) -> None:
        info = self.app.info(pb.abci.RequestInfo())
        state_height = info.last_block_height
        block_height = self.blocks.height
        if state_height == 0:
            response = self.app.init_chain(self.genesis.init_chain_request())
            self.genesis_app_hash = bytes(response.app_hash)
        if block_height == state_height + 1:
            self._replay(block_height)
        elif block_height != state_height:
            raise DevnetError(
                f"block store at height {block_height} but state at height {state_height}"
            )

    def _replay(self, height: int) -> None:
        record = self.blocks.get(height)
        assert record is not None
        log.warning("replaying block %d from the block store", height)
        response = self.app.finalize_block(self._finalize_request(record.header, record.txs))
        if response.app_hash != record.results.app_hash:
            raise DevnetError(
                f"replay of block {height} gave app hash {response.app_hash.hex()}, "
                f"stored {record.results.app_hash.hex()}"
            )
        self.app.commit(pb.abci.RequestCommit())

    # -- chain facts ----------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    @property
    def height(self) -> int:
        """Last committed height."""
        return self.state_store.version

    def latest(self) -> BlockRecord | None:
        """The last committed block."""
        height = self.height
        return self.record(height) if height else None

    def record(self, height: int) -> BlockRecord | None:
        """The stored block at ``height`` (None if absent). The last few are kept parsed in
        memory: pollers ask for the newest blocks, and parsing a full block's results costs
        milliseconds. Callers must not modify the record."""
        cached = self._records.get(height)
        if cached is not None:
            self._records.move_to_end(height)
            return cached
        record = self.blocks.get(height)
        if record is not None:
            self._remember(record)
        return record

    def _remember(self, record: BlockRecord) -> None:
        self._records[record.header.height] = record
        self._records.move_to_end(record.header.height)
        while len(self._records) > RECENT_RECORDS:
            self._records.popitem(last=False)

    def validator_updates(self) -> list[pb.abci.ValidatorUpdate]:
        return self.app.validators()

    def validators_hash(self) -> bytes:
        digest = hashlib.sha256()
        for update in self.validator_updates():
            digest.update(update.pub_key.ed25519 + update.power.to_bytes(8, "big"))
        return digest.digest()

    # -- mempool --------------------------------------------------------------------------

    def check_tx(self, raw: bytes, with_events: bool = True) -> pb.abci.ResponseCheckTx:
        """Mempool precheck, then CheckTx(NEW); accepted txs join the mempool."""
        error = self.mempool.precheck(raw)
        if error is not None:
            return pb.abci.ResponseCheckTx(
                code=error.code, codespace=error.codespace, log=error.log
            )
        response = self.app.check_tx(
            pb.abci.RequestCheckTx(tx=raw, type=pb.abci.NEW), with_events=with_events
        )
        if response.code == 0:
            self.mempool.add(raw)
        return response

    # -- block production -----------------------------------------------------------------

    def _finalize_request(self, header: Header, txs: list[bytes]) -> pb.abci.RequestFinalizeBlock:
        request = pb.abci.RequestFinalizeBlock(
            txs=txs,
            hash=header.hash(),
            height=header.height,
            proposer_address=header.proposer_address,
            next_validators_hash=header.validators_hash,
        )
        request.time.seconds = header.time_ns // 1_000_000_000
        request.time.nanos = header.time_ns % 1_000_000_000
        return request

    def produce_block(self, time_ns: int | None = None) -> BlockRecord:
        """Propose, execute, store and commit the next block."""
        if self._closed:
            raise DevnetError("devnet is closed")
        height = self.height + 1
        previous = self.latest()
        floor = previous.header.time_ns + 1 if previous else 0
        time_ns = max(time_ns if time_ns is not None else now_ns(), floor)
        max_bytes = self.app.consensus_params().block.max_bytes
        if max_bytes <= 0:
            max_bytes = UNLIMITED_BLOCK_BYTES
        proposer = self.key.address
        prepare = pb.abci.RequestPrepareProposal(
            txs=self.mempool.txs(),
            max_tx_bytes=max_bytes,
            height=height,
            proposer_address=proposer,
        )
        prepare.time.seconds, prepare.time.nanos = divmod(time_ns, 1_000_000_000)
        txs = list(self.app.prepare_proposal(prepare).txs)
        process = pb.abci.RequestProcessProposal(txs=txs, height=height, proposer_address=proposer)
        process.time.CopyFrom(prepare.time)
        status = self.app.process_proposal(process).status
        if status != pb.abci.ResponseProcessProposal.ACCEPT:
            log.error("own proposal at height %d rejected; producing an empty block", height)
            txs = []
        if previous is not None:
            last_hash, last_commit_hash = previous.hash, hashlib.sha256(previous.signature).digest()
            last_results = results_hash(previous.results.tx_results)
            app_hash = bytes(previous.results.app_hash)
        else:
            last_hash, last_commit_hash = b"", b""
            last_results, app_hash = results_hash([]), self.genesis_app_hash
        header = Header(
            chain_id=self.chain_id,
            height=height,
            time_ns=time_ns,
            last_block_hash=last_hash,
            last_commit_hash=last_commit_hash,
            data_hash=data_hash(txs),
            validators_hash=self.validators_hash(),
            consensus_hash=hashlib.sha256(self.app.consensus_params().SerializeToString()).digest(),
            app_hash=app_hash,
            last_results_hash=last_results,
            evidence_hash=EMPTY_HASH,
            proposer_address=proposer,
        )
        results = self.app.finalize_block(self._finalize_request(header, txs))
        block_hash = header.hash()
        record = BlockRecord(header, block_hash, txs, results, self.key.sign(block_hash))
        self.blocks.save(record)  # before Commit: replayed on start if Commit never happened
        self.app.commit(pb.abci.RequestCommit())
        self._remember(record)
        self.index.notify()
        self.mempool.remove(tx_hash(t) for t in txs)
        self._recheck()
        for listener in list(self.listeners):
            try:
                listener(record)
            except Exception:
                log.exception("block listener failed")
        return record

    def _recheck(self) -> None:
        failed = []
        for raw in self.mempool.txs():
            request = pb.abci.RequestCheckTx(tx=raw, type=pb.abci.RECHECK)
            response = self.app.check_tx(request, with_events=False)
            if response.code != 0:
                failed.append(tx_hash(raw))
        self.mempool.remove(failed)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.index.close()
            self.blocks.close()
            self.state_store.close()


def parse_duration_ms(text: str) -> int:
    """``1s``, ``200ms``, ``0.5s`` or a bare number of milliseconds → milliseconds."""
    text = text.strip().lower()
    if text.endswith("ms"):
        value = float(text[:-2])
    elif text.endswith("s"):
        value = float(text[:-1]) * 1000
    else:
        value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"block time must be positive: {text!r}")
    return int(value)


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
    from aivm.node.blobstore import open_blob_store
    from aivm.node.query_budget import QueryBudget
    from aivm.node.rest import RestGateway
    from aivm.node.rpc import RpcServer
    from aivm.node.rpc_frontend import RpcFrontend, bind_listener

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aivm.node.devnet", description=__doc__)
    parser.add_argument("--home", default=str(DEFAULT_HOME))
    parser.add_argument("--block-time", type=parse_duration_ms, default=1000)
    parser.add_argument("--rpc-port", type=int, default=26657)
    parser.add_argument(
        "--rest-port", type=int, default=None, help="also serve the REST gateway (0 = free port)"
    )
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--ipfs-api", default=None, help="keep blobs in this IPFS daemon")
    parser.add_argument("--reset", action="store_true")
    parser.add_argument(
        "--rpc-frontend",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the RPC port from a front-end process, leaving this one to CheckTx and "
        "blocks (default; --no-rpc-frontend serves it in-process)",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="run under cProfile and write the stats (pstats format) to FILE on exit",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        devnet = Devnet(args.home, accounts=args.accounts, reset=args.reset)
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
            args.block_time,
            args.rpc_port,
            stop,
            ready,
            rest_port=args.rest_port,
            on_rest_ready=rest_ready,
            ipfs_api=args.ipfs_api,
            rpc_frontend=args.rpc_frontend,
        )

    if args.profile is None:
        eventloop.run(_main())
        return 0
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        eventloop.run(_main())
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
