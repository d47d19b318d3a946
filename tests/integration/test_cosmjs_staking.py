"""Unmodified cosmjs (``@cosmjs/stargate``) staking and distribution against a node's JSON-RPC:
the devnet's and a real CometBFT's (1-validator localnet) — the ``chain`` fixture.

``tests/compat/cosmjs/staking.mjs`` queries the bonded validators, delegates to the genesis
validator (``SigningStargateClient.delegateTokens``), queries the delegation, waits some blocks,
queries the rewards (``DistributionExtension``), withdraws them (``withdrawRewards``),
undelegates (``undelegateTokens``) and queries the unbonding entry, the staking pool and params
and the distribution community pool and params, and mint's inflation and params (what wallets
compute an APR from; also read here from the REST gateway, as Keplr does). LegacyDec fields are
decoded by cosmjs from the wire (``Decimal.fromAtomics``). Its JSON summary is checked here
against the chain as Python sees it (ABCI queries through :class:`aivm.client.Client`, at the
heights cosmjs acted at).
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aivm.app.genesis import parse_time
from aivm.client import Client
from aivm.client.results import TxResult
from aivm.types import pb
from aivm.types.address import acc_address_bytes, valoper_address
from aivm.types.dec import Dec
from chain_drivers import ChainEndpoint
from npm_projects import npm_project, tool

DENOM = "ucgpt"
DELEGATE = 3_000_000
UNDELEGATE = 1_000_000
GENESIS_BOND = 10_000_000
ED25519 = "/cosmos.crypto.ed25519.PubKey"
STAKING = "/cosmos.staking.v1beta1.Query/"
DISTRIBUTION = "/cosmos.distribution.v1beta1.Query/"
BONDED = pb.staking.BOND_STATUS_BONDED
SDK_DEC_JSON = re.compile(r"^\d+\.\d{18}$")  # a LegacyDec in the SDK's JSON

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def cosmjs_dir() -> Path:
    """``tests/compat/cosmjs`` with its node_modules installed (``npm ci``), once per session."""
    return npm_project("cosmjs")


@pytest.fixture()
def client(chain: ChainEndpoint) -> Iterator[Client]:
    with Client(chain.rpc_url) as c:
        yield c


def genesis_operator(chain: ChainEndpoint) -> str:
    """The account operating the chain's genesis validator: dev0 on the devnet, the localnet's
    ``operator0``."""
    if chain.driver == "devnet":
        return chain.accounts[0].address
    operators = json.loads((chain.home / "operators.json").read_text())
    return str(operators[0]["address"])


def cosmjs_decimal(dec: Dec) -> str:
    """How cosmjs' ``Decimal.toString()`` writes ``dec``: no trailing zeros, no exponent."""
    text = format(Decimal(str(dec)).normalize(), "f")
    return text


def from_atomics(atomics: str) -> Dec:
    """A LegacyDec from its wire form; fails on anything but an integer string."""
    assert atomics.isdigit(), f"LegacyDec on the wire must be atomics, got {atomics!r}"
    return Dec.from_proto_str(atomics)


def check_dec_coins(seen: list[dict[str, str]]) -> None:
    for c in seen:
        assert c["denom"] == DENOM
        assert c["amount"] == cosmjs_decimal(from_atomics(c["atomics"]))


def query(client: Client, path: str, request: Any, response: Any, height: int = 0) -> Any:
    value = client.abci_query(path, request.SerializeToString(), height)
    return response.FromString(value)


def balance_at(client: Client, address: str, height: int) -> int:
    answer = query(
        client,
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
        pb.bank_query.QueryBalanceResponse,
        height,
    )
    return int(answer.balance.amount or 0)


def events(tx: TxResult, kind: str) -> list[dict[str, str]]:
    return [dict(e.attributes) for e in tx.events if e.type == kind]


def coin_amount(text: str) -> int:
    """The ucgpt in an SDK coins string (``"123ucgpt"``; ``""`` is none)."""
    total = 0
    for part in filter(None, text.split(",")):
        digits = part.rstrip("abcdefghijklmnopqrstuvwxyz/")
        if part[len(digits) :] == DENOM:
            total += int(digits)
    return total


def run_cosmjs(folder: Path, chain: ChainEndpoint, mnemonic: str) -> dict[str, Any]:
    try:
        run = subprocess.run(
            [tool("node", "the cosmjs staking test"), "staking.mjs", chain.rpc_url, mnemonic],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=240,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"staking.mjs timed out after 240 s; stderr:\n{exc.stderr!r}")
    assert run.returncode == 0, f"staking.mjs failed (exit {run.returncode}):\n{run.stderr}"
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return summary


def test_cosmjs_delegates_withdraws_and_undelegates(
    cosmjs_dir: Path, chain: ChainEndpoint, client: Client
) -> None:
    chain.wait_height(2)
    account = chain.accounts[1]  # funded, operates no validator
    operator = valoper_address(acc_address_bytes(genesis_operator(chain)))
    summary = run_cosmjs(cosmjs_dir, chain, account.mnemonic)
    delegator = account.address

    # validators: what cosmjs saw is the chain's bonded set, the genesis validator first
    bonded = query(
        client,
        STAKING + "Validators",
        pb.staking_query.QueryValidatorsRequest(status="BOND_STATUS_BONDED"),
        pb.staking_query.QueryValidatorsResponse,
    )
    assert summary["bondedValidators"] == [v.operator_address for v in bonded.validators]
    assert summary["validator"] == operator
    assert summary["delegator"] == delegator
    before, after = summary["validatorBefore"], summary["validatorAfter"]
    assert before["operatorAddress"] == operator
    assert (before["status"], before["jailed"]) == (BONDED, False)
    assert before["consensusPubkeyType"] == ED25519
    assert before["moniker"] == ("devnet" if chain.driver == "devnet" else "node0")
    # LegacyDec fields decoded by cosmjs from the wire atomics
    assert (before["commissionRate"], before["commissionMaxRate"]) == ("0.1", "0.2")
    assert before["commissionMaxChangeRate"] == "0.01"
    assert before["minSelfDelegation"] == "1"
    assert before["tokens"] == str(GENESIS_BOND)
    assert before["delegatorShares"] == str(GENESIS_BOND)
    assert before["delegatorSharesAtomics"] == Dec(GENESIS_BOND).to_proto_str()
    assert after["tokens"] == str(GENESIS_BOND + DELEGATE)
    assert after["delegatorShares"] == str(GENESIS_BOND + DELEGATE)
    now = query(
        client,
        STAKING + "Validator",
        pb.staking_query.QueryValidatorRequest(validator_addr=operator),
        pb.staking_query.QueryValidatorResponse,
    ).validator
    assert Dec.from_proto_str(now.commission.commission_rates.rate) == Dec("0.1")
    assert int(now.tokens) == GENESIS_BOND + DELEGATE - UNDELEGATE
    assert from_atomics(now.delegator_shares) == Dec(GENESIS_BOND + DELEGATE - UNDELEGATE)

    # delegate
    delegate = summary["delegate"]
    assert delegate["code"] == 0
    assert delegate["event"] == {
        "validator": operator,
        "delegator": delegator,
        "amount": f"{DELEGATE}{DENOM}",
        "new_shares": str(Dec(DELEGATE)),
        **({"msg_index": "0"} if "msg_index" in delegate["event"] else {}),
    }
    assert summary["delegation"] == {
        "shares": str(DELEGATE),
        "sharesAtomics": Dec(DELEGATE).to_proto_str(),
        "balance": str(DELEGATE),
    }
    at_delegate = query(
        client,
        STAKING + "Delegation",
        pb.staking_query.QueryDelegationRequest(delegator_addr=delegator, validator_addr=operator),
        pb.staking_query.QueryDelegationResponse,
        delegate["height"],
    ).delegation_response
    assert at_delegate.delegation.shares == summary["delegation"]["sharesAtomics"]
    assert sorted(summary["validatorDelegators"]) == sorted([delegator, genesis_operator(chain)])
    assert summary["historicalInfo"] == {
        "height": str(delegate["height"]),
        "chainId": chain.chain_id,
        "valset": [v.operator_address for v in bonded.validators],
    }
    assert balance_change(client, delegator, delegate["height"]) == -DELEGATE - int(delegate["fee"])

    # rewards: what cosmjs read is the chain's answer at one height at or after `height`
    rewards = summary["rewards"]
    for field in ("rewards", "total", "outstanding", "commission"):
        check_dec_coins(rewards[field])
    [seen] = rewards["rewards"]
    assert from_atomics(seen["atomics"]) > Dec(0)
    answers = [
        query(
            client,
            DISTRIBUTION + "DelegationRewards",
            pb.distribution_query.QueryDelegationRewardsRequest(
                delegator_address=delegator, validator_address=operator
            ),
            pb.distribution_query.QueryDelegationRewardsResponse,
            h,
        )
        for h in range(rewards["height"], summary["withdraw"]["height"])
    ]
    assert seen["atomics"] in [a.rewards[0].amount for a in answers if a.rewards]
    [per_validator] = rewards["totalByValidator"]
    assert per_validator["validator"] == operator
    check_dec_coins(per_validator["reward"])

    # withdraw: the balance changes by what the events say, as Python sees the chain
    withdraw = summary["withdraw"]
    assert withdraw["code"] == 0
    tx = client.tx(withdraw["hash"])
    assert tx is not None and tx.code == 0 and tx.height == withdraw["height"]
    withdrawn = sum(
        coin_amount(e["amount"])
        for e in events(tx, "withdraw_rewards")
        if e["delegator"] == delegator and e["validator"] == operator
    )
    assert withdrawn == int(withdraw["withdrawn"]) > 0
    assert withdrawn >= int(Decimal(seen["amount"]))  # rewards only grow
    assert balance_change(client, delegator, withdraw["height"]) == withdrawn - int(withdraw["fee"])
    assert balance_at(client, delegator, withdraw["height"]) == int(withdraw["balanceAfter"])

    # undelegate: completion time = block time + unbonding time, the entry as the chain has it
    undelegate = summary["undelegate"]
    assert undelegate["code"] == 0
    params = query(
        client,
        STAKING + "Params",
        pb.staking_query.QueryParamsRequest(),
        pb.staking_query.QueryParamsResponse,
    ).params
    block_time = parse_time(client.block(undelegate["height"]).time)
    completion = (
        block_time[0] + params.unbonding_time.seconds,
        block_time[1] + params.unbonding_time.nanos,
    )
    completion = (completion[0] + completion[1] // 10**9, completion[1] % 10**9)
    seen_completion = undelegate["completionTime"]
    assert (int(seen_completion["seconds"]), seen_completion["nanos"]) == completion
    assert undelegate["event"]["validator"] == operator
    assert undelegate["event"]["delegator"] == delegator
    assert undelegate["event"]["amount"] == f"{UNDELEGATE}{DENOM}"
    assert parse_time(undelegate["event"]["completion_time"])[0] == completion[0]
    tx = client.tx(undelegate["hash"])
    assert tx is not None and tx.code == 0
    auto_withdrawn = sum(
        coin_amount(e["amount"])
        for e in events(tx, "withdraw_rewards")
        if e["delegator"] == delegator
    )
    assert auto_withdrawn == int(undelegate["withdrawn"])
    assert balance_change(client, delegator, undelegate["height"]) == auto_withdrawn - int(
        undelegate["fee"]
    )
    unbonding = query(
        client,
        STAKING + "DelegatorUnbondingDelegations",
        pb.staking_query.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=delegator),
        pb.staking_query.QueryDelegatorUnbondingDelegationsResponse,
    )
    [ubd] = unbonding.unbonding_responses
    [entry] = ubd.entries
    assert summary["unbondingEntry"] == {
        "creationHeight": str(undelegate["height"]),
        "completionTime": seen_completion,
        "initialBalance": str(UNDELEGATE),
        "balance": str(UNDELEGATE),
        "unbondingId": str(entry.unbonding_id),
    }
    assert entry.creation_height == undelegate["height"]
    assert (entry.completion_time.seconds, entry.completion_time.nanos) == completion
    assert summary["remainingDelegation"] == {
        "shares": str(DELEGATE - UNDELEGATE),
        "balance": str(DELEGATE - UNDELEGATE),
    }

    # every fee and reward accounted for
    fees = sum(int(summary[k]["fee"]) for k in ("delegate", "withdraw", "undelegate"))
    assert client.balance(delegator) == (
        chain.initial_balance - DELEGATE - fees + withdrawn + auto_withdrawn
    )

    # pool and params
    pool = query(
        client,
        STAKING + "Pool",
        pb.staking_query.QueryPoolRequest(),
        pb.staking_query.QueryPoolResponse,
    ).pool
    assert summary["pool"] == {
        "bondedTokens": pool.bonded_tokens,
        "notBondedTokens": pool.not_bonded_tokens,
    }
    assert int(pool.bonded_tokens) == sum(int(v.tokens) for v in bonded.validators)
    assert int(pool.not_bonded_tokens) >= UNDELEGATE
    assert summary["stakingParams"] == {
        "unbondingTime": {
            "seconds": str(params.unbonding_time.seconds),
            "nanos": params.unbonding_time.nanos,
        },
        "maxValidators": params.max_validators,
        "maxEntries": params.max_entries,
        "historicalEntries": params.historical_entries,
        "bondDenom": DENOM,
        "minCommissionRate": cosmjs_decimal(from_atomics(params.min_commission_rate)),
    }
    check_dec_coins(summary["communityPool"])
    community = query(
        client,
        DISTRIBUTION + "CommunityPool",
        pb.distribution_query.QueryCommunityPoolRequest(),
        pb.distribution_query.QueryCommunityPoolResponse,
    ).pool
    [seen_pool] = summary["communityPool"]
    assert Dec.from_proto_str(community[0].amount) >= from_atomics(seen_pool["atomics"]) > Dec(0)
    dparams = query(
        client,
        DISTRIBUTION + "Params",
        pb.distribution_query.QueryParamsRequest(),
        pb.distribution_query.QueryParamsResponse,
    ).params
    assert summary["distributionParams"] == {
        "communityTax": cosmjs_decimal(from_atomics(dparams.community_tax)),
        "baseProposerReward": cosmjs_decimal(from_atomics(dparams.base_proposer_reward or "0")),
        "bonusProposerReward": cosmjs_decimal(from_atomics(dparams.bonus_proposer_reward or "0")),
        "withdrawAddrEnabled": dparams.withdraw_addr_enabled,
    }
    check_mint(chain, summary["mint"])


def rest_get(chain: ChainEndpoint, path: str) -> Any:
    with urllib.request.urlopen(chain.rest_url + path, timeout=10) as resp:
        return json.loads(resp.read())


def check_mint(chain: ChainEndpoint, seen: dict[str, Any]) -> None:
    """cosmjs' MintExtension answers against the REST gateway's JSON (decimals, as the SDK's)."""
    params = rest_get(chain, "/cosmos/mint/v1beta1/params")["params"]
    decimals = ("inflation_rate_change", "inflation_max", "inflation_min", "goal_bonded")
    for name in decimals:
        assert SDK_DEC_JSON.match(params[name]), (name, params[name])
    assert seen["params"] == {
        "mintDenom": params["mint_denom"],
        "inflationRateChange": cosmjs_decimal(Dec(params["inflation_rate_change"])),
        "inflationMax": cosmjs_decimal(Dec(params["inflation_max"])),
        "inflationMin": cosmjs_decimal(Dec(params["inflation_min"])),
        "goalBonded": cosmjs_decimal(Dec(params["goal_bonded"])),
        "blocksPerYear": params["blocks_per_year"],
    }
    assert params["mint_denom"] == DENOM
    inflation = rest_get(chain, "/cosmos/mint/v1beta1/inflation")["inflation"]
    provisions = rest_get(chain, "/cosmos/mint/v1beta1/annual_provisions")["annual_provisions"]
    assert SDK_DEC_JSON.match(inflation) and SDK_DEC_JSON.match(provisions), (inflation, provisions)
    low, high = Dec(params["inflation_min"]), Dec(params["inflation_max"])
    assert low <= Dec(seen["inflation"]) <= high
    assert low <= Dec(inflation) <= high
    assert Dec(seen["annualProvisions"]) > Dec(0) and Dec(provisions) > Dec(0)


def balance_change(client: Client, address: str, height: int) -> int:
    """How much ``address``'s balance changed in block ``height``."""
    return balance_at(client, address, height) - balance_at(client, address, height - 1)
