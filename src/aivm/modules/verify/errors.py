"""verify errors (codespace ``verify``, codes 2–29; the verification primitives of
:mod:`aivm.ai.verify` own 30–69)."""

from aivm.types.errors import register

CODESPACE = "verify"
ErrInvalidParams = register(CODESPACE, 2, "invalid verify params")
ErrSessionNotFound = register(CODESPACE, 3, "no verification session for the job")
ErrSessionState = register(CODESPACE, 4, "not allowed in the session's phase")
ErrNotDrawn = register(CODESPACE, 5, "validator is not drawn for the job's current round")
ErrAlreadyCommitted = register(CODESPACE, 6, "verdict already committed")
ErrInvalidCommitment = register(CODESPACE, 7, "invalid verdict commitment")
ErrRevealMismatch = register(CODESPACE, 8, "reveal does not match the commitment")
ErrNotVerifiable = register(CODESPACE, 9, "the job's criticality cannot be verified now")
ErrTrailNotFound = register(CODESPACE, 10, "no attestation trail for the job")
ErrInvalidGenesis = register(CODESPACE, 11, "invalid verify genesis")
ErrInvalidVerdict = register(CODESPACE, 12, "invalid verdict")
ErrInvalidEvidence = register(CODESPACE, 13, "invalid result evidence")
ErrInvalidTeeRequirement = register(CODESPACE, 14, "invalid TEE requirement")
ErrNotModelOwner = register(CODESPACE, 15, "not the model's owner")
ErrTeeEvidenceMissing = register(CODESPACE, 16, "TEE quote required")
ErrUnauthorizedCollateral = register(CODESPACE, 17, "collateral upload refused")
ErrDisputeState = register(CODESPACE, 18, "not allowed in the dispute's state")
ErrInvalidDispute = register(CODESPACE, 19, "invalid dispute")
