"""slashing gRPC queries (``/cosmos.slashing.v1beta1.Query/...``), answered over ABCI Query."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.framework import Context, QueryRoute
from aivm.modules.slashing import keys
from aivm.modules.slashing.errors import ErrNoSigningInfoFound
from aivm.modules.slashing.keeper import SigningInfo, SlashingKeeper
from aivm.store import PrefixStore
from aivm.store.pagination import paginate_store
from aivm.types import pb
from aivm.types.address import valcons_address_bytes
from aivm.types.errors import ErrInvalidRequest

SERVICE = "/cosmos.slashing.v1beta1.Query/"


def query_routes(keeper: SlashingKeeper) -> Sequence[QueryRoute]:
    """Params, SigningInfo and SigningInfos."""

    def params(
        ctx: Context, req: pb.slashing_query.QueryParamsRequest
    ) -> pb.slashing_query.QueryParamsResponse:
        return pb.slashing_query.QueryParamsResponse(params=keeper.get_params(ctx).to_proto())

    def signing_info(
        ctx: Context, req: pb.slashing_query.QuerySigningInfoRequest
    ) -> pb.slashing_query.QuerySigningInfoResponse:
        if not req.cons_address:
            raise ErrInvalidRequest.wrap("invalid request")
        cons_addr = valcons_address_bytes(req.cons_address)
        info = keeper.get_signing_info(ctx, cons_addr)
        if info is None:
            raise ErrNoSigningInfoFound.wrap(
                f"SigningInfo not found for validator {req.cons_address}"
            )
        return pb.slashing_query.QuerySigningInfoResponse(val_signing_info=info)

    def signing_infos(
        ctx: Context, req: pb.slashing_query.QuerySigningInfosRequest
    ) -> pb.slashing_query.QuerySigningInfosResponse:
        store = PrefixStore(PrefixStore(ctx.store, keys.STORE_PREFIX), keys.SIGNING_INFO_PREFIX)
        pagination = req.pagination if req.HasField("pagination") else None
        infos, page = paginate_store(store, pagination, lambda _k, raw: SigningInfo.FromString(raw))
        return pb.slashing_query.QuerySigningInfosResponse(info=infos, pagination=page)

    return [
        QueryRoute(SERVICE + "Params", pb.slashing_query.QueryParamsRequest, params),
        QueryRoute(
            SERVICE + "SigningInfo", pb.slashing_query.QuerySigningInfoRequest, signing_info
        ),
        QueryRoute(
            SERVICE + "SigningInfos", pb.slashing_query.QuerySigningInfosRequest, signing_infos
        ),
    ]
