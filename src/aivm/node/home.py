"""The devnet home directory: config (validator key, dev accounts, genesis) and data paths.

```
HOME/config/priv_validator_key.json   ed25519 consensus key (CometBFT's JSON shape), mode 0600
HOME/config/dev_accounts.json         funded dev accounts with their BIP39 mnemonics, mode 0600
HOME/config/genesis.json              GenesisDoc.to_json()
HOME/config/app.toml                  node-local limits (``config.py``), kept by a reset
HOME/config/client.toml               CLI defaults (``aivm init``), kept by a reset
HOME/data/state/                      the app's CommitStore (LMDB)
HOME/data/blocks/blocks.sqlite        the block store (sqlite3)
HOME/data/blocks/index.sqlite         the tx index (sqlite3), rebuilt from the block store
```
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing

from aivm.app.genesis import GenesisDoc, GenesisValidator, format_time
from aivm.crypto.hd import derive_privkey, generate_mnemonic
from aivm.modules.staking.api import POWER_REDUCTION
from aivm.modules.staking.genesis import gentx
from aivm.types.address import acc_address

DEVNET_CHAIN_ID = "aivm-devnet-1"
DENOM = "ucgpt"
DEFAULT_HOME = Path("~/.aivm").expanduser()
DEV_ACCOUNT_BALANCE = 1_000_000_000_000
VALIDATOR_POWER = 10
KEPT_ON_RESET = frozenset({"app.toml", "client.toml"})
"""Files of ``config/`` written by the operator, not by the chain: a reset keeps them."""


@dataclass(frozen=True)
class HomePaths:
    """Every path under a devnet home."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def state(self) -> Path:
        return self.data / "state"

    @property
    def blocks(self) -> Path:
        return self.data / "blocks"

    @property
    def priv_validator_key(self) -> Path:
        return self.config / "priv_validator_key.json"

    @property
    def dev_accounts(self) -> Path:
        return self.config / "dev_accounts.json"

    @property
    def genesis(self) -> Path:
        return self.config / "genesis.json"

    def reset(self) -> None:
        """Remove the chain: all data, and the config files the chain wrote (the validator
        key, dev accounts and genesis); ``app.toml`` and ``client.toml`` stay."""
        if self.data.exists():
            shutil.rmtree(self.data)
        if not self.config.exists():
            return
        for path in self.config.iterdir():
            if path.name in KEPT_ON_RESET:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


class ValidatorKey:
    """The validator's ed25519 consensus key."""

    def __init__(self, seed: bytes) -> None:
        self._signing = nacl.signing.SigningKey(seed)
        self.seed = seed
        self.pub_key = bytes(self._signing.verify_key)

    @classmethod
    def generate(cls) -> ValidatorKey:
        return cls(os.urandom(32))

    @property
    def address(self) -> bytes:
        """CometBFT address: sha256(pub_key)[:20]."""
        return hashlib.sha256(self.pub_key).digest()[:20]

    def sign(self, msg: bytes) -> bytes:
        return bytes(self._signing.sign(msg).signature)

    def to_json(self) -> dict[str, Any]:
        """CometBFT's priv_validator_key.json shape (priv_key = seed ‖ pub_key)."""
        return {
            "address": self.address.hex().upper(),
            "pub_key": {
                "type": "tendermint/PubKeyEd25519",
                "value": base64.b64encode(self.pub_key).decode(),
            },
            "priv_key": {
                "type": "tendermint/PrivKeyEd25519",
                "value": base64.b64encode(self.seed + self.pub_key).decode(),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValidatorKey:
        raw = base64.b64decode(data["priv_key"]["value"])
        return cls(raw[:32])


@dataclass(frozen=True)
class DevAccount:
    """A funded development account."""

    name: str
    address: str
    mnemonic: str


def write_private_json(path: Path, data: Any) -> None:
    """Write JSON readable only by the owner (created with mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o600)


def now_ns() -> int:
    return time.time_ns()


def create_home(
    paths: HomePaths, accounts: int = 3, chain_id: str = DEVNET_CHAIN_ID
) -> tuple[GenesisDoc, ValidatorKey, list[DevAccount]]:
    """First start: validator key, dev accounts and genesis.json. Returns what was written."""
    paths.config.mkdir(parents=True, exist_ok=True)
    key = ValidatorKey.generate()
    write_private_json(paths.priv_validator_key, key.to_json())
    dev: list[DevAccount] = []
    for i in range(accounts):
        mnemonic = generate_mnemonic(24)
        address = acc_address(derive_privkey(mnemonic).pubkey.address())
        dev.append(DevAccount(f"dev{i}", address, mnemonic))
    write_private_json(
        paths.dev_accounts,
        [{"name": a.name, "address": a.address, "mnemonic": a.mnemonic} for a in dev],
    )
    # dev0 operates the devnet's validator; its genesis balance also holds the self-bond (the
    # validator's power), so every dev account starts with DEV_ACCOUNT_BALANCE to spend
    bond = VALIDATOR_POWER * POWER_REDUCTION
    balances = [
        {
            "address": a.address,
            "coins": [
                {"denom": DENOM, "amount": str(DEV_ACCOUNT_BALANCE + (bond if a is dev[0] else 0))}
            ],
        }
        for a in sorted(dev, key=lambda a: a.address)
    ]
    app_state: dict[str, Any] = {"bank": {"balances": balances}}
    if dev:  # a developer chain: dev0 may change params (MsgUpdateParams) until gov exists
        app_state["authority"] = {"authority": dev[0].address}
        app_state["staking"] = {"gen_txs": [gentx(dev[0].address, key.pub_key, bond, "devnet")]}
    ns = now_ns()
    genesis = GenesisDoc(
        chain_id=chain_id,
        app_state=app_state,
        genesis_time=format_time(ns // 1_000_000_000, ns % 1_000_000_000),
        validators=[GenesisValidator(key.pub_key, VALIDATOR_POWER, "validator-0")],
    )
    tmp = paths.genesis.with_suffix(".tmp")
    tmp.write_text(genesis.dumps())
    os.replace(tmp, paths.genesis)
    return genesis, key, dev


def load_home(paths: HomePaths) -> tuple[GenesisDoc, ValidatorKey]:
    """Read genesis.json and the validator key of an existing home."""
    genesis = GenesisDoc.from_json(json.loads(paths.genesis.read_text()))
    key = ValidatorKey.from_json(json.loads(paths.priv_validator_key.read_text()))
    return genesis, key


def load_dev_accounts(paths: HomePaths) -> list[DevAccount]:
    """The dev accounts written at first start (empty if none)."""
    if not paths.dev_accounts.exists():
        return []
    return [DevAccount(**a) for a in json.loads(paths.dev_accounts.read_text())]
