"""auth store layout (under the module prefix ``acc/``).

- ``0x00 → Params`` (protobuf ``cosmos.auth.v1beta1.Params``)
- ``0x01 | address → Any(BaseAccount | ModuleAccount)``
- ``0x02 → next account number`` (8-byte big-endian)
"""

STORE_PREFIX = b"acc/"
PARAMS_KEY = b"\x00"
ACCOUNT_PREFIX = b"\x01"
NEXT_ACCOUNT_NUMBER_KEY = b"\x02"


def account_key(address: bytes) -> bytes:
    """Key of the account stored at ``address``."""
    return ACCOUNT_PREFIX + address
