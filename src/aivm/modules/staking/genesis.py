"""staking genesis in the Cosmos SDK's JSON shape, plus AIVM's ``gen_txs``.

```json
{"params": {"unbonding_time": "1814400s", "max_validators": 100, "max_entries": 7,
            "historical_entries": 10000, "bond_denom": "ucgpt",
            "min_commission_rate": "0.000000000000000000"},
 "last_total_power": "0", "last_validator_powers": [], "validators": [], "delegations": [],
 "unbonding_delegations": [], "redelegations": [], "exported": false,
 "gen_txs": [{"@type": "/cosmos.staking.v1beta1.MsgCreateValidator", ...}]}
```

Decimals (shares, commission rates) are written as the SDK writes them in JSON
(``"0.100000000000000000"``). ``gen_txs`` are MsgCreateValidator messages delivered through
the normal handler after every module's genesis is written (hooks fire, the self-bond leaves
the operator's genesis balance); the bonded validators then form the initial set.
"""

from __future__ import annotations

from typing import Any

from aivm.modules.framework import Context
from aivm.modules.staking.api import BONDED_POOL, NOT_BONDED_POOL, BondStatus
from aivm.modules.staking.codec import (
    decs_from_json,
    decs_to_json,
    ed25519_any,
    ts_ns,
    val_bytes,
    val_str,
)
from aivm.modules.staking.keeper import (
    StakingKeeper,
    operator_of,
    shares_of,
    to_api,
    tokens_of,
)
from aivm.modules.staking.msgs import validate_create_validator
from aivm.modules.staking.params import DEFAULT_PARAMS, params_to_proto, parse_params
from aivm.types import pb
from aivm.types.address import ACC_PREFIX, acc_address_bytes, bech32_decode_raw
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest

GEN_TX_TYPE = "/cosmos.staking.v1beta1.MsgCreateValidator"
AIVM_KEYS = ("gen_txs", "last_total_power", "historical_info", "last_unbonding_id")
"""Keys parsed apart from the SDK GenesisState: AIVM's own, and ``last_total_power`` (an Int
the SDK writes as a number string, bytes in the proto)."""
_JSON = {"preserving_proto_field_name": True, "always_print_fields_with_no_presence": True}


def default_genesis() -> dict[str, Any]:
    """Default params, no validators, no gen_txs."""
    state = pb.staking_genesis.GenesisState(params=params_to_proto(DEFAULT_PARAMS))
    return _to_json(state)


def _to_json(state: pb.staking_genesis.GenesisState) -> dict[str, Any]:
    """SDK JSON: decimals as text, ``last_total_power`` (an Int in bytes) as a number string."""
    data: dict[str, Any] = decs_to_json(pb.json_format.MessageToDict(state, **_JSON))
    data["last_total_power"] = state.last_total_power.decode() or "0"
    data["gen_txs"] = []
    data["historical_info"] = []
    data["last_unbonding_id"] = "0"
    return data


def parse_state(data: dict[str, Any]) -> pb.staking_genesis.GenesisState:
    """The SDK GenesisState of ``data`` (without ``gen_txs``)."""
    state = pb.staking_genesis.GenesisState()
    body = {k: v for k, v in data.items() if k not in AIVM_KEYS}
    power = str(data.get("last_total_power") or "0")
    if not power.isascii() or not power.isdigit() or len(power) > 30:
        raise ErrInvalidRequest.wrap(f"invalid staking last_total_power {power!r}")
    state.last_total_power = str(int(power)).encode()
    try:
        pb.json_format.ParseDict(decs_from_json(body), state)
    except AivmError:
        raise
    except Exception as exc:
        raise ErrInvalidRequest.wrap(f"invalid staking genesis: {exc}") from exc
    return state


def parse_gen_txs(data: dict[str, Any]) -> list[pb.staking_tx.MsgCreateValidator]:
    """The ``gen_txs`` entries as MsgCreateValidator messages."""
    entries = data.get("gen_txs") or []
    if not isinstance(entries, list):
        raise ErrInvalidRequest.wrap("staking gen_txs must be a list")
    msgs = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("@type") != GEN_TX_TYPE:
            raise ErrInvalidRequest.wrap(f"each gen_txs entry must be a {GEN_TX_TYPE}")
        msg = pb.staking_tx.MsgCreateValidator()
        try:
            body = {k: v for k, v in entry.items() if k != "@type"}
            pb.json_format.ParseDict(decs_from_json(body), msg)
        except AivmError:
            raise
        except Exception as exc:
            raise ErrInvalidRequest.wrap(f"invalid staking gen_tx: {exc}") from exc
        msgs.append(msg)
    return msgs


def init_extras(ctx: Context, keeper: StakingKeeper, data: dict[str, Any]) -> None:
    """Write the historical info and the unbonding id counter of an export."""
    infos, last_id = parse_extras(data)
    for info in infos:
        keeper.set_historical_info(ctx, info.header.height, info)
    keeper.set_last_unbonding_id(ctx, last_id)


def validate_genesis(data: dict[str, Any]) -> None:
    """SDK ``ValidateGenesis``: params valid; validators with distinct consensus keys, none
    bonded and jailed, none with zero shares unless unbonding; addresses decode; gen_txs
    pass MsgCreateValidator's checks."""
    state = parse_state(data)
    parse_params(state.params)
    seen: set[bytes] = set()
    for validator in state.validators:
        _check_validator(validator, seen)
    for delegation in state.delegations:
        acc_address_bytes(delegation.delegator_address)
        val_bytes(delegation.validator_address)
    for gen_tx in parse_gen_txs(data):
        validate_create_validator(gen_tx)
    parse_extras(data)


def _check_validator(validator: pb.staking.Validator, seen: set[bytes]) -> None:
    operator_of(validator)
    try:
        key = to_api(validator).cons_pubkey
    except Exception as exc:
        raise ErrInvalidRequest.wrap(
            f"genesis validator {validator.operator_address} has a bad consensus key"
        ) from exc
    moniker = validator.description.moniker
    if key in seen:
        raise ErrInvalidRequest.wrap(f"duplicate validator in genesis state: moniker {moniker}")
    seen.add(key)
    if validator.jailed and validator.status == BondStatus.BONDED:
        raise ErrInvalidRequest.wrap(
            f"validator is bonded and jailed in genesis state: moniker {moniker}"
        )
    if shares_of(validator).is_zero() and validator.status != BondStatus.UNBONDING:
        raise ErrInvalidRequest.wrap(
            "bonded/unbonded genesis validator cannot have zero delegator shares, "
            f"validator: {validator.operator_address}"
        )


def init_genesis(
    ctx: Context, keeper: StakingKeeper, state: pb.staking_genesis.GenesisState
) -> None:
    """SDK ``InitGenesis`` (without the validator-set step, see ``genesis_validators``):
    write everything, then check the pools hold exactly the bonded / not-bonded totals."""
    keeper.set_params(ctx, parse_params(state.params))
    keeper.set_last_total_power(ctx, int(state.last_total_power.decode() or "0"))
    bonded, not_bonded = _init_validators(ctx, keeper, state)
    for delegation in state.delegations:
        delegator = acc_address_bytes(delegation.delegator_address)
        val_addr = val_bytes(delegation.validator_address)
        if not state.exported:
            for hooks in keeper.hooks:
                hooks.before_delegation_created(ctx, delegator, val_addr)
        keeper.set_delegation(ctx, delegation)
        if not state.exported:
            for hooks in keeper.hooks:
                hooks.after_delegation_modified(ctx, delegator, val_addr)
    for ubd in state.unbonding_delegations:
        keeper.set_unbonding_delegation(ctx, ubd)
        for entry in ubd.entries:
            keeper.insert_ubd_queue(
                ctx, ubd.delegator_address, ubd.validator_address, ts_ns(entry.completion_time)
            )
            not_bonded += int(entry.balance)
    for red in state.redelegations:
        keeper.set_redelegation(ctx, red)
        for red_entry in red.entries:
            keeper.insert_red_queue(ctx, red, ts_ns(red_entry.completion_time))
    for operator_power in state.last_validator_powers:
        keeper.set_last_validator_power(
            ctx, val_bytes(operator_power.address), operator_power.power
        )
    _check_pools(ctx, keeper, bonded, not_bonded)


def _init_validators(
    ctx: Context, keeper: StakingKeeper, state: pb.staking_genesis.GenesisState
) -> tuple[int, int]:
    bonded = not_bonded = 0
    for validator in state.validators:
        keeper.set_validator(ctx, validator)
        keeper.set_validator_by_cons_addr(ctx, validator)
        keeper.set_validator_by_power_index(ctx, validator)
        if not state.exported:
            for hooks in keeper.hooks:
                hooks.after_validator_created(ctx, operator_of(validator))
        if validator.status == BondStatus.UNBONDING:
            keeper.insert_validator_queue(ctx, validator)
        if validator.status == BondStatus.BONDED:
            bonded += tokens_of(validator)
        else:
            not_bonded += tokens_of(validator)
    return bonded, not_bonded


def _check_pools(ctx: Context, keeper: StakingKeeper, bonded: int, not_bonded: int) -> None:
    keeper.accounts.get_module_account(ctx, BONDED_POOL)
    keeper.accounts.get_module_account(ctx, NOT_BONDED_POOL)
    denom = keeper.bond_denom(ctx)
    for pool, expected in ((BONDED_POOL, bonded), (NOT_BONDED_POOL, not_bonded)):
        held = keeper.bank.get_balance(ctx, keeper.pool_address(pool), denom)
        if held != expected:
            what = "bonded" if pool == BONDED_POOL else "not bonded"
            raise ErrInvalidRequest.wrap(
                f"{what} pool balance is different from {what} coins: "
                f"{held}{denom} <-> {expected}{denom} (staking genesis: the {pool} module "
                "account's bank balance must equal the tokens of its validators and entries)"
            )


def export_genesis(ctx: Context, keeper: StakingKeeper) -> dict[str, Any]:
    """The staking state in genesis form (``exported: true``, no gen_txs)."""
    state = pb.staking_genesis.GenesisState(
        params=keeper.get_params_proto(ctx),
        last_total_power=str(keeper.get_last_total_power(ctx)).encode(),
        last_validator_powers=[
            pb.staking_genesis.LastValidatorPower(address=val_str(operator), power=power)
            for operator, power in keeper.iterate_last_validator_powers(ctx)
        ],
        validators=list(keeper.iterate_validator_protos(ctx)),
        delegations=list(keeper.iterate_all_delegations(ctx)),
        unbonding_delegations=list(keeper.iterate_all_unbonding_delegations(ctx)),
        redelegations=list(keeper.iterate_all_redelegations(ctx)),
        exported=True,
    )
    data = _to_json(state)
    data["historical_info"] = [
        decs_to_json(pb.json_format.MessageToDict(info, **_JSON))
        for info in keeper.iterate_historical_info(ctx)
    ]
    data["last_unbonding_id"] = str(keeper.get_last_unbonding_id(ctx))
    return data


def parse_extras(data: dict[str, Any]) -> tuple[list[pb.staking.HistoricalInfo], int]:
    """AIVM's additions kept so an export re-imports to the same app hash: the historical
    info of the last heights and the unbonding id counter."""
    infos = []
    for entry in data.get("historical_info") or []:
        info = pb.staking.HistoricalInfo()
        try:
            pb.json_format.ParseDict(decs_from_json(entry), info)
        except AivmError:
            raise
        except Exception as exc:
            raise ErrInvalidRequest.wrap(f"invalid staking historical_info: {exc}") from exc
        infos.append(info)
    last_id = str(data.get("last_unbonding_id") or "0")
    if not last_id.isascii() or not last_id.isdigit() or len(last_id) > 20:
        raise ErrInvalidRequest.wrap(f"invalid staking last_unbonding_id {last_id!r}")
    return infos, int(last_id)


def gentx(operator: str, cons_pubkey: bytes, self_bond: int, moniker: str) -> dict[str, Any]:
    """One ``gen_txs`` entry: a MsgCreateValidator for ``operator`` (an ``aivm1…`` account or
    its ``aivmvaloper1…`` form) with consensus key ``cons_pubkey`` (ed25519, 32 bytes), a
    self-bond of ``self_bond`` ucgpt, commission 0.1 (max 0.2, max change 0.01) and
    min_self_delegation 1."""
    hrp, raw = bech32_decode_raw(operator)
    address = raw if hrp == ACC_PREFIX else val_bytes(operator)
    msg = pb.staking_tx.MsgCreateValidator(
        description=pb.staking.Description(moniker=moniker),
        commission=pb.staking.CommissionRates(
            rate=Dec("0.1").to_proto_str(),
            max_rate=Dec("0.2").to_proto_str(),
            max_change_rate=Dec("0.01").to_proto_str(),
        ),
        min_self_delegation="1",
        validator_address=val_str(address),
        pubkey=ed25519_any(cons_pubkey),
        value=pb.coin.Coin(denom=DEFAULT_PARAMS.bond_denom, amount=str(self_bond)),
    )
    body: dict[str, Any] = decs_to_json(
        pb.json_format.MessageToDict(msg, preserving_proto_field_name=True)
    )
    return {"@type": GEN_TX_TYPE, **body}
