"""The staking store accessors (see ``keeper.py`` for the method list)."""

from __future__ import annotations

from collections.abc import Iterator

from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.framework import Context
from aivm.modules.staking import keys
from aivm.modules.staking.api import (
    BONDED_POOL,
    NOT_BONDED_POOL,
    POWER_REDUCTION,
    BondStatus,
    Commission,
    Delegation,
    StakingHooks,
    StakingParamValues,
    Validator,
)
from aivm.modules.staking.codec import consensus_pubkey, dec_wire, ts_ns, val_bytes
from aivm.modules.staking.params import DEFAULT_PARAMS, params_from_proto, params_to_proto
from aivm.store import KVStore, PrefixStore
from aivm.types import pb
from aivm.types.address import acc_address_bytes
from aivm.types.coin import Coin, Coins
from aivm.types.dec import Dec

INDEX_VALUE = b"\x01"
"""Value of index entries (the store refuses empty values)."""


def tokens_of(validator: pb.staking.Validator) -> int:
    """A stored validator's tokens."""
    return int(validator.tokens) if validator.tokens else 0


def shares_of(validator: pb.staking.Validator) -> Dec:
    """A stored validator's delegator shares."""
    return dec_wire(validator.delegator_shares)


def operator_of(validator: pb.staking.Validator) -> bytes:
    """A stored validator's operator address bytes."""
    return val_bytes(validator.operator_address)


def potential_power(validator: pb.staking.Validator) -> int:
    """tokens // POWER_REDUCTION, whatever the status (SDK ``PotentialConsensusPower``)."""
    return tokens_of(validator) // POWER_REDUCTION


def consensus_power(validator: pb.staking.Validator) -> int:
    """Voting power when bonded, else 0 (SDK ``ConsensusPower``)."""
    return potential_power(validator) if validator.status == BondStatus.BONDED else 0


def to_api(validator: pb.staking.Validator) -> Validator:
    """The stored proto as the :class:`Validator` other modules read."""
    rates = validator.commission.commission_rates
    return Validator(
        operator=operator_of(validator),
        cons_pubkey=consensus_pubkey(validator),
        jailed=validator.jailed,
        status=BondStatus(validator.status),
        tokens=tokens_of(validator),
        delegator_shares=shares_of(validator),
        commission=Commission(
            rate=dec_wire(rates.rate),
            max_rate=dec_wire(rates.max_rate),
            max_change_rate=dec_wire(rates.max_change_rate),
            update_time_ns=ts_ns(validator.commission.update_time),
        ),
        min_self_delegation=int(validator.min_self_delegation or "0"),
        unbonding_height=validator.unbonding_height,
        unbonding_time_ns=ts_ns(validator.unbonding_time),
    )


def delegation_to_api(delegation: pb.staking.Delegation) -> Delegation:
    """A stored delegation as the :class:`Delegation` other modules read."""
    return Delegation(
        delegator=acc_address_bytes(delegation.delegator_address),
        validator=val_bytes(delegation.validator_address),
        shares=dec_wire(delegation.shares),
    )


class StakingState:
    """Validators, delegations, unbonding and redelegation entries, queues, params: the
    accessors the state transitions use (:class:`aivm.modules.staking.keeper.StakingKeeper`
    adds slash and jail)."""

    def __init__(self, bank: BankKeeper, accounts: AccountKeeper) -> None:
        self.bank = bank
        self.accounts = accounts
        self.hooks: list[StakingHooks] = []

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    def _prefix(self, ctx: Context, prefix: bytes) -> KVStore:
        return PrefixStore(self._store(ctx), prefix)

    # -- hooks ------------------------------------------------------------------------------

    def add_hooks(self, hooks: StakingHooks) -> None:
        """Register hooks (called in registration order)."""
        self.hooks.append(hooks)

    # -- params -----------------------------------------------------------------------------

    def get_params_proto(self, ctx: Context) -> pb.staking.Params:
        """Current params as the SDK proto (defaults before genesis wrote any)."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        return params_to_proto(DEFAULT_PARAMS) if raw is None else pb.staking.Params.FromString(raw)

    def get_params(self, ctx: Context) -> StakingParamValues:
        """Current params."""
        raw = self._store(ctx).get(keys.PARAMS_KEY)
        if raw is None:
            return DEFAULT_PARAMS
        return params_from_proto(pb.staking.Params.FromString(raw))

    def set_params(self, ctx: Context, params: StakingParamValues) -> None:
        """Store params (already checked)."""
        self._store(ctx).set(keys.PARAMS_KEY, params_to_proto(params).SerializeToString())

    def bond_denom(self, ctx: Context) -> str:
        """The staking denom."""
        return self.get_params(ctx).bond_denom

    # -- validators -------------------------------------------------------------------------

    def get_validator_proto(self, ctx: Context, val_addr: bytes) -> pb.staking.Validator | None:
        """The stored validator with this operator address, or None."""
        raw = self._store(ctx).get(keys.validator_key(val_addr))
        return None if raw is None else pb.staking.Validator.FromString(raw)

    def set_validator(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Write the main validator record."""
        self._store(ctx).set(
            keys.validator_key(operator_of(validator)), validator.SerializeToString()
        )

    def iterate_validator_protos(self, ctx: Context) -> Iterator[pb.staking.Validator]:
        """Every validator, by operator address."""
        for _, raw in self._prefix(ctx, keys.VALIDATORS_PREFIX).iterate():
            yield pb.staking.Validator.FromString(raw)

    def get_validator(self, ctx: Context, val_addr: bytes) -> Validator | None:
        """The validator with this operator address, or None."""
        found = self.get_validator_proto(ctx, val_addr)
        return None if found is None else to_api(found)

    def get_validator_proto_by_cons_addr(
        self, ctx: Context, cons_addr: bytes
    ) -> pb.staking.Validator | None:
        """The stored validator with this consensus address, or None."""
        operator = self._store(ctx).get(keys.validator_by_cons_key(cons_addr))
        return None if operator is None else self.get_validator_proto(ctx, operator)

    def reserve_consensus_key(self, ctx: Context, cons_addr: bytes) -> None:
        """Reserve a consensus address (a genesis.json validator's): no validator may use it."""
        self._store(ctx).set(keys.reserved_cons_key(cons_addr), b"\x01")

    def is_reserved_consensus_key(self, ctx: Context, cons_addr: bytes) -> bool:
        """True for a consensus address reserved by genesis."""
        return self._store(ctx).get(keys.reserved_cons_key(cons_addr)) is not None

    def get_validator_by_cons_addr(self, ctx: Context, cons_addr: bytes) -> Validator | None:
        """The validator with this consensus address, or None."""
        found = self.get_validator_proto_by_cons_addr(ctx, cons_addr)
        return None if found is None else to_api(found)

    def set_validator_by_cons_addr(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Index the validator by its consensus address."""
        cons = to_api(validator).cons_address
        self._store(ctx).set(keys.validator_by_cons_key(cons), operator_of(validator))

    def set_validator_by_power_index(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Index by power (jailed validators are not kept in the power index)."""
        if not validator.jailed:
            self.set_new_validator_by_power_index(ctx, validator)

    def set_new_validator_by_power_index(
        self, ctx: Context, validator: pb.staking.Validator
    ) -> None:
        """Index by power unconditionally."""
        operator = operator_of(validator)
        key = keys.power_index_key(potential_power(validator), operator)
        self._store(ctx).set(key, operator)

    def delete_validator_by_power_index(
        self, ctx: Context, validator: pb.staking.Validator
    ) -> None:
        """Drop the power index entry for the validator's current tokens."""
        key = keys.power_index_key(potential_power(validator), operator_of(validator))
        self._store(ctx).delete(key)

    def iterate_power_index(self, ctx: Context) -> Iterator[bytes]:
        """Operator addresses by power, highest first (ties: lower operator address first)."""
        for _, operator in self._prefix(ctx, keys.VALIDATORS_BY_POWER_PREFIX).iterate(reverse=True):
            yield operator

    def iterate_bonded_validators_by_power(self, ctx: Context) -> Iterator[Validator]:
        """Bonded validators, highest power first (at most max_validators are looked at)."""
        limit = self.get_params(ctx).max_validators
        for count, operator in enumerate(self.iterate_power_index(ctx)):
            if count >= limit:
                return
            found = self.get_validator_proto(ctx, operator)
            if found is not None and found.status == BondStatus.BONDED:
                yield to_api(found)

    def delete_validator_records(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Delete a validator's record and its indexes."""
        store = self._store(ctx)
        store.delete(keys.validator_key(operator_of(validator)))
        store.delete(keys.validator_by_cons_key(to_api(validator).cons_address))
        store.delete(keys.power_index_key(potential_power(validator), operator_of(validator)))

    # -- last validator powers --------------------------------------------------------------

    def get_last_validator_power(self, ctx: Context, val_addr: bytes) -> int | None:
        """The power recorded for ``val_addr`` at the last EndBlock, or None."""
        raw = self._store(ctx).get(keys.last_power_key(val_addr))
        return None if raw is None else int(raw)

    def set_last_validator_power(self, ctx: Context, val_addr: bytes, power: int) -> None:
        """Record a validator's power in the last set."""
        self._store(ctx).set(keys.last_power_key(val_addr), str(power).encode())

    def delete_last_validator_power(self, ctx: Context, val_addr: bytes) -> None:
        """Remove a validator from the last set."""
        self._store(ctx).delete(keys.last_power_key(val_addr))

    def iterate_last_validator_powers(self, ctx: Context) -> Iterator[tuple[bytes, int]]:
        """(operator, power) of the last set, by operator address."""
        for key, raw in self._prefix(ctx, keys.LAST_VALIDATOR_POWER_PREFIX).iterate():
            yield keys.split_lp(key)[0], int(raw)

    def get_last_total_power(self, ctx: Context) -> int:
        """Total power of the last set."""
        raw = self._store(ctx).get(keys.LAST_TOTAL_POWER_KEY)
        return 0 if raw is None else int(raw)

    def set_last_total_power(self, ctx: Context, power: int) -> None:
        """Record the total power of the last set."""
        self._store(ctx).set(keys.LAST_TOTAL_POWER_KEY, str(power).encode())

    # -- delegations ------------------------------------------------------------------------

    def get_delegation_proto(
        self, ctx: Context, del_addr: bytes, val_addr: bytes
    ) -> pb.staking.Delegation | None:
        """One stored delegation, or None."""
        raw = self._store(ctx).get(keys.delegation_key(del_addr, val_addr))
        return None if raw is None else pb.staking.Delegation.FromString(raw)

    def get_delegation(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> Delegation | None:
        """One delegation, or None."""
        found = self.get_delegation_proto(ctx, del_addr, val_addr)
        return None if found is None else delegation_to_api(found)

    def set_delegation(self, ctx: Context, delegation: pb.staking.Delegation) -> None:
        """Write a delegation and its by-validator index."""
        delegator = acc_address_bytes(delegation.delegator_address)
        validator = val_bytes(delegation.validator_address)
        store = self._store(ctx)
        store.set(keys.delegation_key(delegator, validator), delegation.SerializeToString())
        store.set(keys.delegation_by_val_key(validator, delegator), INDEX_VALUE)

    def delete_delegation(self, ctx: Context, del_addr: bytes, val_addr: bytes) -> None:
        """Delete a delegation and its index (no hook: see ``delegation.remove_delegation``)."""
        store = self._store(ctx)
        store.delete(keys.delegation_key(del_addr, val_addr))
        store.delete(keys.delegation_by_val_key(val_addr, del_addr))

    def iterate_all_delegations(self, ctx: Context) -> Iterator[pb.staking.Delegation]:
        """Every delegation, by (delegator, validator)."""
        for _, raw in self._prefix(ctx, keys.DELEGATION_PREFIX).iterate():
            yield pb.staking.Delegation.FromString(raw)

    def iterate_delegation_protos_of(
        self, ctx: Context, del_addr: bytes
    ) -> Iterator[pb.staking.Delegation]:
        """Every delegation of a delegator, by validator address."""
        prefix = keys.DELEGATION_PREFIX + keys.lp(del_addr)
        for _, raw in self._prefix(ctx, prefix).iterate():
            yield pb.staking.Delegation.FromString(raw)

    def iterate_delegations_of(self, ctx: Context, del_addr: bytes) -> Iterator[Delegation]:
        """Every delegation of a delegator, by validator address."""
        for delegation in self.iterate_delegation_protos_of(ctx, del_addr):
            yield delegation_to_api(delegation)

    def iterate_validator_delegation_protos(
        self, ctx: Context, val_addr: bytes
    ) -> Iterator[pb.staking.Delegation]:
        """Every delegation to a validator, by delegator address."""
        prefix = keys.DELEGATION_BY_VAL_PREFIX + keys.lp(val_addr)
        for key, _ in self._prefix(ctx, prefix).iterate():
            delegator = keys.split_lp(key)[0]
            found = self.get_delegation_proto(ctx, delegator, val_addr)
            if found is not None:
                yield found

    def iterate_validator_delegations(self, ctx: Context, val_addr: bytes) -> Iterator[Delegation]:
        """Every delegation to a validator, by delegator address."""
        for delegation in self.iterate_validator_delegation_protos(ctx, val_addr):
            yield delegation_to_api(delegation)

    # -- unbonding delegations --------------------------------------------------------------

    def get_unbonding_delegation(
        self, ctx: Context, del_addr: bytes, val_addr: bytes
    ) -> pb.staking.UnbondingDelegation | None:
        """One unbonding delegation (with its entries), or None."""
        raw = self._store(ctx).get(keys.ubd_key(del_addr, val_addr))
        return None if raw is None else pb.staking.UnbondingDelegation.FromString(raw)

    def set_unbonding_delegation(self, ctx: Context, ubd: pb.staking.UnbondingDelegation) -> None:
        """Write an unbonding delegation and its by-validator index."""
        delegator = acc_address_bytes(ubd.delegator_address)
        validator = val_bytes(ubd.validator_address)
        store = self._store(ctx)
        store.set(keys.ubd_key(delegator, validator), ubd.SerializeToString())
        store.set(keys.ubd_by_val_key(validator, delegator), INDEX_VALUE)

    def remove_unbonding_delegation(
        self, ctx: Context, ubd: pb.staking.UnbondingDelegation
    ) -> None:
        """Delete an unbonding delegation and its index."""
        delegator = acc_address_bytes(ubd.delegator_address)
        validator = val_bytes(ubd.validator_address)
        store = self._store(ctx)
        store.delete(keys.ubd_key(delegator, validator))
        store.delete(keys.ubd_by_val_key(validator, delegator))

    def iterate_all_unbonding_delegations(
        self, ctx: Context
    ) -> Iterator[pb.staking.UnbondingDelegation]:
        """Every unbonding delegation, by (delegator, validator)."""
        for _, raw in self._prefix(ctx, keys.UNBONDING_DELEGATION_PREFIX).iterate():
            yield pb.staking.UnbondingDelegation.FromString(raw)

    def iterate_unbonding_delegations_of(
        self, ctx: Context, del_addr: bytes
    ) -> Iterator[pb.staking.UnbondingDelegation]:
        """Every unbonding delegation of a delegator, by validator address."""
        prefix = keys.UNBONDING_DELEGATION_PREFIX + keys.lp(del_addr)
        for _, raw in self._prefix(ctx, prefix).iterate():
            yield pb.staking.UnbondingDelegation.FromString(raw)

    def iterate_validator_unbonding_delegations(
        self, ctx: Context, val_addr: bytes
    ) -> Iterator[pb.staking.UnbondingDelegation]:
        """Every unbonding delegation from a validator, by delegator address."""
        prefix = keys.UNBONDING_BY_VAL_PREFIX + keys.lp(val_addr)
        for key, _ in self._prefix(ctx, prefix).iterate():
            found = self.get_unbonding_delegation(ctx, keys.split_lp(key)[0], val_addr)
            if found is not None:
                yield found

    # -- redelegations ----------------------------------------------------------------------

    def get_redelegation(
        self, ctx: Context, del_addr: bytes, src: bytes, dst: bytes
    ) -> pb.staking.Redelegation | None:
        """One redelegation (with its entries), or None."""
        raw = self._store(ctx).get(keys.red_key(del_addr, src, dst))
        return None if raw is None else pb.staking.Redelegation.FromString(raw)

    def set_redelegation(self, ctx: Context, red: pb.staking.Redelegation) -> None:
        """Write a redelegation and its two indexes."""
        delegator, src, dst = _red_addrs(red)
        store = self._store(ctx)
        store.set(keys.red_key(delegator, src, dst), red.SerializeToString())
        store.set(keys.red_by_src_key(src, delegator, dst), INDEX_VALUE)
        store.set(keys.red_by_dst_key(dst, delegator, src), INDEX_VALUE)

    def remove_redelegation(self, ctx: Context, red: pb.staking.Redelegation) -> None:
        """Delete a redelegation and its indexes."""
        delegator, src, dst = _red_addrs(red)
        store = self._store(ctx)
        store.delete(keys.red_key(delegator, src, dst))
        store.delete(keys.red_by_src_key(src, delegator, dst))
        store.delete(keys.red_by_dst_key(dst, delegator, src))

    def iterate_all_redelegations(self, ctx: Context) -> Iterator[pb.staking.Redelegation]:
        """Every redelegation, by (delegator, source, destination)."""
        for _, raw in self._prefix(ctx, keys.REDELEGATION_PREFIX).iterate():
            yield pb.staking.Redelegation.FromString(raw)

    def iterate_redelegations_of(
        self, ctx: Context, del_addr: bytes
    ) -> Iterator[pb.staking.Redelegation]:
        """Every redelegation of a delegator, by (source, destination)."""
        prefix = keys.REDELEGATION_PREFIX + keys.lp(del_addr)
        for _, raw in self._prefix(ctx, prefix).iterate():
            yield pb.staking.Redelegation.FromString(raw)

    def iterate_redelegations_from(
        self, ctx: Context, src_val: bytes
    ) -> Iterator[pb.staking.Redelegation]:
        """Every redelegation out of a source validator, by (delegator, destination)."""
        prefix = keys.REDELEGATION_BY_SRC_PREFIX + keys.lp(src_val)
        for key, _ in self._prefix(ctx, prefix).iterate():
            delegator, rest = keys.split_lp(key)
            found = self.get_redelegation(ctx, delegator, src_val, keys.split_lp(rest)[0])
            if found is not None:
                yield found

    def has_receiving_redelegation(self, ctx: Context, del_addr: bytes, dst: bytes) -> bool:
        """Whether ``del_addr`` has a redelegation in progress into ``dst``."""
        prefix = keys.REDELEGATION_BY_DST_PREFIX + keys.lp(dst) + keys.lp(del_addr)
        return any(True for _ in self._prefix(ctx, prefix).iterate())

    # -- queues -----------------------------------------------------------------------------

    def insert_ubd_queue(self, ctx: Context, del_addr: str, val_addr: str, time_ns: int) -> None:
        """Add (delegator, validator) to the unbonding queue slot of ``time_ns`` (once: a pair
        already in the slot is not repeated)."""
        key = keys.UNBONDING_QUEUE_PREFIX + keys.time_bytes(time_ns)
        raw = self._store(ctx).get(key)
        pairs = pb.staking.DVPairs() if raw is None else pb.staking.DVPairs.FromString(raw)
        pair = pb.staking.DVPair(delegator_address=del_addr, validator_address=val_addr)
        if pair not in pairs.pairs:
            pairs.pairs.append(pair)
            self._store(ctx).set(key, pairs.SerializeToString())

    def remove_ubd_queue_pair(
        self, ctx: Context, del_addr: str, val_addr: str, time_ns: int
    ) -> None:
        """Take (delegator, validator) out of the unbonding queue slot of ``time_ns``."""
        key = keys.UNBONDING_QUEUE_PREFIX + keys.time_bytes(time_ns)
        raw = self._store(ctx).get(key)
        if raw is None:
            return
        pair = pb.staking.DVPair(delegator_address=del_addr, validator_address=val_addr)
        kept = [p for p in pb.staking.DVPairs.FromString(raw).pairs if p != pair]
        if kept:
            self._store(ctx).set(key, pb.staking.DVPairs(pairs=kept).SerializeToString())
        else:
            self._store(ctx).delete(key)

    def dequeue_mature_ubds(self, ctx: Context, time_ns: int) -> list[pb.staking.DVPair]:
        """Remove and return every unbonding-queue pair due at or before ``time_ns``."""
        mature: list[pb.staking.DVPair] = []
        for key, raw in self._due(ctx, keys.UNBONDING_QUEUE_PREFIX, time_ns):
            mature.extend(pb.staking.DVPairs.FromString(raw).pairs)
            self._store(ctx).delete(key)
        return mature

    def insert_red_queue(self, ctx: Context, red: pb.staking.Redelegation, time_ns: int) -> None:
        """Add a redelegation's triplet to the redelegation queue slot of ``time_ns``."""
        key = keys.REDELEGATION_QUEUE_PREFIX + keys.time_bytes(time_ns)
        raw = self._store(ctx).get(key)
        triplets = (
            pb.staking.DVVTriplets() if raw is None else pb.staking.DVVTriplets.FromString(raw)
        )
        triplet = pb.staking.DVVTriplet(
            delegator_address=red.delegator_address,
            validator_src_address=red.validator_src_address,
            validator_dst_address=red.validator_dst_address,
        )
        if triplet not in triplets.triplets:
            triplets.triplets.append(triplet)
            self._store(ctx).set(key, triplets.SerializeToString())

    def dequeue_mature_reds(self, ctx: Context, time_ns: int) -> list[pb.staking.DVVTriplet]:
        """Remove and return every redelegation-queue triplet due at or before ``time_ns``."""
        mature: list[pb.staking.DVVTriplet] = []
        for key, raw in self._due(ctx, keys.REDELEGATION_QUEUE_PREFIX, time_ns):
            mature.extend(pb.staking.DVVTriplets.FromString(raw).triplets)
            self._store(ctx).delete(key)
        return mature

    def _due(self, ctx: Context, prefix: bytes, time_ns: int) -> list[tuple[bytes, bytes]]:
        end = prefix + keys.time_bytes(time_ns) + b"\xff"
        return list(self._store(ctx).iterate(prefix, end))

    def insert_validator_queue(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Add an unbonding validator to the queue slot of its unbonding (time, height)."""
        key = keys.validator_queue_key(ts_ns(validator.unbonding_time), validator.unbonding_height)
        raw = self._store(ctx).get(key)
        addrs = (
            pb.staking.ValAddresses() if raw is None else pb.staking.ValAddresses.FromString(raw)
        )
        addrs.addresses.append(validator.operator_address)
        self._store(ctx).set(key, addrs.SerializeToString())

    def delete_validator_queue(self, ctx: Context, validator: pb.staking.Validator) -> None:
        """Remove a validator from its queue slot (the slot goes when it empties)."""
        key = keys.validator_queue_key(ts_ns(validator.unbonding_time), validator.unbonding_height)
        raw = self._store(ctx).get(key)
        if raw is None:
            return
        kept = [
            a
            for a in pb.staking.ValAddresses.FromString(raw).addresses
            if a != validator.operator_address
        ]
        if kept:
            self._store(ctx).set(key, pb.staking.ValAddresses(addresses=kept).SerializeToString())
        else:
            self._store(ctx).delete(key)

    def validator_queue_due(
        self, ctx: Context, time_ns: int, height: int
    ) -> list[tuple[int, list[str]]]:
        """(height, operators) of the queue slots with time ≤ ``time_ns`` (heights not yet
        checked: the caller skips those above ``height``)."""
        prefix = keys.VALIDATOR_QUEUE_PREFIX
        end = keys.validator_queue_key(time_ns, height) + b"\xff"
        due = []
        for key, raw in self._store(ctx).iterate(prefix, end):
            slot_height = int.from_bytes(key[-8:], "big")
            due.append((slot_height, list(pb.staking.ValAddresses.FromString(raw).addresses)))
        return due

    def get_last_unbonding_id(self, ctx: Context) -> int:
        """The last unbonding id handed out (0 before any)."""
        raw = self._store(ctx).get(keys.UNBONDING_ID_KEY)
        return 0 if raw is None else int(raw)

    def set_last_unbonding_id(self, ctx: Context, value: int) -> None:
        """Restore the unbonding id counter (genesis)."""
        if value > 0:
            self._store(ctx).set(keys.UNBONDING_ID_KEY, str(value).encode())

    def iterate_historical_info(self, ctx: Context) -> Iterator[pb.staking.HistoricalInfo]:
        """Every recorded historical info, by height."""
        for _, raw in self._prefix(ctx, keys.HISTORICAL_INFO_PREFIX).iterate():
            yield pb.staking.HistoricalInfo.FromString(raw)

    def next_unbonding_id(self, ctx: Context) -> int:
        """Increment and return the unbonding id counter (SDK ``IncrementUnbondingID``)."""
        raw = self._store(ctx).get(keys.UNBONDING_ID_KEY)
        value = (0 if raw is None else int(raw)) + 1
        self._store(ctx).set(keys.UNBONDING_ID_KEY, str(value).encode())
        return value

    # -- historical info --------------------------------------------------------------------

    def get_historical_info(self, ctx: Context, height: int) -> pb.staking.HistoricalInfo | None:
        """The header and bonded set recorded at ``height``, or None."""
        if height < 0:
            return None
        raw = self._store(ctx).get(keys.historical_key(height))
        return None if raw is None else pb.staking.HistoricalInfo.FromString(raw)

    def set_historical_info(
        self, ctx: Context, height: int, info: pb.staking.HistoricalInfo
    ) -> None:
        """Record the historical info of ``height``."""
        self._store(ctx).set(keys.historical_key(height), info.SerializeToString())

    def delete_historical_info(self, ctx: Context, height: int) -> None:
        """Forget the historical info of ``height``."""
        self._store(ctx).delete(keys.historical_key(height))

    # -- pools ------------------------------------------------------------------------------

    def pool_address(self, name: str) -> bytes:
        """Address of the bonded or not-bonded pool."""
        return self.accounts.module_addresses[name]

    def total_bonded_tokens(self, ctx: Context) -> int:
        """Balance of the bonded pool in the bond denom."""
        return self.bank.get_balance(ctx, self.pool_address(BONDED_POOL), self.bond_denom(ctx))

    def not_bonded_tokens(self, ctx: Context) -> int:
        """Balance of the not-bonded pool in the bond denom."""
        return self.bank.get_balance(ctx, self.pool_address(NOT_BONDED_POOL), self.bond_denom(ctx))

    def bonded_ratio(self, ctx: Context) -> Dec:
        """Bonded tokens / supply of the bond denom (0 when the supply is 0)."""
        supply = self.bank.get_supply(ctx, self.bond_denom(ctx))
        if supply <= 0:
            return Dec.zero()
        return Dec.from_int(self.total_bonded_tokens(ctx)).quo_int(supply)

    def _coins(self, ctx: Context, amount: int) -> Coins:
        return Coins.from_iter([Coin(self.bond_denom(ctx), amount)])

    def move_between_pools(self, ctx: Context, source: str, target: str, amount: int) -> None:
        """Move bond-denom tokens from one pool to the other (nothing when ``amount`` ≤ 0)."""
        if amount > 0:
            self.bank.send_coins_to_module(
                ctx, self.pool_address(source), target, self._coins(ctx, amount)
            )

    def delegate_coins(self, ctx: Context, delegator: bytes, pool: str, amount: int) -> None:
        """Move a delegator's tokens into a pool (SDK ``DelegateCoinsFromAccountToModule``)."""
        address = self.accounts.ensure_module_account(ctx, pool)
        coins = self._coins(ctx, amount)
        self.bank.subtract_coins(ctx, delegator, coins)
        self.bank.add_coins(ctx, address, coins)

    def undelegate_coins(self, ctx: Context, pool: str, delegator: bytes, amount: int) -> None:
        """Pay tokens out of a pool to a delegator (SDK ``UndelegateCoinsFromModuleToAccount``)."""
        coins = self._coins(ctx, amount)
        self.bank.subtract_coins(ctx, self.pool_address(pool), coins)
        self.bank.add_coins(ctx, delegator, coins)
        if not self.accounts.has_account(ctx, delegator):
            self.accounts.new_account(ctx, delegator)

    def burn(self, ctx: Context, pool: str, amount: int) -> None:
        """Burn tokens held by a pool (nothing when ``amount`` ≤ 0)."""
        if amount > 0:
            self.bank.burn_coins(ctx, pool, self._coins(ctx, amount))


def _red_addrs(red: pb.staking.Redelegation) -> tuple[bytes, bytes, bytes]:
    return (
        acc_address_bytes(red.delegator_address),
        val_bytes(red.validator_src_address),
        val_bytes(red.validator_dst_address),
    )
