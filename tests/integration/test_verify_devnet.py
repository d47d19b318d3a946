"""AI validators at work on an in-process devnet (100 ms blocks, REST gateway, content store):
a small ONNX model made here (tolerance rule), one provider node, three AI validators
registered in the ``ai`` role, each running the re-execution daemon (``aivm.worker.verifier``),
one of them lying (``AIVM_VERIFIER_FAULT=wrong-verdict``). A high-criticality job completes
only after the committee re-ran it: the output is onnxruntime's, the trail shows three
verdicts, the lying validator is slashed and the honest ones are not, and ``aivm verify job``
re-checks everything (digests, local re-execution, commitments, verdicts, trail). Then the
provider lies: the committee rejects its result before payment, the provider is slashed and
the client refunded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import JobFailedError
from aivm.modules.verify import verify_pb2
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from aivm.worker.verifier import VerifierNode
from chain_drivers import devnet_chain

pytestmark = pytest.mark.slow

PROVIDER, OWNER, CLIENT = 0, 1, 2
VALIDATORS = (3, 4, 5)
LIAR = 5
PRICE = 100
BOND = 2_000_000_000


def tiny_onnx(path: Path) -> Path:
    """y = relu(x W + b): 4 features → 3 outputs, weights fixed by a seeded generator."""
    rng = np.random.default_rng(7)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=(3,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["z"]),
            helper.make_node("Relu", ["z"], ["y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


class Market:
    """The devnet, the model, the provider node and the verifier daemons."""

    def __init__(self, endpoint: object, model_path: Path, model_id: int) -> None:
        self.endpoint = endpoint
        self.model_path = model_path
        self.model_id = model_id
        self.wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]  # type: ignore[attr-defined]
        self.provider: ProviderNode | None = None
        self.lines: dict[str, list[str]] = {}

    def client(self) -> Client:
        return Client(self.endpoint.rpc_url, rest=self.endpoint.rest_url)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def market(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Market]:
    model_path = tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")
    with devnet_chain(tmp_path_factory.mktemp("devnet"), accounts=6) as endpoint:
        wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
        stop = threading.Event()
        threads: list[threading.Thread] = []
        clients: list[Client] = []
        with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
            model_id = client.modules.ai.register_model(
                wallets[OWNER], model_path, "tiny", "1.0.0", offchain=True,
                retention_blocks=100_000, comparison="tolerance",
            ).model_id  # fmt: skip
            found = Market(endpoint, model_path, model_id)
            compute = client.modules.compute
            result = compute.register(
                wallets[PROVIDER], 100_000_000, compute.hardware(cpu_cores=2, memory_mib=4096),
                ["onnxruntime"], [compute.offer(model_id, "1.0.0", PRICE)], capacity=4,
            )  # fmt: skip
            assert result.code == 0, result.log
            roles = client.modules.roles
            for v in VALIDATORS:
                cap = roles.ai_capability(["onnxruntime"], ["reexecution"])
                result = roles.register(wallets[v], "ai", BOND, cap, moniker=f"val{v}")
                assert result.code == 0, result.log
            offer = worker_config.Offer(model_id, "1.0.0", PRICE)
            config = worker_config.ProviderConfig(
                key="p0", node=endpoint.rpc_url, rest=endpoint.rest_url, keyring_backend="test",
                capacity=4, poll_seconds=0.1, offers=(offer,), hardware=HardwareProfile(2, 4096),
            )  # fmt: skip
            nodes: list[object] = []
            provider_client = Client(endpoint.rpc_url, rest=endpoint.rest_url)
            clients.append(provider_client)
            found.lines["provider"] = []
            provider = ProviderNode(
                tmp_path_factory.mktemp("provider"), config, wallets[PROVIDER], provider_client,
                found.lines["provider"].append,
            )  # fmt: skip
            found.provider = provider
            nodes.append(provider)
            threads.append(threading.Thread(target=provider.run, args=(stop,), daemon=True))
            for v in VALIDATORS:
                node_client = Client(endpoint.rpc_url, rest=endpoint.rest_url)
                clients.append(node_client)
                found.lines[f"val{v}"] = []
                verifier = VerifierNode(
                    tmp_path_factory.mktemp(f"val{v}"), wallets[v], node_client,
                    endpoint.rest_url, found.lines[f"val{v}"].append,
                )  # fmt: skip
                verifier.fault = "wrong-verdict" if v == LIAR else ""
                threads.append(
                    threading.Thread(
                        target=verifier.run, args=(stop, endpoint.rpc_url, 0.1), daemon=True
                    )
                )
            for thread in threads:
                thread.start()
            try:
                yield found
            finally:
                stop.set()
                for thread in threads:
                    thread.join(30)
                for c in clients:
                    c.close()


def bond_of(client: Client, index: int, market: Market) -> int:
    found = client.modules.roles.operator(market.wallets[index].address, "ai")
    return int(found.operator.bond)


def test_high_criticality_job_is_re_executed_by_the_committee_before_payment(
    market: Market,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import onnxruntime as ort

    x = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)
    with market.client() as client:
        bonds = {v: bond_of(client, v, market) for v in VALIDATORS}
        found = client.modules.compute.run(
            market.wallets[CLIENT], market.model_id, "1.0.0", formats.encode_tensor_input(x),
            PRICE, sla_class="batch", deadline_blocks=400, criticality="high", timeout=120,
        )  # fmt: skip
        trail = client.modules.verify.trail(found.job.id)
        after = {v: bond_of(client, v, market) for v in VALIDATORS}
    session = ort.InferenceSession(str(market.model_path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    got = formats.decode_tensor_output(found.output, "float32", (1, 3))
    assert np.allclose(got, expected, atol=1e-6)
    method = trail.methods[0]
    assert method.method == verify_pb2.METHOD_REEXECUTION
    assert method.status == verify_pb2.METHOD_STATUS_PASSED
    by_validator = {v.validator: v for v in method.verdicts}
    liar = market.wallets[LIAR].address
    assert set(by_validator) == {market.wallets[v].address for v in VALIDATORS}
    assert not by_validator[liar].agrees and int(by_validator[liar].slashed) > 0
    assert after[LIAR] < bonds[LIAR]
    for v in VALIDATORS:
        if v != LIAR:
            assert by_validator[market.wallets[v].address].agrees
            assert after[v] == bonds[v], f"honest validator {v} slashed"
    assert any("altered the verdict" in line for line in market.lines[f"val{LIAR}"])

    from cli_runner import cli_runner

    run = cli_runner(market.endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch)  # type: ignore[attr-defined]
    code, out, err = run(
        "verify",
        "job",
        str(found.job.id),
        "--rest",
        market.endpoint.rest_url,
        "-o",
        "json",  # type: ignore[attr-defined]
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["all_ok"] is True
    names = {c["check"] for c in report["checks"]}
    assert {"input", "model", "output", "re-execution", "trail"} <= names
    assert sum(1 for n in names if n.startswith("commitment/")) == 3
    code, out, err = run("query", "verify", "trail", str(found.job.id), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["job_id"] == str(found.job.id)


def test_a_lying_provider_is_rejected_before_payment(market: Market) -> None:
    assert market.provider is not None
    market.provider.lies = True
    try:
        with market.client() as client:
            before = int(client.modules.compute.provider(market.wallets[PROVIDER].address)
                         .provider.collateral)  # fmt: skip
            x = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
            with pytest.raises(JobFailedError) as failed:
                client.modules.compute.run(
                    market.wallets[CLIENT], market.model_id, "1.0.0",
                    formats.encode_tensor_input(x), PRICE, sla_class="batch",
                    deadline_blocks=400, criticality="high", timeout=120,
                )  # fmt: skip
            job = failed.value.job
            after = int(client.modules.compute.provider(market.wallets[PROVIDER].address)
                        .provider.collateral)  # fmt: skip
            session = client.modules.verify.session(job.id)
    finally:
        market.provider.lies = False
    assert job.state == compute_pb2.JOB_STATE_REJECTED_RESULT
    assert "verification failed" in job.reason_detail
    assert int(job.assignments[0].paid or 0) == 0
    assert int(job.refunded) > 0
    assert after < before
    assert session.status == verify_pb2.SESSION_STATUS_FAILED
