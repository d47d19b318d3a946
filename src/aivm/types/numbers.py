"""The one parser for integers written as text on the wire: ASCII digits, bounded length.

``int()`` accepts far more than a wire format should: Unicode digits (``'²'``, ``'٣'``),
underscores, signs, surrounding whitespace, and digit strings so long that converting them
takes quadratic time or raises ``ValueError`` past the interpreter's ``int_max_str_digits``
(a node setting). Every number the chain reads from text goes through :func:`parse_digits`
instead, so the same bytes give the same value or the same coded error on every node.
"""

from __future__ import annotations

from aivm.types.errors import ErrorCode

MAX_UINT256_DIGITS = 78
"""Decimal digits of 2**256 - 1 (the SDK ``math.Int`` bound)."""
MAX_UINT64_DIGITS = 20
"""Decimal digits of 2**64 - 1."""


def is_digits(text: str, max_digits: int) -> bool:
    """True when ``text`` is 1 to ``max_digits`` ASCII digits (leading zeros allowed)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def parse_digits(text: str, max_digits: int, error: ErrorCode, what: str) -> int:
    """The value of ``text`` as ``[0-9]{1,max_digits}``; raise ``error`` naming ``what`` else."""
    if not isinstance(text, str) or not is_digits(text, max_digits):
        shown = text[:32] + "…" if isinstance(text, str) and len(text) > 32 else text
        raise error.wrap(f"invalid {what} {shown!r}: want 1 to {max_digits} ASCII digits")
    return int(text)


def parse_signed_digits(text: str, max_digits: int, error: ErrorCode, what: str) -> int:
    """Like :func:`parse_digits` with an optional leading ``-``."""
    if isinstance(text, str) and text.startswith("-"):
        return -parse_digits(text[1:], max_digits, error, what)
    return parse_digits(text, max_digits, error, what)
