"""verify store layout (prefix ``verify/``).

``0x01`` Params · ``0x02|job(8)`` Session · ``0x03|height(8)|job(8)`` draw queue (the
session draws at that height's BeginBlock) · ``0x04|height(8)|job(8)`` tally queue (the round's
reveal deadline; tallied at that height's EndBlock) · ``0x05|job(8)`` Trail ·
``0x06|len(validator)|validator|job(8)`` duties: drawn validators of open rounds ·
``0x07``–``0x09`` attestation records (``attestation.py``) · ``0x0a|job(8)|number(4)``
Dispute · ``0x0b|job(8)`` → number(4): the job's undecided dispute · ``0x0c|height(8)|job(8)``
game queue (a move's deadline; the mover loses after it) · ``0x0d|height(8)|job(8)`` window
queue (an optimistic session's challenge window ends at that height's EndBlock).
"""

from __future__ import annotations

STORE_PREFIX = b"verify/"
PARAMS = b"\x01"
SESSIONS = b"\x02"
DRAW_QUEUE = b"\x03"
TALLY_QUEUE = b"\x04"
TRAILS = b"\x05"
DUTIES = b"\x06"
DISPUTES = b"\x0a"
ACTIVE_DISPUTES = b"\x0b"
GAME_QUEUE = b"\x0c"
WINDOW_QUEUE = b"\x0d"
MARKER = b"\x01"


def u64(value: int) -> bytes:
    """8-byte big-endian."""
    return value.to_bytes(8, "big")


def u32(value: int) -> bytes:
    """4-byte big-endian."""
    return value.to_bytes(4, "big")


def dispute_key(job_id: int, number: int) -> bytes:
    """``0x0a|job|number``."""
    return DISPUTES + u64(job_id) + u32(number)


def queue_key(queue: bytes, height: int, job_id: int) -> bytes:
    """``queue|height|job``."""
    return queue + u64(height) + u64(job_id)


def duty_prefix(validator: bytes) -> bytes:
    """``0x06|len|validator``: one validator's duties."""
    return DUTIES + bytes([len(validator)]) + validator


def duty_key(validator: bytes, job_id: int) -> bytes:
    """``0x06|len|validator|job``."""
    return duty_prefix(validator) + u64(job_id)
