"""The simulation contract every module implements (``simulation.py``, ``invariants.py``).

The randomized simulation (``aivm.sim``, tests and ``scripts/simulate.py`` only) finds each
module's ``simulation.py`` from the app's module list and calls its ``operations(module)``:
a mapping of operation name to :class:`WeightedOperation`. An operation reads the committed
state through ``env.ctx`` and returns the messages of one transaction (valid or deliberately
not), or None when it has nothing to do yet (no model to infer on, say). The framework signs
the messages as their first signer, estimates gas with Simulate, and applies one of the
:class:`TxFault` values a module offers through ``tx_faults()``. A module's ``invariants.py``
returns ``invariants(module)``: a mapping of name to :data:`Invariant`, checked after every
block. These types live at the module layer, so a module's simulation code imports nothing
above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar

from aivm.modules.framework import Context
from aivm.types.pb import Message

T = TypeVar("T")


class Rng(Protocol):
    """The seeded random source of a simulation (``random.Random`` satisfies it)."""

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """An integer in ``range(start, stop, step)``."""
        ...

    def choice(self, seq: Sequence[T]) -> T:
        """One element of a non-empty sequence."""
        ...

    def randbytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        ...


class SimEnv(Protocol):
    """What an operation may use while it builds one transaction."""

    @property
    def rng(self) -> Rng:
        """The simulation's only source of randomness (seeded: runs are reproducible)."""
        ...

    @property
    def ctx(self) -> Context:
        """A read-only context over the last committed state."""
        ...

    @property
    def height(self) -> int:
        """Height of the block being built."""
        ...

    @property
    def accounts(self) -> Sequence[bytes]:
        """Addresses the simulation holds keys for (some of them never funded)."""
        ...

    def scratch(self, module: str) -> dict[str, Any]:
        """A per-module dict kept for the whole run (e.g. content an object was made of)."""
        ...


Operation = Callable[[SimEnv], Sequence[Message] | None]
"""Builds the messages of one transaction, or returns None when there is nothing to do."""


@dataclass(frozen=True)
class WeightedOperation:
    """An operation and how often the simulation picks it, relative to the others."""

    weight: int
    run: Operation


class TxFields(TypedDict):
    """The parts of a transaction the framework signs, which a fault may change."""

    signer: bytes
    """Address of the (only) signer; a fault must not change it."""
    reachable_sequence: int
    """The highest sequence the signer's account can have when this tx runs (each of its txs
    already in the block may succeed); informational, not signed."""
    sequence: int
    account_number: int
    chain_id: str
    gas_limit: int
    fee: int
    fee_denom: str
    memo: str
    timeout_height: int
    sign: bool
    """False: the signature is replaced by 64 random bytes."""


@dataclass(frozen=True)
class TxFault:
    """A change to a transaction's fields, and whether the result must be a failure."""

    weight: int
    apply: Callable[[SimEnv, TxFields], TxFields]
    must_fail: bool
    """True when no node may ever accept the changed tx (the simulation checks it)."""


Invariant = Callable[[Context], list[str]]
"""Reads the committed state; returns one line per violation found (empty: it holds)."""
