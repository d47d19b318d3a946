"""``aivm tx distribution …`` and ``aivm query distribution …``: withdraw rewards and
commission, set a withdraw address, fund the community pool; read rewards, commission,
outstanding rewards, slashes, the pool and params. A tx command returns once CheckTx accepted
the tx; ``--wait`` waits for the block (``--timeout`` seconds) and shows the tx's result code.

``aivm.cli.main`` finds this file through the module list and calls :func:`register`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from aivm.cli import common as cli
from aivm.client.client import Client
from aivm.modules.distribution.client import DecAmounts, DistributionClient
from aivm.types import pb
from aivm.types.address import is_valid_acc_address, valoper_address_bytes
from aivm.types.coin import parse_coins
from aivm.types.coin_proto import coins_to_proto
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.pb import distribution_tx as tx


def _valoper(text: str) -> str:
    try:
        valoper_address_bytes(text)
    except AivmError:
        raise cli.CliError(f"invalid validator operator address {text!r}") from None
    return text


def _account(text: str) -> str:
    if not is_valid_acc_address(text):
        raise cli.CliError(f"invalid address {text!r}")
    return text


def _shown(amounts: DecAmounts) -> list[dict[str, str]]:
    return [{"denom": d, "amount": str(a)} for d, a in sorted(amounts.items())]


def _broadcast(s: cli.Settings, client: Client, who: str, msgs: Sequence[pb.Message]) -> None:
    wallet = cli.keyring_wallet(s, who)
    sent = client.sign_and_broadcast(wallet, list(msgs), s.fees, s.gas, s.gas_adjustment)
    result = client.wait_for_tx(sent.hash, check=False)
    cli.emit(
        s,
        {"txhash": result.hash, "code": result.code, "codespace": result.codespace},
    )


def cmd_withdraw_rewards(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx distribution withdraw-rewards VALOPER [--commission] --from KEY`."""
    validator = _valoper(args.validator)
    with cli.tx_client(s, args) as client:
        wallet = cli.keyring_wallet(s, args.from_)
        msgs: list[pb.Message] = [
            tx.MsgWithdrawDelegatorReward(
                delegator_address=wallet.address, validator_address=validator
            )
        ]
        if args.commission:
            msgs.append(tx.MsgWithdrawValidatorCommission(validator_address=validator))
        cli.confirm(s, f"withdraw rewards of {wallet.address} from {validator}")
        _broadcast(s, client, args.from_, msgs)


def cmd_withdraw_all(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx distribution withdraw-all-rewards --from KEY`."""
    with cli.tx_client(s, args) as client:
        wallet = cli.keyring_wallet(s, args.from_)
        validators = DistributionClient(client).delegator_validators(wallet.address)
        if not validators:
            raise cli.CliError(f"{wallet.address} has no delegations")
        msgs = [
            tx.MsgWithdrawDelegatorReward(delegator_address=wallet.address, validator_address=v)
            for v in validators
        ]
        cli.confirm(s, f"withdraw rewards of {wallet.address} from {len(validators)} validators")
        _broadcast(s, client, args.from_, msgs)


def cmd_set_withdraw_addr(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx distribution set-withdraw-addr ADDRESS --from KEY`."""
    target = _account(args.withdraw_address)
    with cli.tx_client(s, args) as client:
        wallet = cli.keyring_wallet(s, args.from_)
        msg = tx.MsgSetWithdrawAddress(delegator_address=wallet.address, withdraw_address=target)
        cli.confirm(s, f"send the rewards of {wallet.address} to {target}")
        _broadcast(s, client, args.from_, [msg])


def cmd_fund_pool(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm tx distribution fund-community-pool AMOUNT --from KEY`."""
    try:
        coins = parse_coins(args.amount)
    except AivmError as exc:
        raise cli.CliError(f"invalid amount {args.amount!r}: {exc.log}") from None
    if coins.is_zero():
        raise cli.CliError("the amount must not be empty")
    with cli.tx_client(s, args) as client:
        wallet = cli.keyring_wallet(s, args.from_)
        msg = tx.MsgFundCommunityPool(depositor=wallet.address, amount=coins_to_proto(coins))
        cli.confirm(s, f"deposit {coins} from {wallet.address} into the community pool")
        _broadcast(s, client, args.from_, [msg])


def cmd_rewards(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution rewards DELEGATOR [VALOPER]`."""
    delegator = _account(args.delegator)
    validator = _valoper(args.validator) if args.validator else None
    with s.client() as client:
        found = DistributionClient(client).rewards(delegator, validator)
    if validator is not None:
        cli.emit(s, {"rewards": _shown(found[validator])})
        return
    total = found.pop("total")
    rewards = [{"validator_address": v, "reward": _shown(a)} for v, a in found.items()]
    cli.emit(s, {"rewards": rewards, "total": _shown(total)})


def cmd_commission(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution commission VALOPER`."""
    with s.client() as client:
        amounts = DistributionClient(client).commission(_valoper(args.validator))
    cli.emit(s, {"commission": _shown(amounts)})


def cmd_outstanding(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution outstanding-rewards VALOPER`."""
    with s.client() as client:
        amounts = DistributionClient(client).outstanding_rewards(_valoper(args.validator))
    cli.emit(s, {"rewards": _shown(amounts)})


def cmd_slashes(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution slashes VALOPER [START END]`."""
    with s.client() as client:
        found = DistributionClient(client).slashes(_valoper(args.validator), args.start, args.end)
    cli.emit(s, {"slashes": [{"validator_period": str(p), "fraction": str(f)} for p, f in found]})


def cmd_pool(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution community-pool`."""
    with s.client() as client:
        cli.emit(s, {"pool": _shown(DistributionClient(client).community_pool())})


def cmd_params(s: cli.Settings, args: argparse.Namespace) -> None:
    """`aivm query distribution params`."""
    with s.client() as client:
        params = DistributionClient(client).params()
    shown: dict[str, Any] = {
        "community_tax": str(Dec.from_proto_str(params.community_tax or "0")),
        "base_proposer_reward": str(Dec.from_proto_str(params.base_proposer_reward or "0")),
        "bonus_proposer_reward": str(Dec.from_proto_str(params.bonus_proposer_reward or "0")),
        "withdraw_addr_enabled": params.withdraw_addr_enabled,
    }
    cli.emit(s, shown)


def _tx_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, help="key name in the keyring")
    cli.add_wait_flags(p)


def register(
    subs: cli.Group, tx_group: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm tx distribution`` and ``aivm query distribution`` (see
    :data:`aivm.cli.common.Register`)."""
    txs = branch(tx_group, "distribution", "Distribution module transactions (rewards)")
    p = leaf(
        txs,
        "withdraw-rewards",
        cmd_withdraw_rewards,
        "Withdraw rewards from a validator (--commission: also its commission, as operator)",
        "  aivm tx distribution withdraw-rewards aivmvaloper1... --from alice --yes\n"
        "  aivm tx distribution withdraw-rewards aivmvaloper1... --commission --from val --yes",
    )
    p.add_argument("validator", metavar="VALOPER")
    p.add_argument("--commission", action="store_true", help="also withdraw the commission")
    _tx_flags(p)
    p = leaf(
        txs,
        "withdraw-all-rewards",
        cmd_withdraw_all,
        "Withdraw rewards from every validator you delegate to",
        "  aivm tx distribution withdraw-all-rewards --from alice --yes --wait",
    )
    _tx_flags(p)
    p = leaf(
        txs,
        "set-withdraw-addr",
        cmd_set_withdraw_addr,
        "Send your future rewards to another address",
        "  aivm tx distribution set-withdraw-addr aivm1... --from alice --yes",
    )
    p.add_argument("withdraw_address", metavar="ADDRESS")
    _tx_flags(p)
    p = leaf(
        txs,
        "fund-community-pool",
        cmd_fund_pool,
        "Deposit coins into the community pool",
        "  aivm tx distribution fund-community-pool 1000ucgpt --from alice --yes",
    )
    p.add_argument("amount", metavar="AMOUNT")
    _tx_flags(p)

    qs = branch(query, "distribution", "Distribution module queries")
    p = leaf(
        qs,
        "rewards",
        cmd_rewards,
        "Rewards of a delegator: from every validator and the total, or from one",
        "  aivm query distribution rewards aivm1...\n"
        "  aivm query distribution rewards aivm1... aivmvaloper1...",
    )
    p.add_argument("delegator", metavar="DELEGATOR")
    p.add_argument("validator", metavar="VALOPER", nargs="?")
    p = leaf(
        qs,
        "commission",
        cmd_commission,
        "A validator's accumulated commission",
        "  aivm query distribution commission aivmvaloper1...",
    )
    p.add_argument("validator", metavar="VALOPER")
    p = leaf(
        qs,
        "outstanding-rewards",
        cmd_outstanding,
        "A validator's outstanding rewards",
        "  aivm query distribution outstanding-rewards aivmvaloper1...",
    )
    p.add_argument("validator", metavar="VALOPER")
    p = leaf(
        qs,
        "slashes",
        cmd_slashes,
        "A validator's slash events between two heights (0: no bound)",
        "  aivm query distribution slashes aivmvaloper1... 0 100",
    )
    p.add_argument("validator", metavar="VALOPER")
    p.add_argument("start", type=int, nargs="?", default=0)
    p.add_argument("end", type=int, nargs="?", default=0)
    leaf(
        qs,
        "community-pool",
        cmd_pool,
        "The community pool",
        "  aivm query distribution community-pool",
    )
    leaf(qs, "params", cmd_params, "Distribution params", "  aivm query distribution params")
