"""A signing wallet: one secp256k1 key derived from a BIP39 mnemonic.

Example::

    wallet, mnemonic = Wallet.generate()
    same = Wallet.from_mnemonic(mnemonic)
    assert same.address == wallet.address          # "aivm1..."
    raw = wallet.sign_tx([msg], account_number=7, sequence=0, chain_id="aivm-devnet-1",
                         fee=[Coin("ucgpt", 5000)], gas_limit=200_000)
    ledger_like = Wallet.from_mnemonic(mnemonic, sign_mode="amino-json")  # signs amino JSON
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.client.tx import DEFAULT_SIGN_MODE, Signer, sign_mode_number, sign_tx, unsigned_tx
from aivm.crypto.hd import derive_privkey, generate_mnemonic, hd_path
from aivm.crypto.keys import PrivKey, PubKey
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin

__all__ = ["Wallet"]


class Wallet:
    """A private key and its bech32 ``aivm1…`` address.

    ``sign_mode`` (``"direct"``, the default, or ``"amino-json"``) is how :meth:`sign_tx` signs
    unless told otherwise; :class:`~aivm.client.Client` signs through it, so a wallet made
    with ``sign_mode="amino-json"`` sends every tx signed as SIGN_MODE_LEGACY_AMINO_JSON.
    """

    def __init__(self, key: PrivKey, sign_mode: str = DEFAULT_SIGN_MODE) -> None:
        self._key = key
        self.sign_mode = sign_mode

    @property
    def sign_mode(self) -> str:
        """``"direct"`` or ``"amino-json"``."""
        return self._sign_mode

    @sign_mode.setter
    def sign_mode(self, value: str) -> None:
        sign_mode_number(value)  # ValueError for an unknown mode
        self._sign_mode = value

    @classmethod
    def from_mnemonic(
        cls,
        mnemonic: str,
        account: int = 0,
        index: int = 0,
        passphrase: str = "",
        sign_mode: str = DEFAULT_SIGN_MODE,
    ) -> Wallet:
        """The key at ``m/44'/118'/{account}'/0/{index}`` of ``mnemonic``.

        Raises ``InvalidMnemonicError`` (a ``ValueError``) for an invalid phrase.
        """
        return cls(derive_privkey(mnemonic, passphrase, hd_path(account, index)), sign_mode)

    @classmethod
    def from_private_key(cls, secret: bytes, sign_mode: str = DEFAULT_SIGN_MODE) -> Wallet:
        """A wallet around a raw 32-byte secp256k1 secret."""
        return cls(PrivKey.from_bytes(secret), sign_mode)

    @classmethod
    def generate(cls, words: int = 24) -> tuple[Wallet, str]:
        """A fresh wallet and the mnemonic that restores it."""
        mnemonic = generate_mnemonic(words)
        return cls.from_mnemonic(mnemonic), mnemonic

    @property
    def private_key(self) -> PrivKey:
        """The signing key (keep it secret)."""
        return self._key

    @property
    def pubkey(self) -> PubKey:
        """The compressed secp256k1 public key."""
        return self._key.pubkey

    @property
    def address_bytes(self) -> bytes:
        """The 20-byte account address."""
        return self._key.pubkey.address()

    @property
    def address(self) -> str:
        """The bech32 account address (``aivm1…``)."""
        return acc_address(self.address_bytes)

    def sign_tx(
        self,
        msgs: Sequence[pb.Message],
        account_number: int,
        sequence: int,
        chain_id: str,
        fee: Sequence[Coin] = (),
        gas_limit: int = 200_000,
        memo: str = "",
        timeout_height: int = 0,
        sign_mode: str | None = None,
    ) -> bytes:
        """Sign ``msgs`` and return the serialized TxRaw (``sign_mode``: ``"direct"`` or
        ``"amino-json"``; the wallet's :attr:`sign_mode` when None)."""
        signer = Signer(self._key, account_number, sequence)
        mode = self.sign_mode if sign_mode is None else sign_mode
        return sign_tx(msgs, [signer], chain_id, fee, gas_limit, memo, timeout_height, mode)

    def unsigned_tx(self, msgs: Sequence[pb.Message], sequence: int, memo: str = "") -> bytes:
        """The unsigned TxRaw a node simulates to estimate gas."""
        return unsigned_tx(msgs, [Signer(self._key, 0, sequence)], memo=memo)

    def __repr__(self) -> str:
        return f"Wallet({self.address})"
