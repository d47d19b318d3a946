"""distribution genesis in the SDK's proto3 JSON shape (``cosmos.distribution.v1beta1.
GenesisState``; decimals written with a point, as the SDK writes them):

```
{"params": {"community_tax": "0.020000000000000000", "base_proposer_reward": "0.0…",
            "bonus_proposer_reward": "0.0…", "withdraw_addr_enabled": true},
 "fee_pool": {"community_pool": [{"denom": "ucgpt", "amount": "1.500000000000000000"}]},
 "delegator_withdraw_infos": [{"delegator_address": …, "withdraw_address": …}],
 "previous_proposer": "",                       # deprecated, always empty
 "outstanding_rewards": [{"validator_address": …, "outstanding_rewards": [DecCoin]}],
 "validator_accumulated_commissions": [{"validator_address": …,
                                        "accumulated": {"commission": […]}}],
 "validator_historical_rewards": [{"validator_address": …, "period": "0",
                                   "rewards": {"cumulative_reward_ratio": […],
                                               "reference_count": 1}}],
 "validator_current_rewards": [{"validator_address": …,
                                "rewards": {"rewards": […], "period": "1"}}],
 "delegator_starting_infos": [{"delegator_address": …, "validator_address": …,
                               "starting_info": {"previous_period": …, "stake": …, "height": …}}],
 "validator_slash_events": [{"validator_address": …, "height": …, "period": …,
                             "validator_slash_event": {"validator_period": …, "fraction": …}}]}
```

Import checks, as the SDK's ``InitGenesis``, that the ``distribution`` module account holds
the whole coins of the community pool plus every outstanding reward.
"""

from __future__ import annotations

from typing import Any

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.distribution import keys
from aivm.modules.distribution.deccoins import DecCoins
from aivm.modules.distribution.keeper import DistributionKeeper, val_str
from aivm.modules.distribution.msgs import val_bytes
from aivm.modules.distribution.params import DistributionParams, params_from_proto
from aivm.modules.framework import Context
from aivm.store import PrefixStore
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.dec_json import from_json, to_json
from aivm.types.errors import AivmError, ErrInvalidRequest
from aivm.types.pb import distribution_genesis as G


def default_genesis() -> dict[str, Any]:
    """Default params, an empty pool, no records."""
    return to_json(G.GenesisState(params=DistributionParams().to_proto()))


def parse(data: dict[str, Any]) -> pb.distribution_genesis.GenesisState:
    """The genesis state, checked: params valid, addresses decode, amounts non-negative."""
    state = from_json(data, G.GenesisState())
    try:
        if state.HasField("params"):
            params_from_proto(state.params)
        _check(state)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid distribution genesis: {exc.log}") from exc
    return state


def _check(state: pb.distribution_genesis.GenesisState) -> None:
    DecCoins.from_proto(state.fee_pool.community_pool)
    for info in state.delegator_withdraw_infos:
        addr_bytes(info.delegator_address)
        addr_bytes(info.withdraw_address)
    for outstanding in state.outstanding_rewards:
        val_bytes(outstanding.validator_address)
        DecCoins.from_proto(outstanding.outstanding_rewards)
    for commission in state.validator_accumulated_commissions:
        val_bytes(commission.validator_address)
        DecCoins.from_proto(commission.accumulated.commission)
    for historical in state.validator_historical_rewards:
        val_bytes(historical.validator_address)
        DecCoins.from_proto(historical.rewards.cumulative_reward_ratio)
    for current in state.validator_current_rewards:
        val_bytes(current.validator_address)
        DecCoins.from_proto(current.rewards.rewards)
    for starting in state.delegator_starting_infos:
        addr_bytes(starting.delegator_address)
        val_bytes(starting.validator_address)
        if Dec.from_proto_str(starting.starting_info.stake or "0").is_negative():
            raise ErrInvalidRequest.wrap("negative delegator stake")
    for slash in state.validator_slash_events:
        val_bytes(slash.validator_address)
        fraction = Dec.from_proto_str(slash.validator_slash_event.fraction or "0")
        if fraction.is_negative() or fraction > Dec.one():
            raise ErrInvalidRequest.wrap(f"slash fraction {fraction} outside [0, 1]")


def validate_genesis(data: dict[str, Any]) -> None:
    """Raise ErrInvalidRequest unless ``data`` parses and checks."""
    parse(data)


def init_genesis(ctx: Context, keeper: DistributionKeeper, data: dict[str, Any]) -> None:
    """Write every record; the module account must hold the pool and outstanding rewards."""
    state = parse(data)
    params = params_from_proto(state.params) if state.HasField("params") else DistributionParams()
    keeper.set_params(ctx, params)
    pool = DecCoins.from_proto(state.fee_pool.community_pool)
    keeper.set_community_pool(ctx, pool)
    for info in state.delegator_withdraw_infos:
        keeper.set_withdraw_addr_record(
            ctx, addr_bytes(info.delegator_address), addr_bytes(info.withdraw_address)
        )
    holdings = pool
    for outstanding in state.outstanding_rewards:
        rewards = DecCoins.from_proto(outstanding.outstanding_rewards)
        keeper.set_outstanding(ctx, val_bytes(outstanding.validator_address), rewards)
        holdings = holdings + rewards
    for commission in state.validator_accumulated_commissions:
        accumulated = DecCoins.from_proto(commission.accumulated.commission)
        keeper.set_commission(ctx, val_bytes(commission.validator_address), accumulated)
    for historical in state.validator_historical_rewards:
        keeper.set_historical(
            ctx,
            val_bytes(historical.validator_address),
            historical.period,
            DecCoins.from_proto(historical.rewards.cumulative_reward_ratio),
            historical.rewards.reference_count,
        )
    for current in state.validator_current_rewards:
        keeper.set_current(
            ctx,
            val_bytes(current.validator_address),
            DecCoins.from_proto(current.rewards.rewards),
            current.rewards.period,
        )
    for starting in state.delegator_starting_infos:
        keeper.set_starting_info(
            ctx,
            val_bytes(starting.validator_address),
            addr_bytes(starting.delegator_address),
            starting.starting_info,
        )
    for slash in state.validator_slash_events:
        keeper.set_slash_event(
            ctx,
            val_bytes(slash.validator_address),
            slash.height,
            slash.period,
            Dec.from_proto_str(slash.validator_slash_event.fraction or "0"),
        )
    _check_module_balance(ctx, keeper, holdings)


def _check_module_balance(ctx: Context, keeper: DistributionKeeper, holdings: DecCoins) -> None:
    expected, _ = holdings.truncate_decimal()
    held = keeper.bank.get_all_balances(ctx, keeper.module_address)
    if held != expected:
        raise ErrInvalidRequest.wrap(
            "distribution module balance does not match the module holdings: "
            f"{held or '0'} <-> {expected or '0'}"
        )
    keeper.bank.accounts.ensure_module_account(ctx, keys.MODULE_ACCOUNT)


def export_genesis(ctx: Context, keeper: DistributionKeeper) -> dict[str, Any]:
    """Every record, in store key order."""
    state = G.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        fee_pool=pb.distribution.FeePool(community_pool=keeper.get_community_pool(ctx).to_proto()),
    )
    store = PrefixStore(ctx.store, keys.STORE_PREFIX)
    for key, raw in PrefixStore(store, keys.WITHDRAW_ADDR_PREFIX).iterate():
        delegator, _ = keys.split_address(key)
        state.delegator_withdraw_infos.add(
            delegator_address=addr_str(delegator), withdraw_address=addr_str(raw)
        )
    validators = keeper.validators(ctx)
    for val in _with_records(store, keys.OUTSTANDING_PREFIX):
        state.outstanding_rewards.add(
            validator_address=val_str(val),
            outstanding_rewards=keeper.get_outstanding(ctx, val).to_proto(),
        )
    for val in _with_records(store, keys.COMMISSION_PREFIX):
        record = state.validator_accumulated_commissions.add(validator_address=val_str(val))
        record.accumulated.commission.extend(keeper.get_commission(ctx, val).to_proto())
    for key, raw in PrefixStore(store, keys.HISTORICAL_PREFIX).iterate():
        val, rest = keys.split_address(key)
        record = state.validator_historical_rewards.add(
            validator_address=val_str(val), period=int.from_bytes(rest, "big")
        )
        record.rewards.ParseFromString(raw if raw != keys.EMPTY_VALUE else b"")
    for val in validators:
        current = keeper.get_current(ctx, val)
        if current is None:
            continue
        record = state.validator_current_rewards.add(validator_address=val_str(val))
        record.rewards.rewards.extend(current[0].to_proto())
        record.rewards.period = current[1]
    for key, raw in PrefixStore(store, keys.STARTING_INFO_PREFIX).iterate():
        val, rest = keys.split_address(key)
        delegator, _ = keys.split_address(rest)
        record = state.delegator_starting_infos.add(
            delegator_address=addr_str(delegator), validator_address=val_str(val)
        )
        record.starting_info.ParseFromString(raw if raw != keys.EMPTY_VALUE else b"")
    for key, raw in PrefixStore(store, keys.SLASH_EVENT_PREFIX).iterate():
        val, rest = keys.split_address(key)
        record = state.validator_slash_events.add(
            validator_address=val_str(val),
            height=int.from_bytes(rest[:8], "big"),
            period=int.from_bytes(rest[8:16], "big"),
        )
        record.validator_slash_event.ParseFromString(raw if raw != keys.EMPTY_VALUE else b"")
    return to_json(state)


def _with_records(store: PrefixStore, prefix: bytes) -> list[bytes]:
    return [keys.split_address(key)[0] for key, _ in PrefixStore(store, prefix).iterate()]
