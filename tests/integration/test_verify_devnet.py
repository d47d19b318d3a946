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
the trail and ``aivm verify job`` (digests, local re-execution, commitments, verdicts).
The market, the cases and the checks live in ``tests/verify_market.py`` (shared with the
localnet version, ``tests/e2e/test_localnet_verify.py``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aivm.modules.verify import verify_pb2
from chain_drivers import devnet_chain
from verify_market import (
    ACCOUNTS,
    CASES,
    OWNER,
    VALIDATORS,
    Case,
    Market,
    case_input,
    check_case,
    open_market,
    run_case,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with (
        devnet_chain(tmp_path_factory.mktemp("devnet"), accounts=ACCOUNTS) as endpoint,
        open_market(endpoint, tmp_path_factory) as found,
    ):
        yield found


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_byzantine_matrix(market: Market, case: Case) -> None:
    x = case_input(case)
    outcome, before, after = run_case(market, case, x)
    check_case(market, case, x, outcome, before, after)


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


def test_model_owner_and_collateral_commands_over_the_cli(
    market: Market,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``aivm tx verify set-model`` on a fresh version of the owner's model (no job runs on
    it, so the matrix is unaffected), read back with ``aivm query verify model``; the policy
    query; a collateral upload from an account that is neither the authority nor a data
    validator is refused with its code."""
    from cli_runner import cli_runner, import_keys

    endpoint: Any = market.endpoint
    with market.client() as client:
        client.modules.ai.register_model(
            market.wallets[OWNER], market.model_path, "tiny", "1.0.1", offchain=True,
            retention_blocks=100_000, comparison="tolerance",
        )  # fmt: skip
    run = import_keys(
        cli_runner(endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch), endpoint, OWNER
    )
    mrtd = "ab" * 48
    code, out, err = run(
        "tx", "verify", "set-model", f"{market.model_id}:1.0.1", "--tee-measurement", mrtd,
        "--from", f"dev{OWNER}", "--keyring-backend", "test", "--yes", "--wait", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["code"] == 0, out
    code, out, err = run("query", "verify", "model", f"{market.model_id}:1.0.1", "-o", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert base64.b64decode(shown["tee"]["allowed_measurements"][0]).hex() == mrtd
    code, out, err = run("query", "verify", "policy", "-o", "json")
    assert code == 0, err
    levels = {p["criticality"]: p for p in json.loads(out)["policy"]}
    assert levels["high"]["methods"] == ["reexecution", "optimistic", "toploc", "tee"]
    collateral = ROOT / "tests" / "vectors" / "tee" / "tdx_quote_collateral.json"
    code, out, err = run(
        "tx", "verify", "upload-collateral", str(collateral), "--from", f"dev{OWNER}",
        "--keyring-backend", "test", "--yes", "--wait", "-o", "json",
    )  # fmt: skip
    assert code == 1 and "verify code 17" in err and "neither the params authority" in err, err
