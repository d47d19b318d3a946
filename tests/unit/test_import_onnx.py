"""ONNX importer: quantized (QDQ, QOperator) and float+calibration MLPs against onnxruntime."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantFormat, QuantType

from aivm.ai import runtime
from aivm.ai.importers.common import ImportedModel, ImporterError
from aivm.ai.importers.onnx import from_onnx, quantize_floats
from aivm.ai.importers.quantize import quantize_multiplier
from onnx_fixtures import build_mnist_like_mlp, mnist_like_data, quantized

logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice


def small_mlp(
    seed: int, sizes: tuple[int, ...], act: str = "Relu", gemm: bool = False, softmax: bool = False
) -> onnx.ModelProto:
    """A random float MLP made with onnx.helper (Gemm or MatMul+Add layers)."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        w = rng.normal(0, 1.5 / np.sqrt(a), (a, b)).astype(np.float32)
        bias = rng.normal(0, 0.2, b).astype(np.float32)
        if gemm:
            inits += [numpy_helper.from_array(w.T.copy(), f"W{i}")]
            inits += [numpy_helper.from_array(bias, f"B{i}")]
            nodes.append(helper.make_node("Gemm", [prev, f"W{i}", f"B{i}"], [f"h{i}"], transB=1))
        else:
            inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(bias, f"B{i}")]
            nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"m{i}"]))
            nodes.append(helper.make_node("Add", [f"m{i}", f"B{i}"], [f"h{i}"]))
        prev = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node(act, [prev], [f"a{i}"]))
            prev = f"a{i}"
    nodes.append(helper.make_node("Softmax" if softmax else "Identity", [prev], ["y"]))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", sizes[-1]])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto


def ort_argmax(proto: onnx.ModelProto, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    out: np.ndarray = np.argmax(session.run(None, {"x": X.astype(np.float32)})[0], axis=1)
    return out


def dsm_output(imported: ImportedModel, X: np.ndarray) -> np.ndarray:
    program = imported.program
    out: np.ndarray = program.run(runtime.check_rows(program, quantize_floats(imported, X)))
    return out


@pytest.fixture(scope="module")
def mnist() -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    X, _ = mnist_like_data(0, 500)
    return build_mnist_like_mlp(1, softmax=False), X[:150], X[150:]


def gaussian(seed: int, rows: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, width)).round(3)


# --- quantized graphs (onnxruntime.quantization) -------------------------------------------


@pytest.mark.parametrize("fmt", [QuantFormat.QDQ, QuantFormat.QOperator])
@pytest.mark.parametrize(
    ("activation", "per_channel"),
    [(QuantType.QInt8, True), (QuantType.QUInt8, False)],
)
def test_quantized_mnist_mlp_matches_onnxruntime(
    mnist: Any, tmp_path: Path, fmt: QuantFormat, activation: QuantType, per_channel: bool
) -> None:
    proto, calib, rows = mnist
    model = quantized(proto, calib, tmp_path, fmt, activation, per_channel)
    imported = from_onnx(model)
    dsm = dsm_output(imported, rows)[:, 0]
    assert (dsm == ort_argmax(model, rows)).mean() >= 0.99
    assert (dsm == ort_argmax(proto, rows)).mean() >= 0.97
    assert imported.model.name.startswith("onnx quantized")


@pytest.mark.parametrize("fmt", [QuantFormat.QDQ, QuantFormat.QOperator])
@pytest.mark.parametrize("act", ["Relu", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("gemm", [False, True])
def test_quantized_small_mlp(tmp_path: Path, fmt: QuantFormat, act: str, gemm: bool) -> None:
    proto = small_mlp(3, (8, 16, 2), act, gemm)
    calib, rows = gaussian(1, 200, 8), gaussian(2, 400, 8)
    model = quantized(proto, calib, tmp_path, fmt)
    imported = from_onnx(model, labels=["no", "yes"])
    dsm = dsm_output(imported, rows)[:, 0]
    assert (dsm == ort_argmax(model, rows)).mean() >= 0.99
    assert (dsm == ort_argmax(proto, rows)).mean() >= 0.95
    assert set(imported.predict(rows[:20])) <= {"no", "yes"}


def test_quantized_softmax_is_dropped(mnist: Any, tmp_path: Path) -> None:
    proto, calib, rows = mnist
    with_softmax = build_mnist_like_mlp(1, softmax=True)
    for fmt in (QuantFormat.QDQ, QuantFormat.QOperator):
        model = quantized(with_softmax, calib, tmp_path, fmt)
        imported = from_onnx(model)
        assert "softmax dropped" in imported.model.name
        dsm = dsm_output(imported, rows)[:, 0]
        # onnxruntime's quantized softmax has ties; compare with the float logits instead
        assert (dsm == ort_argmax(proto, rows)).mean() >= 0.98


def test_raw_output_is_dequantizable(tmp_path: Path) -> None:
    proto = small_mlp(4, (8, 16, 3))
    calib, rows = gaussian(1, 200, 8), gaussian(2, 100, 8)
    model = quantized(proto, calib, tmp_path, QuantFormat.QDQ)
    imported = from_onnx(model, output="raw")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"x": rows.astype(np.float32)})[0]
    real = imported.predict(rows)
    step = imported.model.output.scale_num / imported.model.output.scale_den
    assert real.shape == reference.shape
    assert np.mean(np.abs(real - reference) <= step * 1.01) >= 0.99


# --- float graphs quantized by the importer ------------------------------------------------


def test_float_mnist_mlp_with_calibration(mnist: Any) -> None:
    proto, calib, rows = mnist
    imported = from_onnx(proto, calibration=calib)
    dsm = dsm_output(imported, rows)[:, 0]
    assert (dsm == ort_argmax(proto, rows)).mean() >= 0.98
    assert len(imported.artifact) < 200_000
    # the fast quantizer gives the chain's integers
    assert np.array_equal(quantize_floats(imported, rows[:3]), imported.quantize(rows[:3]))


@pytest.mark.parametrize("act", ["Relu", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("gemm", [False, True])
def test_float_small_mlp(act: str, gemm: bool) -> None:
    proto = small_mlp(5, (8, 16, 16, 3), act, gemm, softmax=True)
    calib, rows = gaussian(1, 300, 8), gaussian(2, 400, 8)
    imported = from_onnx(proto, calibration=calib, labels=["a", "b", "c"])
    dsm = dsm_output(imported, rows)[:, 0]
    assert (dsm == ort_argmax(proto, rows)).mean() >= 0.95
    assert imported.model.output.labels == ("a", "b", "c")
    assert "softmax dropped" in imported.model.name


def test_float_raw_output_is_int8() -> None:
    proto = small_mlp(6, (8, 16, 2), "Tanh")
    calib = gaussian(1, 300, 8)
    imported = from_onnx(proto, calibration=calib, output="raw")
    out = dsm_output(imported, calib)
    assert out.min() >= -128 and out.max() <= 127
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"x": calib.astype(np.float32)})[0]
    spec = imported.model.output
    step = spec.scale_num / spec.scale_den
    assert np.abs(imported.predict(calib) - reference).max() <= 6 * step


def test_argmax_graph_and_binary_threshold() -> None:
    proto = small_mlp(7, (8, 16, 1), "Relu")
    graph = proto.graph
    graph.node[-1].CopyFrom(helper.make_node("Sigmoid", ["h1"], ["y"]))
    calib, rows = gaussian(1, 300, 8), gaussian(2, 300, 8)
    imported = from_onnx(proto, calibration=calib)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = (session.run(None, {"x": rows.astype(np.float32)})[0][:, 0] > 0.5).astype(int)
    assert (dsm_output(imported, rows)[:, 0] == reference).mean() >= 0.97


def test_quantize_multiplier_is_exact_enough() -> None:
    for real in (1e-9, 3.7e-4, 0.5, 0.999999999, 1.0, 7.25, 2.0**35):
        m, s = quantize_multiplier(real)
        assert 0 <= s <= 62
        assert abs(m / 2**s - real) <= real * 2**-30 + 2.0**-63
    with pytest.raises(ValueError):
        quantize_multiplier(0.0)


# --- errors ------------------------------------------------------------------------------


def test_float_model_needs_calibration(mnist: Any) -> None:
    with pytest.raises(ImporterError, match="calibration"):
        from_onnx(mnist[0])


def test_unsupported_operator_is_named() -> None:
    proto = small_mlp(8, (8, 4, 2))
    proto.graph.node.insert(0, helper.make_node("Erf", ["x"], ["e"], name="weird"))
    proto.graph.node[1].input[0] = "e"
    with pytest.raises(ImporterError, match=r"Erf.*weird"):
        from_onnx(proto, calibration=gaussian(1, 10, 8))


def test_dynamic_quantization_is_rejected() -> None:
    proto = small_mlp(8, (8, 4, 2))
    proto.graph.node.insert(
        0, helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"], name="dq")
    )
    with pytest.raises(ImporterError, match="dynamic quantization"):
        from_onnx(proto)


@pytest.mark.parametrize("shape", [["N", "F"], ["N", 2, 4], [None]])
def test_dynamic_or_bad_input_shape(shape: list[Any]) -> None:
    proto = small_mlp(8, (8, 4, 2))
    proto.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, shape))
    with pytest.raises(ImporterError, match="input"):
        from_onnx(proto, calibration=gaussian(1, 10, 8))


def test_bad_arguments() -> None:
    proto = small_mlp(8, (8, 4, 2))
    with pytest.raises(ImporterError, match="features"):
        from_onnx(proto, calibration=gaussian(1, 10, 5))
    with pytest.raises(ImporterError, match="output"):
        from_onnx(proto, calibration=gaussian(1, 10, 8), output="proba")  # type: ignore[arg-type]
    with pytest.raises(ImporterError, match="labels"):
        from_onnx(proto, calibration=gaussian(1, 10, 8), labels=["a", "b", "c"])
    with pytest.raises(ImporterError, match="cannot read"):
        from_onnx(b"not an onnx model")
