"""Bad transactions broadcast to the devnet: each gets its code and log; nothing changes.

Bad signature, wrong chain-id, wrong sequence, a fee under the devnet's minimum gas price,
an unknown signer and more funds than the sender has: the node answers each over
``broadcast_tx_sync`` (or in the block, for the last one), keeps producing blocks, and the
sender's balance and sequence are untouched by the rejected ones.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from aivm.client import Client
from aivm.client.tx import Signer, bank_send, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.crypto.keys import PrivKey
from aivm.node.home import DEV_ACCOUNT_BALANCE, DEVNET_CHAIN_ID, HomePaths, load_dev_accounts
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from devnet_helpers import DevnetThread, result, wait_height

RECIPIENT = bytes(range(20))


@pytest.fixture
def node(tmp_path: Path):  # type: ignore[no-untyped-def]
    with DevnetThread(tmp_path / "home") as running:
        wait_height(running.url, 1)
        yield running


def broadcast(url: str, raw: bytes) -> dict:  # type: ignore[type-arg]
    return result(url, "broadcast_tx_sync", {"tx": base64.b64encode(raw).decode()})  # type: ignore[no-any-return]


def send(
    key: PrivKey,
    *,
    seq: int = 0,
    number: int = 0,
    chain: str = DEVNET_CHAIN_ID,
    fee: int = 5000,
    gas: int = 200_000,
    amount: int = 1,
) -> bytes:
    return sign_tx(
        [bank_send(key.pubkey.address(), RECIPIENT, [Coin("ucgpt", amount)])],
        [Signer(key, number, seq)],
        chain,
        fee=[Coin("ucgpt", fee)],
        gas_limit=gas,
    )


def test_bad_transactions_are_rejected_with_codes(node: DevnetThread) -> None:
    dev = load_dev_accounts(HomePaths(node.home))[0]
    key = derive_privkey(dev.mnemonic)
    with Client(node.url) as client:
        number = client.account(dev.address).account_number  # type: ignore[union-attr]
        start_height = client.status().latest_block_height

        tampered = bytearray(send(key, number=number))
        tampered[-1] ^= 0x01  # last byte of the signature
        cases = {
            "bad signature": (bytes(tampered), 4, "signature verification failed"),
            "wrong chain-id": (
                send(key, number=number, chain="other-1"),
                4,
                "signature verification failed",
            ),
            "wrong sequence": (
                send(key, number=number, seq=9),
                32,
                "account sequence mismatch, expected 0, got 9",
            ),
            "fee below minimum": (send(key, number=number, fee=10), 13, "insufficient fees"),
            "unknown signer": (send(PrivKey.from_bytes(bytes([7]) * 32)), 9, "does not exist"),
            "undecodable": (b"\x0a\x03abc", 2, "tx parse error"),
        }
        for name, (raw, code, text) in cases.items():
            answer = broadcast(node.url, raw)
            assert answer["code"] == code, (name, answer)
            assert text in answer["log"], (name, answer["log"])
            assert answer["codespace"] == "sdk", name

        # passes CheckTx, fails in the block: fee and sequence kept, nothing else
        over = send(key, number=number, amount=DEV_ACCOUNT_BALANCE * 2)
        assert broadcast(node.url, over)["code"] == 0
        found = client.wait_for_tx(hashlib.sha256(over).hexdigest().upper(), check=False)
        assert (found.code, found.codespace) == (5, "sdk")
        wait_height(node.url, found.height + 1)
        assert client.balance(dev.address) == DEV_ACCOUNT_BALANCE - 5000
        assert client.account(dev.address).sequence == 1  # type: ignore[union-attr]
        assert client.balance(acc_address(RECIPIENT)) == 0
        assert client.status().latest_block_height > start_height  # still producing
