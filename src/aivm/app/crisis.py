"""Invariants: every module's registered checks of its own state, run by the randomized
simulation after every block and by the devnet's debug mode (``aivm devnet
--check-invariants``, like the Cosmos SDK's ``x/crisis``) after every commit.

A module registers invariants by shipping ``invariants.py`` in its package with
``invariants(module) -> dict[str, Invariant]`` (see :mod:`aivm.modules.simulation`); names are
qualified with the module name (``bank/supply``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from aivm.modules.framework import AppModule, Context
from aivm.modules.simulation import Invariant


@dataclass(frozen=True)
class NamedInvariant:
    """A module's invariant under its qualified name."""

    name: str
    check: Invariant


def companion(module: AppModule, name: str) -> ModuleType | None:
    """The ``name`` file (``simulation``/``invariants``) of ``module``'s package, if it has one."""
    package = type(module).__module__.rpartition(".")[0]
    qualified = f"{package}.{name}"
    if importlib.util.find_spec(qualified) is None:
        return None
    return importlib.import_module(qualified)


def collect_invariants(modules: Sequence[AppModule]) -> list[NamedInvariant]:
    """Every module's invariants, in module order then name order."""
    found = []
    for module in modules:
        source = companion(module, "invariants")
        if source is None:
            continue
        for name, check in sorted(source.invariants(module).items()):
            found.append(NamedInvariant(f"{module.name}/{name}", check))
    return found


def broken_invariants(invariants: Sequence[NamedInvariant], ctx: Context) -> list[str]:
    """One line per violation, ``name: problem``, over every invariant (empty: all hold)."""
    return [f"{inv.name}: {problem}" for inv in invariants for problem in inv.check(ctx)]
