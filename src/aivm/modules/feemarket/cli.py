"""feemarket commands: ``aivm query feemarket gas-price|params|state``. Paying the current
price: ``--gas-prices auto`` on any ``aivm tx`` command."""

from __future__ import annotations

import argparse

from aivm.cli import common as cli
from aivm.modules.feemarket.client import FeeMarketClient


def cmd_gas_price(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query feemarket gas-price`."""
    with s.client() as client:
        price = FeeMarketClient(client).gas_price()
    cli.emit(s, {"price": {"denom": "ucgpt", "amount": str(price)}})


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query feemarket params`."""
    with s.client() as client:
        cli.emit(s, cli.proto_json(FeeMarketClient(client).params()))


def cmd_state(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query feemarket state`."""
    with s.client() as client:
        cli.emit(s, cli.proto_json(FeeMarketClient(client).state()))


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm query feemarket`` (see :data:`aivm.cli.common.Register`)."""
    q = branch(query, "feemarket", "Fee market queries (the dynamic minimum gas price)")
    leaf(
        q,
        "gas-price",
        cmd_gas_price,
        "The base gas price every tx must pay now",
        "  aivm query feemarket gas-price -o json",
    )
    leaf(q, "params", cmd_params, "Params of the fee market", "  aivm query feemarket params")
    leaf(
        q,
        "state",
        cmd_state,
        "Base gas price and the last block's gas used",
        "  aivm query feemarket state",
    )
