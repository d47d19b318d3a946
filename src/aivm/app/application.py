"""The AIVM application: the ABCI 2.0 state machine.

One top-down path per ABCI call. A transaction goes

    bytes → decode_tx → ante (its own branch; kept) → messages (own branch; kept on success)
          → ExecTxResult

inside the block's pending state, which ``Commit`` persists atomically. CheckTx runs the ante
step against a separate check state that is rebuilt from the committed state at every Commit.
Every ABCI method takes and returns the CometBFT 0.38 protobuf types, so the in-process devnet
driver and the socket server for CometBFT call exactly the same code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aivm
from aivm.app import ante
from aivm.app.budget import BudgetGasMeter, limit_or_none
from aivm.app.crisis import NamedInvariant, broken_invariants, collect_invariants
from aivm.app.genesis import GenesisDoc, GenesisValidator, consensus_params_json, format_time
from aivm.app.manager import ModuleManager
from aivm.app.modules import MODULES
from aivm.app.router import Router
from aivm.app.tx import MAX_GAS_WANTED, DecodedTx, decode_tx
from aivm.app.upgrades import MigrationRegistry, set_versions
from aivm.modules.auth import AccountKeeper
from aivm.modules.bank import BankKeeper
from aivm.modules.feemarket import FeeMarketKeeper
from aivm.modules.framework import (
    AppModule,
    BlockHeader,
    Context,
    Event,
    ExecMode,
    Misbehavior,
    ModuleDefinition,
    ValidatorUpdate,
    VoteInfo,
)
from aivm.store import CacheStore, CommitStore, GasConfig, GasKVStore, GasMeter, KVStore
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import (
    AivmError,
    ErrInternal,
    ErrInvalidChainID,
    ErrInvalidGasLimit,
    ErrInvalidHeight,
    ErrInvalidRequest,
    ErrTxDecode,
    ErrUnknownRequest,
)

log = logging.getLogger(__name__)

APP_NAME = "aivm"
APP_VERSION = 1
APP_STORE_PREFIX = b"app/"
CHAIN_ID_KEY = APP_STORE_PREFIX + b"chain_id"
CONSENSUS_PARAMS_KEY = APP_STORE_PREFIX + b"consensus_params"
VALIDATORS_KEY = APP_STORE_PREFIX + b"validators"
BLOCK_TIME_KEY = APP_STORE_PREFIX + b"block_time"
"""Time (integer ns, decimal text) of the last finalized block: the time CheckTx, Simulate and
queries see, as the SDK gives its check state the last block's header."""
SIMULATE_PATH = "/cosmos.tx.v1beta1.Service/Simulate"
STORE_QUERY_PREFIXES = {**{d.store_key: d.store_prefix for d in MODULES}, "app": APP_STORE_PREFIX}
"""Store key → key prefix of the default module list, for raw ``/store/<key>/key`` queries."""
PROOF_OP_TYPE = "ics23:aivm-smt"


@dataclass(frozen=True)
class AppOptions:
    """Node-local options; none of them changes consensus results."""

    min_gas_price: Dec = field(default_factory=lambda: Dec.from_int(0))
    """Lowest ucgpt/gas accepted by CheckTx on this node."""
    signature_cache_size: int = 200_000
    """Verified signatures remembered between CheckTx and FinalizeBlock."""
    decoded_tx_cache_size: int = 50_000
    """Decoded transactions remembered between CheckTx, proposal handling and execution."""
    query_gas_limit: int = 50_000_000
    """Most gas one gRPC query may use (the SDK's ``query-gas-limit``); 0 = unlimited."""
    simulate_gas_limit: int = 50_000_000
    """Most gas one Simulate may use, whatever the tx asks for; 0 = unlimited."""
    query_time_limit_ms: int = 500
    """Most wall-clock milliseconds one query or Simulate may run (needs ``clock``); 0 = none."""
    clock: Callable[[], int] | None = None
    """Monotonic nanoseconds (``time.monotonic_ns``), given by the node: the app itself reads
    no clock. Used only by queries and Simulate, never by consensus execution."""


@dataclass
class TxOutcome:
    """The result of running one transaction, before conversion to ABCI types."""

    code: int = 0
    codespace: str = ""
    log: str = ""
    gas_wanted: int = 0
    gas_used: int = 0
    events: list[Event] = field(default_factory=list)
    data: bytes = b""
    msg_responses: list[pb.AnyProto] = field(default_factory=list)

    @classmethod
    def failure(
        cls, error: AivmError, gas_wanted: int, gas_used: int, events: list[Event]
    ) -> TxOutcome:
        """An outcome carrying ``error``'s code and log."""
        return cls(error.code, error.codespace, error.log, gas_wanted, gas_used, events)

    def to_exec_result(self) -> pb.abci.ExecTxResult:
        """ABCI ExecTxResult (FinalizeBlock)."""
        result = pb.abci.ExecTxResult(
            code=self.code,
            codespace=self.codespace,
            log=self.log,
            gas_wanted=self.gas_wanted,
            gas_used=min(self.gas_used, MAX_GAS_WANTED),  # int64 in ABCI; a failed charge passes it
            data=self.data,
        )
        add_abci_events(result.events, self.events)
        return result


def add_abci_events(target: Any, events: Sequence[Event]) -> None:
    """Append ``events`` in ABCI form (every attribute indexed) to a repeated Event field."""
    for event in events:
        add_attribute = target.add(type=event.type).attributes.add
        for key, value in event.attributes:
            add_attribute(key=key, value=value, index=True)


class AivmApp:
    """The ABCI application. Not thread-safe: drivers serialise calls."""

    def __init__(
        self,
        store: CommitStore,
        options: AppOptions | None = None,
        modules: Sequence[ModuleDefinition] = MODULES,
    ) -> None:
        """Wrap an opened CommitStore; the chain resumes at its last committed version.

        ``modules`` is the module list (:data:`aivm.app.modules.MODULES`); auth and bank are
        required (the ante step uses them).
        """
        self.store = store
        self.options = options or AppOptions()
        self.gas_config = GasConfig()
        self.manager = ModuleManager(modules)
        self.modules: list[AppModule] = self.manager.modules
        self.accounts = self.manager.keepers.get("auth", AccountKeeper)
        self.bank = self.manager.keepers.get("bank", BankKeeper)
        self.fee_policy = self.manager.keepers.find("feemarket", FeeMarketKeeper)
        """The fee market's rule for the ante step, when the app has one (ADR 0013)."""
        self.store_query_prefixes = {**self.manager.store_prefixes(), "app": APP_STORE_PREFIX}
        if any(p.startswith(APP_STORE_PREFIX) for p in self.manager.store_prefixes().values()):
            raise ValueError(f"module store prefixes must not start with {APP_STORE_PREFIX!r}")
        self.router = Router(self.modules)
        self.migrations = MigrationRegistry(self.modules)
        self._invariants: list[NamedInvariant] | None = None
        self.signature_cache = ante.SignatureCache(self.options.signature_cache_size)
        self.ante_options = ante.AnteOptions(min_gas_price=self.options.min_gas_price)
        self._decoded: OrderedDict[bytes, DecodedTx] = OrderedDict()
        self._check_state: CacheStore = self._new_check_state()
        self._finalized_height: int | None = None
        self._consensus_params: tuple[bytes, pb.tm_params.ConsensusParams] | None = None
        self._block_time: tuple[int, int] | None = None

    # -- ABCI: info and genesis -----------------------------------------------------------

    def info(self, request: pb.abci.RequestInfo) -> pb.abci.ResponseInfo:
        """Report the last committed height and app hash (CometBFT's handshake)."""
        return pb.abci.ResponseInfo(
            data=APP_NAME,
            version=aivm.__version__,
            app_version=APP_VERSION,
            last_block_height=self.store.version,
            last_block_app_hash=self.store.last_hash if self.store.version else b"",
        )

    def init_chain(self, request: pb.abci.RequestInitChain) -> pb.abci.ResponseInitChain:
        """Write the genesis state of every module into the pending state."""
        if self.store.version != 0:
            raise ErrInvalidRequest.wrap(
                f"chain already initialised at height {self.store.version}"
            )
        app_state: dict[str, Any] = (
            json.loads(request.app_state_bytes) if request.app_state_bytes else {}
        )
        header = BlockHeader(
            height=request.initial_height or 1,
            time_ns=request.time.seconds * 1_000_000_000 + request.time.nanos,
            chain_id=request.chain_id,
        )
        if not request.chain_id:
            raise ErrInvalidChainID.wrap("InitChain needs a chain id")
        if request.consensus_params.block.max_gas <= 0:
            raise ErrInvalidRequest.wrap(
                "consensus_params.block.max_gas must be a positive gas limit: an unlimited "
                "block has no bound on its execution time"
            )
        ctx = Context(self.store.working, GasMeter(None), header, ExecMode.GENESIS)
        decided = self.manager.init_genesis(ctx, app_state, request.validators)
        set_versions(ctx.store, self.manager.consensus_versions())
        ctx.store.set(CHAIN_ID_KEY, request.chain_id.encode())
        ctx.store.set(CONSENSUS_PARAMS_KEY, request.consensus_params.SerializeToString())
        ctx.store.set(BLOCK_TIME_KEY, str(header.time_ns).encode())  # what CheckTx sees first
        # the staking module's set (from its genesis) replaces genesis.json's, as in the SDK
        validators = list(decided) if decided else list(request.validators)
        if validators:  # the store holds no empty value; absent reads as no validator
            recorded = pb.abci.ResponseInitChain(validators=validators)
            ctx.store.set(VALIDATORS_KEY, recorded.SerializeToString())
        return pb.abci.ResponseInitChain(app_hash=self.store.working_hash(), validators=validators)

    # -- ABCI: mempool --------------------------------------------------------------------

    def check_tx(
        self, request: pb.abci.RequestCheckTx, with_events: bool = True
    ) -> pb.abci.ResponseCheckTx:
        """Admit a transaction to the mempool if its ante step passes on the check state.

        ``with_events=False`` leaves the ante events out of the response (a driver that
        never shows them, such as the devnet's ``broadcast_tx_sync``, saves building them).
        """
        mode = ExecMode.RECHECK if request.type == pb.abci.RECHECK else ExecMode.CHECK
        header = BlockHeader(self.store.version + 1, self.last_block_time_ns(), self.chain_id)
        outcome = self._over_block_gas(request.tx) or self._run_tx(
            request.tx, mode, self._check_state, header
        )
        response = pb.abci.ResponseCheckTx(
            code=outcome.code,
            codespace=outcome.codespace,
            log=outcome.log,
            gas_wanted=outcome.gas_wanted,
            gas_used=min(outcome.gas_used, MAX_GAS_WANTED),
        )
        if with_events:
            add_abci_events(response.events, outcome.events)
        return response

    def _over_block_gas(self, raw: bytes) -> TxOutcome | None:
        """A failure for a tx that wants more gas than a whole block may use (it would never
        be included); None otherwise."""
        tx = self._decode_cached(raw)
        max_gas = self.consensus_params().block.max_gas
        if tx is None or max_gas <= 0 or tx.gas_limit <= max_gas:
            return None
        error = ErrInvalidGasLimit.wrap(f"gas limit {tx.gas_limit} exceeds block max gas {max_gas}")
        return TxOutcome.failure(error, tx.gas_limit, 0, [])

    # -- ABCI: proposals ------------------------------------------------------------------

    def prepare_proposal(
        self, request: pb.abci.RequestPrepareProposal
    ) -> pb.abci.ResponsePrepareProposal:
        """Take mempool txs in order while they fit max bytes and the block gas limit.

        Undecodable txs are left out. Never raises: on an unexpected error the proposal is
        the txs chosen before it (a bug, logged).
        """
        chosen: list[bytes] = []
        try:
            self._choose_txs(request, chosen)
        except Exception:
            log.exception("BUG: PrepareProposal raised; proposing the %d txs chosen", len(chosen))
        return pb.abci.ResponsePrepareProposal(txs=chosen)

    def _choose_txs(self, request: pb.abci.RequestPrepareProposal, chosen: list[bytes]) -> None:
        max_gas = self.consensus_params().block.max_gas
        total_bytes = total_gas = 0
        for raw in request.txs:
            tx = self._decode_cached(raw)
            if tx is None:
                continue
            if total_bytes + len(raw) > request.max_tx_bytes:
                break
            if max_gas > 0 and total_gas + tx.gas_limit > max_gas:
                continue
            chosen.append(raw)
            total_bytes += len(raw)
            total_gas += tx.gas_limit

    def process_proposal(
        self, request: pb.abci.RequestProcessProposal
    ) -> pb.abci.ResponseProcessProposal:
        """Reject proposals with undecodable txs or more gas wanted than a block allows.

        Never raises: an unexpected error rejects the proposal (a bug, logged).
        """
        status = pb.abci.ResponseProcessProposal
        try:
            accept = self._proposal_is_valid(request.txs)
        except Exception:
            log.exception("BUG: ProcessProposal raised; rejecting the proposal")
            accept = False
        return status(status=status.ACCEPT if accept else status.REJECT)

    def _proposal_is_valid(self, txs: Sequence[bytes]) -> bool:
        max_gas = self.consensus_params().block.max_gas
        total_gas = 0
        for raw in txs:
            tx = self._decode_cached(raw)
            if tx is None:
                return False
            total_gas += tx.gas_limit
        return not (max_gas > 0 and total_gas > max_gas)

    # -- ABCI: block execution ------------------------------------------------------------

    def finalize_block(
        self, request: pb.abci.RequestFinalizeBlock
    ) -> pb.abci.ResponseFinalizeBlock:
        """BeginBlock, every tx of the decided block, EndBlock; return the tx results, the
        block's events, validator updates and the new app hash."""
        expected = self.store.version + 1 if self.store.version else request.height
        if request.height != expected:
            raise ErrInvalidHeight.wrap(f"expected block {expected}, got {request.height}")
        header = BlockHeader(
            height=request.height,
            time_ns=request.time.seconds * 1_000_000_000 + request.time.nanos,
            chain_id=self.chain_id,
            proposer=request.proposer_address,
            seed=request.hash,
            last_commit=last_commit_votes(request.decided_last_commit),
            misbehavior=misbehavior_of(request.misbehavior),
        )
        working = self.store.working
        working.set(BLOCK_TIME_KEY, str(header.time_ns).encode())
        begin = self.manager.begin_block(working, header)
        results = [
            self._run_tx(raw, ExecMode.FINALIZE, working, header).to_exec_result()
            for raw in request.txs
        ]
        block_gas = sum(r.gas_used for r in results)
        end = self.manager.end_block(working, dataclasses.replace(header, gas_used=block_gas))
        if end.validator_updates:
            self._apply_validator_updates(working, end.validator_updates)
        self._finalized_height = request.height
        response = pb.abci.ResponseFinalizeBlock(
            tx_results=results,
            validator_updates=end.validator_updates,
            app_hash=self.store.working_hash(),
        )
        add_abci_events(response.events, begin.events + end.events)
        return response

    def _apply_validator_updates(self, working: KVStore, updates: list[ValidatorUpdate]) -> None:
        """Record the validator set after ``updates`` (power 0 removes a validator)."""
        current = {v.pub_key.SerializeToString(): v for v in self.validators()}
        for update in updates:
            key = update.pub_key.SerializeToString()
            if update.power > 0:
                current[key] = update
            else:
                current.pop(key, None)
        if current:
            validators = pb.abci.ResponseInitChain(validators=list(current.values()))
            working.set(VALIDATORS_KEY, validators.SerializeToString())
        else:
            working.delete(VALIDATORS_KEY)

    def commit(self, request: pb.abci.RequestCommit | None = None) -> pb.abci.ResponseCommit:
        """Persist the finalized block atomically and reset the check state."""
        if self._finalized_height is None:
            raise ErrInvalidRequest.wrap("commit without a finalized block")
        self.store.commit(self._finalized_height)
        self._finalized_height = None
        self._check_state = self._new_check_state()
        return pb.abci.ResponseCommit(retain_height=0)

    # -- state snapshots (node-local; the snapshot manager handles files and ABCI) ----------

    def restore_snapshot(self, height: int, chunks: Iterable[bytes], app_hash: bytes) -> None:
        """Rebuild the (empty) state from snapshot ``chunks`` of ``height``; verify ``app_hash``.

        Raises an AivmError (and leaves the state empty) when the chunks are malformed or do not
        produce ``app_hash``.
        """
        self.store.restore_snapshot(height, chunks, app_hash)
        self._finalized_height = None
        self._decoded.clear()
        self._check_state = self._new_check_state()

    # -- ABCI: vote extensions (unused until the oracle module) ----------------------------

    def extend_vote(self, request: pb.abci.RequestExtendVote) -> pb.abci.ResponseExtendVote:
        """No vote extensions yet."""
        return pb.abci.ResponseExtendVote()

    def verify_vote_extension(
        self, request: pb.abci.RequestVerifyVoteExtension
    ) -> pb.abci.ResponseVerifyVoteExtension:
        """Accept the (empty) extension."""
        return pb.abci.ResponseVerifyVoteExtension(
            status=pb.abci.ResponseVerifyVoteExtension.ACCEPT
        )

    # -- ABCI: query ----------------------------------------------------------------------

    def query(self, request: pb.abci.RequestQuery) -> pb.abci.ResponseQuery:
        """Answer gRPC-style queries, Simulate and raw ``/store/<name>/key`` reads."""
        try:
            height = self._query_height(request.height)
            if request.path == SIMULATE_PATH:
                value = self._simulate_query(request.data)
            elif request.path.startswith("/store/"):
                return self._store_query(request, height)
            elif request.path == "/app/version":
                value = aivm.__version__.encode()
            else:
                value = self._grpc_query(request.path, request.data, height)
            return pb.abci.ResponseQuery(code=0, value=value, height=height)
        except AivmError as error:
            return pb.abci.ResponseQuery(
                code=error.code, codespace=error.codespace, log=error.log, height=request.height
            )
        except Exception as exc:  # a query must never take the node down
            log.exception("query %s failed", request.path)
            internal = ErrInternal.wrap(f"query failed: {exc}")
            return pb.abci.ResponseQuery(
                code=internal.code, codespace=internal.codespace, log=internal.log
            )

    def _query_height(self, requested: int) -> int:
        latest = self.store.version
        if requested < 0:
            raise ErrInvalidRequest.wrap("height must not be negative")
        if requested > latest:
            raise ErrInvalidHeight.wrap(
                f"cannot query with height in the future; please provide a valid height "
                f"(latest {latest}, requested {requested})"
            )
        return requested or latest

    def query_context(self, height: int, meter: GasMeter | None = None) -> Context:
        """A read-only context over the committed state at ``height``.

        With ``meter``, every store access is charged to it (queries from clients); without,
        reads are free (the node's own reads, such as a genesis export).
        """
        view = self.store.view_at(height)
        store: KVStore = view if meter is None else GasKVStore(view, meter, self.gas_config)
        header = BlockHeader(height, self.last_block_time_ns(height), self.chain_id)
        return Context(store, meter or GasMeter(None), header, ExecMode.QUERY)

    def _budget(self, gas_limit: int, what: str) -> BudgetGasMeter:
        """A meter bounded by ``gas_limit`` (0: none) and the node's query time limit."""
        options = self.options
        return BudgetGasMeter(
            limit_or_none(gas_limit), options.clock, options.query_time_limit_ms, what
        )

    def _grpc_query(self, path: str, data: bytes, height: int) -> bytes:
        route = self.router.queries.get(path)
        if route is None:
            raise ErrUnknownRequest.wrap(f"unknown query path {path}")
        try:
            request = route.request_class.FromString(data)
        except pb.DecodeError as exc:
            raise ErrInvalidRequest.wrap(f"failed to decode {path} request: {exc}") from exc
        meter = self._budget(self.options.query_gas_limit, f"query {path}")
        response = route.handler(self.query_context(height, meter), request)
        return bytes(response.SerializeToString())

    def _store_query(self, request: pb.abci.RequestQuery, height: int) -> pb.abci.ResponseQuery:
        parts = request.path.split("/")
        prefixes = self.store_query_prefixes
        if len(parts) != 4 or parts[3] != "key" or parts[2] not in prefixes:
            raise ErrUnknownRequest.wrap(f"unknown store query {request.path}")
        key = prefixes[parts[2]] + request.data
        value = self.store.get_at(key, height) or b""
        response = pb.abci.ResponseQuery(code=0, key=request.data, value=value, height=height)
        if request.prove:
            proof = self.store.prove(key, height)
            response.proof_ops.ops.append(
                pb.tm_proof.ProofOp(type=PROOF_OP_TYPE, key=key, data=proof.SerializeToString())
            )
        return response

    # -- simulation -----------------------------------------------------------------------

    def simulate(self, tx_bytes: bytes) -> tuple[TxOutcome, int]:
        """Run a tx against the latest committed state without keeping anything.

        Returns the outcome and gas used. Signatures are not checked; the gas the tx may
        use is the node's ``simulate_gas_limit`` (whatever the tx asks for), and the run
        stops at the query time limit.
        """
        branch = CacheStore(self.store.view_at(self.store.version))
        header = BlockHeader(self.store.version + 1, self.last_block_time_ns(), self.chain_id)
        outcome = self._run_tx(tx_bytes, ExecMode.SIMULATE, branch, header)
        return outcome, outcome.gas_used

    def _simulate_query(self, data: bytes) -> bytes:
        try:
            request = pb.tx_service.SimulateRequest.FromString(data)
        except pb.DecodeError as exc:
            raise ErrTxDecode.wrap(f"invalid SimulateRequest: {exc}") from exc
        tx_bytes = request.tx_bytes
        if not tx_bytes and request.HasField("tx"):
            tx_bytes = _tx_to_raw(request.tx)
        if not tx_bytes:
            raise ErrInvalidRequest.wrap("empty txBytes is not allowed")
        outcome, gas_used = self.simulate(tx_bytes)
        if outcome.code != 0:
            raise AivmError(_lookup_error(outcome), outcome.log)
        response = pb.tx_service.SimulateResponse()
        response.gas_info.gas_used = gas_used
        response.gas_info.gas_wanted = outcome.gas_wanted
        response.result.data = outcome.data
        add_abci_events(response.result.events, outcome.events)
        response.result.msg_responses.extend(outcome.msg_responses)
        return bytes(response.SerializeToString())

    # -- the transaction pipeline ---------------------------------------------------------

    def _run_tx(
        self, raw: bytes, mode: ExecMode, parent: KVStore, header: BlockHeader
    ) -> TxOutcome:
        """decode → ante (kept) → messages (kept only if all succeed). Never raises.

        The one guard of every tx path (CheckTx, Simulate, FinalizeBlock): each step below
        turns the failures it expects into coded outcomes; anything else is a bug, which
        fails the tx with ErrInternal instead of leaving the ABCI call.
        """
        try:
            return self._run_tx_steps(raw, mode, parent, header)
        except Exception as exc:
            return self._internal_failure("tx", raw, exc, 0, 0, [])

    def _run_tx_steps(
        self, raw: bytes, mode: ExecMode, parent: KVStore, header: BlockHeader
    ) -> TxOutcome:
        try:
            tx = self._decode(raw)
        except AivmError as error:
            return TxOutcome.failure(error, 0, 0, [])
        except Exception as exc:
            return self._internal_failure("decode", raw, exc, 0, 0, [])
        gas_wanted = tx.gas_limit
        if mode is ExecMode.SIMULATE:
            meter: GasMeter = self._budget(self.options.simulate_gas_limit, "simulation")
        else:
            meter = GasMeter(tx.gas_limit)
        ante_branch = CacheStore(parent)
        ctx = Context(GasKVStore(ante_branch, meter, self.gas_config), meter, header, mode)
        try:
            ante.run_ante(
                ctx,
                tx,
                self.accounts,
                self.bank,
                self.signature_cache,
                self.ante_options,
                self.fee_policy,
            )
        except AivmError as error:
            return TxOutcome.failure(error, gas_wanted, meter.consumed, [])
        except Exception as exc:
            return self._internal_failure("ante", raw, exc, gas_wanted, meter.consumed, [])
        ante_branch.write()
        ante_events = ctx.events
        if mode in (ExecMode.CHECK, ExecMode.RECHECK):
            return TxOutcome(gas_wanted=gas_wanted, gas_used=meter.consumed, events=ante_events)
        return self._run_msgs(tx, mode, parent, header, meter, ante_events)

    def _run_msgs(
        self,
        tx: DecodedTx,
        mode: ExecMode,
        parent: KVStore,
        header: BlockHeader,
        meter: GasMeter,
        ante_events: list[Event],
    ) -> TxOutcome:
        msg_branch = CacheStore(parent)
        ctx = Context(GasKVStore(msg_branch, meter, self.gas_config), meter, header, mode)
        responses: list[pb.AnyProto] = []
        sender = _first_signer_str(tx)
        try:
            for index, (msg, route) in enumerate(zip(tx.msgs, tx.routes, strict=True)):
                first_event = len(ctx.events)
                ctx.emit(
                    "message",
                    ("action", pb.type_url(msg)),
                    ("sender", sender),
                    ("module", _module_of(msg)),
                )
                responses.append(pb.pack_any(route.handler(ctx, msg)))
                _tag_msg_index(ctx.events, first_event, index)
        except AivmError as error:
            return TxOutcome.failure(
                _with_msg_index(error, len(responses)), tx.gas_limit, meter.consumed, ante_events
            )
        except Exception as exc:
            return self._internal_failure(
                "messages", tx.raw, exc, tx.gas_limit, meter.consumed, ante_events
            )
        msg_branch.write()
        data = pb.sdk_abci.TxMsgData(msg_responses=responses).SerializeToString()
        return TxOutcome(
            gas_wanted=tx.gas_limit,
            gas_used=meter.consumed,
            events=ante_events + ctx.events,
            data=data,
            msg_responses=responses,
        )

    @staticmethod
    def _internal_failure(
        step: str,
        raw: bytes,
        exc: Exception,
        gas_wanted: int,
        gas_used: int,
        events: list[Event],
    ) -> TxOutcome:
        """A coded ErrInternal outcome for an exception no handler should raise (a bug).

        The tx fails (its message writes are discarded) and the node carries on; the log
        names the step and the tx hash so the bug can be reproduced.
        """
        tx_hash = hashlib.sha256(raw).hexdigest().upper()
        log.error("BUG: %s raised on tx %s (%d bytes)", step, tx_hash, len(raw), exc_info=exc)
        error = ErrInternal.wrap(f"{step}: {type(exc).__name__}")
        return TxOutcome.failure(error, gas_wanted, gas_used, events)

    def _decode(self, raw: bytes) -> DecodedTx:
        cached = self._decoded.get(raw)
        if cached is not None:
            return cached
        tx = decode_tx(raw, self.router)
        self._decoded[raw] = tx
        if len(self._decoded) > self.options.decoded_tx_cache_size:
            self._decoded.popitem(last=False)
        return tx

    def _decode_cached(self, raw: bytes) -> DecodedTx | None:
        """The decoded tx, or None when it does not decode (for any reason)."""
        try:
            return self._decode(raw)
        except AivmError:
            return None
        except Exception:
            log.exception("BUG: decoding a %d-byte tx raised", len(raw))
            return None

    # -- state helpers --------------------------------------------------------------------

    def _new_check_state(self) -> CacheStore:
        return CacheStore(self.store.view_at(self.store.version))

    @property
    def chain_id(self) -> str:
        """Chain id recorded at InitChain (empty before genesis)."""
        raw = self.store.working.get(CHAIN_ID_KEY)
        return raw.decode() if raw else ""

    def consensus_params(self) -> pb.tm_params.ConsensusParams:
        """Consensus params recorded at InitChain (read-only: callers must not modify it)."""
        raw = self.store.working.get(CONSENSUS_PARAMS_KEY) or b""
        cached = self._consensus_params
        if cached is None or cached[0] != raw:  # parsed once per distinct value
            cached = (raw, pb.tm_params.ConsensusParams.FromString(raw))
            self._consensus_params = cached
        return cached[1]

    def last_block_time_ns(self, height: int | None = None) -> int:
        """Time of the block at ``height`` (default: the last committed one); 0 before any."""
        version = self.store.version if height is None else height
        cached = self._block_time
        if cached is not None and cached[0] == version:  # read once per height, not per CheckTx
            return cached[1]
        raw = self.store.get_at(BLOCK_TIME_KEY, version) if version else None
        time_ns = int(raw) if raw else 0
        self._block_time = (version, time_ns)
        return time_ns

    def validators(self, height: int | None = None) -> list[pb.abci.ValidatorUpdate]:
        """The validator set: the one of InitChain, after every EndBlock's updates."""
        store = self.store.working if height is None else self.store.view_at(height)
        raw = store.get(VALIDATORS_KEY)
        return list(pb.abci.ResponseInitChain.FromString(raw or b"").validators)

    def export_genesis(self, height: int | None = None) -> GenesisDoc:
        """The state at ``height`` (default: latest) as a genesis document for a new chain."""
        height = height or self.store.version
        ctx = self.query_context(height)
        app_state = self.manager.export_genesis(ctx)
        params = pb.tm_params.ConsensusParams.FromString(ctx.store.get(CONSENSUS_PARAMS_KEY) or b"")
        validators = [
            GenesisValidator(pub_key=v.pub_key.ed25519, power=v.power)
            for v in self.validators(height)
        ]
        return GenesisDoc(
            chain_id=self.chain_id,
            app_state=app_state,
            genesis_time=format_time(*divmod(self.last_block_time_ns(height), 1_000_000_000)),
            initial_height=height + 1,
            consensus_params=consensus_params_json(params),
            validators=validators,
        )

    # -- invariants (crisis) -------------------------------------------------------------

    def check_invariants(self, height: int | None = None) -> list[str]:
        """Every module's invariants over the committed state at ``height`` (default: the
        latest); one line per violation, empty when all hold."""
        if self._invariants is None:
            self._invariants = collect_invariants(self.modules)
        return broken_invariants(self._invariants, self.query_context(height or self.store.version))


def last_commit_votes(commit: pb.abci.CommitInfo) -> tuple[VoteInfo, ...]:
    """The previous block's voters as the modules see them (flag COMMIT or NIL: signed)."""
    signed_flags = (pb.tm_validator.BLOCK_ID_FLAG_COMMIT, pb.tm_validator.BLOCK_ID_FLAG_NIL)
    return tuple(
        VoteInfo(
            address=bytes(vote.validator.address),
            power=vote.validator.power,
            signed=vote.block_id_flag in signed_flags,
        )
        for vote in commit.votes
    )


def misbehavior_of(evidence: Sequence[pb.abci.Misbehavior]) -> tuple[Misbehavior, ...]:
    """CometBFT's evidence list as the modules see it."""
    return tuple(
        Misbehavior(
            kind=int(item.type),
            address=bytes(item.validator.address),
            power=item.validator.power,
            height=item.height,
            time_ns=item.time.seconds * 1_000_000_000 + item.time.nanos,
            total_voting_power=item.total_voting_power,
        )
        for item in evidence
    )


def _tx_to_raw(tx: pb.tx.Tx) -> bytes:
    raw = pb.tx.TxRaw(
        body_bytes=tx.body.SerializeToString(),
        auth_info_bytes=tx.auth_info.SerializeToString(),
        signatures=list(tx.signatures),
    )
    return bytes(raw.SerializeToString())


def _first_signer_str(tx: DecodedTx) -> str:
    from aivm.modules.addr import addr_str

    return addr_str(tx.signers[0])


def _module_of(msg: pb.Message) -> str:
    """Module name from a type URL: ``/cosmos.bank.v1beta1.MsgSend`` → ``bank``."""
    parts = msg.DESCRIPTOR.full_name.split(".")
    return parts[1] if len(parts) > 2 else parts[0]


def _tag_msg_index(events: list[Event], first: int, index: int) -> None:
    """Append ``msg_index`` to every event a message emitted (from ``first`` on), as the
    SDK v0.50 baseapp does, so indexers can tell the messages of one tx apart."""
    tag = ("msg_index", str(index))
    for position in range(first, len(events)):
        event = events[position]
        events[position] = Event(event.type, (*event.attributes, tag))


def _with_msg_index(error: AivmError, index: int) -> AivmError:
    return AivmError(
        error.error,
        f"failed to execute message; message index: {index}: {error.detail}"
        if error.detail
        else f"failed to execute message; message index: {index}",
    )


def _lookup_error(outcome: TxOutcome) -> Any:
    from aivm.types.errors import lookup

    return lookup(outcome.codespace, outcome.code) or ErrInternal
