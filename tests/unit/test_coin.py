"""Coin / Coins: validation, canonical form, arithmetic, SDK string format and parsing."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.types.coin import (
    BOND_DENOM,
    DENOM_EXPONENT,
    DISPLAY_DENOM,
    MAX_AMOUNT,
    Coin,
    Coins,
    parse_coin,
    parse_coins,
)
from aivm.types.errors import AivmError, ErrInsufficientFunds, ErrInvalidCoins


def _is_invalid_coins(exc: pytest.ExceptionInfo[AivmError]) -> bool:
    return exc.value.code == 10 and exc.value.codespace == "sdk"


def test_constants() -> None:
    assert (BOND_DENOM, DISPLAY_DENOM, DENOM_EXPONENT) == ("ucgpt", "CGPT", 6)
    assert MAX_AMOUNT == 2**256 - 1


@pytest.mark.parametrize(
    "denom",
    [
        "ucgpt",
        "abc",
        "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2",
        "a:b",
        "A-b_c.d",
        "x" * 128,
    ],
)
def test_valid_denoms(denom: str) -> None:
    assert Coin(denom, 1).denom == denom


@pytest.mark.parametrize("denom", ["", "ab", "1abc", "/abc", "ab c", "ucgpt!", "x" * 129, "ü" * 4])
def test_invalid_denoms(denom: str) -> None:
    with pytest.raises(AivmError) as exc:
        Coin(denom, 1)
    assert _is_invalid_coins(exc)


def test_coin_amount_bounds() -> None:
    assert Coin("ucgpt", 0).is_zero()
    assert Coin("ucgpt", MAX_AMOUNT).amount == MAX_AMOUNT
    with pytest.raises(AivmError, match="negative") as exc:
        Coin("ucgpt", -1)
    assert _is_invalid_coins(exc)
    with pytest.raises(AivmError, match="overflow") as exc:
        Coin("ucgpt", MAX_AMOUNT + 1)
    assert _is_invalid_coins(exc)
    with pytest.raises(TypeError):
        Coin("ucgpt", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Coin("ucgpt", True)


def test_coin_add_sub() -> None:
    assert Coin("ucgpt", 2) + Coin("ucgpt", 3) == Coin("ucgpt", 5)
    assert Coin("ucgpt", 5).safe_sub(Coin("ucgpt", 5)) == Coin("ucgpt", 0)
    with pytest.raises(AivmError) as exc:
        Coin("ucgpt", 1).safe_sub(Coin("ucgpt", 2))
    assert ErrInsufficientFunds.is_(exc.value)
    with pytest.raises(AivmError):
        _ = Coin("ucgpt", 1) + Coin("uatom", 1)
    with pytest.raises(AivmError, match="overflow"):
        _ = Coin("ucgpt", MAX_AMOUNT) + Coin("ucgpt", 1)


def test_coins_canonical_sorting_and_zero_dropping() -> None:
    coins = Coins([Coin("zzz", 1), Coin("ucgpt", 10), Coin("aaa", 0), Coin("uatom", 5)])
    assert [c.denom for c in coins] == ["uatom", "ucgpt", "zzz"]
    assert str(coins) == "5uatom,10ucgpt,1zzz"
    assert len(coins) == 3
    assert coins == Coins([Coin("uatom", 5), Coin("zzz", 1), Coin("ucgpt", 10)])
    assert hash(coins) == hash(Coins([Coin("uatom", 5), Coin("zzz", 1), Coin("ucgpt", 10)]))


def test_coins_sorting_is_bytewise() -> None:
    # uppercase sorts before lowercase, as Go's string comparison does
    assert Coins([Coin("abc", 1), Coin("ABC", 1)]).denoms() == ["ABC", "abc"]


def test_coins_constructor_rejects_duplicates() -> None:
    with pytest.raises(AivmError, match="duplicate") as exc:
        Coins([Coin("ucgpt", 1), Coin("uatom", 1), Coin("ucgpt", 2)])
    assert _is_invalid_coins(exc)


def test_coins_from_iter_sums_duplicates() -> None:
    coins = Coins.from_iter([Coin("ucgpt", 1), Coin("uatom", 0), Coin("ucgpt", 2)])
    assert coins == Coins([Coin("ucgpt", 3)])
    assert Coins.from_iter([]).is_zero()
    with pytest.raises(AivmError, match="overflow"):
        Coins.from_iter([Coin("ucgpt", MAX_AMOUNT), Coin("ucgpt", 1)])


def test_coins_validate_is_strict() -> None:
    Coins.validate([])
    Coins.validate([Coin("uatom", 1), Coin("ucgpt", 2)])
    with pytest.raises(AivmError, match="not sorted"):
        Coins.validate([Coin("ucgpt", 2), Coin("uatom", 1)])
    with pytest.raises(AivmError, match="duplicate"):
        Coins.validate([Coin("ucgpt", 2), Coin("ucgpt", 1)])
    with pytest.raises(AivmError, match="not positive") as exc:
        Coins.validate([Coin("ucgpt", 0)])
    assert _is_invalid_coins(exc)


def test_coins_is_immutable_and_copyable() -> None:
    coins = Coins([Coin("ucgpt", 1)])
    assert copy.deepcopy(coins) == coins == pickle.loads(pickle.dumps(coins))
    with pytest.raises(AttributeError):
        coins._coins = ()


def test_coins_add_and_safe_sub() -> None:
    a = parse_coins("10ucgpt,5uatom")
    b = parse_coins("3ucgpt,7foo")
    assert str(a + b) == "7foo,5uatom,13ucgpt"
    assert str(a.safe_sub(parse_coins("10ucgpt"))) == "5uatom"
    assert (a - a).is_zero()
    with pytest.raises(AivmError, match="is smaller than") as exc:
        a.safe_sub(parse_coins("11ucgpt"))
    assert ErrInsufficientFunds.is_(exc.value)
    assert exc.value.code == 5
    with pytest.raises(AivmError):
        a.safe_sub(parse_coins("1bar"))
    with pytest.raises(AivmError, match="overflow"):
        _ = Coins([Coin("ucgpt", MAX_AMOUNT)]) + Coins([Coin("ucgpt", 1)])


def test_coins_comparisons_follow_sdk() -> None:
    a = parse_coins("2aaa,3bbb")
    assert a.is_all_gte(parse_coins("2aaa"))
    assert a.is_all_gte(Coins())
    assert not Coins().is_all_gte(parse_coins("1aaa"))
    assert not a.is_all_gte(parse_coins("1ccc"))
    assert not a.is_all_gte(parse_coins("3aaa"))
    # SDK examples for IsAnyGT
    assert a.is_any_gt(parse_coins("1aaa"))
    assert not a.is_any_gt(parse_coins("5ccc"))
    assert not Coins().is_any_gt(parse_coins("5ccc"))
    assert not a.is_any_gt(Coins())
    assert not a.is_any_gt(parse_coins("2aaa"))
    assert a.is_any_gte(parse_coins("2aaa,9ccc"))
    assert not a.is_any_gte(parse_coins("9ccc"))


def test_amount_of_and_is_zero() -> None:
    coins = parse_coins("10ucgpt")
    assert coins.amount_of("ucgpt") == 10
    assert coins.amount_of("uatom") == 0
    assert not coins.is_zero()
    assert parse_coins("0ucgpt").is_zero()
    assert str(Coins()) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10ucgpt,5foo", "5foo,10ucgpt"),
        (" 10ucgpt , 5foo ", "5foo,10ucgpt"),
        ("10 ucgpt", "10ucgpt"),
        ("", ""),
        ("0ucgpt,1foo", "1foo"),
        ("007ucgpt", "7ucgpt"),
        (f"{MAX_AMOUNT}ucgpt", f"{MAX_AMOUNT}ucgpt"),
    ],
)
def test_parse_coins(text: str, expected: str) -> None:
    assert str(parse_coins(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ucgpt",
        "10",
        "-5ucgpt",
        "1.5ucgpt",
        "10ucgpt,",
        "10ucgpt,,5foo",
        "10u",
        "+5ucgpt",
        "1 0ucgpt",
        "10ucgpt,3ucgpt",
        f"{MAX_AMOUNT + 1}ucgpt",
        "١٠ucgpt",
    ],
)
def test_parse_coins_rejects(text: str) -> None:
    with pytest.raises(AivmError) as exc:
        parse_coins(text)
    assert _is_invalid_coins(exc)


def test_parse_coin() -> None:
    assert parse_coin("5ucgpt") == Coin("ucgpt", 5)
    assert parse_coin("0ucgpt") == Coin("ucgpt", 0)
    with pytest.raises(AivmError, match="invalid coin expression") as exc:
        parse_coin("5")
    assert ErrInvalidCoins.is_(exc.value)


# -- properties ---------------------------------------------------------------------------

_denoms = st.sampled_from(["aaa", "ucgpt", "uatom", "ibc/ABC", "zzz"])
_coin = st.builds(Coin, _denoms, st.integers(min_value=0, max_value=2**200))
_coins = st.lists(_coin, max_size=6).map(Coins.from_iter)


@given(_coins, _coins)
def test_add_is_commutative_and_sums_amounts(a: Coins, b: Coins) -> None:
    total = a + b
    assert total == b + a
    for denom in set(a.denoms()) | set(b.denoms()):
        assert total.amount_of(denom) == a.amount_of(denom) + b.amount_of(denom)


@given(_coins, _coins)
def test_sub_inverts_add(a: Coins, b: Coins) -> None:
    assert (a + b).safe_sub(b) == a
    assert (a + b).is_all_gte(a)


@given(_coins, _coins)
def test_safe_sub_raises_iff_not_all_gte(a: Coins, b: Coins) -> None:
    if a.is_all_gte(b):
        assert (a.safe_sub(b) + b) == a
    else:
        with pytest.raises(AivmError):
            a.safe_sub(b)


@given(st.lists(_coin, max_size=8))
def test_from_iter_result_is_canonical(items: list[Coin]) -> None:
    coins = Coins.from_iter(items)
    Coins.validate(list(coins))
    assert parse_coins(str(coins)) == coins


def test_coins_from_canonical_takes_canonical_lists_only() -> None:
    coins = [Coin("aaa", 1), Coin("bbb", 2)]
    assert Coins.from_canonical(coins) == Coins.from_iter(coins)
    for bad in (
        [Coin("bbb", 2), Coin("aaa", 1)],  # unsorted
        [Coin("aaa", 1), Coin("aaa", 2)],  # repeated denom
        [Coin("aaa", 0)],  # zero
    ):
        with pytest.raises(AivmError) as info:
            Coins.from_canonical(bad)
        assert ErrInvalidCoins.is_(info.value)
