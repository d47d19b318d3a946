"""LightGBM → DSM: ``LGBMClassifier``, ``LGBMRegressor`` (any ``LGBMModel``) or a ``Booster``.

The model is read with ``booster.dump_model()``: per tree a nested ``tree_structure`` whose
inner nodes carry ``split_feature``, ``threshold`` (float64), ``decision_type`` (``<=``),
``left_child``/``right_child`` and whose leaves carry ``leaf_value``. Trees are laid out
iteration by iteration, ``num_tree_per_iteration`` per iteration (tree ``i`` adds to output
``i % num_tree_per_iteration``); LightGBM folds its initial score into the first trees, so the
base is 0. ``average_output`` (random-forest mode) divides by the number of iterations.

LightGBM compares ``float64(x) <= t``; the integer split is ``q <= floor(t * 10**d)``
(see :mod:`aivm.ai.importers.trees`). NaN inputs are not supported; a split with
``missing_type == "Zero"`` (``zero_as_missing``) sends 0 to its default side, which the DSM can
represent only when that is the side ``0 <= t`` picks anyway — otherwise it is rejected.
Categorical splits (``decision_type == "=="``) and linear trees are rejected.

``output="class"``: ``binary`` → ``Threshold(1)`` on the raw score (class 1 iff ``> 0`` ⇔
``p > 0.5``); ``multiclass``/``multiclassova`` → ``Argmax``. Other objectives output the raw
score (for log-link objectives such as ``poisson`` the prediction is ``exp(score)``). Like
``predict``, a model with a ``best_iteration`` is imported up to it.
"""

from __future__ import annotations

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
from aivm.ai.importers.trees import LIGHTGBM, Head, RawTree, tree_model


def from_lightgbm(
    model: Any,
    *,
    decimals: int | Sequence[int] = DEFAULT_DECIMALS,
    leaf_scale_bits: int = DEFAULT_LEAF_SCALE_BITS,
    output: Output = "class",
    feature_names: Sequence[str] | None = None,
    input_bound: int = DEFAULT_INPUT_BOUND,
) -> ImportedModel:
    """Import a fitted LightGBM model (``LGBMModel`` or ``Booster``) as a DSM model.

    Arguments as in :func:`aivm.ai.importers.sklearn.from_sklearn`; ``feature_names``
    defaults to the model's own names unless they are LightGBM's ``Column_<i>`` placeholders.
    Raises :class:`~aivm.ai.importers.common.ImporterError`.
    """
    import lightgbm

    kind = check_output(output)
    classes: npt.NDArray[Any] | None = None
    if isinstance(model, lightgbm.LGBMModel):
        try:
            booster = model.booster_
        except (ValueError, AttributeError) as err:  # sklearn's NotFittedError
            raise ImporterError(f"{type(model).__name__} is not fitted") from err
        if isinstance(model, lightgbm.LGBMClassifier):
            classes = np.asarray(model.classes_)
    elif isinstance(model, lightgbm.Booster):
        booster = model
    else:
        raise ImporterError(f"{type(model).__name__} is not a LightGBM model or Booster")
    dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split(" ")[0]
    per_iteration = int(dump["num_tree_per_iteration"])
    width = int(dump["max_feature_idx"]) + 1
    infos = dump["tree_info"]
    if not infos:
        raise ImporterError("the LightGBM model has no trees")
    trees = [_tree(info, i % per_iteration, per_iteration) for i, info in enumerate(infos)]
    divisor = len(infos) // per_iteration if dump.get("average_output") else 1
    if objective == "binary":
        head: Head = "threshold"
        if classes is None:
            classes = np.arange(2)
    elif objective in ("multiclass", "multiclassova"):
        head = "argmax"
        if classes is None:
            classes = np.arange(per_iteration)
    else:
        head, classes = "score", None
    names = dump.get("feature_names") or []
    if feature_names is None and names and names != [f"Column_{i}" for i in range(width)]:
        feature_names = [str(n) for n in names]
    return tree_model(
        trees,
        [0.0] * per_iteration,
        width=width,
        head=head,
        output=kind,
        classes=classes,
        decimals=decimals,
        leaf_scale_bits=leaf_scale_bits,
        input_bound=input_bound,
        feature_names=feature_names,
        rule=LIGHTGBM,
        name=f"lightgbm {objective or 'custom'} (aivm importer)",
        score_divisor=divisor,
    )


def _tree(info: dict[str, Any], column: int, columns: int) -> RawTree:
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    leaf: list[float] = []

    def add(node: dict[str, Any]) -> int:
        me = len(left)
        left.append(-1)
        right.append(-1)
        feature.append(0)
        threshold.append(0.0)
        leaf.append(0.0)
        if "leaf_value" in node:
            if node.get("leaf_coeff"):
                raise ImporterError("LightGBM linear trees are not supported")
            leaf[me] = float(node["leaf_value"])  # shrinkage already applied
            return me
        if node.get("decision_type", "<=") != "<=":
            raise ImporterError("LightGBM categorical splits are not supported")
        t = float(node["threshold"])
        if node.get("missing_type") == "Zero" and bool(node.get("default_left")) != (t >= 0.0):
            raise ImporterError(
                "LightGBM zero-as-missing split sends 0 against its threshold; not supported"
            )
        feature[me] = int(node["split_feature"])
        threshold[me] = t
        left[me] = add(node["left_child"])
        right[me] = add(node["right_child"])
        return me

    add(info["tree_structure"])
    value = np.zeros((len(left), columns))
    value[:, column] = leaf
    return RawTree(
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float64),
        value=value,
    )
