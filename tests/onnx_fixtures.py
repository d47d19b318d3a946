"""Small float ONNX MLPs, synthetic MNIST-like data and onnxruntime static quantization for the
importer tests and benchmarks.

Test fixtures, not part of the shipped package: ``tests/unit/test_import_onnx.py``,
``tests/unit/test_ai_import_cli.py``, ``tests/vectors/make_onnx_vectors.py`` and
``benchmarks/dsm.py`` build their models here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:
    from onnxruntime.quantization import QuantFormat, QuantType

FloatArray = npt.NDArray[np.float64]


def build_mnist_like_mlp(
    seed: int = 0, sizes: Sequence[int] = (784, 56, 10), softmax: bool = True
) -> onnx.ModelProto:
    """A float MLP (``MatMul`` + ``Add`` + ``Relu`` layers, optional final ``Softmax``).

    The first layer has random weights; the last layer is fitted by ridge regression on the
    hidden features of :func:`mnist_like_data` rows (a quick "trained" classifier), so the
    logits have realistic margins. Input name ``x`` (``[N, sizes[0]]``), output ``y``.
    """
    rng = np.random.default_rng(seed)
    X, y = mnist_like_data(seed, 2000, sizes[0], sizes[-1])
    layers: list[tuple[FloatArray, FloatArray]] = []
    h = X
    for fan_in, fan_out in itertools.pairwise(sizes[:-1]):
        w = rng.normal(0.0, 1.0 / math.sqrt(fan_in), (fan_in, fan_out))
        b = -(h @ w).mean(axis=0)  # center the pre-activations so about half are active
        layers.append((w, b))
        h = np.maximum(h @ w + b, 0.0)
    targets = np.eye(sizes[-1])[y] * 2.0 - 1.0
    hb = np.hstack([h, np.ones((h.shape[0], 1))])
    solution = np.linalg.solve(hb.T @ hb + 1e-1 * np.eye(hb.shape[1]), hb.T @ targets)
    layers.append((np.asarray(solution[:-1], np.float64), np.asarray(solution[-1], np.float64)))
    return mlp_proto(layers, ["Relu"] * (len(layers) - 1), softmax)


def mnist_like_data(
    seed: int, rows: int, width: int = 784, classes: int = 10
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Synthetic "images" in ``[0, 1]`` (class prototype + noise, 3 decimals) and labels."""
    rng = np.random.default_rng(10_000 + seed)
    prototypes = np.random.default_rng(12345).random((classes, width)) ** 3
    labels = rng.integers(0, classes, rows)
    X = np.clip(prototypes[labels] + rng.normal(0.0, 0.35, (rows, width)), 0.0, 1.0)
    return X.round(3), labels.astype(np.int64)


def mlp_proto(
    layers: Sequence[tuple[FloatArray, FloatArray]], activations: Sequence[str], softmax: bool
) -> onnx.ModelProto:
    """A float ONNX MLP: ``MatMul`` + ``Add`` per layer, ``activations[i]`` after layer ``i``.

    Input ``x`` (``[N, in]``), output ``y`` (``[N, out]``, after a ``Softmax`` if ``softmax``).
    """
    nodes, inits = [], []
    prev = "x"
    for i, (w, b) in enumerate(layers):
        inits.append(numpy_helper.from_array(np.asarray(w, np.float32), f"W{i}"))
        inits.append(numpy_helper.from_array(np.asarray(b, np.float32), f"B{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"mm{i}"], name=f"matmul{i}"))
        out = "logits" if i == len(layers) - 1 and softmax else f"h{i}"
        if i == len(layers) - 1 and not softmax:
            out = "y"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"B{i}"], [out], name=f"add{i}"))
        prev = out
        if i < len(activations):
            nodes.append(helper.make_node(activations[i], [prev], [f"a{i}"], name=f"act{i}"))
            prev = f"a{i}"
    if softmax:
        nodes.append(helper.make_node("Softmax", [prev], ["y"], axis=-1, name="softmax"))
    width_in, width_out = layers[0][0].shape[0], layers[-1][0].shape[1]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width_out])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    return proto


def quantized(
    proto: onnx.ModelProto,
    X: npt.NDArray[np.floating],
    tmp: Path,
    fmt: QuantFormat,
    activation: QuantType | None = None,
    per_channel: bool = True,
) -> onnx.ModelProto:
    """``quantize_static`` of ``proto`` (input ``x``) calibrated on the rows of ``X``: int8
    weights (per channel with ``per_channel``), ``activation`` activations (default int8).
    Files go to ``tmp``. onnxruntime is imported here, not with this module."""
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rows: Iterator[dict[str, npt.NDArray[np.float32]]] = iter(
                [{"x": X[i : i + 1].astype(np.float32)} for i in range(len(X))]
            )

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            return next(self.rows, None)

    source, target = tmp / "float.onnx", tmp / "quantized.onnx"
    onnx.save(proto, source)
    quantize_static(
        str(source),
        str(target),
        Reader(),
        quant_format=fmt,
        activation_type=QuantType.QInt8 if activation is None else activation,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
    )
    return onnx.load(str(target))
