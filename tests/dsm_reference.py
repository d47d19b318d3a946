"""The DSM operators in exact Python integers: the semantics of ``aivm.ai.runtime.model``
written the plain way, for tests (unit tests and the fuzzer's artifact oracle) to compare the
vectorized int64 interpreter against. An int64 overflow the static analysis missed, or a
kernel that strays from the stated semantics, shows up as a difference."""

from __future__ import annotations

from aivm.ai.runtime.model import (
    Add,
    Argmax,
    Dense,
    Lut,
    Model,
    Op,
    Relu,
    Requantize,
    Scorecard,
    Threshold,
    TreeEnsemble,
)


def reference_run(model: Model, row: list[int]) -> list[int]:
    """The model's output for ``row`` in exact Python integers (the semantics in model.py)."""
    tensors = [row]
    for op in model.ops:
        tensors.append(reference_op(op, [tensors[i] for i in op.inputs]))
    return tensors[-1]


def reference_op(op: Op, xs: list[list[int]]) -> list[int]:
    """One operator in exact integers."""
    x = xs[0]
    if isinstance(op, Dense):
        return [
            int(b) + sum(int(w) * (v - op.zero_point) for w, v in zip(ws, x, strict=True))
            for ws, b in zip(op.weights.tolist(), op.bias.tolist(), strict=True)
        ]
    if isinstance(op, Requantize):
        return _reference_requantize(op, x)
    if isinstance(op, Add):
        return [a + b for a, b in zip(x, xs[1], strict=True)]
    if isinstance(op, Relu):
        return [max(v, op.zero_point) for v in x]
    if isinstance(op, Lut):
        table = op.table.tolist()
        return [table[min(max(v - op.offset, 0), len(table) - 1)] for v in x]
    if isinstance(op, Argmax):
        return [x.index(max(x))]
    if isinstance(op, Threshold):
        return [1 if v >= op.threshold else 0 for v in x]
    if isinstance(op, TreeEnsemble):
        return _reference_trees(op, x)
    if isinstance(op, Scorecard):
        score = op.base
        for v, edges, points in zip(x, op.edges, op.points, strict=True):
            score += int(points[sum(1 for e in edges.tolist() if e < v)])
        return [score]
    raise TypeError(op)


def _reference_requantize(op: Requantize, x: list[int]) -> list[int]:
    multipliers = op.multiplier.tolist() * (len(x) if op.multiplier.size == 1 else 1)
    shifts = op.shift.tolist() * (len(x) if op.shift.size == 1 else 1)
    out = []
    for v, m, s in zip(x, multipliers, shifts, strict=True):
        y = ((v * m + ((1 << s) >> 1)) >> s) + op.zero_point
        if op.lo is not None and op.hi is not None:
            y = min(max(y, op.lo), op.hi)
        out.append(y)
    return out


def _reference_trees(op: TreeEnsemble, x: list[int]) -> list[int]:
    total = [int(b) for b in op.base.tolist()]
    left, right = op.left.tolist(), op.right.tolist()
    feature, threshold = op.feature.tolist(), op.threshold.tolist()
    for root in op.roots.tolist():
        node = root
        for _ in range(op.depth):
            node = left[node] if x[feature[node]] <= threshold[node] else right[node]
        total = [a + int(b) for a, b in zip(total, op.values[node].tolist(), strict=True)]
    return total
