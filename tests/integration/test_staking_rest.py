"""The staking REST routes through the node's real REST gateway on a running devnet (whose one
validator dev0 operates, bonded at genesis): the SDK gateway's paths, path and query
parameters (``status``, ``pagination.limit``, ``pagination.count_total``), proto3 JSON with
decimals where the SDK shows decimals, and gRPC-gateway error statuses (404, 400)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from aivm.node.home import VALIDATOR_POWER
from aivm.types.address import acc_address_bytes, valoper_address
from chain_drivers import ChainEndpoint

pytestmark = pytest.mark.parametrize("chain", ["devnet"], indirect=True)
BASE = "/cosmos/staking/v1beta1"
BOND = VALIDATOR_POWER * 1_000_000
UNKNOWN_VAL = valoper_address(hashlib.sha256(b"nobody").digest()[:20])


def get(chain: ChainEndpoint, path: str, **params: str) -> tuple[int, Any]:
    response = requests.get(chain.rest_url + BASE + path, params=params, timeout=30)
    return response.status_code, response.json()


def _ok(chain: ChainEndpoint, path: str, **params: str) -> Any:
    status, body = get(chain, path, **params)
    assert status == 200, body
    return body


def test_validators_as_keplr_reads_them(chain: ChainEndpoint) -> None:
    dev0 = chain.accounts[0].address
    val0 = valoper_address(acc_address_bytes(dev0))
    body = _ok(chain, "/validators", status="BOND_STATUS_BONDED", **{"pagination.limit": "1"})
    (validator,) = body["validators"]
    assert validator["operator_address"] == val0
    assert validator["status"] == "BOND_STATUS_BONDED" and validator["jailed"] is False
    assert validator["tokens"] == str(BOND)
    assert validator["delegator_shares"] == f"{BOND}.000000000000000000"
    rates = validator["commission"]["commission_rates"]
    assert all(rate.count(".") == 1 and len(rate.split(".")[1]) == 18 for rate in rates.values())
    assert validator["consensus_pubkey"]["@type"] == "/cosmos.crypto.ed25519.PubKey"
    assert not body["pagination"]["next_key"]  # the only bonded one
    assert body["pagination"]["total"] == "0"  # a limit without count_total counts nothing
    counted = _ok(chain, "/validators", **{"pagination.count_total": "true"})
    assert counted["pagination"]["total"] == str(len(counted["validators"]))
    unlimited = _ok(chain, "/validators")  # no limit: counted, as the SDK's query.Paginate
    assert unlimited["pagination"]["total"] == str(len(unlimited["validators"])) != "0"
    assert _ok(chain, "/validators", status="BOND_STATUS_UNBONDING")["validators"] == []
    assert _ok(chain, f"/validators/{val0}")["validator"] == validator


def test_delegation_routes(chain: ChainEndpoint) -> None:
    dev0 = chain.accounts[0].address
    val0 = valoper_address(acc_address_bytes(dev0))
    one = _ok(chain, f"/validators/{val0}/delegations/{dev0}")["delegation_response"]
    assert one["balance"] == {"denom": "ucgpt", "amount": str(BOND)}
    assert one["delegation"] == {
        "delegator_address": dev0,
        "validator_address": val0,
        "shares": f"{BOND}.000000000000000000",
    }
    to_val = _ok(chain, f"/validators/{val0}/delegations")["delegation_responses"]
    assert one in to_val
    assert one in _ok(chain, f"/delegations/{dev0}")["delegation_responses"]
    assert _ok(chain, f"/delegators/{dev0}/validators")["validators"][0]["operator_address"] == (
        val0
    )
    assert _ok(chain, f"/delegators/{dev0}/validators/{val0}")["validator"]["tokens"] == str(BOND)
    assert _ok(chain, f"/delegators/{dev0}/unbonding_delegations")["unbonding_responses"] == []
    assert _ok(chain, f"/delegators/{dev0}/redelegations")["redelegation_responses"] == []
    assert _ok(chain, f"/validators/{val0}/unbonding_delegations")["unbonding_responses"] == []
    status, body = get(chain, f"/validators/{val0}/delegations/{dev0}/unbonding_delegation")
    assert status == 404 and "not found" in body["message"]


def test_pool_params_historical_info(chain: ChainEndpoint) -> None:
    pool = _ok(chain, "/pool")["pool"]
    assert int(pool["bonded_tokens"]) >= BOND and pool["not_bonded_tokens"].isdigit()
    params = _ok(chain, "/params")["params"]
    assert params["bond_denom"] == "ucgpt"
    assert params["unbonding_time"].endswith("s")
    assert params["min_commission_rate"].count(".") == 1
    height = chain.wait_height(2) - 1
    hist = _ok(chain, f"/historical_info/{height}")["hist"]
    assert hist["header"]["height"] == str(height) and hist["valset"]


def test_errors_have_gateway_statuses(chain: ChainEndpoint) -> None:
    status, body = get(chain, f"/validators/{UNKNOWN_VAL}")
    assert status == 404 and body["code"] == 5
    assert body["message"] == f"validator {UNKNOWN_VAL} not found: key not found"
    status, body = get(chain, "/validators/aivmvaloper1bad")
    assert status == 400 and body["code"] == 3
    status, body = get(chain, "/validators", status="JAILED")
    assert status == 400 and "invalid validator status" in body["message"]
    status, body = get(chain, "/historical_info/99999999")
    assert status == 404
    status, body = get(chain, "/validators", **{"pagination.limit": "not-a-number"})
    assert status == 400


def test_sdk_client_delegates_and_reads_back(chain: ChainEndpoint) -> None:
    from aivm.client import Client, Wallet
    from aivm.client.errors import ChainError
    from aivm.modules.staking.client import StakingClient, StakingInputError

    wallet = Wallet.from_mnemonic(chain.accounts[1].mnemonic)
    with Client(chain.rpc_url) as client:
        staking = client.modules.staking
        assert isinstance(staking, StakingClient) and client.modules.staking is staking
        (validator,) = staking.validators("bonded")
        val0 = validator.operator_address
        assert staking.delegation(wallet.address, val0) is None
        result = staking.delegate(wallet, val0, 3_000_000)
        assert result.ok and result.height > 0
        delegation = staking.delegation(wallet.address, val0)
        assert delegation is not None and delegation.balance.amount == "3000000"
        assert [d.delegation.validator_address for d in staking.delegations(wallet.address)] == [
            val0
        ]
        assert len(staking.validator_delegations(val0)) == 2  # dev0's self-bond and this one
        unbonded = staking.undelegate(wallet, val0, "1000000ucgpt")
        (ubd,) = staking.unbonding_delegations(wallet.address)
        (entry,) = ubd.entries
        assert entry.balance == "1000000" and entry.creation_height == unbonded.height
        assert int(staking.pool().not_bonded_tokens) >= 1_000_000
        assert staking.params().bond_denom == "ucgpt"
        assert staking.validator(val0).operator_address == val0
        assert staking.historical_info(unbonded.height).header.height == unbonded.height
        with pytest.raises(ChainError) as err:
            staking.validator(UNKNOWN_VAL)
        assert (err.value.codespace, err.value.code) == ("sdk", 22)
        with pytest.raises(ChainError) as err:
            staking.undelegate(wallet, val0, 10**15)  # more than delegated: fails on chain
        assert (err.value.codespace, err.value.code) == ("sdk", 18)  # as the SDK
        assert "invalid shares amount" in str(err.value)
        with pytest.raises(StakingInputError):
            staking.delegate(wallet, wallet.address, 1)  # an account, not a validator
