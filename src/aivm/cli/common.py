"""What the ``aivm`` command's modules share: the resolved flags (``Settings``), the
user-facing error, confirmation prompts, output (text or JSON), and the types of the
registration hook through which a chain module adds its own commands.

Module commands: ``aivm/modules/<name>/cli.py`` defines ``register(subs, tx, query, leaf,
branch)`` (see :data:`Register`); ``aivm.cli.main`` calls it for every module of
``aivm.app.modules.MODULES`` that has such a file. ``subs``, ``tx`` and ``query`` are the
sub-command groups of ``aivm``, ``aivm tx`` and ``aivm query``; ``leaf`` adds a command to a
group and ``branch`` a new group::

    def register(subs: Group, tx: Group, query: Group, leaf: Leaf, branch: Branch) -> None:
        txm = branch(tx, "mymod", "mymod module transactions")
        p = leaf(txm, "do", cmd_do, "Do it", "  aivm tx mymod do 1 --from alice --yes")
        p.add_argument("id", type=int)
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from google.protobuf import json_format

from aivm.client import (
    DEFAULT_GAS_ADJUSTMENT,
    DEFAULT_GAS_PRICE,
    DEFAULT_RPC,
    Client,
    Wallet,
    parse_gas_price,
)
from aivm.client.keyring import Keyring
from aivm.client.results import to_jsonable

PASSPHRASE_ENV = "AIVM_KEYRING_PASSPHRASE"
DEFAULT_HOME = "~/.aivm"
DEFAULT_CHAIN_ID = "aivm-devnet-1"
CLIENT_CONFIG = ("config", "client.toml")


class CliError(Exception):
    """A user-facing failure: printed as one ``Error:`` line."""


class Settings:
    """Flags resolved against ``client.toml`` and defaults."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.home = Path(args.home or os.environ.get("AIVM_HOME") or DEFAULT_HOME).expanduser()
        config = self._read_config()
        self.node: str = args.node or config.get("node") or DEFAULT_RPC
        self.chain_id: str | None = args.chain_id or config.get("chain-id") or None
        self.keyring_backend: str = args.keyring_backend or config.get("keyring-backend") or "file"
        self.output: str = args.output or config.get("output") or "text"
        self.gas_prices: str = args.gas_prices or config.get("gas-prices") or DEFAULT_GAS_PRICE
        """A price such as ``0.025ucgpt``, or ``auto``: the chain's fee-market base price × 1.2
        (the default price when the chain has no fee market or its price is 0)."""
        if self.gas_prices.strip() != "auto":
            try:
                parse_gas_price(self.gas_prices)
            except ValueError as exc:
                raise CliError(f"--gas-prices: {exc}") from None
        self.fees: str | None = args.fees
        gas = args.gas or config.get("gas") or "auto"
        if gas != "auto" and not str(gas).isdigit():
            raise CliError(f"--gas must be 'auto' or a positive integer, got {gas!r}")
        self.gas: int | str = "auto" if gas == "auto" else int(gas)
        self.gas_adjustment: float = args.gas_adjustment or float(
            config.get("gas-adjustment") or DEFAULT_GAS_ADJUSTMENT
        )
        self.yes: bool = bool(args.yes)

    def _read_config(self) -> dict[str, Any]:
        path = self.home.joinpath(*CLIENT_CONFIG)
        if not path.exists():
            return {}
        try:
            return tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise CliError(f"{path}: {exc}") from exc

    def client(self) -> Client:
        return Client(self.node, chain_id=self.chain_id, gas_price=self.gas_prices)

    def keyring(self) -> Keyring:
        return Keyring(self.home, self.keyring_backend, _passphrase)


# -- prompts and output ---------------------------------------------------------------------


def _passphrase(new: bool) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    first = getpass.getpass("Enter keyring passphrase: ")
    if new:
        if len(first) < 8:
            raise CliError("the keyring passphrase must be at least 8 characters")
        if getpass.getpass("Re-enter keyring passphrase: ") != first:
            raise CliError("passphrases do not match")
    return first


def confirm(s: Settings, question: str) -> None:
    if s.yes:
        return
    print(f"{question} [y/N]: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("canceled (pass --yes to skip this confirmation)")


def _text(value: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_text(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            sub = _text(item, indent + 1)
            if sub:
                lines.append(f"{pad}- {sub[0].strip()}")
                lines.extend(sub[1:])
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v == [] or v == {}:
        return "[]" if v == [] else "{}"
    return str(v)


def proto_json(message: Any) -> dict[str, Any]:
    """proto3 JSON of ``message`` (original field names), hashes shown as hex, not base64."""
    data: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    shown: dict[str, Any] = _hex_hashes(data)
    return shown


def _hex_hashes(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex()
            if isinstance(v, str) and (k.endswith("sha256") or k.endswith("_hash"))
            else _hex_hashes(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_hashes(v) for v in value]
    return value


def emit(s: Settings, data: Any) -> None:
    data = to_jsonable(data)
    if s.output == "json":
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(_text(data)))


def keyring_wallet(s: Settings, who: str) -> Wallet:
    return s.keyring().wallet(who)


# -- module command registration --------------------------------------------------------------

Group: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""A group of sub-commands (``aivm``, ``aivm tx``, ``aivm query`` or one made by ``branch``)."""


class Leaf(Protocol):
    """``leaf(group, name, handler, help_, examples, **add_parser_kw)``: add the command ``name``
    to ``group`` (with the global flags, ``help_`` as its help and description, ``examples`` as
    its epilog); ``handler(settings, args)`` runs it. Returns its parser, for its arguments."""

    def __call__(
        self,
        group: Group,
        name: str,
        handler: Callable[[Settings, argparse.Namespace], None],
        help_: str,
        examples: str,
        **kw: Any,
    ) -> argparse.ArgumentParser: ...


class Branch(Protocol):
    """``branch(group, name, help_, **add_parser_kw)``: add the command group ``name`` to
    ``group`` (it prints its help when called without a command); returns its sub-commands."""

    def __call__(self, group: Group, name: str, help_: str, **kw: Any) -> Group: ...


Register: TypeAlias = Callable[[Group, Group, Group, Leaf, Branch], None]
"""The type of a module's ``cli.register(subs, tx, query, leaf, branch)``."""
