"""ai store layout (under the module prefix ``ai/``).

- ``0x01 | id(8) → Model``
- ``0x02 | id(8) | version → ModelVersion``
- ``0x03 | name → id(8)`` (names are unique)
- ``0x04 | len(owner) | owner | id(8) → ''`` (models by owner)
- ``0x05 | len(tag) | tag | id(8) → ''`` (models by tag; a tag of any version)
- ``0x06 | sha256 → artifact bytes`` (on-chain model artifacts)
- ``0x07 | id(8) → ExecutionRecord``
- ``0x08 → next model id``, ``0x09 → next execution id`` (8-byte big-endian)
- ``0x0A → Params``
"""

STORE_PREFIX = b"ai/"
INDEX_MARKER = b"\x01"
"""The value of an index entry (the key says everything; the store refuses empty values)."""
MODEL = b"\x01"
VERSION = b"\x02"
NAME = b"\x03"
OWNER = b"\x04"
TAG = b"\x05"
ARTIFACT = b"\x06"
EXECUTION = b"\x07"
NEXT_MODEL_ID = b"\x08"
NEXT_EXECUTION_ID = b"\x09"
PARAMS = b"\x0a"


def u64(value: int) -> bytes:
    """8-byte big-endian id."""
    return value.to_bytes(8, "big")


def model_key(model_id: int) -> bytes:
    """Key of a Model."""
    return MODEL + u64(model_id)


def versions_prefix(model_id: int) -> bytes:
    """Prefix of every version of a model."""
    return VERSION + u64(model_id)


def version_key(model_id: int, version: str) -> bytes:
    """Key of one ModelVersion."""
    return versions_prefix(model_id) + version.encode()


def name_key(name: str) -> bytes:
    """Key of the name index."""
    return NAME + name.encode()


def owner_prefix(owner: bytes) -> bytes:
    """Prefix of the models of an owner."""
    return OWNER + bytes([len(owner)]) + owner


def tag_prefix(tag: str) -> bytes:
    """Prefix of the models carrying a tag."""
    encoded = tag.encode()
    return TAG + bytes([len(encoded)]) + encoded


def artifact_key(sha256: bytes) -> bytes:
    """Key of a stored artifact."""
    return ARTIFACT + sha256


def execution_key(execution_id: int) -> bytes:
    """Key of an ExecutionRecord."""
    return EXECUTION + u64(execution_id)
