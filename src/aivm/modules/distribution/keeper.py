"""DistributionKeeper: the only code that reads or writes the distribution store.

It implements the Cosmos SDK v0.50 ``x/distribution`` keeper with the F1 fee distribution
scheme: every validator keeps a *current period* whose rewards accumulate, and a history of
cumulative reward ratios (rewards per token) at the end of each period. A delegation records
the period it started after and its stake; its rewards are its stake times the difference
between two cumulative ratios, corrected at each slash of the validator in between. A
withdrawal therefore reads a fixed number of records (plus one per slash since the last
withdrawal) however many blocks have passed.

Where rounding leaves value behind, it stays accounted for, as in the SDK:

* allocation: ``fees × (1 − community_tax) × power / total_power`` is truncated per validator;
  what truncation leaves, and the community tax, go to the community pool;
* a period's rewards divided by the validator's tokens are truncated; the remainder stays in
  the validator's outstanding rewards (paid to the community pool when the validator is
  removed);
* withdrawals pay whole coins; the decimal change of delegator rewards goes to the community
  pool, the change of commission stays in the accumulated commission.

So the module account balance always equals the community pool plus every validator's
outstanding rewards (see ``invariants.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aivm.modules.addr import addr_str
from aivm.modules.auth.keeper import FEE_COLLECTOR
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.distribution import events, keys
from aivm.modules.distribution.deccoins import DecCoins
from aivm.modules.distribution.errors import (
    ErrEmptyDelegationDistInfo,
    ErrNoDelegationExists,
    ErrNoValidatorCommission,
    ErrNoValidatorDistInfo,
    ErrNoValidatorExists,
    ErrSetWithdrawAddrDisabled,
)
from aivm.modules.distribution.params import DistributionParams, params_from_proto
from aivm.modules.framework import Context, VoteInfo
from aivm.modules.staking.api import Delegation, StakingReader, Validator
from aivm.store import KVStore, PrefixStore, iterate_prefix, prefix_end
from aivm.types import pb
from aivm.types.address import valoper_address
from aivm.types.coin import BOND_DENOM, Coins
from aivm.types.dec import Dec
from aivm.types.errors import ErrLogic, ErrUnauthorized

MAX_REFERENCE_COUNT = 2
"""A historical period is referenced by at most: the next period, one slash event, and the
delegations that start from it (SDK: more than 2 before an increment is a bug)."""
STAKE_MARGIN = Dec.raw(3)
"""Rounding tolerated between the stake F1 tracks and the stake staking computes (SDK)."""


def val_str(val: bytes) -> str:
    """``aivmvaloper…`` of operator bytes."""
    return valoper_address(val)


def _encode(message: pb.Message) -> bytes:
    return message.SerializeToString() or keys.EMPTY_VALUE


def _raw(raw: bytes) -> bytes:
    return b"" if raw == keys.EMPTY_VALUE else raw


class DistributionKeeper:
    """Community pool, per-validator F1 records, delegator starting infos, withdraw addresses."""

    def __init__(self, bank: BankKeeper, staking: StakingReader) -> None:
        self.bank = bank
        self.staking = staking

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    @property
    def module_address(self) -> bytes:
        """Address of the ``distribution`` module account."""
        return self.bank.accounts.module_addresses[keys.MODULE_ACCOUNT]

    # -- params and community pool ---------------------------------------------------------------

    def get_params(self, ctx: Context) -> DistributionParams:
        """Current params (defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        if raw is None:
            return DistributionParams()
        return params_from_proto(pb.distribution.Params.FromString(_raw(raw)))

    def set_params(self, ctx: Context, params: DistributionParams) -> None:
        """Store ``params``."""
        self._store(ctx).set(keys.PARAMS_KEY, _encode(params.to_proto()))

    def get_community_pool(self, ctx: Context) -> DecCoins:
        """The community pool."""
        raw = self._store(ctx).get(keys.FEE_POOL_KEY)
        if raw is None:
            return DecCoins()
        return DecCoins.from_proto(pb.distribution.FeePool.FromString(_raw(raw)).community_pool)

    def set_community_pool(self, ctx: Context, pool: DecCoins) -> None:
        """Replace the community pool."""
        proto = pb.distribution.FeePool(community_pool=pool.to_proto())
        self._store(ctx).set(keys.FEE_POOL_KEY, _encode(proto))

    def add_to_community_pool(self, ctx: Context, amount: DecCoins) -> None:
        """Add ``amount`` to the community pool (no write when it is empty)."""
        if not amount.is_zero():
            self.set_community_pool(ctx, self.get_community_pool(ctx) + amount)

    # -- per-validator records ---------------------------------------------------------------------

    def get_outstanding(self, ctx: Context, val: bytes) -> DecCoins:
        """Rewards allocated to ``val`` and not yet paid out (empty when none)."""
        raw = self._store(ctx).get(keys.outstanding_key(val))
        if raw is None:
            return DecCoins()
        proto = pb.distribution.ValidatorOutstandingRewards.FromString(_raw(raw))
        return DecCoins.from_proto(proto.rewards)

    def set_outstanding(self, ctx: Context, val: bytes, rewards: DecCoins) -> None:
        """Replace ``val``'s outstanding rewards."""
        proto = pb.distribution.ValidatorOutstandingRewards(rewards=rewards.to_proto())
        self._store(ctx).set(keys.outstanding_key(val), _encode(proto))

    def get_commission(self, ctx: Context, val: bytes) -> DecCoins:
        """``val``'s accumulated commission (empty when none)."""
        raw = self._store(ctx).get(keys.commission_key(val))
        if raw is None:
            return DecCoins()
        proto = pb.distribution.ValidatorAccumulatedCommission.FromString(_raw(raw))
        return DecCoins.from_proto(proto.commission)

    def set_commission(self, ctx: Context, val: bytes, commission: DecCoins) -> None:
        """Replace ``val``'s accumulated commission."""
        proto = pb.distribution.ValidatorAccumulatedCommission(commission=commission.to_proto())
        self._store(ctx).set(keys.commission_key(val), _encode(proto))

    def get_current(self, ctx: Context, val: bytes) -> tuple[DecCoins, int] | None:
        """``val``'s current rewards and current period, or None before it is initialised."""
        raw = self._store(ctx).get(keys.current_key(val))
        if raw is None:
            return None
        proto = pb.distribution.ValidatorCurrentRewards.FromString(_raw(raw))
        return DecCoins.from_proto(proto.rewards), proto.period

    def set_current(self, ctx: Context, val: bytes, rewards: DecCoins, period: int) -> None:
        """Replace ``val``'s current rewards and period."""
        proto = pb.distribution.ValidatorCurrentRewards(rewards=rewards.to_proto(), period=period)
        self._store(ctx).set(keys.current_key(val), _encode(proto))

    def get_historical(self, ctx: Context, val: bytes, period: int) -> tuple[DecCoins, int]:
        """Cumulative reward ratio and reference count of ``val`` at ``period``; ErrLogic when
        the record is missing (F1 keeps every referenced period)."""
        raw = self._store(ctx).get(keys.historical_key(val, period))
        if raw is None:
            raise ErrLogic.wrap(f"no historical rewards of {val_str(val)} for period {period}")
        proto = pb.distribution.ValidatorHistoricalRewards.FromString(_raw(raw))
        return DecCoins.from_proto(proto.cumulative_reward_ratio), proto.reference_count

    def set_historical(
        self, ctx: Context, val: bytes, period: int, ratio: DecCoins, reference_count: int
    ) -> None:
        """Write the historical rewards of ``val`` at ``period``."""
        proto = pb.distribution.ValidatorHistoricalRewards(
            cumulative_reward_ratio=ratio.to_proto(), reference_count=reference_count
        )
        self._store(ctx).set(keys.historical_key(val, period), _encode(proto))

    def get_starting_info(
        self, ctx: Context, val: bytes, delegator: bytes
    ) -> pb.distribution.DelegatorStartingInfo | None:
        """Starting info of a delegation, or None."""
        raw = self._store(ctx).get(keys.starting_info_key(val, delegator))
        if raw is None:
            return None
        return pb.distribution.DelegatorStartingInfo.FromString(_raw(raw))

    def set_starting_info(
        self,
        ctx: Context,
        val: bytes,
        delegator: bytes,
        info: pb.distribution.DelegatorStartingInfo,
    ) -> None:
        """Write the starting info of a delegation."""
        self._store(ctx).set(keys.starting_info_key(val, delegator), _encode(info))

    def set_slash_event(
        self, ctx: Context, val: bytes, height: int, period: int, fraction: Dec
    ) -> None:
        """Record a slash of ``val`` at ``height`` that ended ``period``."""
        event = pb.distribution.ValidatorSlashEvent(
            validator_period=period, fraction=fraction.to_proto_str()
        )
        self._store(ctx).set(keys.slash_event_key(val, height, period), _encode(event))

    def iterate_slash_events(
        self, ctx: Context, val: bytes, start_height: int = 0, end_height: int | None = None
    ) -> Iterator[tuple[int, pb.distribution.ValidatorSlashEvent]]:
        """(height, event) of ``val``'s slashes with start_height ≤ height ≤ end_height."""
        prefix = keys.slash_event_prefix(val)
        start = prefix + keys.u64(start_height)
        if end_height is None or end_height >= (1 << 64) - 1:  # a query may ask for u64 max
            end = prefix_end(prefix)
        else:
            end = prefix + keys.u64(end_height + 1)
        for key, raw in self._store(ctx).iterate(start, end):
            height = int.from_bytes(key[len(prefix) : len(prefix) + 8], "big")
            yield height, pb.distribution.ValidatorSlashEvent.FromString(_raw(raw))

    def get_withdraw_addr(self, ctx: Context, delegator: bytes) -> bytes:
        """Where ``delegator``'s rewards go (itself unless it set another address)."""
        raw = self._store(ctx).get(keys.withdraw_addr_key(delegator))
        return delegator if raw is None else raw

    def set_withdraw_addr_record(self, ctx: Context, delegator: bytes, withdraw: bytes) -> None:
        """Store ``delegator``'s withdraw address (no checks: genesis and messages use it)."""
        self._store(ctx).set(keys.withdraw_addr_key(delegator), withdraw)

    def validators(self, ctx: Context) -> list[bytes]:
        """Operator addresses of every validator with distribution records, in key order."""
        store = PrefixStore(self._store(ctx), keys.CURRENT_PREFIX)
        return [keys.split_address(key)[0] for key, _ in store.iterate()]

    def _delete_prefix(self, ctx: Context, prefix: bytes) -> None:
        store = self._store(ctx)
        for key in [key for key, _ in iterate_prefix(store, prefix)]:
            store.delete(key)

    # -- F1: validators ----------------------------------------------------------------------------

    def initialize_validator(self, ctx: Context, val: bytes) -> None:
        """A new validator: period 0 history (one reference), current period 1, no commission
        and no outstanding rewards (SDK ``initializeValidator``)."""
        self.set_historical(ctx, val, 0, DecCoins(), 1)
        self.set_current(ctx, val, DecCoins(), 1)
        self.set_commission(ctx, val, DecCoins())
        self.set_outstanding(ctx, val, DecCoins())

    def increment_validator_period(self, ctx: Context, validator: Validator) -> int:
        """End ``validator``'s current period and return it (SDK ``IncrementValidatorPeriod``).

        Its rewards per token (truncated) are added to the previous cumulative ratio; with no
        tokens the period's rewards go to the community pool instead."""
        val = validator.operator
        current = self.get_current(ctx, val)
        if current is None:
            raise ErrNoValidatorDistInfo.wrap(val_str(val))
        rewards, period = current
        if validator.tokens == 0:
            self.add_to_community_pool(ctx, rewards)
            self.set_outstanding(ctx, val, self.get_outstanding(ctx, val).sub(rewards))
            per_token = DecCoins()
        else:
            per_token = rewards.quo_dec_truncate(Dec.from_int(validator.tokens))
        previous, _ = self.get_historical(ctx, val, period - 1)
        self.decrement_reference_count(ctx, val, period - 1)
        self.set_historical(ctx, val, period, previous + per_token, 1)
        self.set_current(ctx, val, DecCoins(), period + 1)
        return period

    def increment_reference_count(self, ctx: Context, val: bytes, period: int) -> None:
        """One more reference to a historical period."""
        ratio, count = self.get_historical(ctx, val, period)
        if count > MAX_REFERENCE_COUNT:
            raise ErrLogic.wrap(f"reference count of {val_str(val)} period {period} above 2")
        self.set_historical(ctx, val, period, ratio, count + 1)

    def decrement_reference_count(self, ctx: Context, val: bytes, period: int) -> None:
        """One reference fewer; the record is deleted when none remain."""
        ratio, count = self.get_historical(ctx, val, period)
        if count == 0:
            raise ErrLogic.wrap(f"reference count of {val_str(val)} period {period} below 0")
        if count == 1:
            self._store(ctx).delete(keys.historical_key(val, period))
        else:
            self.set_historical(ctx, val, period, ratio, count - 1)

    def update_validator_slash_fraction(self, ctx: Context, val: bytes, fraction: Dec) -> None:
        """A slash of ``fraction`` of the validator's stake: end the period, keep a reference to
        it and record the slash event (SDK ``updateValidatorSlashFraction``)."""
        if fraction > Dec.one() or fraction.is_negative():
            raise ErrLogic.wrap(f"fraction must be >=0 and <=1, current fraction: {fraction}")
        validator = self._validator(ctx, val)
        period = self.increment_validator_period(ctx, validator)
        self.increment_reference_count(ctx, val, period)
        self.set_slash_event(ctx, val, ctx.header.height, period, fraction)

    def remove_validator(self, ctx: Context, val: bytes) -> None:
        """A validator left staking for good (SDK ``AfterValidatorRemoved``): pay its whole
        commission to its withdraw address (the change to the community pool), move what
        else it holds to the community pool and delete its records."""
        outstanding = self.get_outstanding(ctx, val)
        commission = self.get_commission(ctx, val)
        if not commission.is_zero():
            outstanding = outstanding.sub(commission)
            coins, change = commission.truncate_decimal()
            self.add_to_community_pool(ctx, change)
            if not coins.is_zero():
                self._pay(ctx, self.get_withdraw_addr(ctx, val), coins)
        self.add_to_community_pool(ctx, outstanding)
        store = self._store(ctx)
        for key in (keys.outstanding_key(val), keys.commission_key(val), keys.current_key(val)):
            store.delete(key)
        self._delete_prefix(ctx, keys.slash_event_prefix(val))
        self._delete_prefix(ctx, keys.historical_prefix(val))

    # -- F1: delegations ---------------------------------------------------------------------------

    def initialize_delegation(self, ctx: Context, val: bytes, delegator: bytes) -> None:
        """Record a delegation's start: the period just ended (one more reference to it), its
        stake in tokens (truncated) and the height (SDK ``initializeDelegation``)."""
        current = self.get_current(ctx, val)
        if current is None:
            raise ErrNoValidatorDistInfo.wrap(val_str(val))
        previous_period = current[1] - 1
        self.increment_reference_count(ctx, val, previous_period)
        validator = self._validator(ctx, val)
        delegation = self._delegation(ctx, delegator, val)
        stake = validator.tokens_from_shares_truncated(delegation.shares)
        info = pb.distribution.DelegatorStartingInfo(
            previous_period=previous_period,
            stake=stake.to_proto_str(),
            height=ctx.header.height,
        )
        self.set_starting_info(ctx, val, delegator, info)

    def rewards_between(
        self, ctx: Context, val: bytes, start_period: int, end_period: int, stake: Dec
    ) -> DecCoins:
        """stake × (ratio(end) − ratio(start)), truncated."""
        if start_period > end_period:
            raise ErrLogic.wrap("startingPeriod cannot be greater than endingPeriod")
        if stake.is_negative():
            raise ErrLogic.wrap("stake should not be negative")
        start, _ = self.get_historical(ctx, val, start_period)
        end, _ = self.get_historical(ctx, val, end_period)
        return end.sub(start).mul_dec_truncate(stake)

    def calculate_delegation_rewards(
        self, ctx: Context, validator: Validator, delegation: Delegation, end_period: int
    ) -> DecCoins:
        """Rewards of ``delegation`` up to ``end_period`` (SDK ``CalculateDelegationRewards``):
        one F1 step per slash since it started, with the stake cut by each slash."""
        val = validator.operator
        info = self.get_starting_info(ctx, val, delegation.delegator)
        if info is None:
            raise ErrEmptyDelegationDistInfo.wrap(addr_str(delegation.delegator))
        if info.height == ctx.header.height:
            return DecCoins()
        start_period = info.previous_period
        stake = Dec.from_proto_str(info.stake)
        rewards = DecCoins()
        for _, event in self.iterate_slash_events(ctx, val, info.height, ctx.header.height):
            if event.validator_period > start_period:
                rewards = rewards + self.rewards_between(
                    ctx, val, start_period, event.validator_period, stake
                )
                stake = stake.mul_truncate(Dec.one() - Dec.from_proto_str(event.fraction))
                start_period = event.validator_period
        current_stake = validator.tokens_from_shares(delegation.shares)
        if stake > current_stake:
            if stake > current_stake + STAKE_MARGIN:
                raise ErrLogic.wrap(
                    f"calculated final stake for delegator {addr_str(delegation.delegator)} "
                    f"greater than current stake: {stake} > {current_stake}"
                )
            stake = current_stake
        return rewards + self.rewards_between(ctx, val, start_period, end_period, stake)

    def withdraw_delegation(
        self, ctx: Context, validator: Validator, delegation: Delegation
    ) -> Coins:
        """Pay a delegation's rewards and delete its starting info (SDK
        ``withdrawDelegationRewards``); returns the whole coins paid."""
        val, delegator = validator.operator, delegation.delegator
        info = self.get_starting_info(ctx, val, delegator)
        if info is None:
            raise ErrEmptyDelegationDistInfo.wrap(addr_str(delegator))
        end_period = self.increment_validator_period(ctx, validator)
        raw_rewards = self.calculate_delegation_rewards(ctx, validator, delegation, end_period)
        outstanding = self.get_outstanding(ctx, val)
        rewards = raw_rewards.intersect(outstanding)  # SDK: defensive, the last digits only
        coins, change = rewards.truncate_decimal()
        if not coins.is_zero():
            self._pay(ctx, self.get_withdraw_addr(ctx, delegator), coins)
        self.set_outstanding(ctx, val, outstanding.sub(rewards))
        self.add_to_community_pool(ctx, change)
        self.decrement_reference_count(ctx, val, info.previous_period)
        self._store(ctx).delete(keys.starting_info_key(val, delegator))
        shown = str(coins) if not coins.is_zero() else f"0{BOND_DENOM}"
        ctx.emit(
            events.TYPE_WITHDRAW_REWARDS,
            (events.ATTR_AMOUNT, shown),
            (events.ATTR_VALIDATOR, val_str(val)),
            (events.ATTR_DELEGATOR, addr_str(delegator)),
        )
        return coins

    def withdraw_delegation_rewards(self, ctx: Context, delegator: bytes, val: bytes) -> Coins:
        """MsgWithdrawDelegatorReward: pay and start the delegation afresh."""
        validator = self.staking.get_validator(ctx, val)
        if validator is None:
            raise ErrNoValidatorDistInfo.wrap(val_str(val))
        delegation = self.staking.get_delegation(ctx, delegator, val)
        if delegation is None:
            raise ErrEmptyDelegationDistInfo.wrap(f"{addr_str(delegator)} to {val_str(val)}")
        coins = self.withdraw_delegation(ctx, validator, delegation)
        self.initialize_delegation(ctx, val, delegator)
        return coins

    def withdraw_validator_commission(self, ctx: Context, val: bytes) -> Coins:
        """MsgWithdrawValidatorCommission: pay the whole coins of the accumulated commission
        to the operator's withdraw address; the change stays accumulated."""
        commission = self.get_commission(ctx, val)
        if commission.is_zero():
            raise ErrNoValidatorCommission.wrap(val_str(val))
        coins, change = commission.truncate_decimal()
        self.set_commission(ctx, val, change)
        outstanding = self.get_outstanding(ctx, val)
        self.set_outstanding(ctx, val, outstanding.sub(DecCoins.from_coins(coins)))
        if not coins.is_zero():
            self._pay(ctx, self.get_withdraw_addr(ctx, val), coins)
        ctx.emit(events.TYPE_WITHDRAW_COMMISSION, (events.ATTR_AMOUNT, str(coins)))
        return coins

    def delegation_rewards(self, ctx: Context, delegator: bytes, val: bytes) -> DecCoins:
        """Rewards a delegation would withdraw now (call it on a branch: it ends a period)."""
        validator = self.staking.get_validator(ctx, val)
        if validator is None:
            raise ErrNoValidatorExists.wrap(val_str(val))
        delegation = self.staking.get_delegation(ctx, delegator, val)
        if delegation is None:
            raise ErrNoDelegationExists.wrap(f"{addr_str(delegator)} to {val_str(val)}")
        end_period = self.increment_validator_period(ctx, validator)
        return self.calculate_delegation_rewards(ctx, validator, delegation, end_period)

    # -- withdraw address and community pool ---------------------------------------------------

    def set_withdraw_addr(self, ctx: Context, delegator: bytes, withdraw: bytes) -> None:
        """MsgSetWithdrawAddress: not to a module account; only while the param allows it."""
        if withdraw in self.bank.blocked_addresses:
            raise ErrUnauthorized.wrap(f"{addr_str(withdraw)} is not allowed to receive funds")
        if not self.get_params(ctx).withdraw_addr_enabled:
            raise ErrSetWithdrawAddrDisabled.wrap("")
        ctx.emit(
            events.TYPE_SET_WITHDRAW_ADDRESS, (events.ATTR_WITHDRAW_ADDRESS, addr_str(withdraw))
        )
        self.set_withdraw_addr_record(ctx, delegator, withdraw)

    def fund_community_pool(self, ctx: Context, sender: bytes, amount: Coins) -> None:
        """MsgFundCommunityPool: move ``amount`` from ``sender`` into the pool."""
        self.bank.send_coins_to_module(ctx, sender, keys.MODULE_ACCOUNT, amount)
        self.add_to_community_pool(ctx, DecCoins.from_coins(amount))

    def _pay(self, ctx: Context, recipient: bytes, coins: Coins) -> None:
        self.bank.send_coins(ctx, self.module_address, recipient, coins)

    # -- allocation ----------------------------------------------------------------------------

    def begin_block(self, ctx: Context) -> None:
        """Allocate the fee collector's balance to the validators of the last commit (not at
        height 1, nor when the last commit carries no power: the fees then stay)."""
        votes = ctx.header.last_commit
        total_power = sum(vote.power for vote in votes)
        if ctx.header.height > 1 and total_power > 0:
            self.allocate_tokens(ctx, total_power, votes)

    def allocate_tokens(self, ctx: Context, total_power: int, votes: Sequence[VoteInfo]) -> None:
        """SDK ``AllocateTokens``: the community tax to the pool, the rest to every voter pro
        rata by power (truncated); a voter that is not a known validator, and the truncation
        remainder, to the community pool."""
        collector = self.bank.accounts.module_addresses[FEE_COLLECTOR]
        collected = self.bank.get_all_balances(ctx, collector)
        if not collected.is_zero():
            self.bank.send_coins_to_module(ctx, collector, keys.MODULE_ACCOUNT, collected)
        fees = DecCoins.from_coins(collected)
        remaining = fees
        vote_share = fees.mul_dec_truncate(Dec.one() - self.get_params(ctx).community_tax)
        total = Dec.from_int(total_power)
        for vote in votes:
            validator = self.staking.get_validator_by_cons_addr(ctx, vote.address)
            if validator is None or self.get_current(ctx, validator.operator) is None:
                continue  # its share stays in `remaining`: the community pool
            fraction = Dec.from_int(vote.power).quo_truncate(total)
            reward = vote_share.mul_dec_truncate(fraction)
            self.allocate_tokens_to_validator(ctx, validator, reward)
            remaining = remaining.sub(reward)
        self.add_to_community_pool(ctx, remaining)

    def allocate_tokens_to_validator(
        self, ctx: Context, validator: Validator, tokens: DecCoins
    ) -> None:
        """Commission (rate × tokens, rounded) to the accumulated commission, the rest to the
        current period's rewards; all of it to the outstanding rewards."""
        val = validator.operator
        commission = tokens.mul_dec(validator.commission.rate)
        shared = tokens.sub(commission)
        operator = val_str(val)
        ctx.emit(
            events.TYPE_COMMISSION,
            (events.ATTR_AMOUNT, str(commission)),
            (events.ATTR_VALIDATOR, operator),
        )
        self.set_commission(ctx, val, self.get_commission(ctx, val) + commission)
        current = self.get_current(ctx, val)
        rewards, period = current if current is not None else (DecCoins(), 0)
        self.set_current(ctx, val, rewards + shared, period)
        ctx.emit(
            events.TYPE_REWARDS,
            (events.ATTR_AMOUNT, str(tokens)),
            (events.ATTR_VALIDATOR, operator),
        )
        self.set_outstanding(ctx, val, self.get_outstanding(ctx, val) + tokens)

    # -- staking lookups ---------------------------------------------------------------------

    def _validator(self, ctx: Context, val: bytes) -> Validator:
        validator = self.staking.get_validator(ctx, val)
        if validator is None:
            raise ErrNoValidatorExists.wrap(val_str(val))
        return validator

    def _delegation(self, ctx: Context, delegator: bytes, val: bytes) -> Delegation:
        delegation = self.staking.get_delegation(ctx, delegator, val)
        if delegation is None:
            raise ErrNoDelegationExists.wrap(f"{addr_str(delegator)} to {val_str(val)}")
        return delegation
