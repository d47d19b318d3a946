"""compute store layout (under the module prefix ``compute/``). ``op`` is
``len(address) | address`` (one length byte), ids and times are 8-byte big-endian.

- ``0x01 → Params``
- ``0x02 | op → Provider``: every registered provider (an exited one is deleted)
- ``0x03 | model_id(8) | len(version) | version | tier(1) | price(16) | op → 0x01``: the offer
  index, one entry per offer of an ACTIVE provider, so the asks for (model, version, tier)
  are read in price order (ties by operator key) without scanning providers
- ``0x04 | completion time(8) | op → 0x01``: the exit queue (EXITING providers)
- ``0x05 | op | id(8) → SlashRecord``: slash records of a provider
- ``0x06 → next slash record id``
"""

from __future__ import annotations

from aivm.modules.compute import compute_pb2
from aivm.types.errors import ErrInvalidRequest

STORE_PREFIX = b"compute/"
MODULE_ACCOUNT = "compute"
"""Module account holding provider collateral (burner: slashes burn from it)."""

PARAMS = b"\x01"
PROVIDER = b"\x02"
OFFER = b"\x03"
EXIT_QUEUE = b"\x04"
SLASH = b"\x05"
NEXT_SLASH_ID = b"\x06"
MARKER = b"\x01"

PRICE_BYTES = 16
MAX_PRICE = (1 << (8 * PRICE_BYTES)) - 1
"""Largest price per unit an offer may ask (it must fit the index key's 16 bytes)."""
MAX_VERSION_BYTES = 64
"""Longest model version an offer may name (one length byte in the index key)."""

GIB_MIB = 1024
HIGH_PERFORMANCE_MIB = 40 * GIB_MIB
STANDARD_MIB = 12 * GIB_MIB


def tier_of(hardware: compute_pb2.Hardware) -> compute_pb2.Tier:
    """The tier of a hardware declaration, from the memory of one GPU: at least 40 GiB →
    high-performance, at least 12 GiB → standard, anything else (CPU only included) → entry."""
    memory = hardware.gpu_memory_mib if hardware.gpu_count > 0 else 0
    if memory >= HIGH_PERFORMANCE_MIB:
        return compute_pb2.TIER_HIGH_PERFORMANCE
    if memory >= STANDARD_MIB:
        return compute_pb2.TIER_STANDARD
    return compute_pb2.TIER_ENTRY


def op_key(address: bytes) -> bytes:
    """``len(address) | address``."""
    if not 0 < len(address) <= 255:
        raise ErrInvalidRequest.wrap(f"address of {len(address)} bytes")
    return bytes([len(address)]) + address


def u64(value: int) -> bytes:
    """8-byte big-endian."""
    return value.to_bytes(8, "big")


def provider_key(address: bytes) -> bytes:
    """Key of a provider's record."""
    return PROVIDER + op_key(address)


def version_prefix(model_id: int, version: str) -> bytes:
    """Offer-index prefix of a model version (every tier)."""
    raw = version.encode()
    if not 0 < len(raw) <= MAX_VERSION_BYTES:
        raise ErrInvalidRequest.wrap(f"version of {len(raw)} bytes")
    return OFFER + u64(model_id) + bytes([len(raw)]) + raw


def asks_prefix(model_id: int, version: str, tier: int) -> bytes:
    """Offer-index prefix of a model version in one tier."""
    return version_prefix(model_id, version) + bytes([tier])


def price_bytes(price: int) -> bytes:
    """A price as 16 bytes big-endian (so keys sort by price)."""
    if not 0 <= price <= MAX_PRICE:
        raise ErrInvalidRequest.wrap(f"price {price} does not fit {PRICE_BYTES} bytes")
    return price.to_bytes(PRICE_BYTES, "big")


def offer_key(model_id: int, version: str, tier: int, price: int, address: bytes) -> bytes:
    """Key of one offer in the index."""
    return asks_prefix(model_id, version, tier) + price_bytes(price) + op_key(address)


def split_ask(key: bytes) -> tuple[int, bytes]:
    """(price, operator address) of an index key relative to an :func:`asks_prefix`."""
    return int.from_bytes(key[:PRICE_BYTES], "big"), key[PRICE_BYTES + 1 :]


def split_version_ask(key: bytes) -> tuple[int, int, bytes]:
    """(tier, price, operator address) of an index key relative to a :func:`version_prefix`."""
    price, address = split_ask(key[1:])
    return key[0], price, address


def exit_key(completion_time_ns: int, address: bytes) -> bytes:
    """Key of a provider in the exit queue."""
    return EXIT_QUEUE + u64(completion_time_ns) + op_key(address)


def slash_prefix(address: bytes) -> bytes:
    """Prefix of a provider's slash records."""
    return SLASH + op_key(address)
