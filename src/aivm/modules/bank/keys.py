"""bank store layout (under the module prefix ``bank/``).

- ``0x00 | denom → total supply`` (decimal string)
- ``0x01 | denom → Metadata`` (protobuf ``cosmos.bank.v1beta1.Metadata``)
- ``0x02 | len(address) | address | denom → balance`` (decimal string; zero balances are deleted)
- ``0x05 → Params`` (protobuf ``cosmos.bank.v1beta1.Params``)
"""

STORE_PREFIX = b"bank/"
SUPPLY_PREFIX = b"\x00"
DENOM_METADATA_PREFIX = b"\x01"
BALANCES_PREFIX = b"\x02"
PARAMS_KEY = b"\x05"


def balances_prefix(address: bytes) -> bytes:
    """Prefix of every balance of ``address``."""
    return BALANCES_PREFIX + bytes([len(address)]) + address


def balance_key(address: bytes, denom: str) -> bytes:
    """Key of the ``denom`` balance of ``address``."""
    return balances_prefix(address) + denom.encode()


def supply_key(denom: str) -> bytes:
    """Key of the total supply of ``denom``."""
    return SUPPLY_PREFIX + denom.encode()


def metadata_key(denom: str) -> bytes:
    """Key of the metadata of ``denom``."""
    return DENOM_METADATA_PREFIX + denom.encode()
