"""scikit-learn → DSM: linear models and tree ensembles.

Supported estimators:

- **Linear** (one ``Dense``): ``LogisticRegression`` and any other linear classifier with
  ``coef_``/``intercept_`` (``RidgeClassifier``, ``LinearSVC``, ``SGDClassifier``...):
  binary → ``Dense`` (the logit) then ``Threshold(1)`` (class 1 iff the integer logit is
  ``> 0`` ⇔ ``p > 0.5``; the sigmoid is skipped), multiclass → ``Dense`` then ``Argmax``;
  linear regressors (``LinearRegression``, ``Ridge``, ``Lasso``, ``ElasticNet``,
  ``SGDRegressor``..., single or multi target) → ``Dense`` score.
- **Trees** (one ``TreeEnsemble``, see :mod:`aivm.ai.importers.trees`):
  ``DecisionTreeClassifier/Regressor``, ``ExtraTreeClassifier/Regressor``,
  ``RandomForestClassifier/Regressor``, ``ExtraTreesClassifier/Regressor`` (forest
  classifiers sum per-tree class probabilities then ``Argmax``, like ``predict_proba``),
  ``GradientBoostingClassifier/Regressor`` (binary: ``Threshold`` on the log-odds;
  multiclass: ``Argmax``) and ``HistGradientBoostingClassifier/Regressor`` (numeric features
  only: categorical splits are rejected; NaN inputs are not supported, so
  ``missing_go_to_left`` is never used). Regressors with a log link (Poisson/Gamma losses)
  output the raw (log-space) score.

Linear quantization: with input scale ``10**d_i`` and output scale ``2**k``, the integer logit
is ``Y = B + sum_i W_i * q_i`` with ``W_i = round_half_even(w_i * 2**k / 10**d_i)`` and ``B =
round_half_even(b * 2**k)`` (exact rationals). ``k`` (``weight_scale_bits``) defaults to the
largest value for which the runtime can prove ``|Y| <= 2**62`` over the declared input range
``±input_bound``; the error of ``Y / 2**k`` is at most ``(1 + sum_i |q_i|) / 2**(k+1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from aivm.ai.importers.common import (
    DEFAULT_DECIMALS,
    DEFAULT_INPUT_BOUND,
    DEFAULT_LEAF_SCALE_BITS,
    MAX_FIXED,
    ImportedModel,
    ImporterError,
    Output,
    check_output,
    class_labels,
    finish,
    input_spec,
    resolve_decimals,
)
from aivm.ai.importers.trees import SKLEARN_HIST, SKLEARN_TREE, Head, RawTree, tree_model
from aivm.ai.runtime.model import Argmax, Dense, Model, Op, OutputSpec, Threshold, int_array

_SINGLE_TREES = {
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
}
_FORESTS = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
}
_GBDT = {"GradientBoostingClassifier", "GradientBoostingRegressor"}
_HIST = {"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"}


def from_sklearn(
    estimator: Any,
    *,
    decimals: int | Sequence[int] = DEFAULT_DECIMALS,
    leaf_scale_bits: int = DEFAULT_LEAF_SCALE_BITS,
    output: Output = "class",
    feature_names: Sequence[str] | None = None,
    input_bound: int = DEFAULT_INPUT_BOUND,
    weight_scale_bits: int | None = None,
) -> ImportedModel:
    """Import a fitted scikit-learn estimator as a DSM model.

    ``decimals``: input decimals (one for all features, or one per feature);
    ``leaf_scale_bits``: fixed-point bits of tree leaves; ``output``: ``"class"`` (decision) or
    ``"score"`` (raw logit / leaf sum; regressors always output their score);
    ``feature_names``: defaults to ``feature_names_in_``; ``input_bound``: declared bound of
    every quantized input; ``weight_scale_bits``: fixed-point bits of a linear model's output
    (default: the largest that provably cannot overflow). Raises :class:`ImporterError`.
    """
    kind = check_output(output)
    name = type(estimator).__name__
    if type(estimator).__module__.split(".")[0] != "sklearn":
        raise ImporterError(f"{type(estimator).__module__}.{name} is not a scikit-learn estimator")
    _check_fitted(estimator)
    width = int(getattr(estimator, "n_features_in_", 0))
    if width < 1:
        raise ImporterError(f"{name} has no n_features_in_")
    if feature_names is None and hasattr(estimator, "feature_names_in_"):
        feature_names = [str(n) for n in estimator.feature_names_in_]
    common: dict[str, Any] = {
        "width": width,
        "decimals": decimals,
        "input_bound": input_bound,
        "feature_names": feature_names,
    }
    tree_args: dict[str, Any] = {
        **common,
        "output": kind,
        "leaf_scale_bits": leaf_scale_bits,
        "name": f"sklearn {name} (aivm importer)",
    }
    if name in _SINGLE_TREES:
        return _single_tree(estimator, tree_args)
    if name in _FORESTS:
        return _forest(estimator, tree_args)
    if name in _GBDT:
        return _gbdt(estimator, tree_args)
    if name in _HIST:
        return _hist(estimator, tree_args)
    if hasattr(estimator, "coef_") and hasattr(estimator, "intercept_"):
        return _linear(estimator, kind, weight_scale_bits, **common)
    raise ImporterError(f"unsupported scikit-learn estimator {name}")


def _check_fitted(estimator: Any) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError as err:
        raise ImporterError(f"{type(estimator).__name__} is not fitted") from err
    except TypeError as err:
        raise ImporterError(f"{type(estimator).__name__} is not an estimator") from err


def _is_classifier(estimator: Any) -> bool:
    return hasattr(estimator, "classes_")


def _classes(estimator: Any) -> npt.NDArray[Any]:
    classes = estimator.classes_
    if isinstance(classes, list) or np.ndim(classes) != 1:
        raise ImporterError("multi-output classifiers are not supported")
    return np.asarray(classes)


def _raw_tree(tree: Any, values: npt.NDArray[np.float64]) -> RawTree:
    """A sklearn ``Tree`` (``tree_``) with the given ``(nodes, outputs)`` leaf values."""
    left = np.asarray(tree.children_left, dtype=np.int64)
    return RawTree(
        left=np.where(left < 0, -1, left),
        right=np.asarray(tree.children_right, dtype=np.int64),
        feature=np.maximum(np.asarray(tree.feature, dtype=np.int64), 0),
        threshold=np.asarray(tree.threshold, dtype=np.float64),
        value=values,
    )


def _tree_values(estimator: Any, classifier: bool) -> npt.NDArray[np.float64]:
    tree = estimator.tree_
    if tree.n_outputs != 1:
        raise ImporterError("multi-output trees are not supported")
    value = np.asarray(tree.value, dtype=np.float64)[:, 0, :]
    if classifier:  # class probabilities at each node, exactly as predict_proba normalizes
        total = value.sum(axis=1, keepdims=True)
        value = value / np.where(total == 0, 1.0, total)
    return value


def _single_tree(estimator: Any, args: dict[str, Any]) -> ImportedModel:
    classifier = _is_classifier(estimator)
    classes = _classes(estimator) if classifier else None
    tree = _raw_tree(estimator.tree_, _tree_values(estimator, classifier))
    outputs = tree.value.shape[1]
    head: Head = "argmax" if classifier else "score"
    return tree_model(
        [tree], [0.0] * outputs, head=head, classes=classes, rule=SKLEARN_TREE, **args
    )


def _forest(estimator: Any, args: dict[str, Any]) -> ImportedModel:
    classifier = _is_classifier(estimator)
    classes = _classes(estimator) if classifier else None
    trees = [_raw_tree(e.tree_, _tree_values(e, classifier)) for e in estimator.estimators_]
    outputs = trees[0].value.shape[1]
    head: Head = "argmax" if classifier else "score"
    return tree_model(
        trees,
        [0.0] * outputs,
        head=head,
        classes=classes,
        rule=SKLEARN_TREE,
        score_divisor=len(trees),  # the forest averages its trees
        **args,
    )


def _gbdt(estimator: Any, args: dict[str, Any]) -> ImportedModel:
    init = estimator.init_
    if not (isinstance(init, str) and init == "zero") and type(init).__name__ not in (
        "DummyClassifier",
        "DummyRegressor",
    ):
        raise ImporterError("GradientBoosting with a custom init estimator is not supported")
    stages = estimator.estimators_  # (n_stages, K) of DecisionTreeRegressor
    rate = float(estimator.learning_rate)
    columns = stages.shape[1]
    trees = []
    for stage in stages:
        for k, regressor in enumerate(stage):
            value = np.zeros((regressor.tree_.node_count, columns))
            value[:, k] = rate * np.asarray(regressor.tree_.value, dtype=np.float64)[:, 0, 0]
            trees.append(_raw_tree(regressor.tree_, value))
    # the constant init score: the raw prediction minus the trees' contribution at any row
    row = np.zeros((1, args["width"]))
    if _is_classifier(estimator):
        raw = np.asarray(estimator.decision_function(row), dtype=np.float64).reshape(-1)
    else:
        raw = np.asarray(estimator.predict(row), dtype=np.float64).reshape(-1)
    for stage in stages:
        for k, regressor in enumerate(stage):
            raw[k] -= rate * float(regressor.predict(row)[0])
    classes = _classes(estimator) if _is_classifier(estimator) else None
    head: Head = "score" if classes is None else ("threshold" if columns == 1 else "argmax")
    return tree_model(
        trees, [float(b) for b in raw], head=head, classes=classes, rule=SKLEARN_TREE, **args
    )


def _hist(estimator: Any, args: dict[str, Any]) -> ImportedModel:
    if getattr(estimator, "_preprocessor", None) is not None:
        raise ImporterError("HistGradientBoosting with categorical features is not supported")
    predictors = estimator._predictors  # [iteration][k] TreePredictor
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    columns = baseline.size
    trees = []
    for iteration in predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if bool(np.any(nodes["is_categorical"])):
                raise ImporterError("HistGradientBoosting categorical splits are not supported")
            leaf = nodes["is_leaf"].astype(bool)
            value = np.zeros((len(nodes), columns))
            value[:, k] = np.where(leaf, nodes["value"], 0.0)
            trees.append(
                RawTree(
                    left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
                    right=np.asarray(nodes["right"], dtype=np.int64),
                    feature=np.asarray(nodes["feature_idx"], dtype=np.int64),
                    threshold=np.asarray(nodes["num_threshold"], dtype=np.float64),
                    value=value,
                )
            )
    classes = _classes(estimator) if _is_classifier(estimator) else None
    head: Head = "score" if classes is None else ("threshold" if columns == 1 else "argmax")
    return tree_model(
        trees, [float(b) for b in baseline], head=head, classes=classes, rule=SKLEARN_HIST, **args
    )


def _linear(
    estimator: Any,
    output: Output,
    weight_scale_bits: int | None,
    *,
    width: int,
    decimals: int | Sequence[int],
    input_bound: int,
    feature_names: Sequence[str] | None,
) -> ImportedModel:
    name = type(estimator).__name__
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.full(coef.shape[0], intercept[0])
    if coef.shape[1] != width or intercept.shape != (coef.shape[0],):
        raise ImporterError(f"{name}: coef_ / intercept_ shapes do not match")
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ImporterError(f"{name}: non-finite coefficients")
    digits = resolve_decimals(decimals, width)
    spec = input_spec(width, digits, input_bound, feature_names)
    bits = _weight_bits(coef, intercept, digits, spec.hi, weight_scale_bits)
    weights = [
        [round(Fraction(float(w)) * 2**bits / 10**d) for w, d in zip(row, digits, strict=True)]
        for row in coef
    ]
    bias = [round(Fraction(float(b)) * 2**bits) for b in intercept]
    ops: list[Op] = [Dense((0,), int_array(weights, 2), int_array(bias))]
    classes = _classes(estimator) if _is_classifier(estimator) else None
    kind: Output = "score"
    out = OutputSpec(scale_den=2**bits)
    if classes is not None:
        if len(classes) == 2 and coef.shape[0] == 1:
            head: Op = Threshold((1,), 1)
        elif len(classes) == coef.shape[0]:
            head = Argmax((1,))
        else:
            raise ImporterError(f"{name}: {len(classes)} classes but {coef.shape[0]} outputs")
        if output == "class":
            ops.append(head)
            kind = "class"
            out = OutputSpec(labels=class_labels(classes))
        elif coef.shape[0] == len(classes):
            out = OutputSpec(labels=class_labels(classes), scale_den=2**bits)
    model = Model(input=spec, ops=tuple(ops), output=out, name=f"sklearn {name} (aivm importer)")
    return finish(model, kind, classes if kind == "class" else None)


def _weight_bits(
    coef: npt.NDArray[np.float64],
    intercept: npt.NDArray[np.float64],
    digits: tuple[int, ...],
    bound: int,
    requested: int | None,
) -> int:
    """The output scale ``k``: as requested, or the largest with ``|Y| <= 2**62`` provable."""

    def reach(k: int) -> int:
        worst = 0
        for row, b in zip(coef, intercept, strict=True):
            total = sum(
                abs(round(Fraction(float(w)) * 2**k / 10**d))
                for w, d in zip(row, digits, strict=True)
            )
            worst = max(worst, total * bound + abs(round(Fraction(float(b)) * 2**k)))
        return worst

    if requested is not None:
        if not isinstance(requested, int) or not 0 <= requested <= 62:
            raise ImporterError(f"weight_scale_bits must be an int in 0..62, got {requested!r}")
        if reach(requested) > MAX_FIXED:
            raise ImporterError(
                f"weight_scale_bits={requested} may overflow over inputs of ±{bound}"
            )
        return requested
    scaled = max(
        float(np.sum(np.abs(row) / np.array([10.0**d for d in digits]))) * bound + abs(float(b))
        for row, b in zip(coef, intercept, strict=True)
    )
    k = 62 if scaled == 0 else max(0, min(62, math.floor(math.log2(MAX_FIXED / scaled))))
    while k > 0 and reach(k) > MAX_FIXED:
        k -= 1
    if reach(k) > MAX_FIXED:
        raise ImporterError("the linear model overflows even unscaled; lower input_bound")
    return k
