"""bank errors (codespace ``bank``, Cosmos SDK numbering)."""

from aivm.types.errors import register

CODESPACE = "bank"
ErrNoInputs = register(CODESPACE, 2, "no inputs to send transaction")
ErrNoOutputs = register(CODESPACE, 3, "no outputs to send transaction")
ErrInputOutputMismatch = register(CODESPACE, 4, "sum inputs != sum outputs")
ErrSendDisabled = register(CODESPACE, 5, "send transactions are disabled")
ErrDenomMetadataNotFound = register(CODESPACE, 6, "client denom metadata not found")
ErrInvalidKey = register(CODESPACE, 7, "invalid key")
ErrDuplicateEntry = register(CODESPACE, 8, "duplicate entry")
ErrMultipleSenders = register(CODESPACE, 9, "multiple senders not allowed")
