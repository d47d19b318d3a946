"""A keyring of named keys under ``<home>/keyring-<backend>/``.

Backends:

- ``file`` — each key's mnemonic is encrypted with a passphrase: Argon2id (libsodium
  ``pwhash``, interactive limits) derives a key that seals the mnemonic with XSalsa20-Poly1305
  (PyNaCl ``SecretBox``). ``keyhash`` holds an Argon2id hash of the passphrase so a wrong one
  is refused before anything is written.
- ``test`` — mnemonics in plain JSON, for scripts and tests only. Never hold real funds in it.

Each key is ``<name>.info`` (JSON: name, address, public key, HD path, the mnemonic — sealed
or plain). Files are written 0600, directories 0700.

Example::

    kr = Keyring("~/.aivm", backend="file", passphrase="correct horse battery staple")
    info, mnemonic = kr.add("alice")
    wallet = kr.wallet("alice")                  # a Wallet ready to sign
    assert kr.show(info.address).name == "alice"
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from aivm.client.wallet import Wallet
from aivm.crypto.hd import derive_privkey, generate_mnemonic, hd_path, normalize_mnemonic
from aivm.types.address import acc_address

__all__ = [
    "BACKENDS",
    "KeyExistsError",
    "KeyInfo",
    "KeyNotFoundError",
    "Keyring",
    "KeyringError",
    "WrongPassphraseError",
]

BACKENDS = ("file", "test")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KDF = nacl.pwhash.argon2id
_OPS = _KDF.OPSLIMIT_INTERACTIVE
_MEM = _KDF.MEMLIMIT_INTERACTIVE

#: A passphrase, or a callable asked for it (argument True when a new keyring is created,
#: so the caller can ask twice).
Passphrase = str | Callable[[bool], str] | None


class KeyringError(Exception):
    """A keyring operation failed (message is meant for people)."""


class KeyNotFoundError(KeyringError):
    """No key with that name or address."""


class KeyExistsError(KeyringError):
    """A key with that name already exists."""


class WrongPassphraseError(KeyringError):
    """The passphrase does not open this keyring."""


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about a stored key."""

    name: str
    address: str
    pubkey: str  # base64 of the 33-byte compressed key, as `keys show` prints it
    hd_path: str
    type: str = "local"


class Keyring:
    """Named keys of one backend under ``<home>/keyring-<backend>/``."""

    def __init__(self, home: str | Path, backend: str = "file", passphrase: Passphrase = None):
        if backend not in BACKENDS:
            raise KeyringError(
                f"unknown keyring backend {backend!r}; use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.dir = Path(home).expanduser() / f"keyring-{backend}"
        self._passphrase_source = passphrase
        self._passphrase: str | None = None

    # -- passphrase --------------------------------------------------------------------------

    @property
    def _keyhash(self) -> Path:
        return self.dir / "keyhash"

    def _secret(self) -> str:
        """The verified passphrase of a ``file`` keyring (creating the keyhash on first use)."""
        if self._passphrase is not None:
            return self._passphrase
        new = not self._keyhash.exists()
        source = self._passphrase_source
        if source is None:
            raise KeyringError(
                "the file keyring needs a passphrase (set AIVM_KEYRING_PASSPHRASE or pass one)"
            )
        passphrase = source(new) if callable(source) else source
        if not passphrase:
            raise KeyringError("the keyring passphrase must not be empty")
        if new:
            self._ensure_dir()
            _write_private(self._keyhash, _KDF.str(passphrase.encode(), _OPS, _MEM))
        else:
            try:
                _KDF.verify(self._keyhash.read_bytes().strip(), passphrase.encode())
            except nacl.exceptions.InvalidkeyError as exc:
                raise WrongPassphraseError("incorrect keyring passphrase") from exc
        self._passphrase = passphrase
        return passphrase

    def _seal(self, mnemonic: str) -> dict[str, object]:
        salt = nacl.utils.random(_KDF.SALTBYTES)
        key = _KDF.kdf(nacl.secret.SecretBox.KEY_SIZE, self._secret().encode(), salt, _OPS, _MEM)
        box = nacl.secret.SecretBox(key)
        return {
            "kdf": "argon2id",
            "opslimit": _OPS,
            "memlimit": _MEM,
            "salt": base64.b64encode(salt).decode(),
            "ciphertext": base64.b64encode(bytes(box.encrypt(mnemonic.encode()))).decode(),
        }

    def _unseal(self, sealed: dict[str, object]) -> str:
        salt = base64.b64decode(str(sealed["salt"]))
        ops, mem = int(str(sealed["opslimit"])), int(str(sealed["memlimit"]))
        key = _KDF.kdf(nacl.secret.SecretBox.KEY_SIZE, self._secret().encode(), salt, ops, mem)
        try:
            plain = nacl.secret.SecretBox(key).decrypt(base64.b64decode(str(sealed["ciphertext"])))
        except nacl.exceptions.CryptoError as exc:
            raise WrongPassphraseError("incorrect keyring passphrase") from exc
        return bytes(plain).decode()

    # -- files -------------------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, name: str) -> Path:
        if not _NAME_RE.fullmatch(name):
            raise KeyringError(
                f"invalid key name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
            )
        return self.dir / f"{name}.info"

    def _load(self, name_or_address: str) -> dict[str, object]:
        if _NAME_RE.fullmatch(name_or_address):
            path = self._path(name_or_address)
            if path.exists():
                data: dict[str, object] = json.loads(path.read_text())
                return data
        for path in sorted(self.dir.glob("*.info")) if self.dir.exists() else []:
            data = json.loads(path.read_text())
            if data.get("address") == name_or_address:
                return data
        raise KeyNotFoundError(f"key {name_or_address!r} not found in the {self.backend} keyring")

    @staticmethod
    def _info(data: dict[str, object]) -> KeyInfo:
        return KeyInfo(
            name=str(data["name"]),
            address=str(data["address"]),
            pubkey=str(data["pubkey"]),
            hd_path=str(data["hd_path"]),
            type=str(data.get("type", "local")),
        )

    # -- operations --------------------------------------------------------------------------

    def add(
        self, name: str, account: int = 0, index: int = 0, words: int = 24
    ) -> tuple[KeyInfo, str]:
        """Create a key from a fresh mnemonic; returns its info and the mnemonic (show it once)."""
        mnemonic = generate_mnemonic(words)
        return self.import_mnemonic(name, mnemonic, account, index), mnemonic

    def import_mnemonic(
        self, name: str, mnemonic: str, account: int = 0, index: int = 0
    ) -> KeyInfo:
        """Store the key of ``mnemonic`` at ``m/44'/118'/{account}'/0/{index}`` as ``name``."""
        path = self._path(name)
        if path.exists():
            raise KeyExistsError(f"key {name!r} already exists in the {self.backend} keyring")
        mnemonic = normalize_mnemonic(mnemonic)
        hdp = hd_path(account, index)
        key = derive_privkey(mnemonic, path=hdp)
        data: dict[str, object] = {
            "name": name,
            "type": "local",
            "address": acc_address(key.pubkey.address()),
            "pubkey": base64.b64encode(key.pubkey.bytes).decode(),
            "hd_path": hdp,
        }
        if self.backend == "file":
            data["sealed_mnemonic"] = self._seal(mnemonic)
        else:
            data["mnemonic"] = mnemonic
        self._ensure_dir()
        _write_private(path, json.dumps(data, indent=2).encode())
        return self._info(data)

    def list(self) -> list[KeyInfo]:
        """All keys, sorted by name."""
        if not self.dir.exists():
            return []
        return [self._info(json.loads(p.read_text())) for p in sorted(self.dir.glob("*.info"))]

    def show(self, name_or_address: str) -> KeyInfo:
        """The key with this name (or bech32 address)."""
        return self._info(self._load(name_or_address))

    def delete(self, name_or_address: str) -> KeyInfo:
        """Remove a key; returns what was removed."""
        info = self.show(name_or_address)
        self._path(info.name).unlink()
        return info

    def export(self, name_or_address: str) -> str:
        """The mnemonic of a key (asks the passphrase for ``file``)."""
        data = self._load(name_or_address)
        if "sealed_mnemonic" in data:
            sealed = data["sealed_mnemonic"]
            assert isinstance(sealed, dict)
            return self._unseal(sealed)
        return str(data["mnemonic"])

    def wallet(self, name_or_address: str) -> Wallet:
        """A :class:`Wallet` for signing with a stored key."""
        data = self._load(name_or_address)
        mnemonic = self.export(str(data["name"]))
        return Wallet(derive_privkey(mnemonic, path=str(data["hd_path"])))


def _write_private(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.replace(tmp, path)
