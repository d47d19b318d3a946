"""Bech32 addresses with the AIVM prefixes: aivm, aivmvaloper, aivmvalcons, aivmpub.

Addresses are 20 bytes (``ripemd160(sha256(pubkey))`` or a module address) or 32 bytes (derived
addresses); any other length is rejected. Decoding rejects, with ``ErrInvalidAddress`` (code 7,
codespace ``sdk``) and a message naming the problem: an empty string, mixed case, a bad checksum
or character, an unexpected prefix, invalid padding and a wrong length. An all-uppercase address
is accepted, as Go's bech32 accepts it.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Final

import bech32 as _bech32

from aivm.types.errors import AivmError, ErrInvalidAddress

__all__ = [
    "ACC_PREFIX",
    "PUB_PREFIX",
    "VALCONS_PREFIX",
    "VALOPER_PREFIX",
    "acc_address",
    "acc_address_bytes",
    "bech32_decode",
    "bech32_decode_raw",
    "bech32_encode",
    "is_valid_acc_address",
    "module_address",
    "valcons_address",
    "valcons_address_bytes",
    "valoper_address",
    "valoper_address_bytes",
]

ACC_PREFIX: Final = "aivm"
VALOPER_PREFIX: Final = "aivmvaloper"
VALCONS_PREFIX: Final = "aivmvalcons"
PUB_PREFIX: Final = "aivmpub"

ADDRESS_LENGTHS: Final = (20, 32)
"""Accepted address lengths in bytes."""


def bech32_encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` (any length) as bech32 with human-readable part ``hrp``."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"address data must be bytes, got {type(data).__name__}")
    if len(data) > _CACHED_MAX_BYTES or len(hrp) > _CACHED_MAX_BYTES:
        return _encode(hrp, bytes(data))
    return _encode_cached(hrp, bytes(data))


_CACHE_SIZE: Final = 65536
"""Entries of each bech32 cache: the pure-Python codec costs ~50-150 µs a call, and the same
few addresses (validators, module accounts, active senders) are converted every block. The
caches change no result (a failing input is never cached), only the time; inputs longer than
any address are not cached, so the caches hold at most a few MB."""
_CACHED_MAX_BYTES: Final = 100


def _encode(hrp: str, data: bytes) -> str:
    words = _bech32.convertbits(data, 8, 5, True)
    encoded = _bech32.bech32_encode(hrp, words) if words is not None else None
    if not encoded:
        raise ErrInvalidAddress.wrap(f"cannot bech32-encode with prefix {hrp!r}")
    return str(encoded)


def bech32_decode_raw(addr: str) -> tuple[str, bytes]:
    """Decode any bech32 string into ``(hrp, data)`` without checking the data length."""
    if not isinstance(addr, str) or not addr:
        raise ErrInvalidAddress.wrap("empty address string is not allowed")
    if len(addr) > _CACHED_MAX_BYTES:
        return _decode(addr)
    return _decode_cached(addr)


def _decode(addr: str) -> tuple[str, bytes]:
    if addr != addr.lower() and addr != addr.upper():
        raise ErrInvalidAddress.wrap(f"mixed-case address {addr!r}")
    hrp, words = _bech32.bech32_decode(addr)
    if hrp is None or words is None:
        raise ErrInvalidAddress.wrap(
            f"decoding bech32 failed for {addr!r}: bad checksum, character or length"
        )
    data = _bech32.convertbits(words, 5, 8, False)
    if data is None:
        raise ErrInvalidAddress.wrap(f"decoding bech32 failed for {addr!r}: invalid padding")
    return str(hrp), bytes(data)


_encode_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(_encode)
_decode_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(_decode)


def _check_length(data: bytes, what: str) -> bytes:
    if len(data) not in ADDRESS_LENGTHS:
        raise ErrInvalidAddress.wrap(
            f"{what} has length {len(data)}, expected one of {ADDRESS_LENGTHS}"
        )
    return data


def bech32_decode(addr: str, expected_hrp: str | None = None) -> bytes:
    """Decode a bech32 address into its 20- or 32-byte payload.

    When ``expected_hrp`` is given the prefix must equal it.
    """
    hrp, data = bech32_decode_raw(addr)
    if expected_hrp is not None and hrp != expected_hrp:
        raise ErrInvalidAddress.wrap(
            f"invalid Bech32 prefix; expected {expected_hrp}, got {hrp} ({addr!r})"
        )
    return _check_length(data, f"address {addr!r}")


def _encode_address(hrp: str, data: bytes) -> str:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"address must be bytes, got {type(data).__name__}")
    return bech32_encode(hrp, _check_length(bytes(data), "address"))


def acc_address(data: bytes) -> str:
    """Bech32 account address (``aivm1...``) of 20 or 32 address bytes."""
    return _encode_address(ACC_PREFIX, data)


def acc_address_bytes(addr: str) -> bytes:
    """Address bytes of an ``aivm1...`` account address."""
    return bech32_decode(addr, ACC_PREFIX)


def valoper_address(data: bytes) -> str:
    """Bech32 validator operator address (``aivmvaloper1...``)."""
    return _encode_address(VALOPER_PREFIX, data)


def valoper_address_bytes(addr: str) -> bytes:
    """Address bytes of an ``aivmvaloper1...`` address."""
    return bech32_decode(addr, VALOPER_PREFIX)


def valcons_address(data: bytes) -> str:
    """Bech32 validator consensus address (``aivmvalcons1...``)."""
    return _encode_address(VALCONS_PREFIX, data)


def valcons_address_bytes(addr: str) -> bytes:
    """Address bytes of an ``aivmvalcons1...`` address."""
    return bech32_decode(addr, VALCONS_PREFIX)


def is_valid_acc_address(addr: object) -> bool:
    """True when ``addr`` is a well-formed ``aivm1...`` account address."""
    if not isinstance(addr, str):
        return False
    try:
        acc_address_bytes(addr)
    except AivmError:
        return False
    return True


def module_address(name: str) -> bytes:
    """Address of a module account: ``sha256(name)[:20]`` (SDK ``authtypes.NewModuleAddress``)."""
    return hashlib.sha256(name.encode()).digest()[:20]
