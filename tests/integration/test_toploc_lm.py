"""TOPLOC on the marketplace's LM example (``aivm.worker.toploc_lm``): the tiny byte-level
LM of ``examples/offchain_lm`` is trained and exported once (the ``lm`` fixture of
``test_offchain_examples``), a provider generates with evidence, a validator verifies with one
prefill. Honest runs (step-wise, prefill, another float32 implementation) pass; a substituted
model, altered tokens, a lower precision and replayed or malformed evidence do not.

Two threshold sets: the published ones (``DEFAULT_THRESHOLDS``: 38 exponent mismatches of 128,
mean mantissa error 10, median 8) absorb bf16 GPU noise on large models and, on this 2-layer
model, catch only gross substitutions by themselves (the greedy-token check catches altered
tokens); ``REPLICA_FP32_THRESHOLDS`` (float32 providers, the example's setting) catch all the
cases below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import onnxruntime as ort
import pytest

from aivm.ai.verify import toploc
from aivm.types.errors import AivmError
from aivm.worker import toploc_lm as tl
from integration.test_offchain_examples import LM_DIR, load
from integration.test_offchain_examples import lm as lm  # the module-scoped fixture

pytestmark = pytest.mark.slow  # trains the tiny LM (~15 s)

PROMPTS = [list(b"AIVM is "), list(b"The chain "), list(b"Validators "), list(b"# ")]
TOKENS = 60  # past the tiny context (32): two chunks, the second from sliding windows
DEFAULT, FP32 = toploc.DEFAULT_THRESHOLDS, toploc.REPLICA_FP32_THRESHOLDS


def session(path: Path) -> ort.InferenceSession:
    """An onnxruntime CPU session."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def env(lm: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The honest session, its config and weights, and substituted models (same
    architecture, other weights) exported next to it."""
    lm_model, export = load(LM_DIR, "lm_model"), load(LM_DIR, "export")
    cfg, params = lm_model.load_weights(lm["out"] / "weights.npz")
    rng = np.random.default_rng(11)

    def bf16(v: np.ndarray) -> np.ndarray:
        return toploc.bf16_bits_to_float32(toploc.float32_to_bf16_bits(v)).reshape(v.shape)

    substitutes = {
        "reinit": lm_model.init_params(lm_model.LMConfig(**{**cfg.__dict__, "seed": 7})),
        "noise1pct": {
            k: (v * (1 + 0.01 * rng.standard_normal(v.shape))).astype(np.float32)
            for k, v in params.items()
        },
        "bf16_weights": {k: bf16(v) for k, v in params.items()},
    }
    sessions = {}
    for name, weights in substitutes.items():
        out = tmp_path_factory.mktemp(name)
        lm_model.save_weights(out / "weights.npz", cfg, weights)
        onnx_path, _ = export.export(out / "weights.npz", out)
        sessions[name] = session(onnx_path)
    return {"sess": session(lm["onnx"]), "cfg": cfg, "params": params, "subs": sessions}


def verify(env: dict[str, Any], prompt: list[int], gen: list[int], ev: bytes, **kw: Any) -> Any:
    """``verify_generation`` against the honest model."""
    return tl.verify_generation(env["sess"], prompt, gen, ev, context=env["cfg"].context, **kw)


def generate(sess: Any, env: dict[str, Any], prompt: list[int], n: int = TOKENS) -> Any:
    """``generate_with_evidence`` with the tiny context."""
    return tl.generate_with_evidence(sess, prompt, n, context=env["cfg"].context)


def jax_hidden(env: dict[str, Any], dtype: Any, ids: list[int], start: int) -> np.ndarray:
    """The hidden states of another implementation (XLA) at ``dtype``."""
    train = load(LM_DIR, "train")
    params = {k: jnp.asarray(v, dtype) for k, v in env["params"].items()}
    fwd = jax.jit(train.forward, static_argnums=0)
    _, hidden = fwd(env["cfg"], params, jnp.asarray([ids]))
    return np.asarray(hidden[0, start:], np.float32)


def evidence_of(hidden: np.ndarray) -> bytes:
    """The evidence blob of some hidden states."""
    return toploc.proofs_to_bytes(toploc.build_proofs(hidden))


def test_honest_generation_passes(env: dict[str, Any]) -> None:
    generate_py = load(LM_DIR, "generate")
    for prompt in PROMPTS:
        gen, ev = generate(env["sess"], env, prompt)
        assert gen == generate_py.generate_ids(env["sess"], prompt, TOKENS, env["cfg"].context)
        assert len(ev) == 13 + 2 * (2 + toploc.PROOF_BYTES)  # two chunks of 258 bytes
        # the provider's after-the-fact prefill gives the same evidence
        assert tl.fingerprint_generation(env["sess"], prompt, gen, context=32) == ev
        for thresholds in (DEFAULT, FP32):
            result = verify(env, prompt, gen, ev, thresholds=thresholds)
            assert result.accepted, result.reason
            assert result.exp_mismatches == (0, 0)
    # an empty prompt stands for "\n", as in generate.py
    gen, ev = generate(env["sess"], env, [], 40)
    assert verify(env, [], gen, ev).accepted


def test_another_float32_implementation_passes(env: dict[str, Any]) -> None:
    for prompt in PROMPTS:
        gen, _ = generate(env["sess"], env, prompt, 32 - len(prompt))
        ev = evidence_of(jax_hidden(env, jnp.float32, prompt + gen, len(prompt)))
        assert verify(env, prompt, gen, ev, thresholds=FP32).accepted


def test_substituted_model_fails(env: dict[str, Any]) -> None:
    for prompt in PROMPTS:
        gen, ev = generate(env["subs"]["reinit"], env, prompt)
        result = verify(env, prompt, gen, ev, thresholds=DEFAULT, greedy=False)
        assert not result.accepted and "exp" in result.reason  # mismatches / no matches
        # weights 1% off: within the published thresholds here, caught by the float32 ones
        gen, ev = generate(env["subs"]["noise1pct"], env, prompt)
        assert not verify(env, prompt, gen, ev, thresholds=FP32, greedy=False).accepted


def test_altered_tokens_fail(env: dict[str, Any]) -> None:
    prompt = PROMPTS[0]
    gen, ev = generate(env["sess"], env, prompt)
    for j in (0, 17, 31, 32, 59):
        altered = list(gen)
        altered[j] = (altered[j] + 1) % 256
        by_tokens = verify(env, prompt, altered, ev, thresholds=DEFAULT)
        assert not by_tokens.accepted and f"token {j}:" in by_tokens.reason
        assert not verify(env, prompt, altered, ev, thresholds=FP32, greedy=False).accepted
    # a shorter claim: the last chunk no longer matches; a much shorter one has too few chunks
    assert not verify(env, prompt, gen[:-1], ev, thresholds=FP32, greedy=False).accepted
    with pytest.raises(AivmError) as err:
        verify(env, prompt, gen[:32], ev)
    assert toploc.ErrToplocProofCount.is_(err.value)
    # another prompt with the same continuation
    assert not verify(env, PROMPTS[1], gen, ev, thresholds=FP32, greedy=False).accepted


def test_replayed_evidence_fails(env: dict[str, Any]) -> None:
    _, ev_a = generate(env["sess"], env, PROMPTS[0])
    gen_b, _ = generate(env["sess"], env, PROMPTS[2])
    result = verify(env, PROMPTS[2], gen_b, ev_a, thresholds=DEFAULT, greedy=False)
    assert not result.accepted


def test_precision_change_fails(env: dict[str, Any]) -> None:
    for prompt in PROMPTS:
        gen, ev = generate(env["subs"]["bf16_weights"], env, prompt)
        assert not verify(env, prompt, gen, ev, thresholds=FP32, greedy=False).accepted
        gen, _ = generate(env["sess"], env, prompt, 32 - len(prompt))
        ids = prompt + gen
        ev = evidence_of(jax_hidden(env, jnp.bfloat16, ids, len(prompt)))  # bf16 compute
        assert not verify(env, prompt, gen, ev, thresholds=FP32).accepted
        # hidden states kept with 3 mantissa bits (an fp8-like provider)
        hidden = tl.states_at(env["sess"], ids, len(prompt), 32).hidden
        bits = toploc.float32_to_bf16_bits(hidden).astype(np.int64)
        coarse = ((bits + 8) >> 4 << 4).astype(np.uint16)
        ev = evidence_of(toploc.bf16_bits_to_float32(coarse).reshape(hidden.shape))
        result = verify(env, prompt, gen, ev, thresholds=FP32)
        assert not result.accepted
        assert all(c.mant_err_mean > 1 for c in result.chunks)  # vs 1/32 allowed


def test_malformed_input_is_a_coded_error(env: dict[str, Any]) -> None:
    prompt = PROMPTS[0]
    gen, ev = generate(env["sess"], env, prompt)
    weak = toploc.proofs_to_bytes(
        toploc.build_proofs(
            tl.states_at(env["sess"], prompt + gen, len(prompt), 32).hidden,
            decode_batching_size=60,
            topk=8,
        ),
        decode_batching_size=60,
        topk=8,
    )
    cases = [
        (gen, weak, toploc.ErrToplocParams),
        (gen, ev[:-3], toploc.ErrToplocEvidence),
        (gen, b"junk", toploc.ErrToplocEvidence),
        ([], ev, toploc.ErrToplocGeneration),
        ([*gen[:-1], 300], ev, toploc.ErrToplocGeneration),
        ([*gen[:-1], -1], ev, toploc.ErrToplocGeneration),
    ]
    for ids, blob, code in cases:
        with pytest.raises(AivmError) as err:
            verify(env, prompt, ids, blob)
        assert code.is_(err.value), code
