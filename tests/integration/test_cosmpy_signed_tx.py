"""A transaction built and signed by cosmpy (an independent implementation) is accepted.

cosmpy derives the key from a mnemonic with its own BIP32 code, packs the public key,
builds the SignDoc and signs it; the app must verify and execute it unmodified.
"""

from __future__ import annotations

from pathlib import Path

from cosmpy.aerial.client.bank import create_bank_send_msg
from cosmpy.aerial.tx import SigningCfg, Transaction, TxFee
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address

from aivm.crypto.hd import derive_privkey
from aivm.types.address import acc_address
from harness import CHAIN_ID, DENOM, Chain

MNEMONIC = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
RECIPIENT = bytes(range(20))


def test_tx_signed_by_cosmpy_executes(tmp_path: Path) -> None:
    ours = derive_privkey(MNEMONIC)
    wallet = LocalWallet.from_mnemonic(MNEMONIC, prefix="aivm")
    assert str(wallet.address()) == acc_address(ours.pubkey.address())
    chain = Chain.start(tmp_path / "d", {ours.pubkey.address(): 1_000_000})
    chain.block([])
    account = chain.account(ours.pubkey.address())

    tx = Transaction()
    tx.add_message(
        create_bank_send_msg(wallet.address(), Address(acc_address(RECIPIENT)), 4242, DENOM)
    )
    tx.seal(
        SigningCfg.direct(wallet.public_key(), account.sequence),
        fee=TxFee(amount=f"5000{DENOM}", gas_limit=150_000),
        memo="from cosmpy",
    )
    tx.sign(wallet.signer(), CHAIN_ID, account.account_number)
    tx.complete()

    raw = tx.tx.SerializeToString()
    assert chain.check(raw).code == 0
    result = chain.block([raw]).tx_results[0]
    assert result.code == 0, result.log
    assert chain.balance(RECIPIENT) == 4242
    assert chain.balance(ours.pubkey.address()) == 1_000_000 - 4242 - 5000
    chain.app.store.close()
