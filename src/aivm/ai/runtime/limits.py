"""Limits and gas prices of the DSM runtime (the ``ai`` module keeps them as params)."""

from __future__ import annotations

from dataclasses import dataclass

from aivm.ai.runtime.analysis import Analysis, Cost
from aivm.ai.runtime.errors import ErrModelLimit
from aivm.ai.runtime.model import Model


@dataclass(frozen=True)
class GasTable:
    """Gas per unit of work."""

    per_mac: int = 1
    """One multiply-accumulate (dense weight, requantize, add)."""
    per_compare: int = 2
    """One comparison (tree node, ReLU, threshold, argmax, scorecard bin search step)."""
    per_lookup: int = 2
    """One table or leaf lookup."""
    per_op: int = 100
    """Fixed cost of each operator."""

    def cost(self, work: Cost) -> int:
        """Gas for ``work``."""
        return (
            work.macs * self.per_mac
            + work.compares * self.per_compare
            + work.lookups * self.per_lookup
            + work.ops * self.per_op
        )


@dataclass(frozen=True)
class Limits:
    """Bounds a model and an inference must respect."""

    max_model_bytes: int = 1_048_576
    """Largest serialized artifact."""
    max_ops: int = 64
    """Most operators in one model."""
    max_input_width: int = 4096
    """Most features in one input row."""
    max_rows: int = 64
    """Most input rows in one inference."""
    max_gas_per_inference: int = 10_000_000
    """Most DSM gas one inference (all rows) may cost."""

    def check_model(self, model: Model, analysis: Analysis, gas: GasTable | None = None) -> None:
        """Raise ErrModelLimit when ``model`` exceeds these limits."""
        if len(model.ops) > self.max_ops:
            raise ErrModelLimit.wrap(f"{len(model.ops)} operators exceed {self.max_ops}")
        if model.input.width > self.max_input_width:
            raise ErrModelLimit.wrap(
                f"input width {model.input.width} exceeds {self.max_input_width}"
            )
        if gas is not None and gas.cost(analysis.cost) > self.max_gas_per_inference:
            raise ErrModelLimit.wrap(
                f"one row costs {gas.cost(analysis.cost)} gas, over {self.max_gas_per_inference}"
            )
