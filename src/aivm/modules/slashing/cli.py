"""slashing commands: ``aivm tx slashing unjail`` and ``aivm query slashing params |
signing-info | signing-infos``. ``unjail`` returns once CheckTx accepted the tx; ``--wait``
waits for the block (``--timeout`` seconds) and shows the tx's result."""

from __future__ import annotations

import argparse
from typing import Any

from aivm.cli import common as cli
from aivm.modules.slashing.client import SlashingClient, valcons_of
from aivm.modules.slashing.params import SlashingParams
from aivm.types import pb


def params_json(params: pb.slashing.Params) -> dict[str, Any]:
    """Params as the SDK prints them (decimal ratios, ``600s``)."""
    return SlashingParams.from_proto(params).to_json()


def cmd_tx_unjail(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx slashing unjail --from KEY`."""
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"unjail the validator operated by {wallet.address}")
    with cli.tx_client(s, args) as client:
        result = SlashingClient(client).unjail(wallet, timeout=args.timeout)
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_query_params(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query slashing params`."""
    with s.client() as client:
        cli.emit(s, params_json(SlashingClient(client).params()))


def cmd_query_signing_info(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query slashing signing-info VALCONS_OR_PUBKEY`."""
    try:
        address = valcons_of(args.validator)
    except ValueError as exc:
        raise cli.CliError(str(exc)) from None
    with s.client() as client:
        cli.emit(s, cli.proto_json(SlashingClient(client).signing_info(address)))


def cmd_query_signing_infos(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query slashing signing-infos`."""
    with s.client() as client:
        infos = SlashingClient(client).signing_infos()
    cli.emit(s, {"info": [cli.proto_json(info) for info in infos]})


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx slashing`` and ``aivm query slashing`` (see
    :data:`aivm.cli.common.Register`)."""
    txs = branch(tx, "slashing", "Slashing module transactions")
    p = leaf(
        txs,
        "unjail",
        cmd_tx_unjail,
        "Unjail your validator once its jail time is over",
        "  aivm tx slashing unjail --from validator --yes\n"
        "  aivm tx slashing unjail --from validator --yes --wait --timeout 60",
    )
    p.add_argument("--from", dest="from_", required=True, help="the validator's operator key")
    cli.add_wait_flags(p)
    qs = branch(query, "slashing", "Slashing module queries")
    leaf(qs, "params", cmd_query_params, "Slashing params", "  aivm query slashing params")
    p = leaf(
        qs,
        "signing-info",
        cmd_query_signing_info,
        "A validator's signing info (missed blocks, jail time, tombstone)",
        "  aivm query slashing signing-info aivmvalcons1...\n"
        '  aivm query slashing signing-info \'{"@type":"/cosmos.crypto.ed25519.PubKey",'
        '"key":"..."}\'',
    )
    p.add_argument("validator", help="valcons address or ed25519 consensus public key")
    leaf(
        qs,
        "signing-infos",
        cmd_query_signing_infos,
        "Every validator's signing info",
        "  aivm query slashing signing-infos -o json",
    )
