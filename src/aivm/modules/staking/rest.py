"""staking REST routes: the Cosmos SDK's gRPC-gateway paths (``/cosmos/staking/v1beta1/…``),
mounted by the node's REST gateway. Path parameters fill the request fields of the same name
(``{validator_addr}``, ``{delegator_addr}``, ``{height}``); URL query parameters fill the rest
(``?status=BOND_STATUS_BONDED``, ``?pagination.limit=10``, ``?src_validator_addr=``), as
Keplr and cosmjs's REST users call them."""

from aivm.modules.framework import RestRoute
from aivm.types import pb

_Q = "/cosmos.staking.v1beta1.Query/"
_P = "/cosmos/staking/v1beta1"
_q = pb.staking_query


def _route(path: str, method: str, summary: str) -> RestRoute:
    request = getattr(_q, f"Query{method}Request")
    response = getattr(_q, f"Query{method}Response")
    return RestRoute(_P + path, _Q + method, request, response, summary)


ROUTES = (
    _route(
        "/validators",
        "Validators",
        "Validators queries all validators that match the given status (`?status=`).",
    ),
    _route("/validators/{validator_addr}", "Validator", "Validator queries validator info."),
    _route(
        "/validators/{validator_addr}/delegations",
        "ValidatorDelegations",
        "ValidatorDelegations queries the delegations of a validator.",
    ),
    _route(
        "/validators/{validator_addr}/delegations/{delegator_addr}",
        "Delegation",
        "Delegation queries the delegation of a delegator to a validator.",
    ),
    _route(
        "/validators/{validator_addr}/delegations/{delegator_addr}/unbonding_delegation",
        "UnbondingDelegation",
        "UnbondingDelegation queries the unbonding of a delegator from a validator.",
    ),
    _route(
        "/validators/{validator_addr}/unbonding_delegations",
        "ValidatorUnbondingDelegations",
        "ValidatorUnbondingDelegations queries the unbonding delegations of a validator.",
    ),
    _route(
        "/delegations/{delegator_addr}",
        "DelegatorDelegations",
        "DelegatorDelegations queries all delegations of a delegator.",
    ),
    _route(
        "/delegators/{delegator_addr}/unbonding_delegations",
        "DelegatorUnbondingDelegations",
        "DelegatorUnbondingDelegations queries all unbonding delegations of a delegator.",
    ),
    _route(
        "/delegators/{delegator_addr}/redelegations",
        "Redelegations",
        "Redelegations queries the redelegations of a delegator "
        "(`?src_validator_addr=`, `?dst_validator_addr=`).",
    ),
    _route(
        "/delegators/{delegator_addr}/validators",
        "DelegatorValidators",
        "DelegatorValidators queries the validators a delegator delegates to.",
    ),
    _route(
        "/delegators/{delegator_addr}/validators/{validator_addr}",
        "DelegatorValidator",
        "DelegatorValidator queries one validator a delegator delegates to.",
    ),
    _route(
        "/historical_info/{height}",
        "HistoricalInfo",
        "HistoricalInfo queries the header and validator set stored for a height.",
    ),
    _route("/pool", "Pool", "Pool queries the bonded and not-bonded token totals."),
    _route("/params", "Params", "Params queries the staking parameters."),
)
