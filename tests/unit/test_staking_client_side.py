"""The client-facing pieces of staking that need no chain: paging over keeper iterators,
LegacyDec fields rendered as decimals in JSON, the SDK's argument checks and the REST table."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aivm.modules.staking import client as sc
from aivm.modules.staking.queries import paginate_iter
from aivm.modules.staking.rest import ROUTES
from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.dec_json import render_decs
from aivm.types.errors import AivmError
from aivm.types.pagination import MAX_LIMIT

KEY = bytes(range(32))


def _page(limit: int = 0, **kw: object) -> pb.pagination.PageRequest:
    return pb.pagination.PageRequest(limit=limit, **kw)  # type: ignore[arg-type]


def test_pages_follow_next_key_to_the_end() -> None:
    items = list(range(25))
    seen: list[int] = []
    request = _page(10)
    while True:
        page, response = paginate_iter(iter(items), request)
        seen.extend(page)
        if not response.next_key:
            break
        request = _page(10, key=response.next_key)
    assert seen == items
    last, response = paginate_iter(items, _page(5, key=(20).to_bytes(8, "big")))
    assert last == [20, 21, 22, 23, 24] and response.next_key == b""


def test_offset_total_and_reverse() -> None:
    items = list(range(7))
    page, response = paginate_iter(items, _page(3, offset=2, count_total=True))
    assert page == [2, 3, 4] and response.total == 7 and response.next_key
    page, response = paginate_iter(items, _page(3, reverse=True))
    assert page == [6, 5, 4]
    page, response = paginate_iter(items, None)  # no limit: the SDK counts the total
    assert page == items and response.next_key == b"" and response.total == 7
    page, _ = paginate_iter(items, _page(3, offset=2**64 - 1))
    assert page == []


def test_a_page_reads_only_up_to_its_end() -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for i in range(1000):
            read.append(i)
            yield i

    page, response = paginate_iter(items(), _page(10, offset=5))
    assert page == list(range(5, 15)) and response.next_key
    assert len(read) == 16  # skipped 5, the page, one more to know there is a next page


def test_bad_page_requests_are_invalid_requests() -> None:
    with pytest.raises(AivmError) as err:
        paginate_iter([1], _page(MAX_LIMIT + 1))
    assert (err.value.codespace, err.value.code) == ("sdk", 18)
    with pytest.raises(AivmError):
        paginate_iter([1], _page(1, key=b"\x01" * 9))
    with pytest.raises(AivmError):
        paginate_iter([1], _page(1, key=b"\x01", offset=1))


def _validator() -> pb.staking.Validator:
    v = pb.staking.Validator(
        operator_address="aivmvaloper1x",
        tokens="1000000",
        delegator_shares=Dec("1000000").to_proto_str(),
        min_self_delegation="1",
    )
    v.consensus_pubkey.CopyFrom(pb.pack_any(pb.ed25519.PubKey(key=KEY)))
    rates = v.commission.commission_rates
    rates.rate, rates.max_rate = Dec("0.05").to_proto_str(), Dec("0.2").to_proto_str()
    rates.max_change_rate = Dec("0.01").to_proto_str()
    return v


def test_json_shows_legacy_decs_as_decimals() -> None:
    response = pb.staking_query.QueryValidatorsResponse(validators=[_validator()])
    data = pb.json_format.MessageToDict(response, preserving_proto_field_name=True)
    out = render_decs(response.DESCRIPTOR, data)["validators"][0]
    assert out["delegator_shares"] == "1000000.000000000000000000"
    assert out["tokens"] == "1000000" and out["min_self_delegation"] == "1"  # Int: unchanged
    assert out["commission"]["commission_rates"] == {
        "rate": "0.050000000000000000",
        "max_rate": "0.200000000000000000",
        "max_change_rate": "0.010000000000000000",
    }
    assert out["consensus_pubkey"]["key"] == base64.b64encode(KEY).decode()
    camel = render_decs(response.DESCRIPTOR, pb.json_format.MessageToDict(response))  # JSON names
    assert camel["validators"][0]["delegatorShares"] == "1000000.000000000000000000"


def test_json_decs_in_nested_repeated_and_bytes_fields() -> None:
    redelegation = pb.staking.RedelegationResponse()
    redelegation.redelegation.entries.add(shares_dst=Dec("2.5").to_proto_str())
    redelegation.entries.add(balance="2")
    data = pb.json_format.MessageToDict(redelegation, preserving_proto_field_name=True)
    out = render_decs(redelegation.DESCRIPTOR, data)
    assert out["redelegation"]["entries"][0]["shares_dst"] == "2.500000000000000000"
    assert out["entries"][0]["balance"] == "2"
    from cosmpy.protos.cosmos.mint.v1beta1 import query_pb2 as mint_query

    inflation = mint_query.QueryInflationResponse(inflation=b"130000000000000000")
    shown = render_decs(inflation.DESCRIPTOR, pb.json_format.MessageToDict(inflation))
    assert shown == {"inflation": "0.130000000000000000"}


def test_consensus_pubkey_forms(tmp_path: Path) -> None:
    b64 = base64.b64encode(KEY).decode()
    assert sc.consensus_pubkey(b64) == KEY
    assert sc.consensus_pubkey(KEY) == KEY
    assert sc.consensus_pubkey(json.dumps({"@type": sc.ED25519_PUBKEY_URL, "key": b64})) == KEY
    key_file = tmp_path / "priv_validator_key.json"
    key_file.write_text(json.dumps({"pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64}}))
    assert sc.consensus_pubkey(str(key_file)) == KEY
    with pytest.raises(sc.StakingInputError, match="32 bytes"):
        sc.consensus_pubkey(base64.b64encode(KEY[:31]).decode())
    with pytest.raises(sc.StakingInputError, match="ed25519 only"):
        sc.consensus_pubkey(json.dumps({"@type": "/cosmos.crypto.secp256k1.PubKey", "key": b64}))
    with pytest.raises(sc.StakingInputError, match="neither a file"):
        sc.consensus_pubkey("not base64 !")


def test_amounts_rates_statuses_addresses() -> None:
    assert sc.bond_coin(5).amount == 5 and sc.bond_coin(5).denom == "ucgpt"
    assert sc.bond_coin("7ucgpt").amount == 7
    for bad in ("0ucgpt", "1ucgpt,2foo", "x", -1):
        with pytest.raises(sc.StakingInputError):
            sc.bond_coin(bad)
    assert sc.rate("0.05") == Dec("0.05")
    for bad in ("1.5", "-0.1", "ten"):
        with pytest.raises(sc.StakingInputError):
            sc.rate(bad)
    assert sc.bond_status("bonded") == "BOND_STATUS_BONDED"
    assert sc.bond_status("BOND_STATUS_UNBONDING") == "BOND_STATUS_UNBONDING"
    assert sc.bond_status("") == ""
    with pytest.raises(sc.StakingInputError, match="invalid status"):
        sc.bond_status("jailed")
    with pytest.raises(sc.StakingInputError, match="aivmvaloper1"):
        sc.check_valoper("aivm1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a")


def test_rest_routes_are_the_sdk_gateway_paths() -> None:
    by_path = {r.path: r.query_path.rsplit("/", 1)[1] for r in ROUTES}
    base = "/cosmos/staking/v1beta1"
    assert by_path == {
        base + "/validators": "Validators",
        base + "/validators/{validator_addr}": "Validator",
        base + "/validators/{validator_addr}/delegations": "ValidatorDelegations",
        base + "/validators/{validator_addr}/delegations/{delegator_addr}": "Delegation",
        base + "/validators/{validator_addr}/delegations/{delegator_addr}/unbonding_delegation": (
            "UnbondingDelegation"
        ),
        base + "/validators/{validator_addr}/unbonding_delegations": (
            "ValidatorUnbondingDelegations"
        ),
        base + "/delegations/{delegator_addr}": "DelegatorDelegations",
        base + "/delegators/{delegator_addr}/unbonding_delegations": (
            "DelegatorUnbondingDelegations"
        ),
        base + "/delegators/{delegator_addr}/redelegations": "Redelegations",
        base + "/delegators/{delegator_addr}/validators": "DelegatorValidators",
        base + "/delegators/{delegator_addr}/validators/{validator_addr}": "DelegatorValidator",
        base + "/historical_info/{height}": "HistoricalInfo",
        base + "/pool": "Pool",
        base + "/params": "Params",
    }
    for route in ROUTES:  # every {param} is a field of the request
        for part in route.path.split("/"):
            if part.startswith("{"):
                assert part[1:-1] in route.request.DESCRIPTOR.fields_by_name


def test_delegation_balance_is_tokens_from_shares_truncated() -> None:
    from aivm.modules.staking.api import BondStatus, Commission, Validator
    from aivm.modules.staking.queries import tokens_of

    def validator(tokens: int, shares: str) -> Validator:
        zero = Dec.zero()
        return Validator(
            b"v" * 20, KEY, False, BondStatus.BONDED, tokens, Dec(shares),
            Commission(zero, zero, zero, 0), 1, 0, 0,
        )  # fmt: skip

    slashed = validator(10, "3")  # 10 tokens for 3 shares: one share is worth 3.33…
    assert tokens_of(slashed, Dec("1")) == 3
    assert tokens_of(slashed, Dec("3")) == 10
    assert tokens_of(validator(2, "3"), Dec("1")) == 0  # 0.66… truncates to 0
    assert tokens_of(validator(0, "0"), Dec("1")) == 0  # no shares: nothing, no division
