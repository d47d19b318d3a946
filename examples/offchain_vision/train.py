"""Train the small CNN on scikit-learn's 8×8 digits with JAX on CPU and report test accuracy.

    python examples/offchain_vision/train.py            # -> build/offchain_vision/weights.npz
    python examples/offchain_vision/train.py --tiny --out /tmp/cnn

Writes ``weights.npz`` (weights + config, see ``cnn_model.save_weights``) and ``train_log.json``
(loss per epoch, test accuracy, wall time, parameter count) into ``--out``. The network is
:func:`forward`; ``export.py`` writes the same computation as an ONNX graph.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from cnn_model import (
    DEFAULT_OUT,
    PIXEL_MAX,
    TINY,
    CNNConfig,
    Params,
    digits_split,
    init_params,
    param_count,
    save_weights,
)

JaxParams = dict[str, jax.Array]
DIMS = ("NCHW", "OIHW", "NCHW")


def conv_relu_pool(x: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """Conv 3×3 (stride 1, pad 1) + bias → ReLU → MaxPool 2×2 (stride 2), NCHW."""
    y = jax.lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=DIMS)
    y = jax.nn.relu(y + b[None, :, None, None])
    pooled: jax.Array = jax.lax.reduce_window(
        y, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID"
    )
    return pooled


def forward(p: JaxParams, x: jax.Array) -> jax.Array:
    """Images ``[B, 1, 8, 8]`` (values 0–16) → logits ``[B, 10]``."""
    h = conv_relu_pool(x * np.float32(1.0 / PIXEL_MAX), p["conv1_w"], p["conv1_b"])
    h = conv_relu_pool(h, p["conv2_w"], p["conv2_b"])
    return h.reshape(h.shape[0], -1) @ p["dense_w"] + p["dense_b"]


def loss_fn(p: JaxParams, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy."""
    loss: jax.Array = optax.softmax_cross_entropy_with_integer_labels(forward(p, x), y).mean()
    return loss


def make_step(
    opt: optax.GradientTransformation,
) -> Callable[[JaxParams, Any, jax.Array, jax.Array], tuple[JaxParams, Any, jax.Array]]:
    """The jitted step ``(params, opt_state, x, y) → (params, opt_state, loss)``."""

    def step(
        p: JaxParams, state: Any, x: jax.Array, y: jax.Array
    ) -> tuple[JaxParams, Any, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    return jax.jit(step)


def accuracy(p: JaxParams, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """Fraction of ``x`` classified as ``y``."""
    pred = np.asarray(jnp.argmax(jax.jit(forward)(p, jnp.asarray(x)), axis=-1))
    return float((pred == y).mean())


def train(cfg: CNNConfig, out: Path, verbose: bool = True) -> dict[str, Any]:
    """Train ``cfg.epochs`` epochs of shuffled mini-batches (the last partial batch dropped,
    so one compiled step serves all), write ``weights.npz`` and ``train_log.json`` into
    ``out`` and return the log."""
    x_tr, x_te, y_tr, y_te = digits_split()
    params: JaxParams = {k: jnp.asarray(v) for k, v in init_params(cfg).items()}
    opt = optax.adam(cfg.lr)
    state, step = opt.init(params), make_step(opt)
    rng = np.random.default_rng(cfg.seed + 1)
    epoch_losses: list[float] = []
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(x_tr))
        batch_losses = []
        for i in range(0, len(order) - cfg.batch + 1, cfg.batch):
            idx = order[i : i + cfg.batch]
            params, state, loss = step(
                params, state, jnp.asarray(x_tr[idx]), jnp.asarray(y_tr[idx])
            )
            batch_losses.append(float(loss))
        epoch_losses.append(float(np.mean(batch_losses)))
        if verbose:
            print(f"epoch {epoch + 1:3d}/{cfg.epochs} loss {epoch_losses[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - start
    weights: Params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    log = {
        "config": dataclasses.asdict(cfg),
        "param_count": param_count(weights),
        "train_images": len(x_tr),
        "test_images": len(x_te),
        "epoch_losses": epoch_losses,
        "train_accuracy": accuracy(params, x_tr, y_tr),
        "test_accuracy": accuracy(params, x_te, y_te),
        "train_seconds": round(seconds, 2),
    }
    save_weights(out / "weights.npz", cfg, weights)
    (out / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    return log


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--tiny", action="store_true", help="tiny config (tests)")
    parser.add_argument("--epochs", type=int, help="override the config's number of epochs")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    args = parser.parse_args()
    cfg = TINY if args.tiny else CNNConfig()
    if args.epochs is not None:
        cfg = dataclasses.replace(cfg, epochs=args.epochs)
    if args.seed is not None:
        cfg = dataclasses.replace(cfg, seed=args.seed)
    log = train(cfg, args.out)
    print(
        f"params {log['param_count']:,}; test accuracy {log['test_accuracy']:.4f} "
        f"({log['test_images']} images); {log['train_seconds']:.1f} s; "
        f"wrote {args.out / 'weights.npz'}"
    )


if __name__ == "__main__":
    main()
