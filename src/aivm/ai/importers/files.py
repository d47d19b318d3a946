"""Import a trained model from a file (what ``aivm ai import`` runs).

Recognised by suffix (or forced with ``kind``):

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

from aivm.ai.importers.common import ImportedModel, ImporterError, import_model

SUFFIXES = {
    ".onnx": "onnx",
    ".joblib": "pickle",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".json": "xgboost",
    ".ubj": "xgboost",
    ".txt": "lightgbm",
}


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
