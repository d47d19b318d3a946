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

The process around it (producer loop, RPC and REST servers, signals) is ``process.py``;
``aivm devnet`` runs it.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from aivm.app.application import AivmApp, AppOptions
from aivm.devnet.blockstore import (
    EMPTY_HASH,
    BlockRecord,
    BlockStore,
    Header,
    data_hash,
    results_hash,
)
from aivm.devnet.mempool import Mempool, tx_hash
from aivm.devnet.txindex import TxIndexer
from aivm.node.config import NodeConfig, app_options, load_node_config
from aivm.node.home import (
    DEFAULT_HOME,
    HomePaths,
    create_home,
    load_home,
    now_ns,
)
from aivm.store import CommitStore
from aivm.types import pb

log = logging.getLogger(__name__)

UNLIMITED_BLOCK_BYTES = 100 * 1024 * 1024
RECENT_RECORDS = 8
"""Parsed blocks kept in memory (``Devnet.record``)."""


class DevnetError(RuntimeError):
    """The home's stores disagree in a way replay cannot repair."""


class InvariantBroken(DevnetError):
    """Debug mode found a module invariant broken: the chain's state is wrong; the devnet
    halts rather than build on it."""


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
        check_invariants: bool = False,
    ) -> None:
        self.paths = HomePaths(Path(home).expanduser())
        if reset:
            self.paths.reset()
        self.config = config if config is not None else load_node_config(self.paths.config)
        self.mempool = mempool if mempool is not None else Mempool()
        self.check_invariants = check_invariants
        """Debug mode (crisis): every module's invariants after each block."""
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
        if header.height > 1:
            self._add_last_commit(request)
        return request

    def _add_last_commit(self, request: pb.abci.RequestFinalizeBlock) -> None:
        """The previous block's votes as CometBFT would decide them: the devnet's own key
        signs every block; any other validator of the set (one created by MsgCreateValidator
        on this single-node network) runs no node here, so its vote is absent."""
        own = self.key.address
        for validator in self.app.validators():
            address = hashlib.sha256(validator.pub_key.ed25519).digest()[:20]
            flag = (
                pb.tm_validator.BLOCK_ID_FLAG_COMMIT
                if address == own
                else pb.tm_validator.BLOCK_ID_FLAG_ABSENT
            )
            vote = request.decided_last_commit.votes.add(block_id_flag=flag)
            vote.validator.address = address
            vote.validator.power = validator.power

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
        if self.check_invariants:
            self._halt_on_broken_invariants(height)
        self.index.notify()
        self.mempool.remove(tx_hash(t) for t in txs)
        self._recheck()
        for listener in list(self.listeners):
            try:
                listener(record)
            except Exception:
                log.exception("block listener failed")
        return record

    def _halt_on_broken_invariants(self, height: int) -> None:
        """Raise InvariantBroken (the devnet stops producing blocks) when a module's
        invariant fails on the state just committed."""
        problems = self.app.check_invariants()
        if problems:
            for problem in problems:
                log.critical("invariant broken at height %d: %s", height, problem)
            raise InvariantBroken(
                f"{len(problems)} invariant violation(s) at height {height}; the devnet halts "
                f"(first: {problems[0]})"
            )

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
