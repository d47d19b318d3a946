"""verify store layout (prefix ``verify/``).

``0x01`` Params · ``0x02|job(8)`` Session · ``0x03|height(8)|job(8)`` draw queue (the
session draws at that height's BeginBlock) · ``0x04|height(8)|job(8)`` tally queue (the round's
reveal deadline; tallied at that height's EndBlock) · ``0x05|job(8)`` Trail ·
``0x06|len(validator)|validator|job(8)`` duties: drawn validators of open rounds.
"""

from __future__ import annotations

STORE_PREFIX = b"verify/"
PARAMS = b"\x01"
SESSIONS = b"\x02"
DRAW_QUEUE = b"\x03"
TALLY_QUEUE = b"\x04"
TRAILS = b"\x05"
DUTIES = b"\x06"
MARKER = b"\x01"


def u64(value: int) -> bytes:
    """8-byte big-endian."""
    return value.to_bytes(8, "big")


def queue_key(queue: bytes, height: int, job_id: int) -> bytes:
    """``queue|height|job``."""
    return queue + u64(height) + u64(job_id)


def duty_prefix(validator: bytes) -> bytes:
    """``0x06|len|validator``: one validator's duties."""
    return DUTIES + bytes([len(validator)]) + validator


def duty_key(validator: bytes, job_id: int) -> bytes:
    """``0x06|len|validator|job``."""
    return duty_prefix(validator) + u64(job_id)
