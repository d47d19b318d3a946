"""staking gRPC queries over ABCI (``/cosmos.staking.v1beta1.Query/...``): what cosmjs,
cosmpy and Keplr read — validators with a status filter and pages, delegations with their
balances, unbonding and redelegation entries, historical info, pool and params — and the
SDK's error codes (NotFound → sdk 22 "key not found", bad address → sdk 7, bad argument →
sdk 18). One chain is built once: a genesis validator (A's gentx), a second validator created
by MsgCreateValidator (B), and a delegator (C) who delegates, unbonds and redelegates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aivm.client.wallet import Wallet
from aivm.modules.staking.client import description, msg_create_validator
from aivm.modules.staking.genesis import gentx
from aivm.types import pb
from aivm.types.address import acc_address, valoper_address
from aivm.types.coin import Coin
from aivm.types.dec import Dec
from harness import Chain, genesis_doc, make_key

Q = "/cosmos.staking.v1beta1.Query/"
q = pb.staking_query
A, B, C, D = make_key(41), make_key(42), make_key(43), make_key(44)
ADDR = {k: acc_address(k.pubkey.address()) for k in (A, B, C, D)}
VAL_A, VAL_B = valoper_address(A.pubkey.address()), valoper_address(B.pubkey.address())
CONS_A, CONS_B = hashlib.sha256(b"cons-a").digest(), hashlib.sha256(b"cons-b").digest()
BOND_A, BOND_B = 10_000_000, 4_000_000
DELEGATE_A, DELEGATE_B, UNBOND, REDELEGATE = 3_000_000, 2_000_000, 1_000_000, 500_000
UNKNOWN_VAL = valoper_address(hashlib.sha256(b"nobody").digest()[:20])


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom="ucgpt", amount=str(amount))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    funded = {k.pubkey.address(): 10**12 for k in (A, B, C, D)}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["staking"] = {"gen_txs": [gentx(ADDR[A], CONS_A, BOND_A, "alpha")]}
    chain = Chain.start(Path(tmp_path_factory.mktemp("staking")) / "data", funded, genesis=doc)
    chain.block([])
    created = msg_create_validator(
        Wallet(B),
        CONS_B,
        Coin("ucgpt", BOND_B),
        description(moniker="beta", identity="", website="", security_contact="", details=""),
        (Dec("0.05"), Dec("0.2"), Dec("0.01")),
    )
    _ok(chain.deliver(B, created))
    _ok(
        chain.deliver(
            C,
            pb.staking_tx.MsgDelegate(
                delegator_address=ADDR[C], validator_address=VAL_A, amount=_coin(DELEGATE_A)
            ),
            pb.staking_tx.MsgDelegate(
                delegator_address=ADDR[C], validator_address=VAL_B, amount=_coin(DELEGATE_B)
            ),
        )
    )
    _ok(
        chain.deliver(
            C,
            pb.staking_tx.MsgUndelegate(
                delegator_address=ADDR[C], validator_address=VAL_A, amount=_coin(UNBOND)
            ),
        )
    )
    unbond_height = chain.height
    _ok(
        chain.deliver(
            C,
            pb.staking_tx.MsgBeginRedelegate(
                delegator_address=ADDR[C],
                validator_src_address=VAL_A,
                validator_dst_address=VAL_B,
                amount=_coin(REDELEGATE),
            ),
        )
    )
    chain.block([])
    yield {"chain": chain, "unbond_height": unbond_height}


def _ok(result: pb.abci.ExecTxResult) -> None:
    assert result.code == 0, result.log


def query(world: dict[str, Any], method: str, request: pb.Message) -> Any:
    """The decoded answer; fails on an error."""
    response, value = world["chain"].query(
        Q + method, request, getattr(q, f"Query{method}Response")
    )
    assert response.code == 0, response.log
    return value


def error(world: dict[str, Any], method: str, request: pb.Message) -> tuple[str, int, str]:
    response, _ = world["chain"].query(Q + method, request, getattr(q, f"Query{method}Response"))
    assert response.code != 0
    return response.codespace, response.code, response.log


def test_validators_status_filter_and_pages(world: dict[str, Any]) -> None:
    found = query(world, "Validators", q.QueryValidatorsRequest()).validators
    assert sorted(v.operator_address for v in found) == sorted([VAL_A, VAL_B])
    by_addr = {v.operator_address: v for v in found}
    a, b = by_addr[VAL_A], by_addr[VAL_B]
    assert a.status == b.status == pb.staking.BOND_STATUS_BONDED
    assert int(a.tokens) == BOND_A + DELEGATE_A - UNBOND - REDELEGATE
    assert int(b.tokens) == BOND_B + DELEGATE_B + REDELEGATE
    assert Dec.from_proto_str(b.commission.commission_rates.rate) == Dec("0.05")
    assert b.description.moniker == "beta" and a.description.moniker == "alpha"
    assert pb.unpack_any(b.consensus_pubkey, pb.ed25519.PubKey).key == CONS_B
    bonded = q.QueryValidatorsRequest(status="BOND_STATUS_BONDED")
    assert len(query(world, "Validators", bonded).validators) == 2
    unbonded = q.QueryValidatorsRequest(status="BOND_STATUS_UNBONDED")
    assert list(query(world, "Validators", unbonded).validators) == []
    first = query(
        world,
        "Validators",
        q.QueryValidatorsRequest(pagination=pb.pagination.PageRequest(limit=1, count_total=True)),
    )
    assert len(first.validators) == 1 and first.pagination.total == 2
    second = query(
        world,
        "Validators",
        q.QueryValidatorsRequest(
            pagination=pb.pagination.PageRequest(limit=1, key=first.pagination.next_key)
        ),
    )
    assert len(second.validators) == 1 and not second.pagination.next_key
    assert {first.validators[0].operator_address, second.validators[0].operator_address} == {
        VAL_A,
        VAL_B,
    }
    codespace, code, log = error(world, "Validators", q.QueryValidatorsRequest(status="JAILED"))
    assert (codespace, code) == ("sdk", 18) and "invalid validator status JAILED" in log
    too_many = q.QueryValidatorsRequest(pagination=pb.pagination.PageRequest(limit=10**6))
    assert error(world, "Validators", too_many)[:2] == ("sdk", 18)


def test_validator_and_its_errors(world: dict[str, Any]) -> None:
    found = query(world, "Validator", q.QueryValidatorRequest(validator_addr=VAL_B)).validator
    assert found.operator_address == VAL_B and found.min_self_delegation == "1"
    codespace, code, log = error(
        world, "Validator", q.QueryValidatorRequest(validator_addr=UNKNOWN_VAL)
    )
    assert (codespace, code) == ("sdk", 22)
    assert log == (
        f"rpc error: code = NotFound desc = validator {UNKNOWN_VAL} not found: key not found"
    )
    bad = q.QueryValidatorRequest(validator_addr=ADDR[A])  # an account, not a valoper
    assert error(world, "Validator", bad)[:2] == ("sdk", 7)
    empty = error(world, "Validator", q.QueryValidatorRequest())
    assert empty[:2] == ("sdk", 18) and "validator address cannot be empty" in empty[2]


def test_delegations_with_balances(world: dict[str, Any]) -> None:
    one = query(
        world, "Delegation", q.QueryDelegationRequest(delegator_addr=ADDR[C], validator_addr=VAL_A)
    ).delegation_response
    assert one.delegation.delegator_address == ADDR[C]
    assert one.delegation.validator_address == VAL_A
    assert one.balance == _coin(DELEGATE_A - UNBOND - REDELEGATE)
    assert Dec.from_proto_str(one.delegation.shares) == Dec(DELEGATE_A - UNBOND - REDELEGATE)
    mine = query(
        world, "DelegatorDelegations", q.QueryDelegatorDelegationsRequest(delegator_addr=ADDR[C])
    ).delegation_responses
    assert {d.delegation.validator_address: int(d.balance.amount) for d in mine} == {
        VAL_A: DELEGATE_A - UNBOND - REDELEGATE,
        VAL_B: DELEGATE_B + REDELEGATE,
    }
    to_a = query(
        world, "ValidatorDelegations", q.QueryValidatorDelegationsRequest(validator_addr=VAL_A)
    ).delegation_responses
    assert {d.delegation.delegator_address: int(d.balance.amount) for d in to_a} == {
        ADDR[A]: BOND_A,
        ADDR[C]: DELEGATE_A - UNBOND - REDELEGATE,
    }
    none = query(
        world, "DelegatorDelegations", q.QueryDelegatorDelegationsRequest(delegator_addr=ADDR[D])
    )
    assert list(none.delegation_responses) == []
    codespace, code, log = error(
        world, "Delegation", q.QueryDelegationRequest(delegator_addr=ADDR[D], validator_addr=VAL_A)
    )
    assert (codespace, code) == ("sdk", 22) and "key not found" in log  # cosmjs: null


def test_unbonding_entries(world: dict[str, Any]) -> None:
    unbond = query(
        world,
        "UnbondingDelegation",
        q.QueryUnbondingDelegationRequest(delegator_addr=ADDR[C], validator_addr=VAL_A),
    ).unbond
    assert (unbond.delegator_address, unbond.validator_address) == (ADDR[C], VAL_A)
    (entry,) = unbond.entries
    assert entry.balance == entry.initial_balance == str(UNBOND)
    assert entry.creation_height == world["unbond_height"]
    params = query(world, "Params", q.QueryParamsRequest()).params
    assert entry.completion_time.seconds > params.unbonding_time.seconds  # block time + period
    of_c = query(
        world,
        "DelegatorUnbondingDelegations",
        q.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=ADDR[C]),
    ).unbonding_responses
    of_a = query(
        world,
        "ValidatorUnbondingDelegations",
        q.QueryValidatorUnbondingDelegationsRequest(validator_addr=VAL_A),
    ).unbonding_responses
    assert list(of_c) == list(of_a) == [unbond]
    missing = q.QueryUnbondingDelegationRequest(delegator_addr=ADDR[C], validator_addr=VAL_B)
    assert error(world, "UnbondingDelegation", missing)[:2] == ("sdk", 22)


def test_redelegations(world: dict[str, Any]) -> None:
    of_c = query(
        world, "Redelegations", q.QueryRedelegationsRequest(delegator_addr=ADDR[C])
    ).redelegation_responses
    (found,) = of_c
    assert found.redelegation.validator_src_address == VAL_A
    assert found.redelegation.validator_dst_address == VAL_B
    (entry,) = found.entries
    assert entry.balance == str(REDELEGATE)
    assert entry.redelegation_entry.initial_balance == str(REDELEGATE)
    exact = q.QueryRedelegationsRequest(
        delegator_addr=ADDR[C], src_validator_addr=VAL_A, dst_validator_addr=VAL_B
    )
    assert list(query(world, "Redelegations", exact).redelegation_responses) == [found]
    from_a = q.QueryRedelegationsRequest(src_validator_addr=VAL_A)
    assert list(query(world, "Redelegations", from_a).redelegation_responses) == [found]
    wrong_way = q.QueryRedelegationsRequest(
        delegator_addr=ADDR[C], src_validator_addr=VAL_B, dst_validator_addr=VAL_A
    )
    assert error(world, "Redelegations", wrong_way)[:2] == ("sdk", 22)


def test_delegator_validators(world: dict[str, Any]) -> None:
    found = query(
        world, "DelegatorValidators", q.QueryDelegatorValidatorsRequest(delegator_addr=ADDR[C])
    ).validators
    assert sorted(v.operator_address for v in found) == sorted([VAL_A, VAL_B])
    one = query(
        world,
        "DelegatorValidator",
        q.QueryDelegatorValidatorRequest(delegator_addr=ADDR[C], validator_addr=VAL_B),
    ).validator
    assert one.operator_address == VAL_B
    none = q.QueryDelegatorValidatorRequest(delegator_addr=ADDR[D], validator_addr=VAL_B)
    assert error(world, "DelegatorValidator", none)[:2] == ("sdk", 22)


def test_historical_info_pool_params(world: dict[str, Any]) -> None:
    chain: Chain = world["chain"]
    hist = query(world, "HistoricalInfo", q.QueryHistoricalInfoRequest(height=chain.height)).hist
    assert hist.header.height == chain.height
    assert sorted(v.operator_address for v in hist.valset) == sorted([VAL_A, VAL_B])
    future = q.QueryHistoricalInfoRequest(height=chain.height + 100)
    assert error(world, "HistoricalInfo", future)[:2] == ("sdk", 22)
    assert error(world, "HistoricalInfo", q.QueryHistoricalInfoRequest(height=-1))[:2] == (
        "sdk",
        18,
    )
    pool = query(world, "Pool", q.QueryPoolRequest()).pool
    assert int(pool.bonded_tokens) == BOND_A + BOND_B + DELEGATE_A + DELEGATE_B - UNBOND
    assert int(pool.not_bonded_tokens) == UNBOND
    params = query(world, "Params", q.QueryParamsRequest()).params
    assert params.bond_denom == "ucgpt" and params.max_validators > 0
