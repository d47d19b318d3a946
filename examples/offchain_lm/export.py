"""Write the trained language model as an ONNX graph (opset 17) plus its model card.

    python examples/offchain_lm/export.py   # weights.npz -> model.onnx

The graph is built node by node with ``onnx.helper`` from the ``.npz`` weights (numpy and onnx
only; JAX is not needed). It computes exactly ``train.forward``:

- input ``input_ids``: int64 ``[batch, seq]``, byte ids, ``1 ≤ seq ≤ context``;
- output ``logits``: float32 ``[batch, seq, 256]``, next-byte scores at every position;
- output ``last_hidden``: float32 ``[batch, seq, d_model]``, the final LayerNorm's output
  (``logits = last_hidden @ tok_emb.T``).

``batch`` and ``seq`` are dynamic axes. ``model.card.json`` next to ``model.onnx`` records the
vocabulary, context length, shape, parameter count, the file's sha256 and the training run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from lm_model import DEFAULT_OUT, LN_EPS, MASK_VALUE, VOCAB, LMConfig, Params, load_weights
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the oldest IR that carries opset 17: loadable by older onnxruntime releases


class GraphBuilder:
    """Collects nodes and initializers; :meth:`op` names each output uniquely."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray[Any, Any]) -> str:
        """Add an initializer and return its name."""
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        """Add one node; its output is ``out`` or a fresh name. Returns the output's name."""
        self._count += 1
        name = out or f"{op_type.lower()}_{self._count}"
        self.nodes.append(
            helper.make_node(op_type, inputs, [name], name=f"n{self._count}_{op_type}", **attrs)
        )
        return name


def linear(g: GraphBuilder, x: str, w: str, b: str) -> str:
    """``x @ w + b``."""
    return g.op("Add", [g.op("MatMul", [x, w]), b])


def layer_norm(g: GraphBuilder, x: str, gain: str, bias: str, out: str | None = None) -> str:
    """ONNX LayerNormalization over the last axis (same epsilon as training)."""
    return g.op("LayerNormalization", [x, gain, bias], out, axis=-1, epsilon=LN_EPS)


def attention(g: GraphBuilder, cfg: LMConfig, pre: str, h: str, mask: str) -> str:
    """Causal multi-head self-attention of ``h`` ``[B, T, D]`` (as ``train.attention``)."""
    qkv = linear(g, h, pre + "w_qkv", pre + "b_qkv")
    d = cfg.d_model
    q, k, v = (f"{pre}{n}" for n in ("q", "k", "v"))
    split = g.const(pre + "split", np.array([d, d, d], np.int64))
    g.nodes.append(helper.make_node("Split", [qkv, split], [q, k, v], name=pre + "split", axis=-1))
    heads = "heads_shape"

    def per_head(z: str, perm: list[int]) -> str:
        return g.op("Transpose", [g.op("Reshape", [z, heads])], perm=perm)

    qh, kt, vh = per_head(q, [0, 2, 1, 3]), per_head(k, [0, 2, 3, 1]), per_head(v, [0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [qh, kt]), "attn_scale"])
    weights = g.op("Softmax", [g.op("Add", [scores, mask])], axis=-1)
    merged = g.op(
        "Reshape",
        [g.op("Transpose", [g.op("MatMul", [weights, vh])], perm=[0, 2, 1, 3]), "model_shape"],
    )
    return linear(g, merged, pre + "w_o", pre + "b_o")


def mlp(g: GraphBuilder, pre: str, h: str) -> str:
    """Linear, exact GELU ``0.5·x·(1 + erf(x/√2))``, Linear."""
    f = linear(g, h, pre + "w_fc", pre + "b_fc")
    erf = g.op("Erf", [g.op("Mul", [f, "inv_sqrt2"])])
    gelu = g.op("Mul", [g.op("Mul", [f, g.op("Add", [erf, "one"])]), "half"])
    return linear(g, gelu, pre + "w_proj", pre + "b_proj")


def add_constants(g: GraphBuilder, cfg: LMConfig, params: Params) -> None:
    """Weights, the causal mask ``[context, context]`` and small shape/scalar constants."""
    for name, value in params.items():
        g.const(name, np.asarray(value, np.float32))
    causal = np.triu(np.full((cfg.context, cfg.context), MASK_VALUE, np.float32), k=1)
    g.const("causal_mask", causal)
    g.const("heads_shape", np.array([0, 0, cfg.n_heads, cfg.head_dim], np.int64))
    g.const("model_shape", np.array([0, 0, cfg.d_model], np.int64))
    g.const("attn_scale", np.array(1.0 / math.sqrt(cfg.head_dim), np.float32))
    g.const("inv_sqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    g.const("one", np.array(1.0, np.float32))
    g.const("half", np.array(0.5, np.float32))
    g.const("zero1", np.array([0], np.int64))
    g.const("zero2", np.array([0, 0], np.int64))
    g.const("one1", np.array([1], np.int64))
    g.const("two1", np.array([2], np.int64))
    g.const("axes01", np.array([0, 1], np.int64))


def build_model(cfg: LMConfig, params: Params) -> onnx.ModelProto:
    """The ONNX model of ``train.forward`` for these weights."""
    g = GraphBuilder()
    add_constants(g, cfg, params)
    seq = g.op("Slice", [g.op("Shape", ["input_ids"]), "one1", "two1"], "seq_len")
    pos = g.op("Slice", ["pos_emb", "zero1", seq, "zero1"], "positions")
    x = g.op("Add", [g.op("Gather", ["tok_emb", "input_ids"], axis=0), pos])
    mask_end = g.op("Concat", [seq, seq], axis=0)
    mask = g.op("Slice", ["causal_mask", "zero2", mask_end, "axes01"], "mask")
    for i in range(cfg.n_layers):
        pre = f"blk{i}."
        h = layer_norm(g, x, pre + "ln1_g", pre + "ln1_b")
        x = g.op("Add", [x, attention(g, cfg, pre, h, mask)])
        h = layer_norm(g, x, pre + "ln2_g", pre + "ln2_b")
        x = g.op("Add", [x, mlp(g, pre, h)])
    layer_norm(g, x, "lnf_g", "lnf_b", out="last_hidden")
    g.op("MatMul", ["last_hidden", g.op("Transpose", ["tok_emb"], perm=[1, 0])], "logits")
    graph = helper.make_graph(
        g.nodes,
        "offchain_lm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB]),
            helper.make_tensor_value_info(
                "last_hidden", TensorProto.FLOAT, ["batch", "seq", cfg.d_model]
            ),
        ],
        g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="aivm-examples"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_card(cfg: LMConfig, params: Params, onnx_path: Path, weights: Path) -> dict[str, Any]:
    """The model card: what a server needs to know to feed the model and check the file."""
    card: dict[str, Any] = {
        "name": "aivm-offchain-lm",
        "format": "onnx",
        "opset": OPSET,
        "file": onnx_path.name,
        "onnx_sha256": sha256_file(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        "vocab": {"kind": "bytes", "encoding": "utf-8", "size": VOCAB},
        "context_length": cfg.context,
        "d_model": cfg.d_model,
        "layers": cfg.n_layers,
        "heads": cfg.n_heads,
        "d_ff": cfg.d_ff,
        "param_count": int(sum(v.size for v in params.values())),
        "inputs": {"input_ids": {"dtype": "int64", "shape": ["batch", "seq"]}},
        "outputs": {
            "logits": {"dtype": "float32", "shape": ["batch", "seq", VOCAB]},
            "last_hidden": {"dtype": "float32", "shape": ["batch", "seq", cfg.d_model]},
        },
        "weights_sha256": sha256_file(weights),
    }
    log_path = weights.parent / "train_log.json"
    if log_path.exists():
        log = json.loads(log_path.read_text())
        card["training"] = {
            k: log[k]
            for k in ("corpus_sha256", "corpus_bytes", "final_loss", "val_loss", "train_seconds")
        } | {"steps": log["config"]["steps"]}
    return card


def export(weights: Path, out: Path) -> tuple[Path, dict[str, Any]]:
    """Write ``out/model.onnx`` and ``out/model.card.json`` from ``weights``; return the ONNX
    path and the card."""
    cfg, params = load_weights(weights)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    onnx.save_model(build_model(cfg, params), onnx_path)
    card = model_card(cfg, params, onnx_path, weights)
    (out / "model.card.json").write_text(json.dumps(card, indent=1) + "\n")
    return onnx_path, card


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
