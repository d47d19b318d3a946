"""Pagination read straight from a store: pages, keys, offsets, filters, totals and the gas a
page costs (it must not grow with the size of the table)."""

from __future__ import annotations

import pytest

from aivm.store import GasKVStore, GasMeter, MemStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.errors import AivmError


def table(n: int) -> MemStore:
    store = MemStore()
    for i in range(n):
        store.set(i.to_bytes(4, "big"), b"v%d" % i)
    return store


def number(key: bytes, _: bytes) -> int:
    return int.from_bytes(key, "big")


def page(store: object, **fields: object) -> tuple[list[int], pb.pagination.PageResponse]:
    request = pb.pagination.PageRequest(**fields)  # type: ignore[arg-type]
    return paginate_store(store, request, number)  # type: ignore[arg-type]


def test_key_pages_walk_the_table_once_in_order() -> None:
    store, seen, key = table(25), [], b""
    while True:
        items, response = page(store, key=key, limit=10)
        seen += items
        key = response.next_key
        if not key:
            break
    assert seen == list(range(25))


def test_reverse_pages_and_offsets() -> None:
    store = table(25)
    items, response = page(store, limit=10, reverse=True)
    assert items == list(range(24, 14, -1))
    items, _ = page(store, key=response.next_key, limit=10, reverse=True)
    assert items == list(range(14, 4, -1))
    items, response = page(store, offset=20, limit=10, count_total=True)
    assert items == list(range(20, 25)) and not response.next_key and response.total == 25


def test_filters_count_only_kept_entries() -> None:
    store = table(30)

    def even(key: bytes, value: bytes) -> int | None:
        value_number = number(key, value)
        return value_number if value_number % 2 == 0 else None

    request = pb.pagination.PageRequest(offset=2, limit=3, count_total=True)
    items, response = paginate_store(store, request, even)
    assert items == [4, 6, 8] and response.total == 15


def test_bad_requests_are_coded() -> None:
    for fields in ({"key": b"\x01", "offset": 1}, {"limit": 10_000}):
        with pytest.raises(AivmError):
            page(table(3), **fields)


def test_a_page_costs_gas_for_its_items_not_for_the_table() -> None:
    costs = {}
    for size in (100, 10_000):
        meter = GasMeter(None)
        items, response = page(GasKVStore(table(size), meter), limit=10)
        assert len(items) == 10 and response.next_key
        costs[size] = meter.consumed
    assert costs[100] == costs[10_000]
