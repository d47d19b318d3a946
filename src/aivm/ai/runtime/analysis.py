"""Static checks of a DSM model: structure, value bounds (no overflow possible), cost.

Before a model runs, :func:`analyze` walks its operators once and proves an interval
``[lo, hi]`` for every tensor from the input range. Any operator whose intermediate values
could leave ``int64`` (accumulations are bounded by ``2**62`` so any summation order is safe)
is rejected with :data:`ErrOverflow`, so the interpreter never needs a runtime overflow check
and vectorized numpy ``int64`` arithmetic is exact. The same walk counts the work per input
row — multiply-accumulates, comparisons, lookups — that gas is charged for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aivm.ai.runtime.errors import ErrInvalidArtifact, ErrOverflow
from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    IntArray,
    Lut,
    Model,
    Op,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
)

VALUE_BOUND = 2**62
"""Every tensor value and every accumulation stays within ±VALUE_BOUND."""
PRODUCT_BOUND = 2**63 - 1
"""A single product (requantize) stays within int64."""
MAX_SHIFT = 62


@dataclass(frozen=True)
class Cost:
    """Work per input row, by kind."""

    macs: int = 0
    compares: int = 0
    lookups: int = 0
    ops: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.macs + other.macs,
            self.compares + other.compares,
            self.lookups + other.lookups,
            self.ops + other.ops,
        )


@dataclass(frozen=True)
class TensorInfo:
    """Width and proven value interval of one tensor."""

    width: int
    lo: int
    hi: int

    @property
    def magnitude(self) -> int:
        """Largest absolute value the tensor can hold."""
        return max(abs(self.lo), abs(self.hi))


@dataclass(frozen=True)
class Analysis:
    """Result of :func:`analyze`."""

    tensors: tuple[TensorInfo, ...]
    cost: Cost

    @property
    def output(self) -> TensorInfo:
        """The output tensor."""
        return self.tensors[-1]


def analyze(model: Model) -> Analysis:
    """Check ``model`` and return tensor bounds and per-row cost; raise a coded error if unsafe."""
    spec = model.input
    if spec.width < 1:
        raise ErrInvalidArtifact.wrap("input width must be at least 1")
    if spec.lo > spec.hi:
        raise ErrInvalidArtifact.wrap("input lo must not exceed hi")
    for name, values in (("scale_num", spec.scale_num), ("scale_den", spec.scale_den)):
        if len(values) != spec.width:
            raise ErrInvalidArtifact.wrap(f"input {name} must have one value per feature")
    if len(spec.zero_point) != spec.width:
        raise ErrInvalidArtifact.wrap("input zero_point must have one value per feature")
    if any(d <= 0 for d in spec.scale_den) or any(n == 0 for n in spec.scale_num):
        raise ErrInvalidArtifact.wrap("input scales must be non-zero with positive denominators")
    if spec.names and len(spec.names) != spec.width:
        raise ErrInvalidArtifact.wrap("input names must be empty or one per feature")
    if not model.ops:
        raise ErrInvalidArtifact.wrap("model has no operators")
    first = TensorInfo(spec.width, spec.lo, spec.hi)
    _check_bound(first, "input")
    tensors = [first]
    cost = Cost()
    for index, op in enumerate(model.ops):
        sources = _sources(op, index, tensors)
        try:
            info, op_cost = _analyze_op(op, sources)
        except _Bad as bad:
            raise ErrInvalidArtifact.wrap(f"operator {index}: {bad}") from None
        _check_bound(info, f"operator {index}")
        tensors.append(info)
        cost = cost + op_cost + Cost(ops=1)
    return Analysis(tuple(tensors), cost)


class _Bad(Exception):
    """A structural problem in one operator (becomes ErrInvalidArtifact)."""


def _sources(op: Op, index: int, tensors: list[TensorInfo]) -> list[TensorInfo]:
    wanted = 2 if isinstance(op, Add) else 1
    if len(op.inputs) != wanted:
        raise ErrInvalidArtifact.wrap(f"operator {index} needs {wanted} input tensor(s)")
    for source in op.inputs:
        if not 0 <= source <= index:
            raise ErrInvalidArtifact.wrap(
                f"operator {index} reads tensor {source}, which is not produced before it"
            )
    return [tensors[s] for s in op.inputs]


def _check_bound(info: TensorInfo, where: str) -> None:
    if info.magnitude > VALUE_BOUND:
        raise ErrOverflow.wrap(f"{where}: values may reach {info.magnitude} (bound 2**62)")


def _analyze_op(op: Op, sources: list[TensorInfo]) -> tuple[TensorInfo, Cost]:
    x = sources[0]
    if isinstance(op, Dense):
        return _dense(op, x)
    if isinstance(op, Requantize):
        return _requantize(op, x)
    if isinstance(op, Add):
        other = sources[1]
        if other.width != x.width:
            raise _Bad(f"add of widths {x.width} and {other.width}")
        return TensorInfo(x.width, x.lo + other.lo, x.hi + other.hi), Cost(macs=x.width)
    if isinstance(op, Relu):
        return (
            TensorInfo(x.width, max(x.lo, op.zero_point), max(x.hi, op.zero_point)),
            Cost(compares=x.width),
        )
    if isinstance(op, Lut):
        _expect_shape(op.table, 1, "table")
        if op.table.size == 0:
            raise _Bad("empty lookup table")
        _check_bound(TensorInfo(1, op.offset, op.offset), "lut offset")
        return (
            TensorInfo(x.width, int(op.table.min()), int(op.table.max())),
            Cost(lookups=x.width),
        )
    if isinstance(op, Argmax):
        return TensorInfo(1, 0, x.width - 1), Cost(compares=x.width)
    if isinstance(op, Threshold):
        return TensorInfo(x.width, 0, 1), Cost(compares=x.width)
    if isinstance(op, TreeEnsemble):
        return _trees(op, x)
    if isinstance(op, Scorecard):
        return _scorecard(op, x)
    raise _Bad(f"unknown operator {type(op).__name__}")


def _expect_shape(array: IntArray, ndim: int, name: str) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != np.int64 or array.ndim != ndim:
        raise _Bad(f"{name} must be a {ndim}-D int64 array")


def _dense(op: Dense, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    _expect_shape(op.weights, 2, "weights")
    _expect_shape(op.bias, 1, "bias")
    out, width = op.weights.shape
    if width != x.width or out < 1:
        raise _Bad(f"weights of shape {op.weights.shape} for an input of width {x.width}")
    if op.bias.shape != (out,):
        raise _Bad(f"bias of shape {op.bias.shape} for {out} outputs")
    centered = max(abs(x.lo - op.zero_point), abs(x.hi - op.zero_point))
    if centered > VALUE_BOUND or int(np.abs(op.weights).max()) > VALUE_BOUND:
        raise ErrOverflow.wrap("dense: input or weights out of range")
    row_sums = [int(s) for s in abs_row_sums(op.weights)]
    bias = [int(b) for b in op.bias]
    reach = max(s * centered + abs(b) for s, b in zip(row_sums, bias, strict=True))
    if reach > VALUE_BOUND:
        raise ErrOverflow.wrap(f"dense: accumulation may reach {reach} (bound 2**62)")
    lo = min(b - s * centered for s, b in zip(row_sums, bias, strict=True))
    hi = max(b + s * centered for s, b in zip(row_sums, bias, strict=True))
    return TensorInfo(out, lo, hi), Cost(macs=out * width)


def abs_row_sums(weights: IntArray) -> list[int]:
    """Exact (Python int) sum of |w| per output row; cannot overflow."""
    if int(np.abs(weights).max(initial=0)) * weights.shape[1] < VALUE_BOUND:
        return [int(v) for v in np.abs(weights).sum(axis=1)]
    return [sum(abs(int(v)) for v in row) for row in weights]


def _per_column(values: IntArray, width: int, name: str) -> list[int]:
    _expect_shape(values, 1, name)
    if values.size not in (1, width):
        raise _Bad(f"{name} needs 1 or {width} values, got {values.size}")
    return [int(v) for v in values]


def _requantize(op: Requantize, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    multipliers = _per_column(op.multiplier, x.width, "multiplier")
    shifts = _per_column(op.shift, x.width, "shift")
    if any(not 0 <= s <= MAX_SHIFT for s in shifts):
        raise _Bad(f"shift must be within 0..{MAX_SHIFT}")
    if (op.lo is None) != (op.hi is None) or (
        op.lo is not None and op.hi is not None and op.lo > op.hi
    ):
        raise _Bad("requantize clamp needs both lo ≤ hi or neither")
    if len(shifts) == 1:
        shifts = shifts * len(multipliers)
    if len(multipliers) == 1:
        multipliers = multipliers * len(shifts)
    lows, highs = [], []
    for m, s in zip(multipliers, shifts, strict=True):
        if abs(m) * x.magnitude + (1 << s) > PRODUCT_BOUND:
            raise ErrOverflow.wrap(f"requantize: x * {m} may overflow int64")
        ends = [(v * m + ((1 << s) >> 1)) >> s for v in (x.lo, x.hi)]
        lows.append(min(ends) + op.zero_point)
        highs.append(max(ends) + op.zero_point)
    lo, hi = min(lows), max(highs)
    if op.lo is not None and op.hi is not None:
        lo, hi = min(max(lo, op.lo), op.hi), max(min(hi, op.hi), op.lo)
    return TensorInfo(x.width, lo, hi), Cost(macs=x.width)


def _trees(op: TreeEnsemble, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    for name in ("roots", "feature", "threshold", "left", "right", "base"):
        _expect_shape(getattr(op, name), 1, name)
    _expect_shape(op.values, 2, "values")
    nodes = op.feature.size
    outputs = op.base.size
    if nodes == 0 or op.roots.size == 0 or outputs == 0:
        raise _Bad("tree ensemble needs trees, nodes and outputs")
    for name in ("threshold", "left", "right"):
        if getattr(op, name).size != nodes:
            raise _Bad(f"{name} must have one entry per node")
    if op.values.shape != (nodes, outputs):
        raise _Bad(f"values must have shape ({nodes}, {outputs})")
    if int(op.feature.min()) < 0 or int(op.feature.max()) >= x.width:
        raise _Bad("feature index out of range")
    if op.depth < 0:
        raise _Bad("negative depth")
    magnitudes = _walk_trees(op, nodes)
    reach = sum(magnitudes) + int(np.abs(op.base).max())
    if reach > VALUE_BOUND:
        raise ErrOverflow.wrap("tree ensemble: sum of leaves out of range")
    base_lo, base_hi = int(op.base.min()), int(op.base.max())
    trees = op.roots.size
    cost = Cost(compares=trees * op.depth, lookups=trees * outputs)
    return TensorInfo(outputs, base_lo - sum(magnitudes), base_hi + sum(magnitudes)), cost


def _walk_trees(op: TreeEnsemble, nodes: int) -> list[int]:
    """Check every tree is a proper tree within ``depth``; return each tree's max |leaf|."""
    left = [int(v) for v in op.left]
    right = [int(v) for v in op.right]
    seen = [False] * nodes
    magnitudes = []
    for root in (int(r) for r in op.roots):
        if not 0 <= root < nodes or seen[root]:
            raise _Bad(f"bad or shared root {root}")
        largest = 0
        frontier = [root]
        seen[root] = True
        for level in range(op.depth + 1):
            children = []
            for node in frontier:
                if left[node] == node and right[node] == node:
                    largest = max(largest, int(np.abs(op.values[node]).max()))
                    continue
                if level == op.depth:
                    raise _Bad(f"a tree is deeper than depth {op.depth}")
                for child in (left[node], right[node]):
                    if not 0 <= child < nodes or seen[child]:
                        raise _Bad(f"node {node} has a bad or shared child {child}")
                    seen[child] = True
                    children.append(child)
            frontier = children
            if not frontier:
                break
        magnitudes.append(largest)
    if not all(seen):
        raise _Bad("nodes not reachable from any root")
    return magnitudes


def _scorecard(op: Scorecard, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    if len(op.edges) != x.width or len(op.points) != x.width:
        raise _Bad(f"scorecard needs edges and points for each of {x.width} features")
    lo = hi = op.base
    compares = 0
    for edges, points in zip(op.edges, op.points, strict=True):
        _expect_shape(edges, 1, "edges")
        _expect_shape(points, 1, "points")
        if points.size != edges.size + 1:
            raise _Bad("each feature needs len(edges) + 1 points")
        if edges.size > 1 and not bool(np.all(edges[1:] > edges[:-1])):
            raise _Bad("edges must be strictly increasing")
        lo += int(points.min())
        hi += int(points.max())
        compares += max(1, int(edges.size).bit_length())
    return TensorInfo(1, lo, hi), Cost(compares=compares, lookups=x.width)
