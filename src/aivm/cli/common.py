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
import contextlib
import functools
import getpass
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
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
from aivm.client.results import BroadcastResult, TxResult, to_jsonable
from aivm.client.tx import DEFAULT_SIGN_MODE, SIGN_MODES
from aivm.types import pb

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
        self.sign_mode: str = (
            getattr(args, "sign_mode", None) or config.get("sign-mode") or DEFAULT_SIGN_MODE
        )
        """How ``aivm tx`` signs: ``direct`` (SIGN_MODE_DIRECT) or ``amino-json``
        (SIGN_MODE_LEGACY_AMINO_JSON, as a Ledger signs)."""
        if self.sign_mode not in SIGN_MODES:
            raise CliError(
                f"--sign-mode must be one of {', '.join(SIGN_MODES)}, got {self.sign_mode!r}"
            )

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
    """The keyring's wallet ``who``, signing in the mode of ``--sign-mode``."""
    wallet = s.keyring().wallet(who)
    wallet.sign_mode = s.sign_mode
    return wallet


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


# -- tx commands: --wait and --timeout --------------------------------------------------------

DEFAULT_WAIT_TIMEOUT = 30.0
"""Seconds ``--wait`` waits for a tx to be in a block, unless ``--timeout`` says otherwise."""


class TxSent(Exception):
    """Ends a tx command run without ``--wait`` once CheckTx accepted its tx."""

    def __init__(self, sent: BroadcastResult) -> None:
        super().__init__(sent.hash)
        self.sent = sent


def add_wait_flags(p: argparse.ArgumentParser) -> None:
    """Give the tx command ``p`` (already made by ``leaf``) ``--wait`` and ``--timeout``.

    Its handler must open its client with :func:`tx_client`. Without ``--wait`` the command
    returns once CheckTx accepted the tx and prints ``txhash``, ``code``, ``codespace`` and
    ``raw_log`` (as ``aivm tx bank send``); with ``--wait`` it waits up to ``--timeout``
    seconds for the block and prints what its handler prints of the included tx."""
    p.add_argument(
        "--wait", action="store_true", help="wait until the tx is in a block and show its result"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_TIMEOUT,
        help=f"seconds to --wait (default {DEFAULT_WAIT_TIMEOUT:g})",
    )
    p.set_defaults(handler=_ends_at_broadcast(p.get_default("handler")))


def _ends_at_broadcast(
    handler: Callable[[Settings, argparse.Namespace], None],
) -> Callable[[Settings, argparse.Namespace], None]:
    """``handler``, printing the broadcast's outcome when it stops at :class:`TxSent`."""

    @functools.wraps(handler)
    def run(s: Settings, args: argparse.Namespace) -> None:
        try:
            handler(s, args)
        except TxSent as stop:
            sent = stop.sent
            emit(
                s,
                {
                    "txhash": sent.hash,
                    "code": sent.code,
                    "codespace": sent.codespace,
                    "raw_log": sent.log,
                },
            )

    return run


@contextlib.contextmanager
def tx_client(s: Settings, args: argparse.Namespace) -> Iterator[Client]:
    """``s.client()`` for a command given :func:`add_wait_flags`: a module helper's
    ``wait_for_tx`` on it waits ``--timeout`` seconds with ``--wait``, and without it ends the
    command with :class:`TxSent` (the helpers sign, broadcast and wait in one call). So a
    command sends one tx: without ``--wait`` it ends at the first wait."""
    with s.client() as client:
        sent: dict[str, BroadcastResult] = {}
        broadcast, wait_for_tx = client.aio.broadcast, client.wait_for_tx

        async def recorded(tx_bytes: bytes, mode: str = "sync") -> BroadcastResult:
            """Every tx sent goes through here (``send``, ``sign_and_broadcast``)."""
            result = await broadcast(tx_bytes, mode)
            sent[result.hash.upper()] = result
            return result

        def wait_or_stop(
            hash: str, timeout: float = DEFAULT_WAIT_TIMEOUT, poll: float = 0.2, check: bool = True
        ) -> TxResult:
            if args.wait:
                return wait_for_tx(hash, timeout=args.timeout, poll=poll, check=check)
            raise TxSent(sent.get(hash.upper()) or BroadcastResult(hash.upper(), 0, "", ""))

        sign_and_broadcast = client.sign_and_broadcast

        def with_flags(
            wallet: Wallet,
            msgs: Sequence[pb.Message],
            fee: Any = None,
            gas: int | str = "auto",
            gas_adjustment: float = DEFAULT_GAS_ADJUSTMENT,
            memo: str = "",
            mode: str = "sync",
        ) -> BroadcastResult:
            """A helper that leaves fee, gas and adjustment at their defaults gets the
            command's ``--fees``, ``--gas`` and ``--gas-adjustment``."""
            return sign_and_broadcast(
                wallet,
                msgs,
                s.fees if fee is None else fee,
                s.gas if gas == "auto" else gas,
                s.gas_adjustment if gas_adjustment == DEFAULT_GAS_ADJUSTMENT else gas_adjustment,
                memo,
                mode,
            )

        # on this one client only (instance attributes over the class's methods)
        setattr(client.aio, "broadcast", recorded)  # noqa: B010
        setattr(client, "wait_for_tx", wait_or_stop)  # noqa: B010
        setattr(client, "sign_and_broadcast", with_flags)  # noqa: B010
        yield client
