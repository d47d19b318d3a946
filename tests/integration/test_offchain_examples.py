"""The off-chain example models (``examples/offchain_lm``, ``examples/offchain_vision``): each
is trained here (the LM on its tiny config, the CNN on its default one), exported to ONNX, and
checked: the graph passes ``onnx.checker``, onnxruntime computes what the JAX forward pass of
the same weights computes (logits and the LM's ``last_hidden``), the model card describes the
file, the LM learned (loss well below the start and the uniform baseline) and generates the
same text twice, and the CNN classifies ≥ 90% of held-out digits."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import onnx
import onnxruntime as ort
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LM_DIR, VISION_DIR = EXAMPLES / "offchain_lm", EXAMPLES / "offchain_vision"
RTOL = ATOL = 1e-4  # float32, same operations in both


def load(directory: Path, name: str) -> ModuleType:
    """Import ``directory/name.py`` as ``<directory>_<name>`` (both examples have a
    ``train.py``); the directory goes on ``sys.path`` for the example's own imports."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    alias = f"{directory.name}_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def session(path: Path) -> Any:
    """An onnxruntime CPU session."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def check_card(card_path: Path, onnx_path: Path, params: dict[str, np.ndarray]) -> dict[str, Any]:
    """The card names the file by its sha256 and counts the weights."""
    card: dict[str, Any] = json.loads(card_path.read_text())
    assert card["onnx_sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert card["param_count"] == sum(v.size for v in params.values())
    return card


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny LM, trained and exported once per module."""
    train, export = load(LM_DIR, "train"), load(LM_DIR, "export")
    out = tmp_path_factory.mktemp("offchain_lm")
    cfg = load(LM_DIR, "lm_model").TINY
    log = train.train(cfg, out, log_every=0)
    onnx_path, _ = export.export(out / "weights.npz", out)
    return {"train": train, "out": out, "log": log, "onnx": onnx_path}


@pytest.fixture(scope="module")
def vision(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CNN with its default config, trained and exported once per module."""
    train, export = load(VISION_DIR, "train"), load(VISION_DIR, "export")
    out = tmp_path_factory.mktemp("offchain_vision")
    log = train.train(load(VISION_DIR, "cnn_model").CNNConfig(), out, verbose=False)
    onnx_path, _ = export.export(out / "weights.npz", out)
    return {"train": train, "out": out, "log": log, "onnx": onnx_path}


def lm_jax(lm: dict[str, Any], ids: np.ndarray, bump: float = 0.0) -> tuple[np.ndarray, ...]:
    """The JAX forward pass on the saved weights (``bump`` added to the first row of the
    first MLP's input weights: one weight alone can sit behind an inactive unit for a
    one-token input, and then changes nothing)."""
    cfg, params = load(LM_DIR, "lm_model").load_weights(lm["out"] / "weights.npz")
    params["blk0.w_fc"][0, :] += bump
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    logits, hidden = jax.jit(lm["train"].forward, static_argnums=0)(cfg, jp, jnp.asarray(ids))
    return np.asarray(logits), np.asarray(hidden)


def test_lm_onnx_is_valid_and_described_by_its_card(lm: dict[str, Any]) -> None:
    onnx.checker.check_model(str(lm["onnx"]), full_check=True)
    cfg, params = load(LM_DIR, "lm_model").load_weights(lm["out"] / "weights.npz")
    card = check_card(lm["out"] / "model.card.json", lm["onnx"], params)
    assert (card["context_length"], card["d_model"], card["layers"]) == (
        cfg.context,
        cfg.d_model,
        cfg.n_layers,
    )
    assert card["vocab"]["size"] == 256 and card["opset"] == 17
    model = onnx.load(str(lm["onnx"]))
    assert [i.name for i in model.graph.input] == ["input_ids"]
    assert [o.name for o in model.graph.output] == ["logits", "last_hidden"]


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (3, 32)])
def test_lm_onnxruntime_equals_jax_forward(lm: dict[str, Any], shape: tuple[int, int]) -> None:
    ids = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.int64)
    logits, hidden = session(lm["onnx"]).run(None, {"input_ids": ids})
    ref_logits, ref_hidden = lm_jax(lm, ids)
    assert logits.shape == (*shape, 256) and hidden.shape == (*shape, ref_hidden.shape[-1])
    np.testing.assert_allclose(logits, ref_logits, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(hidden, ref_hidden, rtol=RTOL, atol=ATOL)
    # the comparison is sharp enough to see a change of one weight row by 0.05
    bumped_logits, _ = lm_jax(lm, ids, bump=0.05)
    assert not np.allclose(logits, bumped_logits, rtol=RTOL, atol=ATOL)


def test_lm_loss_fell(lm: dict[str, Any]) -> None:
    log = lm["log"]
    uniform = math.log(256)
    assert log["final_loss"] < 0.6 * log["initial_loss"]
    assert log["final_loss"] < 0.6 * uniform  # better than guessing, not only than the init
    assert log["val_loss"] < 0.6 * uniform  # held-out text too


def test_lm_greedy_generation_is_deterministic(lm: dict[str, Any]) -> None:
    script, model = str(LM_DIR / "generate.py"), str(lm["onnx"])

    def run() -> str:
        result = subprocess.run(
            [sys.executable, script, "The chain ", "--tokens", "40", "--model", model],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    first, second = run(), run()
    assert first == second
    assert first.startswith("The chain ") and len(first.strip()) > len("The chain")


def test_vision_onnx_is_valid_and_equals_jax_forward(vision: dict[str, Any]) -> None:
    onnx.checker.check_model(str(vision["onnx"]), full_check=True)
    _, params = load(VISION_DIR, "cnn_model").load_weights(vision["out"] / "weights.npz")
    check_card(vision["out"] / "model.card.json", vision["onnx"], params)
    _, x_test, _, _ = load(VISION_DIR, "cnn_model").digits_split()
    logits, probs = session(vision["onnx"]).run(None, {"pixels": x_test[:50]})
    ref = np.asarray(
        vision["train"].forward({k: jnp.asarray(v) for k, v in params.items()}, x_test[:50])
    )
    assert logits.shape == probs.shape == (50, 10)
    np.testing.assert_allclose(logits, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs.argmax(axis=1), ref.argmax(axis=1))


def test_vision_default_config_reaches_90_percent(vision: dict[str, Any]) -> None:
    assert vision["log"]["test_accuracy"] >= 0.90
    result = subprocess.run(
        [sys.executable, str(VISION_DIR / "classify.py"), "--model", str(vision["onnx"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]  # "accuracy 0.9778 (352/360 held-out digits)"
    assert last.startswith("accuracy ") and float(last.split()[1]) >= 0.90
    assert abs(float(last.split()[1]) - vision["log"]["test_accuracy"]) < 0.01
