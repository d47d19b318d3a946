"""The Python SDK (aivm.client) against a running chain: the devnet and a 1-validator CometBFT
localnet (the ``chain`` fixture, ids ``[devnet]`` and ``[cometbft]``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aivm.client import (
    AsyncClient,
    ChainError,
    Client,
    NodeUnreachableError,
    TxTimeoutError,
    Wallet,
)
from aivm.client.tx import bank_send
from aivm.types.coin import Coin
from chain_drivers import ChainEndpoint


@pytest.fixture(scope="module")
def funded(chain: ChainEndpoint) -> list[Wallet]:
    return [Wallet.from_mnemonic(m) for m in chain.mnemonics]


@pytest.fixture
def client(chain: ChainEndpoint) -> Iterator[Client]:
    with Client(chain.rpc_url) as c:
        yield c


def test_wallet_matches_funded_account(chain: ChainEndpoint, funded: list[Wallet]) -> None:
    assert [w.address for w in funded] == [a.address for a in chain.accounts]
    wallet, mnemonic = Wallet.generate()
    assert Wallet.from_mnemonic(mnemonic).address == wallet.address
    assert Wallet.from_mnemonic(mnemonic, index=1).address != wallet.address


def test_status_and_block(client: Client, chain: ChainEndpoint) -> None:
    status = client.status()
    assert status.chain_id == chain.chain_id
    assert status.latest_block_height >= 1
    block = client.block(1)
    assert block.height == 1 and block.chain_id == chain.chain_id and len(block.hash) == 64
    assert client.block().height >= 1


def test_send_auto_gas_balances_tx_lookup(
    client: Client, chain: ChainEndpoint, funded: list[Wallet]
) -> None:
    sender = funded[0]
    recipient, _ = Wallet.generate()
    assert client.account(recipient.address) is None
    assert client.balance(recipient.address) == 0
    before = client.account(sender.address)
    assert before is not None
    msg = bank_send(sender.address_bytes, recipient.address_bytes, [Coin("ucgpt", 1)])
    simulated = client.simulate([msg], sender)
    assert simulated > 0

    sent = client.send(sender, recipient.address, "1500ucgpt", memo="hi")
    assert sent.ok and len(sent.hash) == 64
    result = client.wait_for_tx(sent.hash, timeout=chain.tx_timeout)
    assert result.ok and result.height >= 1
    assert result.gas_used <= result.gas_wanted
    assert result.gas_wanted >= simulated  # simulate × 1.5
    assert [e.get("amount") for e in result.find_events("transfer")][-1] == "1500ucgpt"
    assert client.balance(recipient.address) == 1500
    assert client.balances(recipient.address).amount_of("ucgpt") == 1500
    after = client.account(sender.address)
    assert after is not None and after.sequence == before.sequence + 1
    assert after.pubkey == sender.pubkey.bytes

    looked_up = client.tx(sent.hash.lower())
    assert looked_up is not None and looked_up.hash == sent.hash and looked_up.tx
    assert client.tx("00" * 32) is None


def test_insufficient_funds_is_chain_error(
    client: Client, chain: ChainEndpoint, funded: list[Wallet]
) -> None:
    recipient, _ = Wallet.generate()
    with pytest.raises(ChainError) as err:
        client.send(funded[1], recipient.address, 10**18)
    assert (err.value.codespace, err.value.code) == ("sdk", 5)
    assert str(err.value).startswith("insufficient funds (sdk code 5)")
    # fixed gas skips simulation: CheckTx admits it, execution fails, wait_for_tx raises
    sent = client.send(funded[1], recipient.address, 10**18, gas=200_000)
    with pytest.raises(ChainError) as err2:
        client.wait_for_tx(sent.hash, timeout=chain.tx_timeout)
    assert err2.value.code == 5 and err2.value.txhash == sent.hash
    failed = client.wait_for_tx(sent.hash, check=False)
    assert not failed.ok and failed.code == 5


def test_bad_sequence_is_chain_error(client: Client, funded: list[Wallet]) -> None:
    wallet = funded[2]
    account = client.account(wallet.address)
    assert account is not None
    recipient, _ = Wallet.generate()
    msg = bank_send(wallet.address_bytes, recipient.address_bytes, [Coin("ucgpt", 5)])
    raw = wallet.sign_tx(
        [msg],
        account.account_number,
        account.sequence + 7,
        client.chain_id(),
        fee=[Coin("ucgpt", 5000)],
        gas_limit=200_000,
    )
    with pytest.raises(ChainError) as err:
        client.broadcast(raw)
    assert (err.value.codespace, err.value.code) == ("sdk", 32)


def test_wait_for_tx_timeout(client: Client) -> None:
    with pytest.raises(TxTimeoutError):
        client.wait_for_tx("AB" * 32, timeout=0.3, poll=0.1)


def test_unreachable_node() -> None:
    with Client("http://127.0.0.1:9", timeout=2) as c, pytest.raises(NodeUnreachableError) as err:
        c.status()
    assert isinstance(err.value, ConnectionError)
    assert "cannot reach node" in str(err.value)


def test_async_client(chain: ChainEndpoint, funded: list[Wallet]) -> None:
    async def scenario() -> None:
        async with AsyncClient(chain.rpc_url) as client:
            recipient, _ = Wallet.generate()
            assert await client.account(recipient.address) is None
            sent = await client.send(funded[3], recipient.address, 777)
            result = await client.wait_for_tx(sent.hash, timeout=chain.tx_timeout)
            assert result.ok
            assert await client.balance(recipient.address) == 777
            status = await client.status()
            assert status.latest_block_height >= result.height

    asyncio.run(scenario())


def test_unknown_account_is_none(client: Client) -> None:
    other, _ = Wallet.generate()
    assert client.account(other.address) is None
    assert len(client.balances(other.address)) == 0


@pytest.mark.parametrize("bad", ["nope", "cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a"])
def test_bad_address_rejected_locally(bad: str) -> None:
    # rejected before any request: no node needed
    with (
        Client("http://127.0.0.1:9", timeout=2) as client,
        pytest.raises(Exception, match=r"address|bech32|prefix"),
    ):
        client.balance(bad)


def test_keyring_wallet(tmp_path: Path) -> None:
    from aivm.client.keyring import Keyring

    kr = Keyring(tmp_path, "test")
    wallet, mnemonic = Wallet.generate()
    kr.import_mnemonic("k", mnemonic)
    assert kr.wallet("k").address == wallet.address


def test_storage_through_the_rest_url(chain: ChainEndpoint, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    with Client(chain.rpc_url, rest=chain.rest_url) as client:
        assert client.rest == chain.rest_url
        stat = client.storage.put(data)
        assert stat.size == len(data)
        client.storage.get(stat.cid, tmp_path / "copy")
        assert (tmp_path / "copy").read_bytes() == data
    assert Client().rest == "http://127.0.0.1:1317"


def test_the_params_authority_changes_params(
    client: Client, chain: ChainEndpoint, funded: list[Wallet]
) -> None:
    from aivm.types import pb
    from aivm.types.protogen import authority_pb2

    authority, other = funded[0], funded[1]  # dev0 / account0 is the test chain's authority
    found = client.query(
        "/aivm.authority.v1.Query/Authority",
        authority_pb2.QueryAuthorityRequest(),
        authority_pb2.QueryAuthorityResponse,
    )
    assert found.authority == authority.address
    path, request = "/cosmos.auth.v1beta1.Query/Params", pb.auth_query.QueryParamsRequest()
    params = client.query(path, request, pb.auth_query.QueryParamsResponse).params
    params.max_memo_characters = 300

    refused = pb.auth_tx.MsgUpdateParams(authority=other.address, params=params)
    with pytest.raises(ChainError) as err:
        client.sign_and_broadcast(other, [refused])  # auto gas: Simulate reports the failure
    assert (err.value.codespace, err.value.code) == ("gov", 12)

    update = pb.auth_tx.MsgUpdateParams(authority=authority.address, params=params)
    sent = client.sign_and_broadcast(authority, [update])
    assert client.wait_for_tx(sent.hash, timeout=chain.tx_timeout).ok
    now = client.query(path, request, pb.auth_query.QueryParamsResponse).params
    assert now.max_memo_characters == 300
