"""Cosmos-style pagination (``PageRequest`` / ``PageResponse``) over an ordered list.

``key`` pagination returns an opaque ``next_key`` (the index of the next item, big-endian);
``offset`` pagination skips items. The default page size is 100, as in the Cosmos SDK, and,
as there, a request without a limit (0) counts the total too (:func:`counts_total`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
T = TypeVar("T")


def page_limit(request: pb.pagination.PageRequest) -> int:
    """The page size a request asks for (default 100); ErrInvalidRequest when it asks for
    both an offset and a key, or for more than MAX_LIMIT items."""
    if request.key and request.offset:
        raise ErrInvalidRequest.wrap("either offset or key is expected, got both")
    limit = request.limit or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ErrInvalidRequest.wrap(f"page limit {limit} exceeds the maximum {MAX_LIMIT}")
    return limit


def counts_total(request: pb.pagination.PageRequest) -> bool:
    """Whether a page answers with ``total``, as the SDK's ``query.Paginate``: when the request
    asks for it (``count_total``) or gives no limit (0, the default page size), and never for
    a request with a ``key`` (only the first page, or an offset page, counts)."""
    return (request.count_total or request.limit == 0) and not request.key


def paginate(
    items: Sequence[T], request: pb.pagination.PageRequest | None
) -> tuple[list[T], pb.pagination.PageResponse]:
    """Return the requested page of ``items`` and the matching PageResponse."""
    request = request or pb.pagination.PageRequest()
    limit = page_limit(request)
    start = int.from_bytes(request.key, "big") if request.key else request.offset
    ordered = list(reversed(items)) if request.reverse else list(items)
    page = ordered[start : start + limit]
    response = pb.pagination.PageResponse()
    if start + limit < len(ordered):
        response.next_key = (start + limit).to_bytes(8, "big")
    if counts_total(request):
        response.total = len(ordered)
    return page, response
