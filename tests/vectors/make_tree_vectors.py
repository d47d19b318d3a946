"""Write the importer golden vectors (run once; the files are committed).

    .venv/bin/python tests/vectors/make_tree_vectors.py

One small vector per importer and model kind: a model trained with fixed seeds on a tiny
synthetic set (features rounded to three decimals), imported, and run on eight held-out rows
quantized exactly like the chain. Training depends on library versions, so the stored
artifacts (not this script) are the reference; the vector check needs no ML library.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightgbm
import xgboost
from sklearn import ensemble, linear_model, tree
from sklearn.datasets import make_classification, make_regression

from aivm.ai.importers.files import import_model
from vector_files import write_vector

DECIMALS = 3
ROWS = 8


def data(task: str) -> tuple[Any, Any, Any]:
    """Training features, labels and the eight held-out rows (rounded to DECIMALS)."""
    if task == "regression":
        X, y = make_regression(408, 5, n_informative=4, noise=1.0, random_state=5)
    else:
        classes = 2 if task == "binary" else 3
        X, y = make_classification(
            408, 5, n_informative=3, n_redundant=1, n_classes=classes, random_state=5
        )
    X = np.round(X, DECIMALS)
    return X[:400], y[:400], X[400:]


VECTORS: list[tuple[str, str, Callable[[], Any]]] = [
    ("sklearn_logreg_binary", "binary", lambda: linear_model.LogisticRegression()),
    ("sklearn_logreg_multinomial", "multiclass", lambda: linear_model.LogisticRegression()),
    ("sklearn_linear_regression", "regression", lambda: linear_model.LinearRegression()),
    (
        "sklearn_tree_multiclass",
        "multiclass",
        lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=0),
    ),
    (
        "sklearn_rf_binary",
        "binary",
        lambda: ensemble.RandomForestClassifier(4, max_depth=3, random_state=0),
    ),
    (
        "sklearn_gbdt_binary",
        "binary",
        lambda: ensemble.GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0),
    ),
    (
        "sklearn_hgb_multiclass",
        "multiclass",
        lambda: ensemble.HistGradientBoostingClassifier(max_iter=4, max_depth=3, random_state=0),
    ),
    (
        "sklearn_hgb_regression",
        "regression",
        lambda: ensemble.HistGradientBoostingRegressor(max_iter=4, max_depth=3, random_state=0),
    ),
    (
        "xgboost_binary",
        "binary",
        lambda: xgboost.XGBClassifier(n_estimators=5, max_depth=2, random_state=0),
    ),
    (
        "xgboost_multiclass",
        "multiclass",
        lambda: xgboost.XGBClassifier(n_estimators=3, max_depth=2, random_state=0),
    ),
    (
        "lightgbm_binary",
        "binary",
        lambda: lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1, random_state=0),
    ),
    (
        "lightgbm_regression",
        "regression",
        lambda: lightgbm.LGBMRegressor(n_estimators=5, num_leaves=4, verbose=-1, random_state=0),
    ),
]


def main() -> None:
    """Write every importer vector."""
    for name, task, make in VECTORS:
        X, y, held_out = data(task)
        estimator = make().fit(X, y)
        imported = import_model(estimator, decimals=DECIMALS)
        rows = [[int(v) for v in row] for row in imported.quantize(held_out)]
        assert len(imported.artifact) < 200_000, name
        source = (
            f"{type(estimator).__module__.split('.')[0]} {type(estimator).__name__} "
            f"({task}, seed 5, {DECIMALS} decimals) via aivm.ai.importers; "
            f"{len(imported.model.ops)} op(s), output {imported.output}"
        )
        write_vector(name, imported.model, rows, source)
        print(f"{name}: {len(imported.artifact)} bytes")


if __name__ == "__main__":
    main()
