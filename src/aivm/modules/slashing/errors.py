"""slashing errors (codespace ``slashing``, numbered as the SDK's
``x/slashing/types/errors.go``)."""

from aivm.types.errors import register

CODESPACE = "slashing"
ErrNoValidatorForAddress = register(
    CODESPACE, 2, "address is not associated with any known validator"
)
ErrBadValidatorAddr = register(CODESPACE, 3, "validator does not exist for that address")
ErrValidatorJailed = register(CODESPACE, 4, "validator still jailed; cannot be unjailed")
ErrValidatorNotJailed = register(CODESPACE, 5, "validator not jailed; cannot be unjailed")
ErrMissingSelfDelegation = register(
    CODESPACE, 6, "validator has no self-delegation; cannot be unjailed"
)
ErrSelfDelegationTooLowToUnjail = register(
    CODESPACE, 7, "validator's self delegation less than minimum; cannot be unjailed"
)
ErrNoSigningInfoFound = register(CODESPACE, 8, "no validator signing info found")
ErrValidatorTombstoned = register(CODESPACE, 9, "validator already tombstoned")
ErrInvalidSigner = register(
    CODESPACE, 10, "expected authority account as only signer for proposal message"
)
ErrInvalidConsPubKey = register(CODESPACE, 11, "invalid consensus pubkey")
