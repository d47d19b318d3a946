"""A share of the devnet's one thread for ABCI queries, so free reads cannot starve blocks.

Queries and Simulate are free to the caller and run on the thread that produces blocks. Each
is bounded by the app (gas and ``query-time-limit-ms``); this bounds their sum: between two
blocks, queries may take ``share`` of the block interval, and once it is spent every further
query waits for the next block. A block is then delayed by at most the share plus one query.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class QueryBudget:
    """Wall time ABCI queries may use between two blocks."""

    def __init__(self, limit_ms: int, clock: Callable[[], int] = time.monotonic_ns) -> None:
        """Allow ``limit_ms`` milliseconds of queries per block interval."""
        self.limit_ns = limit_ms * 1_000_000
        self.used_ns = 0
        self._clock = clock
        self._next_block = asyncio.Event()

    async def admit(self) -> None:
        """Return once a query may run (at once, unless this interval's share is spent)."""
        while self.used_ns >= self.limit_ns:
            await self._next_block.wait()

    def run(self, query: Callable[[], T]) -> T:
        """Run ``query`` now and charge its wall time to the interval."""
        start = self._clock()
        try:
            return query()
        finally:
            self.used_ns += self._clock() - start

    def new_block(self) -> None:
        """A block was produced: a fresh share, and every waiting query may go."""
        self.used_ns = 0
        self._next_block.set()
        self._next_block = asyncio.Event()
