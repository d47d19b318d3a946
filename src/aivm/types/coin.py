"""Coins: amounts of a denomination, with the Cosmos SDK's validation and canonical form.

A :class:`Coin` is ``(denom, amount)`` with a denom matching the SDK regex
``[a-zA-Z][a-zA-Z0-9/:._-]{2,127}`` and an integer amount in ``[0, 2**256 - 1]`` (the SDK
``Int`` bound; anything larger is an overflow).

A :class:`Coins` value is always canonical: sorted by denom, one entry per denom, no zero
amounts. Two ways to build one:

* ``Coins(items)`` — like SDK ``NewCoins``: drops zero amounts, sorts, and *rejects* a
  repeated denom (``ErrInvalidCoins``).
* ``Coins.from_iter(items)`` — sums repeated denoms and drops zeros (for aggregation).

``Coins.validate(items)`` checks a raw sequence exactly as SDK ``Coins.Validate`` does (already
sorted, no duplicates, every amount positive) without normalising anything; use it on wire input.

Every failure raises :data:`~aivm.types.errors.ErrInvalidCoins` (code 10, codespace ``sdk``),
except a subtraction going negative, which raises ``ErrInsufficientFunds`` (code 5).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from aivm.types.errors import ErrInsufficientFunds, ErrInvalidCoins
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits

__all__ = [
    "BOND_DENOM",
    "DENOM_EXPONENT",
    "DISPLAY_DENOM",
    "MAX_AMOUNT",
    "Coin",
    "Coins",
    "parse_coin",
    "parse_coins",
    "validate_denom",
]

BOND_DENOM = "ucgpt"
"""Base denomination: fees, staking, deposits and settlement."""
DISPLAY_DENOM = "CGPT"
"""Display denomination: 1 CGPT = 10**DENOM_EXPONENT ucgpt."""
DENOM_EXPONENT = 6
"""Decimal exponent between the display and the base denomination."""

MAX_AMOUNT = 2**256 - 1
"""Largest amount a coin may hold (SDK ``math.Int`` is bounded to 256 bits)."""

_DENOM_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9/:._-]{2,127}")
_COIN_RE = re.compile(r"([0-9]+)[ \t\n\r\f\v]*([a-zA-Z][a-zA-Z0-9/:._-]{2,127})")


def validate_denom(denom: str) -> None:
    """Raise ``ErrInvalidCoins`` unless ``denom`` matches the SDK denom regex."""
    if not isinstance(denom, str) or not _is_valid_denom(denom):
        raise ErrInvalidCoins.wrap(f"invalid denom: {denom!r}")


@lru_cache(maxsize=4096)
def _is_valid_denom(denom: str) -> bool:
    """The regex check, remembered: every Coin built checks its denom, and few denoms exist."""
    return _DENOM_RE.fullmatch(denom) is not None


def _check_amount(denom: str, amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"coin amount must be an int, got {type(amount).__name__}")
    if amount < 0:
        raise ErrInvalidCoins.wrap(f"negative coin amount: {amount}{denom}")
    if amount > MAX_AMOUNT:
        raise ErrInvalidCoins.wrap(f"amount of {denom} overflow: more than 256 bits")


@dataclass(frozen=True, slots=True)
class Coin:
    """An amount of one denomination; amount is non-negative and at most ``MAX_AMOUNT``."""

    denom: str
    amount: int

    def __post_init__(self) -> None:
        validate_denom(self.denom)
        _check_amount(self.denom, self.amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.denom}"

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def is_positive(self) -> bool:
        """True when the amount is greater than zero."""
        return self.amount > 0

    def __add__(self, other: Coin) -> Coin:
        if not isinstance(other, Coin):
            return NotImplemented
        self._same_denom(other)
        return Coin(self.denom, self.amount + other.amount)

    def safe_sub(self, other: Coin) -> Coin:
        """``self - other``; raises ``ErrInsufficientFunds`` if the result would be negative."""
        self._same_denom(other)
        if other.amount > self.amount:
            raise ErrInsufficientFunds.wrap(f"{self} is smaller than {other}")
        return Coin(self.denom, self.amount - other.amount)

    def _same_denom(self, other: Coin) -> None:
        if other.denom != self.denom:
            raise ErrInvalidCoins.wrap(f"denoms differ: {self.denom} and {other.denom}")


def _require_coin(item: object) -> Coin:
    if not isinstance(item, Coin):
        raise TypeError(f"expected Coin, got {type(item).__name__}")
    return item


class Coins:
    """An immutable, canonical set of coins: sorted by denom, unique denoms, no zero amounts."""

    __slots__ = ("_amounts", "_coins")

    _coins: tuple[Coin, ...]
    _amounts: dict[str, int]

    def __init__(self, coins: Iterable[Coin] = ()) -> None:
        """Build like SDK ``NewCoins``: drop zeros, sort; a repeated denom raises."""
        items = sorted(
            (c for c in map(_require_coin, coins) if c.amount != 0), key=lambda c: c.denom
        )
        for prev, cur in itertools.pairwise(items):
            if prev.denom == cur.denom:
                raise ErrInvalidCoins.wrap(f"duplicate denomination {cur.denom}")
        self._set(tuple(items))

    def _set(self, coins: tuple[Coin, ...]) -> None:
        object.__setattr__(self, "_coins", coins)
        object.__setattr__(self, "_amounts", {c.denom: c.amount for c in coins})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Coins is immutable")

    @classmethod
    def _from_amounts(cls, amounts: dict[str, int]) -> Coins:
        """Canonical Coins from a denom -> amount map (amounts already checked >= 0)."""
        coins = tuple(Coin(d, amounts[d]) for d in sorted(amounts) if amounts[d] != 0)
        new = cls.__new__(cls)
        new._set(coins)
        return new

    @classmethod
    def from_canonical(cls, coins: Sequence[Coin]) -> Coins:
        """Coins from a list already canonical: denoms strictly ascending, amounts positive.

        For decoders that have just checked exactly that (no summing, no re-sorting);
        raises ``ErrInvalidCoins`` if the list is not canonical after all.
        """
        previous = ""
        for coin in map(_require_coin, coins):
            if coin.amount <= 0 or (previous and coin.denom <= previous):
                raise ErrInvalidCoins.wrap(f"coins not canonical at {coin}")
            previous = coin.denom
        new = cls.__new__(cls)
        new._set(tuple(coins))
        return new

    @classmethod
    def from_iter(cls, coins: Iterable[Coin]) -> Coins:
        """Sum repeated denoms and drop zero amounts; raises ``ErrInvalidCoins`` on overflow."""
        amounts: dict[str, int] = {}
        for coin in map(_require_coin, coins):
            amounts[coin.denom] = amounts.get(coin.denom, 0) + coin.amount
        return cls._from_amounts(amounts)

    @staticmethod
    def validate(coins: Sequence[Coin]) -> None:
        """Check ``coins`` exactly as SDK ``Coins.Validate``; raise ``ErrInvalidCoins`` if not.

        Valid means: every denom valid, every amount positive, denoms strictly ascending
        (which also excludes duplicates). Nothing is normalised.
        """
        previous: str | None = None
        for coin in map(_require_coin, coins):
            if coin.amount <= 0:
                raise ErrInvalidCoins.wrap(f"coin {coin} amount is not positive")
            if previous is not None:
                if coin.denom == previous:
                    raise ErrInvalidCoins.wrap(f"duplicate denomination {coin.denom}")
                if coin.denom < previous:
                    raise ErrInvalidCoins.wrap(f"denomination {coin.denom} is not sorted")
            previous = coin.denom

    def amount_of(self, denom: str) -> int:
        """The amount held of ``denom`` (0 when absent)."""
        return self._amounts.get(denom, 0)

    def denoms(self) -> list[str]:
        """The denoms present, sorted."""
        return [c.denom for c in self._coins]

    def is_zero(self) -> bool:
        """True when there are no coins (a canonical Coins never holds a zero amount)."""
        return not self._coins

    def __add__(self, other: Coins) -> Coins:
        if not isinstance(other, Coins):
            return NotImplemented
        amounts = dict(self._amounts)
        for coin in other._coins:
            amounts[coin.denom] = amounts.get(coin.denom, 0) + coin.amount
        return Coins._from_amounts(amounts)

    def safe_sub(self, other: Coins) -> Coins:
        """``self - other``; raises ``ErrInsufficientFunds`` if any denom would go negative."""
        amounts = dict(self._amounts)
        for coin in other._coins:
            left = amounts.get(coin.denom, 0) - coin.amount
            if left < 0:
                raise ErrInsufficientFunds.wrap(f"{self._display()} is smaller than {other}")
            amounts[coin.denom] = left
        return Coins._from_amounts(amounts)

    def __sub__(self, other: Coins) -> Coins:
        if not isinstance(other, Coins):
            return NotImplemented
        return self.safe_sub(other)

    def is_all_gte(self, other: Coins) -> bool:
        """SDK ``IsAllGTE``: for every denom of ``other``, self holds at least as much."""
        return all(self.amount_of(c.denom) >= c.amount for c in other._coins)

    def is_any_gt(self, other: Coins) -> bool:
        """SDK ``IsAnyGT``: some denom present in *both* is held in a greater amount here.

        ``{2A,3B}.is_any_gt({1A}) is True``; ``{2A}.is_any_gt({5C}) is False``;
        anything ``.is_any_gt({})`` is False.
        """
        return any(c.amount > other.amount_of(c.denom) > 0 for c in self._coins)

    def is_any_gte(self, other: Coins) -> bool:
        """SDK ``IsAnyGTE``: some denom present in *both* is held in a greater or equal amount.

        This is the fee check of the SDK ante handler (``fee.IsAnyGTE(required)``).
        """
        return any(c.amount >= other.amount_of(c.denom) > 0 for c in self._coins)

    def __iter__(self) -> Iterator[Coin]:
        return iter(self._coins)

    def __len__(self) -> int:
        return len(self._coins)

    def __getitem__(self, index: int) -> Coin:
        return self._coins[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Coins):
            return NotImplemented
        return self._coins == other._coins

    def __hash__(self) -> int:
        return hash(self._coins)

    def __str__(self) -> str:
        """SDK format: ``"10ucgpt,5uatom"``; empty coins give ``""``."""
        return ",".join(str(c) for c in self._coins)

    def _display(self) -> str:
        return str(self) or "0"

    def __repr__(self) -> str:
        return f"Coins({str(self)!r})"

    def __reduce__(self) -> tuple[type[Coins], tuple[tuple[Coin, ...]]]:
        return (Coins, (self._coins,))


def parse_coin(text: str) -> Coin:
    """Parse ``"10ucgpt"`` (optional whitespace between amount and denom) into a Coin.

    Raises ``ErrInvalidCoins`` for a malformed expression, a bad denom or an overflow.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    match = _COIN_RE.fullmatch(text.strip())
    if match is None:
        raise ErrInvalidCoins.wrap(f"invalid coin expression: {text!r}")
    amount = parse_digits(match.group(1), MAX_UINT256_DIGITS, ErrInvalidCoins, "coin amount")
    return Coin(match.group(2), amount)


def parse_coins(text: str) -> Coins:
    """Parse ``"10ucgpt,5foo"`` into canonical Coins (like SDK ``ParseCoinsNormalized``).

    Empty or blank input gives empty Coins; zero amounts are dropped; the result is sorted;
    a repeated denom, a malformed item or an overflow raises ``ErrInvalidCoins``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    text = text.strip()
    if not text:
        return Coins()
    return Coins(parse_coin(part) for part in text.split(","))
