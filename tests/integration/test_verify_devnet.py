"""AI validators at work on an in-process devnet (100 ms blocks, REST gateway, content store),
as a Byzantine matrix: a small ONNX model made here (tolerance rule), one provider node and
three AI validators registered in the ``ai`` role, each running the re-execution daemon
(``aivm.worker.verifier``). Each case sets the provider's and the validators' behaviour
(honest; a liar provider that alters its output; a lazy provider that makes one up; a lying
validator; a lazy validator that copies the provider's output without running the model; a
silent validator that never reveals) and runs one high-criticality job (k = 3, every
validator drawn). In every case: a wrong result is rejected before payment and its provider
slashed, an honest result is paid with onnxruntime's output, every faulty validator is
slashed, and no honest party — provider or validator — ever is. The honest case also checks
the trail and ``aivm verify job`` (digests, local re-execution, commitments, verdicts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
PRICE = 100
BOND = 2_000_000_000
COLLATERAL = 1_000_000_000


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
        self.verifiers: dict[int, VerifierNode] = {}
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
                wallets[PROVIDER], COLLATERAL, compute.hardware(cpu_cores=2, memory_mib=4096),
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
                found.verifiers[v] = verifier
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


@dataclass(frozen=True)
class Case:
    """One row of the matrix: the provider's fault and each validator's."""

    name: str
    provider: str = ""  # "", "wrong-output", "random-output"
    validators: tuple[str, str, str] = (
        "",
        "",
        "",
    )  # "", "wrong-verdict", "copy-provider", "silent"

    @property
    def wrong_result(self) -> bool:
        return self.provider != ""


CASES = (
    Case("honest"),
    Case("liar provider", provider="wrong-output"),
    Case("lazy provider", provider="random-output"),
    Case("lying validator", validators=("wrong-verdict", "", "")),
    Case("silent validator", validators=("", "silent", "")),
    Case("liar provider, lazy validator vouching", "wrong-output", ("", "", "copy-provider")),
    Case("lazy provider, silent validator", "random-output", ("silent", "", "")),
)


def stakes(client: Client, market: Market) -> dict[str, int]:
    """The provider's collateral and each validator's role bond."""
    out = {
        "provider": int(
            client.modules.compute.provider(market.wallets[PROVIDER].address).provider.collateral
        )
    }
    for v in VALIDATORS:
        found = client.modules.roles.operator(market.wallets[v].address, "ai")
        out[f"val{v}"] = int(found.operator.bond)
    return out


def run_case(
    market: Market, case: Case, x: np.ndarray
) -> tuple[Any, dict[str, int], dict[str, int]]:
    """Set the faults, run one high-criticality job; (job or the failure, stakes before, after)."""
    assert market.provider is not None
    market.provider.lies = case.provider == "wrong-output"
    market.provider.lazy = case.provider == "random-output"
    for v, fault in zip(VALIDATORS, case.validators, strict=True):
        market.verifiers[v].fault = fault
    with market.client() as client:
        before = stakes(client, market)
        try:
            outcome: Any = client.modules.compute.run(
                market.wallets[CLIENT], market.model_id, "1.0.0", formats.encode_tensor_input(x),
                PRICE, sla_class="batch", deadline_blocks=400, criticality="high", timeout=120,
            )  # fmt: skip
        except JobFailedError as failed:
            outcome = failed
        finally:
            market.provider.lies = market.provider.lazy = False
            for verifier in market.verifiers.values():
                verifier.fault = ""
        after = stakes(client, market)
    return outcome, before, after


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_byzantine_matrix(market: Market, case: Case) -> None:
    import onnxruntime as ort

    x = np.array([[0.5, -1.0, 2.0, 0.25 + CASES.index(case)]], dtype=np.float32)
    outcome, before, after = run_case(market, case, x)
    if case.wrong_result:
        assert isinstance(outcome, JobFailedError), f"a wrong result was paid: {outcome}"
        job = outcome.job
        assert job.state == compute_pb2.JOB_STATE_REJECTED_RESULT
        assert "verification failed" in job.reason_detail
        assert int(job.assignments[0].paid or 0) == 0 and int(job.refunded) > 0
        assert after["provider"] < before["provider"], "the wrong provider was not slashed"
    else:
        assert not isinstance(outcome, JobFailedError), outcome
        session = ort.InferenceSession(str(market.model_path), providers=["CPUExecutionProvider"])
        got = formats.decode_tensor_output(outcome.output, "float32", (1, 3))
        assert np.allclose(got, session.run(None, {"x": x})[0], atol=1e-6)
        assert after["provider"] == before["provider"], "an honest provider was slashed"
    for v, fault in zip(VALIDATORS, case.validators, strict=True):
        name = f"val{v}"
        if fault:
            assert after[name] < before[name], f"{fault} validator {v} was not slashed"
        else:
            assert after[name] == before[name], f"honest validator {v} was slashed"


def test_trail_and_local_recheck_of_a_paid_job(
    market: Market,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    outcome, _, _ = run_case(market, Case("honest"), x)
    job_id = outcome.job.id
    with market.client() as client:
        trail = client.modules.verify.trail(job_id)
    method = trail.methods[0]
    assert method.method == verify_pb2.METHOD_REEXECUTION
    assert method.status == verify_pb2.METHOD_STATUS_PASSED
    assert {v.validator for v in method.verdicts} == {market.wallets[v].address for v in VALIDATORS}
    assert all(v.agrees and v.revealed for v in method.verdicts)

    from cli_runner import cli_runner

    endpoint: Any = market.endpoint
    run = cli_runner(endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch)
    code, out, err = run("verify", "job", str(job_id), "--rest", endpoint.rest_url, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["all_ok"] is True
    names = {c["check"] for c in report["checks"]}
    assert {"input", "model", "output", "re-execution", "trail"} <= names
    assert sum(1 for n in names if n.startswith("commitment/")) == 3
    code, out, err = run("query", "verify", "trail", str(job_id), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["job_id"] == str(job_id)
