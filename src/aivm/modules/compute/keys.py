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
- ``0x07 | id(8) → Job``; ``0x08 → next job id``
- ``0x09 | id(8) → 0x01``: the match queue (jobs that need providers), walked from the cursor
  ``0x0A → id(8)`` at most ``max_match_jobs_per_block`` entries a block
- ``0x0B | height(8) | id(8)``: job deadlines; ``0x0C | height(8) | id(8) | op``: assignment
  deadlines; ``0x0D | height(8) | id(8)``: settlements due (challenge window over);
  ``0x12 | height(8) | id(8)``: auctions to clear (reveal window over)
- ``0x0E | op → ProviderStats``
- ``0x0F | model_id(8) | len(version) | version | tier(1) → ReferencePrice``
- ``0x13 → pending protocol fees`` (decimal ucgpt): settled jobs' fees, moved to the fee
  collector at EndBlock
- ``0x10 | op(client) | id(8)`` and ``0x11 | op(provider) | id(8)``: jobs by client / provider
- ``0x20 … 0x2F``: payment channels (:mod:`aivm.modules.compute.channels`)
- ``0x30 … 0x3F``: hardware checks (:mod:`aivm.modules.compute.hardware_checks`)
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
JOB = b"\x07"
NEXT_JOB_ID = b"\x08"
MATCH_QUEUE = b"\x09"
MATCH_CURSOR = b"\x0a"
JOB_DEADLINES = b"\x0b"
ASSIGNMENT_DEADLINES = b"\x0c"
SETTLE_QUEUE = b"\x0d"
STATS = b"\x0e"
REFERENCE_PRICE = b"\x0f"
JOBS_BY_CLIENT = b"\x10"
JOBS_BY_PROVIDER = b"\x11"
AUCTION_QUEUE = b"\x12"
PENDING_FEES = b"\x13"
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


def effective_tier(record: compute_pb2.Provider) -> compute_pb2.Tier:
    """The tier a provider's offers are indexed (and matched) under: its declared tier, or
    ``TIER_ENTRY`` while it is demoted after failed hardware checks."""
    return compute_pb2.TIER_ENTRY if record.hardware_demoted else record.tier


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


def job_key(job_id: int) -> bytes:
    """Key of a job record."""
    return JOB + u64(job_id)


def height_job_key(queue: bytes, height: int, job_id: int) -> bytes:
    """Key of a job in a height-ordered queue (deadlines, settlements, auctions)."""
    return queue + u64(max(height, 0)) + u64(job_id)


def assignment_deadline_key(height: int, job_id: int, provider: bytes) -> bytes:
    """Key of an assignment in the assignment-deadline queue."""
    return ASSIGNMENT_DEADLINES + u64(max(height, 0)) + u64(job_id) + op_key(provider)


def stats_key(address: bytes) -> bytes:
    """Key of a provider's SLA record."""
    return STATS + op_key(address)


def reference_price_key(model_id: int, version: str, tier: int) -> bytes:
    """Key of the reference price of a model version in a tier."""
    return REFERENCE_PRICE + version_prefix(model_id, version)[1:] + bytes([tier])


def party_job_key(index: bytes, address: bytes, job_id: int) -> bytes:
    """Key of a job in the by-client or by-provider index."""
    return index + op_key(address) + u64(job_id)
