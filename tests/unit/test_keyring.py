"""aivm.client.keyring: encrypted file backend, test backend, errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aivm.client import Wallet
from aivm.client.keyring import (
    KeyExistsError,
    KeyNotFoundError,
    Keyring,
    KeyringError,
    WrongPassphraseError,
)

MNEMONIC = Wallet.generate()[1]


def test_file_backend_round_trip(tmp_path: Path) -> None:
    kr = Keyring(tmp_path, "file", "s3cret-pass")
    info = kr.import_mnemonic("alice", MNEMONIC)
    assert info.address == Wallet.from_mnemonic(MNEMONIC).address
    stored = (tmp_path / "keyring-file" / "alice.info").read_text()
    assert MNEMONIC.split()[0] not in stored or MNEMONIC not in stored
    assert "mnemonic" not in json.loads(stored)
    assert stat.S_IMODE((tmp_path / "keyring-file" / "alice.info").stat().st_mode) == 0o600
    again = Keyring(tmp_path, "file", "s3cret-pass")
    assert again.export("alice") == MNEMONIC
    assert again.wallet(info.address).address == info.address
    assert [k.name for k in again.list()] == ["alice"]


def test_file_backend_wrong_passphrase(tmp_path: Path) -> None:
    Keyring(tmp_path, "file", "right-pass").add("alice")
    wrong = Keyring(tmp_path, "file", "wrong-pass")
    with pytest.raises(WrongPassphraseError, match="incorrect keyring passphrase"):
        wrong.export("alice")
    with pytest.raises(WrongPassphraseError):
        wrong.add("bob")
    assert [k.name for k in wrong.list()] == ["alice"]  # public info needs no passphrase


def test_file_backend_needs_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="passphrase"):
        Keyring(tmp_path, "file").add("alice")


def test_passphrase_callback_told_when_new(tmp_path: Path) -> None:
    calls: list[bool] = []

    def ask(new: bool) -> str:
        calls.append(new)
        return "pass-phrase"

    Keyring(tmp_path, "file", ask).add("a")
    Keyring(tmp_path, "file", ask).export("a")
    assert calls == [True, False]


def test_test_backend(tmp_path: Path) -> None:
    kr = Keyring(tmp_path, "test")
    info, mnemonic = kr.add("bob", index=2)
    assert info.hd_path == "m/44'/118'/0'/0/2"
    assert kr.wallet("bob").address == Wallet.from_mnemonic(mnemonic, index=2).address
    assert kr.export(info.address) == mnemonic
    assert (tmp_path / "keyring-test" / "bob.info").exists()
    with pytest.raises(KeyExistsError):
        kr.import_mnemonic("bob", mnemonic)
    kr.delete("bob")
    with pytest.raises(KeyNotFoundError):
        kr.show("bob")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "x" * 65])
def test_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(KeyringError):
        Keyring(tmp_path, "test").import_mnemonic(name, MNEMONIC)


def test_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="backend"):
        Keyring(tmp_path, "os")


def test_invalid_mnemonic(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mnemonic"):
        Keyring(tmp_path, "test").import_mnemonic("x", "not a mnemonic")
