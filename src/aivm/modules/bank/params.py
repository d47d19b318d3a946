"""bank params: which denoms may be sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest


@dataclass(frozen=True)
class BankParams:
    """Send switches: a default and per-denom overrides."""

    default_send_enabled: bool = True
    """Whether a denom with no override may be sent."""
    send_enabled: tuple[tuple[str, bool], ...] = ()
    """Per-denom overrides, sorted by denom."""

    def is_send_enabled(self, denom: str) -> bool:
        """Whether ``denom`` may be sent."""
        for name, enabled in self.send_enabled:
            if name == denom:
                return enabled
        return self.default_send_enabled

    def to_proto(self) -> pb.bank.Params:
        """Protobuf form."""
        return pb.bank.Params(
            default_send_enabled=self.default_send_enabled,
            send_enabled=[pb.bank.SendEnabled(denom=d, enabled=e) for d, e in self.send_enabled],
        )

    @classmethod
    def from_proto(cls, proto: pb.bank.Params) -> BankParams:
        """From the protobuf form."""
        return cls(
            default_send_enabled=proto.default_send_enabled,
            send_enabled=tuple(sorted((s.denom, s.enabled) for s in proto.send_enabled)),
        )

    def to_json(self) -> dict[str, Any]:
        """Genesis JSON form."""
        return {
            "send_enabled": [{"denom": d, "enabled": e} for d, e in self.send_enabled],
            "default_send_enabled": self.default_send_enabled,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BankParams:
        """Parse the genesis JSON form."""
        try:
            proto = pb.bank.Params()
            pb.json_format.ParseDict(data, proto)
        except Exception as exc:
            raise ErrInvalidRequest.wrap(f"invalid bank params: {exc}") from exc
        if "default_send_enabled" not in data:
            proto.default_send_enabled = True
        return cls.from_proto(proto)
