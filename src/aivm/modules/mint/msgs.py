"""mint messages: ``/cosmos.mint.v1beta1.MsgUpdateParams`` (the params authority only)."""

from __future__ import annotations

from typing import Any

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.framework import Context, MsgRoute
from aivm.modules.mint import types
from aivm.modules.mint.keeper import MintKeeper
from aivm.modules.mint.params import MintParams


def _parse(ctx: Context | None, proto: Any) -> MintParams:
    return MintParams.from_proto(proto)


def update_params(keeper: MintKeeper, authority: AuthorityKeeper) -> MsgRoute:
    """The whole params, validated as the SDK's ``Params.Validate``."""
    return update_params_route(
        types.MsgUpdateParams, types.MsgUpdateParamsResponse, authority, _parse, keeper.set_params
    )
