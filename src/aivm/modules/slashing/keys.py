"""slashing store layout (under the module prefix ``slashing/``), as the SDK's ``x/slashing``.

- ``0x00 → Params`` (protobuf ``cosmos.slashing.v1beta1.Params``)
- ``0x01 | len(cons_addr) | cons_addr → ValidatorSigningInfo`` (protobuf)
- ``0x02 | len(cons_addr) | cons_addr | chunk (8 bytes, big-endian) → missed bits`` — the
  missed-blocks bit array of a validator's signing window in chunks of
  :data:`CHUNK_BITS` bits (bit ``i`` of the window is bit ``i % 8`` of byte ``(i % 1024) // 8``
  of chunk ``i // 1024``); an all-zero chunk is deleted, so a validator that signs costs no
  bitmap storage and one that misses costs at most ``ceil(window / 1024)`` chunks.
"""

from __future__ import annotations

STORE_PREFIX = b"slashing/"
PARAMS_KEY = b"\x00"
SIGNING_INFO_PREFIX = b"\x01"
MISSED_BITMAP_PREFIX = b"\x02"

CHUNK_BITS = 1024
"""Bits per stored chunk of the missed-blocks bit array (SDK ``MissedBlockBitmapChunkSize``)."""
CHUNK_BYTES = CHUNK_BITS // 8


def _length_prefixed(address: bytes) -> bytes:
    return bytes([len(address)]) + address


def signing_info_key(cons_addr: bytes) -> bytes:
    """Key of a validator's signing info."""
    return SIGNING_INFO_PREFIX + _length_prefixed(cons_addr)


def missed_bitmap_prefix(cons_addr: bytes) -> bytes:
    """Prefix of every chunk of a validator's missed-blocks bit array."""
    return MISSED_BITMAP_PREFIX + _length_prefixed(cons_addr)


def missed_chunk_key(cons_addr: bytes, chunk: int) -> bytes:
    """Key of one chunk of a validator's missed-blocks bit array."""
    return missed_bitmap_prefix(cons_addr) + chunk.to_bytes(8, "big")


def cons_addr_from_key(key: bytes) -> bytes:
    """The consensus address in a length-prefixed key (without its one-byte table prefix)."""
    return key[1 : 1 + key[0]]
