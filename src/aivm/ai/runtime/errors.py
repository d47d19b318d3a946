"""DSM runtime errors (codespace ``ai``, codes 20–29; the ``ai`` module owns 2–19)."""

from aivm.types.errors import register

CODESPACE = "ai"
ErrInvalidArtifact = register(CODESPACE, 20, "invalid model artifact")
ErrModelLimit = register(CODESPACE, 21, "model exceeds runtime limits")
ErrInvalidInput = register(CODESPACE, 22, "invalid model input")
ErrOverflow = register(CODESPACE, 23, "integer overflow possible")
