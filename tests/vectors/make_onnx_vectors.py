"""Write the ONNX importer golden vectors (run once; the files are committed).

    .venv/bin/python tests/vectors/make_onnx_vectors.py

Small MLPs (8-16-3, seed-fixed weights made with ``onnx.helper``) imported by
:func:`aivm.ai.importers.onnx.from_onnx`: quantized by onnxruntime (QDQ, QOperator), quantized
by the importer from calibration rows (float ReLU and sigmoid networks), each run on eight
held-out rows quantized exactly like the chain. onnxruntime's quantizer depends on its version,
so the stored artifacts (not this script) are the reference; the check needs no ML library.
"""

from __future__ import annotations

import itertools
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantFormat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import onnx_fixtures
from aivm.ai.importers.onnx import from_onnx
from vector_files import write_vector

ROWS = 8
SIZES = (8, 16, 3)


def mlp(activation: str) -> onnx.ModelProto:
    """A seed-fixed float MLP 8-16-3 with ``activation`` and a final Softmax."""
    rng = np.random.default_rng(7)
    layers = [
        (rng.normal(0, 1.5 / np.sqrt(a), (a, b)), rng.normal(0, 0.2, b))
        for a, b in itertools.pairwise(SIZES)
    ]
    if activation == "Sigmoid":  # hidden values are around 0.5: center the last layer
        w, b = layers[-1]
        layers[-1] = (4 * w, b - 2 * w.sum(axis=0))
    return onnx_fixtures.mlp_proto(layers, [activation], softmax=True)


def quantized(proto: onnx.ModelProto, calibration: np.ndarray, fmt: QuantFormat) -> onnx.ModelProto:
    """onnxruntime static quantization (int8 activations, per-channel int8 weights)."""
    with tempfile.TemporaryDirectory() as tmp:
        return onnx_fixtures.quantized(proto, calibration, Path(tmp), fmt)


def varied_rows(proto: onnx.ModelProto, pool: np.ndarray) -> np.ndarray:
    """ROWS rows of ``pool``, taking the classes of the float model in turn."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    classes = np.argmax(session.run(None, {"x": pool.astype(np.float32)})[0], axis=1)
    picked: list[int] = []
    for k in itertools.cycle(range(SIZES[-1])):
        candidates = [i for i in np.nonzero(classes == k)[0] if i not in picked]
        if candidates:
            picked.append(int(candidates[0]))
        if len(picked) == ROWS or not any(i not in picked for i in range(len(pool))):
            break
    return pool[picked]


def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    rng = np.random.default_rng(11)
    calibration = rng.normal(size=(200, SIZES[0])).round(3)
    pool = rng.normal(size=(400, SIZES[0])).round(3)
    cases = [
        ("onnx_qdq_mlp", quantized(mlp("Relu"), calibration, QuantFormat.QDQ), None, "QDQ"),
        (
            "onnx_qoperator_mlp",
            quantized(mlp("Relu"), calibration, QuantFormat.QOperator),
            None,
            "QOperator",
        ),
        ("onnx_float_calibrated_mlp", mlp("Relu"), calibration, "float ReLU + calibration"),
        ("onnx_sigmoid_mlp", mlp("Sigmoid"), calibration, "float sigmoid + calibration"),
    ]
    for name, proto, calib, what in cases:
        imported = from_onnx(proto, calibration=calib)
        rows = varied_rows(mlp("Sigmoid" if "sigmoid" in name else "Relu"), pool)
        inputs = imported.quantize(rows).tolist()
        source = (
            f"from_onnx: MLP 8-16-3 ({what}), int8, argmax; "
            "8 N(0,1) rows (3 decimals) covering the classes"
        )
        vector = write_vector(name, imported.model, inputs, source)
        print(f"{name}: {len(vector.artifact)} bytes, output {[r[0] for r in vector.output]}")


if __name__ == "__main__":
    main()
