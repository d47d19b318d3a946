"""Unmodified cosmpy staking helpers against the REST gateway (``/cosmos/staking/v1beta1``,
``/cosmos/distribution/v1beta1``, ``/cosmos/tx/v1beta1``): ``query_validators``,
``delegate_tokens``, ``query_staking_summary`` (paginated one delegation per page, with each
delegation's rewards), ``claim_rewards`` and ``undelegate_tokens`` — on the devnet and on a
1-validator CometBFT localnet (the ``chain`` fixture). What cosmpy reports is checked against
the chain as Python sees it (ABCI queries through :class:`aivm.client.Client`)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.staking import ValidatorStatus
from cosmpy.aerial.tx_helpers import SubmittedTx, TxResponse
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.protos.cosmos.distribution.v1beta1.query_pb2 import (
    QueryDelegationTotalRewardsRequest,
)
from cosmpy.protos.cosmos.staking.v1beta1.query_pb2 import QueryValidatorRequest

from aivm.client import Client
from aivm.types import pb
from aivm.types.address import acc_address_bytes, valoper_address
from aivm.types.dec import Dec
from chain_drivers import ChainEndpoint

DENOM = "ucgpt"
DELEGATE = 3_000_000
UNDELEGATE = 1_000_000
GENESIS_BOND = 10_000_000
REWARD_BLOCKS = 4
STAKING = "/cosmos.staking.v1beta1.Query/"
DISTRIBUTION = "/cosmos.distribution.v1beta1.Query/"
# an SDK v0.50 Validator as its gRPC gateway writes it (non-nullable fields always present)
SDK_VALIDATOR_KEYS = {
    "operator_address",
    "consensus_pubkey",
    "jailed",
    "status",
    "tokens",
    "delegator_shares",
    "description",
    "unbonding_height",
    "unbonding_time",
    "commission",
    "min_self_delegation",
    "unbonding_on_hold_ref_count",
    "unbonding_ids",
}

pytestmark = pytest.mark.e2e


@pytest.fixture()
def client(chain: ChainEndpoint) -> Iterator[Client]:
    with Client(chain.rpc_url) as c:
        yield c


def ledger(chain: ChainEndpoint) -> LedgerClient:
    return LedgerClient(
        NetworkConfig(
            chain_id=chain.chain_id,
            url=f"rest+{chain.rest_url}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        ),
        query_interval_secs=1,
        query_timeout_secs=int(chain.tx_timeout) + 10,
    )


def genesis_operator(chain: ChainEndpoint) -> str:
    """The account operating the genesis validator: dev0 on the devnet, ``operator0`` on a
    localnet."""
    if chain.driver == "devnet":
        return chain.accounts[0].address
    operators = json.loads((chain.home / "operators.json").read_text())
    return str(operators[0]["address"])


def query(client: Client, path: str, request: Any, response: Any, height: int = 0) -> Any:
    return response.FromString(client.abci_query(path, request.SerializeToString(), height))


def balance_at(client: Client, address: str, height: int) -> int:
    answer = query(
        client,
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
        pb.bank_query.QueryBalanceResponse,
        height,
    )
    return int(answer.balance.amount or 0)


def rewards_at(client: Client, delegator: str, validator: str, height: int) -> Dec:
    answer = query(
        client,
        DISTRIBUTION + "DelegationRewards",
        pb.distribution_query.QueryDelegationRewardsRequest(
            delegator_address=delegator, validator_address=validator
        ),
        pb.distribution_query.QueryDelegationRewardsResponse,
        height,
    )
    return sum((Dec.from_proto_str(c.amount) for c in answer.rewards if c.denom == DENOM), Dec(0))


def completed(tx: SubmittedTx) -> TxResponse:
    tx.wait_to_complete()
    response = tx.response
    assert response is not None
    assert response.code == 0, response.raw_log
    return response


def paid_fee(client: Client, tx_hash: str) -> int:
    """The fee of a tx, decoded from the tx bytes the node returns."""
    result = client.tx(tx_hash)
    assert result is not None
    fee = pb.tx.Tx.FromString(result.tx).auth_info.fee
    return sum(int(c.amount) for c in fee.amount if c.denom == DENOM)


def coin_amount(text: str) -> int:
    digits = text.removesuffix(DENOM)
    assert digits.isdigit(), text
    return int(digits)


def test_cosmpy_delegates_claims_and_undelegates(chain: ChainEndpoint, client: Client) -> None:
    chain.wait_height(2)
    ledger_client = ledger(chain)
    wallet = LocalWallet.from_mnemonic(chain.accounts[1].mnemonic, prefix="aivm")
    delegator = chain.accounts[1].address
    assert str(wallet.address()) == delegator
    operator = valoper_address(acc_address_bytes(genesis_operator(chain)))

    # validators: the chain's bonded set, as cosmpy reads it over REST
    validators = ledger_client.query_validators()
    bonded = query(
        client,
        STAKING + "Validators",
        pb.staking_query.QueryValidatorsRequest(status="BOND_STATUS_BONDED"),
        pb.staking_query.QueryValidatorsResponse,
    ).validators
    assert [str(v.address) for v in validators] == [v.operator_address for v in bonded]
    [validator] = [v for v in validators if str(v.address) == operator]
    assert validator.status == ValidatorStatus.BONDED
    assert validator.tokens == GENESIS_BOND
    assert validator.moniker == ("devnet" if chain.driver == "devnet" else "node0")
    everyone = ledger_client.query_validators(ValidatorStatus.UNSPECIFIED)
    assert {str(v.address) for v in everyone} >= {operator}
    # LegacyDec fields over REST are decimals, as the SDK's gateway writes them
    raw = ledger_client.staking.Validator(QueryValidatorRequest(validator_addr=operator))
    assert raw.validator.commission.commission_rates.rate == "0.100000000000000000"
    assert raw.validator.delegator_shares == f"{GENESIS_BOND}.000000000000000000"
    # the JSON itself, as wallets (Keplr) read the same route
    url = f"{chain.rest_url}/cosmos/staking/v1beta1/validators/{operator}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        shown = json.loads(resp.read())["validator"]
    assert set(shown) == SDK_VALIDATOR_KEYS
    assert shown["unbonding_time"] == "1970-01-01T00:00:00Z"  # never unbonded: the SDK's zero
    assert shown["status"] == "BOND_STATUS_BONDED"

    empty = ledger_client.query_staking_summary(wallet.address())
    assert (empty.current_positions, empty.unbonding_positions) == ([], [])

    # delegate
    delegate = completed(ledger_client.delegate_tokens(validator.address, DELEGATE, wallet))
    assert delegate.events["delegate"]["validator"] == operator
    assert delegate.events["delegate"]["amount"] == f"{DELEGATE}{DENOM}"
    assert delegate.events["delegate"]["new_shares"] == str(Dec(DELEGATE))
    change = balance_at(client, delegator, delegate.height) - balance_at(
        client, delegator, delegate.height - 1
    )
    assert change == -DELEGATE - paid_fee(client, delegate.hash)

    # staking summary with rewards, after a few blocks
    chain.wait_height(delegate.height + REWARD_BLOCKS, timeout=60)
    first = chain.height()
    summary = ledger_client.query_staking_summary(wallet.address())
    last = chain.height()
    [position] = summary.current_positions
    assert str(position.validator) == operator
    assert position.amount == DELEGATE
    assert summary.unbonding_positions == []
    # the rewards cosmpy read (a decimal over REST) are the chain's at one of those heights
    chain_rewards = {h: rewards_at(client, delegator, operator, h) for h in range(first, last + 1)}
    assert position.reward_dec in {Decimal(str(r)) for r in chain_rewards.values()}
    assert position.reward == int(position.reward_dec) > 0
    assert summary.total_rewards == position.reward
    total = ledger_client.distribution.DelegationTotalRewards(
        QueryDelegationTotalRewardsRequest(delegator_address=delegator)
    )
    assert [r.validator_address for r in total.rewards] == [operator]
    assert Decimal(total.total[0].amount) >= position.reward_dec

    # claim rewards: the balance changes by what the events say
    claim = completed(ledger_client.claim_rewards(validator.address, wallet))
    withdrawn = coin_amount(claim.events["withdraw_rewards"]["amount"])
    assert claim.events["withdraw_rewards"]["delegator"] == delegator
    assert withdrawn >= position.reward
    change = balance_at(client, delegator, claim.height) - balance_at(
        client, delegator, claim.height - 1
    )
    assert change == withdrawn - paid_fee(client, claim.hash)
    after_claim = rewards_at(client, delegator, operator, claim.height)
    assert after_claim == Dec(0)

    # undelegate: part of the delegation becomes an unbonding position
    undelegate = completed(ledger_client.undelegate_tokens(validator.address, UNDELEGATE, wallet))
    assert undelegate.events["unbond"]["amount"] == f"{UNDELEGATE}{DENOM}"
    assert undelegate.events["unbond"]["validator"] == operator
    summary = ledger_client.query_staking_summary(wallet.address())
    [position] = summary.current_positions
    assert position.amount == DELEGATE - UNDELEGATE
    [unbonding] = summary.unbonding_positions
    assert (str(unbonding.validator), unbonding.amount) == (operator, UNDELEGATE)
    assert summary.total_unbonding == UNDELEGATE
    entries = query(
        client,
        STAKING + "DelegatorUnbondingDelegations",
        pb.staking_query.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=delegator),
        pb.staking_query.QueryDelegatorUnbondingDelegationsResponse,
    ).unbonding_responses
    assert [(e.validator_address, [x.balance for x in e.entries]) for e in entries] == [
        (operator, [str(UNDELEGATE)])
    ]
    assert entries[0].entries[0].creation_height == undelegate.height

    # the validator as cosmpy and the chain see it now
    [now] = [v for v in ledger_client.query_validators() if str(v.address) == operator]
    assert now.tokens == GENESIS_BOND + DELEGATE - UNDELEGATE
    assert now.tokens == int(
        query(
            client,
            STAKING + "Validator",
            pb.staking_query.QueryValidatorRequest(validator_addr=operator),
            pb.staking_query.QueryValidatorResponse,
        ).validator.tokens
    )
