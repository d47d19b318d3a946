"""EZKL zero-knowledge proofs of MLP inference (``aivm.worker.zk_prover``) against onnxruntime.

For the tiny test MLP 4-8-2 and the anchor MLP 784-56-10 (``tests/onnx_fixtures.py``, logits
without the softmax, synthetic MNIST-like rows), in one process: circuit setup (settings,
calibration on 20 rows for ``--target``, compile, ``gen_srs``, keys; ``gen_srs`` also timed
alone), proving (median of ``--proves``), the off-chain ``verify_proof`` (canonical proof →
``check_proof`` → temporary files → EZKL → verdict; median of ``--verifies``), the chain's
pure ``check_proof`` alone (``aivm.ai.verify.zk``) and EZKL's bare ``verify`` on files,
against single-threaded onnxruntime float inference of the same model; proof, key and SRS
sizes; the gas ``verify_gas`` charges and CPU ns per gas against ADR 0010's reference
(≈2.7 ns per gas unit on the 2-core development VM; run with ``RAYON_NUM_THREADS=1`` for the
one-core cost the gas is set from); the largest difference between the proven output
and onnxruntime's. EZKL uses every core (rayon); onnxruntime one thread.

Usage: .venv/bin/python benchmarks/zk_ezkl.py [--target resources|accuracy] [--models tiny,mnist]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from aivm.ai.verify import zk
from aivm.worker import zk_prover

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from onnx_fixtures import build_mnist_like_mlp, mnist_like_data  # the tests' model builders

REFERENCE_NS_PER_GAS = 2.7
MODELS = {"tiny": (4, 8, 2), "mnist": (784, 56, 10)}


def median_s(call: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``call`` in seconds over ``repeat`` calls (after one warm-up)."""
    return median_wall_cpu(call, repeat)[0]


def median_wall_cpu(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and process CPU time (all threads) of ``call`` in seconds, after a
    warm-up. CPU time is what a loaded shared VM distorts least."""
    call()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return statistics.median(wall), statistics.median(cpu)


def ort_us(proto: onnx.ModelProto, row: np.ndarray) -> tuple[float, np.ndarray]:
    """Median single-row latency (µs) of single-threaded onnxruntime, and its output."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    x = row.astype(np.float32)[None, :]
    output = session.run(None, {"x": x})[0][0]
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(2000):
            session.run(None, {"x": x})
        samples.append((time.perf_counter() - start) / 2000 * 1e6)
    return statistics.median(samples), output


def bench(
    name: str, sizes: Sequence[int], target: str, proves: int, verifies: int
) -> dict[str, Any]:
    """All figures for one model."""
    proto = build_mnist_like_mlp(0, sizes, softmax=False)
    X, _ = mnist_like_data(0, 21, sizes[0], sizes[-1])
    with tempfile.TemporaryDirectory(prefix=f"zk-bench-{name}-") as tmp:
        root = Path(tmp)
        onnx.save(proto, root / "model.onnx")
        start = time.perf_counter()
        kit = zk_prover.setup_circuit(
            root / "model.onnx", X[:20].tolist(), root / "circuit", target=target
        )
        setup_s = time.perf_counter() - start
        srs_s = _time_gen_srs(root, zk.parse_settings(kit.artifacts.settings).logrows)
        row = tuple(float(v) for v in X[20])
        proof = zk_prover.prove(kit, row)
        prove_s = median_s(lambda: zk_prover.prove(kit, row), proves) if proves else float("nan")
        art = kit.artifacts
        verdict = zk_prover.verify_proof(
            proof, art.settings, art.verifying_key, art.srs, expected_srs_digest=art.srs_digest
        )
        verify_s, verify_cpu_s = median_wall_cpu(
            lambda: zk_prover.verify_proof(
                proof, art.settings, art.verifying_key, art.srs, expected_srs_digest=art.srs_digest
            ),
            verifies,
        )
        check_s = median_s(
            lambda: zk.check_proof(
                proof, art.settings, art.verifying_key, art.srs, expected_srs_digest=art.srs_digest
            ),
            verifies,
        )
        bare_s = median_s(lambda: _bare_verify(kit), verifies)
        pk_bytes = kit.proving_key.stat().st_size
        full_srs = kit.srs_path.stat().st_size
        json_proof = max(root.glob("circuit/prove-*/proof.json")).stat().st_size
    settings = zk.parse_settings(art.settings)
    infer_us, expected = ort_us(proto, X[20])
    proven = np.asarray(verdict.public_outputs) / 2.0 ** verdict.output_scales[0]
    gas = zk.verify_gas(len(proof), len(art.verifying_key), settings.num_public_values)
    return {
        "model": "-".join(map(str, sizes)),
        "target": target,
        "logrows": settings.logrows,
        "input_scale": settings.input_scales[0],
        "gen_srs_s": round(srs_s, 2),
        "setup_s": round(setup_s, 2),
        "prove_s": round(prove_s, 2),
        "verify_ms": round(verify_s * 1e3, 2),
        "verify_cpu_ms": round(verify_cpu_s * 1e3, 2),
        "check_proof_us": round(check_s * 1e6, 1),
        "bare_ezkl_verify_ms": round(bare_s * 1e3, 2),
        "onnxruntime_us": round(infer_us, 1),
        "prove_vs_onnxruntime": round(prove_s * 1e6 / infer_us),
        "verify_vs_onnxruntime": round(verify_s * 1e6 / infer_us),
        "proof_bytes": len(proof),
        "ezkl_proof_json_bytes": json_proof,
        "public_values": settings.num_public_values,
        "verifying_key_bytes": len(art.verifying_key),
        "settings_bytes": len(art.settings),
        "proving_key_bytes": pk_bytes,
        "full_srs_bytes": full_srs,
        "verifier_srs_bytes": len(art.srs),
        "verify_gas": gas,
        "verify_cpu_ns_per_gas": round(verify_cpu_s * 1e9 / gas, 2),
        "vs_reference": round(verify_cpu_s * 1e9 / gas / REFERENCE_NS_PER_GAS, 2),
        "max_abs_output_error": float(np.max(np.abs(proven - expected))),
    }


def _time_gen_srs(root: Path, logrows: int) -> float:
    """Seconds ``gen_srs`` takes alone (part of ``setup_s``) at ``logrows``."""
    start = time.perf_counter()
    zk_prover._ezkl().gen_srs(str(root / "again.srs"), logrows)
    return time.perf_counter() - start


def _bare_verify(kit: zk_prover.ProverKit) -> None:
    """EZKL's verify on the prover's files (full SRS), no framing or temporary files."""
    run = max(kit.compiled_circuit.parent.glob("prove-*"))
    ok = zk_prover._ezkl().verify(
        str(run / "proof.json"),
        str(kit.compiled_circuit.parent / "settings.json"),
        str(kit.compiled_circuit.parent / "vk.key"),
        str(kit.srs_path),
        False,
    )
    assert ok is True


def main() -> None:
    """Run the benchmark and print one JSON object per model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="resources", choices=["resources", "accuracy"])
    parser.add_argument("--models", default="tiny,mnist")
    parser.add_argument("--proves", type=int, default=2)
    parser.add_argument("--verifies", type=int, default=10)
    args = parser.parse_args()
    for name in args.models.split(","):
        figures = bench(name, MODELS[name], args.target, args.proves, args.verifies)
        print(json.dumps(figures), flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak_mb)}))


if __name__ == "__main__":
    main()
