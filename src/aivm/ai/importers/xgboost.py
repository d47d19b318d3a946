"""XGBoost → DSM: ``XGBClassifier``, ``XGBRegressor`` (any ``XGBModel``) or a ``Booster``.

The model is read from its JSON form (``booster.save_raw("json")``): per tree
``split_indices``, ``split_conditions`` (the float32 threshold at inner nodes, the leaf value
at leaves), ``left_children``/``right_children`` (``-1`` at leaves); ``tree_info`` gives the
class of each tree; ``learner_model_param.base_score`` the intercept (one value or one per
class).

XGBoost splits are strict: ``x < t`` goes left, comparing float32(x) with the float32
threshold; :func:`aivm.ai.importers.trees.int_threshold` turns that into the exactly
equivalent integer split ``q <= T`` (``T = ceil(t * 10**d) - 1`` up to the float32 cast of the
input). ``default_left`` is ignored: NaN inputs are not supported.

Objectives: the base score is turned into a margin by the objective's link — logit for
``binary:logistic``/``reg:logistic``, log for ``count:poisson``/``reg:gamma``/``reg:tweedie``,
identity otherwise (``binary:logitraw``, ``binary:hinge``, ``multi:*``, ``reg:*``).
``output="class"``: ``binary:*`` → ``Threshold(1)`` on the margin (class 1 iff margin ``> 0`` ⇔
``p > 0.5``); ``multi:softprob``/``multi:softmax`` → ``Argmax`` over the per-class sums. Any
other objective outputs the margin score (for log-link objectives the prediction is
``exp(score)``). An ``XGBModel`` fitted with early stopping is imported up to its
``best_iteration``, like its ``predict``; a bare ``Booster`` uses all trees, like
``Booster.predict``. Unsupported (clear error): ``gblinear``, ``dart``, categorical splits,
multi-target models, vector leaves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from aivm.ai.importers.common import (
    DEFAULT_DECIMALS,
    DEFAULT_INPUT_BOUND,
    DEFAULT_LEAF_SCALE_BITS,
    ImportedModel,
    ImporterError,
    Output,
    check_output,
)
from aivm.ai.importers.trees import XGBOOST, Head, RawTree, tree_model

_LOGIT = {"binary:logistic", "reg:logistic"}
_LOG = {"count:poisson", "reg:gamma", "reg:tweedie"}
_BINARY = {"binary:logistic", "binary:logitraw", "binary:hinge"}
_MULTI = {"multi:softprob", "multi:softmax"}


def from_xgboost(
    model: Any,
    *,
    decimals: int | Sequence[int] = DEFAULT_DECIMALS,
    leaf_scale_bits: int = DEFAULT_LEAF_SCALE_BITS,
    output: Output = "class",
    feature_names: Sequence[str] | None = None,
    input_bound: int = DEFAULT_INPUT_BOUND,
) -> ImportedModel:
    """Import a fitted XGBoost model (``XGBModel`` or ``Booster``) as a DSM model.

    Arguments as in :func:`aivm.ai.importers.sklearn.from_sklearn`; ``feature_names``
    defaults to the booster's. Raises :class:`~aivm.ai.importers.common.ImporterError`.
    """
    import xgboost

    kind = check_output(output)
    classes: npt.NDArray[Any] | None = None
    best: int | None = None
    if isinstance(model, xgboost.XGBModel):
        try:
            booster = model.get_booster()
        except (ValueError, AttributeError, xgboost.core.XGBoostError) as err:  # NotFittedError
            raise ImporterError(f"{type(model).__name__} is not fitted") from err
        if getattr(model, "classes_", None) is not None:
            classes = np.asarray(model.classes_)
        if booster.attr("best_iteration") is not None:
            best = int(booster.attr("best_iteration") or 0)
    elif isinstance(model, xgboost.Booster):
        booster = model
    else:
        raise ImporterError(f"{type(model).__name__} is not an XGBoost model or Booster")
    document = json.loads(bytes(booster.save_raw("json")))
    learner = document["learner"]
    params = learner["learner_model_param"]
    objective = str(learner["objective"]["name"])
    gbm = learner["gradient_booster"]
    if gbm["name"] != "gbtree":
        raise ImporterError(f"XGBoost booster {gbm['name']!r} is not supported (only gbtree)")
    if int(params.get("num_target", "1")) > 1:
        raise ImporterError("multi-target XGBoost models are not supported")
    width = int(params["num_feature"])
    num_class = int(params.get("num_class", "0"))
    columns = max(1, num_class)
    trees_json = gbm["model"]["trees"]
    tree_info = [int(c) for c in gbm["model"]["tree_info"]]
    if best is not None and "iteration_indptr" in gbm["model"]:
        end = int(gbm["model"]["iteration_indptr"][best + 1])
        trees_json, tree_info = trees_json[:end], tree_info[:end]
    trees = [_tree(t, column, columns) for t, column in zip(trees_json, tree_info, strict=True)]
    base = _base_margin(str(params["base_score"]), objective, columns)
    if objective in _BINARY:
        head: Head = "threshold"
        if classes is None:
            classes = np.arange(2)
    elif objective in _MULTI:
        head = "argmax"
        if classes is None:
            classes = np.arange(columns)
    else:
        head, classes = "score", None
    if feature_names is None and booster.feature_names is not None:
        feature_names = list(booster.feature_names)
    return tree_model(
        trees,
        base,
        width=width,
        head=head,
        output=kind,
        classes=classes,
        decimals=decimals,
        leaf_scale_bits=leaf_scale_bits,
        input_bound=input_bound,
        feature_names=feature_names,
        rule=XGBOOST,
        name=f"xgboost {objective} (aivm importer)",
    )


def _tree(tree: dict[str, Any], column: int, columns: int) -> RawTree:
    if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise ImporterError("XGBoost vector-leaf trees are not supported")
    if any(int(s) != 0 for s in tree.get("split_type", [])) or tree.get("categories_nodes"):
        raise ImporterError("XGBoost categorical splits are not supported")
    left = np.asarray(tree["left_children"], dtype=np.int64)
    conditions = np.asarray(tree["split_conditions"], dtype=np.float64)
    value = np.zeros((left.size, columns))
    value[:, column] = np.where(left < 0, conditions, 0.0)
    return RawTree(
        left=np.where(left < 0, -1, left),
        right=np.asarray(tree["right_children"], dtype=np.int64),
        feature=np.asarray(tree["split_indices"], dtype=np.int64),
        # split conditions are float32 values; make sure of it before comparing
        threshold=conditions.astype(np.float32).astype(np.float64),
        value=value,
    )


def _base_margin(text: str, objective: str, columns: int) -> list[float]:
    values = [float(v) for v in text.strip("[]").split(",") if v.strip()]
    if len(values) == 1:
        values = values * columns
    if len(values) != columns:
        raise ImporterError(f"base_score {text!r} does not match {columns} outputs")
    if objective in _LOGIT:
        if not all(0.0 < v < 1.0 for v in values):
            raise ImporterError(f"base_score {text!r} is not a probability")
        return [math.log(v / (1.0 - v)) for v in values]
    if objective in _LOG:
        if not all(v > 0.0 for v in values):
            raise ImporterError(f"base_score {text!r} is not positive")
        return [math.log(v) for v in values]
    return values
