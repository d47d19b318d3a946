"""staking gRPC queries, answered over ABCI Query (``/cosmos.staking.v1beta1.Query/...``).

Requests, responses, pagination and errors are the Cosmos SDK's (``x/staking/keeper/
grpc_query.go``): a missing thing is ``codes.NotFound``, which the SDK's baseapp reports as
``sdk`` code 22 with the log ``rpc error: code = NotFound desc = …: key not found`` (cosmjs's
``getDelegation`` looks for "key not found"; the REST gateway answers 404); an empty required
field is ``codes.InvalidArgument`` (``sdk`` 18); a malformed address is ``sdk`` 7.

Lists are paged from the keeper's iterators: a page reads only the items before and in it
(plus the rest when a total is counted: ``count_total`` or no limit), every read charged to
the query's gas meter; ``next_key`` is the opaque 8-byte index of the next item, as
``aivm.types.pagination``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.framework import Context, QueryRoute
from aivm.modules.staking.api import Delegation, Validator
from aivm.types import pb
from aivm.types.address import valoper_address, valoper_address_bytes
from aivm.types.dec import Dec
from aivm.types.errors import (
    AivmError,
    ErrInvalidAddress,
    ErrInvalidRequest,
    ErrKeyNotFound,
    ErrUnknownRequest,
)
from aivm.types.pagination import counts_total, page_limit

if TYPE_CHECKING:
    from aivm.modules.staking.keeper import StakingKeeper

T = TypeVar("T")
U = TypeVar("U")
BASE = "/cosmos.staking.v1beta1.Query/"
STATUSES = ("BOND_STATUS_BONDED", "BOND_STATUS_UNBONDED", "BOND_STATUS_UNBONDING")
"""The ``status`` values QueryValidatorsRequest accepts (empty: every validator)."""
_KEY_BYTES = 8


# -- errors as the SDK's baseapp reports gRPC status errors ------------------------------------


def not_found(detail: str) -> AivmError:
    """``status.Errorf(codes.NotFound, detail)`` after baseapp's ``gRPCErrorToSDKError``."""
    return ErrKeyNotFound.wrap(f"rpc error: code = NotFound desc = {detail}")


def invalid_argument(detail: str) -> AivmError:
    """``status.Error(codes.InvalidArgument, detail)`` after ``gRPCErrorToSDKError``."""
    return ErrInvalidRequest.wrap(f"rpc error: code = InvalidArgument desc = {detail}")


def internal(detail: str) -> AivmError:
    """``status.Error(codes.Internal, detail)`` after ``gRPCErrorToSDKError``."""
    return ErrUnknownRequest.wrap(f"rpc error: code = Internal desc = {detail}")


def val_bytes(text: str, what: str = "validator") -> bytes:
    """Operator address bytes of an ``aivmvaloper1…`` string: InvalidArgument when empty,
    ErrInvalidAddress (sdk 7) when malformed or not lower case."""
    if not text:
        raise invalid_argument(f"{what} address cannot be empty")
    decoded = valoper_address_bytes(text)
    if text != text.lower():
        raise ErrInvalidAddress.wrap(f"address {text!r} must be in lower case")
    return decoded


def del_bytes(text: str) -> bytes:
    """Account address bytes of a delegator ``aivm1…``: InvalidArgument when empty,
    ErrInvalidAddress (sdk 7) when malformed."""
    if not text:
        raise invalid_argument("delegator address cannot be empty")
    return addr_bytes(text)


# -- paging over keeper iterators --------------------------------------------------------------


def paginate_iter(
    items: Iterable[T], request: pb.pagination.PageRequest | None
) -> tuple[list[T], pb.pagination.PageResponse]:
    """The requested page of ``items`` (in iteration order, or reversed) and its PageResponse.

    ``key`` is the 8-byte big-endian index of the page's first item (the ``next_key`` of the
    page before); the total is counted as in the SDK (:func:`counts_total`: ``count_total`` or
    no limit, never with a key). Only the items up to the end of the page are read, unless a
    total is counted.
    """
    request = request or pb.pagination.PageRequest()
    limit = page_limit(request)
    if len(request.key) > _KEY_BYTES:
        raise ErrInvalidRequest.wrap("invalid pagination key")
    start = int.from_bytes(request.key, "big") if request.key else request.offset
    start = min(start, sys.maxsize - limit - 1)
    source = iter(list(items)[::-1]) if request.reverse else iter(items)
    skipped = sum(1 for _ in itertools.islice(source, start))
    page = list(itertools.islice(source, limit))
    response = pb.pagination.PageResponse()
    more = sum(1 for _ in itertools.islice(source, 1))
    if more:
        response.next_key = (start + limit).to_bytes(_KEY_BYTES, "big")
    if counts_total(request):
        response.total = skipped + len(page) + more + sum(1 for _ in source)
    return page, response


def _mapped(items: Iterable[T], convert: Callable[[T], U]) -> Iterator[U]:
    """``convert`` applied lazily (so paging converts only the page's items)."""
    return (convert(item) for item in items)


# -- conversions -----------------------------------------------------------------------------


def delegation_proto(delegation: Delegation) -> pb.staking.Delegation:
    """The SDK Delegation of a keeper delegation (shares in the LegacyDec wire form)."""
    return pb.staking.Delegation(
        delegator_address=addr_str(delegation.delegator),
        validator_address=valoper_address(delegation.validator),
        shares=delegation.shares.to_proto_str(),
    )


def tokens_of(validator: Validator, shares: Dec) -> int:
    """Tokens ``shares`` of ``validator`` are worth, as the SDK's query responses show them:
    ``TokensFromShares(shares).TruncateInt()`` (0 for a validator without shares)."""
    if validator.delegator_shares.is_zero():
        return 0
    return validator.tokens_from_shares(shares).truncate_int()


class _Validators:
    """Validators read once per query (a page of delegations often names one validator)."""

    def __init__(self, keeper: StakingKeeper, ctx: Context) -> None:
        self.keeper = keeper
        self.ctx = ctx
        self._seen: dict[bytes, Validator] = {}

    def get(self, val_addr: bytes) -> Validator:
        """The validator, or an Internal error (a delegation to a removed validator is a bug)."""
        found = self._seen.get(val_addr)
        if found is None:
            found = self.keeper.get_validator(self.ctx, val_addr)
            if found is None:
                raise internal(f"validator does not exist: {valoper_address(val_addr)}")
            self._seen[val_addr] = found
        return found


def _delegation_response(
    validators: _Validators, denom: str, delegation: Delegation
) -> pb.staking.DelegationResponse:
    balance = tokens_of(validators.get(delegation.validator), delegation.shares)
    return pb.staking.DelegationResponse(
        delegation=delegation_proto(delegation),
        balance=pb.coin.Coin(denom=denom, amount=str(balance)),
    )


def _redelegation_response(
    validators: _Validators, redelegation: pb.staking.Redelegation
) -> pb.staking.RedelegationResponse:
    dst = validators.get(val_bytes(redelegation.validator_dst_address))
    response = pb.staking.RedelegationResponse(redelegation=redelegation)
    for entry in redelegation.entries:
        balance = tokens_of(dst, Dec.from_proto_str(entry.shares_dst))
        response.entries.add(redelegation_entry=entry, balance=str(balance))
    return response


def _check_status(status: str) -> None:
    if status and status not in STATUSES:
        raise invalid_argument(f"invalid validator status {status}")


def _has_status(validator: pb.staking.Validator, status: str) -> bool:
    return pb.staking.BondStatus.Name(validator.status).lower() == status.lower()


# -- the query service ---------------------------------------------------------------------


def query_routes(keeper: StakingKeeper) -> Sequence[QueryRoute]:
    """Routes of the staking query service (``cosmos.staking.v1beta1.Query``)."""
    q = pb.staking_query
    return [
        QueryRoute(BASE + "Validators", q.QueryValidatorsRequest, _validators(keeper)),
        QueryRoute(BASE + "Validator", q.QueryValidatorRequest, _validator(keeper)),
        QueryRoute(
            BASE + "ValidatorDelegations",
            q.QueryValidatorDelegationsRequest,
            _validator_delegations(keeper),
        ),
        QueryRoute(
            BASE + "ValidatorUnbondingDelegations",
            q.QueryValidatorUnbondingDelegationsRequest,
            _validator_unbonding_delegations(keeper),
        ),
        QueryRoute(BASE + "Delegation", q.QueryDelegationRequest, _delegation(keeper)),
        QueryRoute(
            BASE + "UnbondingDelegation",
            q.QueryUnbondingDelegationRequest,
            _unbonding_delegation(keeper),
        ),
        QueryRoute(
            BASE + "DelegatorDelegations",
            q.QueryDelegatorDelegationsRequest,
            _delegator_delegations(keeper),
        ),
        QueryRoute(
            BASE + "DelegatorUnbondingDelegations",
            q.QueryDelegatorUnbondingDelegationsRequest,
            _delegator_unbonding_delegations(keeper),
        ),
        QueryRoute(BASE + "Redelegations", q.QueryRedelegationsRequest, _redelegations(keeper)),
        QueryRoute(
            BASE + "DelegatorValidators",
            q.QueryDelegatorValidatorsRequest,
            _delegator_validators(keeper),
        ),
        QueryRoute(
            BASE + "DelegatorValidator",
            q.QueryDelegatorValidatorRequest,
            _delegator_validator(keeper),
        ),
        QueryRoute(BASE + "HistoricalInfo", q.QueryHistoricalInfoRequest, _historical_info(keeper)),
        QueryRoute(BASE + "Pool", q.QueryPoolRequest, _pool(keeper)),
        QueryRoute(BASE + "Params", q.QueryParamsRequest, _params(keeper)),
    ]


Handler = Callable[[Context, T], U]


def _validators(
    keeper: StakingKeeper,
) -> Handler[pb.staking_query.QueryValidatorsRequest, pb.staking_query.QueryValidatorsResponse]:
    def validators(
        ctx: Context, req: pb.staking_query.QueryValidatorsRequest
    ) -> pb.staking_query.QueryValidatorsResponse:
        _check_status(req.status)
        found: Iterable[pb.staking.Validator] = keeper.iterate_validator_protos(ctx)
        if req.status:
            found = (v for v in found if _has_status(v, req.status))
        page, page_response = paginate_iter(found, req.pagination)
        return pb.staking_query.QueryValidatorsResponse(validators=page, pagination=page_response)

    return validators


def _validator(
    keeper: StakingKeeper,
) -> Handler[pb.staking_query.QueryValidatorRequest, pb.staking_query.QueryValidatorResponse]:
    def validator(
        ctx: Context, req: pb.staking_query.QueryValidatorRequest
    ) -> pb.staking_query.QueryValidatorResponse:
        found = keeper.get_validator_proto(ctx, val_bytes(req.validator_addr))
        if found is None:
            raise not_found(f"validator {req.validator_addr} not found")
        return pb.staking_query.QueryValidatorResponse(validator=found)

    return validator


def _validator_delegations(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryValidatorDelegationsRequest,
    pb.staking_query.QueryValidatorDelegationsResponse,
]:
    def validator_delegations(
        ctx: Context, req: pb.staking_query.QueryValidatorDelegationsRequest
    ) -> pb.staking_query.QueryValidatorDelegationsResponse:
        val_addr = val_bytes(req.validator_addr)
        validators, denom = _Validators(keeper, ctx), keeper.bond_denom(ctx)
        page, page_response = paginate_iter(
            keeper.iterate_validator_delegations(ctx, val_addr), req.pagination
        )
        return pb.staking_query.QueryValidatorDelegationsResponse(
            delegation_responses=[_delegation_response(validators, denom, d) for d in page],
            pagination=page_response,
        )

    return validator_delegations


def _validator_unbonding_delegations(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryValidatorUnbondingDelegationsRequest,
    pb.staking_query.QueryValidatorUnbondingDelegationsResponse,
]:
    def validator_unbonding_delegations(
        ctx: Context, req: pb.staking_query.QueryValidatorUnbondingDelegationsRequest
    ) -> pb.staking_query.QueryValidatorUnbondingDelegationsResponse:
        val_addr = val_bytes(req.validator_addr)
        page, page_response = paginate_iter(
            keeper.iterate_validator_unbonding_delegations(ctx, val_addr), req.pagination
        )
        return pb.staking_query.QueryValidatorUnbondingDelegationsResponse(
            unbonding_responses=page, pagination=page_response
        )

    return validator_unbonding_delegations


def _delegation(
    keeper: StakingKeeper,
) -> Handler[pb.staking_query.QueryDelegationRequest, pb.staking_query.QueryDelegationResponse]:
    def delegation(
        ctx: Context, req: pb.staking_query.QueryDelegationRequest
    ) -> pb.staking_query.QueryDelegationResponse:
        del_addr, val_addr = del_bytes(req.delegator_addr), val_bytes(req.validator_addr)
        found = keeper.get_delegation(ctx, del_addr, val_addr)
        if found is None:
            raise not_found(
                f"delegation with delegator {req.delegator_addr} not found for validator "
                f"{req.validator_addr}"
            )
        response = _delegation_response(_Validators(keeper, ctx), keeper.bond_denom(ctx), found)
        return pb.staking_query.QueryDelegationResponse(delegation_response=response)

    return delegation


def _unbonding_delegation(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryUnbondingDelegationRequest,
    pb.staking_query.QueryUnbondingDelegationResponse,
]:
    def unbonding_delegation(
        ctx: Context, req: pb.staking_query.QueryUnbondingDelegationRequest
    ) -> pb.staking_query.QueryUnbondingDelegationResponse:
        del_addr, val_addr = del_bytes(req.delegator_addr), val_bytes(req.validator_addr)
        found = keeper.get_unbonding_delegation(ctx, del_addr, val_addr)
        if found is None:
            raise not_found(
                f"unbonding delegation with delegator {req.delegator_addr} not found for "
                f"validator {req.validator_addr}"
            )
        return pb.staking_query.QueryUnbondingDelegationResponse(unbond=found)

    return unbonding_delegation


def _delegator_delegations(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryDelegatorDelegationsRequest,
    pb.staking_query.QueryDelegatorDelegationsResponse,
]:
    def delegator_delegations(
        ctx: Context, req: pb.staking_query.QueryDelegatorDelegationsRequest
    ) -> pb.staking_query.QueryDelegatorDelegationsResponse:
        del_addr = del_bytes(req.delegator_addr)
        validators, denom = _Validators(keeper, ctx), keeper.bond_denom(ctx)
        page, page_response = paginate_iter(
            keeper.iterate_delegations_of(ctx, del_addr), req.pagination
        )
        return pb.staking_query.QueryDelegatorDelegationsResponse(
            delegation_responses=[_delegation_response(validators, denom, d) for d in page],
            pagination=page_response,
        )

    return delegator_delegations


def _delegator_unbonding_delegations(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryDelegatorUnbondingDelegationsRequest,
    pb.staking_query.QueryDelegatorUnbondingDelegationsResponse,
]:
    def delegator_unbonding_delegations(
        ctx: Context, req: pb.staking_query.QueryDelegatorUnbondingDelegationsRequest
    ) -> pb.staking_query.QueryDelegatorUnbondingDelegationsResponse:
        del_addr = del_bytes(req.delegator_addr)
        page, page_response = paginate_iter(
            keeper.iterate_unbonding_delegations_of(ctx, del_addr), req.pagination
        )
        return pb.staking_query.QueryDelegatorUnbondingDelegationsResponse(
            unbonding_responses=page, pagination=page_response
        )

    return delegator_unbonding_delegations


def _redelegations(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryRedelegationsRequest, pb.staking_query.QueryRedelegationsResponse
]:
    def redelegations(
        ctx: Context, req: pb.staking_query.QueryRedelegationsRequest
    ) -> pb.staking_query.QueryRedelegationsResponse:
        page, page_response = _select_redelegations(keeper, ctx, req)
        validators = _Validators(keeper, ctx)
        return pb.staking_query.QueryRedelegationsResponse(
            redelegation_responses=[_redelegation_response(validators, r) for r in page],
            pagination=page_response,
        )

    return redelegations


def _select_redelegations(
    keeper: StakingKeeper, ctx: Context, req: pb.staking_query.QueryRedelegationsRequest
) -> tuple[list[pb.staking.Redelegation], pb.pagination.PageResponse | None]:
    """As the SDK: delegator, source and destination → that one redelegation; only a source
    → the redelegations from it; otherwise every redelegation of the delegator (one of the
    source or destination alone narrows it, as a filter)."""
    if req.delegator_addr and req.src_validator_addr and req.dst_validator_addr:
        found = keeper.get_redelegation(
            ctx,
            del_bytes(req.delegator_addr),
            val_bytes(req.src_validator_addr, "source validator"),
            val_bytes(req.dst_validator_addr, "destination validator"),
        )
        if found is None:
            raise not_found(
                f"redelegation not found for delegator address {req.delegator_addr} from "
                f"validator address {req.src_validator_addr}"
            )
        return [found], None
    if not req.delegator_addr and req.src_validator_addr and not req.dst_validator_addr:
        src = val_bytes(req.src_validator_addr, "source validator")
        return paginate_iter(keeper.iterate_redelegations_from(ctx, src), req.pagination)
    found_all: Iterable[pb.staking.Redelegation] = keeper.iterate_redelegations_of(
        ctx, del_bytes(req.delegator_addr)
    )
    if req.src_validator_addr:
        src_text = valoper_address(val_bytes(req.src_validator_addr, "source validator"))
        found_all = (r for r in found_all if r.validator_src_address == src_text)
    if req.dst_validator_addr:
        dst_text = valoper_address(val_bytes(req.dst_validator_addr, "destination validator"))
        found_all = (r for r in found_all if r.validator_dst_address == dst_text)
    return paginate_iter(found_all, req.pagination)


def _delegator_validators(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryDelegatorValidatorsRequest,
    pb.staking_query.QueryDelegatorValidatorsResponse,
]:
    def delegator_validators(
        ctx: Context, req: pb.staking_query.QueryDelegatorValidatorsRequest
    ) -> pb.staking_query.QueryDelegatorValidatorsResponse:
        del_addr = del_bytes(req.delegator_addr)
        page, page_response = paginate_iter(
            keeper.iterate_delegations_of(ctx, del_addr), req.pagination
        )
        return pb.staking_query.QueryDelegatorValidatorsResponse(
            validators=[_validator_proto(keeper, ctx, d.validator) for d in page],
            pagination=page_response,
        )

    return delegator_validators


def _validator_proto(keeper: StakingKeeper, ctx: Context, val_addr: bytes) -> pb.staking.Validator:
    found = keeper.get_validator_proto(ctx, val_addr)
    if found is None:
        raise internal(f"validator does not exist: {valoper_address(val_addr)}")
    return found


def _delegator_validator(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryDelegatorValidatorRequest,
    pb.staking_query.QueryDelegatorValidatorResponse,
]:
    def delegator_validator(
        ctx: Context, req: pb.staking_query.QueryDelegatorValidatorRequest
    ) -> pb.staking_query.QueryDelegatorValidatorResponse:
        del_addr, val_addr = del_bytes(req.delegator_addr), val_bytes(req.validator_addr)
        if keeper.get_delegation(ctx, del_addr, val_addr) is None:
            raise not_found(
                f"delegation with delegator {req.delegator_addr} not found for validator "
                f"{req.validator_addr}"
            )
        return pb.staking_query.QueryDelegatorValidatorResponse(
            validator=_validator_proto(keeper, ctx, val_addr)
        )

    return delegator_validator


def _historical_info(
    keeper: StakingKeeper,
) -> Handler[
    pb.staking_query.QueryHistoricalInfoRequest, pb.staking_query.QueryHistoricalInfoResponse
]:
    def historical_info(
        ctx: Context, req: pb.staking_query.QueryHistoricalInfoRequest
    ) -> pb.staking_query.QueryHistoricalInfoResponse:
        if req.height < 0:
            raise invalid_argument("height cannot be negative")
        found = keeper.get_historical_info(ctx, req.height)
        if found is None:
            raise not_found(f"historical info for height {req.height} not found")
        return pb.staking_query.QueryHistoricalInfoResponse(hist=found)

    return historical_info


def _pool(
    keeper: StakingKeeper,
) -> Handler[pb.staking_query.QueryPoolRequest, pb.staking_query.QueryPoolResponse]:
    def pool(
        ctx: Context, req: pb.staking_query.QueryPoolRequest
    ) -> pb.staking_query.QueryPoolResponse:
        return pb.staking_query.QueryPoolResponse(
            pool=pb.staking.Pool(
                not_bonded_tokens=str(keeper.not_bonded_tokens(ctx)),
                bonded_tokens=str(keeper.total_bonded_tokens(ctx)),
            )
        )

    return pool


def _params(
    keeper: StakingKeeper,
) -> Handler[pb.staking_query.QueryParamsRequest, pb.staking_query.QueryParamsResponse]:
    def params(
        ctx: Context, req: pb.staking_query.QueryParamsRequest
    ) -> pb.staking_query.QueryParamsResponse:
        return pb.staking_query.QueryParamsResponse(params=keeper.get_params_proto(ctx))

    return params
