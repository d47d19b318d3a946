"""distribution errors (codespace ``distribution``, Cosmos SDK v0.50 numbering)."""

from aivm.types.errors import register

CODESPACE = "distribution"
ErrEmptyDelegatorAddr = register(CODESPACE, 2, "delegator address is empty")
ErrEmptyWithdrawAddr = register(CODESPACE, 3, "withdraw address is empty")
ErrEmptyValidatorAddr = register(CODESPACE, 4, "validator address is empty")
ErrEmptyDelegationDistInfo = register(CODESPACE, 5, "no delegation distribution info")
ErrNoValidatorDistInfo = register(CODESPACE, 6, "no validator distribution info")
ErrNoValidatorCommission = register(CODESPACE, 7, "no validator commission to withdraw")
ErrSetWithdrawAddrDisabled = register(CODESPACE, 8, "set withdraw address disabled")
ErrBadDistribution = register(
    CODESPACE, 9, "community pool does not have sufficient coins to distribute"
)
ErrNoValidatorExists = register(CODESPACE, 12, "validator does not exist")
ErrNoDelegationExists = register(CODESPACE, 13, "delegation does not exist")
