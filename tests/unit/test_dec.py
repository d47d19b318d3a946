"""Dec: SDK LegacyDec formatting, banker's rounding, quo semantics, bounds; cross-checked
against Python's ``decimal`` module as an independent reference."""

from __future__ import annotations

import copy
import decimal
import pickle
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.types.dec import (
    MAX_DEC_BIT_LEN,
    Dec,
    ErrDecDivisionByZero,
    ErrDecOverflow,
    ErrInvalidDec,
)
from aivm.types.errors import AivmError

D = Dec.from_str
_CTX = decimal.Context(prec=400, rounding=ROUND_HALF_EVEN)
_Q18 = Decimal("1e-18")
_Q36 = Decimal("1e-36")


def test_string_format_matches_sdk() -> None:
    assert str(D("1.5")) == "1.500000000000000000"
    assert str(D("-0.5")) == "-0.500000000000000000"
    assert str(Dec.zero()) == "0.000000000000000000"
    assert str(Dec.from_int(-3)) == "-3.000000000000000000"
    assert str(Dec.raw(1)) == "0.000000000000000001"
    assert str(D("123.000000000000000001")) == "123.000000000000000001"
    assert repr(D("2")) == "Dec('2.000000000000000000')"


def test_constructors_agree() -> None:
    assert D("3") == Dec.from_int(3) == Dec.raw(3 * 10**18)
    assert D("1.50") == D("1.5") == Dec.raw(15 * 10**17)
    assert D("-0") == Dec.zero()
    assert Dec.one() == Dec.from_int(1)
    assert D("1.5").bigint() == 1_500_000_000_000_000_000
    assert Dec("1.5") == D("1.5") and Dec(3) == Dec.from_int(3) and Dec(Dec("2")) == D("2")
    assert Dec("1.5") * Dec("2") == Dec(3)


def test_pickle_and_copy_round_trip() -> None:
    d = D("-12.000000000000000001")
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.deepcopy(d) == d


def test_proto_wire_form() -> None:
    assert D("1.5").to_proto_str() == "1500000000000000000"
    assert Dec.from_proto_str("1500000000000000000") == D("1.5")
    assert Dec.from_proto_str("-1") == Dec.raw(-1)
    with pytest.raises(AivmError):
        Dec.from_proto_str("1.5")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        ".5",
        "1.",
        "1.2.3",
        "abc",
        "1e5",
        "+1",
        " 1",
        "1 ",
        "--1",
        "1,5",
        "0x10",
        "1.0000000000000000001",
        "١",
    ],
)
def test_from_str_rejects(text: str) -> None:
    with pytest.raises(AivmError) as exc:
        D(text)
    assert ErrInvalidDec.is_(exc.value)
    assert exc.value.codespace == "math"


def test_floats_are_rejected() -> None:
    with pytest.raises(TypeError):
        Dec.from_str(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Dec.from_int(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Dec.raw(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Dec(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Dec.from_int(True)
    with pytest.raises(TypeError):
        _ = D("1") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = D("1") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        D("1").quo(2)  # type: ignore[arg-type]


# SDK math/dec_test.go TestArithmetic rows: d1, d2, mul, mul_truncate, quo, quo_truncate, add, sub
_SDK_ARITHMETIC = [
    ("1", "1", "1", "1", "1", "1", "2", "0"),
    ("3", "7", "21", "21", "0.428571428571428571", "0.428571428571428571", "10", "-4"),
    ("2", "4", "8", "8", "0.5", "0.5", "6", "-2"),
    ("100", "100", "10000", "10000", "1", "1", "200", "0"),
    ("1.5", "1.5", "2.25", "2.25", "1", "1", "3", "0"),
    (
        "0.3333",
        "0.0333",
        "0.01109889",
        "0.01109889",
        "10.009009009009009009",
        "10.009009009009009009",
        "0.3666",
        "0.3",
    ),
    ("-3", "7", "-21", "-21", "-0.428571428571428571", "-0.428571428571428571", "4", "-10"),
]


@pytest.mark.parametrize(("a", "b", "mul", "mul_t", "quo", "quo_t", "add", "sub"), _SDK_ARITHMETIC)
def test_sdk_arithmetic_table(
    a: str, b: str, mul: str, mul_t: str, quo: str, quo_t: str, add: str, sub: str
) -> None:
    x, y = D(a), D(b)
    assert x * y == D(mul)
    assert x.mul_truncate(y) == D(mul_t)
    assert x.quo(y) == D(quo)
    assert x.quo_truncate(y) == D(quo_t)
    assert x + y == D(add)
    assert x - y == D(sub)


def test_known_sdk_outputs() -> None:
    assert D("1.5") * D("2") == D("3")
    assert str(D("1").quo(D("3"))) == "0.333333333333333333"
    assert str(D("2").quo(D("3"))) == "0.666666666666666667"
    assert str(D("2").quo_truncate(D("3"))) == "0.666666666666666666"
    assert str(D("-2").quo(D("3"))) == "-0.666666666666666667"
    assert str(D("-2").quo_truncate(D("3"))) == "-0.666666666666666666"


@pytest.mark.parametrize(
    ("raw_half_units", "expected"),
    [(5, 0), (15, 2), (25, 2), (35, 4), (-5, 0), (-15, -2), (-25, -2), (14, 1), (16, 2)],
)
def test_mul_rounds_half_even_at_18th_decimal(raw_half_units: int, expected: int) -> None:
    # raw(n) * 0.1 = n / 10 raw units: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (banker's)
    assert (Dec.raw(raw_half_units) * D("0.1")).bigint() == expected


def test_mul_truncate_drops_toward_zero() -> None:
    assert Dec.raw(15).mul_truncate(D("0.1")) == Dec.raw(1)
    assert Dec.raw(-15).mul_truncate(D("0.1")) == Dec.raw(-1)
    assert Dec.raw(19).mul_truncate(D("0.1")) == Dec.raw(1)


def test_quo_truncates_before_rounding_like_sdk() -> None:
    # 10**36 // b == 5 * 10**17 with a non-zero remainder: the exact quotient is just above
    # half a unit, but the SDK truncates at 36 decimals first, then rounds half to even -> 0.
    b = 1999999999999999999
    assert 10**36 // b == 5 * 10**17 and 10**36 % b != 0
    assert Dec.raw(1).quo(Dec.raw(b)) == Dec.zero()
    assert Dec.raw(3).quo(Dec.raw(2 * 10**18)) == Dec.raw(2)  # 1.5 units -> 2


@pytest.mark.parametrize(
    ("text", "ceil", "floor", "trunc", "round_"),
    [
        ("1.5", 2, 1, 1, 2),
        ("2.5", 3, 2, 2, 2),
        ("0.5", 1, 0, 0, 0),
        ("-0.5", 0, -1, 0, 0),
        ("-1.5", -1, -2, -1, -2),
        ("-2.5", -2, -3, -2, -2),
        ("2.500000000000000001", 3, 2, 2, 3),
        ("0.000000000000000001", 1, 0, 0, 0),
        ("7", 7, 7, 7, 7),
        ("-7", -7, -7, -7, -7),
    ],
)
def test_integer_rounding(text: str, ceil: int, floor: int, trunc: int, round_: int) -> None:
    d = D(text)
    assert d.ceil() == Dec.from_int(ceil)
    assert d.floor() == Dec.from_int(floor)
    assert d.truncate() == Dec.from_int(trunc)
    assert d.truncate_int() == trunc
    assert d.round_int() == round_


def test_fee_style_ceil() -> None:
    # required fee = ceil(gas_price * gas_limit)
    assert (D("0.025") * Dec.from_int(200_001)).ceil().truncate_int() == 5001


def test_int_helpers() -> None:
    assert D("1.5").mul_int(3) == D("4.5")
    assert D("1").quo_int(3) == D("0.333333333333333333")
    assert D("-1").quo_int(3) == D("-0.333333333333333333")
    with pytest.raises(AivmError):
        D("1").quo_int(0)


def test_division_by_zero() -> None:
    for op in (Dec.quo, Dec.quo_truncate):
        with pytest.raises(AivmError) as exc:
            op(D("1"), Dec.zero())
        assert ErrDecDivisionByZero.is_(exc.value)


def test_bit_length_bound() -> None:
    top = Dec.raw(2**MAX_DEC_BIT_LEN - 1)
    assert MAX_DEC_BIT_LEN == 315
    assert (-top).bigint() == -(2**315 - 1)
    makers: list[Callable[[], object]] = [
        lambda: Dec.raw(2**315),
        lambda: Dec.raw(-(2**315)),
        lambda: top + Dec.raw(1),
        lambda: -top - Dec.raw(1),
        lambda: top * D("2"),
        lambda: top.quo(D("0.5")),
        lambda: top.mul_int(2),
        lambda: top.ceil(),
        lambda: Dec.from_int(2**256),
        lambda: D(str(2**256)),
    ]
    for make in makers:
        with pytest.raises(AivmError) as exc:
            make()
        assert ErrDecOverflow.is_(exc.value)
    assert Dec.from_int(2**255).truncate_int() == 2**255


def test_comparisons_predicates_hashing() -> None:
    assert D("1.5") > D("1.4999999999") > D("-2")
    assert D("1") <= D("1.0") and D("1") >= D("1")
    assert sorted([D("2"), D("-1"), D("0.5")]) == [D("-1"), D("0.5"), D("2")]
    assert {D("1.5"), D("1.50"), Dec.raw(15 * 10**17)} == {D("1.5")}
    assert D("-0.1").is_negative() and not D("0").is_negative()
    assert Dec.zero().is_zero() and not D("0.000000000000000001").is_zero()
    assert D("3").is_integer() and not D("3.1").is_integer()
    assert D("1") != 1
    assert abs(D("-2")) == D("2")


def test_immutable() -> None:
    d = D("1")
    with pytest.raises(AttributeError):
        d._i = 5


# -- independent reference: Python's decimal module -------------------------------------

_raws = st.integers(min_value=-(10**40), max_value=10**40)
_nonzero = _raws.filter(lambda i: i != 0)


def _ref(d: Dec) -> Decimal:
    return _CTX.scaleb(Decimal(d.bigint()), -18)


def _to_dec(value: Decimal) -> Dec:
    return Dec.raw(int(_CTX.scaleb(value, 18)))


@given(_raws, _raws)
def test_mul_matches_decimal_half_even(a: int, b: int) -> None:
    x, y = Dec.raw(a), Dec.raw(b)
    exact = _CTX.multiply(_ref(x), _ref(y))
    assert x * y == _to_dec(exact.quantize(_Q18, ROUND_HALF_EVEN, _CTX))
    assert x.mul_truncate(y) == _to_dec(exact.quantize(_Q18, ROUND_DOWN, _CTX))


@given(_raws, _nonzero)
def test_quo_matches_decimal_sdk_rounding(a: int, b: int) -> None:
    x, y = Dec.raw(a), Dec.raw(b)
    exact = _CTX.divide(_ref(x), _ref(y))
    truncated36 = exact.quantize(_Q36, ROUND_DOWN, _CTX)
    assert x.quo(y) == _to_dec(truncated36.quantize(_Q18, ROUND_HALF_EVEN, _CTX))
    assert x.quo_truncate(y) == _to_dec(exact.quantize(_Q18, ROUND_DOWN, _CTX))


@given(_raws)
def test_str_round_trips_and_matches_decimal(a: int) -> None:
    d = Dec.raw(a)
    assert Dec.from_str(str(d)) == d
    assert Decimal(str(d)) == _ref(d)
    assert d.round_int() == int(_ref(d).quantize(Decimal(1), ROUND_HALF_EVEN, _CTX))
