"""bank REST routes (gRPC-gateway paths of the Cosmos SDK where the module is standard),
mounted by the node's REST gateway."""

from aivm.modules.framework import RestRoute
from aivm.types import pb

ROUTES = (
    RestRoute(
        "/cosmos/bank/v1beta1/balances/{address}/by_denom",
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest,
        pb.bank_query.QueryBalanceResponse,
        "Balance queries the balance of a single coin for a single account (`?denom=`).",
    ),
    RestRoute(
        "/cosmos/bank/v1beta1/balances/{address}",
        "/cosmos.bank.v1beta1.Query/AllBalances",
        pb.bank_query.QueryAllBalancesRequest,
        pb.bank_query.QueryAllBalancesResponse,
        "AllBalances queries the balance of all coins for a single account.",
    ),
    RestRoute(
        "/cosmos/bank/v1beta1/supply/by_denom",
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest,
        pb.bank_query.QuerySupplyOfResponse,
        "SupplyOf queries the supply of a single coin (`?denom=`).",
    ),
    RestRoute(
        "/cosmos/bank/v1beta1/supply",
        "/cosmos.bank.v1beta1.Query/TotalSupply",
        pb.bank_query.QueryTotalSupplyRequest,
        pb.bank_query.QueryTotalSupplyResponse,
        "TotalSupply queries the total supply of all coins.",
    ),
    RestRoute(
        "/cosmos/bank/v1beta1/supply/{denom}",
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        pb.bank_query.QuerySupplyOfRequest,
        pb.bank_query.QuerySupplyOfResponse,
        "SupplyOf (pre-0.47 route, used by cosmpy).",
    ),
    RestRoute(
        "/cosmos/bank/v1beta1/params",
        "/cosmos.bank.v1beta1.Query/Params",
        pb.bank_query.QueryParamsRequest,
        pb.bank_query.QueryParamsResponse,
        "Params queries the parameters of the bank module.",
    ),
)
