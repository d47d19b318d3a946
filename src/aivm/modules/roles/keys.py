"""roles store layout (under the module prefix ``roles/``). ``role`` is one byte (the ``Role``
enum), ``op`` is ``len(address) | address`` (one length byte, as the SDK's address keys),
heights, times and ids are 8-byte big-endian.

- ``0x01 → Params``
- ``0x02 | role | op → RoleOperator``: every operator ever registered in a role
- ``0x03 | role | inverted score(48) | op → bond``: the candidates of a role (not jailed,
  bond > 0), highest selection score first, ties by address; EndBlock reads the top of it
- ``0x04 | role | op → ActiveMember``: the role's active set
- ``0x05 | completion time | id → UnbondingEntry``: the unbonding queue
- ``0x06 | op | role | id → completion time``: the unbonding entries of an operator
- ``0x07 → next unbonding entry id``
- ``0x08 | op | role | id → SlashRecord``: slash records of an operator in a role
- ``0x09 → next slash record id``
- ``0x0a | op | role → OperatorRewards``: claimable rewards
- ``0x0b | role → RoleRemainder``: split dust of a role, added to its next split
- ``0x0c | role → 0x01``: the role's candidates changed; EndBlock recomputes its active set
- ``0x0d | role | op → units (8 bytes)``: work recorded since the role's last reward split
  (deleted by the split, every BeginBlock)
"""

from __future__ import annotations

from aivm.types.errors import ErrInvalidRequest

STORE_PREFIX = b"roles/"
MODULE_ACCOUNT = "roles"
"""Module account holding role bonds, unbonding entries and unclaimed rewards (burner)."""

PARAMS = b"\x01"
OPERATOR = b"\x02"
CANDIDATE = b"\x03"
ACTIVE = b"\x04"
UNBONDING_QUEUE = b"\x05"
UNBONDING_BY_OPERATOR = b"\x06"
NEXT_UNBONDING_ID = b"\x07"
SLASH = b"\x08"
NEXT_SLASH_ID = b"\x09"
REWARDS = b"\x0a"
REMAINDER = b"\x0b"
DIRTY = b"\x0c"
WORK = b"\x0d"

SCORE_BYTES = 48
"""Width of a selection score in a candidate key (scores stay far below 2**384)."""
MAX_SCORE = (1 << (8 * SCORE_BYTES)) - 1


def op_key(address: bytes) -> bytes:
    """``len(address) | address``."""
    if not 0 < len(address) <= 255:
        raise ErrInvalidRequest.wrap(f"address of {len(address)} bytes")
    return bytes([len(address)]) + address


def u64(value: int) -> bytes:
    """8-byte big-endian."""
    return value.to_bytes(8, "big")


def operator_key(role: int, address: bytes) -> bytes:
    """Key of an operator's record in ``role``."""
    return OPERATOR + bytes([role]) + op_key(address)


def candidate_key(role: int, score: int, address: bytes) -> bytes:
    """Key of a candidate: the score inverted so that iteration goes highest first."""
    return (
        CANDIDATE
        + bytes([role])
        + (MAX_SCORE - score).to_bytes(SCORE_BYTES, "big")
        + (op_key(address))
    )


def address_of_candidate(key: bytes) -> bytes:
    """The operator address in a candidate key relative to ``CANDIDATE | role``."""
    return key[SCORE_BYTES + 1 :]


def active_key(role: int, address: bytes) -> bytes:
    """Key of an active-set member."""
    return ACTIVE + bytes([role]) + op_key(address)


def unbonding_queue_key(completion_time_ns: int, entry_id: int) -> bytes:
    """Key of an unbonding entry in the queue."""
    return UNBONDING_QUEUE + u64(completion_time_ns) + u64(entry_id)


def unbonding_index_prefix(address: bytes, role: int) -> bytes:
    """Prefix of an operator's unbonding entries in ``role``."""
    return UNBONDING_BY_OPERATOR + op_key(address) + bytes([role])


def slash_prefix(address: bytes, role: int | None = None) -> bytes:
    """Prefix of an operator's slash records (in ``role`` when given)."""
    prefix = SLASH + op_key(address)
    return prefix if role is None else prefix + bytes([role])


def rewards_key(address: bytes, role: int) -> bytes:
    """Key of an operator's claimable rewards in ``role``."""
    return REWARDS + op_key(address) + bytes([role])


def remainder_key(role: int) -> bytes:
    """Key of a role's split remainder."""
    return REMAINDER + bytes([role])


def dirty_key(role: int) -> bytes:
    """Key of a role's "candidates changed" flag."""
    return DIRTY + bytes([role])


def work_prefix(role: int) -> bytes:
    """Prefix of a role's work counters."""
    return WORK + bytes([role])


def work_key(role: int, address: bytes) -> bytes:
    """Key of an operator's work counter in ``role``."""
    return work_prefix(role) + op_key(address)


def address_of_work(key: bytes) -> bytes:
    """The operator address in a work key relative to ``WORK | role``."""
    return key[1:]
