"""notes invariants: every id below the counter holds a note."""

from __future__ import annotations

from aivm.modules.notes.module import NotesModule

from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant


def invariants(module: NotesModule) -> dict[str, Invariant]:
    """ids, by name."""

    def ids(ctx: Context) -> list[str]:
        count = module.keeper.count(ctx)
        missing = [i for i in range(1, count + 1) if module.keeper.get(ctx, i) is None]
        return [f"note {i} missing" for i in missing]

    return {"ids": ids}
