"""Hash functions used by the chain: SHA-256 and RIPEMD-160 (for secp256k1 addresses).

RIPEMD-160 comes from :mod:`hashlib` when the linked OpenSSL still provides it; OpenSSL 3
moved it to the legacy provider, so on such systems the pycryptodome implementation
(installed with cosmpy) is used instead. Both give identical digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

__all__ = ["ripemd160", "sha256"]


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def _hashlib_ripemd160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", data).digest()


def _pycryptodome_ripemd160(data: bytes) -> bytes:
    from Crypto.Hash import RIPEMD160

    return bytes(RIPEMD160.new(data).digest())


def _select_ripemd160() -> Callable[[bytes], bytes]:
    try:
        _hashlib_ripemd160(b"")
    except ValueError:
        return _pycryptodome_ripemd160
    return _hashlib_ripemd160


_ripemd160_impl = _select_ripemd160()


def ripemd160(data: bytes) -> bytes:
    """Return the 20-byte RIPEMD-160 digest of ``data``."""
    return _ripemd160_impl(data)
