"""Bounded gas meters for node-local work: gRPC queries and Simulate.

Queries and simulations are free to the caller and run on the same thread as block
execution, so each is bounded twice: by a gas limit (node config ``query-gas-limit`` /
``simulate-gas-limit``) and by a wall-clock limit (``query-time-limit-ms``), checked every
time gas is charged. The clock is handed in by the node: state-machine code reads none, and
consensus execution never uses these meters.
"""

from __future__ import annotations

from collections.abc import Callable

from aivm.store import GasMeter
from aivm.types.errors import ErrOutOfGas


class BudgetGasMeter(GasMeter):
    """A gas meter that also fails once a wall-clock deadline has passed."""

    def __init__(
        self,
        limit: int | None,
        clock: Callable[[], int] | None = None,
        time_limit_ms: int = 0,
        what: str = "query",
    ) -> None:
        """Meter ``limit`` gas (None: unlimited); with ``clock`` and ``time_limit_ms`` > 0,
        also stop ``time_limit_ms`` after now."""
        super().__init__(limit)
        self.what = what
        self.time_limit_ms = time_limit_ms
        self._clock = clock if time_limit_ms > 0 else None
        self._deadline = self._clock() + time_limit_ms * 1_000_000 if self._clock else 0

    def _late(self) -> bool:
        return self._clock is not None and self._clock() > self._deadline

    def _check_time(self) -> None:
        if self._late():
            raise ErrOutOfGas.wrap(
                f"{self.what} exceeded its time limit of {self.time_limit_ms} ms "
                f"(node setting query-time-limit-ms); gas used so far: {self.consumed}"
            )

    def consume(self, amount: int, descriptor: str) -> None:
        """Charge ``amount`` after checking the deadline."""
        self._check_time()
        super().consume(amount, descriptor)

    def fits(self, amount: int) -> bool:
        """False once the deadline has passed, so a caller's fast path falls back to
        :meth:`consume`, which raises."""
        return not self._late() and super().fits(amount)


def limit_or_none(limit: int) -> int | None:
    """A configured limit, where 0 means unlimited."""
    return limit if limit > 0 else None
