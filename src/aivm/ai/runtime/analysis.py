"""Static checks of a DSM model: structure, value bounds (no overflow possible), cost.

Before a model runs, :func:`analyze` walks its operators once and proves an interval
``[lo, hi]`` for every tensor from the input range. Any operator whose intermediate values
could leave ``int64`` (accumulations are bounded by ``2**62`` so any summation order is safe)
is rejected with :data:`ErrOverflow`, so the interpreter never needs a runtime overflow check
and vectorized numpy ``int64`` arithmetic is exact. The same walk counts the work per input
row that gas is charged for (:class:`Cost`): the vectorized kernel calls each operator makes,
the elements those calls touch, and the multiply-accumulates of dense layers. The counts mirror
the kernels in :mod:`aivm.ai.runtime.interpreter` (ADR 0010).

Tree ensembles must declare their true depth: ``depth`` equals the number of inner nodes on
the longest root-to-leaf path, and a cap (``max_tree_depth``) bounds it before any walk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aivm.ai.runtime.errors import ErrInvalidArtifact, ErrModelLimit, ErrOverflow
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


INT64_MIN = -(2**63)


@dataclass(frozen=True)
class Cost:
    """Work per input row, by kind (see ADR 0010 for the count of each operator)."""

    calls: int = 0
    """Vectorized kernel calls (each has a fixed cost, whatever its size)."""
    elements: int = 0
    """Elements those calls read or write (element-wise passes, gathers, compares)."""
    macs: int = 0
    """Multiply-accumulates of dense layers."""

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.calls + other.calls,
            self.elements + other.elements,
            self.macs + other.macs,
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


def analyze(model: Model, max_tree_depth: int | None = None) -> Analysis:
    """Check ``model`` and return tensor bounds and per-row cost; raise a coded error if unsafe.

    A tree ensemble declaring a depth above ``max_tree_depth`` is refused (ErrModelLimit)
    before its trees are walked; None leaves the depth uncapped (off-chain tools).
    """
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
        if isinstance(op, TreeEnsemble):
            _check_depth_cap(op, index, max_tree_depth)
        try:
            info, op_cost = _analyze_op(op, sources)
        except _Bad as bad:
            raise ErrInvalidArtifact.wrap(f"operator {index}: {bad}") from None
        _check_bound(info, f"operator {index}")
        tensors.append(info)
        cost = cost + op_cost + Cost(calls=1)  # the interpreter's step to the operator
    return Analysis(tuple(tensors), cost)


def _check_depth_cap(op: TreeEnsemble, index: int, max_tree_depth: int | None) -> None:
    if max_tree_depth is not None and op.depth > max_tree_depth:
        raise ErrModelLimit.wrap(
            f"operator {index}: tree depth {op.depth} exceeds the limit of {max_tree_depth}"
        )


def magnitude(array: IntArray) -> int:
    """Largest absolute value in ``array`` (0 when empty), exact even for ``-2**63``."""
    if array.size == 0:
        return 0
    return max(abs(int(array.min())), abs(int(array.max())))


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
        return (
            TensorInfo(x.width, x.lo + other.lo, x.hi + other.hi),
            Cost(calls=1, elements=x.width),
        )
    if isinstance(op, Relu):
        return (
            TensorInfo(x.width, max(x.lo, op.zero_point), max(x.hi, op.zero_point)),
            Cost(calls=1, elements=x.width),
        )
    if isinstance(op, Lut):
        return _lut(op, x)
    if isinstance(op, Argmax):  # argmax, then a cast of the (rows, 1) index
        return TensorInfo(1, 0, x.width - 1), Cost(calls=2, elements=x.width + 1)
    if isinstance(op, Threshold):  # compare, cast
        return TensorInfo(x.width, 0, 1), Cost(calls=2, elements=2 * x.width)
    if isinstance(op, TreeEnsemble):
        return _trees(op, x)
    if isinstance(op, Scorecard):
        return _scorecard(op, x)
    raise _Bad(f"unknown operator {type(op).__name__}")


def _expect_shape(array: IntArray, ndim: int, name: str) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != np.int64 or array.ndim != ndim:
        raise _Bad(f"{name} must be a {ndim}-D int64 array")


def _lut(op: Lut, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    _expect_shape(op.table, 1, "table")
    if op.table.size == 0:
        raise _Bad("empty lookup table")
    _check_bound(TensorInfo(1, op.offset, op.offset), "lut offset")
    _check_bound(TensorInfo(1, x.lo - op.offset, x.hi - op.offset), "lut index")
    return (  # subtract the offset, clipped gather
        TensorInfo(x.width, int(op.table.min()), int(op.table.max())),
        Cost(calls=2, elements=2 * x.width),
    )


def _dense(op: Dense, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    _expect_shape(op.weights, 2, "weights")
    _expect_shape(op.bias, 1, "bias")
    out, width = op.weights.shape
    if width != x.width or out < 1:
        raise _Bad(f"weights of shape {op.weights.shape} for an input of width {x.width}")
    if op.bias.shape != (out,):
        raise _Bad(f"bias of shape {op.bias.shape} for {out} outputs")
    centered = max(abs(x.lo - op.zero_point), abs(x.hi - op.zero_point))
    if centered > VALUE_BOUND or magnitude(op.weights) > VALUE_BOUND:
        raise ErrOverflow.wrap("dense: input or weights out of range")
    row_sums = [int(s) for s in abs_row_sums(op.weights)]
    bias = [int(b) for b in op.bias]
    reach = max(s * centered + abs(b) for s, b in zip(row_sums, bias, strict=True))
    if reach > VALUE_BOUND:
        raise ErrOverflow.wrap(f"dense: accumulation may reach {reach} (bound 2**62)")
    lo = min(b - s * centered for s, b in zip(row_sums, bias, strict=True))
    hi = max(b + s * centered for s, b in zip(row_sums, bias, strict=True))
    # cast (or centre) the input, einsum (its set-up costs about three calls), add the bias
    return TensorInfo(out, lo, hi), Cost(calls=5, elements=width + out, macs=out * width)


def abs_row_sums(weights: IntArray) -> list[int]:
    """Exact (Python int) sum of |w| per output row; cannot overflow."""
    if magnitude(weights) * weights.shape[1] < VALUE_BOUND:
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
    # the zero point is added before the clamp: that sum must stay in range too
    _check_bound(TensorInfo(x.width, lo, hi), "requantize (before its clamp)")
    if op.lo is not None and op.hi is not None:
        lo, hi = min(max(lo, op.lo), op.hi), max(min(hi, op.hi), op.lo)
    # multiply, add the rounding term, shift, add the zero point, clamp low, clamp high
    return TensorInfo(x.width, lo, hi), Cost(calls=6, elements=6 * x.width)


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
    if magnitude(op.values) > VALUE_BOUND or magnitude(op.base) > VALUE_BOUND:
        raise ErrOverflow.wrap("tree ensemble: leaf values or base out of range")
    forest = check_forest(op)
    reach = sum(forest.magnitudes) + magnitude(op.base)
    if reach > VALUE_BOUND:
        raise ErrOverflow.wrap("tree ensemble: sum of leaves out of range")
    base_lo, base_hi = int(op.base.min()), int(op.base.max())
    spread = sum(forest.magnitudes)
    return TensorInfo(outputs, base_lo - spread, base_hi + spread), tree_cost(
        op.roots.size, nodes, forest.inner, op.depth, outputs
    )


def tree_cost(trees: int, nodes: int, inner: int, depth: int, outputs: int) -> Cost:
    """Per-row work of the tree kernel: every inner node compared once, the successor table
    built, then one gather of the ``trees`` current nodes per level of depth (a gather of
    scattered nodes is counted as three elements each), then the leaves summed."""
    compare = Cost(calls=2, elements=2 * inner)  # gather the features, compare
    successors = Cost(calls=2, elements=inner + nodes)  # pick a child per inner node, append
    walk = Cost(calls=depth, elements=3 * depth * trees)  # one gather per level
    leaves = Cost(calls=4, elements=2 * trees * outputs + outputs)  # gather, sum, add, shape
    return compare + successors + walk + leaves


@dataclass(frozen=True)
class Forest:
    """What :func:`check_forest` learns about a well-formed ensemble."""

    inner: int
    """Number of inner nodes."""
    magnitudes: list[int]
    """Largest |leaf value| of each tree, in root order."""


def check_forest(op: TreeEnsemble) -> Forest:
    """Check every tree is a proper binary tree exactly ``op.depth`` deep (vectorized).

    Every node must be exactly once a root or a child of an inner node, and be reached from
    a root within ``depth`` levels; the deepest leaf must sit at level ``depth``. Costs one
    pass over the nodes plus a few numpy calls per level.
    """
    nodes = op.feature.size
    ids = np.arange(nodes)
    is_leaf = (op.left == ids) & (op.right == ids)
    inner = ~is_leaf
    children = np.concatenate((op.left[inner], op.right[inner]))
    slots = np.concatenate((op.roots, children))
    if int(slots.min()) < 0 or int(slots.max()) >= nodes:
        raise _Bad("a root or child index is out of range")
    if slots.size != nodes or int(np.bincount(slots, minlength=nodes).max()) != 1:
        raise _Bad("every node must be exactly one root or one child (shared or missing node)")
    tree_of = np.zeros(nodes, dtype=np.int64)
    tree_of[op.roots] = np.arange(op.roots.size)
    frontier = op.roots
    reached, level = frontier.size, 0
    while True:
        parents = frontier[inner[frontier]]
        if parents.size == 0:
            break
        if level == op.depth:
            raise _Bad(f"a tree is deeper than its declared depth {op.depth}")
        frontier = np.concatenate((op.left[parents], op.right[parents]))
        tree_of[frontier] = np.concatenate((tree_of[parents], tree_of[parents]))
        reached += frontier.size
        level += 1
    if reached != nodes:
        raise _Bad("nodes not reachable from any root")
    if level != op.depth:
        raise _Bad(f"declared depth {op.depth}, but the deepest tree is {level} deep")
    largest = np.zeros(op.roots.size, dtype=np.int64)
    np.maximum.at(largest, tree_of[is_leaf], np.abs(op.values[is_leaf]).max(axis=1))
    return Forest(inner=int(inner.sum()), magnitudes=largest.tolist())


def _scorecard(op: Scorecard, x: TensorInfo) -> tuple[TensorInfo, Cost]:
    if len(op.edges) != x.width or len(op.points) != x.width:
        raise _Bad(f"scorecard needs edges and points for each of {x.width} features")
    lo = hi = op.base
    reach = abs(op.base)
    edge_count = 0
    for edges, points in zip(op.edges, op.points, strict=True):
        _expect_shape(edges, 1, "edges")
        _expect_shape(points, 1, "points")
        if points.size != edges.size + 1:
            raise _Bad("each feature needs len(edges) + 1 points")
        if edges.size > 1 and not bool(np.all(edges[1:] > edges[:-1])):
            raise _Bad("edges must be strictly increasing")
        lo += int(points.min())
        hi += int(points.max())
        reach += magnitude(points)
        edge_count += edges.size
    if reach > VALUE_BOUND:  # every partial sum, in any order, stays within the bound
        raise ErrOverflow.wrap("scorecard: sum of points out of range")
    return TensorInfo(1, lo, hi), scorecard_cost(x.width, edge_count)


def scorecard_cost(features: int, edges: int) -> Cost:
    """Per-row work of the scorecard kernel: every edge compared with its feature's value,
    the comparisons summed per feature, and one point gathered per feature and summed."""
    compare = Cost(calls=3, elements=3 * edges)  # gather each edge's value, buffer, compare
    count = Cost(calls=2, elements=edges + 4 * features)  # segment sums (≈3 per segment), zero
    score = Cost(calls=5, elements=3 * features + 1)  # offset, gather, sum, add, shape
    return compare + count + score
