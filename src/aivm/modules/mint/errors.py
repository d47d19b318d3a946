"""mint errors. The SDK's ``x/mint`` registers no errors of its own: bad params and genesis
fail with the root ``ErrInvalidRequest`` (``sdk`` 18), a wrong authority with ``gov`` 12."""

from aivm.types.errors import ErrInvalidRequest

CODESPACE = "mint"
ErrInvalidMintParams = ErrInvalidRequest
"""Params or minter that fail the SDK's ``Validate`` checks."""
