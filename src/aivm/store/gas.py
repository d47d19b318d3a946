"""Gas metering for store access, with the Cosmos SDK's ``KVGasConfig`` and charging rules.

:class:`GasKVStore` wraps any store and charges a :class:`GasMeter` exactly as the SDK's
``store/gaskv`` does. The prices are the SDK's, except ``delete``: a delete updates the
sparse Merkle tree as a write does, so it costs 5,000 instead of the SDK's 1,000 (measured
at 10× the median time per gas unit otherwise; ADR 0010):

- ``get``: ``read_cost_flat``, then ``read_cost_per_byte`` × len(key) and × len(value)
- ``set``: ``write_cost_flat``, then ``write_cost_per_byte`` × len(key) and × len(value)
- ``has``: ``has_cost``; ``delete``: ``delete_cost``
- iterators: on creation and on every advance, ``read_cost_per_byte`` × (len(key) +
  len(value)) of the current item (when there is one) plus ``iter_next_cost_flat``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aivm.store.kv import KVStore
from aivm.types.errors import ErrLogic, ErrOutOfGas

MAX_GAS = 2**64 - 1
"""Gas is a uint64, as in the SDK; consuming past it is an overflow."""

DESC_READ_FLAT = "ReadFlat"
DESC_READ_PER_BYTE = "ReadPerByte"
DESC_WRITE_FLAT = "WriteFlat"
DESC_WRITE_PER_BYTE = "WritePerByte"
DESC_HAS = "Has"
DESC_DELETE = "Delete"
DESC_ITER_NEXT_FLAT = "IterNextFlat"
DESC_VALUE_PER_BYTE = "ValuePerByte"


@dataclass(frozen=True)
class GasConfig:
    """Per-operation store gas costs (defaults: the SDK's ``KVGasConfig``, but ``delete``)."""

    has_cost: int = 1000
    """Flat cost of ``has``."""
    delete_cost: int = 5000
    """Flat cost of ``delete`` (the SDK's is 1,000: too little for a tree update here)."""
    read_cost_flat: int = 1000
    """Flat cost of ``get``."""
    read_cost_per_byte: int = 3
    """Cost per byte of key and value read (``get`` and iteration)."""
    write_cost_flat: int = 2000
    """Flat cost of ``set``."""
    write_cost_per_byte: int = 30
    """Cost per byte of key and value written."""
    iter_next_cost_flat: int = 30
    """Flat cost of creating an iterator and of each advance."""


class GasMeter:
    """Counts gas consumed against an optional limit (None: infinite, as in the SDK)."""

    def __init__(self, limit: int | None) -> None:
        """Start at zero consumed with ``limit`` (None for an infinite meter)."""
        if limit is not None and not 0 <= limit <= MAX_GAS:
            raise ErrLogic.wrap(f"gas limit {limit} is outside uint64")
        self.limit = limit
        self.consumed = 0

    def consume(self, amount: int, descriptor: str) -> None:
        """Add ``amount``; raise ErrOutOfGas when the total passes the limit or overflows.

        As in the SDK, ``consumed`` is left at the attempted total when the limit is passed.
        """
        if amount < 0:
            raise ErrLogic.wrap(f"negative gas amount {amount} in location: {descriptor}")
        total = self.consumed + amount
        if total > MAX_GAS:
            self.consumed = MAX_GAS
            raise ErrOutOfGas.wrap(f"gas overflow in location: {descriptor}")
        self.consumed = total
        if self.limit is not None and total > self.limit:
            raise ErrOutOfGas.wrap(
                f"out of gas in location: {descriptor}; gasWanted: {self.limit}, gasUsed: {total}"
            )

    def fits(self, amount: int) -> bool:
        """True when consuming ``amount`` (>= 0) now would pass neither the limit nor uint64."""
        total = self.consumed + amount
        return amount >= 0 and total <= MAX_GAS and (self.limit is None or total <= self.limit)

    def refund(self, amount: int, descriptor: str) -> None:
        """Give back ``amount`` (the SDK's ``RefundGas``); more than consumed is a logic error."""
        if amount < 0 or amount > self.consumed:
            raise ErrLogic.wrap(
                f"cannot refund {amount} gas in location: {descriptor}; consumed {self.consumed}"
            )
        self.consumed -= amount

    def remaining(self) -> int | None:
        """Gas left before the limit (0 once past it); None for an infinite meter."""
        if self.limit is None:
            return None
        return max(self.limit - self.consumed, 0)

    def is_past_limit(self) -> bool:
        """True when more than the limit has been consumed."""
        return self.limit is not None and self.consumed > self.limit

    def is_out_of_gas(self) -> bool:
        """True when the limit has been reached (consumed >= limit)."""
        return self.limit is not None and self.consumed >= self.limit


class GasKVStore:
    """A store that charges ``meter`` for every access to ``parent``."""

    def __init__(self, parent: KVStore, meter: GasMeter, config: GasConfig | None = None) -> None:
        """Wrap ``parent``; costs come from ``config`` (default :class:`GasConfig`)."""
        self.parent = parent
        self.meter = meter
        self.config = config or GasConfig()

    def get(self, key: bytes) -> bytes | None:
        """Charge a read, then return the parent's value."""
        meter, config = self.meter, self.config
        meter.consume(config.read_cost_flat, DESC_READ_FLAT)
        value = self.parent.get(key)
        per_byte = config.read_cost_per_byte
        size_cost = per_byte * (len(key) + (len(value) if value is not None else 0))
        if meter.fits(size_cost):  # both per-byte charges pass: one addition does them
            meter.consumed += size_cost
        else:  # charge them one by one, so a failure stops exactly where the SDK's does
            meter.consume(per_byte * len(key), DESC_READ_PER_BYTE)
            meter.consume(per_byte * (len(value) if value is not None else 0), DESC_READ_PER_BYTE)
        return value

    def has(self, key: bytes) -> bool:
        """Charge ``has_cost``, then ask the parent."""
        self.meter.consume(self.config.has_cost, DESC_HAS)
        return self.parent.has(key)

    def set(self, key: bytes, value: bytes) -> None:
        """Charge a write, then store in the parent."""
        meter, config = self.meter, self.config
        per_byte = config.write_cost_per_byte
        cost = config.write_cost_flat + per_byte * (len(key) + len(value))
        if meter.fits(cost):  # all three charges pass: one addition does them
            meter.consumed += cost
        else:  # charge them one by one, so a failure stops exactly where the SDK's does
            meter.consume(config.write_cost_flat, DESC_WRITE_FLAT)
            meter.consume(per_byte * len(key), DESC_WRITE_PER_BYTE)
            meter.consume(per_byte * len(value), DESC_WRITE_PER_BYTE)
        self.parent.set(key, value)

    def delete(self, key: bytes) -> None:
        """Charge ``delete_cost``, then delete in the parent."""
        self.meter.consume(self.config.delete_cost, DESC_DELETE)
        self.parent.delete(key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Iterate the parent, charging on creation (now) and on every advance."""
        items = self.parent.iterate(start, end, reverse)
        current = next(items, None)
        self._charge_seek(current)
        return self._gas_iterator(items, current)

    def _gas_iterator(
        self, items: Iterator[tuple[bytes, bytes]], current: tuple[bytes, bytes] | None
    ) -> Iterator[tuple[bytes, bytes]]:
        while current is not None:
            yield current
            self._charge_seek(current)
            current = next(items, None)

    def _charge_seek(self, item: tuple[bytes, bytes] | None) -> None:
        meter, config = self.meter, self.config
        if item is not None:
            meter.consume(config.read_cost_per_byte * len(item[0]), DESC_VALUE_PER_BYTE)
            meter.consume(config.read_cost_per_byte * len(item[1]), DESC_VALUE_PER_BYTE)
        meter.consume(config.iter_next_cost_flat, DESC_ITER_NEXT_FLAT)
