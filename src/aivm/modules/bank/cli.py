"""bank commands: ``aivm tx bank send`` and ``aivm query bank balances``."""

from __future__ import annotations

import argparse
import sys

from aivm.cli import common as cli
from aivm.types.address import is_valid_acc_address


def cmd_tx_bank_send(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx bank send FROM TO AMOUNT`."""
    wallet = cli.keyring_wallet(s, args.from_)
    if not is_valid_acc_address(args.to):
        raise cli.CliError(f"invalid recipient address {args.to!r}")
    with cli.tx_client(s, args) as client:
        if not s.yes:
            print(
                f"send {args.amount} from {wallet.address} to {args.to}"
                f" (gas {s.gas}, fees {s.fees or 'auto'}, memo {args.memo!r})",
                file=sys.stderr,
            )
        cli.confirm(s, "confirm transaction before signing and broadcasting")
        sent = client.send(wallet, args.to, args.amount, s.fees, s.gas, s.gas_adjustment, args.memo)
        cli.emit(s, client.wait_for_tx(sent.hash))  # without --wait: the broadcast's answer


def cmd_query_balances(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query bank balances ADDRESS`."""
    with s.client() as client:
        if args.denom:
            amount = client.balance(args.address, args.denom)
            cli.emit(s, {"denom": args.denom, "amount": str(amount)})
        else:
            coins = client.balances(args.address)
            cli.emit(s, {"balances": [{"denom": c.denom, "amount": str(c.amount)} for c in coins]})


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx bank`` and ``aivm query bank`` (see :data:`aivm.cli.common.Register`)."""
    bank = branch(tx, "bank", "Bank module transactions")
    p = leaf(
        bank,
        "send",
        cmd_tx_bank_send,
        "Send coins from a keyring key to an address",
        "  aivm tx bank send alice aivm1... 1000ucgpt\n"
        "  aivm tx bank send alice aivm1... 5ucgpt --fees 5000ucgpt --gas 200000 --yes --wait",
    )
    p.add_argument("from_", metavar="FROM", help="key name or address in the keyring")
    p.add_argument("to", metavar="TO", help="recipient address (aivm1...)")
    p.add_argument("amount", metavar="AMOUNT", help="coins, e.g. 1000ucgpt or 5ucgpt,3foo")
    p.add_argument("--memo", default="", help="transaction memo")
    cli.add_wait_flags(p)
    qbank = branch(query, "bank", "Bank module queries")
    p = leaf(
        qbank,
        "balances",
        cmd_query_balances,
        "Balances of an address",
        "  aivm query bank balances aivm1...\n"
        "  aivm q bank balances aivm1... --denom ucgpt -o json",
    )
    p.add_argument("address")
    p.add_argument("--denom", default=None, help="only this denom")
