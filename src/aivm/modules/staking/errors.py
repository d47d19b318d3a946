"""staking errors (codespace ``staking``, the Cosmos SDK's ``x/staking/types/errors.go`` codes)."""

from aivm.types.errors import register

CODESPACE = "staking"
ErrEmptyValidatorAddr = register(CODESPACE, 2, "empty validator address")
ErrNoValidatorFound = register(CODESPACE, 3, "validator does not exist")
ErrValidatorOwnerExists = register(
    CODESPACE,
    4,
    "validator already exist for this operator address; must use new validator operator address",
)
ErrValidatorPubKeyExists = register(
    CODESPACE, 5, "validator already exist for this pubkey; must use new validator pubkey"
)
ErrValidatorPubKeyTypeNotSupported = register(
    CODESPACE, 6, "validator pubkey type is not supported"
)
ErrValidatorJailed = register(CODESPACE, 7, "validator for this address is currently jailed")
ErrBadRemoveValidator = register(CODESPACE, 8, "failed to remove validator")
ErrCommissionNegative = register(CODESPACE, 9, "commission must be positive")
ErrCommissionHuge = register(CODESPACE, 10, "commission cannot be more than 100%")
ErrCommissionGTMaxRate = register(CODESPACE, 11, "commission cannot be more than the max rate")
ErrCommissionUpdateTime = register(
    CODESPACE, 12, "commission cannot be changed more than once in 24h"
)
ErrCommissionChangeRateNegative = register(CODESPACE, 13, "commission change rate must be positive")
ErrCommissionChangeRateGTMaxRate = register(
    CODESPACE, 14, "commission change rate cannot be more than the max rate"
)
ErrCommissionGTMaxChangeRate = register(
    CODESPACE, 15, "commission cannot be changed more than max change rate"
)
ErrSelfDelegationBelowMinimum = register(
    CODESPACE, 16, "validator's self delegation must be greater than their minimum self delegation"
)
ErrMinSelfDelegationDecreased = register(
    CODESPACE, 17, "minimum self delegation cannot be decrease"
)
ErrEmptyDelegatorAddr = register(CODESPACE, 18, "empty delegator address")
ErrNoDelegation = register(CODESPACE, 19, "no delegation for (address, validator) tuple")
ErrBadDelegatorAddr = register(CODESPACE, 20, "delegator does not exist with address")
ErrNoDelegatorForAddress = register(CODESPACE, 21, "delegator does not contain delegation")
ErrInsufficientShares = register(CODESPACE, 22, "insufficient delegation shares")
ErrDelegationValidatorEmpty = register(CODESPACE, 23, "cannot delegate to an empty validator")
ErrNotEnoughDelegationShares = register(CODESPACE, 24, "not enough delegation shares")
ErrNotMature = register(CODESPACE, 25, "entry not mature")
ErrNoUnbondingDelegation = register(CODESPACE, 26, "no unbonding delegation found")
ErrMaxUnbondingDelegationEntries = register(
    CODESPACE, 27, "too many unbonding delegation entries for (delegator, validator) tuple"
)
ErrNoRedelegation = register(CODESPACE, 28, "no redelegation found")
ErrSelfRedelegation = register(CODESPACE, 29, "cannot redelegate to the same validator")
ErrTinyRedelegationAmount = register(
    CODESPACE, 30, "too few tokens to redelegate (truncates to zero tokens)"
)
ErrBadRedelegationDst = register(CODESPACE, 31, "redelegation destination validator not found")
ErrTransitiveRedelegation = register(
    CODESPACE,
    32,
    "redelegation to this validator already in progress; first redelegation to this validator "
    "must complete before next redelegation",
)
ErrMaxRedelegationEntries = register(
    CODESPACE,
    33,
    "too many redelegation entries for (delegator, src-validator, dst-validator) tuple",
)
ErrDelegatorShareExRateInvalid = register(
    CODESPACE, 34, "cannot delegate to validators with invalid (zero) ex-rate"
)
ErrBothShareMsgsGiven = register(CODESPACE, 35, "both shares amount and shares percent provided")
ErrNeitherShareMsgsGiven = register(
    CODESPACE, 36, "neither shares amount nor shares percent provided"
)
ErrInvalidHistoricalInfo = register(CODESPACE, 37, "invalid historical info")
ErrNoHistoricalInfo = register(CODESPACE, 38, "no historical info found")
ErrEmptyValidatorPubKey = register(CODESPACE, 39, "empty validator public key")
ErrCommissionLTMinRate = register(CODESPACE, 40, "commission cannot be less than min rate")
ErrUnbondingNotFound = register(CODESPACE, 41, "unbonding operation not found")
ErrUnbondingOnHoldRefCountNegative = register(
    CODESPACE, 42, "cannot un-hold unbonding operation that is not on hold"
)
