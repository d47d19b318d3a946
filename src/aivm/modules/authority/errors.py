"""authority errors. The wrong-authority code is the Cosmos SDK's (``x/gov`` code 12, which
the SDK's bank, staking, mint and other ``UpdateParams`` handlers return), so clients see the
same (codespace, code) as on any Cosmos chain."""

from aivm.types.errors import register

ErrInvalidSigner = register("gov", 12, "expected gov account as only signer for proposal message")
