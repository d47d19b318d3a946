"""SIGN_MODE_LEGACY_AMINO_JSON against a running chain (the ``chain`` fixture) and against cosmjs.

- ``tests/compat/cosmjs/amino.mjs vectors``: cosmjs' own amino conversion and
  ``serializeSignDoc`` of a set of SDK messages equal :mod:`aivm.types.amino_json`'s bytes.
- ``amino.mjs e2e``: cosmjs' ``SigningStargateClient`` with ``Secp256k1Wallet.fromKey`` (an
  amino-only signer, so it signs LEGACY_AMINO_JSON) sends, delegates and withdraws rewards;
  a send signed for another chain id is refused with code 4 and changes nothing.
- The Python client (``Wallet(sign_mode="amino-json")``) and ``aivm tx bank send
  --sign-mode amino-json`` send txs that land, signed in that mode.

The cosmjs tests need ``node``/``npm`` (CI has both) and are marked e2e.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aivm.client import Client, Wallet
from aivm.crypto.hd import derive_privkey
from aivm.types import amino_json, pb
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys
from npm_projects import npm_project, tool

DENOM = "ucgpt"
AMINO = pb.signing.SIGN_MODE_LEGACY_AMINO_JSON
A = "aivm1qyqszqgpqyqszqgpqyqszqgpqyqszqgprwjfk9"
B = "aivm1qgpqyqszqgpqyqszqgpqyqszqgpqyqszj25van"
V = "aivmvaloper1qyqszqgpqyqszqgpqyqszqgpqyqszqgp7n5wgz"
C = pb.coin.Coin


@pytest.fixture(scope="session")
def cosmjs_dir() -> Path:
    """``tests/compat/cosmjs`` with its node_modules installed (``npm ci``), once per session."""
    return npm_project("cosmjs")


def node(folder: Path, *args: str, stdin: str = "", timeout: int = 240) -> str:
    try:
        run = subprocess.run(
            [tool("node", "the cosmjs amino test"), "amino.mjs", *args],
            cwd=folder,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"amino.mjs timed out after {timeout} s; stderr:\n{exc.stderr!r}")
    assert run.returncode == 0, f"amino.mjs failed (exit {run.returncode}):\n{run.stderr}"
    return run.stdout.strip().splitlines()[-1]


def _case(
    msgs: list[pb.Message],
    fee: list[pb.coin.Coin],
    gas: int,
    memo: str = "",
    account_number: int = 0,
    sequence: int = 0,
    timeout_height: int = 0,
    payer: str = "",
    granter: str = "",
) -> tuple[dict[str, Any], bytes]:
    fee_json: dict[str, Any] = {
        "amount": [{"denom": c.denom, "amount": c.amount} for c in fee],
        "gas": str(gas),
    }
    if payer:
        fee_json["payer"] = payer
    if granter:
        fee_json["granter"] = granter
    spec = {
        "typeUrls": [pb.type_url(m) for m in msgs],
        "valuesHex": [m.SerializeToString().hex() for m in msgs],
        "chainId": "aivm-devnet-1",
        "accountNumber": account_number,
        "sequence": sequence,
        "fee": fee_json,
        "memo": memo,
        "timeoutHeight": timeout_height,
    }
    ours = amino_json.sign_doc_bytes(
        amino_json.encode_msgs(msgs),
        "aivm-devnet-1",
        account_number,
        sequence,
        fee,
        gas,
        memo,
        timeout_height,
        payer,
        granter,
    )
    return spec, ours


def _cases() -> list[tuple[dict[str, Any], bytes]]:
    """Messages on which cosmjs' converters and the SDK agree (see ADR 0015 for where they
    do not: MsgWithdrawValidatorCommission's name, empty Description fields, U+2028)."""
    fee = [C(denom=DENOM, amount="5000")]
    coins = [C(denom=DENOM, amount="7")]
    return [
        _case([pb.bank_tx.MsgSend(from_address=A, to_address=B, amount=coins)], fee, 200_000),
        _case(
            [pb.staking_tx.MsgDelegate(delegator_address=A, validator_address=V, amount=coins[0])],
            [],
            0,
            "",
            3,
            9,
            12345,
        ),
        _case(
            [
                pb.staking_tx.MsgUndelegate(
                    delegator_address=A, validator_address=V, amount=coins[0]
                )
            ],
            fee,
            1,
            "<script>&amp;",
        ),
        _case(
            [
                pb.staking_tx.MsgBeginRedelegate(
                    delegator_address=A,
                    validator_src_address=V,
                    validator_dst_address=V,
                    amount=coins[0],
                )
            ],
            fee,
            2,
            'é "quoted" \\ \t\n',
        ),
        _case(
            [
                pb.distribution_tx.MsgWithdrawDelegatorReward(
                    delegator_address=A, validator_address=V
                )
            ],
            fee,
            3,
        ),
        _case(
            [pb.distribution_tx.MsgSetWithdrawAddress(delegator_address=A, withdraw_address=B)],
            fee,
            4,
        ),
        _case([pb.distribution_tx.MsgFundCommunityPool(depositor=A, amount=coins)], fee, 5),
        _case(
            [
                pb.bank_tx.MsgMultiSend(
                    inputs=[pb.bank.Input(address=A, coins=coins)],
                    outputs=[pb.bank.Output(address=B, coins=coins)],
                )
            ],
            fee,
            6,
        ),
        _case(
            [
                pb.bank_tx.MsgSend(from_address=A, to_address=B, amount=coins),
                pb.staking_tx.MsgDelegate(
                    delegator_address=A, validator_address=V, amount=coins[0]
                ),
            ],
            [C(denom=DENOM, amount="1"), C(denom="zzz", amount="2")],
            300_000,
            "two",
            5,
            6,
            0,
            A,
            B,
        ),
    ]


@pytest.mark.e2e
def test_sign_bytes_equal_what_cosmjs_signs(cosmjs_dir: Path) -> None:
    cases = _cases()
    theirs = json.loads(node(cosmjs_dir, "vectors", stdin=json.dumps([c for c, _ in cases])))
    assert len(theirs) == len(cases)
    for (spec, ours), hex_doc in zip(cases, theirs, strict=True):
        assert bytes.fromhex(hex_doc).decode() == ours.decode(), spec["typeUrls"]


def _mode(tx: bytes) -> int:
    auth = pb.tx.AuthInfo.FromString(pb.tx.TxRaw.FromString(tx).auth_info_bytes)
    return int(auth.signer_infos[0].mode_info.single.mode)


@pytest.mark.e2e
def test_cosmjs_amino_signer_sends_delegates_withdraws_and_a_wrong_chain_id_is_refused(
    cosmjs_dir: Path, chain: ChainEndpoint
) -> None:
    chain.wait_height(2)
    account = chain.accounts[2]
    key = derive_privkey(account.mnemonic)
    recipient = Wallet.generate()[0].address
    summary = json.loads(node(cosmjs_dir, "e2e", chain.rpc_url, key.bytes.hex(), recipient))
    assert summary["address"] == account.address
    with Client(chain.rpc_url) as client:
        for step in ("send", "delegate", "withdraw"):
            seen = summary[step]
            assert seen["code"] == 0, (step, seen["rawLog"])
            tx = client.tx(seen["hash"])
            assert tx is not None and tx.code == 0 and tx.height == seen["height"]
            assert _mode(tx.tx) == AMINO, step
        assert client.balance(recipient) == 1234
        send = client.tx(summary["send"]["hash"])
        assert send is not None
        body = pb.tx.TxBody.FromString(pb.tx.TxRaw.FromString(send.tx).body_bytes)
        assert body.memo == "amino <send> & co"
        delegations = client.abci_query(
            "/cosmos.staking.v1beta1.Query/Delegation",
            pb.staking_query.QueryDelegationRequest(
                delegator_addr=account.address, validator_addr=summary["validator"]
            ).SerializeToString(),
        )
        answer = pb.staking_query.QueryDelegationResponse.FromString(delegations)
        assert answer.delegation_response.balance.amount == "2000000"
        tampered = summary["tampered"]
        assert tampered["code"] == 4, tampered
        assert "signature verification failed" in tampered["log"]
        assert _mode(bytes.fromhex(tampered["txHex"])) == AMINO
        assert tampered["sequenceAfter"] == tampered["sequenceBefore"]
        assert tampered["balanceAfter"] == tampered["balanceBefore"]
        assert client.account(account.address).sequence == tampered["sequenceBefore"]  # type: ignore[union-attr]


def test_python_client_and_cli_send_amino_signed_txs_that_land(
    chain: ChainEndpoint, run: Run
) -> None:
    chain.wait_height(2)
    wallet = Wallet.from_mnemonic(chain.accounts[3].mnemonic, sign_mode="amino-json")
    bob = Wallet.generate()[0].address
    with Client(chain.rpc_url) as client:
        sent = client.send(wallet, bob, 2500, memo="python <amino>")
        tx = client.wait_for_tx(sent.hash, timeout=chain.tx_timeout)
        assert tx.code == 0 and _mode(tx.tx) == AMINO
        assert client.balance(bob) == 2500

        import_keys(run, chain, 3)
        code, out, err = run(
            "tx", "bank", "send", "dev3", bob, "500ucgpt",
            "--sign-mode", "amino-json", "--yes", "-o", "json",
        )  # fmt: skip
        assert code == 0, err
        tx = client.wait_for_tx(json.loads(out)["txhash"], timeout=chain.tx_timeout)
        assert tx.code == 0 and _mode(tx.tx) == AMINO
        assert client.balance(bob) == 3000

        code, _, err = run("tx", "bank", "send", "dev3", bob, "1ucgpt", "--sign-mode", "textual")
        assert code == 2 and "--sign-mode" in err
