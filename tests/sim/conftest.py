"""Bugs the machinery must find, injected on purpose."""

from __future__ import annotations

import pytest

from aivm.ai import runtime
from aivm.modules.ai.keeper import AiKeeper


@pytest.fixture
def cache_dependent_gas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bug of issue 11, finding 2: ``AiKeeper.program`` reads (and charges for) the
    artifact only when its program cache misses, so gas depends on what a node has cached."""

    def cached_program(self: AiKeeper, ctx, sha256, params):  # type: ignore[no-untyped-def]
        program = self._programs.get(sha256)
        if program is None:
            program = runtime.load(self.get_artifact(ctx, sha256))
            self._programs[sha256] = program
        return program

    monkeypatch.setattr(AiKeeper, "program", cached_program)
