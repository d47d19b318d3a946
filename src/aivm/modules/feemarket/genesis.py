"""feemarket genesis.

```json
{"params": {"min_base_gas_price": "0", "max_base_gas_price": "100",
            "target_block_utilization": "0.5", "max_change_rate": "0.125",
            "burn_base_fee": false, "enabled": false, "block_gas_target": "250000000"},
 "state": {"base_gas_price": "0", "last_block_gas_used": "0"}}
```

Absent params take the defaults (market off); an absent ``state`` starts at the floor. With the
market on, the genesis price must lie in [floor, ceiling].
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.errors import ErrInvalidState
from aivm.modules.feemarket.keeper import FeeMarketKeeper
from aivm.modules.feemarket.params import FeeMarketParams, FeeMarketState, dec_text
from aivm.modules.framework import Context
from aivm.types.errors import ErrInvalidRequest


def default_genesis() -> dict[str, Any]:
    """Market off: floor 0, price 0."""
    return {"params": FeeMarketParams().to_json(), "state": _state_json(FeeMarketState())}


def parse_genesis(data: dict[str, Any]) -> tuple[FeeMarketParams, FeeMarketState]:
    """Params and state from genesis JSON, checked."""
    unknown = set(data) - {"params", "state"}
    if unknown:
        raise ErrInvalidRequest.wrap(f"unknown feemarket genesis fields {sorted(unknown)}")
    params = FeeMarketParams.from_json(data.get("params") or {})
    if "state" not in data:
        return params, FeeMarketState(params.min_base_gas_price)
    proto = feemarket_pb2.State()
    try:
        json_format.ParseDict(data["state"], proto)
    except json_format.ParseError as exc:
        raise ErrInvalidState.wrap(f"invalid feemarket state: {exc}") from exc
    state = FeeMarketState.from_proto(proto)
    if params.enabled and params.clamp(state.base_gas_price) != state.base_gas_price:
        raise ErrInvalidState.wrap(
            f"base_gas_price {dec_text(state.base_gas_price)} is outside "
            f"[{dec_text(params.min_base_gas_price)}, {dec_text(params.max_base_gas_price)}]"
        )
    return params, state


def init_genesis(ctx: Context, keeper: FeeMarketKeeper, data: dict[str, Any]) -> None:
    """Write params and state."""
    params, state = parse_genesis(data)
    keeper.set_params(ctx, params)
    keeper.set_state(ctx, state)


def export_genesis(ctx: Context, keeper: FeeMarketKeeper) -> dict[str, Any]:
    """Current params and state."""
    return {
        "params": keeper.get_params(ctx).to_json(),
        "state": _state_json(keeper.get_state(ctx)),
    }


def _state_json(state: FeeMarketState) -> dict[str, Any]:
    data: dict[str, Any] = json_format.MessageToDict(
        state.to_proto(),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    return data
