"""Dec: fixed-point decimal with 18 decimals, bit-for-bit like the Cosmos SDK ``LegacyDec``.

A Dec is an integer ``i`` standing for ``i / 10**18``. Arithmetic follows ``cosmossdk.io/math``:

* ``+`` and ``-`` are exact;
* ``*`` and :meth:`Dec.quo` round the 18th decimal half-to-even (``chopPrecisionAndRound``);
  ``quo`` first truncates ``a * 10**36 / b`` toward zero, then rounds, exactly as SDK ``Quo``;
* :meth:`Dec.mul_truncate` / :meth:`Dec.quo_truncate` truncate toward zero;
* a result whose integer has more than 315 bits (256 + 59, SDK ``maxDecBitLen``) overflows.

Floats are never accepted: construction is from ``int`` or from a decimal string.
Errors carry registered codes in the ``math`` codespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import total_ordering
from typing import Final

from aivm.types.errors import register
from aivm.types.numbers import parse_signed_digits

__all__ = [
    "MAX_DEC_BIT_LEN",
    "PRECISION",
    "Dec",
    "ErrDecDivisionByZero",
    "ErrDecOverflow",
    "ErrInvalidDec",
]

MATH_CODESPACE = "math"
ErrInvalidDec = register(MATH_CODESPACE, 2, "invalid decimal")
ErrDecOverflow = register(MATH_CODESPACE, 3, "decimal overflow")
ErrDecDivisionByZero = register(MATH_CODESPACE, 4, "division by zero")

PRECISION: Final = 18
"""Number of decimal places."""
MAX_DEC_BIT_LEN: Final = 256 + 59
"""Largest bit length of the backing integer (SDK ``maxDecBitLen``)."""

_ONE: Final = 10**PRECISION
_SQUARED: Final = _ONE * _ONE
_DEC_RE = re.compile(r"(-?)([0-9]{1,200})(?:\.([0-9]{1,200}))?")
"""Bounded (so ``int()`` of a match is cheap and never hits the interpreter's digit limit)."""
_MAX_BACKING_DIGITS: Final = 96
"""Decimal digits that can hold a backing integer of MAX_DEC_BIT_LEN bits (95), plus one."""


def _require_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    return value


def _check(i: int) -> int:
    if i.bit_length() > MAX_DEC_BIT_LEN:
        raise ErrDecOverflow.wrap(f"result needs {i.bit_length()} bits, max {MAX_DEC_BIT_LEN}")
    return i


def _quo_trunc(a: int, b: int) -> int:
    """Integer division truncating toward zero (Go ``big.Int.Quo``)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _chop_round(i: int, unit: int = _ONE) -> int:
    """Divide by ``unit`` rounding half to even, symmetric in sign (``chopPrecisionAndRound``)."""
    if i < 0:
        return -_chop_round(-i, unit)
    quo, rem = divmod(i, unit)
    half = unit // 2
    if rem > half or (rem == half and quo & 1):
        return quo + 1
    return quo


@total_ordering
class Dec:
    """Immutable 18-decimal fixed-point number (``i / 10**18``)."""

    __slots__ = ("_i",)
    _i: int

    def __init__(self, value: str | int | Dec) -> None:
        """``Dec("1.5")`` parses a string, ``Dec(3)`` is the integer 3; floats raise TypeError.

        For a raw backing integer use :meth:`Dec.raw`.
        """
        if isinstance(value, Dec):
            i = value._i
        elif isinstance(value, str):
            i = Dec.from_str(value)._i
        else:
            i = _check(_require_int(value, "value") * _ONE)
        object.__setattr__(self, "_i", i)

    @classmethod
    def _new(cls, i: int) -> Dec:
        new = object.__new__(cls)
        object.__setattr__(new, "_i", i)
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Dec is immutable")

    # -- construction -------------------------------------------------------------------

    @classmethod
    def raw(cls, i: int) -> Dec:
        """The Dec whose backing integer is ``i`` (value ``i / 10**18``)."""
        return cls._new(_check(_require_int(i, "raw value")))

    @classmethod
    def from_int(cls, n: int) -> Dec:
        """The Dec equal to the integer ``n``."""
        return cls._new(_check(_require_int(n, "value") * _ONE))

    @classmethod
    def from_str(cls, text: str) -> Dec:
        """Parse ``"-12.345"`` (at most 18 decimals; no exponent, no ``+``, no bare ``.5``)."""
        if not isinstance(text, str):
            raise TypeError(f"Dec.from_str needs a str, got {type(text).__name__}")
        match = _DEC_RE.fullmatch(text)
        if match is None:
            raise ErrInvalidDec.wrap(f"invalid decimal string {text!r}")
        sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
        if len(frac) > PRECISION:
            raise ErrInvalidDec.wrap(
                f"value {text!r} exceeds max precision of {PRECISION} decimal places"
            )
        i = int(whole + frac.ljust(PRECISION, "0"))
        if i.bit_length() > MAX_DEC_BIT_LEN:
            raise ErrDecOverflow.wrap(f"decimal {text!r} out of range")
        return cls._new(-i if sign else i)

    @classmethod
    def from_proto_str(cls, text: str) -> Dec:
        """Parse the protobuf wire form of a ``LegacyDec``: the backing integer in decimal."""
        if not isinstance(text, str):
            raise ErrInvalidDec.wrap(f"invalid decimal wire string {text!r}")
        value = parse_signed_digits(text, _MAX_BACKING_DIGITS, ErrInvalidDec, "decimal wire string")
        return cls.raw(value)

    @classmethod
    def zero(cls) -> Dec:
        """0."""
        return cls._new(0)

    @classmethod
    def one(cls) -> Dec:
        """1."""
        return cls._new(_ONE)

    # -- representation -----------------------------------------------------------------

    def bigint(self) -> int:
        """The backing integer (SDK ``BigInt``)."""
        return self._i

    def __str__(self) -> str:
        """SDK ``String``: always 18 decimals, e.g. ``"1.500000000000000000"``."""
        whole, frac = divmod(abs(self._i), _ONE)
        sign = "-" if self._i < 0 else ""
        return f"{sign}{whole}.{frac:0{PRECISION}d}"

    def to_proto_str(self) -> str:
        """The protobuf wire form of a ``LegacyDec`` (the backing integer in decimal)."""
        return str(self._i)

    def __repr__(self) -> str:
        return f"Dec('{self}')"

    # -- arithmetic -----------------------------------------------------------------------

    def __add__(self, other: Dec) -> Dec:
        if not isinstance(other, Dec):
            return NotImplemented
        return Dec._new(_check(self._i + other._i))

    def __sub__(self, other: Dec) -> Dec:
        if not isinstance(other, Dec):
            return NotImplemented
        return Dec._new(_check(self._i - other._i))

    def __mul__(self, other: Dec) -> Dec:
        if not isinstance(other, Dec):
            return NotImplemented
        return Dec._new(_check(_chop_round(self._i * other._i)))

    def __neg__(self) -> Dec:
        return Dec._new(-self._i)

    def __abs__(self) -> Dec:
        return Dec._new(abs(self._i))

    def mul_truncate(self, other: Dec) -> Dec:
        """``self * other`` truncated toward zero at the 18th decimal (SDK ``MulTruncate``)."""
        return Dec._new(_check(_quo_trunc(self._i * other._i, _ONE)))

    def mul_int(self, n: int) -> Dec:
        """``self * n`` for an integer ``n``; exact (SDK ``MulInt``)."""
        return Dec._new(_check(self._i * _require_int(n, "multiplier")))

    def quo(self, other: Dec) -> Dec:
        """``self / other`` rounded half to even at the 18th decimal (SDK ``Quo``)."""
        self._nonzero(other)
        return Dec._new(_check(_chop_round(_quo_trunc(self._i * _SQUARED, other._i))))

    def quo_truncate(self, other: Dec) -> Dec:
        """``self / other`` truncated toward zero (SDK ``QuoTruncate``)."""
        self._nonzero(other)
        return Dec._new(_check(_quo_trunc(self._i * _ONE, other._i)))

    def quo_int(self, n: int) -> Dec:
        """``self / n`` for an integer ``n``, truncated toward zero (SDK ``QuoInt``)."""
        if _require_int(n, "divisor") == 0:
            raise ErrDecDivisionByZero.wrap(f"{self} / 0")
        return Dec._new(_quo_trunc(self._i, n))

    @staticmethod
    def _nonzero(other: Dec) -> None:
        if not isinstance(other, Dec):
            raise TypeError(f"expected Dec, got {type(other).__name__}")
        if other._i == 0:
            raise ErrDecDivisionByZero.wrap("decimal division by zero")

    # -- rounding ---------------------------------------------------------------------------

    def ceil(self) -> Dec:
        """Smallest integral Dec ``>= self`` (SDK ``Ceil``)."""
        quo, rem = divmod(self._i, _ONE)
        return Dec._new(_check((quo + (1 if rem else 0)) * _ONE))

    def floor(self) -> Dec:
        """Largest integral Dec ``<= self``."""
        return Dec._new((self._i // _ONE) * _ONE)

    def truncate(self) -> Dec:
        """Integral Dec with the fraction dropped, toward zero (SDK ``TruncateDec``)."""
        return Dec._new(_quo_trunc(self._i, _ONE) * _ONE)

    def truncate_int(self) -> int:
        """The integer part, toward zero (SDK ``TruncateInt``)."""
        return _quo_trunc(self._i, _ONE)

    def round_int(self) -> int:
        """Nearest integer, ties to even (SDK ``RoundInt``)."""
        return _chop_round(self._i)

    # -- predicates and comparison ----------------------------------------------------------

    def is_zero(self) -> bool:
        """True when equal to 0."""
        return self._i == 0

    def is_negative(self) -> bool:
        """True when strictly below 0."""
        return self._i < 0

    def is_positive(self) -> bool:
        """True when strictly above 0."""
        return self._i > 0

    def is_integer(self) -> bool:
        """True when the value has no fractional part."""
        return self._i % _ONE == 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dec):
            return NotImplemented
        return self._i == other._i

    def __lt__(self, other: Dec) -> bool:
        if not isinstance(other, Dec):
            return NotImplemented
        return self._i < other._i

    def __hash__(self) -> int:
        return hash((Dec, self._i))

    def __bool__(self) -> bool:
        return self._i != 0

    def __reduce__(self) -> tuple[Callable[[int], Dec], tuple[int]]:
        return (Dec.raw, (self._i,))
