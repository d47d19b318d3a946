"""Deterministic test content: distinct, non-repeating bytes of any size."""

from __future__ import annotations

import hashlib


def sample_bytes(size: int, tag: bytes = b"") -> bytes:
    """``size`` bytes, a function of ``tag`` and ``size``, never repeating a 32-byte block."""
    seed = hashlib.sha256(tag + b"%d" % size).digest()
    count = size // 32 + 1
    blocks = (hashlib.sha256(seed + i.to_bytes(8, "big")).digest() for i in range(count))
    return b"".join(blocks)[:size]
