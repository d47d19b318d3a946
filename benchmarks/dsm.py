"""DSM runtime against onnxruntime, and on-chain inference throughput.

Two models, each run single-row by both engines in the same process:

- ``mlp``: a float MLP 784-56-10 (ONNX; ``tests/onnx_fixtures.py``, synthetic MNIST-like data),
  served by onnxruntime in float32, and its int8 DSM version made by the ONNX importer
  (weights per channel, activations calibrated on 256 rows);
- ``gbdt``: scikit-learn GradientBoostingClassifier, 100 trees of depth 6 on 20 features,
  exported with skl2onnx for onnxruntime, and imported by the tree importer for DSM.

For each it prints the median single-row latency of both engines (onnxruntime with one intra-
and one inter-op thread, as in the design anchors), their ratio (target ≤ 3), the DSM gas of one
inference (run gas, and the load gas every inference also pays: ADR 0010), and the decision
agreement of the two on 2,000 rows. Then it measures on-chain
inferences per second: a block of ``--block`` MsgInfer txs through FinalizeBlock + Commit on a
fresh chain, beside a block of the same number of MsgSend txs (the reference ratio), with the
gas one MsgInfer tx used.

Usage: python benchmarks/dsm.py [--repeat 3000] [--block 500]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from aivm.ai import runtime
from aivm.ai.importers.common import ImportedModel
from aivm.ai.importers.onnx import from_onnx, quantize_floats
from aivm.ai.importers.sklearn import from_sklearn
from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.cid import cid_of
from aivm.crypto.keys import PrivKey
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from aivm.types.protogen import ai_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from onnx_fixtures import build_mnist_like_mlp, mnist_like_data  # the tests' model builders

CHAIN_ID = "aivm-bench-1"


def median_us(call: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``call`` in microseconds, over ``repeat`` calls in 5 batches."""
    for _ in range(min(200, repeat)):
        call()
    batch = max(1, repeat // 5)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return statistics.median(samples)


def ort_session(model_bytes: bytes) -> ort.InferenceSession:
    """A single-threaded onnxruntime CPU session."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def compare(
    name: str,
    session: ort.InferenceSession,
    imported: ImportedModel,
    rows: np.ndarray,
    decide: Callable[[list[Any]], np.ndarray],
    repeat: int,
    quantize: Callable[[ImportedModel, np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Latency of both engines on one row, gas, and agreement over ``rows``."""
    feed_name = session.get_inputs()[0].name
    one = rows[:1].astype(np.float32)
    ort_us = median_us(lambda: session.run(None, {feed_name: one}), repeat)
    program = imported.program
    to_ints = quantize or (lambda model, x: model.quantize(x))
    quantized = runtime.check_rows(program, to_ints(imported, rows[:1]))
    dsm_us = median_us(lambda: program.run(quantized), repeat)
    all_quantized = to_ints(imported, rows)
    dsm_out = program.run(runtime.check_rows(program, all_quantized)).reshape(-1)
    ort_out = decide(session.run(None, {feed_name: rows.astype(np.float32)}))
    return {
        "model": name,
        "onnxruntime_us": round(ort_us, 1),
        "dsm_us": round(dsm_us, 1),
        "dsm_vs_onnxruntime": round(dsm_us / ort_us, 2),
        "dsm_run_gas": program.gas_per_row(runtime.GasTable()),
        "dsm_load_gas": program.load_gas(runtime.GasTable()),
        "artifact_bytes": len(imported.artifact),
        "agreement": round(float((dsm_out == ort_out).mean()), 4),
        "rows_compared": len(rows),
    }


def mlp_case(repeat: int) -> tuple[dict[str, Any], ImportedModel]:
    """MLP 784-56-10: float ONNX in onnxruntime vs the int8 DSM import."""
    proto = build_mnist_like_mlp(seed=1)
    calibration, _ = mnist_like_data(2, 256)
    rows, _ = mnist_like_data(3, 2000)
    imported = from_onnx(proto, calibration=calibration)
    session = ort_session(proto.SerializeToString())
    result = compare(
        "mlp_784_56_10_int8",
        session,
        imported,
        rows,
        lambda out: np.argmax(out[0], axis=1),
        repeat,
        quantize_floats,
    )
    return result, imported


def gbdt_case(repeat: int) -> tuple[dict[str, Any], ImportedModel]:
    """GBDT 100 trees depth 6 (20 features): skl2onnx in onnxruntime vs the DSM import."""
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = make_classification(n_samples=6000, n_features=20, n_informative=12, random_state=3)
    x = x.round(4)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=6, random_state=3)
    model.fit(x[:4000], y[:4000])
    onx = to_onnx(model, x[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    imported = from_sklearn(model, decimals=4)
    session = ort_session(onx.SerializeToString())
    result = compare(
        "gbdt_100x6",
        session,
        imported,
        x[4000:],
        lambda out: np.asarray(out[0]).astype(np.int64),
        repeat,
    )
    return result, imported


def key(i: int) -> PrivKey:
    """Deterministic sender key ``i``."""
    return PrivKey.from_bytes(hashlib.sha256(b"dsm-bench-%d" % i).digest())


def chain(path: Path, senders: list[PrivKey]) -> AivmApp:
    """A fresh app with funded accounts for ``senders`` (account numbers 0..n-1)."""
    addresses = [acc_address(k.pubkey.address()) for k in senders]
    app_state = {
        "auth": {
            "accounts": [
                {
                    "@type": "/cosmos.auth.v1beta1.BaseAccount",
                    "address": a,
                    "account_number": str(i),
                    "sequence": "0",
                }
                for i, a in enumerate(addresses)
            ]
        },
        "bank": {
            "balances": [
                {"address": a, "coins": [{"denom": "ucgpt", "amount": str(10**15)}]}
                for a in addresses
            ]
        },
    }
    app = AivmApp(CommitStore.open(path))
    app.init_chain(GenesisDoc(chain_id=CHAIN_ID, app_state=app_state).init_chain_request())
    return app


def run_block(app: AivmApp, txs: list[bytes]) -> tuple[float, pb.abci.ResponseFinalizeBlock]:
    """FinalizeBlock + Commit of ``txs``; returns seconds and the response."""
    height = app.store.version + 1
    request = pb.abci.RequestFinalizeBlock(
        txs=txs, height=height, hash=hashlib.sha256(b"%d" % height).digest()
    )
    request.time.seconds = 1_800_000_000 + height
    for tx in txs:  # as a validator would have: signatures verified (and cached) by CheckTx
        app.check_tx(pb.abci.RequestCheckTx(tx=tx, type=pb.abci.NEW))
    start = time.perf_counter()
    response = app.finalize_block(request)
    app.commit(pb.abci.RequestCommit())
    return time.perf_counter() - start, response


def onchain(models: dict[str, ImportedModel], block: int) -> list[dict[str, Any]]:
    """Inferences per second in a block, per model, beside MsgSend txs per second."""
    senders = [key(i) for i in range(block + 1)]
    owner = senders[-1]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        app = chain(Path(tmp) / "data", senders)
        sequence = dict.fromkeys(range(len(senders)), 0)

        def tx(i: int, msg: pb.Message, gas: int) -> bytes:
            raw = sign_tx(
                [msg],
                [Signer(senders[i], i, sequence[i])],
                CHAIN_ID,
                fee=[Coin("ucgpt", 1)],
                gas_limit=gas,
            )
            sequence[i] += 1
            return raw

        model_ids = {}
        for name, imported in models.items():
            artifact = imported.artifact
            register = ai_pb2.MsgRegisterModel(
                owner=acc_address(owner.pubkey.address()),
                name=name.replace("_", "-"),
                version="1.0.0",
                artifact_cid=cid_of(artifact),
                artifact_sha256=hashlib.sha256(artifact).digest(),
                format=runtime.FORMAT,
                execution_path="onchain",
                artifact=artifact,
            )
            _, response = run_block(app, [tx(block, register, 200_000_000)])
            assert response.tx_results[0].code == 0, response.tx_results[0].log
            model_ids[name] = len(model_ids) + 1
        recipient = key(10**6).pubkey.address()
        sends = [
            tx(i, bank_send(senders[i].pubkey.address(), recipient, [Coin("ucgpt", 1)]), 200_000)
            for i in range(block)
        ]
        seconds, _ = run_block(app, sends)
        send_rate = block / seconds
        for name, imported in models.items():
            row = [int(v) for v in imported.quantize(np.zeros((1, imported.model.input.width)))[0]]
            infer = [
                tx(
                    i,
                    ai_pb2.MsgInfer(
                        caller=acc_address(senders[i].pubkey.address()),
                        model_id=model_ids[name],
                        input=row,
                    ),
                    2_000_000,
                )
                for i in range(block)
            ]
            seconds, response = run_block(app, infer)
            failed = [r.log for r in response.tx_results if r.code != 0]
            assert not failed, failed[:1]
            rate = block / seconds
            results.append(
                {
                    "model": name,
                    "block_txs": block,
                    "gas_used_per_tx": statistics.median(r.gas_used for r in response.tx_results),
                    "inferences_per_s": round(rate, 1),
                    "msg_send_per_s": round(send_rate, 1),
                    "vs_msg_send": round(rate / send_rate, 3),
                }
            )
    return results


def main() -> None:
    """Print one JSON line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3000, help="single-row calls timed")
    parser.add_argument("--block", type=int, default=500, help="txs per measured block")
    args = parser.parse_args()
    print(json.dumps({"onnxruntime": ort.__version__, "numpy": np.__version__}))
    mlp, mlp_model = mlp_case(args.repeat)
    print(json.dumps(mlp))
    gbdt, gbdt_model = gbdt_case(args.repeat)
    print(json.dumps(gbdt))
    for line in onchain({"mlp": mlp_model, "gbdt": gbdt_model}, args.block):
        print(json.dumps(line))


if __name__ == "__main__":
    main()
