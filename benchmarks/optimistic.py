"""Optimistic verification: the provider's overhead of committing to a trace, and the cost
of settling a dispute.

Overhead = (inference exposing every operator output + hashing every output
+ the trace commitment) / plain inference, on the same rows, same process, one thread:

- DSM ``gbdt``: the credit-scoring example's GradientBoostingClassifier (100 trees, depth 3,
  8 features; ``examples/credit_scoring``), imported with 2 decimals (2 operators);
- DSM ``mlp``: the int8 import of the float MLP 784-56-10 of ``benchmarks/dsm.py``
  (``tests/onnx_fixtures.py``; 6 operators);
- ONNX ``mlp``: the same MLP 784-56-10 in float32 under onnxruntime (6 nodes);
- ONNX ``cnn``: the digits CNN of ``examples/offchain_vision`` (seeded initial weights: the
  timing does not depend on training; 11 nodes, two outputs);
- ONNX ``wide``: a float MLP 784-2048-2048-10 (random weights; 8 nodes): much more compute
  per byte of activations, like the heavier models the off-chain path is meant for.

The overhead is mostly sha256 over the activations (about 1.1–1.8 GB/s on the VM), so it
depends on how many bytes of intermediate tensors a model writes per unit of compute: tiny
models (microseconds per row) pay several times their inference, wide ones a few percent.

Plain DSM inference is ``check_rows`` + ``Program.run`` (the fused chain when the model is
one); the traced run is :func:`aivm.ai.verify.trace.dsm_trace` (per-operator kernels). Plain
ONNX inference is a session of the original graph; the traced one an
:class:`~aivm.ai.verify.trace.OnnxTracer`. The input tensor is hashed too (``incl. input``);
the job's input hash is usually known already, so the ratio without it is printed as well.

For each DSM model it also prints the bisection rounds (``ceil(log2 n)``) and the time and gas
of the on-chain final step at the most expensive operator.

Usage: python benchmarks/optimistic.py [--samples 25] [--rows 1,64] [--onnx-rows 1024]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from aivm.ai import runtime
from aivm.ai.importers.onnx import from_onnx
from aivm.ai.importers.sklearn import from_sklearn
from aivm.ai.runtime.interpreter import Program
from aivm.ai.verify import bisection, trace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "examples" / "credit_scoring"))


def batch_us(call: Callable[[], Any], batch: int) -> float:
    """Mean wall time of ``call`` over one batch, in microseconds."""
    start = time.perf_counter()
    for _ in range(batch):
        call()
    return (time.perf_counter() - start) / batch * 1e6


def timed(
    calls: dict[str, Callable[[], Any]], batch_s: float = 0.01, samples: int = 25
) -> dict[str, float]:
    """Minimum over ``samples`` interleaved batches (about ``batch_s`` each) of each call, µs.

    The VM is shared: batches of every call alternate, so a busy spell hits them all, and the
    minimum is the least disturbed estimate of each call's own cost.
    """
    sizes = {}
    for name, call in calls.items():
        first = batch_us(call, 3)
        sizes[name] = max(1, int(batch_s * 1e6 / max(first, 0.1)))
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(samples):
        for name, call in calls.items():
            best[name] = min(best[name], batch_us(call, sizes[name]))
    return best


def overhead(
    plain: Callable[[], Any], traced: Callable[[], list[Any]], samples: int
) -> dict[str, float]:
    """Times of plain inference, the whole optimistic path (traced inference, hashing every
    tensor, commitment) and its parts, and the ratio of the whole to plain inference."""
    tensors = traced()
    hashes = [trace.tensor_hash(t) for t in tensors]

    def optimistic() -> bytes:
        outputs = traced()
        return trace.commit_trace([trace.tensor_hash(t) for t in outputs]).root

    def optimistic_input_known() -> bytes:
        outputs = traced()
        digests = [hashes[0]] + [trace.tensor_hash(t) for t in outputs[1:]]
        return trace.commit_trace(digests).root

    t = timed(
        {
            "plain": plain,
            "optimistic": optimistic,
            "input_known": optimistic_input_known,
            "traced": traced,
            "hash": lambda: [trace.tensor_hash(t) for t in tensors],
            "commit": lambda: trace.commit_trace(hashes),
        },
        samples=samples,
    )
    return {
        "plain_us": round(t["plain"], 1),
        "optimistic_us": round(t["optimistic"], 1),
        "traced_run_us": round(t["traced"], 1),
        "hash_us": round(t["hash"], 1),
        "commit_us": round(t["commit"], 1),
        "ratio": round(t["optimistic"] / t["plain"], 3),
        "ratio_input_hash_known": round(t["input_known"] / t["plain"], 3),
        "tensor_bytes": int(sum(t.nbytes for t in tensors)),
    }


def dsm_case(name: str, program: Program, rows: np.ndarray, samples: int) -> dict[str, Any]:
    """Overhead of a DSM model on ``rows`` (already quantized)."""
    limits = runtime.Limits()
    result = overhead(
        lambda: program.run(runtime.check_rows(program, rows, limits)),
        lambda: trace.dsm_trace(program, rows, limits),
        samples,
    )
    n = len(program.model.ops)
    return {"engine": "dsm", "model": name, "rows": len(rows), "steps": n, **result}


def final_step_case(name: str, program: Program, rows: np.ndarray, samples: int) -> dict[str, Any]:
    """Rounds, and the on-chain final step at the costliest operator (time and gas)."""
    n = len(program.model.ops)
    gas = runtime.GasTable()
    op = max(range(n), key=lambda i: trace.operator_gas(program, i, gas))
    tensors = trace.dsm_trace(program, rows)
    honest = trace.commit_trace([trace.tensor_hash(t) for t in tensors])
    bad = [t.copy() for t in tensors]
    bad[op + 1] = bad[op + 1] ^ 1
    cheat = trace.commit_trace([trace.tensor_hash(t) for t in bad])
    game = bisection.Game(
        n=n,
        provider_root=cheat.root,
        challenger_root=honest.root,
        lo=op,
        hi=op + 1,
        lo_leaf=honest.leaves[op],
        provider_hi_leaf=cheat.leaves[op + 1],
        challenger_hi_leaf=honest.leaves[op + 1],
        turn=bisection.Party.PROVIDER,
        deadline=10,
        round_blocks=10,
        status=bisection.Status.FINAL,
    )
    sources = trace.operator_sources(program, op)
    openings = [
        bisection.TensorOpening(s, tensors[s], trace.prove_tensor(honest, op, s)) for s in sources
    ]
    peaks = trace.prove_prefix(honest, op)

    def decide() -> bisection.Game:
        return bisection.final_step(game, bisection.Party.CHALLENGER, program, openings, peaks, 5)

    assert decide().winner is bisection.Party.CHALLENGER
    return {
        "model": name,
        "rows": len(rows),
        "operators": n,
        "rounds_max": bisection.rounds_needed(n),
        "final_op": f"{op}:{type(program.model.ops[op]).__name__}",
        "final_step_us": round(timed({"final": decide}, samples=samples)["final"], 1),
        "final_step_gas": trace.final_step_gas(program, op, len(rows), gas, trace.TraceGas()),
        "operator_gas": trace.operator_gas(program, op, gas, len(rows)),
        "inference_gas": program.gas_per_row(gas) * len(rows),
    }


def onnx_case(name: str, model: bytes, feed: str, x: np.ndarray, samples: int) -> dict[str, Any]:
    """Overhead of a float ONNX model under onnxruntime (one thread)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    tracer = trace.OnnxTracer(model, options)
    result = overhead(
        lambda: session.run(None, {feed: x}),
        lambda: [a for _, a in tracer.run({feed: x})],
        samples,
    )
    steps = len(tracer.entries) - 1
    return {
        "engine": "onnxruntime",
        "model": name,
        "rows": len(x),
        "steps": steps,
        "rounds_max": bisection.rounds_needed(steps),
        **result,
    }


def credit_gbdt() -> tuple[Program, np.ndarray]:
    """The credit-scoring example's model and quantized held-out rows."""
    from data import make_applicants
    from train import HOLDOUT, TRAIN, train

    with tempfile.TemporaryDirectory() as tmp:
        model = train(Path(tmp))
    x, _ = make_applicants(TRAIN + HOLDOUT)
    imported = from_sklearn(model, decimals=2)
    return imported.program, imported.quantize(x[TRAIN : TRAIN + 64])


def mnist_mlp() -> tuple[Program, np.ndarray, bytes, np.ndarray]:
    """The DSM import and the float ONNX bytes of the MLP 784-56-10, with rows of both."""
    from onnx_fixtures import build_mnist_like_mlp, mnist_like_data

    proto = build_mnist_like_mlp(seed=1)
    calibration, _ = mnist_like_data(2, 256)
    rows, _ = mnist_like_data(3, 256)
    imported = from_onnx(proto, calibration=calibration)
    return (
        imported.program,
        imported.quantize(rows[:64]),
        proto.SerializeToString(),
        rows.astype(np.float32),
    )


def digits_cnn() -> tuple[bytes, np.ndarray]:
    """The offchain_vision CNN (seeded initial weights) and digit images."""
    vision = ROOT / "examples" / "offchain_vision"
    sys.path.append(str(vision))  # after credit_scoring's train
    from cnn_model import CNNConfig, init_params
    from sklearn.datasets import load_digits

    # by path: another example's ``export`` module may come first on ``sys.path``
    spec = importlib.util.spec_from_file_location("offchain_vision_export", vision / "export.py")
    assert spec is not None and spec.loader is not None
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    cfg = CNNConfig()
    images = load_digits().images.astype(np.float32)[:256, None, :, :]
    return export.build_model(cfg, init_params(cfg)).SerializeToString(), images


def wide_mlp() -> tuple[bytes, np.ndarray]:
    """A float MLP 784-2048-2048-10 with random weights, and MNIST-like rows."""
    from onnx_fixtures import mlp_proto, mnist_like_data

    rng = np.random.default_rng(0)
    sizes = (784, 2048, 2048, 10)
    layers = [
        (rng.normal(0, 1 / np.sqrt(a), (a, b)), np.zeros(b)) for a, b in itertools.pairwise(sizes)
    ]
    rows, _ = mnist_like_data(4, 64)
    proto = mlp_proto(layers, ["Relu"] * (len(layers) - 1), softmax=False)
    return proto.SerializeToString(), rows.astype(np.float32)


def main() -> None:
    """Run every case and print one JSON line each, then a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=25, help="interleaved batches per call")
    parser.add_argument("--rows", default="1,64", help="batch sizes (DSM allows up to 64)")
    parser.add_argument("--onnx-rows", default="1024", help="further batch sizes, ONNX only")
    args = parser.parse_args()
    samples = args.samples
    batches = [int(v) for v in args.rows.split(",")]
    onnx_batches = [int(v) for v in args.onnx_rows.split(",") if v]
    gbdt, gbdt_rows = credit_gbdt()
    mlp, mlp_rows, mlp_onnx, mlp_x = mnist_mlp()
    cnn_onnx, cnn_x = digits_cnn()
    wide_onnx, wide_x = wide_mlp()
    results = []
    for rows in batches:
        results.append(dsm_case("gbdt-credit", gbdt, gbdt_rows[:rows], samples))
        results.append(dsm_case("mlp-784-56-10", mlp, mlp_rows[:rows], samples))
        results.append(onnx_case("mlp-784-56-10", mlp_onnx, "x", mlp_x[:rows], samples))
        results.append(onnx_case("cnn-digits", cnn_onnx, "pixels", cnn_x[:rows], samples))
        results.append(onnx_case("mlp-784-2048x2", wide_onnx, "x", wide_x[:rows], samples))
    for rows in onnx_batches:
        x = np.resize(mlp_x, (rows, mlp_x.shape[1]))
        results.append(onnx_case("mlp-784-56-10", mlp_onnx, "x", x, samples))
        images = np.resize(cnn_x, (rows, *cnn_x.shape[1:]))
        results.append(onnx_case("cnn-digits", cnn_onnx, "pixels", images, samples))
    for result in results:
        print(json.dumps(result))
    finals = [
        final_step_case("gbdt-credit", gbdt, gbdt_rows[:1], samples),
        final_step_case("mlp-784-56-10", mlp, mlp_rows[:1], samples),
    ]
    for final in finals:
        print(json.dumps(final))
    print()
    print(f"{'engine':12} {'model':15} {'rows':>4} {'plain µs':>9} {'ratio':>6} {'w/o input':>9}")
    print("(ratio = (traced run + hash every tensor + commit) / plain run; w/o input: the")
    print(" input's hash is known already)")
    for r in results:
        print(
            f"{r['engine']:12} {r['model']:15} {r['rows']:>4} {r['plain_us']:>9} "
            f"{r['ratio']:>6} {r['ratio_input_hash_known']:>9}"
        )


if __name__ == "__main__":
    main()
