"""Import a trained model from a file (what ``aivm ai import`` runs) or from memory: pick the
importer for it.

``import_model`` dispatches an in-memory model on its library. Files are recognised by suffix
(or forced with ``kind``):

- ``.onnx`` → :func:`aivm.ai.importers.onnx.from_onnx` (float models need ``calibration``, a
  CSV of input rows without header);
- ``.joblib``, ``.pkl``, ``.pickle`` → a scikit-learn, XGBoost or LightGBM estimator saved with
  joblib/pickle (only load files you trust: unpickling runs code);
- ``.json``, ``.ubj`` → an XGBoost model saved with ``save_model``;
- ``.txt`` → a LightGBM model saved with ``save_model``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aivm.ai.importers.common import ImportedModel, ImporterError

SUFFIXES = {
    ".onnx": "onnx",
    ".joblib": "pickle",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".json": "xgboost",
    ".ubj": "xgboost",
    ".txt": "lightgbm",
}


def import_model(obj: Any, **kwargs: Any) -> ImportedModel:
    """Import any supported model: dispatch on its library (scikit-learn, XGBoost, LightGBM).

    Keyword arguments are passed to :func:`~aivm.ai.importers.sklearn.from_sklearn`,
    :func:`~aivm.ai.importers.xgboost.from_xgboost` or
    :func:`~aivm.ai.importers.lightgbm.from_lightgbm`.
    """
    module = type(obj).__module__.split(".")[0]
    if module == "sklearn":
        from aivm.ai.importers.sklearn import from_sklearn

        return from_sklearn(obj, **kwargs)
    if module == "xgboost":
        from aivm.ai.importers.xgboost import from_xgboost

        return from_xgboost(obj, **kwargs)
    if module == "lightgbm":
        from aivm.ai.importers.lightgbm import from_lightgbm

        return from_lightgbm(obj, **kwargs)
    raise ImporterError(f"no importer for {type(obj).__module__}.{type(obj).__name__}")


def import_file(
    path: Path, kind: str = "auto", decimals: int = 6, calibration: Path | None = None
) -> ImportedModel:
    """Load ``path`` and convert it to a DSM model."""
    if not path.is_file():
        raise ImporterError(f"{path} is not a file")
    if kind == "auto":
        kind = SUFFIXES.get(path.suffix.lower(), "")
        if not kind:
            raise ImporterError(
                f"cannot tell the model type of {path.name}; pass --kind "
                "(sklearn|xgboost|lightgbm|onnx)"
            )
    if kind == "onnx":
        from aivm.ai.importers.onnx import from_onnx

        rows = None if calibration is None else np.loadtxt(calibration, delimiter=",", ndmin=2)
        imported: ImportedModel = from_onnx(str(path), calibration=rows)
        return imported
    return import_model(_load(path, kind), decimals=decimals)


def _load(path: Path, kind: str) -> Any:
    if kind in ("pickle", "sklearn"):
        import joblib

        return joblib.load(path)
    if kind == "xgboost":
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(str(path))
        return booster
    if kind == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_file=str(path))
    raise ImporterError(f"unknown model kind {kind!r}")
