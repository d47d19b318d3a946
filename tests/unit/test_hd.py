"""BIP39/BIP32 derivation: a fixed Cosmos vector and cross-checks against cosmpy's own
(independent) mnemonic and HD implementation."""

from __future__ import annotations

import pytest
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.mnemonic import derive_child_key_from_mnemonic
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.crypto.hd import (
    DEFAULT_HD_PATH,
    InvalidMnemonicError,
    derive_privkey,
    generate_mnemonic,
    hd_path,
    validate_mnemonic,
)
from aivm.types.address import acc_address, bech32_encode

ABANDON = "abandon " * 11 + "about"


def test_known_cosmos_vector() -> None:
    key = derive_privkey(ABANDON)
    assert bech32_encode("cosmos", key.pubkey.address()) == (
        "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"
    )


def test_matches_cosmpy_wallet() -> None:
    key = derive_privkey(ABANDON)
    wallet = LocalWallet.from_mnemonic(ABANDON, prefix="aivm")
    assert key.bytes == wallet.signer().private_key_bytes
    assert key.pubkey.bytes == wallet.public_key().public_key_bytes
    assert acc_address(key.pubkey.address()) == str(wallet.address())


def test_default_path() -> None:
    assert DEFAULT_HD_PATH == "m/44'/118'/0'/0/0" == hd_path()
    assert hd_path(2, 7) == "m/44'/118'/2'/0/7"
    with pytest.raises(ValueError):
        hd_path(-1)
    with pytest.raises(ValueError):
        hd_path(0, 2**31)


@pytest.mark.parametrize(("account", "index"), [(0, 1), (1, 0), (3, 42)])
def test_other_paths_match_cosmpy(account: int, index: int) -> None:
    path = hd_path(account, index)
    key = derive_privkey(ABANDON, path=path)
    assert key.bytes == derive_child_key_from_mnemonic(ABANDON, path=path)
    assert key != derive_privkey(ABANDON)


def test_passphrase_matches_cosmpy() -> None:
    key = derive_privkey(ABANDON, passphrase="TREZOR")
    assert key.bytes == derive_child_key_from_mnemonic(ABANDON, passphrase="TREZOR")
    assert key != derive_privkey(ABANDON)


@settings(max_examples=5, deadline=None)
@given(st.sampled_from([12, 15, 18, 21, 24]))
def test_generated_mnemonics_derive_like_cosmpy(words: int) -> None:
    mnemonic = generate_mnemonic(words)
    assert len(mnemonic.split()) == words
    assert validate_mnemonic(mnemonic)
    assert derive_privkey(mnemonic).bytes == derive_child_key_from_mnemonic(mnemonic)


def test_generate_rejects_bad_word_count() -> None:
    with pytest.raises(ValueError):
        generate_mnemonic(13)


def test_whitespace_is_normalised() -> None:
    messy = "  " + ABANDON.replace(" ", " \t\n ", 3) + "\n"
    assert validate_mnemonic(messy)
    assert derive_privkey(messy) == derive_privkey(ABANDON)


@pytest.mark.parametrize(
    ("mnemonic", "reason"),
    [
        ("abandon " * 12, "checksum"),  # 12 valid words, wrong checksum
        ("abandon " * 10 + "about", "11 words"),
        ("abandon " * 11 + "notaword", "not in the BIP39"),
        ("", "0 words"),
    ],
)
def test_invalid_mnemonics(mnemonic: str, reason: str) -> None:
    assert not validate_mnemonic(mnemonic)
    with pytest.raises(InvalidMnemonicError, match=reason):
        derive_privkey(mnemonic)
