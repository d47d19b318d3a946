"""Cached conversion between bech32 account addresses and their 20/32 address bytes.

Messages carry addresses as strings; state keys use bytes. Bech32 coding in pure Python costs
tens of microseconds, and the same few addresses recur in every block, so both directions are
memoised. The cache changes no result, only the time to compute it.
"""

from __future__ import annotations

from functools import lru_cache

from aivm.types.address import acc_address, acc_address_bytes


@lru_cache(maxsize=1 << 17)
def addr_bytes(address: str) -> bytes:
    """Decode a bech32 ``aivm1…`` address; raises AivmError(ErrInvalidAddress) when invalid."""
    return acc_address_bytes(address)


@lru_cache(maxsize=1 << 17)
def addr_str(address: bytes) -> str:
    """Encode address bytes as a bech32 ``aivm1…`` string."""
    return acc_address(address)
