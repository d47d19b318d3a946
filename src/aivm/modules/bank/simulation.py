"""Random bank operations for the simulation: MsgSend and MsgMultiSend, valid and invalid.

Senders are any simulated account (funded or not); recipients are simulated accounts, fresh
addresses (the recipient's account is created) or a module account (blocked: code 4).
Amounts range over affordable and more than the balance, sometimes in a denom nobody holds,
sometimes malformed on the wire (Unicode digits, signs, 79 digits, …). Multi-sends sometimes
do not balance, or name two inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.bank.module import BankModule
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

OTHER_DENOM = "uother"
"""A denom no genesis funds: sending it fails with insufficient funds."""
MALFORMED_AMOUNTS = (
    "",
    "0",
    "-5",
    " 5",
    "1_000",
    "0x10",
    "²",
    "٣",
    "1e3",
    "1" * 79,
    "9" * 78,
    "0" * 80 + "1",
)
"""Amounts a wallet could put on the wire that no node may accept (or parse differently)."""


def operations(module: BankModule) -> dict[str, WeightedOperation]:
    """send and multi_send, by name."""
    keeper = module.keeper

    def send(env: SimEnv) -> Sequence[pb.Message] | None:
        """A MsgSend from any simulated account."""
        sender = env.rng.choice(env.accounts)
        msg = pb.bank_tx.MsgSend(
            from_address=addr_str(sender),
            to_address=addr_str(pick_recipient(env, keeper)),
            amount=[random_coin(env, keeper.get_balance(env.ctx, sender, BOND_DENOM))],
        )
        return [msg]

    def multi_send(env: SimEnv) -> Sequence[pb.Message] | None:
        """A MsgMultiSend to 1–3 outputs; sometimes unbalanced or with two inputs."""
        sender = env.rng.choice(env.accounts)
        balance = keeper.get_balance(env.ctx, sender, BOND_DENOM)
        outputs = [
            pb.bank.Output(
                address=addr_str(pick_recipient(env, keeper)),
                coins=[random_coin(env, balance // 3 + 1)],
            )
            for _ in range(env.rng.randrange(1, 4))
        ]
        by_denom: dict[str, int] = {}
        for output in outputs:
            coin = output.coins[0]
            amount = int(coin.amount) if coin.amount.isascii() and coin.amount.isdigit() else 1
            by_denom[coin.denom] = by_denom.get(coin.denom, 0) + amount
        if env.rng.randrange(0, 10) == 0:  # inputs that do not balance the outputs
            by_denom[BOND_DENOM] = by_denom.get(BOND_DENOM, 0) + env.rng.randrange(1, 5)
        inputs = [
            pb.bank.Input(
                address=addr_str(sender),
                coins=[pb.coin.Coin(denom=d, amount=str(a)) for d, a in sorted(by_denom.items())],
            )
        ]
        if env.rng.randrange(0, 15) == 0:  # the SDK allows one input only
            inputs.append(pb.bank.Input(address=addr_str(env.rng.choice(env.accounts))))
        return [pb.bank_tx.MsgMultiSend(inputs=inputs, outputs=outputs)]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """Sends switched off now and then (and back on: the economy must keep moving)."""
        enabled = (
            env.rng.randrange(0, 4) != 0 or not keeper.get_params(env.ctx).default_send_enabled
        )
        params = pb.bank.Params(default_send_enabled=enabled)
        if env.rng.randrange(0, 10) == 0:  # refused since SDK 0.47: not a param any more
            params.send_enabled.add(denom=BOND_DENOM, enabled=True)
        authority = claimed_authority(env, module.authority)
        return [pb.bank_tx.MsgUpdateParams(authority=authority, params=params)]

    return {
        "send": WeightedOperation(40, send),
        "multi_send": WeightedOperation(10, multi_send),
        "update_params": WeightedOperation(1, update_params),
    }


def pick_recipient(env: SimEnv, keeper: BankKeeper) -> bytes:
    """Mostly a simulated account; sometimes a new address or a (blocked) module account."""
    roll = env.rng.randrange(0, 20)
    if roll == 0 and keeper.blocked_addresses:
        return env.rng.choice(sorted(keeper.blocked_addresses))
    if roll == 1:
        return env.rng.randbytes(20)
    return env.rng.choice(env.accounts)


def random_coin(env: SimEnv, balance: int) -> pb.coin.Coin:
    """An amount the sender can usually afford, sometimes not; rarely another denom."""
    roll = env.rng.randrange(0, 20)
    if roll == 0:
        return pb.coin.Coin(denom=OTHER_DENOM, amount=str(env.rng.randrange(1, 100)))
    if roll == 2:
        return pb.coin.Coin(denom=BOND_DENOM, amount=env.rng.choice(MALFORMED_AMOUNTS))
    if roll == 1:
        return pb.coin.Coin(denom=BOND_DENOM, amount=str(balance + env.rng.randrange(1, 1000)))
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(env.rng.randrange(1, max(2, balance // 4))))
