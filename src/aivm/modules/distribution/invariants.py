"""distribution invariants, checked by the simulation after every block
(:mod:`aivm.modules.simulation`), as the SDK's ``x/distribution/keeper/invariants.go``:

- ``nonnegative_outstanding``: every stored outstanding reward decodes and is not negative;
- ``module_account``: the ``distribution`` module account holds the whole coins of the
  community pool plus every outstanding reward (what it owes);
- ``can_withdraw``: on a throw-away branch, every commission and every delegation's rewards
  can be withdrawn without any outstanding reward going negative;
- ``reference_count``: the historical periods' reference counts add up to one per validator,
  one per delegation and one per slash event.
"""

from __future__ import annotations

from aivm.modules.distribution import keys
from aivm.modules.distribution.deccoins import DecCoins
from aivm.modules.distribution.errors import ErrNoValidatorCommission
from aivm.modules.distribution.keeper import DistributionKeeper, val_str
from aivm.modules.distribution.module import DistributionModule
from aivm.modules.distribution.queries import branch
from aivm.modules.framework import Context
from aivm.modules.simulation import Invariant
from aivm.store import PrefixStore
from aivm.types import pb
from aivm.types.errors import AivmError


def invariants(module: DistributionModule) -> dict[str, Invariant]:
    """The four invariants, by name."""
    keeper = module.keeper
    return {
        "nonnegative_outstanding": lambda ctx: check_nonnegative_outstanding(ctx, keeper),
        "module_account": lambda ctx: check_module_account(ctx, keeper),
        "can_withdraw": lambda ctx: check_can_withdraw(ctx, keeper),
        "reference_count": lambda ctx: check_reference_count(ctx, keeper),
    }


def _records(ctx: Context, prefix: bytes) -> PrefixStore:
    return PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), prefix)


def check_nonnegative_outstanding(ctx: Context, keeper: DistributionKeeper) -> list[str]:
    """Every outstanding reward is a valid, non-negative DecCoins."""
    problems: list[str] = []
    for key, raw in _records(ctx, keys.OUTSTANDING_PREFIX).iterate():
        val, _ = keys.split_address(key)
        try:
            proto = pb.distribution.ValidatorOutstandingRewards.FromString(
                b"" if raw == keys.EMPTY_VALUE else raw
            )
            DecCoins.from_proto(proto.rewards)
        except (AivmError, pb.DecodeError) as exc:
            problems.append(f"outstanding rewards of {val_str(val)} are invalid: {exc}")
    return problems


def check_module_account(ctx: Context, keeper: DistributionKeeper) -> list[str]:
    """Module balance = whole coins of (community pool + Σ outstanding)."""
    claims = keeper.get_community_pool(ctx)
    for val in keeper.validators(ctx):
        claims = claims + keeper.get_outstanding(ctx, val)
    expected, _ = claims.truncate_decimal()
    held = keeper.bank.get_all_balances(ctx, keeper.module_address)
    if held != expected:
        return [
            f"distribution module account holds {held or '0'}, the community pool and "
            f"outstanding rewards add up to {claims or '0'}"
        ]
    return []


def check_can_withdraw(ctx: Context, keeper: DistributionKeeper) -> list[str]:
    """Withdraw every commission and every delegation's rewards on a branch."""
    work = branch(ctx)
    problems: list[str] = []
    for val in keeper.validators(work):
        try:
            keeper.withdraw_validator_commission(work, val)
        except AivmError as exc:
            if exc.code != ErrNoValidatorCommission.code or exc.codespace != "distribution":
                problems.append(f"commission of {val_str(val)} cannot be withdrawn: {exc.log}")
        for delegation in list(keeper.staking.iterate_validator_delegations(work, val)):
            try:
                keeper.withdraw_delegation_rewards(work, delegation.delegator, val)
            except AivmError as exc:
                problems.append(
                    f"rewards of {delegation.delegator.hex()} on {val_str(val)} cannot be "
                    f"withdrawn: {exc.log}"
                )
    return problems


def check_reference_count(ctx: Context, keeper: DistributionKeeper) -> list[str]:
    """Σ reference counts = validators + delegations (starting infos) + slash events."""
    counted = 0
    for _, raw in _records(ctx, keys.HISTORICAL_PREFIX).iterate():
        record = pb.distribution.ValidatorHistoricalRewards.FromString(
            b"" if raw == keys.EMPTY_VALUE else raw
        )
        counted += record.reference_count
    validators = len(keeper.validators(ctx))
    starts = sum(1 for _ in _records(ctx, keys.STARTING_INFO_PREFIX).iterate())
    slashes = sum(1 for _ in _records(ctx, keys.SLASH_EVENT_PREFIX).iterate())
    expected = validators + starts + slashes
    if counted != expected:
        return [
            f"historical reference counts add up to {counted}, expected {expected} "
            f"({validators} validators, {starts} delegations, {slashes} slash events)"
        ]
    return []
