"""storage store layout (under the module prefix ``storage/``).

- ``0x01 | len(cid) | cid | len(owner) | owner address → StoredObject``: one retention record
  per (CID, owner); the records of a CID share the prefix ``0x01 | len(cid) | cid`` and sort by
  owner address bytes.
- ``0x02 | id(8) → Challenge``
- ``0x03 → next challenge id`` (8-byte big-endian)
- ``0x04 → Params``
- ``0x05 | deadline height(8) | id(8) → 0x01``: the open challenges by deadline, so EndBlock
  finds the ones that expire without scanning every challenge
- ``0x06 | len(cid) | cid → ObjectHolders``: the data-role holders assigned to a CID (one
  entry per CID that has a record; the scheduler walks these keys)
- ``0x07 | len(holder) | holder | len(cid) | cid → 0x01``: the CIDs a holder is assigned
- ``0x08 → schedule cursor``: the ``0x06`` key suffix of the last CID the scheduler visited
- ``0x09 | len(assignee) | assignee | id(8) → 0x01``: the open scheduled challenges by
  assignee (what ``answer-assigned`` reads)
- ``0x0a | len(holder) | holder → HolderStats``: missed and passed scheduled challenges

Lengths are one byte (CIDs are 59 characters, addresses 20 or 32 bytes), as the Cosmos SDK's
length-prefixed address keys, so no key of one CID is a prefix of another CID's keys.
"""

from aivm.types.errors import ErrInvalidRequest

STORE_PREFIX = b"storage/"
OBJECT = b"\x01"
CHALLENGE = b"\x02"
NEXT_CHALLENGE_ID = b"\x03"
PARAMS = b"\x04"
OPEN_BY_DEADLINE = b"\x05"
HOLDERS = b"\x06"
BY_HOLDER = b"\x07"
SCHEDULE_CURSOR = b"\x08"
OPEN_BY_ASSIGNEE = b"\x09"
HOLDER_STATS = b"\x0a"
MODULE_ACCOUNT = "storage"
"""Module account that receives retention payments."""


def _length_prefixed(data: bytes) -> bytes:
    if len(data) > 255:
        raise ErrInvalidRequest.wrap(f"key part of {len(data)} bytes is longer than 255")
    return bytes([len(data)]) + data


def object_records_prefix(cid: str) -> bytes:
    """Prefix of every record of ``cid`` (relative to the module store)."""
    return OBJECT + _length_prefixed(cid.encode())


def owner_suffix(owner: bytes) -> bytes:
    """The part of a record key after its CID prefix: the length-prefixed owner address."""
    return _length_prefixed(owner)


def object_key(cid: str, owner: bytes) -> bytes:
    """Key of ``owner``'s record of ``cid``."""
    return object_records_prefix(cid) + owner_suffix(owner)


def challenge_key(challenge_id: int) -> bytes:
    """Key of a challenge."""
    return CHALLENGE + challenge_id.to_bytes(8, "big")


def open_challenge_key(deadline_height: int, challenge_id: int) -> bytes:
    """Index key of an open challenge (relative to ``OPEN_BY_DEADLINE``)."""
    return deadline_height.to_bytes(8, "big") + challenge_id.to_bytes(8, "big")


def cid_part(cid: str) -> bytes:
    """The length-prefixed CID, as it follows ``HOLDERS`` (and ends a ``BY_HOLDER`` key)."""
    return _length_prefixed(cid.encode())


def holders_key(cid: str) -> bytes:
    """Key of the holders of ``cid``."""
    return HOLDERS + cid_part(cid)


def holder_prefix(holder: bytes) -> bytes:
    """Prefix of every ``BY_HOLDER`` key of ``holder``."""
    return BY_HOLDER + _length_prefixed(holder)


def by_holder_key(holder: bytes, cid: str) -> bytes:
    """Index key: ``holder`` is assigned ``cid``."""
    return holder_prefix(holder) + cid_part(cid)


def assignee_prefix(assignee: bytes) -> bytes:
    """Prefix of the open scheduled challenges naming ``assignee``."""
    return OPEN_BY_ASSIGNEE + _length_prefixed(assignee)


def assigned_key(assignee: bytes, challenge_id: int) -> bytes:
    """Index key of an open scheduled challenge."""
    return assignee_prefix(assignee) + challenge_id.to_bytes(8, "big")


def holder_stats_key(holder: bytes) -> bytes:
    """Key of a holder's challenge counters."""
    return HOLDER_STATS + _length_prefixed(holder)


def cid_of_part(part: bytes) -> str:
    """The CID of a length-prefixed CID key part (the inverse of :func:`cid_part`)."""
    return part[1 : 1 + part[0]].decode()
