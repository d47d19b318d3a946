"""auth params (Cosmos SDK defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest


@dataclass(frozen=True)
class AuthParams:
    """Limits and gas prices of the ante step."""

    max_memo_characters: int = 256
    """Longest memo accepted, in characters."""
    tx_sig_limit: int = 7
    """Most signatures one transaction may carry."""
    tx_size_cost_per_byte: int = 20
    """Gas charged per byte of the raw transaction."""
    sig_verify_cost_ed25519: int = 590
    """Gas per ed25519 signature verification."""
    sig_verify_cost_secp256k1: int = 10_000
    """Gas per secp256k1 signature verification."""

    def validate(self) -> None:
        """Raise ErrInvalidRequest unless every value is positive."""
        for name, value in self.__dict__.items():
            if not isinstance(value, int) or value <= 0:
                raise ErrInvalidRequest.wrap(f"auth param {name} must be a positive integer")

    def to_proto(self) -> pb.auth.Params:
        """Protobuf form."""
        return pb.auth.Params(**self.__dict__)

    @classmethod
    def from_proto(cls, proto: pb.auth.Params) -> AuthParams:
        """From the protobuf form."""
        return cls(
            max_memo_characters=proto.max_memo_characters,
            tx_sig_limit=proto.tx_sig_limit,
            tx_size_cost_per_byte=proto.tx_size_cost_per_byte,
            sig_verify_cost_ed25519=proto.sig_verify_cost_ed25519,
            sig_verify_cost_secp256k1=proto.sig_verify_cost_secp256k1,
        )

    def to_json(self) -> dict[str, Any]:
        """Genesis JSON form (numbers as strings, like the SDK)."""
        return {k: str(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthParams:
        """Parse the genesis JSON form; unknown keys are an error."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ErrInvalidRequest.wrap(f"unknown auth params {sorted(unknown)}")
        try:
            params = cls(**{k: int(v) for k, v in data.items()})
        except (TypeError, ValueError) as exc:
            raise ErrInvalidRequest.wrap(f"invalid auth params: {exc}") from exc
        params.validate()
        return params
