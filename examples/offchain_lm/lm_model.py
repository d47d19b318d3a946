"""The byte-level language model's configuration, parameters, weight files and training text.

Shared by ``train.py`` (JAX), ``export.py`` (onnx) and ``generate.py`` (onnxruntime); this file
needs numpy only, so exporting and serving do not need JAX.

The model is a decoder-only transformer over bytes (vocabulary 256, no tokenizer): token
embeddings plus learned positions, ``n_layers`` pre-LayerNorm blocks of causal multi-head
self-attention and a GELU MLP, a final LayerNorm, and a head tied to the token embeddings
(``logits = last_hidden @ tok_emb.T``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

VOCAB = 256  # bytes
LN_EPS = 1e-5
MASK_VALUE = -1e9  # added to attention scores of future positions
EXAMPLE_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLE_DIR.parents[1]
DEFAULT_OUT = REPO_ROOT / "build" / "offchain_lm"  # build/ is in .gitignore

FloatArray = npt.NDArray[np.float32]
Params = dict[str, FloatArray]


@dataclass(frozen=True)
class LMConfig:
    """Model shape and training schedule. The default has about 3.3 M parameters."""

    context: int = 128
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    steps: int = 1000
    batch: int = 16
    lr: float = 3e-3
    warmup: int = 30
    weight_decay: float = 0.01
    seed: int = 0

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.n_heads

    def to_json(self) -> str:
        """The configuration as a JSON object (sorted keys)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LMConfig:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


TINY = LMConfig(
    context=32, d_model=64, n_layers=2, n_heads=4, d_ff=256, steps=150, batch=32, lr=1e-2, warmup=20
)


def param_shapes(cfg: LMConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every weight, in a fixed order (``blk{i}.*`` per block)."""
    d, f = cfg.d_model, cfg.d_ff
    shapes: dict[str, tuple[int, ...]] = {"tok_emb": (VOCAB, d), "pos_emb": (cfg.context, d)}
    for i in range(cfg.n_layers):
        p = f"blk{i}."
        shapes |= {
            p + "ln1_g": (d,),
            p + "ln1_b": (d,),
            p + "w_qkv": (d, 3 * d),
            p + "b_qkv": (3 * d,),
            p + "w_o": (d, d),
            p + "b_o": (d,),
            p + "ln2_g": (d,),
            p + "ln2_b": (d,),
            p + "w_fc": (d, f),
            p + "b_fc": (f,),
            p + "w_proj": (f, d),
            p + "b_proj": (d,),
        }
    shapes |= {"lnf_g": (d,), "lnf_b": (d,)}
    return shapes


def init_params(cfg: LMConfig) -> Params:
    """Seeded initial weights: N(0, 0.02) matrices (residual projections scaled down by
    ``sqrt(2 * n_layers)``), N(0, 1/sqrt(d_model)) token embeddings (they are the tied head
    too; with 0.02 small models sit at the unigram loss for long), zero biases, unit
    LayerNorm gains."""
    rng = np.random.default_rng(cfg.seed)
    params: Params = {}
    for name, shape in param_shapes(cfg).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf.endswith("_g"):
            value = np.ones(shape)
        elif leaf.startswith("b_") or leaf.endswith("_b"):
            value = np.zeros(shape)
        else:
            std = cfg.d_model**-0.5 if name == "tok_emb" else 0.02
            if leaf in ("w_o", "w_proj"):
                std /= np.sqrt(2 * cfg.n_layers)
            value = rng.normal(0.0, std, shape)
        params[name] = value.astype(np.float32)
    return params


def param_count(params: Params) -> int:
    """Number of scalar weights (the tied head adds none)."""
    return int(sum(v.size for v in params.values()))


def save_weights(path: Path, cfg: LMConfig, params: Params) -> None:
    """Write the weights and the configuration to one ``.npz`` file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[np.generic]] = {k: np.asarray(v) for k, v in params.items()}
    arrays["__config__"] = np.array(cfg.to_json())
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_weights(path: Path) -> tuple[LMConfig, Params]:
    """Read a file written by :func:`save_weights` (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        cfg = LMConfig.from_json(str(data["__config__"]))
        params = {k: np.asarray(data[k], np.float32) for k in param_shapes(cfg)}
    return cfg, params


def corpus_files() -> list[Path]:
    """The training text: the repository's ``README.md`` and ``docs/**/*.md``, sorted."""
    docs = sorted((REPO_ROOT / "docs").rglob("*.md"))
    return [REPO_ROOT / "README.md", *docs]


def load_corpus() -> tuple[npt.NDArray[np.int32], str]:
    """The concatenated training text as byte ids, and its sha256 (the text changes with the
    docs, so each run records which text it saw)."""
    blob = b"\n\n".join(p.read_bytes() for p in corpus_files())
    return np.frombuffer(blob, np.uint8).astype(np.int32), hashlib.sha256(blob).hexdigest()


def encode(text: str) -> list[int]:
    """Text → byte ids (UTF-8)."""
    return list(text.encode("utf-8"))


def decode(ids: list[int]) -> str:
    """Byte ids → text (invalid UTF-8 sequences become U+FFFD)."""
    return bytes(ids).decode("utf-8", errors="replace")
