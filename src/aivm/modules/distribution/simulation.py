"""Random distribution operations for the simulation: withdraw rewards and commission, set a
withdraw address, fund the community pool, change params; each sometimes deliberately wrong
(a delegation that does not exist, a validator with no commission, a module account as
withdraw address, more coins than the depositor holds, a community tax above 1)."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_str
from aivm.modules.authority.simulation import claimed_authority
from aivm.modules.distribution import keys
from aivm.modules.distribution.module import DistributionModule
from aivm.modules.distribution.params import DistributionParams
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types import pb
from aivm.types.address import valoper_address
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec
from aivm.types.pb import distribution_tx as tx


def operations(module: DistributionModule) -> dict[str, WeightedOperation]:
    """withdraw_rewards, withdraw_commission, set_withdraw_address, fund_community_pool and
    update_params, by name."""
    keeper = module.keeper

    def withdraw_rewards(env: SimEnv) -> Sequence[pb.Message] | None:
        """A delegator withdraws from one of its validators (or from one it never used)."""
        delegator = env.rng.choice(env.accounts)
        delegations = list(keeper.staking.iterate_delegations_of(env.ctx, delegator))
        validators = keeper.validators(env.ctx)
        if delegations and env.rng.randrange(0, 8):
            val = env.rng.choice(delegations).validator
        elif validators:
            val = env.rng.choice(validators)
        else:
            val = env.rng.randbytes(20)
        return [
            tx.MsgWithdrawDelegatorReward(
                delegator_address=addr_str(delegator), validator_address=valoper_address(val)
            )
        ]

    def withdraw_commission(env: SimEnv) -> Sequence[pb.Message] | None:
        """An operator the simulation holds the key of withdraws its commission (perhaps
        none: ErrNoValidatorCommission)."""
        held = set(env.accounts)
        operators = [val for val in keeper.validators(env.ctx) if val in held]
        val = env.rng.choice(operators) if operators else env.rng.choice(env.accounts)
        return [tx.MsgWithdrawValidatorCommission(validator_address=valoper_address(val))]

    def set_withdraw_address(env: SimEnv) -> Sequence[pb.Message] | None:
        """Rewards to another simulated account, back to itself, or to a module account."""
        delegator = env.rng.choice(env.accounts)
        roll = env.rng.randrange(0, 10)
        if roll == 0:
            target = keeper.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]  # refused
        elif roll < 3:
            target = delegator
        else:
            target = env.rng.choice(env.accounts)
        return [
            tx.MsgSetWithdrawAddress(
                delegator_address=addr_str(delegator), withdraw_address=addr_str(target)
            )
        ]

    def fund_community_pool(env: SimEnv) -> Sequence[pb.Message] | None:
        """A small deposit; one time in eight more than the depositor holds."""
        depositor = env.rng.choice(env.accounts)
        balance = keeper.bank.get_balance(env.ctx, depositor, BOND_DENOM)
        if env.rng.randrange(0, 8) == 0:
            amount = balance + env.rng.randrange(1, 1_000_000)
        else:
            amount = env.rng.randrange(1, max(2, min(balance // 100, 1_000_000)))
        coin = pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))
        return [tx.MsgFundCommunityPool(depositor=addr_str(depositor), amount=[coin])]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """A community tax in [0, 0.1] (one time in ten above 1: refused)."""
        tax = Dec.raw(env.rng.randrange(0, 10**17 + 1))
        if env.rng.randrange(0, 10) == 0:
            tax = Dec.one() + tax + Dec.raw(1)
        params = DistributionParams(tax, env.rng.randrange(0, 5) != 0).to_proto()
        authority = claimed_authority(env, module.authority)
        return [tx.MsgUpdateParams(authority=authority, params=params)]

    return {
        "update_params": WeightedOperation(1, update_params),
        "withdraw_rewards": WeightedOperation(8, withdraw_rewards),
        "withdraw_commission": WeightedOperation(3, withdraw_commission),
        "set_withdraw_address": WeightedOperation(3, set_withdraw_address),
        "fund_community_pool": WeightedOperation(3, fund_community_pool),
    }
