"""bank genesis in the Cosmos SDK JSON shape.

```json
{"params": {"send_enabled": [], "default_send_enabled": true},
 "balances": [{"address": "aivm1...", "coins": [{"denom": "ucgpt", "amount": "1000"}]}],
 "supply": [],            // empty: computed from balances; otherwise must equal their sum
 "denom_metadata": [{"base": "ucgpt", "display": "CGPT", ...}]}
```
"""

from __future__ import annotations

from typing import Any

from aivm.modules.bank.keeper import BankKeeper
from aivm.modules.bank.params import BankParams
from aivm.modules.framework import Context
from aivm.types import pb
from aivm.types.coin import Coins
from aivm.types.coin_proto import coins_from_proto, coins_to_proto
from aivm.types.errors import AivmError, ErrInvalidRequest


def default_genesis() -> dict[str, Any]:
    """Default params, no balances; metadata for ucgpt/CGPT."""
    return {
        "params": BankParams().to_json(),
        "balances": [],
        "supply": [],
        "denom_metadata": [cgpt_metadata()],
        "send_enabled": [],
    }


def cgpt_metadata() -> dict[str, Any]:
    """Denom metadata of the native token (base ucgpt, display CGPT, 6 decimals)."""
    return {
        "description": "The native token of AIVM: fees, staking, governance and settlement.",
        "denom_units": [
            {"denom": "ucgpt", "exponent": 0, "aliases": ["microcgpt"]},
            {"denom": "mcgpt", "exponent": 3, "aliases": ["millicgpt"]},
            {"denom": "cgpt", "exponent": 6, "aliases": []},
        ],
        "base": "ucgpt",
        "display": "cgpt",
        "name": "CGPT",
        "symbol": "CGPT",
        "uri": "",
        "uri_hash": "",
    }


def _parse(data: dict[str, Any]) -> pb.bank_genesis.GenesisState:
    state = pb.bank_genesis.GenesisState()
    try:
        pb.json_format.ParseDict(data, state)
    except Exception as exc:
        raise ErrInvalidRequest.wrap(f"invalid bank genesis: {exc}") from exc
    return state


def _balances(state: pb.bank_genesis.GenesisState) -> list[tuple[bytes, Coins]]:
    from aivm.modules.addr import addr_bytes

    seen: set[bytes] = set()
    balances = []
    for entry in state.balances:
        address = addr_bytes(entry.address)
        if address in seen:
            raise ErrInvalidRequest.wrap(f"duplicate balance for address {entry.address}")
        seen.add(address)
        balances.append((address, coins_from_proto(entry.coins)))
    return balances


def validate_genesis(data: dict[str, Any]) -> None:
    """Addresses and coins valid, no duplicates, supply consistent with balances."""
    state = _parse(data)
    BankParams.from_json(data.get("params", {}))
    try:
        total = _sum(coins for _, coins in _balances(state))
        supply = coins_from_proto(state.supply)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid bank genesis: {exc.log}") from exc
    if len(supply) and supply != total:
        raise ErrInvalidRequest.wrap(f"genesis supply {supply} does not match balances {total}")


def _sum(items: Any) -> Coins:
    total = Coins.from_iter([])
    for coins in items:
        total = total + coins
    return total


def init_genesis(ctx: Context, keeper: BankKeeper, data: dict[str, Any]) -> None:
    """Write params, balances (creating accounts), supply and metadata."""
    validate_genesis(data)
    state = _parse(data)
    keeper.set_params(ctx, BankParams.from_json(data.get("params", {})))
    balances = _balances(state)
    for address, coins in balances:
        keeper.add_coins(ctx, address, coins)
        if not keeper.accounts.has_account(ctx, address):
            keeper.accounts.new_account(ctx, address)
    for coin in _sum(coins for _, coins in balances):
        keeper.set_supply(ctx, coin.denom, coin.amount)
    for metadata in state.denom_metadata:
        keeper.set_denom_metadata(ctx, metadata)
    ctx.events.clear()


def export_genesis(ctx: Context, keeper: BankKeeper) -> dict[str, Any]:
    """Current params, balances, supply and metadata."""
    from aivm.modules.addr import addr_str

    state = pb.bank_genesis.GenesisState(
        params=keeper.get_params(ctx).to_proto(),
        balances=[
            pb.bank_genesis.Balance(address=addr_str(address), coins=coins_to_proto(coins))
            for address, coins in keeper.iterate_all_balances(ctx)
        ],
        supply=coins_to_proto(keeper.get_total_supply(ctx)),
        denom_metadata=list(keeper.iterate_denom_metadata(ctx)),
    )
    exported: dict[str, Any] = pb.json_format.MessageToDict(
        state, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return exported
