"""mint store layout (under the module prefix ``mint/``), the SDK's keys:

- ``0x00 → Minter`` (``cosmos.mint.v1beta1.Minter``, LegacyDec wire strings)
- ``0x01 → Params`` (``cosmos.mint.v1beta1.Params``)
"""

STORE_PREFIX = b"mint/"
MINTER = b"\x00"
PARAMS = b"\x01"
MODULE_ACCOUNT = "mint"
"""Module account (minter) the block provision is minted into before it goes to the fee
collector."""
