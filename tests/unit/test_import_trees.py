"""Tree importers (scikit-learn, XGBoost, LightGBM): the DSM program decides like the library.

Every model is trained with fixed seeds on a small synthetic set whose features are rounded to
the declared decimals; the imported DSM program must give the float model's decisions on a
held-out set (>= 99.5%, in practice 100%) and its regression scores within a fixed-point
tolerance. Split thresholds are also probed exactly at their integer boundary ``T`` / ``T + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn import ensemble, tree
from sklearn.datasets import make_classification, make_regression
from sklearn.neighbors import KNeighborsClassifier

from aivm.ai import runtime
from aivm.ai.importers.common import ImportedModel, ImporterError
from aivm.ai.importers.files import import_model
from aivm.ai.importers.lightgbm import from_lightgbm
from aivm.ai.importers.sklearn import from_sklearn
from aivm.ai.importers.trees import LIGHTGBM, SKLEARN_TREE, XGBOOST, SplitRule, int_threshold
from aivm.ai.importers.xgboost import from_xgboost
from aivm.ai.runtime.model import Argmax, Threshold, TreeEnsemble
from aivm.types.errors import AivmError

DECIMALS = 3
MIN_AGREEMENT = 0.995


def _split(X: Any, y: Any) -> tuple[Any, Any, Any, Any]:
    X = np.round(X, DECIMALS)
    return X[:600], X[600:], y[:600], y[600:]


def classification(classes: int) -> tuple[Any, Any, Any, Any]:
    X, y = make_classification(
        1000, 6, n_informative=4, n_redundant=1, n_classes=classes, random_state=7
    )
    return _split(X, y)


def regression() -> tuple[Any, Any, Any, Any]:
    X, y = make_regression(1000, 6, n_informative=4, noise=3.0, random_state=7)
    return _split(X, y)


CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "sklearn_dt": lambda: tree.DecisionTreeClassifier(max_depth=6, random_state=0),
    "sklearn_rf": lambda: ensemble.RandomForestClassifier(20, max_depth=5, random_state=0),
    "sklearn_et": lambda: ensemble.ExtraTreesClassifier(20, max_depth=5, random_state=0),
    "sklearn_gbdt": lambda: ensemble.GradientBoostingClassifier(
        n_estimators=20, max_depth=3, random_state=0
    ),
    "sklearn_hgb": lambda: ensemble.HistGradientBoostingClassifier(
        max_iter=20, max_depth=4, random_state=0
    ),
    "xgboost": lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=0),
    "lightgbm": lambda: lightgbm.LGBMClassifier(
        n_estimators=20, num_leaves=8, random_state=0, verbose=-1
    ),
}
REGRESSORS: dict[str, Callable[[], Any]] = {
    "sklearn_dt": lambda: tree.DecisionTreeRegressor(max_depth=6, random_state=0),
    "sklearn_rf": lambda: ensemble.RandomForestRegressor(20, max_depth=5, random_state=0),
    "sklearn_gbdt": lambda: ensemble.GradientBoostingRegressor(n_estimators=20, random_state=0),
    "sklearn_hgb": lambda: ensemble.HistGradientBoostingRegressor(max_iter=20, random_state=0),
    "xgboost": lambda: xgboost.XGBRegressor(n_estimators=20, max_depth=3, random_state=0),
    "lightgbm": lambda: lightgbm.LGBMRegressor(n_estimators=20, random_state=0, verbose=-1),
}


def check_artifact(imported: ImportedModel) -> None:
    """The artifact is canonical: it parses back to the very same bytes."""
    parsed = runtime.parse(imported.artifact)
    assert runtime.serialize(parsed) == imported.artifact
    assert runtime.load(imported.artifact).model.input.width == imported.model.input.width


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_classifier_decisions_agree(kind: str, classes: int) -> None:
    X_train, X_test, y_train, _ = classification(classes)
    estimator = CLASSIFIERS[kind]().fit(X_train, y_train)
    imported = import_model(estimator, decimals=DECIMALS)
    check_artifact(imported)
    expected = estimator.predict(X_test)
    agreement = float(np.mean(imported.predict(X_test) == expected))
    assert agreement >= MIN_AGREEMENT, f"{kind}: {agreement:.4f}"
    head = imported.model.ops[-1]
    assert isinstance(head, Threshold | Argmax)
    assert imported.model.output.labels == tuple(str(c) for c in np.unique(y_train))
    assert set(imported.run(X_test)[:, 0]) <= set(range(classes))


@pytest.mark.parametrize("kind", sorted(REGRESSORS))
def test_regressor_scores_agree(kind: str) -> None:
    X_train, X_test, y_train, _ = regression()
    estimator = REGRESSORS[kind]().fit(X_train, y_train)
    imported = import_model(estimator, decimals=DECIMALS, output="class")  # regressors: score
    check_artifact(imported)
    assert isinstance(imported.model.ops[-1], TreeEnsemble)
    expected = estimator.predict(X_test)
    # leaves are rounded to 2**-24 each; XGBoost itself sums in float32 (~1e-7 relative)
    tolerance = 1e-6 * (1.0 + float(np.max(np.abs(expected))))
    assert float(np.max(np.abs(imported.predict(X_test) - expected))) <= tolerance


@pytest.mark.parametrize(
    ("kind", "margin"),
    [
        ("sklearn_gbdt", lambda e, X: e.decision_function(X)),
        ("sklearn_hgb", lambda e, X: e.decision_function(X)),
        ("xgboost", lambda e, X: e.predict(X, output_margin=True)),
        ("lightgbm", lambda e, X: e.predict(X, raw_score=True)),
    ],
)
@pytest.mark.parametrize("classes", [2, 3])
def test_score_output_is_the_margin(kind: str, margin: Any, classes: int) -> None:
    X_train, X_test, y_train, _ = classification(classes)
    estimator = CLASSIFIERS[kind]().fit(X_train, y_train)
    imported = import_model(estimator, decimals=DECIMALS, output="score", leaf_scale_bits=30)
    assert imported.model.output.scale_den == 2**30
    expected = np.asarray(margin(estimator, X_test), dtype=np.float64)
    assert imported.predict(X_test).shape == expected.shape
    assert float(np.max(np.abs(imported.predict(X_test) - expected))) <= 1e-5


def test_forest_score_output_is_the_mean_probability() -> None:
    X_train, X_test, y_train, _ = classification(3)
    forest = CLASSIFIERS["sklearn_rf"]().fit(X_train, y_train)
    imported = from_sklearn(forest, decimals=DECIMALS, output="score")
    assert imported.model.output.scale_den == 2**24 * 20
    diff = imported.predict(X_test) - forest.predict_proba(X_test)
    assert float(np.max(np.abs(diff))) <= 2**-24


def _boundary_rows(imported: ImportedModel, base: Any, decimals: int) -> list[list[str]]:
    """Rows whose split feature sits exactly at an integer threshold T or at T + 1."""
    ensemble = imported.model.ops[0]
    assert isinstance(ensemble, TreeEnsemble)
    spec = imported.model.input
    scale = 10**decimals
    rows = []
    inner = np.flatnonzero(ensemble.left != np.arange(ensemble.left.size))
    for n, node in enumerate(inner):
        f, t = int(ensemble.feature[node]), int(ensemble.threshold[node])
        for q in (t, t + 1):
            if spec.lo <= q <= spec.hi:
                row = [f"{v:.{decimals}f}" for v in base[n % len(base)]]
                sign = "-" if q < 0 else ""
                row[f] = f"{sign}{abs(q) // scale}.{abs(q) % scale:0{decimals}d}"
                rows.append(row)
    return rows


@pytest.mark.parametrize("kind", ["sklearn_dt", "sklearn_rf", "sklearn_hgb", "xgboost", "lightgbm"])
def test_thresholds_are_exact_at_the_boundary(kind: str) -> None:
    """Six decimals on features of magnitude ~1000: finer than float32, so the float32 cast of
    sklearn trees and XGBoost matters; every probed boundary must decide like the library."""
    X, y = make_classification(800, 4, n_informative=3, n_redundant=0, random_state=3)
    X = np.round(X * 700, 6)
    estimator = CLASSIFIERS[kind]().fit(X[:500], y[:500])
    imported = import_model(estimator, decimals=6)
    rows = _boundary_rows(imported, X[500:], 6)
    assert len(rows) > 20
    floats = np.array([[float(v) for v in row] for row in rows])
    assert np.array_equal(imported.predict(rows), estimator.predict(floats))


def test_int_threshold() -> None:
    lo, hi = -(2**40), 2**40
    le64 = SplitRule(float32=False, strict=False)
    lt64 = SplitRule(float32=False, strict=True)
    assert int_threshold(0.5, 10, le64, lo, hi) == 5
    assert int_threshold(0.5, 10, lt64, lo, hi) == 4
    assert int_threshold(0.55, 10, le64, lo, hi) == 5
    assert int_threshold(-0.55, 10, le64, lo, hi) == -6
    assert int_threshold(-0.55, 10, lt64, lo, hi) == -6
    assert int_threshold(1e300, 10, LIGHTGBM, lo, hi) == hi
    assert int_threshold(-1e300, 10, LIGHTGBM, lo, hi) == lo - 1
    assert int_threshold(float("inf"), 10, XGBOOST, lo, hi) == hi
    with pytest.raises(ImporterError):
        int_threshold(float("nan"), 10, XGBOOST, lo, hi)
    # near 1000 float32 steps are ~6.1e-5: five-decimal inputs collapse onto few float32s
    t = 1000.00004
    q = int_threshold(t, 10**5, SKLEARN_TREE, lo, hi)
    assert float(np.float32(q / 10**5)) <= t < float(np.float32((q + 1) / 10**5))
    assert q == 100000003  # 1000.00003 casts to 1000.0, 1000.00004 to 1000.000061
    assert int_threshold(t, 10**5, le64, lo, hi) == 100000004
    assert int_threshold(t, 10**5, XGBOOST, lo, hi) == 100000003


def test_artifact_is_small_and_named() -> None:
    X_train, _, y_train, _ = classification(2)
    estimator = CLASSIFIERS["sklearn_gbdt"]().fit(X_train, y_train)
    imported = from_sklearn(estimator, decimals=[3, 3, 2, 2, 1, 0], feature_names=list("abcdef"))
    assert imported.model.input.scale_num == (1000, 1000, 100, 100, 10, 1)
    assert imported.model.input.names == tuple("abcdef")
    assert len(imported.artifact) < 200_000
    assert "GradientBoostingClassifier" in imported.model.name


def test_quantize_matches_the_chain() -> None:
    X_train, _, y_train, _ = classification(2)
    imported = from_sklearn(CLASSIFIERS["sklearn_dt"]().fit(X_train, y_train), decimals=2)
    assert imported.quantize([[0.125, -0.135, 1, "2.5", 0.1, 1e-7]]).tolist() == [
        [12, -14, 100, 250, 10, 0]
    ]
    with pytest.raises(AivmError, match="not a decimal"):
        imported.quantize([[float("nan"), 0, 0, 0, 0, 0]])
    with pytest.raises(AivmError, match="outside"):
        imported.quantize([[1e12, 0, 0, 0, 0, 0]])


def test_unsupported_and_unfitted_models_are_rejected() -> None:
    X_train, _, y_train, _ = classification(2)
    with pytest.raises(ImporterError, match="unsupported"):
        from_sklearn(KNeighborsClassifier().fit(X_train, y_train))
    with pytest.raises(ImporterError, match="no importer"):
        import_model(object())
    with pytest.raises(ImporterError, match="not fitted"):
        from_sklearn(ensemble.RandomForestClassifier())
    with pytest.raises(ImporterError, match="not fitted"):
        from_xgboost(xgboost.XGBClassifier())
    with pytest.raises(ImporterError, match="not fitted"):
        from_lightgbm(lightgbm.LGBMClassifier())
    with pytest.raises(ImporterError, match="not an XGBoost"):
        from_xgboost(tree.DecisionTreeClassifier())
    with pytest.raises(ImporterError, match="output"):
        from_sklearn(CLASSIFIERS["sklearn_dt"]().fit(X_train, y_train), output="proba")  # type: ignore[arg-type]
    with pytest.raises(ImporterError, match="decimals"):
        from_sklearn(CLASSIFIERS["sklearn_dt"]().fit(X_train, y_train), decimals=[2, 2])
    with pytest.raises(ImporterError, match="multi-output"):
        from_sklearn(tree.DecisionTreeClassifier().fit(X_train, np.c_[y_train, y_train]))


def test_categorical_splits_are_rejected() -> None:
    rng = np.random.default_rng(0)
    X = np.c_[rng.integers(0, 5, 400), rng.normal(size=400)]
    y = (X[:, 0] % 2 == 1).astype(int) ^ (X[:, 1] > 0)
    hgb = ensemble.HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(X, y)
    with pytest.raises(ImporterError, match="categorical"):
        from_sklearn(hgb)
    lgbm = lightgbm.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1)
    lgbm.fit(X, y, categorical_feature=[0])
    with pytest.raises(ImporterError, match="categorical"):
        from_lightgbm(lgbm)
    dtrain = xgboost.DMatrix(X, y, feature_types=["c", "q"], enable_categorical=True)
    booster = xgboost.train({"max_depth": 2, "max_cat_to_onehot": 1}, dtrain, 3)
    with pytest.raises(ImporterError, match="categorical"):
        from_xgboost(booster)


def test_bare_boosters_import() -> None:
    X_train, X_test, y_train, _ = classification(3)
    xgb = CLASSIFIERS["xgboost"]().fit(X_train, y_train)
    from_booster = from_xgboost(xgb.get_booster(), decimals=DECIMALS)
    assert np.array_equal(from_booster.predict(X_test), xgb.predict(X_test))
    lgb = CLASSIFIERS["lightgbm"]().fit(X_train, y_train)
    from_lgb_booster = from_lightgbm(lgb.booster_, decimals=DECIMALS)
    assert np.array_equal(from_lgb_booster.predict(X_test), lgb.predict(X_test))
