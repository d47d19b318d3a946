"""auth errors: the standard SDK codes cover auth (unknown address, wrong sequence, …)."""

from aivm.types.errors import (
    ErrInvalidPubKey,
    ErrKeyNotFound,
    ErrUnknownAddress,
    ErrWrongSequence,
)

__all__ = ["ErrInvalidPubKey", "ErrKeyNotFound", "ErrUnknownAddress", "ErrWrongSequence"]
