"""compute errors (codespace ``compute``)."""

from aivm.types.errors import register

CODESPACE = "compute"
ErrProviderNotFound = register(CODESPACE, 2, "provider not found")
ErrAlreadyRegistered = register(CODESPACE, 3, "provider already registered")
ErrCollateralTooLow = register(CODESPACE, 4, "collateral below the minimum")
ErrInvalidCollateral = register(CODESPACE, 5, "invalid collateral amount")
ErrInvalidHardware = register(CODESPACE, 6, "invalid hardware declaration")
ErrInvalidRuntimes = register(CODESPACE, 7, "invalid runtimes")
ErrInvalidOffer = register(CODESPACE, 8, "invalid offer")
ErrUnknownModelVersion = register(CODESPACE, 9, "unknown model version")
ErrNotOffchain = register(CODESPACE, 10, "model version is not executed off-chain")
ErrInvalidCapacity = register(CODESPACE, 11, "invalid capacity")
ErrInvalidDescription = register(CODESPACE, 12, "invalid moniker or description")
ErrInvalidStatus = register(CODESPACE, 13, "not allowed in the provider's status")
ErrNotJailed = register(CODESPACE, 14, "provider is not jailed")
ErrJailPeriodActive = register(CODESPACE, 15, "jail period has not ended")
ErrUnknownReason = register(CODESPACE, 16, "unknown slash reason code")
ErrInvalidFraction = register(CODESPACE, 17, "invalid slash fraction")
ErrInvalidParams = register(CODESPACE, 18, "invalid compute params")
ErrInvalidGenesis = register(CODESPACE, 19, "invalid compute genesis")
ErrInvalidEvidence = register(CODESPACE, 20, "invalid slash evidence or jail duration")
ErrInvalidJob = register(CODESPACE, 21, "invalid job")
ErrJobNotFound = register(CODESPACE, 22, "job not found")
ErrJobState = register(CODESPACE, 23, "not allowed in the job's state")
ErrNotAssigned = register(CODESPACE, 24, "provider is not assigned to the job or cannot bid")
