"""Shrinking a failing run to the shortest block sequence that still fails the same way.

A candidate is a list of :class:`~aivm.sim.runner.SimBlock` replayed from the seeded genesis on
a fresh differential replay; it *reproduces* when it raises a
:class:`~aivm.sim.runner.SimFailure` of the same kind (``divergence:restored``,
``invariant:bank/total_supply``, …). Shrinking, each step kept only when it reproduces:

1. drop the blocks after the failing height;
2. drop blocks: halves, then quarters, … then single blocks (delta debugging);
3. drop txs within each block the same way (a tx's CheckTx on the warm app goes with it);
4. drop the remaining warm-app calls (Simulate, queries, CheckTx of txs not proposed);
5. propose blocks the honest way and restore fewer state-synced replicas (each block records
   whether one is restored after it, so dropping blocks keeps the restores where they were);

and repeat 2–5 until a whole pass removes nothing or the replay budget is spent. Signed txs
are replayed as recorded: a tx that lost its predecessor now has the wrong sequence and fails,
which is fine as long as the failure still reproduces.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from aivm.sim.runner import SimBlock, SimConfig, SimFailure, Simulation

T = TypeVar("T")


def replay_blocks(config: SimConfig, blocks: Sequence[SimBlock]) -> SimFailure | None:
    """Run ``blocks`` from genesis (warm calls included); the failure, or None."""
    with tempfile.TemporaryDirectory(prefix="aivm-sim-") as tmp:
        simulation = Simulation(config, Path(tmp))
        try:
            for block in blocks:
                simulation.execute(block)
        except SimFailure as failure:
            return failure
        finally:
            simulation.close()
    return None


@dataclass
class Shrinker:
    """Shrinks one failure; counts the replays it spends."""

    config: SimConfig
    kind: str
    """The failure kind a candidate must reproduce."""
    max_replays: int = 400
    max_seconds: float = 600.0
    replays: int = 0
    started: float = 0.0

    def reproduces(self, blocks: Sequence[SimBlock]) -> bool:
        """True when ``blocks`` fail with this shrinker's kind (False once the budget is out)."""
        if self.exhausted():
            return False
        self.replays += 1
        failure = replay_blocks(self.config, blocks)
        return failure is not None and failure.kind == self.kind

    def exhausted(self) -> bool:
        """True when the replay or time budget is spent."""
        return (
            self.replays >= self.max_replays or time.monotonic() - self.started > self.max_seconds
        )

    def shrink(self, blocks: Sequence[SimBlock], failing_height: int) -> list[SimBlock]:
        """The shortest sequence found that still fails as ``kind``."""
        self.started = time.monotonic()
        current = list(blocks[:failing_height])
        while not self.exhausted():
            before = _size(current)
            current = drop_items(current, self.reproduces)
            current = self._drop_within(current, _txs_of, _with_txs)
            current = self._drop_within(current, _calls_of, _with_calls)
            current = self._simplify_flags(current)
            if _size(current) == before:
                break
        return current

    def _simplify_flags(self, blocks: list[SimBlock]) -> list[SimBlock]:
        """Propose blocks the honest way and restore fewer replicas, where that still fails."""
        for index in range(len(blocks)):
            for simplify in (_honest, _without_restore):
                simpler = simplify(blocks[index])
                if simpler != blocks[index]:
                    trial = list(blocks)
                    trial[index] = simpler
                    if self.reproduces(trial):
                        blocks = trial
        return blocks

    def _drop_within(
        self,
        blocks: list[SimBlock],
        items_of: Callable[[SimBlock], list[object]],
        rebuild: Callable[[SimBlock, list[object]], SimBlock],
    ) -> list[SimBlock]:
        for index in range(len(blocks)):

            def candidate(items: list[object], at: int = index) -> bool:
                """Whether block ``at`` with only ``items`` still fails."""
                trial = list(blocks)
                trial[at] = rebuild(blocks[at], items)
                return self.reproduces(trial)

            kept = drop_items(items_of(blocks[index]), candidate)
            blocks[index] = rebuild(blocks[index], kept)
        return blocks


def drop_items(items: list[T], reproduces: Callable[[list[T]], bool]) -> list[T]:
    """Remove chunks of ``items`` (halves first, down to single items) while the remainder
    still reproduces; returns what is left, from which no single item can be dropped."""
    chunk = max(1, len(items) // 2)
    while items:
        start = 0
        while start < len(items):
            trial = items[:start] + items[start + chunk :]
            if reproduces(trial):
                items = trial
            else:
                start += chunk
        if chunk == 1:
            break
        chunk //= 2
    return items


def _honest(block: SimBlock) -> SimBlock:
    return replace(block, byzantine=False)


def _without_restore(block: SimBlock) -> SimBlock:
    return replace(block, restore_after=False)


def _size(blocks: list[SimBlock]) -> int:
    return len(blocks) + sum(
        len(b.txs) + len(b.warm_calls) + b.byzantine + b.restore_after for b in blocks
    )


def _txs_of(block: SimBlock) -> list[object]:
    return list(block.txs)


def _with_txs(block: SimBlock, txs: list[object]) -> SimBlock:
    kept = tuple(tx for tx in block.txs if tx in txs)
    dropped = {tx.raw for tx in block.txs if tx not in txs}
    calls = tuple(c for c in block.warm_calls if not (c.kind != "query" and c.data in dropped))
    return replace(block, txs=kept, warm_calls=calls)


def _calls_of(block: SimBlock) -> list[object]:
    return list(block.warm_calls)


def _with_calls(block: SimBlock, calls: list[object]) -> SimBlock:
    return replace(block, warm_calls=tuple(c for c in block.warm_calls if c in calls))
