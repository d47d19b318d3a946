"""BIP39 mnemonics and BIP32 derivation of Cosmos secp256k1 keys (default path m/44'/118'/0'/0/0).

Mnemonics are English BIP39 phrases of 12, 15, 18, 21 or 24 words. Whitespace is normalised
(any run of spaces, tabs or newlines counts as one separator) before the checksum is checked
and the seed derived, as cosmpy and the Cosmos SDK keyring do.
"""

from __future__ import annotations

from typing import Final

from bip32 import BIP32
from mnemonic import Mnemonic

from aivm.crypto.keys import PrivKey

__all__ = [
    "COSMOS_COIN_TYPE",
    "DEFAULT_HD_PATH",
    "InvalidMnemonicError",
    "derive_privkey",
    "generate_mnemonic",
    "hd_path",
    "normalize_mnemonic",
    "validate_mnemonic",
]

COSMOS_COIN_TYPE: Final = 118
DEFAULT_HD_PATH: Final = "m/44'/118'/0'/0/0"
_WORD_COUNTS: Final = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}
_ENGLISH = Mnemonic("english")


class InvalidMnemonicError(ValueError):
    """The mnemonic is not a valid English BIP39 phrase."""


def hd_path(account: int = 0, index: int = 0) -> str:
    """The Cosmos HD path ``m/44'/118'/{account}'/0/{index}``."""
    for name, value in (("account", account), ("index", index)):
        if not 0 <= value < 2**31:
            raise ValueError(f"{name} must be in [0, 2**31), got {value}")
    return f"m/44'/{COSMOS_COIN_TYPE}'/{account}'/0/{index}"


def generate_mnemonic(words: int = 24) -> str:
    """A fresh random English BIP39 mnemonic of ``words`` words (12, 15, 18, 21 or 24)."""
    strength = _WORD_COUNTS.get(words)
    if strength is None:
        raise ValueError(f"mnemonic length must be one of {sorted(_WORD_COUNTS)}, got {words}")
    return str(_ENGLISH.generate(strength=strength))


def normalize_mnemonic(mnemonic: str) -> str:
    """Collapse whitespace to single spaces and strip the ends."""
    return " ".join(mnemonic.split())


def validate_mnemonic(mnemonic: str) -> bool:
    """True when ``mnemonic`` has a valid length, only wordlist words, and a valid checksum."""
    if not isinstance(mnemonic, str):
        return False
    return bool(_ENGLISH.check(normalize_mnemonic(mnemonic)))


def _explain_invalid(words: list[str]) -> str:
    if len(words) not in _WORD_COUNTS:
        return f"mnemonic has {len(words)} words; expected one of {sorted(_WORD_COUNTS)}"
    unknown = [w for w in words if w not in _ENGLISH.wordlist]
    if unknown:
        return f"mnemonic contains words not in the BIP39 English list: {unknown[:3]}"
    return "mnemonic checksum is invalid"


def derive_privkey(mnemonic: str, passphrase: str = "", path: str = DEFAULT_HD_PATH) -> PrivKey:
    """Derive the private key at BIP32 ``path`` from a BIP39 mnemonic and optional passphrase.

    Raises :class:`InvalidMnemonicError` (a ValueError) for an invalid mnemonic.
    """
    normalized = normalize_mnemonic(mnemonic)
    if not _ENGLISH.check(normalized):
        raise InvalidMnemonicError(_explain_invalid(normalized.split()))
    seed = Mnemonic.to_seed(normalized, passphrase)
    secret = BIP32.from_seed(seed).get_privkey_from_path(path)
    return PrivKey.from_bytes(bytes(secret))
