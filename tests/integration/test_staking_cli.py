"""``aivm tx staking`` / ``aivm query staking`` end to end on a running devnet (whose validator
dev0 operates): dev1 creates a validator, dev2 delegates, unbonds, cancels part of the
unbonding and redelegates, dev1 edits its validator, and every step is read back with the
query commands; dev3 shows what ``--wait`` changes (staking and distribution commands). Offline:
help, argument errors and ``aivm keys show --bech val``."""

from __future__ import annotations

import base64
import json
from typing import Any

import nacl.signing
import pytest

from aivm.client import Client
from aivm.types.address import acc_address_bytes, valoper_address, valoper_address_bytes
from aivm.types.dec import Dec
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys

VALOPER_RE_PREFIX = "aivmvaloper1"


def _json(run: Run, *args: str) -> Any:
    code, out, err = run(*args, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def _tx(run: Run, *args: str) -> Any:
    done = _json(run, "tx", "staking", *args, "--yes", "--wait")
    assert done["code"] == 0
    return done


def test_help_lists_the_commands(offline_run: Run) -> None:
    code, out, _ = offline_run("tx", "staking", "--help")
    assert code == 0
    for name in ("create-validator", "edit-validator", "delegate", "unbond", "redelegate"):
        assert name in out
    assert "cancel-unbond" in out
    code, out, _ = offline_run("query", "staking", "--help")
    for name in ("validators", "delegation", "unbonding-delegations", "historical-info"):
        assert name in out


def test_argument_errors_are_clear(offline_run: Run) -> None:
    code, _, err = offline_run("tx", "staking", "delegate", "aivm1xyz", "5ucgpt", "--from", "a")
    assert code == 1 and "invalid validator address 'aivm1xyz' (expected aivmvaloper1...)" in err
    valoper = valoper_address(bytes(20))
    code, _, err = offline_run("tx", "staking", "unbond", valoper, "0ucgpt", "--from", "a")
    assert code == 1 and "amount must be one positive coin" in err
    code, _, err = offline_run(
        "tx", "staking", "create-validator", "--amount", "5", "--moniker", "m", "--from", "a"
    )
    assert code == 1 and "no --pubkey given" in err
    code, _, err = offline_run(
        "tx",
        "staking",
        "create-validator",
        "--amount",
        "5",
        "--moniker",
        "m",
        "--pubkey",
        base64.b64encode(b"short").decode(),
        "--from",
        "a",
    )
    assert code == 1 and "32 bytes" in err
    code, _, err = offline_run("query", "staking", "validators", "--status", "jailed")
    assert code == 2 and "invalid choice" in err
    code, _, err = offline_run("query", "staking", "delegations", "aivmvaloper1x")
    assert code == 1 and "invalid delegator address" in err


def test_wait_flags_are_on_every_module_tx_command(offline_run: Run) -> None:
    for module, command in (
        ("staking", "delegate"),
        ("staking", "create-validator"),
        ("distribution", "withdraw-rewards"),
        ("distribution", "fund-community-pool"),
        ("slashing", "unjail"),
        ("roles", "register"),
        ("roles", "withdraw-rewards"),
    ):
        code, out, _ = offline_run("tx", module, command, "--help")
        assert code == 0 and "--wait" in out and "--timeout" in out, (module, command)


def test_keys_show_bech_val(offline_run: Run) -> None:
    mnemonic = " ".join(["abandon"] * 23 + ["art"])
    code, _, err = offline_run("keys", "import", "k", stdin=mnemonic + "\n")
    assert code == 0, err
    code, acc, _ = offline_run("keys", "show", "k", "-a")
    code, val, _ = offline_run("keys", "show", "k", "--bech", "val", "-a")
    assert code == 0 and val.startswith(VALOPER_RE_PREFIX)
    assert valoper_address_bytes(val.strip()) == acc_address_bytes(acc.strip())
    shown = json.loads(offline_run("keys", "show", "k", "--bech", "val", "-o", "json")[1])
    assert shown["address"] == val.strip() and shown["name"] == "k"


@pytest.mark.parametrize("chain", ["devnet"], indirect=True)
def test_validator_lifecycle_from_the_cli(run: Run, chain: ChainEndpoint) -> None:
    import_keys(run, chain, 0, 1, 2)
    val0 = run("keys", "show", "dev0", "--bech", "val", "-a")[1].strip()
    val1 = run("keys", "show", "dev1", "--bech", "val", "-a")[1].strip()
    dev2 = chain.accounts[2].address

    genesis = _json(run, "query", "staking", "validators", "--status", "bonded")["validators"]
    assert [v["operator_address"] for v in genesis] == [val0]

    pubkey = base64.b64encode(bytes(nacl.signing.SigningKey.generate().verify_key)).decode()
    created = _tx(
        run,
        "create-validator",
        "--pubkey",
        pubkey,
        "--amount",
        "2000000ucgpt",
        "--moniker",
        "cli-val",
        "--commission-rate",
        "0.05",
        "--from",
        "dev1",
    )
    assert created["validator"] == val1
    mine = _json(run, "query", "staking", "validator", val1)
    assert mine["description"]["moniker"] == "cli-val"
    assert mine["commission"]["commission_rates"]["rate"] == "0.050000000000000000"
    assert mine["tokens"] == "2000000"
    assert mine["consensus_pubkey"]["key"] == pubkey

    _tx(run, "delegate", val1, "1000000ucgpt", "--from", "dev2")
    delegation = _json(run, "query", "staking", "delegation", dev2, val1)
    assert delegation["balance"] == {"denom": "ucgpt", "amount": "1000000"}
    assert delegation["delegation"]["shares"] == "1000000.000000000000000000"

    unbonded = _tx(run, "unbond", val1, "400000ucgpt", "--from", "dev2")
    assert unbonded.get("completion_time")
    unbonding = _json(run, "query", "staking", "unbonding-delegations", dev2)
    (entry,) = unbonding["unbonding_responses"][0]["entries"]
    assert entry["balance"] == "400000" and int(entry["creation_height"]) > 0

    _tx(run, "cancel-unbond", val1, "100000ucgpt", entry["creation_height"], "--from", "dev2")
    delegation = _json(run, "query", "staking", "delegation", dev2, val1)
    assert delegation["balance"]["amount"] == "700000"

    _tx(run, "redelegate", val1, val0, "200000ucgpt", "--from", "dev2")
    redelegations = _json(run, "query", "staking", "redelegations", dev2)
    (red,) = redelegations["redelegation_responses"]
    assert red["redelegation"]["validator_dst_address"] == val0
    assert red["entries"][0]["balance"] == "200000"
    delegations = _json(run, "query", "staking", "delegations", dev2)["delegation_responses"]
    assert {d["delegation"]["validator_address"]: d["balance"]["amount"] for d in delegations} == {
        val0: "200000",
        val1: "500000",
    }

    _tx(run, "edit-validator", "--moniker", "renamed", "--from", "dev1")
    assert _json(run, "query", "staking", "validator", val1)["description"]["moniker"] == "renamed"

    code, _, err = run("query", "staking", "delegation", chain.accounts[3].address, val1)
    assert code == 1 and "has no delegation" in err
    code, _, err = run("tx", "staking", "delegate", val1, "1ucgpt", "--from", "dev3", "--yes")
    assert code == 1 and "dev3" in err  # not in the keyring

    pool = _json(run, "query", "staking", "pool")
    assert int(pool["bonded_tokens"]) >= 10_000_000 + 2_000_000 + 500_000
    params = _json(run, "query", "staking", "params")
    assert params["bond_denom"] == "ucgpt" and "." in params["min_commission_rate"]
    height = chain.height()
    hist = _json(run, "query", "staking", "historical-info", str(height))
    assert int(hist["header"]["height"]) == height and hist["valset"]


@pytest.mark.parametrize("chain", ["devnet"], indirect=True)
def test_tx_commands_wait_for_the_block_only_with_wait(run: Run, chain: ChainEndpoint) -> None:
    import_keys(run, chain, 0, 3)
    val0 = run("keys", "show", "dev0", "--bech", "val", "-a")[1].strip()
    dev3 = chain.accounts[3].address

    sent = _json(run, "tx", "staking", "delegate", val0, "1000ucgpt", "--from", "dev3", "--yes")
    assert set(sent) == {"txhash", "code", "codespace", "raw_log"} and sent["code"] == 0
    with Client(chain.rpc_url) as client:  # accepted by CheckTx: it lands in a later block
        assert client.wait_for_tx(sent["txhash"], timeout=chain.tx_timeout).ok

    waited = _tx(run, "delegate", val0, "2000ucgpt", "--from", "dev3")
    assert int(waited["height"]) > 0 and int(waited["gas_used"]) > 0
    delegation = _json(run, "query", "staking", "delegation", dev3, val0)
    assert delegation["balance"]["amount"] == "3000"  # both, read right after --wait returned

    before = _json(run, "query", "distribution", "community-pool")["pool"]
    funded = _json(
        run,
        "tx",
        "distribution",
        "fund-community-pool",
        "5000000ucgpt",
        "--from",
        "dev3",
        "--yes",
        "--wait",
        "--timeout",
        str(chain.tx_timeout),
    )
    assert funded["code"] == 0 and "raw_log" not in funded  # the included tx's result
    after = _json(run, "query", "distribution", "community-pool")["pool"]
    pooled = {c["denom"]: Dec(c["amount"]) for c in after}
    assert pooled["ucgpt"] >= Dec(5_000_000) + sum(
        (Dec(c["amount"]) for c in before if c["denom"] == "ucgpt"), Dec(0)
    )


def test_module_tx_commands_pay_the_given_fees_and_gas(run: Run, chain: ChainEndpoint) -> None:
    """Helpers that sign with their defaults (roles here) still pay ``--fees`` / ``--gas``."""
    import_keys(run, chain, 0)
    done = _json(
        run,
        "tx",
        "roles",
        "register",
        "data",
        "--bond",
        "500000000ucgpt",
        "--storage-bytes",
        "1000000000",
        "--fees",
        "98765ucgpt",
        "--gas",
        "345678",
        "--from",
        "dev0",
        "--yes",
        "--wait",
    )
    assert done["code"] == 0, done
    with Client(chain.rpc_url) as client:
        result = client.tx(done["txhash"])
    assert result is not None and result.gas_wanted == 345678
    assert result.attribute("tx", "fee") == "98765ucgpt"
