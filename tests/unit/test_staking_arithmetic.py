"""staking arithmetic as the Cosmos SDK's: shares issued and redeemed (Dec, truncation where
the SDK truncates), the power index order, queue time keys and RFC 3339 times."""

from __future__ import annotations

import pytest

from aivm.modules.staking import keys
from aivm.modules.staking.codec import (
    GO_ZERO_TIME_NS,
    decs_from_json,
    decs_to_json,
    rfc3339,
)
from aivm.modules.staking.delegation import (
    add_tokens_from_del,
    invalid_ex_rate,
    remove_del_shares,
    shares_from_tokens,
    shares_from_tokens_truncated,
)
from aivm.modules.staking.errors import ErrInsufficientShares
from aivm.modules.staking.genesis import gentx
from aivm.types import pb
from aivm.types.dec import Dec


def validator(tokens: int, shares: str) -> pb.staking.Validator:
    return pb.staking.Validator(tokens=str(tokens), delegator_shares=Dec(shares).to_proto_str())


def test_first_delegation_sets_rate_one() -> None:
    v = validator(0, "0")
    assert add_tokens_from_del(v, 1234) == Dec(1234)
    assert (v.tokens, Dec.from_proto_str(v.delegator_shares)) == ("1234", Dec(1234))


def test_shares_after_a_slash_truncate_like_quo_int() -> None:
    v = validator(90, "100")  # slashed by 10%
    issued = add_tokens_from_del(v, 10)
    # 100 × 10 / 90 = 11.1111…, QuoInt truncates at 18 decimals
    assert issued == Dec("11.111111111111111111")
    assert v.tokens == "100"
    assert Dec.from_proto_str(v.delegator_shares) == Dec("111.111111111111111111")


def test_truncated_and_rounded_share_conversions() -> None:
    v = validator(3, "10")
    assert shares_from_tokens(v, 1) == Dec("3.333333333333333333")
    assert shares_from_tokens_truncated(v, 2) == Dec("6.666666666666666666")
    with pytest.raises(Exception) as err:
        shares_from_tokens(validator(0, "10"), 1)
    assert ErrInsufficientShares.is_(err.value)


def test_remove_shares_truncates_tokens_and_the_last_shares_take_all() -> None:
    v = validator(100, "300")
    # 100 shares are worth 33.33… tokens: 33 leave, the rest stays with the validator
    assert remove_del_shares(v, Dec(100)) == 33
    assert v.tokens == "67"
    assert remove_del_shares(v, Dec(200)) == 67
    assert (v.tokens, Dec.from_proto_str(v.delegator_shares)) == ("0", Dec(0))


def test_invalid_exchange_rate() -> None:
    assert invalid_ex_rate(validator(0, "5"))
    assert not invalid_ex_rate(validator(0, "0"))
    assert not invalid_ex_rate(validator(1, "5"))


def test_power_index_orders_by_power_then_operator() -> None:
    a, b = bytes([1] * 20), bytes([2] * 20)
    entries = sorted(
        [keys.power_index_key(5, b), keys.power_index_key(5, a), keys.power_index_key(7, b)]
    )
    # iterated in reverse: highest power first, ties by lower operator address first
    reverse = list(reversed(entries))
    assert reverse == [
        keys.power_index_key(7, b),
        keys.power_index_key(5, a),
        keys.power_index_key(5, b),
    ]


def test_time_keys_sort_from_go_zero_time() -> None:
    times = [GO_ZERO_TIME_NS, -1, 0, 1, 1_790_000_000 * 10**9]
    assert sorted(times, key=keys.time_bytes) == times
    assert [keys.time_bytes(t) for t in times] == sorted(keys.time_bytes(t) for t in times)


def test_rfc3339_is_go_time_rfc3339() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_790_000_000 * 10**9 + 5) == "2026-09-21T14:13:20Z"
    assert rfc3339(GO_ZERO_TIME_NS) == "0001-01-01T00:00:00Z"


def test_dec_json_round_trip() -> None:
    data = {"delegations": [{"shares": Dec("1.5").to_proto_str(), "delegator_address": "x"}]}
    text = decs_to_json(data)
    assert text["delegations"][0]["shares"] == "1.500000000000000000"
    assert decs_from_json(text) == data


def test_gentx_entry() -> None:
    entry = gentx("aivm1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnjtzd2q", bytes(32), 5_000_000, "a")
    assert entry["@type"] == "/cosmos.staking.v1beta1.MsgCreateValidator"
    assert entry["commission"] == {
        "rate": "0.100000000000000000",
        "max_rate": "0.200000000000000000",
        "max_change_rate": "0.010000000000000000",
    }
    assert entry["min_self_delegation"] == "1"
    assert entry["value"] == {"denom": "ucgpt", "amount": "5000000"}
    assert entry["validator_address"].startswith("aivmvaloper1")
    assert entry["pubkey"]["@type"] == "/cosmos.crypto.ed25519.PubKey"
