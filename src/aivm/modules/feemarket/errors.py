"""feemarket errors (codespace ``feemarket``). A fee below the base price fails with the SDK's
root ``ErrInsufficientFee`` (``sdk`` 13), which wallets already understand."""

from aivm.types.errors import register

CODESPACE = "feemarket"
ErrInvalidParams = register(CODESPACE, 2, "invalid fee market params")
ErrInvalidState = register(CODESPACE, 3, "invalid fee market state")
