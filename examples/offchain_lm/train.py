"""Train the byte-level transformer language model on the project's own docs, with JAX on CPU.

    python examples/offchain_lm/train.py                 # ~3.3 M params -> build/offchain_lm/
    python examples/offchain_lm/train.py --tiny --out /tmp/lm   # seconds, for tests

Writes ``weights.npz`` (weights + config, see ``lm_model.save_weights``) and ``train_log.json``
(loss per step, held-out loss, wall time, parameter count, sha256 of the training text) into
``--out``. The model is defined in :func:`forward`; ``export.py`` writes the same computation as
an ONNX graph, and the tests check that the two agree.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import optax
from lm_model import (
    DEFAULT_OUT,
    LN_EPS,
    MASK_VALUE,
    TINY,
    LMConfig,
    Params,
    init_params,
    load_corpus,
    param_count,
    save_weights,
)

VAL_FRACTION = 0.1
VAL_WINDOWS = 64
JaxParams = dict[str, jax.Array]


def layer_norm(x: jax.Array, g: jax.Array, b: jax.Array) -> jax.Array:
    """LayerNorm over the last axis (biased variance, ``LN_EPS``), as ONNX LayerNormalization."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + LN_EPS) * g + b


def attention(cfg: LMConfig, p: JaxParams, prefix: str, h: jax.Array) -> jax.Array:
    """Causal multi-head self-attention of ``h`` ``[B, T, D]``."""
    bsz, t, d = h.shape
    qkv = h @ p[prefix + "w_qkv"] + p[prefix + "b_qkv"]
    q, k, v = (
        z.reshape(bsz, t, cfg.n_heads, cfg.head_dim).transpose(0, 2, 1, 3)
        for z in jnp.split(qkv, 3, axis=-1)
    )
    scores = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(cfg.head_dim))
    causal = np.triu(np.full((t, t), MASK_VALUE, np.float32), k=1)
    weights = jax.nn.softmax(scores + causal, axis=-1)
    out = (weights @ v).transpose(0, 2, 1, 3).reshape(bsz, t, d)
    return out @ p[prefix + "w_o"] + p[prefix + "b_o"]


def mlp(p: JaxParams, prefix: str, h: jax.Array) -> jax.Array:
    """The block's feed-forward part: Linear, exact (erf) GELU, Linear."""
    hidden = jax.nn.gelu(h @ p[prefix + "w_fc"] + p[prefix + "b_fc"], approximate=False)
    return hidden @ p[prefix + "w_proj"] + p[prefix + "b_proj"]


def forward(cfg: LMConfig, p: JaxParams, ids: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``ids`` ``[B, T]`` (T ≤ context) → ``(logits [B, T, 256], last_hidden [B, T, D])``;
    ``last_hidden`` is the final LayerNorm's output, ``logits`` its product with the tied
    token embeddings."""
    t = ids.shape[1]
    x = p["tok_emb"][ids] + p["pos_emb"][:t]
    for i in range(cfg.n_layers):
        pre = f"blk{i}."
        x = x + attention(cfg, p, pre, layer_norm(x, p[pre + "ln1_g"], p[pre + "ln1_b"]))
        x = x + mlp(p, pre, layer_norm(x, p[pre + "ln2_g"], p[pre + "ln2_b"]))
    last_hidden = layer_norm(x, p["lnf_g"], p["lnf_b"])
    return last_hidden @ p["tok_emb"].T, last_hidden


def loss_fn(cfg: LMConfig, p: JaxParams, batch: jax.Array) -> jax.Array:
    """Mean next-byte cross-entropy (nats) of ``batch`` ``[B, context + 1]``."""
    logits, _ = forward(cfg, p, batch[:, :-1])
    loss: jax.Array = optax.softmax_cross_entropy_with_integer_labels(logits, batch[:, 1:]).mean()
    return loss


def make_optimizer(cfg: LMConfig) -> optax.GradientTransformation:
    """AdamW with linear warm-up and cosine decay to 10%, gradient clipping at norm 1, weight
    decay on matrices only."""
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, cfg.lr, cfg.warmup, max(cfg.steps, cfg.warmup + 1), cfg.lr * 0.1
    )

    def decay_mask(params: JaxParams) -> dict[str, bool]:
        return {k: v.ndim == 2 for k, v in params.items()}

    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, weight_decay=cfg.weight_decay, mask=decay_mask),
    )


def make_step(
    cfg: LMConfig, opt: optax.GradientTransformation
) -> Callable[[JaxParams, Any, jax.Array], tuple[JaxParams, Any, jax.Array]]:
    """The jitted training step ``(params, opt_state, batch) → (params, opt_state, loss)``."""

    def step(p: JaxParams, state: Any, batch: jax.Array) -> tuple[JaxParams, Any, jax.Array]:
        loss, grads = jax.value_and_grad(lambda q: loss_fn(cfg, q, batch))(p)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    return jax.jit(step)


def split_corpus(data: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int32], ...]:
    """Train / held-out split: the last ``VAL_FRACTION`` of the text is held out."""
    cut = int(len(data) * (1 - VAL_FRACTION))
    return data[:cut], data[cut:]


def windows(
    data: npt.NDArray[np.int32], starts: npt.NDArray[np.int64], length: int
) -> npt.NDArray[np.int32]:
    """Rows ``data[s : s + length]`` for each start ``s``."""
    return np.stack([data[s : s + length] for s in starts])


def evaluate(cfg: LMConfig, p: JaxParams, data: npt.NDArray[np.int32]) -> float:
    """Mean loss over ``VAL_WINDOWS`` evenly spaced windows of ``data``."""
    starts = np.linspace(0, len(data) - cfg.context - 1, VAL_WINDOWS).astype(np.int64)
    batch = jnp.asarray(windows(data, starts, cfg.context + 1))
    return float(jax.jit(lambda q, b: loss_fn(cfg, q, b))(p, batch))


def train(cfg: LMConfig, out: Path, log_every: int = 1) -> dict[str, Any]:
    """Train ``cfg.steps`` steps, print the loss, write ``weights.npz`` and ``train_log.json``
    into ``out`` and return the log."""
    data, corpus_sha = load_corpus()
    train_data, val_data = split_corpus(data)
    params: JaxParams = {k: jnp.asarray(v) for k, v in init_params(cfg).items()}
    opt = make_optimizer(cfg)
    state, step = opt.init(params), make_step(cfg, opt)
    rng = np.random.default_rng(cfg.seed + 1)
    losses: list[float] = []
    start = time.perf_counter()
    for i in range(cfg.steps):
        starts = rng.integers(0, len(train_data) - cfg.context - 1, cfg.batch)
        batch = jnp.asarray(windows(train_data, starts, cfg.context + 1))
        params, state, loss = step(params, state, batch)
        losses.append(float(loss))
        if log_every and (i % log_every == 0 or i == cfg.steps - 1):
            print(f"step {i + 1:4d}/{cfg.steps} loss {losses[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - start
    weights: Params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    log = {
        "config": dataclasses.asdict(cfg),
        "param_count": param_count(weights),
        "corpus_bytes": len(data),
        "corpus_sha256": corpus_sha,
        "losses": losses,
        "initial_loss": losses[0],
        "final_loss": float(np.mean(losses[-10:])),
        "val_loss": evaluate(cfg, params, val_data),
        "train_seconds": round(seconds, 2),
    }
    save_weights(out / "weights.npz", cfg, weights)
    (out / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    return log


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--tiny", action="store_true", help="tiny config (tests, seconds)")
    parser.add_argument("--steps", type=int, help="override the config's number of steps")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--log-every", type=int, default=1, help="print every N steps")
    args = parser.parse_args()
    cfg = TINY if args.tiny else LMConfig()
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, steps=args.steps)
    if args.seed is not None:
        cfg = dataclasses.replace(cfg, seed=args.seed)
    log = train(cfg, args.out, args.log_every)
    print(
        f"params {log['param_count']:,}; loss {log['initial_loss']:.3f} -> "
        f"{log['final_loss']:.3f} (held-out {log['val_loss']:.3f}); "
        f"{log['train_seconds']:.1f} s; wrote {args.out / 'weights.npz'}"
    )


if __name__ == "__main__":
    main()
