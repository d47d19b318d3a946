"""mint genesis in the Cosmos SDK JSON shape.

```json
{"minter": {"inflation": "0.130000000000000000", "annual_provisions": "0.000000000000000000"},
 "params": {"mint_denom": "ucgpt", "inflation_rate_change": "0.130000000000000000",
            "inflation_max": "0.200000000000000000", "inflation_min": "0.070000000000000000",
            "goal_bonded": "0.670000000000000000", "blocks_per_year": "6311520"}}
```
"""

from __future__ import annotations

from typing import Any

from aivm.modules.framework import Context
from aivm.modules.mint.keeper import MintKeeper
from aivm.modules.mint.params import Minter, MintParams
from aivm.types.errors import ErrInvalidRequest


def default_genesis() -> dict[str, Any]:
    """The SDK's defaults, minting ucgpt."""
    return {"minter": Minter().to_json(), "params": MintParams().to_json()}


def parse_genesis(data: dict[str, Any]) -> tuple[Minter, MintParams]:
    """Minter and params, validated (SDK ``ValidateGenesis``)."""
    unknown = set(data) - {"minter", "params"}
    if unknown:
        raise ErrInvalidRequest.wrap(f"unknown mint genesis fields {sorted(unknown)}")
    minter = Minter.from_json(data.get("minter", Minter().to_json()))
    params = MintParams.from_json(data.get("params", {}))
    return minter, params


def init_genesis(ctx: Context, keeper: MintKeeper, data: dict[str, Any]) -> None:
    """Write minter and params, and create the ``mint`` module account."""
    minter, params = parse_genesis(data)
    keeper.set_minter(ctx, minter)
    keeper.set_params(ctx, params)


def export_genesis(ctx: Context, keeper: MintKeeper) -> dict[str, Any]:
    """Current minter and params."""
    return {
        "minter": keeper.get_minter(ctx).to_json(),
        "params": keeper.get_params(ctx).to_json(),
    }
