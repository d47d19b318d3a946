"""Genesis document parsing: timestamps, validation errors, InitChain request."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.app.genesis import GenesisDoc, format_time, parse_time
from aivm.types.errors import AivmError

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@given(st.integers(0, 10**11), st.integers(0, 999_999_999))
def test_time_round_trip_matches_datetime(seconds: int, nanos: int) -> None:
    text = format_time(seconds, nanos)
    assert parse_time(text) == (seconds, nanos)
    expected = (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    assert text.startswith(expected)


def test_time_offsets_and_fractions() -> None:
    assert parse_time("2026-11-24T19:58:21.5Z") == (1795550301, 500_000_000)
    assert parse_time("2026-11-24T21:58:21+02:00") == parse_time("2026-11-24T19:58:21Z")
    with pytest.raises(AivmError) as info:
        parse_time("24/11/2026")
    assert info.value.code == 18


def test_cometbft_json_round_trip_and_init_chain_request() -> None:
    data = {
        "genesis_time": "2026-11-24T00:00:00.123Z",
        "chain_id": "aivm-devnet-1",
        "initial_height": "5",
        "validators": [
            {
                "address": "",
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "A" * 43 + "="},
                "power": "10",
                "name": "v0",
            }
        ],
        "app_state": {"bank": {"balances": []}},
    }
    doc = GenesisDoc.from_json(data)
    again = GenesisDoc.from_json(doc.to_json())
    assert again == doc
    request = doc.init_chain_request()
    assert (request.chain_id, request.initial_height) == ("aivm-devnet-1", 5)
    assert request.time.nanos == 123_000_000
    assert request.validators[0].power == 10 and len(request.validators[0].pub_key.ed25519) == 32
    assert request.consensus_params.block.max_gas == 500_000_000


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"chain_id": ""},
        {"chain_id": "x", "initial_height": "one"},
        {"chain_id": "x", "genesis_time": "yesterday"},
        {"chain_id": "x", "validators": [{"pub_key": {"value": "%%"}, "power": "1"}]},
    ],
)
def test_invalid_documents_are_coded_errors(data: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(AivmError) as info:
        GenesisDoc.from_json(data)
    assert info.value.code == 18
