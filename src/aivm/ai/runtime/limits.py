"""Limits and gas prices of the DSM runtime (the ``ai`` module keeps them as params).

Gas is an exact integer function of the model (ADR 0010). Running one row costs

    calls × per_call + ceil((elements × per_kilo_element + macs × per_kilo_mac) / 1000)

with the counts of :class:`~aivm.ai.runtime.analysis.Cost`; loading an artifact (parse,
checks, compile), which registration and every inference pay, costs

    load_base + ops × load_per_op + arrays × load_per_array
    + (containers + items) × per_item + ceil(bytes × load_per_kilo_byte / 1000)

with the counts of :class:`~aivm.ai.runtime.codec.LoadWork`; quantizing a decimal input costs
``DECIMAL_FEATURE_ITEMS × per_item`` per feature. The defaults come from
``benchmarks/gas_calibration.py``: one gas unit is about 2.6 ns of this runtime's work on the
development VM, the middle of what the Cosmos SDK's store gas costs on AIVM's store.
"""

from __future__ import annotations

from dataclasses import dataclass

from aivm.ai.runtime.analysis import Analysis, Cost
from aivm.ai.runtime.codec import LoadWork
from aivm.ai.runtime.errors import ErrModelLimit
from aivm.ai.runtime.model import Model, TreeEnsemble

DECIMAL_FEATURE_ITEMS = 2
"""A decimal input feature is parsed and rounded in exact integer arithmetic in Python."""


def _per_thousand(*terms: int) -> int:
    """``ceil(sum(terms) / 1000)`` in integers."""
    return -(-sum(terms) // 1000)


@dataclass(frozen=True)
class GasTable:
    """Gas per unit of work: running a row, and loading an artifact."""

    per_call: int = 110
    """One vectorized kernel call (its fixed cost: Python and numpy dispatch)."""
    per_kilo_element: int = 110
    """1,000 elements read or written by kernel calls."""
    per_kilo_mac: int = 70
    """1,000 multiply-accumulates of a dense layer."""
    per_item: int = 160
    """One value handled alone in Python: a JSON list or object, an input feature or a dense
    output row of an artifact, part of a requantize column or of a decimal input feature."""
    load_base: int = 14_000
    """One artifact read and re-serialized, its program built (whatever its size)."""
    load_per_kilo_byte: int = 3_600
    """1,000 bytes of artifact parsed (JSON, base64, canonical re-serialization)."""
    load_per_op: int = 3_600
    """One operator decoded, checked and compiled."""
    load_per_array: int = 3_600
    """One encoded array decoded, checked and re-encoded."""

    def cost(self, work: Cost) -> int:
        """Gas of running ``work`` (one input row)."""
        return work.calls * self.per_call + _per_thousand(
            work.elements * self.per_kilo_element, work.macs * self.per_kilo_mac
        )

    def decimal_input(self, features: int) -> int:
        """Gas of quantizing ``features`` decimal input values."""
        return features * DECIMAL_FEATURE_ITEMS * self.per_item

    def load(self, work: LoadWork) -> int:
        """Gas of loading an artifact (or one stage of it) whose census is ``work``."""
        return (
            work.artifacts * self.load_base
            + work.ops * self.load_per_op
            + work.arrays * self.load_per_array
            + (work.containers + work.items) * self.per_item
            + _per_thousand(work.bytes * self.load_per_kilo_byte)
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
    """Most DSM gas one inference (all rows) may cost to run."""
    max_tree_depth: int = 32
    """Deepest tree a tree ensemble may declare (its true depth)."""

    def check_model(self, model: Model, analysis: Analysis, gas: GasTable | None = None) -> None:
        """Raise ErrModelLimit when ``model`` exceeds these limits."""
        if len(model.ops) > self.max_ops:
            raise ErrModelLimit.wrap(f"{len(model.ops)} operators exceed {self.max_ops}")
        if model.input.width > self.max_input_width:
            raise ErrModelLimit.wrap(
                f"input width {model.input.width} exceeds {self.max_input_width}"
            )
        depth = max((op.depth for op in model.ops if isinstance(op, TreeEnsemble)), default=0)
        if depth > self.max_tree_depth:
            raise ErrModelLimit.wrap(
                f"tree depth {depth} exceeds the limit of {self.max_tree_depth}"
            )
        if gas is not None and gas.cost(analysis.cost) > self.max_gas_per_inference:
            raise ErrModelLimit.wrap(
                f"one row costs {gas.cost(analysis.cost)} gas, over {self.max_gas_per_inference}"
            )
