"""The staking hooks of the distribution module (SDK ``x/distribution/keeper/hooks.go``)."""

from __future__ import annotations

from aivm.modules.distribution.keeper import DistributionKeeper
from aivm.modules.framework import Context
from aivm.modules.staking.api import StakingHooks
from aivm.types.dec import Dec


class DistributionHooks(StakingHooks):
    """Keeps the F1 records in step with validators, delegations and slashes."""

    def __init__(self, keeper: DistributionKeeper) -> None:
        self.keeper = keeper

    def after_validator_created(self, ctx: Context, val_addr: bytes) -> None:
        """Initialise the validator's periods, commission and outstanding rewards."""
        self.keeper.initialize_validator(ctx, val_addr)

    def after_validator_removed(self, ctx: Context, cons_addr: bytes, val_addr: bytes) -> None:
        """Pay its commission, move its dust to the community pool, delete its records."""
        self.keeper.remove_validator(ctx, val_addr)

    def before_delegation_created(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """End the validator's period: the new stake earns from the next one."""
        validator = self.keeper.staking.get_validator(ctx, val_addr)
        if validator is not None:
            self.keeper.increment_validator_period(ctx, validator)

    def before_delegation_shares_modified(
        self, ctx: Context, del_addr: bytes, val_addr: bytes
    ) -> None:
        """Pay the delegation's rewards before its stake changes."""
        validator = self.keeper.staking.get_validator(ctx, val_addr)
        delegation = self.keeper.staking.get_delegation(ctx, del_addr, val_addr)
        if validator is not None and delegation is not None:
            self.keeper.withdraw_delegation(ctx, validator, delegation)

    def after_delegation_modified(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """Start the delegation afresh with its new stake (nothing when it was removed)."""
        if self.keeper.staking.get_delegation(ctx, del_addr, val_addr) is not None:
            self.keeper.initialize_delegation(ctx, val_addr, del_addr)

    def before_validator_slashed(self, ctx: Context, val_addr: bytes, fraction: Dec) -> None:
        """End the period and record the slash event."""
        self.keeper.update_validator_slash_fraction(ctx, val_addr, fraction)
