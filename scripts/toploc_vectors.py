"""Generate the TOPLOC cross-check vectors with the real ``toploc`` package.

    python3 -m venv /tmp/toplocenv
    /tmp/toplocenv/bin/pip install torch==2.6.0 numpy      # toploc 0.1.6's wheel links torch 2.6
    /tmp/toplocenv/bin/pip install --no-deps toploc==0.1.6
    /tmp/toplocenv/bin/python scripts/toploc_vectors.py   # -> tests/vectors/toploc/vectors.json

``toploc`` needs torch, which the project's environment does not carry, so this script is run
by hand in a scratch environment and its output is committed. For each case it records the
float32 hidden states (or the formula that makes them), the package's proof bytes
(``build_proofs_bytes(tensor.to(bfloat16), dbs, topk, skip_prefill=True)``) and the package's
``verify_proofs_bytes`` metrics (its C++ path: exponent mismatches, mean and upper-median
mantissa error) for several validator-side variants of the hidden states, plus the package's
verdict on proofs built by ``aivm.ai.verify.toploc`` (imported from ``src/``, numpy only).
``tests/unit/test_toploc.py`` checks that the numpy implementation reproduces all of it.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import toploc
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from aivm.ai.verify import toploc as ours  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "toploc" / "vectors.json"
THRESHOLDS = {"max_exp_mismatches": 38, "max_mant_err_mean": 10, "max_mant_err_median": 8}


def modulus_pattern(n_tokens: int, d_model: int, overrides: list[tuple[int, float]]) -> np.ndarray:
    """A wide chunk (> 65497 values) whose top-k indices collide modulo 65497: small
    background values plus ``overrides`` (flat index, value). Integer and float32 steps
    only, so the unit test rebuilds it bit for bit."""
    i = np.arange(n_tokens * d_model, dtype=np.int64)
    flat = ((i * 7919) % 2001 - 1000).astype(np.float32) * np.float32(1e-5)
    for index, value in overrides:
        flat[index] = np.float32(value)
    return flat.reshape(n_tokens, d_model)


def variants(hidden: np.ndarray) -> dict[str, np.ndarray]:
    """Validator-side versions of the hidden states (float32 operations only)."""
    return {
        "same": hidden,
        "scaled_1.01": hidden * np.float32(1.01),
        "fp16_roundtrip": hidden.astype(np.float16).astype(np.float32),
        "mixed_0.1": hidden + np.float32(0.1) * np.roll(hidden, 1, axis=1),
        "flipped": np.ascontiguousarray(hidden[:, ::-1]),
    }


def package_verify(hidden: np.ndarray, proofs: list[bytes], dbs: int, topk: int) -> list[Any]:
    """The package's metrics, one ``[exp_mismatches, mean, median]`` per chunk."""
    acts = torch.from_numpy(hidden).to(torch.bfloat16)
    results = toploc.verify_proofs_bytes(acts, proofs, dbs, topk, skip_prefill=True)
    return [[r.exp_mismatches, r.mant_err_mean, r.mant_err_median] for r in results]


def accepted(metrics: list[Any]) -> bool:
    """The TOPLOC experiments' rule (``TEXP = 90`` of 128, ``TMEAN = 10``, ``TMEDIAN = 8``)."""
    return all(
        e <= THRESHOLDS["max_exp_mismatches"]
        and mean <= THRESHOLDS["max_mant_err_mean"]
        and median <= THRESHOLDS["max_mant_err_median"]
        for e, mean, median in metrics
    )


def case(
    name: str, hidden: np.ndarray, dbs: int, topk: int, stored: dict[str, Any]
) -> dict[str, Any]:
    """One vector: inputs, the package's proofs, its verdicts on each variant and on ours."""
    acts = torch.from_numpy(hidden).to(torch.bfloat16)
    proofs = toploc.build_proofs_bytes(acts, dbs, topk, skip_prefill=True)
    assert all(p[:2] != b"\x00\x00" for p in proofs), "the package returned null proofs"
    mine = ours.build_proofs(hidden, decode_batching_size=dbs, topk=topk)
    checks = []
    for variant, data in variants(hidden).items():
        metrics = package_verify(data, proofs, dbs, topk)
        checks.append({"variant": variant, "metrics": metrics, "accepted": accepted(metrics)})
    on_ours = package_verify(hidden, mine, dbs, topk)
    equal = [a == b for a, b in zip(proofs, mine, strict=True)]
    print(f"{name}: {len(proofs)} proofs, equal to ours per chunk: {equal}")
    for c in checks:
        print(f"  {c['variant']:15s} accepted={c['accepted']} {c['metrics']}")
    return {
        "name": name,
        "decode_batching_size": dbs,
        "topk": topk,
        "hidden": stored,
        "proofs_hex": [p.hex() for p in proofs],
        "ours_proofs_hex": [p.hex() for p in mine],
        "verify": checks,
        "package_verifies_ours": {"metrics": on_ours, "accepted": accepted(on_ours)},
    }


def stored_array(hidden: np.ndarray) -> dict[str, Any]:
    """Hidden states as base64 of little-endian float32."""
    return {
        "shape": list(hidden.shape),
        "f32le_b64": base64.b64encode(hidden.astype("<f4").tobytes()).decode(),
    }


def main() -> None:
    """Write ``tests/vectors/toploc/vectors.json``."""
    rng = np.random.default_rng(20260101)
    cases = []
    h = rng.standard_normal((72, 64)).astype(np.float32)
    cases.append(case("normal_d64_n72", h, 32, 128, stored_array(h)))
    scales = np.exp(rng.uniform(-1.0, 2.0, 256)).astype(np.float32)  # outlier dimensions
    h = (rng.standard_normal((40, 256)).astype(np.float32) * scales).astype(np.float32)
    cases.append(case("outliers_d256_n40", h, 32, 128, stored_array(h)))
    h = rng.standard_normal((10, 16)).astype(np.float32)
    cases.append(case("small_d16_n10_k4_b3", h, 3, 4, stored_array(h)))
    h = (np.round(rng.standard_normal((32, 64)) * 4) / 4).astype(np.float32)
    cases.append(case("ties_d64_n32", h, 32, 128, stored_array(h)))
    pairs = [int(j) for j in rng.choice(1700, 64, replace=False)]
    overrides = []
    for m, j in enumerate(pairs):
        overrides.append((j, 1.0 + m / 128))
        overrides.append((j + 65497, -(1.0 + (m + 0.5) / 128) * 2))
    h = modulus_pattern(33, 2100, overrides)
    recipe = {"shape": [33, 2100], "formula": "modulus_pattern", "overrides": overrides}
    cases.append(case("modulus_d2100_n33", h, 32, 128, recipe))
    doc = {
        "source": "toploc 0.1.6 (PyPI wheel cp311 manylinux) on torch "
        + torch.__version__
        + "; generated by scripts/toploc_vectors.py",
        "thresholds": THRESHOLDS,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
