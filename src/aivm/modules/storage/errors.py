"""storage errors (codespace ``storage``)."""

from aivm.types.errors import register

CODESPACE = "storage"
ErrInvalidCid = register(CODESPACE, 2, "invalid CID")
ErrObjectNotFound = register(CODESPACE, 3, "object not found")
ErrHashMismatch = register(CODESPACE, 4, "content does not match its hash")
ErrInvalidChunkProof = register(CODESPACE, 5, "invalid chunk proof")
ErrSizeMismatch = register(CODESPACE, 6, "size mismatch")
ErrTooLarge = register(CODESPACE, 7, "object too large")
ErrChallengeNotFound = register(CODESPACE, 10, "challenge not found")
ErrChallengeClosed = register(CODESPACE, 11, "challenge is not open")
ErrInvalidRetention = register(CODESPACE, 12, "invalid retention")
ErrNotObjectOwner = register(CODESPACE, 13, "not the object owner")
ErrInvalidRootBlock = register(CODESPACE, 14, "invalid root block")
ErrNotAssignee = register(CODESPACE, 15, "not the challenge's assigned holder")
