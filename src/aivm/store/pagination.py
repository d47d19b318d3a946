"""Cosmos-style pagination (``PageRequest`` / ``PageResponse``) read straight from a store.

As the SDK's ``query.Paginate``: a page is read by iterating the store from the request's
``key`` (or past its ``offset``), so a query touches only the items it returns (plus the ones
it skips for an offset, or counts for a total) — never the whole table — and every
item read is charged to the query's gas meter when the store is gas-metered. ``next_key`` is
the store key of the first item of the next page, relative to the store given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from aivm.store.kv import KVStore
from aivm.types import pb
from aivm.types.pagination import counts_total, page_limit

T = TypeVar("T")


def paginate_store(
    store: KVStore,
    request: pb.pagination.PageRequest | None,
    decode: Callable[[bytes, bytes], T | None],
) -> tuple[list[T], pb.pagination.PageResponse]:
    """The requested page of ``store``'s entries, decoded, and its PageResponse.

    ``decode`` turns a (key, value) entry into an item, or None to leave it out (a filter);
    offsets and totals count only entries it keeps. As in the SDK, the total is counted when
    ``count_total`` is set or no limit is given, except with a key (:func:`counts_total`).
    """
    request = request or pb.pagination.PageRequest()
    limit = page_limit(request)
    entries = _entries_from(store, request)
    page: list[T] = []
    response = pb.pagination.PageResponse()
    skipped = counted = 0
    count_total = counts_total(request)
    for key, value in entries:
        item = decode(key, value)
        if item is None:
            continue
        if skipped < request.offset:
            skipped += 1
            continue
        if len(page) == limit:
            response.next_key = key
            if not count_total:
                break
            counted += 1
            continue
        page.append(item)
    if count_total:
        response.total = skipped + len(page) + counted
    return page, response


def _entries_from(
    store: KVStore, request: pb.pagination.PageRequest
) -> Iterator[tuple[bytes, bytes]]:
    """The store's entries from the request's key on, in the requested direction."""
    if not request.key:
        return store.iterate(reverse=request.reverse)
    if request.reverse:  # the key is the first entry of the page: include it
        return store.iterate(None, request.key + b"\x00", reverse=True)
    return store.iterate(request.key, None)
