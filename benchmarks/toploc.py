"""TOPLOC on the off-chain LM example: proof size, the provider's fingerprint overhead, the
validator's prefill cost, and accept rates on honest and tampered generations.

Timing (one onnxruntime thread, CPU time of this process, minimum over repetitions, plain
greedy generation and generation with evidence interleaved):

- ``gen``: ``examples/offchain_lm/generate.py``'s ``generate_ids``;
- ``gen_with_evidence``: :func:`aivm.worker.toploc_lm.generate_with_evidence` (keeps each
  step's last hidden row, one extra step for the last token, builds the proofs);
- ``build_proofs``: the proofs alone, from the hidden states;
- ``verify``: :func:`~aivm.worker.toploc_lm.verify_generation` (one prefill below the
  context, batched windows past it, the comparison and the greedy check).

Models: the default LM (d_model 256, context 128; ``build/offchain_lm/model.onnx`` when it
exists, else seeded initial weights, which time the same) and the tiny one (d_model 64,
context 32, trained here in ~15 s with JAX).

Rates (tiny LM, ``--prompts`` prompts cut from the training text, 60 generated tokens or 32 in
all for the cases that use the JAX forward pass): how often :func:`verify_generation` accepts
honest and tampered evidence, under the published thresholds and the float32-replica ones,
with and without the greedy-token check.

Usage: python benchmarks/toploc.py [--prompts 30] [--reps 5] [--no-rates]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort

from aivm.ai.verify import toploc
from aivm.worker import toploc_lm as tl

ROOT = Path(__file__).resolve().parents[1]
LM_DIR = ROOT / "examples" / "offchain_lm"
THRESHOLDS = {"published": toploc.DEFAULT_THRESHOLDS, "fp32": toploc.REPLICA_FP32_THRESHOLDS}


def load(name: str) -> ModuleType:
    """Import ``examples/offchain_lm/<name>.py`` (its directory on ``sys.path``)."""
    if str(LM_DIR) not in sys.path:
        sys.path.insert(0, str(LM_DIR))
    alias = f"offchain_lm_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, LM_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def session(path: Path) -> ort.InferenceSession:
    """A one-thread onnxruntime CPU session."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def cpu_time(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Minimum CPU seconds of ``fn`` over ``reps`` calls, and its last result."""
    best, result = float("inf"), None
    for _ in range(reps):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def export_model(weights: Path, params: dict[str, np.ndarray], cfg: Any) -> Path:
    """Save ``params`` and export them next to ``weights``; returns the ONNX path."""
    load("lm_model").save_weights(weights, cfg, params)
    path, _ = load("export").export(weights, weights.parent)
    return Path(path)


def default_model(out: Path) -> tuple[Path, str]:
    """The default LM (d_model 256, context 128): ``build/offchain_lm/model.onnx`` when it
    exists (trained), else seeded initial weights exported under ``out`` (they time the same).
    Returns the ONNX path and a label saying which."""
    built = ROOT / "build" / "offchain_lm" / "model.onnx"
    if built.exists():
        return built, "default d256 ctx128 (trained, build/offchain_lm)"
    lm_model = load("lm_model")
    cfg = lm_model.LMConfig()
    path = export_model(out / "default" / "weights.npz", lm_model.init_params(cfg), cfg)
    return path, "default d256 ctx128 (seeded init weights)"


def tiny_model(out: Path) -> Path:
    """Train the tiny LM (d_model 64, context 32; ~15 s with JAX) into ``out`` and export it;
    returns the ONNX path (``out/model.onnx``, weights in ``out/weights.npz``)."""
    lm_model, train = load("lm_model"), load("train")
    train.train(lm_model.TINY, out, log_every=0)
    return Path(load("export").export(out / "weights.npz", out)[0])


def timing(label: str, path: Path, context: int, tokens: int, reps: int) -> dict[str, Any]:
    """One timing row (see the module docstring)."""
    sess, prompt = session(path), list(b"AIVM is ")
    generate = load("generate")
    plain, with_ev = [], []
    for _ in range(reps):
        a, gen = cpu_time(lambda: generate.generate_ids(sess, prompt, tokens, context), 1)
        b, (gen2, ev) = cpu_time(
            lambda: tl.generate_with_evidence(sess, prompt, tokens, context=context), 1
        )
        assert gen2 == gen
        plain.append(a)
        with_ev.append(b)
    t_gen, t_ev = min(plain), min(with_ev)
    hidden = tl.states_at(sess, [*prompt, *gen], len(prompt), context).hidden
    t_build, proofs = cpu_time(lambda: toploc.build_proofs(hidden), reps * 3)
    t_verify, result = cpu_time(
        lambda: tl.verify_generation(sess, prompt, gen, ev, context=context), reps
    )
    return {
        "model": label,
        "tokens": tokens,
        "chunks": len(proofs),
        "proof_bytes_per_chunk": sorted({len(p) for p in proofs}),
        "evidence_bytes": len(ev),
        "gen_ms": round(t_gen * 1e3, 2),
        "gen_with_evidence_ms": round(t_ev * 1e3, 2),
        "overhead_pct": round(100 * (t_ev - t_gen) / t_gen, 2),
        "build_proofs_ms": round(t_build * 1e3, 3),
        "build_pct": round(100 * t_build / t_gen, 2),
        "verify_ms": round(t_verify * 1e3, 2),
        "verify_pct": round(100 * t_verify / t_gen, 2),
        "honest_accepted": result.accepted,
    }


def quantized(hidden: np.ndarray, mantissa_bits: int) -> np.ndarray:
    """Hidden states kept with fewer bf16 mantissa bits (round half up)."""
    bits = toploc.float32_to_bf16_bits(hidden).astype(np.int64)
    drop = 7 - mantissa_bits
    coarse = ((bits + (1 << (drop - 1))) >> drop << drop).astype(np.uint16)
    return toploc.bf16_bits_to_float32(coarse).reshape(hidden.shape)


def rates(out: Path, n_prompts: int) -> dict[str, Any]:
    """Accept counts per case on the tiny LM (see the module docstring)."""
    import jax
    import jax.numpy as jnp

    lm_model, train = load("lm_model"), load("train")
    honest = session(tiny_model(out / "honest"))
    cfg, params = lm_model.load_weights(out / "honest" / "weights.npz")
    rng = np.random.default_rng(42)

    def bf16(v: np.ndarray) -> np.ndarray:
        return toploc.bf16_bits_to_float32(toploc.float32_to_bf16_bits(v)).reshape(v.shape)

    subs = {
        "model_reinit": lm_model.init_params(lm_model.LMConfig(**{**cfg.__dict__, "seed": 7})),
        "model_noise_1pct": {
            k: (v * (1 + 0.01 * rng.standard_normal(v.shape))).astype(np.float32)
            for k, v in params.items()
        },
        "model_fp16_weights": {
            k: v.astype(np.float16).astype(np.float32) for k, v in params.items()
        },
        "model_bf16_weights": {k: bf16(v) for k, v in params.items()},
    }
    sub_sessions = {
        n: session(export_model(out / n / "weights.npz", p, cfg)) for n, p in subs.items()
    }
    fwd = jax.jit(train.forward, static_argnums=0)

    def jax_hidden(dtype: Any, ids: list[int], start: int) -> np.ndarray:
        jp = {k: jnp.asarray(v, dtype) for k, v in params.items()}
        return np.asarray(fwd(cfg, jp, jnp.asarray([ids]))[1][0, start:], np.float32)

    def evidence(hidden: np.ndarray) -> bytes:
        return toploc.proofs_to_bytes(toploc.build_proofs(hidden))

    counts: dict[str, dict[str, int]] = {}

    def record(case: str, prompt: list[int], gen: list[int], ev: bytes) -> None:
        row = counts.setdefault(case, {"n": 0})
        row["n"] += 1
        for tn, th in THRESHOLDS.items():
            for greedy in (False, True):
                r = tl.verify_generation(
                    honest, prompt, gen, ev, context=cfg.context, thresholds=th, greedy=greedy
                )
                key = f"{tn}{'+greedy' if greedy else ''}"
                row[key] = row.get(key, 0) + int(r.accepted)

    text, _ = lm_model.load_corpus()
    starts = rng.integers(0, len(text) - 20, n_prompts)
    for s in starts:
        prompt = [int(b) for b in text[s : s + int(rng.integers(4, 10))]]
        gen, ev = tl.generate_with_evidence(honest, prompt, 60, context=cfg.context)
        record("honest", prompt, gen, ev)
        altered = list(gen)
        j = int(rng.integers(0, 60))
        altered[j] = int((altered[j] + rng.integers(1, 256)) % 256)
        record("one_token_altered", prompt, altered, ev)
        hidden = tl.states_at(honest, [*prompt, *gen], len(prompt), cfg.context).hidden
        record("hidden_3_mantissa_bits", prompt, gen, evidence(quantized(hidden, 3)))
        for name, sess in sub_sessions.items():
            g, e = tl.generate_with_evidence(sess, prompt, 60, context=cfg.context)
            record(name, prompt, g, e)
        short, _ = tl.generate_with_evidence(honest, prompt, 32 - len(prompt), context=32)
        ids = prompt + short
        for name, dtype in (("f32", jnp.float32), ("bf16", jnp.bfloat16), ("f16", jnp.float16)):
            ev = evidence(jax_hidden(dtype, ids, len(prompt)))
            record(f"xla_{name}_compute", prompt, short, ev)
    return counts


def main() -> None:
    """Command-line entry: prints one JSON object per line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-rates", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        default, label = default_model(out)
        for tokens in (96, 200):
            print(json.dumps(timing(label, default, 128, tokens, args.reps)))
        if not args.no_rates:
            counts = rates(out, args.prompts)
            tiny = out / "honest" / "model.onnx"
            for tokens in (24, 60):
                print(json.dumps(timing("tiny d64 ctx32", tiny, 32, tokens, args.reps * 2)))
            for case, row in counts.items():
                print(json.dumps({"case": case, **row}))


if __name__ == "__main__":
    main()
