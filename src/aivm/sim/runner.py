"""The randomized simulation: random blocks of valid and invalid txs, checked at every height.

A :class:`Simulation` starts a chain from a seeded genesis (funded and unfunded keys) on a
:class:`~aivm.sim.differential.DifferentialReplay`. For each block it

1. picks operations by weight from every module's ``simulation.py``, signs each operation's
   messages as their first signer with a gas limit from Simulate (or a flat default), and
   applies a tx fault (wrong sequence, bad signature, low gas, …) or, rarely, tampers with
   the signed bytes;
2. runs CheckTx for every tx on the warm app, plus a few random queries; txs CheckTx accepts are
   proposed, and some it rejects are proposed anyway (a proposer that ignores its mempool);
3. proposes the block (PrepareProposal, then ProcessProposal on every replica), finalizes and
   commits it on the warm, cold and state-synced replicas, which must agree byte for byte;
4. checks every result (never an internal error, only registered codes, every tx that must
   fail failed), every module's invariants and the ledger invariants (:mod:`aivm.sim.ledger`),
   and that the app logged no ``BUG`` line (a block hook that raised, whose writes the module
   manager dropped: :mod:`aivm.sim.bug_log`).

Every block is recorded as a :class:`SimBlock` (its txs and the warm app's node-local calls),
so a failing run can be replayed from genesis and shrunk (:mod:`aivm.sim.shrink`). The first
violation raises :class:`SimFailure`.
"""

from __future__ import annotations

import hashlib
import random
import time
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aivm.app.application import SIMULATE_PATH, AivmApp, AppOptions
from aivm.app.genesis import GenesisDoc, GenesisValidator, parse_time
from aivm.client.tx import Signer, unsigned_tx
from aivm.crypto.keys import PrivKey
from aivm.modules.addr import addr_str
from aivm.modules.feemarket.keeper import required_fee
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.simulation import TxFields
from aivm.modules.staking.genesis import gentx
from aivm.modules.verify.simulation import sim_genesis as verify_sim_genesis
from aivm.sim.bug_log import bug_log
from aivm.sim.differential import DifferentialReplay, Divergence, never_restore
from aivm.sim.ledger import Ledger
from aivm.sim.queries import random_query
from aivm.sim.registry import (
    NamedFault,
    NamedInvariant,
    NamedOperation,
    discover_invariants,
    discover_operations,
    discover_tx_faults,
)
from aivm.sim.txgen import SimTx, mutate, sign_fields
from aivm.store import CommitStore, GasMeter
from aivm.types import pb
from aivm.types.coin import BOND_DENOM, Coin
from aivm.types.dec import Dec
from aivm.types.errors import UNDEFINED_CODESPACE, AivmError, lookup

CHAIN_ID = "aivm-sim-1"
GENESIS_TIME = "2026-09-21T00:00:00Z"
BLOCK_SECONDS = 5
SIM_VALIDATORS = 4
"""Genesis staking validators, operated by funded keys 2…5."""
DEFAULT_GAS = 2_000_000
"""Gas limit of a tx whose gas was not estimated with Simulate."""
MAX_TX_BYTES = 22_020_096
MARKET_FLOOR = "0.01"
"""Base gas price floor (ucgpt/gas) of a run with the fee market on."""
MARKET_CEILING = "10"
MARKET_TARGET = 400_000
"""Gas per block a run with the fee market on aims at: about the median block of 8 txs (most
use 250,000–650,000 gas), so the price goes both ways."""
MARKET_FAULTS = "feemarket/"
"""Tx faults that need the market on (``feemarket/underpay``): left out of runs without it."""


@dataclass(frozen=True)
class SimConfig:
    """Everything that decides a simulation run (the same config gives the same blocks)."""

    seed: int = 1
    txs_per_block: int = 8
    funded_accounts: int = 8
    """Keys funded at genesis."""
    unfunded_accounts: int = 3
    """Keys the simulation signs with that genesis never funded."""
    simulate_percent: int = 50
    """Share of txs whose gas limit comes from Simulate (the others get DEFAULT_GAS)."""
    queries_per_block: int = 2
    mutate_percent: int = 3
    """Share of txs whose signed bytes are tampered with."""
    byzantine_percent: int = 20
    """Share of CheckTx-rejected txs proposed anyway."""
    hold_percent: int = 5
    """Share of CheckTx-accepted txs kept in the mempool for the next block (rechecked then)."""
    multi_msg_percent: int = 10
    """Share of txs carrying one or two more messages of the same signer."""
    restore_every: int = 8
    """A state-synced replica is restored after every this many heights."""
    min_gas_price: str = "0.0001"
    """The warm node's (node-local) minimum gas price: it changes CheckTx only."""
    skip: tuple[str, ...] = ()
    """Operations and tx faults left out, by qualified name (to look past a known bug)."""
    fee_market: bool = False
    """Genesis turns the fee market on (floor MARKET_FLOOR, target MARKET_TARGET gas per
    block): every tx must pay gas × the moving base price, and the ``feemarket/underpay``
    fault (a fee below it, must fail with ``sdk`` 13) joins the faults."""


@dataclass(frozen=True)
class WarmCall:
    """A node-local call the warm app served before a block: CheckTx, or a query/Simulate."""

    kind: str
    """``check``, ``recheck`` or ``query``."""
    data: bytes
    path: str = ""
    height: int = 0
    """Query height (0: the latest)."""


@dataclass(frozen=True)
class SimBlock:
    """One block of a run: what was proposed and what the warm app served before it."""

    txs: tuple[SimTx, ...]
    warm_calls: tuple[WarmCall, ...] = ()
    byzantine: bool = False
    """Proposed without PrepareProposal (it holds txs CheckTx rejected or that do not decode);
    finalized even when ProcessProposal rejects it: FinalizeBlock must cope with any block."""
    restore_after: bool = False
    """After this block commits, a new replica is restored from a state-sync snapshot."""


class SimFailure(Exception):
    """A violated expectation: divergence, broken invariant, wrong result or crash."""

    def __init__(self, kind: str, height: int, detail: str) -> None:
        super().__init__(f"{kind} at height {height}: {detail}")
        self.kind = kind
        """What broke: ``divergence:cold``, ``invariant:bank/total_supply``, …"""
        self.height = height
        self.detail = detail


@dataclass
class SimStats:
    """Counts of a run, for the report."""

    blocks: int = 0
    txs: int = 0
    """Txs finalized."""
    seconds: float = 0.0
    restores: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    """Txs built per operation (``bank/send``, ``mutated/flip_byte``)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Operations that had nothing to do (no model yet, …)."""
    faults: Counter[str] = field(default_factory=Counter)
    msg_types: Counter[str] = field(default_factory=Counter)
    """Messages built per type URL."""
    results: dict[str, Counter[str]] = field(default_factory=dict)
    """Per operation: finalized result codes (``sdk/0``, ``ai/22``) and ``not-proposed``."""
    fault_results: dict[str, Counter[str]] = field(default_factory=dict)
    """Per tx fault: finalized result codes (``ok``, ``sdk/13``) of the txs proposed, and
    CheckTx's (``check:sdk/13``) for those the proposer left out."""

    def count_result(self, kind: str, label: str) -> None:
        """One more ``label`` result for operation ``kind``."""
        self.results.setdefault(kind, Counter())[label] += 1


@dataclass
class BlockSequences:
    """Per-signer sequence bookkeeping while a block is built."""

    pending: dict[bytes, int] = field(default_factory=dict)
    """The sequence CheckTx expects next (counting the txs it accepted in this block)."""
    placed: Counter[bytes] = field(default_factory=Counter)
    """Txs of each signer placed in the block so far: each may raise its sequence by one."""


@dataclass
class Env:
    """The :class:`~aivm.modules.simulation.SimEnv` operations see while a block is built."""

    rng: random.Random
    ctx: Context
    height: int
    accounts: Sequence[bytes]
    memory: dict[str, dict[str, Any]]
    key_of: Mapping[bytes, PrivKey] = field(default_factory=dict)
    """The run's keys by address: an operation that must sign something besides the tx (a
    payment-channel voucher) reads its signer's key here (``getattr``: not in SimEnv)."""

    def scratch(self, module: str) -> dict[str, Any]:
        """The run-long scratch dict of ``module``."""
        return self.memory.setdefault(module, {})


def sim_keys(config: SimConfig) -> list[PrivKey]:
    """The run's keys: the funded ones first."""
    total = config.funded_accounts + config.unfunded_accounts
    return [
        PrivKey.from_bytes(hashlib.sha256(f"aivm-sim/{config.seed}/{i}".encode()).digest())
        for i in range(total)
    ]


def sim_cons_pubkey(config: SimConfig, index: int) -> bytes:
    """The (never signing) consensus key of genesis validator ``index``."""
    return hashlib.sha256(f"aivm-sim-validator/{config.seed}/{index}".encode()).digest()


def sim_genesis(config: SimConfig) -> GenesisDoc:
    """The seeded genesis: the first funded key holds 10⁵–10⁶ ucgpt (it runs dry), the others
    10¹¹–10¹³ (fees, prices and retention flow into module accounts and never come back: a
    long run must not drain the economy)."""
    keys = sim_keys(config)[: config.funded_accounts]
    balances = []
    for index, key in enumerate(keys):
        digest = hashlib.sha256(f"aivm-sim-balance/{config.seed}/{index}".encode()).digest()
        low, spread = (10**5, 10**6) if index == 0 else (10**11, 10**13)
        amount = low + int.from_bytes(digest[:8], "big") % spread
        balances.append(
            {
                "address": addr_str(key.pubkey.address()),
                "coins": [{"denom": BOND_DENOM, "amount": str(amount)}],
            }
        )
    validator = GenesisValidator(pub_key=hashlib.sha256(b"sim-validator").digest(), power=10)
    app_state: dict[str, Any] = {"bank": {"balances": sorted(balances, key=lambda b: b["address"])}}
    if len(keys) > 1:  # a well-funded key may change params: update_params ops run for real
        app_state["authority"] = {"authority": balances[1]["address"]}
    operators = keys[2 : 2 + SIM_VALIDATORS]
    if operators:  # staking validators from gentxs: their set replaces genesis.json's
        app_state["staking"] = {
            "gen_txs": [
                gentx(addr_str(key.pubkey.address()), sim_cons_pubkey(config, i), 10**10, f"sim{i}")
                for i, key in enumerate(operators)
            ]
        }
    if config.fee_market:
        app_state["feemarket"] = sim_market_genesis(config.seed)
    app_state["verify"] = verify_sim_genesis()
    return GenesisDoc(
        chain_id=CHAIN_ID,
        app_state=app_state,
        genesis_time=GENESIS_TIME,
        validators=[validator],
    )


def sim_market_genesis(seed: int = 1) -> dict[str, Any]:
    """The ``feemarket`` genesis of a run with the market on: floor MARKET_FLOOR, ceiling
    MARKET_CEILING, target MARKET_TARGET gas per block, the price starting at the floor; even
    seeds start with the base fee burned, odd ones paid to the collector (the params
    operation may switch it either way), so both fee paths run whatever the operation mix."""
    return {
        "params": {
            "min_base_gas_price": MARKET_FLOOR,
            "max_base_gas_price": MARKET_CEILING,
            "target_block_utilization": "0.5",
            "max_change_rate": "0.125",
            "burn_base_fee": seed % 2 == 0,
            "enabled": True,
            "block_gas_target": str(MARKET_TARGET),
        },
        "state": {"base_gas_price": MARKET_FLOOR},
    }


def add_sim_votes(
    request: pb.abci.RequestFinalizeBlock,
    validators: list[pb.abci.ValidatorUpdate],
    seed: int,
    height: int,
) -> None:
    """The previous block's votes, decided by (seed, height) alone so that a block replays the
    same: each validator misses a block now and then, and the last one of the set goes down
    for stretches long enough to be jailed for downtime; once in a while a validator is
    reported for a double sign of a recent height."""
    digest = hashlib.sha256(f"aivm-sim-votes/{seed}/{height}".encode()).digest()
    for index, validator in enumerate(validators):
        address = hashlib.sha256(validator.pub_key.ed25519).digest()[:20]
        down = digest[index % 32] < 26  # ~10% of blocks
        if index == len(validators) - 1 and len(validators) > 1:
            down = down or (height // 150) % 3 == 1  # offline for 150 of every 450 blocks
        vote = request.decided_last_commit.votes.add(
            block_id_flag=pb.tm_validator.BLOCK_ID_FLAG_ABSENT
            if down
            else pb.tm_validator.BLOCK_ID_FLAG_COMMIT
        )
        vote.validator.address = address
        vote.validator.power = validator.power
    if validators and digest[31] == 0 and height > 3:  # ~0.4% of blocks: double-sign evidence
        offender = validators[digest[30] % len(validators)]
        evidence = request.misbehavior.add(
            type=pb.abci.DUPLICATE_VOTE,
            height=height - 2,
            total_voting_power=sum(v.power for v in validators),
        )
        evidence.validator.address = hashlib.sha256(offender.pub_key.ed25519).digest()[:20]
        evidence.validator.power = offender.power
        evidence.time.seconds = request.time.seconds - 2 * BLOCK_SECONDS


class Simulation:
    """A seeded chain on the differential replay, driven block by block."""

    def __init__(self, config: SimConfig, workdir: Path) -> None:
        """Start the chain under ``workdir`` (which must be empty) from the seeded genesis."""
        self.config = config
        self._bug_mark = bug_log().mark()
        self.rng = random.Random(config.seed)
        self.keys = sim_keys(config)
        self.key_of = {key.pubkey.address(): key for key in self.keys}
        self.accounts = [key.pubkey.address() for key in self.keys]
        options = AppOptions(min_gas_price=Dec.from_str(config.min_gas_price))
        warm = AivmApp(CommitStore.open(workdir / "warm"), options)
        self.replay = DifferentialReplay.start(
            warm, sim_genesis(config).init_chain_request(), workdir, never_restore
        )
        self.operations: list[NamedOperation] = [
            op for op in discover_operations(warm.modules) if op.name not in config.skip
        ]
        self.faults: list[NamedFault] = [
            f
            for f in discover_tx_faults(warm.modules)
            if f.name not in config.skip
            and (config.fee_market or not f.name.startswith(MARKET_FAULTS))
        ]
        self.invariants: list[NamedInvariant] = discover_invariants(warm.modules)
        burn = warm.fee_policy.burn_account if warm.fee_policy is not None else None
        self.ledger = Ledger.at_genesis(self.state_context(), warm.bank, burn)
        self.genesis_time = parse_time(GENESIS_TIME)[0]
        self.memory: dict[str, dict[str, Any]] = {}
        self.history: list[SimBlock] = []
        self.mempool: list[tuple[SimTx, bytes, int]] = []
        """CheckTx-accepted txs held back for the next block: (tx, signer, sequence)."""
        self.stats = SimStats()
        self._check_bug_log(0)

    @property
    def app(self) -> AivmApp:
        """The warm app."""
        return self.replay.warm

    def close(self) -> None:
        """Close every replica's store."""
        self.replay.close()

    def state_context(self) -> Context:
        """A read-only context over the last committed state (the genesis state before the
        first block, which InitChain left pending)."""
        if self.app.store.version:
            return self.app.query_context(self.app.store.version)
        header = BlockHeader(0, 0, CHAIN_ID)
        return Context(self.app.store.working, GasMeter(None), header, ExecMode.QUERY)

    # -- running ---------------------------------------------------------------------------

    def run(self, blocks: int) -> SimStats:
        """Generate and execute ``blocks`` blocks; raises SimFailure at the first violation.

        Every block generated, the failing one included, is appended to ``history``.
        """
        started = time.perf_counter()
        try:
            for _ in range(blocks):
                block = self.generate_block()
                self.history.append(block)
                self.execute(block, warm_calls_done=True)
        finally:
            self.stats.seconds += time.perf_counter() - started
            self.stats.restores = self.replay.restores
        return self.stats

    def execute(
        self, block: SimBlock, warm_calls_done: bool = False
    ) -> pb.abci.ResponseFinalizeBlock:
        """Serve the block's warm calls (unless generation already did), decide, finalize and
        commit it on every replica, then check results and invariants."""
        height = self.app.store.version + 1
        if not warm_calls_done:
            for call in block.warm_calls:
                self._warm_call(call, height)
        try:
            decided = self._decide(block, height)
            response = self.replay.finalize_block(self._finalize_request(decided, height))
            self.replay.commit(restore=block.restore_after)
        except Divergence as exc:
            raise SimFailure(f"divergence:{exc.replica}", height, str(exc)) from exc
        except SimFailure:
            raise
        except Exception as exc:
            raise SimFailure(f"crash:{type(exc).__name__}", height, traceback.format_exc()) from exc
        self._check_bug_log(height)
        self._check_results(block, decided, response, height)
        self._check_invariants(response, height)
        self.stats.blocks += 1
        self.stats.txs += len(decided)
        return response

    def _decide(self, block: SimBlock, height: int) -> list[bytes]:
        raws = [tx.raw for tx in block.txs]
        if block.byzantine:
            self.replay.process_proposal(pb.abci.RequestProcessProposal(txs=raws, height=height))
            return raws
        prepared = self.app.prepare_proposal(
            pb.abci.RequestPrepareProposal(txs=raws, max_tx_bytes=MAX_TX_BYTES, height=height)
        )
        decided = list(prepared.txs)
        status = self.replay.process_proposal(
            pb.abci.RequestProcessProposal(txs=decided, height=height)
        )
        if status.status != pb.abci.ResponseProcessProposal.ACCEPT:
            raise SimFailure(
                "proposal-rejected", height, "ProcessProposal rejected the app's own proposal"
            )
        return decided

    def _finalize_request(self, txs: list[bytes], height: int) -> pb.abci.RequestFinalizeBlock:
        block_hash = hashlib.sha256(f"aivm-sim-block/{self.config.seed}/{height}".encode())
        request = pb.abci.RequestFinalizeBlock(txs=txs, height=height, hash=block_hash.digest())
        request.time.seconds = self.genesis_time + BLOCK_SECONDS * height
        if height > 1:
            add_sim_votes(request, self.app.validators(), self.config.seed, height)
        return request

    def _warm_call(
        self, call: WarmCall, height: int
    ) -> pb.abci.ResponseCheckTx | pb.abci.ResponseQuery:
        """Serve one node-local call on the warm app; it must never raise nor fail internally."""
        try:
            if call.kind in ("check", "recheck"):
                kind = pb.abci.NEW if call.kind == "check" else pb.abci.RECHECK
                response: Any = self.app.check_tx(pb.abci.RequestCheckTx(tx=call.data, type=kind))
            else:
                request = pb.abci.RequestQuery(path=call.path, data=call.data, height=call.height)
                response = self.app.query(request)
        except Exception as exc:
            raise SimFailure(f"crash:{call.kind}", height, traceback.format_exc()) from exc
        if response.code == 1 and response.codespace == UNDEFINED_CODESPACE:
            raise SimFailure(f"internal-error:{call.kind}", height, f"{call.path} {response.log}")
        return response

    # -- checks ----------------------------------------------------------------------------

    def _check_results(
        self,
        block: SimBlock,
        decided: list[bytes],
        response: pb.abci.ResponseFinalizeBlock,
        height: int,
    ) -> None:
        pending: dict[bytes, list[SimTx]] = {}
        for tx in block.txs:
            pending.setdefault(tx.raw, []).append(tx)
        for raw, result in zip(decided, response.tx_results, strict=True):
            tx = pending[raw].pop(0)
            label = result_label(result.codespace, result.code)
            self.stats.count_result(tx.kind, label)
            self.stats.fault_results.setdefault(tx.fault, Counter())[label] += 1
            if result.code == 1 and result.codespace == UNDEFINED_CODESPACE:
                raise SimFailure("internal-error", height, f"{tx.kind}: {result.log}")
            if result.code and lookup(result.codespace, result.code) is None:
                raise SimFailure("unregistered-code", height, f"{tx.kind}: {label} {result.log}")
            if tx.must_fail and result.code == 0:
                raise SimFailure(
                    f"accepted:{tx.fault}",
                    height,
                    f"{tx.kind} with fault {tx.fault} succeeded (tx {raw.hex()})",
                )

    def _check_bug_log(self, height: int) -> None:
        """SimFailure ``bug-log`` when the app logged a ``BUG`` line since the last check."""
        mark, self._bug_mark = self._bug_mark, bug_log().mark()
        found = bug_log().since(mark)
        if found:
            raise SimFailure("bug-log", height, "; ".join(found[:5]))

    def _check_invariants(self, response: pb.abci.ResponseFinalizeBlock, height: int) -> None:
        ctx = self.app.query_context(height)
        broken = {inv.name: _checked(inv, ctx) for inv in self.invariants}
        broken.update(self.ledger.check_block(ctx, response.tx_results, response.events))
        for name, problems in broken.items():
            if problems:
                raise SimFailure(f"invariant:{name}", height, "; ".join(problems[:5]))

    # -- generation ------------------------------------------------------------------------

    def generate_block(self) -> SimBlock:
        """Build the next block's txs, serving CheckTx, Simulate and queries on the warm app.

        When a warm-app call fails while the block is built, the block so far (its calls up to
        the failing one) is appended to ``history`` before SimFailure propagates, so the failure
        can be replayed.
        """
        calls: list[WarmCall] = []
        txs: list[SimTx] = []
        try:
            return self._generate_block(calls, txs)
        except SimFailure:
            self.history.append(SimBlock(tuple(txs), tuple(calls)))
            raise

    def _generate_block(self, calls: list[WarmCall], txs: list[SimTx]) -> SimBlock:
        height = self.app.store.version + 1
        env = Env(self.rng, self.state_context(), height, self.accounts, self.memory, self.key_of)
        sequences = BlockSequences()
        txs.extend(self._recheck_mempool(height, sequences, calls))
        rejected_included = False
        for _ in range(self.config.txs_per_block):
            built = self._build_tx(env, sequences, calls)
            if built is None:
                continue
            tx, signer, sequence = built
            calls.append(WarmCall("check", tx.raw))
            check = self._warm_call(calls[-1], height)
            if check.code == 0 and not tx.kind.startswith("mutated/"):
                sequences.pending[signer] = sequence + 1
            if check.code == 0 and self.rng.randrange(100) < self.config.hold_percent:
                self.mempool.append((tx, signer, sequence))
            elif check.code == 0 or self.rng.randrange(100) < self.config.byzantine_percent:
                txs.append(tx)
                sequences.placed[signer] += 1
                rejected_included |= check.code != 0
            else:
                self.stats.count_result(tx.kind, "not-proposed")
                checked = result_label(check.codespace, check.code)
                self.stats.fault_results.setdefault(tx.fault, Counter())[f"check:{checked}"] += 1
        for _ in range(self.config.queries_per_block):
            call = self._random_query(height)
            calls.append(call)
            self._warm_call(call, height)
        restore = height % self.config.restore_every == 0
        return SimBlock(tuple(txs), tuple(calls), rejected_included, restore)

    def _recheck_mempool(
        self, height: int, sequences: BlockSequences, calls: list[WarmCall]
    ) -> list[SimTx]:
        """Recheck the txs held back from earlier blocks; propose those that still pass."""
        kept: list[SimTx] = []
        for tx, signer, sequence in self.mempool:
            call = WarmCall("recheck", tx.raw)
            calls.append(call)
            if self._warm_call(call, height).code == 0:
                kept.append(tx)
                sequences.pending[signer] = sequence + 1
                sequences.placed[signer] += 1
            else:
                self.stats.count_result(tx.kind, "dropped-on-recheck")
        self.mempool = []
        return kept

    def _random_query(self, height: int) -> WarmCall:
        path, data = random_query(self.rng, self.app.router.queries, self.accounts)
        past = self.rng.randrange(1, height) if height > 1 and self.rng.randrange(4) == 0 else 0
        return WarmCall("query", data, path, past)

    def _build_tx(
        self, env: Env, sequences: BlockSequences, calls: list[WarmCall]
    ) -> tuple[SimTx, bytes, int] | None:
        operation = self._pick_operation()
        msgs = list(operation.run(env) or [])
        if not msgs:
            self.stats.skipped[operation.name] += 1
            return None
        signer = self._signer_of(msgs[0])
        kind = operation.name
        if self.rng.randrange(100) < self.config.multi_msg_percent:
            msgs += self._more_msgs(env, signer)
            kind = "multi-msg" if len(msgs) > 1 else kind
        key = self.key_of.get(signer) or self.keys[self.rng.randrange(len(self.keys))]
        fields = self._honest_fields(env, signer, key, msgs, sequences, calls)
        fault = self._pick_fault()
        fields = fault.fault.apply(env, fields)
        raw = sign_fields(msgs, key, fields)
        must_fail = fault.fault.must_fail
        fault_name = fault.name
        if self.rng.randrange(100) < self.config.mutate_percent:
            how, raw = mutate(self.rng, raw)
            kind, must_fail = f"mutated/{how}", True
            fault_name = "mutated"  # its results are not an honest tx's (fault "none")
        self.stats.ops[kind] += 1
        self.stats.faults[fault.name] += 1
        self.stats.msg_types.update(pb.type_url(msg) for msg in msgs)
        return SimTx(raw, kind, fault_name, must_fail), signer, fields["sequence"]

    def _more_msgs(self, env: Env, signer: bytes) -> list[pb.Message]:
        """One or two more messages signed by ``signer`` (operations see only that account)."""
        alone = Env(env.rng, env.ctx, env.height, [signer], env.memory, env.key_of)
        extra: list[pb.Message] = []
        for _ in range(self.rng.randrange(1, 3)):
            msgs = self._pick_operation().run(alone) or []
            extra.extend(m for m in msgs if self._signer_of(m) == signer)
        return extra

    def _pick_operation(self) -> NamedOperation:
        return self.rng.choices(self.operations, [op.weight for op in self.operations])[0]

    def _pick_fault(self) -> NamedFault:
        return self.rng.choices(self.faults, [f.fault.weight for f in self.faults])[0]

    def _signer_of(self, msg: pb.Message) -> bytes:
        """The first signer the message's route names (any account when it names none)."""
        route = self.app.router.msgs.get(pb.type_url(msg))
        try:
            signers = list(route.signers(msg)) if route is not None else []
        except AivmError:
            signers = []
        return signers[0] if signers else self.rng.choice(self.accounts)

    def _honest_fields(
        self,
        env: Env,
        signer: bytes,
        key: PrivKey,
        msgs: Sequence[pb.Message],
        sequences: BlockSequences,
        calls: list[WarmCall],
    ) -> TxFields:
        account = self.app.accounts.get_account(env.ctx, signer)
        number = account.account_number if account else self.rng.randrange(0, 50)
        committed = account.sequence if account else 0
        sequence = sequences.pending.get(signer, committed)
        fee = self.rng.randrange(0, 5_000)
        gas = DEFAULT_GAS
        if self.rng.randrange(100) < self.config.simulate_percent:
            gas = self._estimate_gas(Signer(key, number, sequence), msgs, fee, calls)
        fee = max(fee, self._market_fee(env, gas))
        return TxFields(
            signer=signer,
            sequence=sequence,
            reachable_sequence=committed + sequences.placed[signer],
            account_number=number,
            chain_id=CHAIN_ID,
            gas_limit=gas,
            fee=fee,
            fee_denom=BOND_DENOM,
            memo="",
            timeout_height=0,
            sign=True,
        )

    def _market_fee(self, env: Env, gas: int) -> int:
        """What the fee market requires for ``gas`` now (0 without a market or when off)."""
        market = self.app.fee_policy
        return 0 if market is None else required_fee(market.base_gas_price(env.ctx), gas)

    def _estimate_gas(
        self, signer: Signer, msgs: Sequence[pb.Message], fee: int, calls: list[WarmCall]
    ) -> int:
        """Simulate on the warm app, times a client's adjustment of 1.0–1.5."""
        unsigned = unsigned_tx(msgs, [signer], [Coin(BOND_DENOM, fee)] if fee else [])
        data = pb.tx_service.SimulateRequest(tx_bytes=unsigned).SerializeToString()
        call = WarmCall("query", bytes(data), SIMULATE_PATH)
        calls.append(call)
        response = self._warm_call(call, self.app.store.version + 1)
        if response.code != 0:
            return DEFAULT_GAS
        used = int(pb.tx_service.SimulateResponse.FromString(response.value).gas_info.gas_used)
        return used * self.rng.randrange(100, 151) // 100


def _checked(invariant: NamedInvariant, ctx: Context) -> list[str]:
    """The invariant's violations; a state it cannot even read is one too."""
    try:
        return invariant.check(ctx)
    except Exception as exc:
        return [f"the check raised {type(exc).__name__}: {exc}"]


def result_label(codespace: str, code: int) -> str:
    """``sdk/0`` style label of a result code (code 0 is always ``ok``)."""
    return "ok" if code == 0 else f"{codespace or UNDEFINED_CODESPACE}/{code}"
