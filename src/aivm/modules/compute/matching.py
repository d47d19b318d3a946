"""Matching jobs to providers at EndBlock, from ask books built once per EndBlock.

A :class:`Matcher` lives for one ``match_jobs`` call. For each (model, version, tier,
runtime) a job asks about, it reads the offer index once, in price order, at most
``max_asks_per_book`` entries, keeping the asks of providers that are available and run the
model's format, ranked by ``price × (2 − reputation)``, then tier, then address. Jobs then
walk the merged books of their eligible tiers in rank order and take the first asks at or
below their max price from providers that are not on the job already and have a free slot.
Nothing but the running-job counts changes while a Matcher lives (matching only assigns),
and those it tracks itself, so every job sees the same state the store would give it.

Each book also remembers the cheapest ask it read, the cheapest available one and the
cheapest one that runs the format: with the walk, that is everything "why no match" needs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from aivm.modules.compute import compute_pb2, keys
from aivm.modules.compute.params import ComputeParams
from aivm.modules.framework import Context
from aivm.store import PrefixStore
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

if TYPE_CHECKING:
    from aivm.modules.compute.jobs import JobKeeper

J = compute_pb2
RUNTIME_OF_FORMAT = {
    "onnx": "onnxruntime",
    "torchscript": "torch",
    "pt": "torch",
    "aivm-dsm/1": "dsm",
}
"""The runtime a provider must declare to run a model version of this format (capability
fit); a format not listed puts no runtime condition on the match."""
TWO = Dec.from_int(2)


@dataclass(frozen=True)
class Ask:
    """One provider's ask in a book."""

    operator: bytes
    name: str
    price: int
    tier: int
    capacity: int
    rank: tuple[int, int, bytes]
    """(price × (2 − reputation) in units of 10^-18, tier, address): lower is better."""


@dataclass(frozen=True)
class Seen:
    """What the books need of a provider record (read once per Matcher)."""

    name: str
    runtimes: tuple[str, ...]
    capacity: int
    two_minus_reputation: int
    """``2 − reputation`` in units of 10^-18 (the score is exact in integers)."""


@dataclass
class Book:
    """The eligible asks of one (model, version, tier, runtime), best rank first."""

    entries: list[Ask] = field(default_factory=list)
    read: int = 0
    cheapest: int | None = None
    cheapest_live: int | None = None
    cheapest_running: int | None = None


@dataclass
class Search:
    """What the walk for one job found (``free``: the picks, best first)."""

    any_offer: bool = False
    tier_offer: bool = False
    affordable: bool = False
    live: bool = False
    runs: bool = False
    busy: bool = False
    free: list[Ask] = field(default_factory=list)


def _at_most(value: int | None, limit: int) -> bool:
    return value is not None and value <= limit


class Matcher:
    """Ask books and running-job counts for one EndBlock's matching."""

    def __init__(self, jobs: JobKeeper, ctx: Context, params: ComputeParams) -> None:
        self.jobs = jobs
        self.ctx = ctx
        self.params = params
        self.books: dict[tuple[int, str, int, str | None], Book] = {}
        self.active: dict[bytes, int] = {}
        self.runtimes: dict[tuple[int, str], str | None] = {}
        self.offered: dict[tuple[int, str], bool] = {}
        self.seen: dict[bytes, Seen | None] = {}

    # -- books -------------------------------------------------------------------------

    def runtime_of(self, model_id: int, version: str) -> str | None:
        """The runtime the version's format needs (None: any)."""
        key = (model_id, version)
        if key not in self.runtimes:
            try:
                found = self.jobs.ai.get_version(self.ctx, model_id, version)
                self.runtimes[key] = RUNTIME_OF_FORMAT.get(found.format)
            except AivmError:
                self.runtimes[key] = None
        return self.runtimes[key]

    def any_offer(self, model_id: int, version: str) -> bool:
        """Whether any ACTIVE provider offers the version, in any tier."""
        key = (model_id, version)
        if key not in self.offered:
            prefix = keys.version_prefix(model_id, version)
            entries = PrefixStore(self.jobs._store(self.ctx), prefix).iterate()
            self.offered[key] = next(entries, None) is not None
        return self.offered[key]

    def book(self, model_id: int, version: str, tier: int, runtime: str | None) -> Book:
        """The book of (model, version, tier, runtime), read on first use."""
        key = (model_id, version, tier, runtime)
        found = self.books.get(key)
        if found is None:
            found = self._read_book(model_id, version, tier, runtime)
            self.books[key] = found
        return found

    def _read_book(self, model_id: int, version: str, tier: int, runtime: str | None) -> Book:
        book = Book()
        asks = self.jobs.providers.asks(self.ctx, model_id, version, tier)
        for price, operator in islice(asks, self.params.max_asks_per_book):
            book.read += 1
            book.cheapest = price if book.cheapest is None else book.cheapest
            seen = self._provider(operator)
            if seen is None:
                continue
            book.cheapest_live = price if book.cheapest_live is None else book.cheapest_live
            if runtime is not None and runtime not in seen.runtimes:
                continue
            if book.cheapest_running is None:
                book.cheapest_running = price
            rank = (price * seen.two_minus_reputation, tier, operator)
            book.entries.append(Ask(operator, seen.name, price, tier, seen.capacity, rank))
        book.entries.sort(key=lambda a: a.rank)
        return book

    def _provider(self, operator: bytes) -> Seen | None:
        """The provider as the books need it; None when it is not available."""
        if operator in self.seen:
            return self.seen[operator]
        providers = self.jobs.providers
        record = providers.get_provider(self.ctx, operator)
        seen = None
        if record is not None and providers.record_available(self.ctx, record, self.params):
            reputation = Dec.from_str(record.reputation or "0")
            factor = (TWO - reputation).bigint()
            seen = Seen(record.operator, tuple(record.runtimes), record.capacity, factor)
            self.active[operator] = self.jobs.get_stats(self.ctx, operator).active_jobs
        self.seen[operator] = seen
        return seen

    # -- one job -------------------------------------------------------------------------

    def search(self, job: compute_pb2.Job, need: int) -> Search:
        """The best ``need`` free asks for ``job`` (fewer when there are not enough), with
        what was seen for the no-match reason."""
        runtime = self.runtime_of(job.model_id, job.version)
        books = [
            self.book(job.model_id, job.version, tier, runtime)
            for tier in range(job.min_tier, J.TIER_HIGH_PERFORMANCE + 1)
        ]
        max_price = int(job.max_price_per_unit)
        search = Search(
            any_offer=self.any_offer(job.model_id, job.version),
            tier_offer=any(b.read for b in books),
            affordable=any(_at_most(b.cheapest, max_price) for b in books),
            live=any(_at_most(b.cheapest_live, max_price) for b in books),
            runs=any(_at_most(b.cheapest_running, max_price) for b in books),
        )
        taken = {a.provider for a in job.assignments}
        for ask in self._merged(books):
            if ask.price > max_price or ask.name in taken:
                continue
            if self.active.get(ask.operator, 0) >= ask.capacity:
                search.busy = True
                continue
            search.free.append(ask)
            taken.add(ask.name)
            if len(search.free) >= need:
                break
        return search

    @staticmethod
    def _merged(books: list[Book]) -> Iterator[Ask]:
        return heapq.merge(*(b.entries for b in books), key=lambda a: a.rank)

    def assigned(self, operator: bytes) -> None:
        """Count one more running job for ``operator``."""
        self.active[operator] = self.active.get(operator, 0) + 1
