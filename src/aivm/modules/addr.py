"""Cached conversion between bech32 account addresses and their 20/32 address bytes.

Messages carry addresses as strings; state keys use bytes. Bech32 coding in pure Python costs
tens of microseconds, and the same few addresses recur in every block, so both directions are
memoised. The cache changes no result, only the time to compute it.

Modules accept only the canonical (lower-case) form: bech32 also allows an all-upper-case
spelling, and modules that keep or compare addresses as strings (a model's owner, a stored
object's owner) would otherwise see two accounts in one.
"""

from __future__ import annotations

from functools import lru_cache

from aivm.types.address import acc_address, acc_address_bytes
from aivm.types.errors import ErrInvalidAddress


@lru_cache(maxsize=1 << 17)
def addr_bytes(address: str) -> bytes:
    """Decode a canonical bech32 ``aivm1…`` address; ErrInvalidAddress when invalid or not
    in lower case."""
    decoded = acc_address_bytes(address)
    if address != address.lower():
        raise ErrInvalidAddress.wrap(f"address {address!r} must be in lower case")
    return decoded


@lru_cache(maxsize=1 << 17)
def addr_str(address: bytes) -> str:
    """Encode address bytes as a bech32 ``aivm1…`` string."""
    return acc_address(address)
