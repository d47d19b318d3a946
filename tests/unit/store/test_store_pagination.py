"""Pagination read straight from a store: pages, keys, offsets, filters, totals and the gas a
page costs (it must not grow with the size of the table)."""

from __future__ import annotations

from typing import Any

import pytest

from aivm.modules.staking.queries import paginate_iter
from aivm.store import GasKVStore, GasMeter, MemStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.errors import AivmError
from aivm.types.pagination import paginate


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


def _from_store(request: pb.pagination.PageRequest) -> tuple[list[int], pb.pagination.PageResponse]:
    return paginate_store(table(25), request, number)


def _from_list(request: pb.pagination.PageRequest) -> tuple[list[int], pb.pagination.PageResponse]:
    return paginate(list(range(25)), request)


def _from_iter(request: pb.pagination.PageRequest) -> tuple[list[int], pb.pagination.PageResponse]:
    return paginate_iter(iter(range(25)), request)


@pytest.mark.parametrize("paged", [_from_store, _from_list, _from_iter])
def test_the_total_is_counted_as_the_sdk_counts_it(paged: Any) -> None:
    """``query.Paginate``: no limit (0) counts the total as ``count_total`` does; a limit alone
    does not; a key never does (only the first or an offset page answers a total)."""
    Request = pb.pagination.PageRequest
    items, response = paged(Request())
    assert items == list(range(25)) and response.total == 25 and not response.next_key
    items, response = paged(Request(offset=5))
    assert items == list(range(5, 25)) and response.total == 25
    items, response = paged(Request(limit=10))
    assert items == list(range(10)) and response.total == 0 and response.next_key
    _, response = paged(Request(limit=10, count_total=True))
    assert response.total == 25
    _, response = paged(Request(key=response.next_key, count_total=True))
    assert response.total == 0
    items, response = paged(Request(key=paged(Request(limit=10))[1].next_key))
    assert items == list(range(10, 25)) and response.total == 0
