"""Tree ensembles → one DSM ``TreeEnsemble`` (shared by the sklearn, XGBoost, LightGBM importers).

Quantization choices (exact, no float is trusted where an integer decision is made):

- **Inputs**: feature ``i`` with ``d_i`` decimals is quantized as ``q = round_half_even(v *
  10**d_i)`` (see :mod:`aivm.ai.importers.common`), inside ``[-input_bound, input_bound]``.
- **Thresholds**: a split ``x <= t`` (sklearn, LightGBM) or ``x < t`` (XGBoost) becomes the
  integer split ``q <= T`` with ``T`` the *largest* integer ``q`` whose value ``q / 10**d`` the
  source library itself sends left. For libraries that compare in float64 (LightGBM,
  HistGradientBoosting) that is ``T = floor(t * 10**d)`` for ``<=`` and ``ceil(t * 10**d) - 1``
  for ``<`` in exact rational arithmetic, except in the rare case where the float64 rounding of
  the decimal input crosses ``t``; for libraries that first cast inputs to float32 (sklearn
  ``DecisionTree``/``RandomForest``/``GradientBoosting``, XGBoost) ``T`` accounts for that cast.
  So for inputs with at most ``d`` decimals, the DSM decision at every node is *exactly* the
  source library's decision on the same decimal input. Thresholds outside the input range
  are clamped to ``hi`` (always left) or ``lo - 1`` (always right), which decides the same.
  ``T`` is found from the rational guess by a short exponential + binary search.
- **Leaves and base scores**: ``round_half_even(value * 2**leaf_scale_bits)`` (default 24 bits),
  summed exactly in int64. With ``output="score"`` the output spec declares
  ``scale_den = 2**leaf_scale_bits`` (times the number of trees for averaged forests).
- **Decisions**: binary log-odds models end in ``Threshold(1)`` (class 1 iff the integer logit
  is ``> 0``, like the libraries' ``p > 0.5``); multiclass and forest classifiers end in
  ``Argmax`` (first maximum on ties, like numpy). Disagreement with the float model is only
  possible where the float score is within the leaf rounding (``~n_trees * 2**-25``) of the
  decision boundary.
- **Missing values**: NaN inputs are not supported (the chain has none), so the libraries'
  default directions (``missing_go_to_left``, ``default_left``) are never used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from aivm.ai.importers.common import (
    ImportedModel,
    ImporterError,
    Output,
    class_labels,
    finish,
    fixed_point,
    input_spec,
    resolve_decimals,
)
from aivm.ai.runtime.model import (
    Argmax,
    Model,
    Op,
    OutputSpec,
    Threshold,
    TreeEnsemble,
    int_array,
)

Head = Literal["threshold", "argmax", "score"]
"""What follows the ensemble: binary decision on a logit, argmax over columns, or nothing."""


@dataclass(frozen=True)
class SplitRule:
    """How the source library compares a feature with a split threshold."""

    float32: bool
    """Inputs are cast to float32 before comparing (sklearn trees, XGBoost)."""
    strict: bool
    """``x < t`` goes left (XGBoost); otherwise ``x <= t``."""


SKLEARN_TREE = SplitRule(float32=True, strict=False)
SKLEARN_HIST = SplitRule(float32=False, strict=False)
XGBOOST = SplitRule(float32=True, strict=True)
LIGHTGBM = SplitRule(float32=False, strict=False)


@dataclass(frozen=True, eq=False)
class RawTree:
    """One tree in library-neutral float form; node 0 is the root.

    ``left[n] < 0`` marks a leaf; ``value[n]`` (one float per ensemble output) is read at leaves.
    """

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    feature: npt.NDArray[np.int64]
    threshold: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]
    """``(nodes, outputs)``."""


def int_threshold(t: float, scale: int, rule: SplitRule, lo: int, hi: int) -> int:
    """The integer ``T`` in ``[lo - 1, hi]`` with ``q <= T`` ⇔ the library sends ``q/scale`` left.

    ``q/scale`` is what the decimal input with ``log10(scale)`` decimals looks like to the
    library: the correctly rounded float64 (Python ``int / int``), then float32 if
    ``rule.float32``. Monotone in ``q``, so the boundary is found by search from the exact
    rational guess.
    """
    if math.isnan(t):
        raise ImporterError("a split threshold is NaN")
    if math.isinf(t):
        return hi if t > 0 else lo - 1

    def goes_left(q: int) -> bool:
        if q < lo:
            return True
        value = q / scale
        if rule.float32:
            value = float(np.float32(value))
        return value < t if rule.strict else value <= t

    exact = Fraction(t) * scale
    guess = math.ceil(exact) - 1 if rule.strict else math.floor(exact)
    guess = min(max(guess, lo - 1), hi)
    step = 1
    if goes_left(guess):
        good = guess
        while True:
            if good >= hi:
                return hi
            candidate = min(good + step, hi)
            if not goes_left(candidate):
                bad = candidate
                break
            good, step = candidate, step * 2
    else:
        bad = guess
        while True:
            candidate = max(bad - step, lo - 1)
            if goes_left(candidate):
                good = candidate
                break
            bad, step = candidate, step * 2
    while bad - good > 1:
        middle = (good + bad) // 2
        if goes_left(middle):
            good = middle
        else:
            bad = middle
    return good


def build_ensemble(
    trees: Sequence[RawTree],
    base: Sequence[float],
    *,
    width: int,
    decimals: tuple[int, ...],
    leaf_scale_bits: int,
    input_bound: int,
    rule: SplitRule,
) -> TreeEnsemble:
    """Flatten ``trees`` into one ``TreeEnsemble`` reading tensor 0 (see module docstring)."""
    if not trees:
        raise ImporterError("the model has no trees")
    if not isinstance(leaf_scale_bits, int) or not 0 <= leaf_scale_bits <= 60:
        raise ImporterError(f"leaf_scale_bits must be an int in 0..60, got {leaf_scale_bits!r}")
    outputs = len(base)
    lo, hi = -input_bound, input_bound
    scales = [10**d for d in decimals]
    roots: list[int] = []
    feature: list[int] = []
    threshold: list[int] = []
    left: list[int] = []
    right: list[int] = []
    values: list[list[int]] = []
    depth = 0
    cache: dict[tuple[int, float], int] = {}
    for tree in trees:
        if tree.value.shape[1] != outputs:
            raise ImporterError("tree leaf width does not match the number of outputs")
        root = len(feature)
        roots.append(root)
        # breadth-first renumbering keeps only reachable nodes
        order = [0]
        level = {0: 0}
        new_id = {0: root}
        position = 0
        while position < len(order):
            node = order[position]
            position += 1
            if tree.left[node] >= 0:
                for child in (int(tree.left[node]), int(tree.right[node])):
                    if child in new_id or not 0 <= child < tree.left.size:
                        raise ImporterError("malformed tree (shared or out-of-range child)")
                    new_id[child] = root + len(order)
                    level[child] = level[node] + 1
                    order.append(child)
        for node in order:
            me = new_id[node]
            if tree.left[node] < 0:
                feature.append(0)
                threshold.append(0)
                left.append(me)
                right.append(me)
                values.append([fixed_point(float(v), leaf_scale_bits) for v in tree.value[node]])
                depth = max(depth, level[node])
                continue
            f = int(tree.feature[node])
            if not 0 <= f < width:
                raise ImporterError(f"split on feature {f}, but the model has {width} features")
            key = (f, float(tree.threshold[node]))
            if key not in cache:
                cache[key] = int_threshold(key[1], scales[f], rule, lo, hi)
            feature.append(f)
            threshold.append(cache[key])
            left.append(new_id[int(tree.left[node])])
            right.append(new_id[int(tree.right[node])])
            values.append([0] * outputs)
    return TreeEnsemble(
        inputs=(0,),
        roots=int_array(roots),
        feature=int_array(feature),
        threshold=int_array(threshold),
        left=int_array(left),
        right=int_array(right),
        values=int_array(values, 2).reshape(len(values), outputs),
        base=int_array([fixed_point(b, leaf_scale_bits) for b in base]),
        depth=depth,
    )


def tree_model(
    trees: Sequence[RawTree],
    base: Sequence[float],
    *,
    width: int,
    head: Head,
    output: Output,
    classes: npt.NDArray[Any] | None,
    decimals: int | Sequence[int],
    leaf_scale_bits: int,
    input_bound: int,
    feature_names: Sequence[str] | None,
    rule: SplitRule,
    name: str,
    score_divisor: int = 1,
) -> ImportedModel:
    """Build, serialize and check the DSM model of a tree ensemble.

    ``head`` is the decision for ``output="class"``; with ``output="score"`` (or a regressor,
    ``head="score"``) the model ends at the ensemble and its output spec declares the real
    score ``y / (2**leaf_scale_bits * score_divisor)``.
    """
    digits = resolve_decimals(decimals, width)
    spec = input_spec(width, digits, input_bound, feature_names)
    ensemble = build_ensemble(
        trees,
        base,
        width=width,
        decimals=digits,
        leaf_scale_bits=leaf_scale_bits,
        input_bound=spec.hi,
        rule=rule,
    )
    ops: list[Op] = [ensemble]
    kind: Output = "score"
    labels: tuple[str, ...] = ()
    if classes is not None:
        labels = class_labels(classes)
    if output == "class" and head != "score":
        kind = "class"
        ops.append(Threshold((1,), 1) if head == "threshold" else Argmax((1,)))
        out = OutputSpec(labels=labels)
    else:
        columns = len(base)
        out = OutputSpec(
            labels=labels if len(labels) == columns else (),
            scale_den=2**leaf_scale_bits * score_divisor,
        )
    model = Model(input=spec, ops=tuple(ops), output=out, name=name)
    return finish(model, kind, classes if kind == "class" else None)


def leaf_values(
    n_nodes: int, outputs: int, column: int | None, leaves: Callable[[int], Sequence[float]]
) -> npt.NDArray[np.float64]:
    """A ``(nodes, outputs)`` value array: ``leaves(n)`` in every column, or in one ``column``."""
    value = np.zeros((n_nodes, outputs), dtype=np.float64)
    for n in range(n_nodes):
        v = leaves(n)
        if column is None:
            value[n, :] = v
        else:
            value[n, column] = v[0]
    return value
