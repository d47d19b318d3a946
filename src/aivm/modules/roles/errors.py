"""roles errors (codespace ``roles``)."""

from aivm.types.errors import register

CODESPACE = "roles"
ErrInvalidRole = register(CODESPACE, 2, "invalid role")
ErrOperatorNotFound = register(CODESPACE, 3, "role operator not found")
ErrAlreadyRegistered = register(CODESPACE, 4, "operator already registered for the role")
ErrBondTooLow = register(CODESPACE, 5, "bond below the role minimum")
ErrInvalidCapability = register(CODESPACE, 6, "invalid capability declaration")
ErrInvalidBond = register(CODESPACE, 7, "invalid bond amount")
ErrInsufficientBond = register(CODESPACE, 8, "unbond amount exceeds the bond")
ErrMaxUnbondingEntries = register(CODESPACE, 9, "too many unbonding entries")
ErrNotJailed = register(CODESPACE, 10, "operator is not jailed from the role")
ErrJailPeriodActive = register(CODESPACE, 11, "jail period has not ended")
ErrUnknownReason = register(CODESPACE, 12, "unknown slash reason code")
ErrInvalidFraction = register(CODESPACE, 13, "invalid slash fraction")
ErrInvalidDescription = register(CODESPACE, 14, "invalid moniker or description")
ErrInvalidParams = register(CODESPACE, 15, "invalid roles params")
ErrInvalidGenesis = register(CODESPACE, 16, "invalid roles genesis")
ErrInvalidWork = register(CODESPACE, 17, "invalid work units")
