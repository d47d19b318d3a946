"""``aivm tx staking`` (create-validator, edit-validator, delegate, unbond, redelegate,
cancel-unbond) and ``aivm query staking`` (validators, validator, delegation, delegations,
unbonding-delegations, redelegations, pool, params, historical-info).

Amounts are coins (``5000000ucgpt``, or a bare integer of ``ucgpt``); rates are decimals
(``0.05``); validators are ``aivmvaloper1…`` addresses (``aivm keys show NAME --bech val``
prints the one of a key). Query output shows decimals as the SDK's CLI does
(``"0.050000000000000000"``), not their protobuf wire form. A tx command returns once CheckTx
accepted the tx (``txhash``, ``code``); with ``--wait`` it waits (``--timeout`` seconds) for the
block and shows the tx's height, gas used and, for unbond and redelegate, the completion time.

``aivm.cli.main`` finds this file through the module list and calls :func:`register`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aivm.cli import common as cli
from aivm.client import Wallet
from aivm.client.results import TxResult
from aivm.modules.staking.client import (
    DO_NOT_MODIFY,
    StakingClient,
    TxOptions,
    bond_coin,
    check_valoper,
    consensus_pubkey,
    rate,
)
from aivm.types import pb
from aivm.types.address import is_valid_acc_address, valoper_address
from aivm.types.dec_json import render_decs

PRIV_VALIDATOR_KEY = ("config", "priv_validator_key.json")


def show(message: pb.Message) -> dict[str, Any]:
    """A query answer as the SDK's CLI prints it (decimals as decimals, hashes in hex)."""
    return render_decs(message.DESCRIPTOR, cli.proto_json(message))


def _options(s: cli.Settings, args: argparse.Namespace) -> TxOptions:
    return TxOptions(
        fee=s.fees, gas=s.gas, gas_adjustment=s.gas_adjustment, memo=args.memo, timeout=args.timeout
    )


def _tx_out(s: cli.Settings, result: TxResult, **extra: str) -> None:
    cli.emit(
        s,
        {
            "txhash": result.hash,
            "height": str(result.height),
            "code": result.code,
            "gas_used": str(result.gas_used),
            **extra,
        },
    )


def _event(result: TxResult, type_: str, key: str) -> dict[str, str]:
    try:
        return {key: result.attribute(type_, key)}
    except ValueError:
        return {}


def _check_delegator(address: str) -> str:
    if not is_valid_acc_address(address):
        raise cli.CliError(f"invalid delegator address {address!r} (expected aivm1...)")
    return address


def _signer(s: cli.Settings, args: argparse.Namespace, action: str) -> Wallet:
    wallet = cli.keyring_wallet(s, args.from_)
    if not s.yes:
        print(
            f"{action} (signer {wallet.address}, gas {s.gas}, fees {s.fees or 'auto'})",
            file=sys.stderr,
        )
    cli.confirm(s, "confirm transaction before signing and broadcasting")
    return wallet


# -- transactions ----------------------------------------------------------------------------


def cmd_create_validator(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking create-validator --amount … --moniker … --from KEY`."""
    source = args.pubkey or str(s.home.joinpath(*PRIV_VALIDATOR_KEY))
    if args.pubkey is None and not s.home.joinpath(*PRIV_VALIDATOR_KEY).is_file():
        raise cli.CliError(
            f"no --pubkey given and no {source}: pass the validator's ed25519 key "
            "(base64, or the path of its priv_validator_key.json)"
        )
    pubkey = consensus_pubkey(source)
    amount = bond_coin(args.amount)
    rates = (
        rate(args.commission_rate, "--commission-rate"),
        rate(args.commission_max_rate, "--commission-max-rate"),
        rate(args.commission_max_change_rate, "--commission-max-change-rate"),
    )
    wallet = _signer(s, args, f"create validator {args.moniker!r} bonding {amount}")
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).create_validator(
            wallet,
            pubkey,
            amount,
            args.moniker,
            commission_rate=rates[0],
            commission_max_rate=rates[1],
            commission_max_change_rate=rates[2],
            min_self_delegation=args.min_self_delegation,
            identity=args.identity,
            website=args.website,
            security_contact=args.security_contact,
            details=args.details,
            options=_options(s, args),
        )
    _tx_out(s, result, validator=valoper_address(wallet.address_bytes))


def cmd_edit_validator(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking edit-validator [--moniker …] [--commission-rate …] --from KEY`."""
    commission = None if args.commission_rate is None else rate(args.commission_rate)
    wallet = _signer(s, args, "edit validator")
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).edit_validator(
            wallet,
            moniker=args.moniker,
            identity=args.identity,
            website=args.website,
            security_contact=args.security_contact,
            details=args.details,
            commission_rate=commission,
            min_self_delegation=args.min_self_delegation,
            options=_options(s, args),
        )
    _tx_out(s, result, validator=valoper_address(wallet.address_bytes))


def cmd_delegate(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking delegate VALOPER AMOUNT --from KEY`."""
    validator, amount = check_valoper(args.validator), bond_coin(args.amount)
    wallet = _signer(s, args, f"delegate {amount} to {validator}")
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).delegate(wallet, validator, amount, _options(s, args))
    _tx_out(s, result)


def cmd_unbond(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking unbond VALOPER AMOUNT --from KEY`."""
    validator, amount = check_valoper(args.validator), bond_coin(args.amount)
    wallet = _signer(s, args, f"unbond {amount} from {validator}")
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).undelegate(wallet, validator, amount, _options(s, args))
    _tx_out(s, result, **_event(result, "unbond", "completion_time"))


def cmd_redelegate(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking redelegate SRC DST AMOUNT --from KEY`."""
    src, dst = check_valoper(args.src_validator), check_valoper(args.dst_validator)
    amount = bond_coin(args.amount)
    wallet = _signer(s, args, f"redelegate {amount} from {src} to {dst}")
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).redelegate(wallet, src, dst, amount, _options(s, args))
    _tx_out(s, result, **_event(result, "redelegate", "completion_time"))


def cmd_cancel_unbond(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx staking cancel-unbond VALOPER AMOUNT CREATION_HEIGHT --from KEY`."""
    validator, amount = check_valoper(args.validator), bond_coin(args.amount)
    if args.creation_height <= 0:
        raise cli.CliError("CREATION_HEIGHT must be a positive block height")
    wallet = _signer(
        s, args, f"cancel unbonding {amount} from {validator} (entry {args.creation_height})"
    )
    with cli.tx_client(s, args) as client:
        result = StakingClient(client).cancel_unbonding(
            wallet, validator, amount, args.creation_height, _options(s, args)
        )
    _tx_out(s, result)


# -- queries ---------------------------------------------------------------------------------


def cmd_validators(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking validators [--status bonded]`."""
    with s.client() as client:
        found = StakingClient(client).validators(args.status or "")
    cli.emit(s, {"validators": [show(v) for v in found]})


def cmd_validator(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking validator VALOPER`."""
    with s.client() as client:
        cli.emit(s, show(StakingClient(client).validator(check_valoper(args.validator))))


def cmd_delegation(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking delegation DELEGATOR VALOPER`."""
    delegator, validator = _check_delegator(args.delegator), check_valoper(args.validator)
    with s.client() as client:
        found = StakingClient(client).delegation(delegator, validator)
    if found is None:
        raise cli.CliError(f"{delegator} has no delegation to {validator}")
    cli.emit(s, show(found))


def cmd_delegations(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking delegations DELEGATOR`."""
    with s.client() as client:
        found = StakingClient(client).delegations(_check_delegator(args.delegator))
    cli.emit(s, {"delegation_responses": [show(d) for d in found]})


def cmd_unbonding_delegations(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking unbonding-delegations DELEGATOR`."""
    with s.client() as client:
        found = StakingClient(client).unbonding_delegations(_check_delegator(args.delegator))
    cli.emit(s, {"unbonding_responses": [show(u) for u in found]})


def cmd_redelegations(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking redelegations DELEGATOR`."""
    with s.client() as client:
        found = StakingClient(client).redelegations(_check_delegator(args.delegator))
    cli.emit(s, {"redelegation_responses": [show(r) for r in found]})


def cmd_pool(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking pool`."""
    with s.client() as client:
        cli.emit(s, show(StakingClient(client).pool()))


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking params`."""
    with s.client() as client:
        cli.emit(s, show(StakingClient(client).params()))


def cmd_historical_info(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query staking historical-info HEIGHT`."""
    if args.height <= 0:
        raise cli.CliError("HEIGHT must be a positive block height")
    with s.client() as client:
        cli.emit(s, show(StakingClient(client).historical_info(args.height)))


# -- registration ----------------------------------------------------------------------------


def _tx_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="from_", metavar="KEY", required=True, help="key name or address that signs"
    )
    p.add_argument("--memo", default="", help="transaction memo")
    cli.add_wait_flags(p)


def _description_flags(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--identity", default=default, help="identity signature (e.g. Keybase)")
    p.add_argument("--website", default=default, help="website")
    p.add_argument("--security-contact", default=default, help="security contact email")
    p.add_argument("--details", default=default, help="free-form description")


def _register_create_edit(txs: cli.Group, leaf: cli.Leaf) -> None:
    p = leaf(
        txs,
        "create-validator",
        cmd_create_validator,
        "Create a validator operated by --from's account, self-bonding --amount",
        "  aivm tx staking create-validator --amount 10000000ucgpt --moniker node4 \\\n"
        "      --pubkey ~/.aivm/config/priv_validator_key.json --from alice --yes\n"
        "  aivm tx staking create-validator --amount 5000000 --moniker mine \\\n"
        "      --pubkey oWg2ISpLF405Jcm2vXV+2v4fnjodh6aafuIdeoW+rUw= --commission-rate 0.05 \\\n"
        "      --from alice",
    )
    p.add_argument(
        "--pubkey",
        default=None,
        help="ed25519 consensus key: base64, the SDK's JSON, or the path of a "
        "priv_validator_key.json (default: HOME/config/priv_validator_key.json)",
    )
    p.add_argument("--amount", required=True, help="self-bond, e.g. 10000000ucgpt")
    p.add_argument("--moniker", required=True, help="the validator's name")
    p.add_argument("--commission-rate", default="0.1", help="initial commission (default 0.1)")
    p.add_argument(
        "--commission-max-rate", default="0.2", help="highest commission ever (default 0.2)"
    )
    p.add_argument(
        "--commission-max-change-rate",
        default="0.01",
        help="largest commission change per day (default 0.01)",
    )
    p.add_argument(
        "--min-self-delegation",
        type=int,
        default=1,
        help="self-bond below which the validator is jailed, in ucgpt (default 1)",
    )
    _description_flags(p, "")
    _tx_flags(p)
    p = leaf(
        txs,
        "edit-validator",
        cmd_edit_validator,
        "Edit --from's validator: description, commission rate, min self delegation",
        "  aivm tx staking edit-validator --moniker new-name --from alice --yes\n"
        "  aivm tx staking edit-validator --commission-rate 0.08 --from alice",
    )
    p.add_argument("--moniker", default=DO_NOT_MODIFY, help="new name")
    _description_flags(p, DO_NOT_MODIFY)
    p.add_argument("--commission-rate", default=None, help="new commission (at most once per 24 h)")
    p.add_argument(
        "--min-self-delegation", type=int, default=None, help="new (higher) min self delegation"
    )
    _tx_flags(p)


def _register_delegation_txs(txs: cli.Group, leaf: cli.Leaf) -> None:
    p = leaf(
        txs,
        "delegate",
        cmd_delegate,
        "Delegate tokens to a validator",
        "  aivm tx staking delegate aivmvaloper1... 5000000ucgpt --from alice --yes\n"
        "  aivm tx staking delegate aivmvaloper1... 5000000ucgpt --from alice --yes --wait",
    )
    p.add_argument("validator", metavar="VALOPER", help="validator address (aivmvaloper1...)")
    p.add_argument("amount", metavar="AMOUNT", help="e.g. 5000000ucgpt")
    _tx_flags(p)
    p = leaf(
        txs,
        "unbond",
        cmd_unbond,
        "Undelegate tokens; they return after the unbonding time",
        "  aivm tx staking unbond aivmvaloper1... 1000000ucgpt --from alice --yes --wait",
    )
    p.add_argument("validator", metavar="VALOPER", help="validator address (aivmvaloper1...)")
    p.add_argument("amount", metavar="AMOUNT", help="e.g. 1000000ucgpt")
    _tx_flags(p)
    p = leaf(
        txs,
        "redelegate",
        cmd_redelegate,
        "Move a delegation from one validator to another at once",
        "  aivm tx staking redelegate aivmvaloper1src... aivmvaloper1dst... 1000000ucgpt "
        "--from alice",
    )
    p.add_argument("src_validator", metavar="SRC_VALOPER", help="validator to move from")
    p.add_argument("dst_validator", metavar="DST_VALOPER", help="validator to move to")
    p.add_argument("amount", metavar="AMOUNT", help="e.g. 1000000ucgpt")
    _tx_flags(p)
    p = leaf(
        txs,
        "cancel-unbond",
        cmd_cancel_unbond,
        "Cancel (part of) an unbonding entry, delegating its tokens again",
        "  aivm tx staking cancel-unbond aivmvaloper1... 1000000ucgpt 1234 --from alice\n"
        "  (the entry's creation height: aivm query staking unbonding-delegations aivm1...)",
    )
    p.add_argument("validator", metavar="VALOPER", help="validator address (aivmvaloper1...)")
    p.add_argument("amount", metavar="AMOUNT", help="e.g. 1000000ucgpt")
    p.add_argument(
        "creation_height", metavar="CREATION_HEIGHT", type=int, help="the entry's creation height"
    )
    _tx_flags(p)


def _register_queries(qs: cli.Group, leaf: cli.Leaf) -> None:
    p = leaf(
        qs,
        "validators",
        cmd_validators,
        "All validators, or those with --status",
        "  aivm query staking validators\n  aivm q staking validators --status bonded -o json",
    )
    p.add_argument(
        "--status",
        choices=("bonded", "unbonding", "unbonded"),
        default=None,
        help="only validators in this state",
    )
    p = leaf(
        qs,
        "validator",
        cmd_validator,
        "One validator",
        "  aivm q staking validator aivmvaloper1...",
    )
    p.add_argument("validator", metavar="VALOPER", help="validator address (aivmvaloper1...)")
    p = leaf(
        qs,
        "delegation",
        cmd_delegation,
        "A delegation and its balance",
        "  aivm query staking delegation aivm1... aivmvaloper1...",
    )
    p.add_argument("delegator", metavar="DELEGATOR", help="delegator address (aivm1...)")
    p.add_argument("validator", metavar="VALOPER", help="validator address (aivmvaloper1...)")
    for name, handler, what in (
        ("delegations", cmd_delegations, "Every delegation of a delegator, with balances"),
        (
            "unbonding-delegations",
            cmd_unbonding_delegations,
            "Every unbonding delegation of a delegator, with entry completion times",
        ),
        ("redelegations", cmd_redelegations, "Every redelegation in progress of a delegator"),
    ):
        p = leaf(qs, name, handler, what, f"  aivm query staking {name} aivm1...")
        p.add_argument("delegator", metavar="DELEGATOR", help="delegator address (aivm1...)")
    leaf(qs, "pool", cmd_pool, "Bonded and not-bonded token totals", "  aivm q staking pool")
    leaf(qs, "params", cmd_params, "Staking parameters", "  aivm query staking params -o json")
    p = leaf(
        qs,
        "historical-info",
        cmd_historical_info,
        "Header and validator set stored for a height",
        "  aivm query staking historical-info 120",
    )
    p.add_argument("height", metavar="HEIGHT", type=int, help="block height")


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx staking`` and ``aivm query staking`` (see
    :data:`aivm.cli.common.Register`)."""
    txs = branch(tx, "staking", "Staking transactions: validators and delegations")
    _register_create_edit(txs, leaf)
    _register_delegation_txs(txs, leaf)
    _register_queries(branch(query, "staking", "Staking queries"), leaf)
