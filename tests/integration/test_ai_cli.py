"""On-chain AI end to end against a running chain (devnet and CometBFT): ``aivm ai run``,
``aivm tx ai register|infer|set-status``, ``aivm query ai ...``, ``aivm ai verify-local``, and
the same flow through the Python SDK (:class:`aivm.modules.ai.client.AiClient`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Threshold, int_array
from aivm.client import Client, Wallet
from aivm.client.errors import ChainError
from aivm.modules.ai.client import AiClient
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys


def scorer(name: str) -> bytes:
    """Approve (1) when 2a - b + 3c >= 10, inputs with one decimal for a and b."""
    spec = InputSpec(3, -1000, 1000, (10, 10, 1), (1, 1, 1), (0, 0, 0), ("a", "b", "c"))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    return runtime.serialize(Model(spec, ops, name=name))


def test_cli_register_infer_verify(run: Run, chain: ChainEndpoint, tmp_path: Path) -> None:
    import_keys(run, chain, 0)
    name = f"cli-{chain.driver}"
    artifact = tmp_path / "scorer.dsm"
    artifact.write_bytes(scorer(name))

    code, out, err = run("ai", "run", str(artifact), "6,0.5,1", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["output"] == [1] and json.loads(out)["input"] == [60, 5, 1]

    code, out, err = run(
        "tx",
        "ai",
        "register",
        str(artifact),
        "--name",
        name,
        "--version",
        "1.0.0",
        "--price",
        "100ucgpt",
        "--tag",
        "credit",
        "--from",
        "dev0",
        "--yes",
        "-o",
        "json",
    )
    assert code == 0, err
    model_id = json.loads(out)["model_id"]

    code, out, err = run(
        "tx", "ai", "infer", model_id, "6", "0.5", "1", "--from", "dev0", "--yes", "-o", "json"
    )
    assert code == 0, err
    inferred = json.loads(out)
    assert inferred["output"] == [1]

    code, out, err = run("query", "ai", "execution", inferred["execution_id"], "-o", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["output"] == ["1"] and record["input"] == ["60", "5", "1"]
    assert record["caller"] == chain.accounts[0].address

    code, out, err = run("ai", "verify-local", inferred["execution_id"], "-o", "json")
    assert code == 0, err
    assert json.loads(out)["ok"] is True and json.loads(out)["local_output"] == [1]

    code, out, _ = run("query", "ai", "models", "--tag", "credit", "-o", "json")
    assert model_id in [m["id"] for m in json.loads(out)["models"]]

    # bad input: wrong number of features → coded error, non-zero exit, nothing recorded
    code, _, err = run("tx", "ai", "infer", model_id, "1", "2", "--from", "dev0", "--yes")
    assert code != 0 and "invalid model input" in err

    code, _, err = run(
        "tx",
        "ai",
        "set-status",
        model_id,
        "1.0.0",
        "revoked",
        "--reason",
        "test",
        "--from",
        "dev0",
        "--yes",
    )
    assert code == 0, err
    code, _, err = run("tx", "ai", "infer", model_id, "1", "2", "3", "--from", "dev0", "--yes")
    assert code != 0 and "revoked" in err


def test_sdk_register_infer_verify(chain: ChainEndpoint) -> None:
    wallet = Wallet.from_mnemonic(chain.accounts[1].mnemonic)
    with Client(chain.rpc_url) as client:
        ai = client.modules.ai  # the module's SDK helper, hung off the client
        assert isinstance(ai, AiClient) and ai.client is client
        registered = ai.register_model(
            wallet,
            scorer(f"sdk-{chain.driver}"),
            f"sdk-{chain.driver}",
            "0.1.0",
            tags=["sdk"],
            license="MIT",
        )
        version = ai.version(registered.model_id)
        program = runtime.load(scorer(f"sdk-{chain.driver}"))
        assert version.gas_per_row == program.gas_per_row(runtime.GasTable())
        assert version.load_gas == program.load_gas(runtime.GasTable()) > 0
        assert version.license == "MIT"
        result = ai.infer(wallet, registered.model_id, [10, 50, 0])
        assert result.output == [0]
        check = ai.verify_execution(result.execution_id)
        assert check.ok and check.recorded_output == [0]
        with pytest.raises(ChainError) as err:
            ai.infer(wallet, registered.model_id, [1, 2, 3], version="9.9.9")
        assert err.value.codespace == "ai" and err.value.code == 3


def test_rest_routes_for_models_and_executions(chain: ChainEndpoint) -> None:
    import requests

    wallet = Wallet.from_mnemonic(chain.accounts[2].mnemonic)
    with Client(chain.rpc_url) as client:
        ai = AiClient(client)
        name = f"rest-{chain.driver}"
        model_id = ai.register_model(wallet, scorer(name), name, "1.0.0", tags=["rest"]).model_id
        execution = ai.infer(wallet, model_id, ["6", "0.5", "1"]).execution_id
    base = chain.rest_url + "/aivm/ai/v1"
    model = requests.get(f"{base}/models/{model_id}", timeout=30).json()
    assert model["model"]["name"] == name and model["versions"][0]["version"] == "1.0.0"
    listed = requests.get(f"{base}/models", params={"tag": "rest"}, timeout=30).json()
    assert [m["id"] for m in listed["models"]] == [str(model_id)]
    record = requests.get(f"{base}/executions/{execution}", timeout=30).json()["execution"]
    assert record["output"] == ["1"]
    missing = requests.get(f"{base}/executions/999999", timeout=30)
    assert missing.status_code == 404
