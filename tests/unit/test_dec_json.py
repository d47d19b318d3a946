"""The one LegacyDec walker (``aivm.types.dec_json``): display rendering (lenient, in place) and
genesis JSON both ways (strict, the input left alone), through nested messages, repeated
fields and ``Any``."""

from __future__ import annotations

import copy

import pytest
from cosmpy.protos.cosmos.mint.v1beta1 import query_pb2 as mint_query

from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.dec_json import from_json, render_decs, to_json
from aivm.types.errors import AivmError
from aivm.types.pb import distribution_genesis as G


def _genesis() -> G.GenesisState:
    state = G.GenesisState()
    state.params.community_tax = Dec("0.02").to_proto_str()
    state.params.withdraw_addr_enabled = True
    state.fee_pool.community_pool.add(denom="ucgpt", amount=Dec("12.5").to_proto_str())
    record = state.validator_slash_events.add(validator_address="v", height=3, period=2)
    record.validator_slash_event.fraction = Dec("0.01").to_proto_str()
    return state


def test_genesis_json_shows_decimals_and_reads_them_back() -> None:
    state = _genesis()
    data = to_json(state)
    assert data["params"]["community_tax"] == "0.020000000000000000"
    assert data["params"]["base_proposer_reward"] == ""  # the zero value stays empty
    assert data["fee_pool"]["community_pool"] == [
        {"denom": "ucgpt", "amount": "12.500000000000000000"}
    ]
    assert data["validator_slash_events"][0]["validator_slash_event"]["fraction"] == (
        "0.010000000000000000"
    )
    before = copy.deepcopy(data)
    assert from_json(data, G.GenesisState()) == state
    assert data == before  # not rewritten in place


def test_bad_genesis_decimals_are_invalid_requests() -> None:
    data = to_json(_genesis())
    data["params"]["community_tax"] = "two percent"
    with pytest.raises(AivmError) as err:
        from_json(data, G.GenesisState())
    assert (err.value.codespace, err.value.code) == ("sdk", 18)
    assert "invalid decimal 'two percent'" in err.value.log
    with pytest.raises(AivmError, match="expected a JSON object"):
        from_json([], G.GenesisState())


def test_display_rendering_is_lenient_and_reaches_into_any() -> None:
    shown = {
        "@type": "/cosmos.staking.v1beta1.Validator",
        "delegator_shares": Dec("3").to_proto_str(),
        "commission": {"commission_rates": {"rate": "not a dec"}},
    }
    wrapper = pb.AnyProto.DESCRIPTOR
    rendered = render_decs(wrapper, shown)
    assert rendered is shown  # in place
    assert shown["delegator_shares"] == "3.000000000000000000"
    assert shown["commission"]["commission_rates"]["rate"] == "not a dec"


def test_bytes_decimals_both_ways() -> None:
    """A bytes LegacyDec (mint's inflation) is its wire text in protobuf, a decimal in JSON."""
    answer = mint_query.QueryInflationResponse(inflation=b"130000000000000000")
    assert to_json(answer) == {"inflation": "0.130000000000000000"}
    assert from_json({"inflation": "0.13"}, mint_query.QueryInflationResponse()) == answer
    with pytest.raises(AivmError, match="invalid decimal bytes"):
        to_json(mint_query.QueryInflationResponse(inflation=b"\xff"))
