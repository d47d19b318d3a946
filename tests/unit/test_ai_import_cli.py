"""``aivm ai import`` and ``aivm ai run`` on model files (no node needed)."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

from aivm.ai import runtime
from cli_runner import Run
from onnx_fixtures import build_mnist_like_mlp, mnist_like_data


def test_import_sklearn_file_and_run(tmp_path: Path, offline_run: Run) -> None:
    x, y = make_classification(n_samples=400, n_features=5, random_state=0)
    x = x.round(2)
    model = GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0).fit(x, y)
    joblib.dump(model, tmp_path / "model.joblib")
    out_file = tmp_path / "model.dsm"
    code, out, err = offline_run(
        "ai",
        "import",
        str(tmp_path / "model.joblib"),
        "--out",
        str(out_file),
        "--decimals",
        "2",
        "-o",
        "json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["inputs"] == "5" and out_file.stat().st_size == int(report["bytes"])
    runtime.load(out_file.read_bytes())
    row = ",".join(f"{v:.2f}" for v in x[0])
    # values may start with '-': they go after `--`
    code, out, err = offline_run("ai", "run", "-o", "json", str(out_file), "--", row)
    assert code == 0, err
    assert json.loads(out)["output"] == [int(model.predict(x[:1])[0])]


def test_import_float_onnx_with_calibration(tmp_path: Path, offline_run: Run) -> None:
    proto = build_mnist_like_mlp(seed=0, sizes=(16, 8, 3))
    (tmp_path / "mlp.onnx").write_bytes(proto.SerializeToString())
    calibration, _ = mnist_like_data(0, 64, 16, 3)
    np.savetxt(tmp_path / "calib.csv", calibration, delimiter=",")
    code, out, err = offline_run(
        "ai",
        "import",
        str(tmp_path / "mlp.onnx"),
        "--out",
        str(tmp_path / "mlp.dsm"),
        "--calibration",
        str(tmp_path / "calib.csv"),
        "-o",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["inputs"] == "16"


def test_import_errors_are_clear(tmp_path: Path, offline_run: Run) -> None:
    (tmp_path / "model.bin").write_bytes(b"junk")
    code, _, err = offline_run(
        "ai",
        "import",
        str(tmp_path / "model.bin"),
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 1 and "--kind" in err
    (tmp_path / "mlp.onnx").write_bytes(
        build_mnist_like_mlp(seed=0, sizes=(16, 8, 3)).SerializeToString()
    )
    code, _, err = offline_run(
        "ai",
        "import",
        str(tmp_path / "mlp.onnx"),
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 1 and "calibration" in err
    code, _, err = offline_run("ai", "run", str(tmp_path / "model.bin"), "1")
    assert code == 1 and "invalid model artifact" in err
