"""staking invariants, checked by the simulation after every block."""

from __future__ import annotations

from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, BondStatus
from aivm.modules.staking.codec import dec_wire, val_bytes, val_str
from aivm.modules.staking.keeper import operator_of, shares_of, tokens_of
from aivm.modules.staking.module import StakingModule
from aivm.types.dec import Dec


def invariants(module: StakingModule) -> dict[str, Invariant]:
    """module_accounts, delegator_shares, nonnegative_power and last_total_power, by name."""
    keeper = module.keeper

    def module_accounts(ctx: Context) -> list[str]:
        """Bonded pool = Σ tokens of bonded validators; not-bonded pool = Σ tokens of the
        others + Σ unbonding entries' balances."""
        bonded = not_bonded = 0
        for validator in keeper.iterate_validator_protos(ctx):
            if validator.status == BondStatus.BONDED:
                bonded += tokens_of(validator)
            else:
                not_bonded += tokens_of(validator)
        for ubd in keeper.iterate_all_unbonding_delegations(ctx):
            not_bonded += sum(int(e.balance) for e in ubd.entries)
        denom = keeper.bond_denom(ctx)
        problems = []
        for pool, expected in ((BONDED_POOL, bonded), (NOT_BONDED_POOL, not_bonded)):
            held = keeper.bank.get_balance(ctx, keeper.pool_address(pool), denom)
            if held != expected:
                problems.append(f"{pool} holds {held}{denom}, its validators/entries {expected}")
        return problems

    def delegator_shares(ctx: Context) -> list[str]:
        """Each validator's delegator_shares = Σ its delegations' shares."""
        totals: dict[bytes, Dec] = {}
        for delegation in keeper.iterate_all_delegations(ctx):
            address = val_bytes(delegation.validator_address)
            totals[address] = totals.get(address, Dec.zero()) + dec_wire(delegation.shares)
        problems = []
        for validator in keeper.iterate_validator_protos(ctx):
            operator = operator_of(validator)
            summed = totals.pop(operator, Dec.zero())
            if summed != shares_of(validator):
                problems.append(
                    f"{validator.operator_address} has {shares_of(validator)} shares, "
                    f"its delegations {summed}"
                )
        problems += [f"delegations to unknown validator {val_str(a)}" for a in sorted(totals)]
        return problems

    def nonnegative_power(ctx: Context) -> list[str]:
        """No validator has negative tokens or shares."""
        return [
            f"{v.operator_address} has tokens {v.tokens}, shares {shares_of(v)}"
            for v in keeper.iterate_validator_protos(ctx)
            if tokens_of(v) < 0 or shares_of(v).is_negative()
        ]

    def last_total_power(ctx: Context) -> list[str]:
        """The last total power is the sum of the last validator powers."""
        summed = sum(power for _, power in keeper.iterate_last_validator_powers(ctx))
        recorded = keeper.get_last_total_power(ctx)
        if summed != recorded:
            return [f"last total power {recorded}, last validator powers add up to {summed}"]
        return []

    return {
        "module_accounts": module_accounts,
        "delegator_shares": delegator_shares,
        "nonnegative_power": nonnegative_power,
        "last_total_power": last_total_power,
    }
