"""ai module errors (codespace ``ai``, codes 2–19; the DSM runtime uses 20–29)."""

from aivm.types.errors import register

CODESPACE = "ai"
ErrModelNotFound = register(CODESPACE, 2, "model not found")
ErrVersionNotFound = register(CODESPACE, 3, "model version not found")
ErrModelExists = register(CODESPACE, 4, "model name already taken")
ErrNotOwner = register(CODESPACE, 5, "not the model owner")
ErrInvalidModel = register(CODESPACE, 6, "invalid model registration")
ErrArtifactMismatch = register(CODESPACE, 7, "artifact does not match its hash or CID")
ErrModelInactive = register(CODESPACE, 8, "model version is not usable")
ErrInvalidStatus = register(CODESPACE, 9, "invalid status change")
ErrExecutionNotFound = register(CODESPACE, 10, "execution not found")
ErrNotOnChain = register(CODESPACE, 11, "model does not run on-chain")
ErrVersionOrder = register(CODESPACE, 12, "version must be greater than the latest")
ErrInvalidComparison = register(CODESPACE, 13, "invalid result comparison rule")
