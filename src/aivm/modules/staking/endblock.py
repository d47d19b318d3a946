"""Block hooks, as the SDK's ``x/staking/keeper/val_state_change.go`` and ``historical_info.go``.

EndBlock (:func:`block_validator_updates`): the top ``max_validators`` non-jailed validators
with power > 0 are bonded, the others that were bonded begin unbonding; tokens move between
the pools; the CometBFT updates are returned. Then mature unbonding validators become
unbonded (removed when no shares are left), and mature unbonding delegations and
redelegations complete. BeginBlock (:func:`track_historical_info`) records the header and the
bonded set for the last ``historical_entries`` heights.
"""

from __future__ import annotations

import itertools

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import Context, ValidatorUpdate
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, BondStatus
from aivm.modules.staking.codec import set_ts, val_bytes
from aivm.modules.staking.delegation import (
    complete_redelegation,
    complete_unbonding,
    remove_validator,
)
from aivm.modules.staking.keeper import (
    StakingKeeper,
    consensus_power,
    operator_of,
    potential_power,
    shares_of,
    to_api,
    tokens_of,
)
from aivm.types import pb
from aivm.types.coin import Coin


def abci_update(validator: pb.staking.Validator, power: int) -> ValidatorUpdate:
    """A CometBFT validator update for ``validator`` with ``power`` (0 removes it)."""
    key = pb.tm_crypto.PublicKey(ed25519=to_api(validator).cons_pubkey)
    return pb.abci.ValidatorUpdate(pub_key=key, power=power)


def bond_validator(keeper: StakingKeeper, ctx: Context, validator: pb.staking.Validator) -> None:
    """Unbonded/unbonding → bonded: re-index, leave the unbonding queue, hook."""
    keeper.delete_validator_by_power_index(ctx, validator)
    validator.status = BondStatus.BONDED
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)
    keeper.delete_validator_queue(ctx, validator)
    api = to_api(validator)
    for hooks in keeper.hooks:
        hooks.after_validator_bonded(ctx, api.cons_address, api.operator)


def begin_unbonding_validator(
    keeper: StakingKeeper, ctx: Context, validator: pb.staking.Validator
) -> None:
    """Bonded → unbonding: completion at block time + unbonding time, queue, hook."""
    keeper.delete_validator_by_power_index(ctx, validator)
    unbonding_id = keeper.next_unbonding_id(ctx)
    validator.status = BondStatus.UNBONDING
    set_ts(validator.unbonding_time, ctx.header.time_ns + keeper.get_params(ctx).unbonding_time_ns)
    validator.unbonding_height = ctx.header.height
    validator.unbonding_ids.append(unbonding_id)
    keeper.set_validator(ctx, validator)
    keeper.set_validator_by_power_index(ctx, validator)
    keeper.insert_validator_queue(ctx, validator)
    api = to_api(validator)
    for hooks in keeper.hooks:
        hooks.after_validator_begin_unbonding(ctx, api.cons_address, api.operator)


def apply_and_return_validator_set_updates(
    keeper: StakingKeeper, ctx: Context
) -> list[ValidatorUpdate]:
    """SDK ``ApplyAndReturnValidatorSetUpdates``."""
    max_validators = keeper.get_params(ctx).max_validators
    last = dict(keeper.iterate_last_validator_powers(ctx))
    updates: list[ValidatorUpdate] = []
    total_power = 0
    to_bonded = 0
    to_not_bonded = 0
    # jailed validators are not in the power index: its first max_validators are the candidates
    for operator in list(itertools.islice(keeper.iterate_power_index(ctx), max_validators)):
        validator = keeper.get_validator_proto(ctx, operator)
        if validator is None or validator.jailed:
            continue
        if potential_power(validator) == 0:
            break
        if validator.status != BondStatus.BONDED:
            bond_validator(keeper, ctx, validator)
            to_bonded += tokens_of(validator)
        power = consensus_power(validator)
        if last.get(operator) != power:
            updates.append(abci_update(validator, power))
            keeper.set_last_validator_power(ctx, operator, power)
        last.pop(operator, None)
        total_power += power
    for operator in sorted(last):
        validator = keeper.get_validator_proto(ctx, operator)
        keeper.delete_last_validator_power(ctx, operator)
        if validator is None:
            continue
        if validator.status == BondStatus.BONDED:
            begin_unbonding_validator(keeper, ctx, validator)
            to_not_bonded += tokens_of(validator)
        updates.append(abci_update(validator, 0))
    if to_bonded > to_not_bonded:
        keeper.move_between_pools(ctx, NOT_BONDED_POOL, BONDED_POOL, to_bonded - to_not_bonded)
    elif to_not_bonded > to_bonded:
        keeper.move_between_pools(ctx, BONDED_POOL, NOT_BONDED_POOL, to_not_bonded - to_bonded)
    if updates:
        keeper.set_last_total_power(ctx, total_power)
    return updates


def unbond_all_mature_validators(keeper: StakingKeeper, ctx: Context) -> None:
    """Unbonding validators whose (time, height) has passed become unbonded; those with no
    shares left are removed."""
    height = ctx.header.height
    for slot_height, operators in keeper.validator_queue_due(ctx, ctx.header.time_ns, height):
        if slot_height > height:
            continue
        for address in operators:
            validator = keeper.get_validator_proto(ctx, val_bytes(address))
            if validator is None or validator.status != BondStatus.UNBONDING:
                continue
            validator.status = BondStatus.UNBONDED
            keeper.set_validator(ctx, validator)
            if shares_of(validator).is_zero():
                remove_validator(keeper, ctx, operator_of(validator))
            keeper.delete_validator_queue(ctx, validator)


def complete_mature_entries(keeper: StakingKeeper, ctx: Context) -> None:
    """Pay out the mature unbonding delegations and drop the mature redelegation entries,
    with a ``complete_unbonding`` / ``complete_redelegation`` event for each."""
    now = ctx.header.time_ns
    denom = keeper.bond_denom(ctx)
    for pair in keeper.dequeue_mature_ubds(ctx, now):
        delegator = addr_bytes(pair.delegator_address)
        paid = complete_unbonding(keeper, ctx, delegator, val_bytes(pair.validator_address))
        if paid is None:
            continue
        ctx.emit(
            "complete_unbonding",
            ("amount", _coins_text(denom, paid)),
            ("validator", pair.validator_address),
            ("delegator", pair.delegator_address),
        )
    for triplet in keeper.dequeue_mature_reds(ctx, now):
        done = complete_redelegation(
            keeper,
            ctx,
            addr_bytes(triplet.delegator_address),
            val_bytes(triplet.validator_src_address),
            val_bytes(triplet.validator_dst_address),
        )
        if done is None:
            continue
        ctx.emit(
            "complete_redelegation",
            ("amount", _coins_text(denom, done)),
            ("delegator", triplet.delegator_address),
            ("source_validator", triplet.validator_src_address),
            ("destination_validator", triplet.validator_dst_address),
        )


def _coins_text(denom: str, amount: int) -> str:
    """``sdk.Coins.String()`` of one denom: empty for zero."""
    return str(Coin(denom, amount)) if amount > 0 else ""


def block_validator_updates(keeper: StakingKeeper, ctx: Context) -> list[ValidatorUpdate]:
    """SDK ``BlockValidatorUpdates`` (the staking EndBlocker)."""
    updates = apply_and_return_validator_set_updates(keeper, ctx)
    unbond_all_mature_validators(keeper, ctx)
    complete_mature_entries(keeper, ctx)
    return updates


def track_historical_info(keeper: StakingKeeper, ctx: Context) -> None:
    """SDK ``TrackHistoricalInfo``: prune below height − historical_entries, then record this
    block's header and the last bonded set (sorted by power, then consensus address)."""
    entries = keeper.get_params(ctx).historical_entries
    height = ctx.header.height
    prune = height - entries
    while prune >= 0 and keeper.get_historical_info(ctx, prune) is not None:
        keeper.delete_historical_info(ctx, prune)
        prune -= 1
    if entries == 0:
        return
    validators = []
    for operator, _ in keeper.iterate_last_validator_powers(ctx):
        found = keeper.get_validator_proto(ctx, operator)
        if found is not None:
            validators.append(found)
    validators.sort(key=lambda v: (-consensus_power(v), to_api(v).cons_address))
    header = pb.tm_types.Header(
        chain_id=ctx.header.chain_id, height=height, proposer_address=ctx.header.proposer
    )
    set_ts(header.time, ctx.header.time_ns)
    keeper.set_historical_info(
        ctx, height, pb.staking.HistoricalInfo(header=header, valset=validators)
    )
