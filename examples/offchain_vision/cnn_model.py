"""The digits classifier's configuration, parameters, weight files and data split.

Shared by ``train.py`` (JAX), ``export.py`` (onnx) and ``classify.py`` (onnxruntime); this file
needs numpy and scikit-learn only.

The network: ``x / 16`` (scikit-learn's digits are 8×8 images with values 0–16), then
Conv 3×3 (pad 1) → ReLU → MaxPool 2×2 twice (8×8 → 4×4 → 2×2), flatten, one dense layer to
10 logits. Layouts are ONNX's: images NCHW, conv weights OIHW, dense weights ``[in, out]``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

CLASSES = 10
PIXEL_MAX = 16.0  # load_digits pixel range is 0..16; the model divides by this itself
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "build" / "offchain_vision"  # build/ is in .gitignore

FloatArray = npt.NDArray[np.float32]
Params = dict[str, FloatArray]


@dataclass(frozen=True)
class CNNConfig:
    """Channel widths and training schedule (Adam, mini-batches, fixed seed)."""

    conv1: int = 16
    conv2: int = 32
    epochs: int = 30
    batch: int = 32
    lr: float = 3e-3
    seed: int = 0

    def to_json(self) -> str:
        """The configuration as a JSON object (sorted keys)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CNNConfig:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


TINY = CNNConfig(conv1=4, conv2=8, epochs=5)


def param_shapes(cfg: CNNConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every weight."""
    return {
        "conv1_w": (cfg.conv1, 1, 3, 3),
        "conv1_b": (cfg.conv1,),
        "conv2_w": (cfg.conv2, cfg.conv1, 3, 3),
        "conv2_b": (cfg.conv2,),
        "dense_w": (cfg.conv2 * 2 * 2, CLASSES),
        "dense_b": (CLASSES,),
    }


def init_params(cfg: CNNConfig) -> Params:
    """Seeded He-normal weights, zero biases."""
    rng = np.random.default_rng(cfg.seed)
    params: Params = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("_b"):
            params[name] = np.zeros(shape, np.float32)
            continue
        fan_in = int(np.prod(shape[1:])) if name.startswith("conv") else shape[0]
        params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
    return params


def param_count(params: Params) -> int:
    """Number of scalar weights."""
    return int(sum(v.size for v in params.values()))


def save_weights(path: Path, cfg: CNNConfig, params: Params) -> None:
    """Write the weights and the configuration to one ``.npz`` file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[np.generic]] = {k: np.asarray(v) for k, v in params.items()}
    arrays["__config__"] = np.array(cfg.to_json())
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_weights(path: Path) -> tuple[CNNConfig, Params]:
    """Read a file written by :func:`save_weights` (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        cfg = CNNConfig.from_json(str(data["__config__"]))
        params = {k: np.asarray(data[k], np.float32) for k in param_shapes(cfg)}
    return cfg, params


def digits_split(
    seed: int = 0,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """scikit-learn's 1,797 digits as ``[N, 1, 8, 8]`` float32 (values 0–16), split 80/20
    (stratified, seeded): ``x_train, x_test, y_train, y_test``."""
    digits = load_digits()
    x = digits.images.astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    return x_tr, x_te, y_tr, y_te
