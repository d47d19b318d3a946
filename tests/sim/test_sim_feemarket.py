"""The randomized simulation with the fee market on (``SimConfig(fee_market=True)``): every tx
pays gas × the moving base price, runs stay clean (replicas agree, invariants hold, the
ledger's fee accounting survives the burn switch), the price follows the EIP-1559 rule at every
height and goes both up and down, and txs with the ``feemarket/underpay`` fault never succeed
(CheckTx and FinalizeBlock refuse them with ``sdk`` 13 unless another check fails first)."""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.keeper import next_base_gas_price
from aivm.modules.feemarket.params import FeeMarketParams
from aivm.sim.report import describe_blocks
from aivm.sim.runner import SimConfig, SimFailure, Simulation
from aivm.sim.shrink import Shrinker
from aivm.types import pb
from aivm.types.dec import Dec

SEEDS = (1, 2, 3)
BLOCKS = 80
UNDERPAY = "feemarket/underpay"


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="aivm-sim-market-") as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class MarketBlock:
    """The market as the chain's own queries report it after one block."""

    height: int
    price: Dec
    gas_used: int
    params: FeeMarketParams


def query(simulation: Simulation, path: str, height: int) -> bytes:
    response = simulation.app.query(pb.abci.RequestQuery(path=path, height=height))
    assert response.code == 0, response.log
    return bytes(response.value)


def market_history(simulation: Simulation) -> list[MarketBlock]:
    """State and Params at every height, from ``/aivm.feemarket.v1.Query/*``."""
    history = []
    for height in range(1, simulation.app.store.version + 1):
        raw_state = query(simulation, "/aivm.feemarket.v1.Query/State", height)
        raw_params = query(simulation, "/aivm.feemarket.v1.Query/Params", height)
        state = feemarket_pb2.QueryStateResponse.FromString(raw_state).state
        params = feemarket_pb2.QueryParamsResponse.FromString(raw_params).params
        history.append(
            MarketBlock(
                height,
                Dec.from_str(state.base_gas_price),
                int(state.last_block_gas_used),
                FeeMarketParams.from_proto(params),
            )
        )
    return history


def run_market(seed: int, workdir: Path) -> tuple[Simulation, list[MarketBlock]]:
    """Run BLOCKS blocks with the market on; a failure fails the test, shrunk."""
    config = SimConfig(seed=seed, fee_market=True)
    simulation = Simulation(config, workdir)
    try:
        simulation.run(BLOCKS)
        return simulation, market_history(simulation)
    except SimFailure as failure:
        shrunk = Shrinker(config, failure.kind, max_replays=100).shrink(
            simulation.history, failure.height
        )
        pytest.fail(f"seed {seed}: {failure}\nshortest:\n{describe_blocks(shrunk)}")
    finally:
        simulation.close()


def test_market_runs_clean_the_price_moves_both_ways_and_underpaying_txs_fail(
    workdir: Path,
) -> None:
    underpaid: Counter[str] = Counter()
    honest: Counter[str] = Counter()
    moves: Counter[str] = Counter()
    burn_seen = False
    for seed in SEEDS:
        simulation, history = run_market(seed, workdir / str(seed))
        assert simulation.stats.blocks == BLOCKS
        underpaid.update(simulation.stats.fault_results.get(UNDERPAY, Counter()))
        honest.update(simulation.stats.fault_results["none"])
        assert history[0].params.enabled
        for before, block in itertools.pairwise(history):
            params = block.params
            assert params.enabled
            start = params.clamp(before.price)  # a params update moves it into new bounds
            expected = next_base_gas_price(params, start, block.gas_used)
            assert block.price == expected, (seed, block, before.price)
            if block.price > start:
                moves["up"] += 1
                assert block.gas_used > params.block_gas_target
            elif block.price < start:
                moves["down"] += 1
                assert block.gas_used < params.block_gas_target
            if block.gas_used > params.block_gas_target and start < params.max_base_gas_price:
                assert block.price > start, (seed, block)  # over target: the price rose
            burn_seen |= params.burn_base_fee
    assert moves["up"] >= 20 and moves["down"] >= 20, moves
    assert burn_seen  # the fee accounting held with the base part burned, too

    # honest txs pay the price of the block they are built for: the fee rule never refuses
    # one, and many succeed (the others fail for what their operation got wrong on purpose)
    assert honest["sdk/13"] == honest["check:sdk/13"] == 0, honest
    assert honest["ok"] >= 0.45 * sum(honest.values()), honest
    print(f"moves {dict(moves)}; underpay {dict(underpaid)}; honest {dict(honest)}")

    # an underpaying tx never succeeds; mostly it is the fee rule that refuses it
    assert "ok" not in underpaid, underpaid
    refused_for_fee = underpaid["sdk/13"] + underpaid["check:sdk/13"]
    assert underpaid["sdk/13"] > 0, underpaid  # proposed anyway: FinalizeBlock refused it
    assert refused_for_fee >= 0.75 * sum(underpaid.values()), underpaid


def test_default_runs_leave_the_market_and_its_fault_out(workdir: Path) -> None:
    simulation = Simulation(SimConfig(), workdir / "off")
    try:
        assert not [f for f in simulation.faults if f.name == UNDERPAY]
        ctx = simulation.state_context()
        assert simulation.app.fee_policy is not None
        assert simulation.app.fee_policy.base_gas_price(ctx) == Dec.zero()
    finally:
        simulation.close()
    market = Simulation(SimConfig(fee_market=True), workdir / "on")
    try:
        assert [f.name for f in market.faults if f.name == UNDERPAY] == [UNDERPAY]
    finally:
        market.close()
