"""Proof-of-stake block overhead and F1 reward withdrawals, through the real app.

The script builds, in one process, an ``AivmApp`` on a temporary ``CommitStore``:

- genesis: ``--validators`` validators from staking ``gen_txs`` (self-bonds of 1,000 CGPT and
  up, so every power differs), ``--delegations`` / ``--per-delegator`` funded delegator
  accounts, the SDK's default mint (inflation on), slashing and distribution defaults, and the
  fee market on (floor 0.0025 ucgpt/gas, the devnet's minimum gas price);
- the delegations: every delegator signs one tx of ``--per-delegator`` MsgDelegate (to
  different validators), delivered through FinalizeBlock + Commit in blocks of
  ``--build-block-txs`` txs (no write behind the app's back: staking, distribution and
  slashing see the delegations as on a live chain).

Every block carries the previous block's votes of the whole set (``decided_last_commit``), so
slashing's liveness tracking and distribution's allocation run for every validator. Then:

1. ``--blocks`` empty blocks, then ``--load-blocks`` blocks of ``--load-txs`` signed MsgSend
   (default 2,450: the devnet load benchmark's median committed tx/s in README.md, at its
   1 s blocks). The module manager's BeginBlock and EndBlock (every module, and each module
   apart) and FinalizeBlock + Commit are timed. The goal (issue 13): BeginBlock + EndBlock
   ≤ 5 % of a block's time at the devnet's rate, taken two ways, both measured in this run:
   against the FinalizeBlock + Commit time of the loaded blocks (in-process, the stricter)
   and against the devnet's 1 s block interval.
2. F1: three probe delegators delegate in one block; after ``--withdraw-after`` blocks (10,
   100, 1,000 by default) each withdraws its reward (MsgWithdrawDelegatorReward). Its gas
   (delivered) and wall time (median of repeated ``simulate`` runs on the committed state)
   must not grow with the number of blocks since the delegation.

The store keeps every version by default (``PruningOptions.nothing()``, what the node opens).
Each delegation that changes a validator's power deletes a power-index key; reads at the
latest version go through the store's ``latest`` index (ADR 0016), so staking's EndBlock scan
of the power-index head does not step over those dead keys. ``--pruning everything`` (keep 2
versions, prune every 10) shows the cost with pruning, for comparison.

One JSON object goes to stdout, progress and a readable summary to stderr. ``--profile FILE``
writes a cProfile of the measured blocks' BeginBlock + EndBlock (``pstats`` format) and prints
the top entries.

Usage: .venv/bin/python benchmarks/staking.py [--quick] [--validators 100]
       [--delegations 100000] [--per-delegator 1] [--pruning nothing|everything]
       [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.app.manager import BlockHookResult
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.keys import PrivKey
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.queries import QUERY_GAS_PRICE
from aivm.modules.framework import BlockHeader
from aivm.modules.staking.genesis import gentx
from aivm.modules.staking.keeper import StakingKeeper
from aivm.store import CommitStore, PruningOptions
from aivm.store.kv import KVStore
from aivm.types import pb
from aivm.types.address import acc_address, valoper_address
from aivm.types.coin import Coin
from aivm.types.dec import Dec

CHAIN_ID = "aivm-bench-staking-1"
DENOM = "ucgpt"
CGPT = 1_000_000
GENESIS_TIME_S = 1_790_000_000
DEVNET_TX_PER_S = 2450
"""Median committed tx/s of ``benchmarks/devnet_load.py`` (README.md, 1 s blocks)."""
DEVNET_BLOCK_MS = 1000.0
GOAL = 0.05


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"# {message}", file=sys.stderr, flush=True)


def key(kind: str, i: int) -> PrivKey:
    """Deterministic key ``i`` of ``kind``."""
    return PrivKey.from_bytes(hashlib.sha256(b"staking-bench-%s-%d" % (kind.encode(), i)).digest())


def cons_pubkey(i: int) -> bytes:
    """Deterministic ed25519-sized consensus key of validator ``i`` (never signs here)."""
    return hashlib.sha256(b"staking-bench-cons-%d" % i).digest()


def gas_price(app: AivmApp) -> Dec:
    """The fee market's current base gas price (``/aivm.feemarket.v1.Query/GasPrice``)."""
    response = app.query(pb.abci.RequestQuery(path=QUERY_GAS_PRICE))
    price = feemarket_pb2.QueryGasPriceResponse.FromString(response.value).price
    if not price.amount:
        return Dec.zero()
    return Dec.from_str(price.amount) if "." in price.amount else Dec.from_proto_str(price.amount)


def fee(gas: int, price: Dec) -> list[Coin]:
    """Twice the base price for ``gas`` (the price moves by at most 12.5 % a block)."""
    return [Coin(DENOM, price.mul_int(2 * gas).ceil().truncate_int())]


@dataclass
class Timings:
    """Per-block wall times (ms) of the module manager's hooks, per module and in all."""

    begin: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    modules: dict[str, list[float]] = field(default_factory=dict)
    profile: cProfile.Profile | None = None
    recording: bool = False

    def reset(self) -> None:
        """Forget what was recorded."""
        self.begin, self.end, self.modules = [], [], {}


def instrument(app: AivmApp, timings: Timings) -> None:
    """Time every BeginBlock/EndBlock hook and the two manager calls (instance patches)."""
    manager = app.manager

    def wrap_hook(mode: str, name: str, hook: Callable[..., Any]) -> Callable[..., Any]:
        def timed(ctx: Any) -> Any:
            start = time.perf_counter()
            try:
                return hook(ctx)
            finally:
                if timings.recording:
                    ms = (time.perf_counter() - start) * 1000
                    timings.modules.setdefault(f"{mode}:{name}", []).append(ms)

        return timed

    manager._begin_hooks = [(n, wrap_hook("begin", n, h)) for n, h in manager._begin_hooks]
    manager._end_hooks = [(n, wrap_hook("end", n, h)) for n, h in manager._end_hooks]

    def wrap_call(
        call: Callable[[KVStore, BlockHeader], BlockHookResult], sink: Callable[[], list[float]]
    ) -> Callable[[KVStore, BlockHeader], BlockHookResult]:
        def timed(working: KVStore, header: BlockHeader) -> BlockHookResult:
            profile = timings.profile if timings.recording else None
            start = time.perf_counter()
            if profile is not None:
                profile.enable()
            try:
                return call(working, header)
            finally:
                if profile is not None:
                    profile.disable()
                if timings.recording:
                    sink().append((time.perf_counter() - start) * 1000)

        return timed

    manager.begin_block = wrap_call(manager.begin_block, lambda: timings.begin)  # type: ignore[method-assign,assignment]
    manager.end_block = wrap_call(manager.end_block, lambda: timings.end)  # type: ignore[method-assign,assignment]


@dataclass
class Driver:
    """Drives the app block by block as CometBFT would (everyone signs the last block)."""

    app: AivmApp
    height: int = 0
    time_s: int = GENESIS_TIME_S
    finalize_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)

    def block(self, txs: Sequence[bytes]) -> pb.abci.ResponseFinalizeBlock:
        """FinalizeBlock + Commit of ``txs``; every tx must succeed."""
        previous_set = self.app.validators() if self.height else []
        self.height += 1
        self.time_s += 1
        request = pb.abci.RequestFinalizeBlock(
            txs=list(txs), height=self.height, hash=hashlib.sha256(b"%d" % self.height).digest()
        )
        request.time.seconds = self.time_s
        for validator in previous_set:
            vote = request.decided_last_commit.votes.add(
                block_id_flag=pb.tm_validator.BLOCK_ID_FLAG_COMMIT
            )
            vote.validator.address = hashlib.sha256(validator.pub_key.ed25519).digest()[:20]
            vote.validator.power = validator.power
        start = time.perf_counter()
        response = self.app.finalize_block(request)
        mid = time.perf_counter()
        self.app.commit(pb.abci.RequestCommit())
        end = time.perf_counter()
        self.finalize_ms.append((mid - start) * 1000)
        self.commit_ms.append((end - mid) * 1000)
        failed = [r.log for r in response.tx_results if r.code != 0]
        assert not failed, failed[:3]
        return response


@dataclass
class Setup:
    """The sizes of one run."""

    validators: int
    delegations: int
    per_delegator: int
    build_block_txs: int
    blocks: int
    load_blocks: int
    load_txs: int
    withdraw_after: tuple[int, ...]
    repeats: int
    pruning: str = "nothing"

    @property
    def delegators(self) -> int:
        """Delegator accounts (each signs one tx of ``per_delegator`` delegations)."""
        return -(-self.delegations // self.per_delegator)


PROBES = 3
"""Withdrawal probe accounts (keys ``probe-0…``): one per ``withdraw_after`` entry."""


def genesis(setup: Setup) -> GenesisDoc:
    """Operators and delegators funded and numbered, gen_txs, fee market on."""
    operators = [key("operator", i).pubkey.address() for i in range(setup.validators)]
    delegators = [key("delegator", i).pubkey.address() for i in range(setup.delegators)]
    probes = [key("probe", i).pubkey.address() for i in range(len(setup.withdraw_after))]
    funded = [(a, 10**6 * CGPT) for a in operators] + [(a, 10**4 * CGPT) for a in delegators]
    funded += [(a, 10**4 * CGPT) for a in probes]
    return GenesisDoc(
        chain_id=CHAIN_ID,
        genesis_time="2026-09-21T00:00:00Z",
        app_state={
            "auth": {
                "accounts": [
                    {
                        "@type": "/cosmos.auth.v1beta1.BaseAccount",
                        "address": acc_address(address),
                        "account_number": str(number),
                        "sequence": "0",
                    }
                    for number, (address, _) in enumerate(funded)
                ]
            },
            "bank": {
                "balances": [
                    {"address": acc_address(a), "coins": [{"denom": DENOM, "amount": str(n)}]}
                    for a, n in sorted(funded)
                ]
            },
            "staking": {
                "gen_txs": [
                    gentx(acc_address(a), cons_pubkey(i), (1000 + i) * CGPT, f"v{i}")
                    for i, a in enumerate(operators)
                ]
            },
            "feemarket": {
                "params": {
                    "enabled": True,
                    "min_base_gas_price": "0.002500000000000000",
                    "max_base_gas_price": "100.000000000000000000",
                },
                "state": {"base_gas_price": "0.002500000000000000", "last_block_gas_used": "0"},
            },
        },
    )


def delegate_msg(delegator: bytes, operator: bytes, amount: int) -> pb.Message:
    """MsgDelegate of ``amount`` ucgpt."""
    return pb.staking_tx.MsgDelegate(
        delegator_address=acc_address(delegator),
        validator_address=valoper_address(operator),
        amount=pb.coin.Coin(denom=DENOM, amount=str(amount)),
    )


def delegation_txs(setup: Setup, delegators: range, price: Dec) -> list[bytes]:
    """The txs of ``delegators``: each ``per_delegator`` MsgDelegate to consecutive
    validators (the last delegator may have fewer, to make ``delegations`` in all)."""
    operators = [key("operator", i).pubkey.address() for i in range(setup.validators)]
    txs = []
    for d in delegators:
        k = key("delegator", d)
        count = min(setup.per_delegator, setup.delegations - d * setup.per_delegator)
        msgs = [
            delegate_msg(
                k.pubkey.address(),
                operators[(d + j) % setup.validators],
                CGPT * (1 + (d * 7 + j) % 10),
            )
            for j in range(count)
        ]
        gas = 200_000 * count
        number = setup.validators + d
        txs.append(
            sign_tx(msgs, [Signer(k, number, 0)], CHAIN_ID, fee=fee(gas, price), gas_limit=gas)
        )
    return txs


def build(setup: Setup, path: Path, timings: Timings) -> Driver:
    """InitChain, then deliver every delegation through FinalizeBlock + Commit."""
    start = time.perf_counter()
    pruning = PruningOptions.everything() if setup.pruning == "everything" else None
    app = AivmApp(CommitStore.open(path, pruning))
    instrument(app, timings)
    app.init_chain(genesis(setup).init_chain_request())
    driver = Driver(app)
    driver.block([])
    log(f"genesis with {setup.validators} validators in {time.perf_counter() - start:.1f}s")
    step = setup.build_block_txs
    for first in range(0, setup.delegators, step):
        batch = range(first, min(first + step, setup.delegators))
        driver.block(delegation_txs(setup, batch, gas_price(app)))
        if (first // step) % 10 == 9 or batch.stop == setup.delegators:
            done = f"{batch.stop}/{setup.delegators}"
            log(f"delivered {done} delegation txs ({time.perf_counter() - start:.0f}s)")
    counted = count_delegations(app) - setup.validators  # less the gentx self-delegations
    assert counted == setup.delegations, (counted, setup.delegations)
    return driver


def count_delegations(app: AivmApp) -> int:
    """Delegations in the committed state."""
    keeper = app.manager.keepers.get("staking", StakingKeeper)
    ctx = app.query_context(app.store.version)
    return sum(1 for _ in keeper.iterate_all_delegations(ctx))


def send_txs(setup: Setup, sequence: int, offset: int, price: Dec) -> list[bytes]:
    """``load_txs`` signed sends, from delegators ``0…load_txs-1`` at ``sequence``."""
    txs = []
    for i in range(setup.load_txs):
        k = key("delegator", i)
        recipient = key("delegator", (i + 1 + offset) % setup.delegators).pubkey.address()
        txs.append(
            sign_tx(
                [bank_send(k.pubkey.address(), recipient, [Coin(DENOM, 1)])],
                [Signer(k, setup.validators + i, sequence)],
                CHAIN_ID,
                fee=fee(100_000, price),
                gas_limit=100_000,
            )
        )
    return txs


def p50(values: Sequence[float]) -> float:
    """Median, rounded to 0.01."""
    return round(statistics.median(values), 2) if values else 0.0


def measure_blocks(
    driver: Driver, timings: Timings, batches: Sequence[Sequence[bytes]]
) -> dict[str, Any]:
    """Run one block per batch with the timers on; medians per block."""
    timings.reset()
    driver.finalize_ms, driver.commit_ms = [], []
    timings.recording = True
    for txs in batches:
        driver.block(txs)
    timings.recording = False
    totals = [f + c for f, c in zip(driver.finalize_ms, driver.commit_ms, strict=True)]
    hooks = [b + e for b, e in zip(timings.begin, timings.end, strict=True)]
    modules = {name: p50(values) for name, values in sorted(timings.modules.items())}
    return {
        "blocks": len(batches),
        "txs_per_block": len(batches[0]) if batches else 0,
        "begin_block_ms_p50": p50(timings.begin),
        "end_block_ms_p50": p50(timings.end),
        "begin_plus_end_ms_p50": p50(hooks),
        "finalize_plus_commit_ms_p50": p50(totals),
        "modules_ms_p50": {k: v for k, v in modules.items() if v >= 0.01},
    }


def withdraw_tx(probe: int, operator: bytes, number: int, sequence: int, price: Dec) -> bytes:
    """Probe ``probe`` withdraws its reward from ``operator``."""
    k = key("probe", probe)
    msg = pb.distribution_tx.MsgWithdrawDelegatorReward(
        delegator_address=acc_address(k.pubkey.address()),
        validator_address=valoper_address(operator),
    )
    return sign_tx(
        [msg], [Signer(k, number, sequence)], CHAIN_ID, fee=fee(300_000, price), gas_limit=300_000
    )


def measure_withdrawals(setup: Setup, driver: Driver) -> list[dict[str, Any]]:
    """Probes delegate in one block; probe i withdraws ``withdraw_after[i]`` blocks later."""
    operator = key("operator", 0).pubkey.address()
    first_number = setup.validators + setup.delegators
    probes = range(len(setup.withdraw_after))
    driver.block(
        [
            sign_tx(
                [delegate_msg(key("probe", p).pubkey.address(), operator, 100 * CGPT)],
                [Signer(key("probe", p), first_number + p, 0)],
                CHAIN_ID,
                fee=fee(300_000, gas_price(driver.app)),
                gas_limit=300_000,
            )
            for p in probes
        ]
    )
    delegated_at = driver.height
    results = []
    for p in sorted(probes, key=lambda p: setup.withdraw_after[p]):
        while driver.height + 1 - delegated_at < setup.withdraw_after[p]:
            driver.block([])
        raw = withdraw_tx(p, operator, first_number + p, 1, gas_price(driver.app))
        walls = []
        for _ in range(setup.repeats):
            start = time.perf_counter()
            outcome, simulated_gas = driver.app.simulate(raw)
            walls.append((time.perf_counter() - start) * 1000)
            assert outcome.code == 0, outcome.log
        response = driver.block([raw])
        reward = sum(
            int(a.value.removesuffix(DENOM) or 0)
            for e in response.tx_results[0].events
            if e.type == "withdraw_rewards"
            for a in e.attributes
            if a.key == "amount"
        )
        results.append(
            {
                "blocks_since_delegation": driver.height - delegated_at,
                "gas_used": response.tx_results[0].gas_used,
                "simulate_gas": simulated_gas,
                "wall_ms_p50": p50(walls),
                "reward_ucgpt": reward,
            }
        )
        log(f"withdrawal after {results[-1]['blocks_since_delegation']} blocks: {results[-1]}")
    return results


def top_costs(profile: cProfile.Profile, limit: int = 15) -> list[str]:
    """The ``limit`` functions with the most cumulative time, as pstats prints them."""
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return lines[start : start + limit + 1]


def run(setup: Setup, workdir: Path, profile_path: Path | None) -> dict[str, Any]:
    """Build the state, measure the blocks and the withdrawals, return the figures."""
    timings = Timings()
    path = workdir / "state"
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    driver = build(setup, path, timings)
    build_s = time.perf_counter() - t0
    log(f"state built in {build_s:.0f}s; measuring {setup.blocks} empty blocks")
    if profile_path is not None:
        timings.profile = cProfile.Profile()
    empty = measure_blocks(driver, timings, [[] for _ in range(setup.blocks)])
    log(f"empty blocks: {empty}")
    price = gas_price(driver.app)
    batches = [send_txs(setup, 1 + b, b, price) for b in range(setup.load_blocks)]
    loaded = measure_blocks(driver, timings, batches)
    log(f"loaded blocks: {loaded}")
    profile, timings.profile = timings.profile, None
    withdrawals = measure_withdrawals(setup, driver)
    driver.app.store.close()
    overhead = loaded["begin_plus_end_ms_p50"]
    in_process = loaded["finalize_plus_commit_ms_p50"]
    result: dict[str, Any] = {
        "validators": setup.validators,
        "delegations": setup.delegations,
        "delegators": setup.delegators,
        "delegations_written_by": "MsgDelegate txs through FinalizeBlock",
        "pruning": setup.pruning,
        "build_s": round(build_s, 1),
        "empty_blocks": empty,
        "loaded_blocks": loaded,
        "reference": {
            "devnet_tx_per_s": DEVNET_TX_PER_S,
            "devnet_block_ms": DEVNET_BLOCK_MS,
            "loaded_block_in_process_ms": in_process,
            "load_tx_per_s_in_process": round(setup.load_txs / in_process * 1000, 1)
            if in_process
            else 0,
        },
        "overhead_vs_loaded_block": round(overhead / in_process, 4) if in_process else 0,
        "overhead_vs_devnet_block": round(overhead / DEVNET_BLOCK_MS, 4),
        "empty_overhead_vs_loaded_block": round(empty["begin_plus_end_ms_p50"] / in_process, 4)
        if in_process
        else 0,
        "withdrawals": withdrawals,
    }
    result["goal_met_vs_loaded_block"] = result["overhead_vs_loaded_block"] <= GOAL
    result["goal_met_vs_devnet_block"] = result["overhead_vs_devnet_block"] <= GOAL
    gases = [w["gas_used"] for w in withdrawals]
    walls = [w["wall_ms_p50"] for w in withdrawals]
    result["withdrawal_gas_spread"] = max(gases) - min(gases) if gases else 0
    result["withdrawal_wall_ratio_max_min"] = round(max(walls) / min(walls), 2) if walls else 0
    if profile is not None and profile_path is not None:
        profile.dump_stats(str(profile_path))
        result["profile_top"] = top_costs(profile)
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines of the result."""
    loaded, empty = result["loaded_blocks"], result["empty_blocks"]
    lines = [
        f"{result['validators']} validators, {result['delegations']} delegations "
        f"({result['delegators']} delegators), state built in {result['build_s']}s, "
        f"pruning {result['pruning']}",
        f"empty block: BeginBlock {empty['begin_block_ms_p50']} ms + EndBlock "
        f"{empty['end_block_ms_p50']} ms; FinalizeBlock+Commit "
        f"{empty['finalize_plus_commit_ms_p50']} ms",
        f"block of {loaded['txs_per_block']} MsgSend: BeginBlock {loaded['begin_block_ms_p50']} "
        f"ms + EndBlock {loaded['end_block_ms_p50']} ms; FinalizeBlock+Commit "
        f"{loaded['finalize_plus_commit_ms_p50']} ms",
        f"overhead / loaded block (in-process): {result['overhead_vs_loaded_block']:.2%} "
        f"(goal ≤ {GOAL:.0%}: {'met' if result['goal_met_vs_loaded_block'] else 'NOT met'})",
        f"overhead / devnet 1 s block: {result['overhead_vs_devnet_block']:.2%} "
        f"(goal ≤ {GOAL:.0%}: {'met' if result['goal_met_vs_devnet_block'] else 'NOT met'})",
    ]
    for w in result["withdrawals"]:
        lines.append(
            f"withdrawal after {w['blocks_since_delegation']} blocks: gas {w['gas_used']}, "
            f"{w['wall_ms_p50']} ms (simulate p50)"
        )
    return lines


def setup_from(args: argparse.Namespace) -> Setup:
    """Sizes from the arguments (``--quick``: a small state, for a smoke run)."""
    if args.quick:
        return Setup(20, 400, 2, 100, 5, 2, 100, (2, 5, 10), 3, args.pruning)
    return Setup(
        validators=args.validators,
        delegations=args.delegations,
        per_delegator=args.per_delegator,
        build_block_txs=args.build_block_txs,
        blocks=args.blocks,
        load_blocks=args.load_blocks,
        load_txs=args.load_txs,
        withdraw_after=tuple(int(x) for x in args.withdraw_after.split(",")),
        repeats=args.repeats,
        pruning=args.pruning,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run, print the JSON object (stdout) and a summary (stderr)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small state (smoke run, seconds)")
    parser.add_argument("--validators", type=int, default=100)
    parser.add_argument("--delegations", type=int, default=100_000)
    parser.add_argument("--per-delegator", type=int, default=1, help="MsgDelegate per tx")
    parser.add_argument("--build-block-txs", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=20, help="empty blocks measured")
    parser.add_argument("--load-blocks", type=int, default=3)
    parser.add_argument("--load-txs", type=int, default=DEVNET_TX_PER_S, help="MsgSend per block")
    parser.add_argument("--withdraw-after", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=20, help="simulate runs per withdrawal")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output file")
    parser.add_argument(
        "--pruning",
        choices=("nothing", "everything"),
        default="nothing",
        help="state pruning (default: the node's, keep every version)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    setup = setup_from(args)
    assert setup.load_txs <= setup.delegators, "--load-txs needs that many delegators"
    assert len(setup.withdraw_after) <= PROBES, f"at most {PROBES} --withdraw-after values"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aivm-bench-staking-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run(setup, workdir, args.profile)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    for line in summary(result):
        log(line)
    for line in result.get("profile_top", []):
        print(line, file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
