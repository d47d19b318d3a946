"""feemarket messages: only ``MsgUpdateParams`` (signed by the params authority)."""

from __future__ import annotations

from aivm.modules.authority import AuthorityKeeper
from aivm.modules.authority.update_params import update_params_route
from aivm.modules.feemarket import feemarket_pb2
from aivm.modules.feemarket.keeper import FeeMarketKeeper
from aivm.modules.feemarket.params import FeeMarketParams
from aivm.modules.framework import Context, MsgRoute


def _parse(ctx: Context | None, proto: feemarket_pb2.Params) -> FeeMarketParams:
    return FeeMarketParams.from_proto(proto)


def update_params(keeper: FeeMarketKeeper, authority: AuthorityKeeper) -> MsgRoute:
    """``/aivm.feemarket.v1.MsgUpdateParams``: the whole params; the current price moves into
    the new [floor, ceiling] at once."""
    return update_params_route(
        feemarket_pb2.MsgUpdateParams,
        feemarket_pb2.MsgUpdateParamsResponse,
        authority,
        _parse,
        keeper.set_params,
    )
