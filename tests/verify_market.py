"""The verification Byzantine matrix, shared by the devnet test
(``tests/integration/test_verify_devnet.py``) and the 4-validator CometBFT localnet test
(``tests/e2e/test_localnet_verify.py``): a small ONNX model made here (tolerance rule), one
provider node and three AI validators registered in the ``ai`` role, each running the
re-execution daemon (``aivm.worker.verifier``) as a thread of the test process, pointed at one
node's RPC and REST gateway (content store).

Each :class:`Case` sets the provider's and the validators' behaviour (honest; a liar provider
that alters its output; a lazy provider that makes one up; a lying validator; a lazy validator
that copies the provider's output without running the model; a silent validator that never
reveals); :func:`run_case` runs one high-criticality job (k = 3, every validator drawn) and
:func:`check_case` asserts the matrix's promise: a wrong result is rejected before payment
and its provider slashed, an honest result is paid with onnxruntime's output, every faulty
validator is slashed, and no honest party — provider or validator — ever is.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aivm.client import Client, Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import JobFailedError
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from aivm.worker.verifier import VerifierNode
from chain_drivers import ChainEndpoint

PROVIDER, OWNER, CLIENT = 0, 1, 2
VALIDATORS = (3, 4, 5)
"""Funded account indices: the provider, the model owner, the client, the AI validators."""
ACCOUNTS = 6
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


@dataclass
class Market:
    """The chain, the model, the provider node and the verifier daemons."""

    endpoint: ChainEndpoint
    model_path: Path
    model_id: int
    wallets: list[Wallet]
    provider: ProviderNode | None = None
    verifiers: dict[int, VerifierNode] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)

    def client(self) -> Client:
        """A new SDK client on the market's node (close it after use)."""
        return Client(self.endpoint.rpc_url, rest=self.endpoint.rest_url)


def _register(client: Client, wallets: list[Wallet], model_path: Path) -> int:
    """Register the model, the provider (one offer) and the AI validators; the model id."""
    model_id: int = client.modules.ai.register_model(
        wallets[OWNER], model_path, "tiny", "1.0.0", offchain=True,
        retention_blocks=100_000, comparison="tolerance",
    ).model_id  # fmt: skip
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
    return model_id


@contextlib.contextmanager
def open_market(
    endpoint: ChainEndpoint, tmp_path_factory: pytest.TempPathFactory, poll_seconds: float = 0.1
) -> Iterator[Market]:
    """Register everything on ``endpoint`` and run the provider node and the three verifier
    daemons as threads (each with its own client) until the block ends."""
    model_path = tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")
    wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
    rpc, rest = endpoint.rpc_url, endpoint.rest_url
    stop = threading.Event()
    threads: list[threading.Thread] = []
    clients: list[Client] = []
    with Client(rpc, rest=rest) as client:
        market = Market(endpoint, model_path, _register(client, wallets, model_path), wallets)
    offer = worker_config.Offer(market.model_id, "1.0.0", PRICE)
    config = worker_config.ProviderConfig(
        key="p0", node=rpc, rest=rest, keyring_backend="test", capacity=4,
        poll_seconds=poll_seconds, offers=(offer,), hardware=HardwareProfile(2, 4096),
    )  # fmt: skip
    clients.append(Client(rpc, rest=rest))
    market.lines["provider"] = []
    market.provider = ProviderNode(
        tmp_path_factory.mktemp("provider"), config, wallets[PROVIDER], clients[-1],
        market.lines["provider"].append,
    )  # fmt: skip
    threads.append(threading.Thread(target=market.provider.run, args=(stop,), daemon=True))
    for v in VALIDATORS:
        clients.append(Client(rpc, rest=rest))
        market.lines[f"val{v}"] = []
        verifier = VerifierNode(
            tmp_path_factory.mktemp(f"val{v}"), wallets[v], clients[-1], rest,
            market.lines[f"val{v}"].append,
        )  # fmt: skip
        market.verifiers[v] = verifier
        threads.append(
            threading.Thread(target=verifier.run, args=(stop, rpc, poll_seconds), daemon=True)
        )
    for thread in threads:
        thread.start()
    try:
        yield market
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
        """True when the provider's result is wrong (a liar or a lazy provider)."""
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


def case_input(case: Case) -> np.ndarray:
    """The job input of a case (distinct per case, so no two jobs share an input)."""
    return np.array([[0.5, -1.0, 2.0, 0.25 + CASES.index(case)]], dtype=np.float32)


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
    market: Market,
    case: Case,
    x: np.ndarray,
    deadline_blocks: int = 400,
    timeout: float = 120,
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
                PRICE, sla_class="batch", deadline_blocks=deadline_blocks, criticality="high",
                timeout=timeout,
            )  # fmt: skip
        except JobFailedError as failed:
            outcome = failed
        finally:
            market.provider.lies = market.provider.lazy = False
            for verifier in market.verifiers.values():
                verifier.fault = ""
        after = stakes(client, market)
    return outcome, before, after


def check_case(
    market: Market,
    case: Case,
    x: np.ndarray,
    outcome: Any,
    before: dict[str, int],
    after: dict[str, int],
) -> None:
    """Assert the matrix's promise for one case run by :func:`run_case`."""
    import onnxruntime as ort

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
