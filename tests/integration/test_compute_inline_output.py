"""Small outputs travel inline (issue 14, ``src/aivm/worker/README.md``): on an in-process
devnet a tiny dense ONNX model (``exact`` comparison, 8 output bytes a row) is served by a
provider node; with the default ``upload-outputs = "large"`` the result carries the output as
``comparison_data``, its ``output_cid`` names exactly those bytes but nothing is uploaded,
and ``client.modules.compute.run`` returns it without a download; with ``"always"`` the
output is in the content store as well."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from aivm.client import Client, Wallet
from aivm.client.storage import StorageError
from aivm.crypto import unixfs
from aivm.modules.compute import compute_pb2
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from chain_drivers import ChainEndpoint, devnet_chain

pytestmark = pytest.mark.slow

PRICE = 100
PROVIDER, OWNER, CLIENT = 0, 1, 2


def dense_model(path: Path) -> Path:
    """y = x @ W + b: x float32 [batch, 3], y float32 [batch, 2]."""
    w = numpy_helper.from_array(np.array([[1, 2], [3, 4], [5, 6]], np.float32), "W")
    b = numpy_helper.from_array(np.array([0.5, -1], np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChainEndpoint, int, Path]]:
    onnx_path = dense_model(tmp_path_factory.mktemp("model") / "dense.onnx")
    with devnet_chain(tmp_path_factory.mktemp("devnet")) as endpoint:
        wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
        with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
            model = client.modules.ai.register_model(
                wallets[OWNER], onnx_path, "dense", "1.0.0", offchain=True, retention_blocks=10_000
            )
            compute = client.modules.compute
            registered = compute.register(
                wallets[PROVIDER],
                100_000_000,
                compute.hardware(cpu_cores=2, memory_mib=4096),
                ["onnxruntime"],
                [compute.offer(model.model_id, "1.0.0", PRICE)],
                capacity=4,
            )
            assert registered.code == 0, registered.log
        yield endpoint, model.model_id, onnx_path


@contextmanager
def serving(endpoint: ChainEndpoint, model_id: int, home: Path, upload: str) -> Iterator[None]:
    """A provider node (account 0) on a thread, with ``upload-outputs = upload``."""
    cfg = worker_config.ProviderConfig(
        key="p",
        node=endpoint.rpc_url,
        rest=endpoint.rest_url,
        capacity=4,
        poll_seconds=0.1,
        upload_outputs=upload,
        offers=(worker_config.Offer(model_id, "1.0.0", PRICE),),
        hardware=HardwareProfile(2, 4096),
    )
    wallet = Wallet.from_mnemonic(endpoint.accounts[PROVIDER].mnemonic)
    stop = threading.Event()
    with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
        node = ProviderNode(home, cfg, wallet, client, lambda line: None)
        thread = threading.Thread(target=node.run, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)


def run_job(
    endpoint: ChainEndpoint, model_id: int, x: np.ndarray
) -> tuple[bytes, list[str], compute_pb2.Job]:
    wallet = Wallet.from_mnemonic(endpoint.accounts[CLIENT].mnemonic)
    stages: list[str] = []
    with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
        done = client.modules.compute.run(
            wallet,
            model_id,
            "1.0.0",
            formats.encode_tensor_input(x),
            PRICE,
            sla_class="batch",
            deadline_blocks=400,
            timeout=90,
            progress=lambda stage, detail: stages.append(stage),
        )
    return done.output, stages, done.job


def expected(onnx_path: Path, x: np.ndarray) -> bytes:
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(["y"], {"x": x})[0]
    return out.astype("<f4").tobytes()


def stored(endpoint: ChainEndpoint, cid: str) -> bool:
    with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
        try:
            client.storage.stat(cid)
        except StorageError:
            return False
    return True


def test_a_small_output_travels_inline_and_is_not_uploaded(
    chain: tuple[ChainEndpoint, int, Path], tmp_path: Path
) -> None:
    endpoint, model_id, onnx_path = chain
    x = np.array([[1, 0, 2], [0.5, 0.25, -1]], np.float32)
    with serving(endpoint, model_id, tmp_path / "p", "large"):
        output, stages, job = run_job(endpoint, model_id, x)
    assert output == expected(onnx_path, x)
    assert "inline" in stages and "download" not in stages and stages[-1] == "done"
    (mine,) = job.assignments
    assert mine.result.comparison_data == output  # the exact rule, inline all the same
    assert job.output_cid == mine.result.output_cid == unixfs.cid_of(output)
    assert not stored(endpoint, job.output_cid)


def test_upload_outputs_always_also_stores_the_output(
    chain: tuple[ChainEndpoint, int, Path], tmp_path: Path
) -> None:
    endpoint, model_id, onnx_path = chain
    x = np.array([[3, 1, 4]], np.float32)
    with serving(endpoint, model_id, tmp_path / "p", "always"):
        output, stages, job = run_job(endpoint, model_id, x)
    assert output == expected(onnx_path, x) and "inline" in stages
    assert job.assignments[0].result.comparison_data == output
    assert job.output_cid == unixfs.cid_of(output) and stored(endpoint, job.output_cid)
