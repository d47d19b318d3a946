"""storage store layout (under the module prefix ``storage/``).

- ``0x01 | cid → StoredObject``
- ``0x02 | id(8) → Challenge``
- ``0x03 → next challenge id`` (8-byte big-endian)
- ``0x04 → Params``
"""

STORE_PREFIX = b"storage/"
OBJECT = b"\x01"
CHALLENGE = b"\x02"
NEXT_CHALLENGE_ID = b"\x03"
PARAMS = b"\x04"
MODULE_ACCOUNT = "storage"
"""Module account that receives retention payments."""


def object_key(cid: str) -> bytes:
    """Key of an object record."""
    return OBJECT + cid.encode()


def challenge_key(challenge_id: int) -> bytes:
    """Key of a challenge."""
    return CHALLENGE + challenge_id.to_bytes(8, "big")
