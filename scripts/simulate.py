"""Long randomized simulation of the chain, checked on the differential replay at every height.

    .venv/bin/python scripts/simulate.py --blocks 500 --seed 7
    .venv/bin/python scripts/simulate.py --blocks 200 --seeds 1-20 --txs-per-block 12
    .venv/bin/python scripts/simulate.py --replay sim-failure-7.json   # re-run a saved failure

Each seed builds its own genesis and blocks (see ``src/aivm/sim/runner.py`` and
``docs/simulation.md``). The report gives blocks/s and, per operation, the txs built and their
finalized result codes. On the first failure (divergence between the warm, cold and
state-synced apps, a broken invariant, an accepted tx that must fail, an internal error or a
crash) the run is shrunk to the shortest block sequence that still fails the same way, which
is printed and saved as JSON (``--out``); the exit status is then 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from aivm.sim.report import describe_blocks, format_stats, load_repro, save_repro
from aivm.sim.runner import SimBlock, SimConfig, SimFailure, Simulation
from aivm.sim.shrink import Shrinker, replay_blocks

PROGRESS_EVERY = 1000
"""Blocks between two progress lines."""


def parse_seeds(text: str) -> list[int]:
    """``7`` → [7]; ``1-20`` → 1…20; ``3,5,8`` → [3, 5, 8]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def run_seed(config: SimConfig, blocks: int, shrink: bool, out: Path | None) -> bool:
    """Simulate one seed; print its report (and its shrunk failure). True when it passed."""
    print(f"== seed {config.seed}: {blocks} blocks of {config.txs_per_block} txs", flush=True)
    with tempfile.TemporaryDirectory(prefix="aivm-sim-") as tmp:
        simulation = Simulation(config, Path(tmp))
        try:
            for done in range(0, blocks, PROGRESS_EVERY):
                simulation.run(min(PROGRESS_EVERY, blocks - done))
                if blocks > PROGRESS_EVERY:
                    print(f"  {simulation.stats.blocks} blocks …", flush=True)
            failure = None
        except SimFailure as exc:
            failure = exc
        finally:
            simulation.close()
    print(format_stats(simulation.stats), flush=True)
    if failure is None:
        return True
    report_failure(config, failure, simulation.history, shrink, out)
    return False


def report_failure(
    config: SimConfig,
    failure: SimFailure,
    history: list[SimBlock],
    shrink: bool,
    out: Path | None,
) -> None:
    """Print the failure, shrink it, print and save the shortest failing sequence."""
    print(f"\nFAILED seed {config.seed}: {failure}", flush=True)
    blocks = history[: failure.height]
    if shrink:
        shrinker = Shrinker(config, failure.kind)
        print(f"shrinking {len(blocks)} blocks (replaying from genesis)…", flush=True)
        blocks = shrinker.shrink(blocks, failure.height)
        print(f"shrunk in {shrinker.replays} replays to {len(blocks)} blocks:", flush=True)
    print(describe_blocks(blocks))
    replayed = replay_blocks(config, blocks)
    if replayed is None:
        print("replayed from genesis, this sequence does not fail: the failure needs state the")
        print("record does not hold (please report it with the seed)")
    else:
        print(f"replayed from genesis, it fails with: {replayed}")
    path = out or Path(f"sim-failure-{config.seed}.json")
    save_repro(path, config, failure, blocks)
    print(f"saved to {path}; re-run with: scripts/simulate.py --replay {path}")


def replay_file(path: Path) -> int:
    """Re-run a saved failing sequence; 1 when it still fails."""
    config, kind, blocks = load_repro(path)
    print(describe_blocks(blocks))
    failure = replay_blocks(config, blocks)
    if failure is None:
        print(f"the sequence no longer fails (it failed with {kind})")
        return 0
    print(f"FAILED: {failure}")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every seed, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", help="several seeds: 1-20 or 3,5,8 (overrides --seed)")
    parser.add_argument("--txs-per-block", type=int, default=SimConfig.txs_per_block)
    parser.add_argument("--restore-every", type=int, default=SimConfig.restore_every)
    parser.add_argument(
        "--skip", default="", help="operations/faults to leave out: auth/huge_gas,ai/infer"
    )
    parser.add_argument(
        "--fee-market", action="store_true", help="genesis turns the fee market on (ADR 0013)"
    )
    parser.add_argument("--no-shrink", action="store_true", help="report the failure as found")
    parser.add_argument("--out", type=Path, help="where to save a failing sequence (JSON)")
    parser.add_argument("--replay", type=Path, help="re-run a saved failing sequence")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the app logs every internal error it catches
    if args.replay:
        return replay_file(args.replay)
    seeds = parse_seeds(args.seeds) if args.seeds else [args.seed]
    failed = [
        seed
        for seed in seeds
        if not run_seed(
            SimConfig(
                seed=seed,
                txs_per_block=args.txs_per_block,
                restore_every=args.restore_every,
                skip=tuple(filter(None, args.skip.split(","))),
                fee_market=args.fee_market,
            ),
            args.blocks,
            not args.no_shrink,
            args.out,
        )
    ]
    if failed:
        print(f"\nfailing seeds: {failed}")
        return 1
    print(f"\nall {len(seeds)} seeds passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
