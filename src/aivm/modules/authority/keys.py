"""authority store layout (under the module prefix ``authority/``).

- ``0x01 → authority address`` (raw address bytes)
"""

STORE_PREFIX = b"authority/"
AUTHORITY = b"\x01"
GOV_MODULE = "gov"
"""The SDK's default params authority is the gov module account; AIVM's too."""
