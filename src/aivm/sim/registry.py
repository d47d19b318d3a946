"""Find every module's simulation operations, tx faults and invariants.

For each module of the app (``AivmApp.modules``), the package the module class lives in
(``aivm.modules.bank`` for ``BankModule``) may hold two companions:

- ``simulation.py`` with ``operations(module) -> dict[str, WeightedOperation]`` and, optionally,
  ``tx_faults(module) -> dict[str, TxFault]``;
- ``invariants.py`` with ``invariants(module) -> dict[str, Invariant]`` (collected by
  :mod:`aivm.app.crisis`, which the devnet's debug mode runs too).

Names are qualified with the module name (``bank/send``, ``ai/indexes``). A module added later
registers by writing these files; nothing here lists modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aivm.app.crisis import NamedInvariant, collect_invariants, companion

__all__ = [
    "NamedFault",
    "NamedInvariant",
    "NamedOperation",
    "companion",
    "discover_invariants",
    "discover_operations",
    "discover_tx_faults",
]
from aivm.modules.framework import AppModule
from aivm.modules.simulation import Operation, TxFault


@dataclass(frozen=True)
class NamedOperation:
    """A module's operation under its qualified name."""

    name: str
    weight: int
    run: Operation


@dataclass(frozen=True)
class NamedFault:
    """A module's tx fault under its qualified name."""

    name: str
    fault: TxFault


def discover_operations(modules: Sequence[AppModule]) -> list[NamedOperation]:
    """Every module's weighted operations, in module order then name order."""
    found = []
    for module in modules:
        source = companion(module, "simulation")
        if source is None:
            continue
        for name, op in sorted(source.operations(module).items()):
            if op.weight > 0:
                found.append(NamedOperation(f"{module.name}/{name}", op.weight, op.run))
    return found


def discover_tx_faults(modules: Sequence[AppModule]) -> list[NamedFault]:
    """Every module's tx faults (``none`` is auth's honest case), in module then name order."""
    found = []
    for module in modules:
        source = companion(module, "simulation")
        if source is None or not hasattr(source, "tx_faults"):
            continue
        for name, fault in sorted(source.tx_faults(module).items()):
            found.append(NamedFault(name if name == "none" else f"{module.name}/{name}", fault))
    return found


def discover_invariants(modules: Sequence[AppModule]) -> list[NamedInvariant]:
    """Every module's invariants, in module order then name order (the app's crisis list)."""
    return collect_invariants(modules)
