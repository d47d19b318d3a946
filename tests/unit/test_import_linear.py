"""Linear importers (scikit-learn): ``Dense`` + ``Threshold``/``Argmax``, or a ``Dense`` score.

Fixed seeds, features rounded to the declared decimals; the DSM decisions must equal the float
model's on >= 99.5% of a held-out set and scores must stay within the documented fixed-point
error bound ``(1 + sum |q_i|) / 2**(k+1)`` (plus float noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import linear_model, svm
from sklearn.datasets import make_classification, make_regression

from aivm.ai import runtime
from aivm.ai.importers.common import ImporterError
from aivm.ai.importers.files import import_model
from aivm.ai.importers.sklearn import from_sklearn
from aivm.ai.runtime.model import Argmax, Dense, Threshold

DECIMALS = 4
MIN_AGREEMENT = 0.995


def classification(classes: int) -> tuple[Any, Any, Any, Any]:
    X, y = make_classification(
        1500, 10, n_informative=6, n_redundant=2, n_classes=classes, random_state=11
    )
    X = np.round(X, DECIMALS)
    return X[:800], X[800:], y[:800], y[800:]


def regression(targets: int = 1) -> tuple[Any, Any, Any, Any]:
    X, y = make_regression(1200, 10, n_informative=6, n_targets=targets, noise=2.0, random_state=11)
    X = np.round(X, DECIMALS)
    return X[:800], X[800:], y[:800], y[800:]


def score_bound(imported: Any, X: Any) -> float:
    """The documented worst-case error of the fixed-point score for rows ``X``."""
    dense = imported.model.ops[0]
    assert isinstance(dense, Dense)
    k = int(imported.model.output.scale_den).bit_length() - 1
    q = np.abs(imported.quantize(X)).sum(axis=1).max()
    return float((1 + q) / 2 ** (k + 1)) + 1e-9


@pytest.mark.parametrize(
    "make",
    [
        lambda: linear_model.LogisticRegression(max_iter=1000),
        lambda: linear_model.RidgeClassifier(),
        lambda: linear_model.SGDClassifier(random_state=0),
        lambda: svm.LinearSVC(random_state=0),
    ],
    ids=["logreg", "ridge_classifier", "sgd", "linear_svc"],
)
@pytest.mark.parametrize("classes", [2, 4])
def test_linear_classifier_decisions_agree(make: Any, classes: int) -> None:
    X_train, X_test, y_train, _ = classification(classes)
    estimator = make().fit(X_train, y_train)
    imported = import_model(estimator, decimals=DECIMALS)
    assert runtime.serialize(runtime.parse(imported.artifact)) == imported.artifact
    ops = imported.model.ops
    assert isinstance(ops[0], Dense)
    assert isinstance(ops[1], Threshold if classes == 2 else Argmax)
    agreement = float(np.mean(imported.predict(X_test) == estimator.predict(X_test)))
    assert agreement >= MIN_AGREEMENT, agreement
    assert imported.model.output.labels == tuple(str(c) for c in range(classes))


@pytest.mark.parametrize("classes", [2, 3])
def test_logistic_score_is_the_logit(classes: int) -> None:
    X_train, X_test, y_train, _ = classification(classes)
    estimator = linear_model.LogisticRegression(max_iter=1000).fit(X_train, y_train)
    imported = from_sklearn(estimator, decimals=DECIMALS, output="score")
    assert len(imported.model.ops) == 1
    expected = estimator.decision_function(X_test)
    error = float(np.max(np.abs(imported.predict(X_test) - expected)))
    assert error <= score_bound(imported, X_test)


def test_threshold_decides_strictly_positive_logits() -> None:
    """A zero logit is class 0 (sklearn: ``decision > 0``); the smallest positive one is 1."""
    model = linear_model.LogisticRegression()
    model.classes_ = np.array(["no", "yes"])
    model.coef_ = np.array([[1.0, -1.0]])
    model.intercept_ = np.array([0.0])
    model.n_features_in_ = 2
    imported = from_sklearn(model, decimals=2)
    assert imported.predict([["1.5", "1.5"], ["1.51", "1.5"], ["1.5", "1.51"]]).tolist() == [
        "no",
        "yes",
        "no",
    ]
    assert imported.model.output.labels == ("no", "yes")


@pytest.mark.parametrize(
    "make",
    [
        linear_model.LinearRegression,
        lambda: linear_model.Ridge(alpha=0.5),
        lambda: linear_model.Lasso(alpha=0.01),
        lambda: linear_model.ElasticNet(alpha=0.01),
    ],
    ids=["ols", "ridge", "lasso", "elasticnet"],
)
@pytest.mark.parametrize("targets", [1, 2])
def test_linear_regression_scores_agree(make: Any, targets: int) -> None:
    X_train, X_test, y_train, _ = regression(targets)
    estimator = make().fit(X_train, y_train)
    imported = from_sklearn(estimator, decimals=DECIMALS)
    assert runtime.serialize(runtime.parse(imported.artifact)) == imported.artifact
    expected = estimator.predict(X_test)
    got = imported.predict(X_test)
    assert got.shape == expected.shape
    assert float(np.max(np.abs(got - expected))) <= score_bound(imported, X_test)


def test_smaller_input_bound_buys_precision() -> None:
    X_train, X_test, y_train, _ = regression()
    estimator = linear_model.LinearRegression().fit(X_train, y_train)
    wide = from_sklearn(estimator, decimals=DECIMALS)
    narrow = from_sklearn(estimator, decimals=DECIMALS, input_bound=10**6)
    assert narrow.model.output.scale_den > wide.model.output.scale_den
    assert narrow.model.input.hi == 10**6
    expected = estimator.predict(X_test)
    assert np.max(np.abs(narrow.predict(X_test) - expected)) <= np.max(
        np.abs(wide.predict(X_test) - expected)
    )


def test_explicit_weight_scale() -> None:
    X_train, _, y_train, _ = classification(2)
    estimator = linear_model.LogisticRegression().fit(X_train, y_train)
    imported = from_sklearn(estimator, decimals=DECIMALS, weight_scale_bits=16, output="score")
    assert imported.model.output.scale_den == 2**16
    with pytest.raises(ImporterError, match="overflow"):
        from_sklearn(estimator, decimals=DECIMALS, weight_scale_bits=62)


def test_bad_linear_inputs_are_rejected() -> None:
    with pytest.raises(ImporterError, match="not fitted"):
        from_sklearn(linear_model.LogisticRegression())
    X_train, _, y_train, _ = classification(2)
    estimator = linear_model.LogisticRegression().fit(X_train, y_train)
    with pytest.raises(ImporterError, match="feature names"):
        from_sklearn(estimator, feature_names=["a"])
    with pytest.raises(ImporterError, match="decimals"):
        from_sklearn(estimator, decimals=-1)
    estimator.coef_[0, 0] = np.nan
    with pytest.raises(ImporterError, match="non-finite"):
        from_sklearn(estimator)
