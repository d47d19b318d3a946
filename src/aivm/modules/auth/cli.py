"""auth commands: ``aivm query account``."""

from __future__ import annotations

import argparse

from aivm.cli import common as cli
from aivm.client import ChainError
from aivm.client.results import to_jsonable


def cmd_query_account(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query account ADDRESS`."""
    with s.client() as client:
        account = client.account(args.address)
    if account is None:
        raise ChainError("sdk", 22, f"account {args.address} not found")
    data = to_jsonable(account)
    data["account_number"], data["sequence"] = str(account.account_number), str(account.sequence)
    cli.emit(s, data)


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm query account`` (see :data:`aivm.cli.common.Register`)."""
    p = leaf(
        query,
        "account",
        cmd_query_account,
        "Account number, sequence and pubkey",
        "  aivm query account aivm1...",
    )
    p.add_argument("address")
