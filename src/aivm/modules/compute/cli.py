"""compute commands: ``aivm tx compute register-provider|update-provider|add-collateral|
heartbeat|pause|resume|exit|unjail`` and ``aivm query compute params|provider|providers|asks|
slash-records``. A tx command returns once CheckTx accepted the tx; ``--wait`` waits for the
block (``--timeout`` seconds) and shows the tx's result. ``aivm.cli.main`` finds this file
through the module list."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from aivm.cli import common as cli
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import STATUS_BY_NAME, TIER_BY_NAME, ComputeClient
from aivm.types.coin import BOND_DENOM


def _amount(text: str) -> int:
    """``1000`` or ``1000ucgpt``."""
    digits = text.removesuffix(BOND_DENOM)
    if not digits.isdigit():
        raise cli.CliError(f"amount {text!r} is not an integer number of {BOND_DENOM}")
    return int(digits)


def _offer(text: str) -> compute_pb2.Offer:
    """``MODEL_ID:VERSION:PRICE`` (price in ucgpt per unit)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].removesuffix(BOND_DENOM).isdigit():
        raise cli.CliError(f"offer {text!r} is not MODEL_ID:VERSION:PRICE")
    return ComputeClient.offer(int(parts[0]), parts[1], _amount(parts[2]))


def _declaration(args: argparse.Namespace) -> dict[str, object]:
    hardware = ComputeClient.hardware(
        args.gpu_model, args.gpu_count, args.gpu_memory_mib, args.cpu_cores, args.memory_mib
    )
    return {
        "hardware": hardware,
        "runtimes": [r for r in args.runtimes.split(",") if r],
        "offers": [_offer(o) for o in args.offer],
        "capacity": args.capacity,
        "moniker": args.moniker,
        "description": args.description,
    }


def _emit_tx(s: cli.Settings, result: TxResult) -> None:
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_register(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    declaration = _declaration(args)
    collateral = _amount(args.collateral)
    cli.confirm(s, f"register {wallet.address} as a provider with {collateral}{BOND_DENOM}")
    with cli.tx_client(s, args) as client:
        result = ComputeClient(client).register(wallet, collateral, **declaration)  # type: ignore[arg-type]
    _emit_tx(s, result)


def cmd_update(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    declaration = _declaration(args)
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).update(wallet, **declaration))  # type: ignore[arg-type]


def cmd_add_collateral(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    amount = _amount(args.amount)
    cli.confirm(s, f"add {amount}{BOND_DENOM} of collateral")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, ComputeClient(client).add_collateral(wallet, amount))


def _simple(
    call: Callable[[ComputeClient, Wallet], TxResult],
) -> Callable[[cli.Settings, argparse.Namespace], None]:
    def run(s: cli.Settings, args: argparse.Namespace) -> None:
        wallet = cli.keyring_wallet(s, args.from_)
        with cli.tx_client(s, args) as client:
            _emit_tx(s, call(ComputeClient(client), wallet))

    return run


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).params()))


def cmd_provider(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(ComputeClient(client).provider(args.address)))


def cmd_providers(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = ComputeClient(client).providers(args.status, args.tier)
    cli.emit(s, {"providers": [cli.proto_json(p) for p in found]})


def cmd_asks(s: cli.Settings, args: argparse.Namespace) -> None:
    max_price = None if args.max_price is None else _amount(args.max_price)
    with s.client() as client:
        found = ComputeClient(client).asks(args.model_id, args.version, args.tier, max_price)
    cli.emit(s, {"asks": [cli.proto_json(a) for a in found]})


def cmd_slashes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        records = ComputeClient(client).slash_records(args.operator or "")
    cli.emit(s, {"records": [cli.proto_json(r) for r in records]})


def _declaration_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpu-model", default="", help="e.g. H100-SXM (none for CPU only)")
    p.add_argument("--gpu-count", type=int, default=0)
    p.add_argument("--gpu-memory-mib", type=int, default=0, help="memory per GPU, MiB")
    p.add_argument("--cpu-cores", type=int, required=True)
    p.add_argument("--memory-mib", type=int, required=True, help="host memory, MiB")
    p.add_argument("--runtimes", required=True, help="comma-separated: onnxruntime,torch,dsm")
    p.add_argument(
        "--offer",
        action="append",
        default=[],
        metavar="MODEL_ID:VERSION:PRICE",
        help="an off-chain model version and its price per unit in ucgpt (repeatable)",
    )
    p.add_argument("--capacity", type=int, default=1, help="concurrent jobs")
    p.add_argument("--moniker", default="")
    p.add_argument("--description", default="")


def _tx_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx compute`` and ``aivm query compute`` (see
    :data:`aivm.cli.common.Register`)."""
    txs = branch(tx, "compute", "Compute provider transactions")
    p = leaf(
        txs,
        "register-provider",
        cmd_register,
        "Register as a compute provider with collateral, hardware, runtimes and offers",
        "  aivm tx compute register-provider --collateral 100000000ucgpt --gpu-model H100-SXM "
        "--gpu-count 8 --gpu-memory-mib 81920 --cpu-cores 96 --memory-mib 1048576 "
        "--runtimes onnxruntime,torch --offer 1:1.0.0:250 --capacity 4 --from alice --yes",
    )
    p.add_argument("--collateral", required=True, help=f"collateral in {BOND_DENOM}")
    _declaration_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "update-provider",
        cmd_update,
        "Replace the hardware, runtimes, offers, capacity and texts",
        "  aivm tx compute update-provider --cpu-cores 16 --memory-mib 65536 "
        "--runtimes onnxruntime --offer 1:1.0.0:200 --from alice --yes",
    )
    _declaration_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "add-collateral",
        cmd_add_collateral,
        "Top up the collateral",
        "  aivm tx compute add-collateral 5000000ucgpt --from alice --yes",
    )
    p.add_argument("amount")
    _tx_flags(p)
    simple = (
        ("heartbeat", ComputeClient.heartbeat, "Tell the chain the provider is up"),
        ("pause", ComputeClient.pause, "Take the offers off the market"),
        ("resume", ComputeClient.resume, "Put the offers back on the market"),
        ("exit", ComputeClient.exit, "Leave; the collateral returns after the unbonding time"),
        ("unjail", ComputeClient.unjail, "Leave jail once its time is over"),
    )
    for name, call, summary in simple:
        p = leaf(txs, name, _simple(call), summary, f"  aivm tx compute {name} --from alice --yes")
        _tx_flags(p)

    qs = branch(query, "compute", "Compute provider queries")
    leaf(qs, "params", cmd_params, "The compute params", "  aivm query compute params")
    p = leaf(
        qs,
        "provider",
        cmd_provider,
        "A provider and whether it is available now",
        "  aivm query compute provider aivm1...",
    )
    p.add_argument("address")
    p = leaf(
        qs,
        "providers",
        cmd_providers,
        "Providers (filter by status and tier)",
        "  aivm query compute providers --status active --tier standard",
    )
    p.add_argument("--status", choices=sorted(STATUS_BY_NAME))
    p.add_argument("--tier", choices=sorted(TIER_BY_NAME))
    p = leaf(
        qs,
        "asks",
        cmd_asks,
        "Asks for a model version, cheapest first",
        "  aivm query compute asks 1 1.0.0 --tier standard --max-price 300",
    )
    p.add_argument("model_id", type=int)
    p.add_argument("version")
    p.add_argument("--tier", choices=sorted(TIER_BY_NAME))
    p.add_argument("--max-price")
    p = leaf(
        qs,
        "slash-records",
        cmd_slashes,
        "Provider slash records",
        "  aivm query compute slash-records --operator aivm1...",
    )
    p.add_argument("--operator")
