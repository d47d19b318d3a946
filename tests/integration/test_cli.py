"""The ``aivm`` command, run in-process through ``main([...])`` against a running chain: the
devnet and a 1-validator CometBFT localnet (the ``chain`` fixture, ids ``[devnet]``,
``[cometbft]``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aivm.cli.main import build_parser, main
from aivm.client import Client
from chain_drivers import ChainEndpoint, FundedAccount


def test_keys_add_list_show_delete(offline_run) -> None:  # type: ignore[no-untyped-def]
    run = offline_run
    code, out, _ = run("keys", "add", "alice", "-o", "json")
    assert code == 0
    added = json.loads(out)
    assert added["name"] == "alice" and added["address"].startswith("aivm1")
    assert len(added["mnemonic"].split()) == 24
    code, out, _ = run("keys", "list", "-o", "json")
    assert [k["name"] for k in json.loads(out)] == ["alice"]
    code, out, _ = run("keys", "show", "alice", "-a")
    assert out.strip() == added["address"]
    code, out, _ = run("keys", "export", "alice", "--yes")
    assert out.strip() == added["mnemonic"]
    code, _, err = run("keys", "delete", "alice", stdin="n\n")
    assert code == 1 and "canceled" in err
    assert run("keys", "delete", "alice", "--yes")[0] == 0
    code, _, err = run("keys", "show", "alice")
    assert code == 1 and err.startswith("Error: key 'alice' not found") and err.count("\n") == 1


def test_import_send_query(run, chain: ChainEndpoint) -> None:  # type: ignore[no-untyped-def]
    dev: FundedAccount = chain.accounts[0]
    code, out, err = run("keys", "import", "dev0", "-o", "json", stdin=dev.mnemonic + "\n")
    assert code == 0, err
    assert json.loads(out)["address"] == dev.address
    assert run("keys", "add", "bob")[0] == 0
    bob = run("keys", "show", "bob", "-a")[1].strip()

    code, out, err = run("tx", "bank", "send", "dev0", bob, "2500ucgpt", "--yes", "-o", "json")
    assert code == 0, err
    txhash = json.loads(out)["txhash"]
    with Client(chain.rpc_url) as client:
        client.wait_for_tx(txhash, timeout=chain.tx_timeout)

    code, out, _ = run("query", "bank", "balances", bob, "-o", "json")
    assert json.loads(out) == {"balances": [{"denom": "ucgpt", "amount": "2500"}]}
    code, out, _ = run("q", "bank", "balances", bob, "--denom", "ucgpt")
    assert "amount: 2500" in out
    code, out, _ = run("query", "tx", txhash, "-o", "json")
    found = json.loads(out)
    assert code == 0 and found["hash"] == txhash and found["code"] == 0
    code, out, _ = run("query", "account", dev.address, "-o", "json")
    assert code == 0 and int(json.loads(out)["sequence"]) >= 1

    # by address, fixed gas and fee, waiting for inclusion
    code, out, err = run(
        "tx", "bank", "send", dev.address, bob, "1ucgpt",
        "--gas", "200000", "--fees", "5000ucgpt", "--yes", "--wait", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["gas_wanted"] == 200000


def test_errors_are_one_line(run, chain: ChainEndpoint) -> None:  # type: ignore[no-untyped-def]
    dev = chain.accounts[1]
    run("keys", "import", "dev1", stdin=dev.mnemonic)
    code, _, err = run("tx", "bank", "send", "dev1", dev.address, "999999999999999999ucgpt", "-y")
    assert code == 1
    assert err.startswith("Error: insufficient funds (sdk code 5)")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run("query", "account", "aivm1nope")
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1
    code, _, err = run("query", "tx", "AB" * 32)
    assert code == 1 and "not found" in err
    code, _, err = run("status", "--node", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach node" in err and err.count("\n") == 1
    code, _, err = run("tx", "bank", "send", "dev1", "x")
    assert code == 2 and err.startswith("Error: ") and err.count("\n") == 1
    code, out, _ = run("status", "-o", "json")
    assert code == 0 and json.loads(out)["chain_id"] == chain.chain_id


def test_init_writes_client_config(offline_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = offline_run
    code, _, err = run("init", "--chain-id", "aivm-devnet-1")
    assert code == 0, err
    text = (tmp_path / "home" / "config" / "client.toml").read_text()
    assert 'chain-id = "aivm-devnet-1"' in text and 'keyring-backend = "test"' in text
    assert run("init")[0] == 1


def _commands() -> list[list[str]]:
    found: list[list[str]] = [[]]

    def walk(parser: object, prefix: list[str]) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    if name == "q":
                        continue
                    found.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "aivm")
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    assert "usage: aivm" in capsys.readouterr().out


def test_console_script_runs() -> None:
    script = Path(sys.executable).with_name("aivm")
    if not script.exists():
        pytest.skip("aivm console script not installed in this environment")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "aivm tx bank send" in done.stdout
