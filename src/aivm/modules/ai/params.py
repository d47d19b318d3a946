"""ai params: DSM gas prices and runtime limits (ADR 0010 explains the gas model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from aivm.ai.runtime import GasTable, Limits
from aivm.types.errors import ErrInvalidRequest
from aivm.types.protogen import ai_pb2


@dataclass(frozen=True)
class AiParams:
    """Gas per unit of DSM work and the runtime's limits (defaults: :class:`GasTable` and
    :class:`Limits`, calibrated by ``benchmarks/gas_calibration.py``)."""

    max_model_bytes: int = Limits.max_model_bytes
    max_ops: int = Limits.max_ops
    max_input_width: int = Limits.max_input_width
    max_gas_per_inference: int = Limits.max_gas_per_inference
    gas_per_call: int = GasTable.per_call
    gas_per_kilo_element: int = GasTable.per_kilo_element
    gas_per_kilo_mac: int = GasTable.per_kilo_mac
    gas_per_item: int = GasTable.per_item
    load_gas_base: int = GasTable.load_base
    load_gas_per_kilo_byte: int = GasTable.load_per_kilo_byte
    load_gas_per_op: int = GasTable.load_per_op
    load_gas_per_array: int = GasTable.load_per_array
    max_tree_depth: int = Limits.max_tree_depth
    block_reload_gas: int = 1_000
    """Gas of an inference's program already loaded by an earlier tx of the same block."""

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
            per_call=self.gas_per_call,
            per_kilo_element=self.gas_per_kilo_element,
            per_kilo_mac=self.gas_per_kilo_mac,
            per_item=self.gas_per_item,
            load_base=self.load_gas_base,
            load_per_kilo_byte=self.load_gas_per_kilo_byte,
            load_per_op=self.load_gas_per_op,
            load_per_array=self.load_gas_per_array,
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
            max_tree_depth=self.max_tree_depth,
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
