"""How the node's long-running processes run: uvloop, and a garbage collector tuned for them.

- uvloop (libuv) runs the same asyncio code with a cheaper loop and socket layer; on a
  platform without it (Windows) the standard loop is used.
- The cyclic garbage collector: a node allocates many short-lived objects per transaction
  and keeps large caches (decoded txs, verified signatures, the mempool), so with CPython's
  default thresholds it spends about a tenth of its time in collections that find little.
  Everything alive at start (modules, genesis) is frozen out of collections, and a
  collection runs after 50,000 net allocations instead of 700. Reference counting still
  frees almost everything at once; only cycles wait longer.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Freeze the objects alive now and raise the collection thresholds (see above)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a uvloop loop when uvloop is available, after ``tune_gc()``."""
    tune_gc()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
