"""The DSM interpreter: exact integer execution of a checked model.

:class:`Program` is a model that passed :func:`~aivm.ai.runtime.analysis.analyze` with the
arrays laid out for fast vectorized execution (weights transposed, per-tree index arrays).
Every operation is integer numpy arithmetic on ``int64``; the analysis proved no value can
overflow, and integer addition is associative, so results are bit-identical on every machine
whatever order numpy sums in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aivm.ai.runtime.analysis import Analysis, TensorInfo, abs_row_sums, analyze
from aivm.ai.runtime.codec import LoadWork, parse_counted, serialize
from aivm.ai.runtime.errors import ErrInvalidInput, ErrModelLimit
from aivm.ai.runtime.limits import GasTable, Limits
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

Kernel = Callable[[list[IntArray]], IntArray]


@dataclass(frozen=True, eq=False)
class Program:
    """A checked model ready to run."""

    model: Model
    analysis: Analysis
    kernels: tuple[tuple[tuple[int, ...], Kernel], ...]
    load_work: LoadWork
    """What parsing, checking and compiling the model's artifact costs."""
    chain: tuple[Kernel, ...] | None = None
    """The kernels alone when the graph is a simple chain (a faster loop)."""

    @property
    def input_width(self) -> int:
        """Features per input row."""
        return self.model.input.width

    @property
    def output_width(self) -> int:
        """Values per output row."""
        return self.analysis.output.width

    def gas_per_row(self, gas: GasTable) -> int:
        """Gas one input row costs under ``gas``."""
        return gas.cost(self.analysis.cost)

    def load_gas(self, gas: GasTable) -> int:
        """Gas of loading the artifact (parse, check, compile) under ``gas``."""
        return gas.load(self.load_work)

    def run(self, rows: IntArray) -> IntArray:
        """Execute on quantized input ``rows`` (``(n, width)`` int64, already range-checked)."""
        if self.chain is not None:  # every operator reads only its predecessor
            x = rows
            for kernel in self.chain:
                x = kernel([x])
            return x
        tensors = [rows]
        for sources, kernel in self.kernels:
            tensors.append(kernel([tensors[s] for s in sources]))
        return tensors[-1]


def compile_model(
    model: Model, limits: Limits | None = None, load_work: LoadWork | None = None
) -> Program:
    """Check ``model`` (structure, overflow, limits) and prepare it for execution.

    ``load_work`` is the census of the artifact the model was parsed from; without it the
    model is serialized and counted (off-chain callers that built the model in memory).
    """
    analysis = analyze(model, None if limits is None else limits.max_tree_depth)
    if limits is not None:
        limits.check_model(model, analysis)
    if load_work is None:
        _, load_work = parse_counted(serialize(model))
    kernels = tuple((op.inputs, _kernel(op, analysis.tensors[op.inputs[0]])) for op in model.ops)
    is_chain = all(sources == (i,) for i, (sources, _) in enumerate(kernels))
    chain = _fused_chain(model, analysis, kernels) if is_chain else None
    return Program(model, analysis, kernels, load_work, chain)


def _fused_chain(
    model: Model, analysis: Analysis, kernels: tuple[tuple[tuple[int, ...], Kernel], ...]
) -> tuple[Kernel, ...]:
    """The chain's kernels, with each int32 ``Dense`` → ``Requantize`` pair fused into one.

    In a chain a dense output feeds only the next operator, so the pair can be computed as
    ``((acc · m + (b·m + r + (zp << s))) >> s)`` on the int32 accumulator ``acc`` — the same
    integers, with fewer passes — whenever the analysis bounds keep every term in int64.
    """
    fused: list[Kernel] = []
    index = 0
    while index < len(kernels):
        op = model.ops[index]
        nxt = model.ops[index + 1] if index + 1 < len(model.ops) else None
        if isinstance(op, Dense) and isinstance(nxt, Requantize):
            pair = _dense_requantize_kernel(
                op, nxt, analysis.tensors[index], analysis.tensors[index + 1]
            )
            if pair is not None:
                fused.append(pair)
                index += 2
                continue
        fused.append(kernels[index][1])
        index += 1
    return tuple(fused)


def _dense_requantize_kernel(
    dense: Dense, requant: Requantize, source: TensorInfo, accumulated: TensorInfo
) -> Kernel | None:
    """A fused kernel, or None when the pair does not qualify (then both run separately)."""
    row_sums = abs_row_sums(dense.weights)
    raw = max(abs(source.lo), abs(source.hi))
    if max(row_sums) * raw > INT32_LIMIT or requant.lo is None or requant.hi is None:
        return None
    outputs = dense.weights.shape[0]
    multipliers = [int(v) for v in np.broadcast_to(requant.multiplier, (outputs,))]
    shifts = [int(v) for v in np.broadcast_to(requant.shift, (outputs,))]
    bias = [
        int(b) - dense.zero_point * int(w)
        for b, w in zip(dense.bias, dense.weights.sum(axis=1), strict=True)
    ]
    offsets = [
        b * m + ((1 << s) >> 1) + (requant.zero_point << s)
        for b, m, s in zip(bias, multipliers, shifts, strict=True)
    ]
    reach = max(
        (row * raw) * abs(m) + abs(o)
        for row, m, o in zip(row_sums, multipliers, offsets, strict=True)
    )
    if reach > PRODUCT_LIMIT:
        return None
    weights32 = np.ascontiguousarray(dense.weights, dtype=np.int32)
    scale = np.array(multipliers, np.int64)
    offset = np.array(offsets, np.int64)
    same_shift = len(set(shifts)) == 1
    steps: int | IntArray = shifts[0] if same_shift else np.array(shifts, np.int64)
    lo, hi = requant.lo, requant.hi

    def run(xs: list[IntArray]) -> IntArray:
        acc = np.einsum("nj,ij->ni", xs[0].astype(np.int32), weights32)
        y: IntArray = acc * scale  # int32 × int64 → int64, exact
        y += offset
        y >>= steps
        np.maximum(y, lo, out=y)
        np.minimum(y, hi, out=y)
        return y

    return run


def check_rows(program: Program, rows: IntArray, limits: Limits | None = None) -> IntArray:
    """Validate quantized input rows: shape, dtype, and the model's declared range."""
    spec = program.model.input
    if not isinstance(rows, np.ndarray) or rows.dtype != np.int64 or rows.ndim != 2:
        raise ErrInvalidInput.wrap("input must be a 2-D int64 array")
    if rows.shape[1] != spec.width or rows.shape[0] < 1:
        raise ErrInvalidInput.wrap(
            f"input rows must have {spec.width} features, got {rows.shape[1]}"
        )
    if limits is not None and rows.shape[0] > limits.max_rows:
        raise ErrModelLimit.wrap(f"{rows.shape[0]} rows exceed the limit of {limits.max_rows}")
    if int(rows.min()) < spec.lo or int(rows.max()) > spec.hi:
        raise ErrInvalidInput.wrap(f"input values must lie in [{spec.lo}, {spec.hi}]")
    return rows


def quantize_row(program: Program, values: Sequence[str | int]) -> list[int]:
    """Quantize one row of decimal strings or integers with the model's input quantization.

    ``q = round_half_even(v * num / den) + zero_point`` in exact integer arithmetic; decimal
    strings look like ``-12.5``, ``3``, ``.5`` or ``3.`` (no exponent, no float).
    """
    spec = program.model.input
    if len(values) != spec.width:
        raise ErrInvalidInput.wrap(f"expected {spec.width} values, got {len(values)}")
    quantized = []
    for i, value in enumerate(values):
        numerator, denominator = _exact(value, i)
        q = (
            _round_half_even(numerator * spec.scale_num[i], denominator * spec.scale_den[i])
            + spec.zero_point[i]
        )
        if not spec.lo <= q <= spec.hi:
            raise ErrInvalidInput.wrap(
                f"feature {i} = {value} quantizes to {q}, outside [{spec.lo}, {spec.hi}]"
            )
        quantized.append(q)
    return quantized


DECIMAL_RE = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?")
"""A decimal number: optional minus, digits, optional point and digits (at least one digit)."""
MAX_DECIMAL_CHARS = 64


def _exact(value: str | int, index: int) -> tuple[int, int]:
    """``value`` as an exact fraction ``(numerator, 10**k)``."""
    if isinstance(value, bool):
        raise ErrInvalidInput.wrap(f"feature {index}: booleans are not numbers")
    if isinstance(value, int):
        return value, 1
    match = (
        DECIMAL_RE.fullmatch(value)
        if isinstance(value, str) and len(value) <= MAX_DECIMAL_CHARS
        else None
    )
    if match is None or not (match[2] or match[3]):
        raise ErrInvalidInput.wrap(f"feature {index}: {value!r} is not a decimal number")
    sign, whole, fraction = match[1], match[2], match[3] or ""
    magnitude = int(whole + fraction or "0")
    return (-magnitude if sign else magnitude), 10 ** len(fraction)


def _round_half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) rounded to the nearest integer, ties to
    even, exactly."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def _kernel(op: Op, source: TensorInfo) -> Kernel:
    if isinstance(op, Dense):
        return _dense_kernel(op, source)
    if isinstance(op, Requantize):
        return _requantize_kernel(op, source)
    if isinstance(op, Add):
        return lambda xs: xs[0] + xs[1]
    if isinstance(op, Relu):
        zero = np.int64(op.zero_point)
        return lambda xs: np.maximum(xs[0], zero)
    if isinstance(op, Lut):  # take(mode="clip") clamps the index to [0, len(table) - 1]
        table, offset = op.table, np.int64(op.offset)
        return lambda xs: table.take(xs[0] - offset, mode="clip")
    if isinstance(op, Argmax):
        return lambda xs: np.argmax(xs[0], axis=1, keepdims=True).astype(np.int64, copy=False)
    if isinstance(op, Threshold):
        limit = np.int64(op.threshold)
        return lambda xs: (xs[0] >= limit).astype(np.int64)
    if isinstance(op, TreeEnsemble):
        return _tree_kernel(op)
    if isinstance(op, Scorecard):
        return _scorecard_kernel(op)
    raise TypeError(type(op))


INT32_LIMIT = 2**31 - 1
PRODUCT_LIMIT = 2**63 - 1


def _dense_kernel(op: Dense, source: TensorInfo) -> Kernel:
    """``(x - zp) @ W.T + b``, in int32 when the analysis proves every partial sum fits.

    Any partial sum of ``w * v`` is bounded by ``sum |w| * max |v|``; when that bound fits
    int32 the narrower (and faster) accumulation is exact too. When it fits for the raw input,
    the zero point is folded into the bias (``W (x - zp) = W x - zp · rowsum(W)``, exact in
    int64), saving one pass over the input.
    """
    bias, zero = op.bias, np.int64(op.zero_point)
    row_sums = abs_row_sums(op.weights)
    centered = max(abs(source.lo - op.zero_point), abs(source.hi - op.zero_point))
    raw = max(abs(source.lo), abs(source.hi))
    if max(row_sums) * raw <= INT32_LIMIT:
        weights32 = np.ascontiguousarray(op.weights, dtype=np.int32)
        folded = bias - op.zero_point * op.weights.sum(axis=1)
        # int32 sums + int64 bias: numpy widens to int64 exactly
        return lambda xs: np.einsum("nj,ij->ni", xs[0].astype(np.int32), weights32) + folded
    if max(row_sums) * centered <= INT32_LIMIT:
        weights32 = np.ascontiguousarray(op.weights, dtype=np.int32)
        return lambda xs: np.einsum("nj,ij->ni", (xs[0] - zero).astype(np.int32), weights32) + bias
    weights = np.ascontiguousarray(op.weights)
    return lambda xs: np.einsum("nj,ij->ni", xs[0] - zero, weights) + bias


def _requantize_kernel(op: Requantize, source: TensorInfo) -> Kernel:
    """``clamp(((x·m + 2^(s−1)) >> s) + zp)`` with in-place steps (fresh output array).

    The zero point is folded into the pre-shift term, ``((x·m + r + (zp << s)) >> s) =
    ((x·m + r) >> s) + zp`` exactly, when the analysis shows the sum stays within int64.
    """
    lo, hi, zero = op.lo, op.hi, op.zero_point
    width = max(op.multiplier.size, op.shift.size)
    multipliers = [int(v) for v in np.broadcast_to(op.multiplier, (width,))]
    shifts = [int(v) for v in np.broadcast_to(op.shift, (width,))]
    if width == 1 and multipliers[0] == 1 and shifts[0] == 0:
        if lo is not None and hi is not None:
            return lambda xs: _clamp(xs[0] + zero, lo, hi)
        return lambda xs: xs[0] + zero
    offsets = [((1 << s) >> 1) + (zero << s) for s in shifts]
    reach = max(
        abs(m) * source.magnitude + abs(o) for m, o in zip(multipliers, offsets, strict=True)
    )
    fold = reach <= PRODUCT_LIMIT
    if not fold:
        offsets = [(1 << s) >> 1 for s in shifts]
    if width == 1:  # Python ints are the fastest scalar operands
        scale: int | IntArray = multipliers[0]
        steps: int | IntArray = shifts[0]
        offset: int | IntArray = offsets[0]
    else:
        scale, steps = np.array(multipliers, np.int64), np.array(shifts, np.int64)
        offset = np.array(offsets, np.int64)
    add_zero = zero if not fold else 0

    def run(xs: list[IntArray]) -> IntArray:
        y: IntArray = xs[0] * scale
        y += offset
        y >>= steps
        if add_zero:
            y += add_zero
        if lo is not None and hi is not None:
            np.maximum(y, lo, out=y)
            np.minimum(y, hi, out=y)
        return y

    return run


def _clamp(y: IntArray, lo: int, hi: int) -> IntArray:
    """Clamp a fresh array in place (faster than ``np.clip`` on small arrays)."""
    np.maximum(y, lo, out=y)
    np.minimum(y, hi, out=y)
    return y


def _tree_kernel(op: TreeEnsemble) -> Kernel:
    """Compare every inner node once, then walk all trees one level per gather.

    Nodes are renumbered inner nodes first. For a row, ``successor[n]`` is the child an inner
    node ``n`` leads to (``left`` when ``x[feature] <= threshold``, else ``right``) and a leaf
    itself, so each level of depth is a single gather ``node = successor[node]`` over the
    trees, and after ``depth`` levels every tree sits on its leaf. A single row uses 1-D
    arrays (the on-chain case); batches use one flat successor table for all rows.
    """
    is_leaf = (op.left == np.arange(op.left.size)) & (op.right == np.arange(op.right.size))
    order = np.concatenate([np.flatnonzero(~is_leaf), np.flatnonzero(is_leaf)])
    new_id = np.empty_like(order)
    new_id[order] = np.arange(order.size)
    nodes, inner = order.size, int((~is_leaf).sum())
    table = _TreeTable(
        feature=op.feature[order][:inner].astype(np.intp),
        threshold=op.threshold[order][:inner],
        left=new_id[op.left[order][:inner]].astype(np.intp),
        right=new_id[op.right[order][:inner]].astype(np.intp),
        leaves=np.arange(inner, nodes, dtype=np.intp),
        roots=new_id[op.roots].astype(np.intp),
        values=op.values[order],
        base=op.base,
        depth=op.depth,
    )
    return table.run


@dataclass(frozen=True, eq=False)
class _TreeTable:
    """A tree ensemble laid out for :func:`_tree_kernel` (inner nodes ``0 .. inner - 1``)."""

    feature: npt.NDArray[np.intp]
    threshold: IntArray
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    leaves: npt.NDArray[np.intp]
    roots: npt.NDArray[np.intp]
    values: IntArray
    base: IntArray
    depth: int

    def run(self, xs: list[IntArray]) -> IntArray:
        """Sum of the leaves each row reaches, plus ``base``."""
        x = xs[0]
        if x.shape[0] != 1:
            return self._run_rows(x)
        goes_right = x[0].take(self.feature) > self.threshold
        successor = np.concatenate((np.where(goes_right, self.right, self.left), self.leaves))
        node = self.roots
        for _ in range(self.depth):
            node = successor.take(node)
        one: IntArray = self.values.take(node, axis=0).sum(axis=0) + self.base
        return one.reshape(1, -1)

    def _run_rows(self, x: IntArray) -> IntArray:
        """Several rows: row ``r``'s nodes are numbered ``r * nodes + n`` in one flat table."""
        rows, nodes = x.shape[0], self.left.size + self.leaves.size
        offsets = (np.arange(rows, dtype=np.intp) * nodes)[:, None]
        inner = np.where(x[:, self.feature] > self.threshold, self.right, self.left)
        successor = np.concatenate(
            (inner, np.broadcast_to(self.leaves, (rows, self.leaves.size))), axis=1
        )
        flat = (successor + offsets).reshape(-1)
        node = self.roots + offsets
        for _ in range(self.depth):
            node = flat.take(node)
        total: IntArray = self.values.take(node - offsets, axis=0).sum(axis=1) + self.base
        return total


def _scorecard_kernel(op: Scorecard) -> Kernel:
    """Every edge compared with its feature's value at once; a feature's bin is the number of
    its edges below the value (a segment sum), its points gathered and summed.

    The comparisons go into a buffer one column longer than the edges, always ``False``, so
    every segment start is a valid index for ``reduceat``; a feature without edges would read
    one stray comparison there, which ``nonempty`` zeroes.
    """
    sizes = np.array([e.size for e in op.edges], dtype=np.intp)
    edges = np.concatenate([*op.edges, np.zeros(0, np.int64)])
    edge_feature = np.repeat(np.arange(sizes.size, dtype=np.intp), sizes)
    starts = np.cumsum(sizes) - sizes
    nonempty = (sizes > 0).astype(np.intp)
    first_point = starts + np.arange(sizes.size, dtype=np.intp)  # feature f's points begin here
    points = np.concatenate(op.points)
    base = np.int64(op.base)

    def run(xs: list[IntArray]) -> IntArray:
        x = xs[0]
        values = x[0].take(edge_feature)[None, :] if x.shape[0] == 1 else x[:, edge_feature]
        below = np.zeros((x.shape[0], edges.size + 1), dtype=bool)
        np.less(edges, values, out=below[:, :-1])
        bins = np.add.reduceat(below, starts, axis=1, dtype=np.intp)
        bins *= nonempty
        score: IntArray = points.take(first_point + bins).sum(axis=1) + base
        return score.reshape(-1, 1)

    return run
