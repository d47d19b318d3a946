"""Write the trained digits CNN as an ONNX graph (opset 17).

    python examples/offchain_vision/export.py   # weights.npz -> model.onnx

Built with ``onnx.helper`` from the ``.npz`` weights (no JAX needed); computes
``train.forward``:

- input ``pixels``: float32 ``[batch, 1, 8, 8]``, values 0–16 as in ``load_digits``;
- output ``logits``: float32 ``[batch, 10]``;
- output ``probabilities``: float32 ``[batch, 10]``, the softmax of ``logits``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from cnn_model import CLASSES, DEFAULT_OUT, PIXEL_MAX, CNNConfig, Params, load_weights
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the oldest IR that carries opset 17


def conv_block(i: int) -> list[onnx.NodeProto]:
    """Conv 3×3 pad 1 → Relu → MaxPool 2×2 stride 2 on ``h{i-1}``, giving ``h{i}``."""
    return [
        helper.make_node(
            "Conv",
            [f"h{i - 1}", f"conv{i}_w", f"conv{i}_b"],
            [f"conv{i}"],
            name=f"conv{i}",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[1, 1],
        ),
        helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"),
        helper.make_node(
            "MaxPool", [f"relu{i}"], [f"h{i}"], name=f"pool{i}", kernel_shape=[2, 2], strides=[2, 2]
        ),
    ]


def build_model(cfg: CNNConfig, params: Params) -> onnx.ModelProto:
    """The ONNX model of ``train.forward`` for these weights."""
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in params.items()]
    inits.append(numpy_helper.from_array(np.array(1.0 / PIXEL_MAX, np.float32), "scale"))
    nodes = [
        helper.make_node("Mul", ["pixels", "scale"], ["h0"], name="scale"),
        *conv_block(1),
        *conv_block(2),
        helper.make_node("Flatten", ["h2"], ["flat"], name="flatten", axis=1),
        helper.make_node("MatMul", ["flat", "dense_w"], ["dense"], name="dense"),
        helper.make_node("Add", ["dense", "dense_b"], ["logits"], name="dense_bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "offchain_vision",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", CLASSES]),
        ],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="aivm-examples"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def export(weights: Path, out: Path) -> tuple[Path, dict[str, Any]]:
    """Write ``out/model.onnx`` and ``out/model.card.json``; return the ONNX path and card."""
    cfg, params = load_weights(weights)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.onnx"
    onnx.save_model(build_model(cfg, params), path)
    card: dict[str, Any] = {
        "name": "aivm-offchain-digits-cnn",
        "format": "onnx",
        "opset": OPSET,
        "file": path.name,
        "onnx_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "onnx_bytes": path.stat().st_size,
        "inputs": {"pixels": {"dtype": "float32", "shape": ["batch", 1, 8, 8], "range": [0, 16]}},
        "outputs": {
            "logits": {"dtype": "float32", "shape": ["batch", CLASSES]},
            "probabilities": {"dtype": "float32", "shape": ["batch", CLASSES]},
        },
        "param_count": int(sum(v.size for v in params.values())),
        "channels": [cfg.conv1, cfg.conv2],
    }
    log_path = weights.parent / "train_log.json"
    if log_path.exists():
        log = json.loads(log_path.read_text())
        card["training"] = {k: log[k] for k in ("test_accuracy", "test_images", "train_seconds")}
    (out / "model.card.json").write_text(json.dumps(card, indent=1) + "\n")
    return path, card


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_OUT / "weights.npz")
    parser.add_argument("--out", type=Path, help="output directory (default: the weights' own)")
    args = parser.parse_args()
    path, card = export(args.weights, args.out or args.weights.parent)
    print(f"wrote {path} ({card['onnx_bytes']:,} bytes, sha256 {card['onnx_sha256']})")


if __name__ == "__main__":
    main()
