"""roles commands: ``aivm tx roles register|add-bond|update-capability|unbond|unjail|
withdraw-rewards`` and ``aivm query roles operators|active-set|operator|params|slashes|rewards|
reason-codes``. A tx command returns once CheckTx accepted the tx; ``--wait`` waits for the
block (``--timeout`` seconds) and shows the tx's result. ``aivm.cli.main`` finds this file
through the module list."""

from __future__ import annotations

import argparse

from aivm.cli import common as cli
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.client import (
    HARDWARE_BY_NAME,
    METHOD_BY_NAME,
    ROLE_BY_NAME,
    STATUS_BY_NAME,
    RolesClient,
)
from aivm.types.coin import BOND_DENOM


def _amount(text: str) -> int:
    """``1000`` or ``1000ucgpt``."""
    digits = text.removesuffix(BOND_DENOM)
    if not digits.isdigit():
        raise cli.CliError(f"amount {text!r} is not an integer number of {BOND_DENOM}")
    return int(digits)


def _capability(args: argparse.Namespace) -> roles_pb2.Capability:
    """The declaration for ``args.role`` from the capability flags."""
    if args.role == "compute":
        if args.hardware is None or args.memory_gib is None:
            raise cli.CliError("a compute declaration needs --hardware and --memory-gib")
        return RolesClient.compute_capability(
            args.hardware, args.accelerators, args.memory_gib, args.tflops, args.tokens_per_second
        )
    if args.role == "ai":
        if not args.runtimes or not args.methods:
            raise cli.CliError("an ai declaration needs --runtimes and --methods")
        return RolesClient.ai_capability(args.runtimes.split(","), args.methods.split(","))
    if args.storage_bytes is None:
        raise cli.CliError("a data declaration needs --storage-bytes")
    return RolesClient.data_capability(args.storage_bytes)


def _emit_tx(s: cli.Settings, result: TxResult) -> None:
    cli.emit(s, {"txhash": result.hash, "code": result.code, "raw_log": result.log})


def cmd_register(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    capability = _capability(args)
    bond = _amount(args.bond)
    cli.confirm(s, f"bond {bond}{BOND_DENOM} to the {args.role} role as {wallet.address}")
    with cli.tx_client(s, args) as client:
        result = RolesClient(client).register(
            wallet, args.role, bond, capability, args.moniker, args.description
        )
    _emit_tx(s, result)


def cmd_add_bond(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    cli.confirm(s, f"add {args.amount} to the {args.role} bond")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, RolesClient(client).add_bond(wallet, args.role, _amount(args.amount)))


def cmd_update_capability(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    capability = _capability(args)
    with cli.tx_client(s, args) as client:
        _emit_tx(s, RolesClient(client).update_capability(wallet, args.role, capability))


def cmd_unbond(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    if (args.amount is None) == (not args.all):
        raise cli.CliError("give an AMOUNT or --all")
    amount = None if args.all else _amount(args.amount)
    cli.confirm(s, f"unbond {'all' if amount is None else amount} from the {args.role} role")
    with cli.tx_client(s, args) as client:
        _emit_tx(s, RolesClient(client).unbond(wallet, args.role, amount))


def cmd_unjail(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with cli.tx_client(s, args) as client:
        _emit_tx(s, RolesClient(client).unjail(wallet, args.role))


def cmd_withdraw(s: cli.Settings, args: argparse.Namespace) -> None:
    wallet = cli.keyring_wallet(s, args.from_)
    with cli.tx_client(s, args) as client:
        _emit_tx(s, RolesClient(client).withdraw_rewards(wallet, args.role))


def cmd_operators(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = RolesClient(client).operators(args.role, args.status)
    cli.emit(s, {"operators": [cli.proto_json(o) for o in found]})


def cmd_active_set(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        members = RolesClient(client).active_set(args.role)
    cli.emit(s, {"members": [cli.proto_json(m) for m in members]})


def cmd_operator(s: cli.Settings, args: argparse.Namespace) -> None:
    """One role's record, or (no role given) the operator's records in every role."""
    with s.client() as client:
        roles = RolesClient(client)
        if args.role:
            cli.emit(s, cli.proto_json(roles.operator(args.address, args.role)))
            return
        found = []
        for role in sorted(ROLE_BY_NAME):
            try:
                found.append(roles.operator(args.address, role).operator)
            except ChainError:
                continue
    if not found:
        raise cli.CliError(f"{args.address} is not registered in any role")
    cli.emit(s, {"operators": [cli.proto_json(o) for o in found]})


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(RolesClient(client).params()))


def cmd_slashes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        records = RolesClient(client).slash_records(args.operator or "", args.role)
    cli.emit(s, {"records": [cli.proto_json(r) for r in records]})


def cmd_rewards(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, cli.proto_json(RolesClient(client).rewards(args.address)))


def cmd_reason_codes(s: cli.Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        cli.emit(s, {"codes": [cli.proto_json(c) for c in RolesClient(client).reason_codes()]})


def _role(p: argparse.ArgumentParser) -> None:
    p.add_argument("role", choices=sorted(ROLE_BY_NAME), help="ai, compute or data")


def _capability_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", choices=sorted(HARDWARE_BY_NAME), help="compute: hardware class")
    p.add_argument("--accelerators", type=int, default=1, help="compute: accelerator count")
    p.add_argument("--memory-gib", type=int, help="compute: memory per accelerator, GiB")
    p.add_argument("--tflops", type=int, default=0, help="compute: benchmark dense fp16 TFLOPS")
    p.add_argument("--tokens-per-second", type=int, default=0, help="compute: LLM benchmark")
    p.add_argument("--runtimes", help="ai: comma-separated runtimes, e.g. dsm,onnxruntime")
    p.add_argument("--methods", help=f"ai: comma-separated methods of {sorted(METHOD_BY_NAME)}")
    p.add_argument("--storage-bytes", type=int, help="data: storage capacity in bytes")


def _tx_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, help="key name or address")
    cli.add_wait_flags(p)


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx roles`` and ``aivm query roles`` (see :data:`aivm.cli.common.Register`)."""
    txs = branch(tx, "roles", "Validator role transactions (ai, compute, data)")
    p = leaf(
        txs,
        "register",
        cmd_register,
        "Register in a role with a bond and a capability declaration",
        "  aivm tx roles register compute --bond 2000000000ucgpt --hardware gpu_flagship "
        "--accelerators 8 --memory-gib 141 --tflops 7900 --from alice --yes\n"
        "  aivm tx roles register ai --bond 1000000000 --runtimes dsm,onnxruntime "
        "--methods reexecution,zk --from bob --yes\n"
        "  aivm tx roles register data --bond 500000000 --storage-bytes 10000000000000 "
        "--from carol --yes",
    )
    _role(p)
    p.add_argument("--bond", required=True, help=f"bond in {BOND_DENOM}")
    p.add_argument("--moniker", default="")
    p.add_argument("--description", default="")
    _capability_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "add-bond",
        cmd_add_bond,
        "Top up a role bond",
        "  aivm tx roles add-bond compute 1000000ucgpt --from alice --yes",
    )
    _role(p)
    p.add_argument("amount")
    _tx_flags(p)
    p = leaf(
        txs,
        "update-capability",
        cmd_update_capability,
        "Replace a capability declaration",
        "  aivm tx roles update-capability data --storage-bytes 20000000000000 --from carol",
    )
    _role(p)
    _capability_flags(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "unbond",
        cmd_unbond,
        "Unbond from a role (after the unbonding period)",
        "  aivm tx roles unbond compute 1000000ucgpt --from alice\n"
        "  aivm tx roles unbond compute --all --from alice",
    )
    _role(p)
    p.add_argument("amount", nargs="?")
    p.add_argument("--all", action="store_true", help="the whole bond")
    _tx_flags(p)
    p = leaf(
        txs,
        "unjail",
        cmd_unjail,
        "Leave a role jail after its time",
        "  aivm tx roles unjail ai --from bob\n  aivm tx roles unjail ai --from bob --yes --wait",
    )
    _role(p)
    _tx_flags(p)
    p = leaf(
        txs,
        "withdraw-rewards",
        cmd_withdraw,
        "Withdraw role rewards",
        "  aivm tx roles withdraw-rewards --from alice\n"
        "  aivm tx roles withdraw-rewards compute --from alice",
    )
    p.add_argument("role", nargs="?", choices=sorted(ROLE_BY_NAME), help="default: every role")
    _tx_flags(p)

    qs = branch(query, "roles", "Validator role queries")
    p = leaf(
        qs,
        "operators",
        cmd_operators,
        "Role operators",
        "  aivm query roles operators --role compute --status active",
    )
    p.add_argument("--role", choices=sorted(ROLE_BY_NAME))
    p.add_argument("--status", choices=sorted(STATUS_BY_NAME))
    p = leaf(
        qs,
        "active-set",
        cmd_active_set,
        "A role's active set, best first",
        "  aivm query roles active-set compute",
    )
    _role(p)
    p = leaf(
        qs,
        "operator",
        cmd_operator,
        "An operator's record in a role",
        "  aivm query roles operator aivm1... compute\n  aivm query roles operator aivm1...",
    )
    p.add_argument("address")
    p.add_argument("role", nargs="?", choices=sorted(ROLE_BY_NAME), help="default: every role")
    leaf(qs, "params", cmd_params, "The roles params", "  aivm query roles params")
    p = leaf(
        qs,
        "slashes",
        cmd_slashes,
        "Role slash records",
        "  aivm query roles slashes --operator aivm1... --role ai",
    )
    p.add_argument("--operator")
    p.add_argument("--role", choices=sorted(ROLE_BY_NAME))
    p = leaf(
        qs,
        "rewards",
        cmd_rewards,
        "An operator's claimable role rewards",
        "  aivm query roles rewards aivm1...",
    )
    p.add_argument("address")
    leaf(
        qs,
        "reason-codes",
        cmd_reason_codes,
        "Registered slash reason codes",
        "  aivm query roles reason-codes",
    )
    p = leaf(
        qs,
        "work",
        cmd_work,
        "Work recorded in the current reward period (paid at the next block)",
        "  aivm query roles work --role compute\n  aivm query roles work --operator aivm1...",
    )
    p.add_argument("--role", choices=sorted(ROLE_BY_NAME))
    p.add_argument("--operator")


def cmd_work(s: cli.Settings, args: argparse.Namespace) -> None:
    """``aivm query roles work``: work counters of a role and/or an operator."""
    with s.client() as client:
        found = RolesClient(client).work_counters(args.role, args.operator or "")
    cli.emit(s, {"counters": [cli.proto_json(c) for c in found]})
