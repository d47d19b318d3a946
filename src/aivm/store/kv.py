"""Key-value store interfaces: the protocol, prefix stores, cache branches and an in-memory store.

Every store is an ordered map from non-empty ``bytes`` keys to ``bytes`` values (``b""`` is
a valid value, as in the Cosmos SDK, which only forbids a nil value). Iteration runs over the
half-open range ``[start, end)`` in byte-wise key order, ascending or descending.

- :class:`MemStore` — an in-memory sorted store, for tests and scratch state.
- :class:`PrefixStore` — a module's view of its key prefix inside a parent store.
- :class:`CacheStore` — a branch: reads fall through to the parent, writes are buffered
  until :meth:`CacheStore.write` flushes them (a committed tx) or :meth:`CacheStore.discard`
  drops them (a failed message).

Writing to a store while iterating over it is not supported: an iterator sees the buffered
writes of a branch as they were when it was created, and the parent as it is when each item
is reached.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from aivm.types.errors import ErrInvalidRequest

MAX_KEY_LENGTH = 250
"""Longest key accepted, in bytes (keeps every on-disk index key within LMDB's 511-byte limit)."""

_DELETED = None


@runtime_checkable
class KVStore(Protocol):
    """An ordered byte-keyed map: the interface every store layer implements."""

    def get(self, key: bytes) -> bytes | None:
        """Return the value stored under ``key``, or None."""
        ...

    def has(self, key: bytes) -> bool:
        """Return True when ``key`` holds a value."""
        ...

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` (non-empty bytes) under ``key``."""
        ...

    def delete(self, key: bytes) -> None:
        """Remove ``key``; deleting a missing key is a no-op."""
        ...

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` for keys in ``[start, end)`` in key order (reversed if asked)."""
        ...


def validate_key(key: bytes) -> None:
    """Raise ErrInvalidRequest unless ``key`` is non-empty bytes of at most MAX_KEY_LENGTH."""
    if type(key) is not bytes:
        raise ErrInvalidRequest.wrap(f"store key must be bytes, not {type(key).__name__}")
    if not key:
        raise ErrInvalidRequest.wrap("store key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ErrInvalidRequest.wrap(
            f"store key is {len(key)} bytes; the maximum is {MAX_KEY_LENGTH}"
        )


def validate_value(value: bytes) -> None:
    """Raise ErrInvalidRequest unless ``value`` is non-empty bytes.

    ICS-23 cannot prove an empty value ("leaf op needs value"), nor the absence of a key whose
    neighbour in the tree holds one; so no key may hold ``b""`` (index entries store a marker).
    """
    if type(value) is not bytes:
        raise ErrInvalidRequest.wrap(f"store value must be bytes, not {type(value).__name__}")
    if not value:
        raise ErrInvalidRequest.wrap("store value must not be empty (ICS-23 cannot prove it)")


def prefix_end(prefix: bytes) -> bytes | None:
    """Return the smallest key greater than every key starting with ``prefix``.

    None means "no upper bound" (an empty prefix, or one made only of 0xFF bytes).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def iterate_prefix(
    store: KVStore, prefix: bytes, reverse: bool = False
) -> Iterator[tuple[bytes, bytes]]:
    """Yield every ``(key, value)`` of ``store`` whose key starts with ``prefix`` (full keys)."""
    return store.iterate(prefix, prefix_end(prefix), reverse)


def in_range(key: bytes, start: bytes | None, end: bytes | None) -> bool:
    """True when ``start <= key < end`` (a None bound is open)."""
    return (start is None or key >= start) and (end is None or key < end)


class MemStore:
    """An in-memory ordered store (a dict plus a sorted key list)."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []

    def __len__(self) -> int:
        """Number of keys held."""
        return len(self._data)

    def get(self, key: bytes) -> bytes | None:
        """Return the value under ``key``, or None."""
        return self._data.get(key)

    def has(self, key: bytes) -> bool:
        """True when ``key`` is present."""
        return key in self._data

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key``."""
        validate_key(key)
        validate_value(value)
        if key not in self._data:
            insort(self._keys, key)
        self._data[key] = value

    def delete(self, key: bytes) -> None:
        """Remove ``key`` if present."""
        if self._data.pop(key, None) is not None:
            del self._keys[bisect_left(self._keys, key)]

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield items in ``[start, end)``; a snapshot of the keys taken at the call."""
        keys = self._keys
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if end is None else bisect_left(keys, end)
        selected = keys[lo:hi]
        if reverse:
            selected.reverse()
        data = self._data
        return ((k, data[k]) for k in selected if k in data)


class PrefixStore:
    """The keys of ``parent`` that start with ``prefix``, seen with the prefix removed."""

    def __init__(self, parent: KVStore, prefix: bytes) -> None:
        """Wrap ``parent``; ``prefix`` must be non-empty."""
        if not prefix:
            raise ErrInvalidRequest.wrap("prefix store needs a non-empty prefix")
        self.parent = parent
        self.prefix = prefix

    def get(self, key: bytes) -> bytes | None:
        """Return ``parent[prefix + key]``."""
        return self.parent.get(self.prefix + key)

    def has(self, key: bytes) -> bool:
        """True when ``prefix + key`` is present in the parent."""
        return self.parent.has(self.prefix + key)

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``prefix + key`` (``key`` itself must be non-empty)."""
        if not key:
            raise ErrInvalidRequest.wrap("store key is empty")
        self.parent.set(self.prefix + key, value)

    def delete(self, key: bytes) -> None:
        """Remove ``prefix + key``."""
        self.parent.delete(self.prefix + key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key without prefix, value)`` for keys in ``[start, end)`` of this view."""
        prefix = self.prefix
        lo = prefix + start if start is not None else prefix
        hi = prefix + end if end is not None else prefix_end(prefix)
        cut = len(prefix)
        return ((k[cut:], v) for k, v in self.parent.iterate(lo, hi, reverse))


class CacheStore:
    """A branch of ``parent``: writes are buffered until :meth:`write` or :meth:`discard`.

    Branches nest: a per-tx branch over a per-block branch over the commit store's working
    state. Discarding the inner branch leaves the outer one untouched.
    """

    def __init__(self, parent: KVStore) -> None:
        """Branch off ``parent`` with an empty write buffer."""
        self.parent = parent
        self._writes: dict[bytes, bytes | None] = {}
        self._sorted: list[bytes] | None = []

    def get(self, key: bytes) -> bytes | None:
        """Buffered value if any (None for a buffered delete), else the parent's."""
        writes = self._writes
        if key in writes:
            return writes[key]
        return self.parent.get(key)

    def has(self, key: bytes) -> bool:
        """True when the key holds a value in this branch."""
        writes = self._writes
        if key in writes:
            return writes[key] is not None
        return self.parent.has(key)

    def set(self, key: bytes, value: bytes) -> None:
        """Buffer a write."""
        validate_key(key)
        validate_value(value)
        writes = self._writes
        if key not in writes:
            self._sorted = None
        writes[key] = value

    def delete(self, key: bytes) -> None:
        """Buffer a delete."""
        writes = self._writes
        if key not in writes:
            self._sorted = None
        writes[key] = _DELETED

    def write(self) -> None:
        """Flush the buffered writes into the parent (in first-write order), then clear."""
        parent = self.parent
        for key, value in self._writes.items():
            if value is None:
                parent.delete(key)
            else:
                parent.set(key, value)
        self.discard()

    def discard(self) -> None:
        """Drop every buffered write."""
        self._writes = {}
        self._sorted = []

    def dirty_count(self) -> int:
        """Number of keys written or deleted in this branch."""
        return len(self._writes)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Merge the buffered writes (which win) with the parent's items, in key order."""
        if self._sorted is None:
            self._sorted = sorted(self._writes)
        keys = self._sorted
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if end is None else bisect_left(keys, end)
        writes = self._writes
        buffered = [(k, writes[k]) for k in keys[lo:hi]]
        if reverse:
            buffered.reverse()
        return _merge(buffered, self.parent.iterate(start, end, reverse), reverse)


def _merge(
    buffered: list[tuple[bytes, bytes | None]],
    parent: Iterator[tuple[bytes, bytes]],
    reverse: bool,
) -> Iterator[tuple[bytes, bytes]]:
    """Merge sorted buffered writes over a sorted parent iterator; buffered entries win."""
    if not buffered:
        yield from parent
        return
    # Tag each source so that, for equal keys, the buffered entry comes first and shadows
    # the parent's. heapq.merge is stable across iterables in argument order.
    sentinel = object()
    last: object = sentinel
    tagged_parent = ((k, 1, v) for k, v in parent)
    tagged_buffer = ((k, 0, v) for k, v in buffered)
    for key, _source, value in heapq.merge(
        tagged_buffer, tagged_parent, key=lambda item: item[0], reverse=reverse
    ):
        if key == last:
            continue
        last = key
        if value is not None:
            yield key, value
