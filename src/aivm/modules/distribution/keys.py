"""distribution store layout (under the module prefix ``distribution/``), values in the SDK's
``cosmos.distribution.v1beta1`` protobuf types (an empty message is stored as one ``0x00``
byte, since the store refuses empty values and no protobuf starts with a zero tag).

- ``0x00 → FeePool`` (the community pool)
- ``0x02 | len(val) | val → ValidatorOutstandingRewards``
- ``0x03 | len(del) | del → withdraw address`` (raw address bytes)
- ``0x04 | len(val) | val | len(del) | del → DelegatorStartingInfo``
- ``0x05 | len(val) | val | period (8 bytes, big-endian) → ValidatorHistoricalRewards``
- ``0x06 | len(val) | val → ValidatorCurrentRewards``
- ``0x07 | len(val) | val → ValidatorAccumulatedCommission``
- ``0x08 | len(val) | val | height (8, BE) | period (8, BE) → ValidatorSlashEvent``
- ``0x09 → Params``
"""

from __future__ import annotations

STORE_PREFIX = b"distribution/"
MODULE_ACCOUNT = "distribution"
"""The rewards module account (no permissions): holds outstanding rewards and the pool."""

FEE_POOL_KEY = b"\x00"
OUTSTANDING_PREFIX = b"\x02"
WITHDRAW_ADDR_PREFIX = b"\x03"
STARTING_INFO_PREFIX = b"\x04"
HISTORICAL_PREFIX = b"\x05"
CURRENT_PREFIX = b"\x06"
COMMISSION_PREFIX = b"\x07"
SLASH_EVENT_PREFIX = b"\x08"
PARAMS_KEY = b"\x09"

EMPTY_VALUE = b"\x00"
"""What an all-default protobuf message is stored as."""


def length_prefixed(address: bytes) -> bytes:
    """``len(address) | address``."""
    return bytes([len(address)]) + address


def u64(n: int) -> bytes:
    """8 bytes big-endian (so keys sort by number)."""
    return n.to_bytes(8, "big")


def outstanding_key(val: bytes) -> bytes:
    """Outstanding rewards of a validator."""
    return OUTSTANDING_PREFIX + length_prefixed(val)


def withdraw_addr_key(delegator: bytes) -> bytes:
    """Withdraw address of a delegator."""
    return WITHDRAW_ADDR_PREFIX + length_prefixed(delegator)


def starting_info_prefix(val: bytes) -> bytes:
    """Prefix of the starting infos of every delegation to ``val``."""
    return STARTING_INFO_PREFIX + length_prefixed(val)


def starting_info_key(val: bytes, delegator: bytes) -> bytes:
    """Starting info of a delegation."""
    return starting_info_prefix(val) + length_prefixed(delegator)


def historical_prefix(val: bytes) -> bytes:
    """Prefix of every historical rewards record of ``val``."""
    return HISTORICAL_PREFIX + length_prefixed(val)


def historical_key(val: bytes, period: int) -> bytes:
    """Historical rewards of ``val`` at ``period``."""
    return historical_prefix(val) + u64(period)


def current_key(val: bytes) -> bytes:
    """Current rewards of a validator."""
    return CURRENT_PREFIX + length_prefixed(val)


def commission_key(val: bytes) -> bytes:
    """Accumulated commission of a validator."""
    return COMMISSION_PREFIX + length_prefixed(val)


def slash_event_prefix(val: bytes) -> bytes:
    """Prefix of every slash event of ``val``."""
    return SLASH_EVENT_PREFIX + length_prefixed(val)


def slash_event_key(val: bytes, height: int, period: int) -> bytes:
    """A slash event of ``val`` at ``height`` ending ``period``."""
    return slash_event_prefix(val) + u64(height) + u64(period)


def split_address(key: bytes) -> tuple[bytes, bytes]:
    """``len | address | rest`` → (address, rest)."""
    length = key[0]
    return key[1 : 1 + length], key[1 + length :]
