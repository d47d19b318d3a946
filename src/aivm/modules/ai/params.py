"""ai params: DSM gas prices and runtime limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from aivm.ai.runtime import GasTable, Limits
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import ai_pb2


@dataclass(frozen=True)
class AiParams:
    """Gas per unit of DSM work and the runtime's limits."""

    gas_per_mac: int = 1
    gas_per_compare: int = 2
    gas_per_lookup: int = 2
    gas_per_op: int = 100
    max_model_bytes: int = 1_048_576
    max_ops: int = 64
    max_input_width: int = 4096
    max_gas_per_inference: int = 10_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ErrInvalidRequest.wrap(f"ai param {f.name} must be a non-negative integer")
        if self.max_model_bytes == 0 or self.max_ops == 0 or self.max_input_width == 0:
            raise ErrInvalidRequest.wrap("ai limits must be positive")

    @property
    def gas(self) -> GasTable:
        """The runtime's gas table."""
        return GasTable(
            self.gas_per_mac, self.gas_per_compare, self.gas_per_lookup, self.gas_per_op
        )

    @property
    def limits(self) -> Limits:
        """The runtime's limits (one input row per inference)."""
        return Limits(
            max_model_bytes=self.max_model_bytes,
            max_ops=self.max_ops,
            max_input_width=self.max_input_width,
            max_rows=1,
            max_gas_per_inference=self.max_gas_per_inference,
        )

    def to_proto(self) -> ai_pb2.Params:
        """Protobuf form."""
        return ai_pb2.Params(**asdict(self))

    @classmethod
    def from_proto(cls, proto: ai_pb2.Params) -> AiParams:
        """From the protobuf form."""
        return cls(**{f.name: getattr(proto, f.name) for f in fields(cls)})

    def to_json(self) -> dict[str, Any]:
        """Genesis JSON form (integers as strings, as the SDK writes uint64)."""
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AiParams:
        """Parse the genesis JSON form; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ErrInvalidRequest.wrap(f"unknown ai params {sorted(unknown)}")
        try:
            return cls(**{k: int(v) for k, v in data.items()})
        except (TypeError, ValueError) as exc:
            raise ErrInvalidRequest.wrap(f"invalid ai params: {exc}") from exc
