"""staking store layout (under the module prefix ``staking/``), after the SDK's ``x/staking``.

Addresses are length-prefixed (``len | addr``); times are 10-byte big-endian nanoseconds since
0001-01-01; heights are 8-byte big-endian.

- ``0x11 | len | valoper → power`` last validator powers (decimal string), by operator
- ``0x12 → power`` last total power (decimal string)
- ``0x21 | len | valoper → Validator`` (protobuf ``cosmos.staking.v1beta1.Validator``)
- ``0x22 | len | consaddr → valoper`` consensus address index
- ``0x23 | power(8) | len | ~valoper → valoper`` power index of non-jailed validators
  (iterated in reverse: highest power first, ties by operator address ascending)
- ``0x31 | len | del | len | val → Delegation``
- ``0x32 | len | del | len | val → UnbondingDelegation``
- ``0x33 | len | val | len | del → ()`` unbonding delegations by validator
- ``0x34 | len | del | len | src | len | dst → Redelegation``
- ``0x35 | len | src | len | del | len | dst → ()`` redelegations by source validator
- ``0x36 | len | dst | len | del | len | src → ()`` redelegations by destination validator
- ``0x37 → last unbonding id`` (decimal string)
- ``0x38 | len | val | len | del → ()`` delegations by validator
- ``0x41 | time → DVPairs`` unbonding queue
- ``0x42 | time → DVVTriplets`` redelegation queue
- ``0x43 | time | height(8) → ValAddresses`` unbonding-validator queue
- ``0x50 | height(8) → HistoricalInfo``
- ``0x51 → Params``
"""

from __future__ import annotations

STORE_PREFIX = b"staking/"
LAST_VALIDATOR_POWER_PREFIX = b"\x11"
LAST_TOTAL_POWER_KEY = b"\x12"
VALIDATORS_PREFIX = b"\x21"
VALIDATORS_BY_CONS_PREFIX = b"\x22"
VALIDATORS_BY_POWER_PREFIX = b"\x23"
RESERVED_CONS_PREFIX = b"\x24"
"""Consensus addresses of genesis.json validators staking does not own (AIVM): never
claimable by MsgCreateValidator."""
DELEGATION_PREFIX = b"\x31"
UNBONDING_DELEGATION_PREFIX = b"\x32"
UNBONDING_BY_VAL_PREFIX = b"\x33"
REDELEGATION_PREFIX = b"\x34"
REDELEGATION_BY_SRC_PREFIX = b"\x35"
REDELEGATION_BY_DST_PREFIX = b"\x36"
UNBONDING_ID_KEY = b"\x37"
DELEGATION_BY_VAL_PREFIX = b"\x38"
UNBONDING_QUEUE_PREFIX = b"\x41"
REDELEGATION_QUEUE_PREFIX = b"\x42"
VALIDATOR_QUEUE_PREFIX = b"\x43"
HISTORICAL_INFO_PREFIX = b"\x50"
PARAMS_KEY = b"\x51"


def lp(address: bytes) -> bytes:
    """``len | address``."""
    return bytes([len(address)]) + address


def split_lp(key: bytes) -> tuple[bytes, bytes]:
    """Split ``len | address | rest`` into (address, rest)."""
    length = key[0]
    return key[1 : 1 + length], key[1 + length :]


GO_ZERO_TIME_NS = -62_135_596_800 * 1_000_000_000
"""0001-01-01T00:00:00Z, the earliest time a key can hold (Go's zero time)."""


def time_bytes(time_ns: int) -> bytes:
    """Sortable 10-byte form of a block time (nanoseconds after 0001-01-01, clamped)."""
    return min(max(0, time_ns - GO_ZERO_TIME_NS), (1 << 80) - 1).to_bytes(10, "big")


def height_bytes(height: int) -> bytes:
    """Sortable 8-byte form of a height."""
    return max(0, height).to_bytes(8, "big")


def validator_key(operator: bytes) -> bytes:
    """Key of a validator record."""
    return VALIDATORS_PREFIX + lp(operator)


def reserved_cons_key(cons_addr: bytes) -> bytes:
    """Key marking a reserved consensus address."""
    return RESERVED_CONS_PREFIX + lp(cons_addr)


def validator_by_cons_key(cons_addr: bytes) -> bytes:
    """Key of the consensus-address index entry."""
    return VALIDATORS_BY_CONS_PREFIX + lp(cons_addr)


def power_index_key(power: int, operator: bytes) -> bytes:
    """Key in the power index (SDK ``GetValidatorsByPowerIndexKey``)."""
    inverted = bytes(b ^ 0xFF for b in operator)
    return VALIDATORS_BY_POWER_PREFIX + power.to_bytes(8, "big") + lp(inverted)


def last_power_key(operator: bytes) -> bytes:
    """Key of a validator's last power."""
    return LAST_VALIDATOR_POWER_PREFIX + lp(operator)


def delegation_key(delegator: bytes, validator: bytes) -> bytes:
    """Key of a delegation."""
    return DELEGATION_PREFIX + lp(delegator) + lp(validator)


def delegation_by_val_key(validator: bytes, delegator: bytes) -> bytes:
    """Index key of a delegation by validator."""
    return DELEGATION_BY_VAL_PREFIX + lp(validator) + lp(delegator)


def ubd_key(delegator: bytes, validator: bytes) -> bytes:
    """Key of an unbonding delegation."""
    return UNBONDING_DELEGATION_PREFIX + lp(delegator) + lp(validator)


def ubd_by_val_key(validator: bytes, delegator: bytes) -> bytes:
    """Index key of an unbonding delegation by validator."""
    return UNBONDING_BY_VAL_PREFIX + lp(validator) + lp(delegator)


def red_key(delegator: bytes, src: bytes, dst: bytes) -> bytes:
    """Key of a redelegation."""
    return REDELEGATION_PREFIX + lp(delegator) + lp(src) + lp(dst)


def red_by_src_key(src: bytes, delegator: bytes, dst: bytes) -> bytes:
    """Index key of a redelegation by source validator."""
    return REDELEGATION_BY_SRC_PREFIX + lp(src) + lp(delegator) + lp(dst)


def red_by_dst_key(dst: bytes, delegator: bytes, src: bytes) -> bytes:
    """Index key of a redelegation by destination validator."""
    return REDELEGATION_BY_DST_PREFIX + lp(dst) + lp(delegator) + lp(src)


def validator_queue_key(time_ns: int, height: int) -> bytes:
    """Key of the unbonding-validator queue slot (time, height)."""
    return VALIDATOR_QUEUE_PREFIX + time_bytes(time_ns) + height_bytes(height)


def historical_key(height: int) -> bytes:
    """Key of the historical info of ``height``."""
    return HISTORICAL_INFO_PREFIX + height_bytes(height)
