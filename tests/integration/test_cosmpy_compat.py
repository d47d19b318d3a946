"""Unmodified cosmpy against the REST gateway: queries, send_tokens, wait_to_complete — on the
devnet and on a 1-validator CometBFT localnet (the ``chain`` fixture)."""

from __future__ import annotations

import hashlib

import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address

from aivm.types.address import acc_address
from chain_drivers import ChainEndpoint

DENOM = "ucgpt"


@pytest.mark.e2e
def test_cosmpy_queries_and_sends_through_rest(chain: ChainEndpoint) -> None:
    dev = chain.accounts[0]
    client = LedgerClient(
        NetworkConfig(
            chain_id=chain.chain_id,
            url=f"rest+{chain.rest_url}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        ),
        query_interval_secs=1,
        query_timeout_secs=int(chain.tx_timeout) + 10,
    )
    wallet = LocalWallet.from_mnemonic(dev.mnemonic, prefix="aivm")
    assert str(wallet.address()) == dev.address
    recipient = Address(acc_address(hashlib.sha256(b"cosmpy-recipient").digest()[:20]))

    assert client.query_bank_balance(wallet.address(), DENOM) == chain.initial_balance
    assert client.query_bank_balance(recipient, DENOM) == 0
    account = client.query_account(wallet.address())
    assert str(account.address) == dev.address
    assert account.sequence == 0
    assert client.query_chain_id() == chain.chain_id
    assert client.query_height() >= 1

    tx = client.send_tokens(recipient, 12_345, DENOM, wallet, memo="cosmpy over REST")
    tx.wait_to_complete()
    response = tx.response
    assert response is not None
    assert response.code == 0, response.raw_log
    assert response.height >= 1
    assert response.hash == tx.tx_hash

    assert client.query_bank_balance(recipient, DENOM) == 12_345
    assert client.query_bank_balance(wallet.address(), DENOM) < chain.initial_balance - 12_345
    assert client.query_account(wallet.address()).sequence == 1
    block = client.query_block(response.height)
    assert tx.tx_hash in block.tx_hashes
