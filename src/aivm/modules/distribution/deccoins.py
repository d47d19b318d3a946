"""DecCoins: amounts of several denominations as :class:`Dec`, as the SDK's ``sdk.DecCoins``.

A :class:`DecCoins` value is canonical: sorted by denom, one entry per denom, no zero amount.
The operations are the ones ``x/distribution`` uses, with the SDK's rounding:

* ``+`` and :meth:`DecCoins.sub` are exact (``sub`` refuses to go negative);
* :meth:`mul_dec` rounds half to even (``MulDec``); :meth:`mul_dec_truncate` and
  :meth:`quo_dec_truncate` truncate toward zero (``MulDecTruncate``, ``QuoDecTruncate``); a
  product that becomes zero is dropped;
* :meth:`truncate_decimal` splits into whole :class:`Coins` and the decimal change;
* :meth:`intersect` is the per-denom minimum (``Intersect``).

The wire form of an amount (``cosmos.base.v1beta1.DecCoin``) is the backing integer of the
``LegacyDec`` in decimal, as gogoproto writes it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aivm.types import pb
from aivm.types.coin import Coin, Coins, validate_denom
from aivm.types.dec import Dec
from aivm.types.errors import ErrInsufficientFunds, ErrInvalidCoins


class DecCoins:
    """An immutable, canonical set of decimal coins (no zero or negative amounts)."""

    __slots__ = ("_items",)
    _items: tuple[tuple[str, Dec], ...]

    def __init__(self, items: Iterable[tuple[str, Dec]] = ()) -> None:
        """Sum repeated denoms, drop zeros, sort; a negative total raises ErrInvalidCoins."""
        amounts: dict[str, Dec] = {}
        for denom, amount in items:
            validate_denom(denom)
            amounts[denom] = amounts.get(denom, Dec.zero()) + amount
        for denom, amount in amounts.items():
            if amount.is_negative():
                raise ErrInvalidCoins.wrap(f"negative decimal coin amount: {amount}{denom}")
        canonical = tuple((d, amounts[d]) for d in sorted(amounts) if not amounts[d].is_zero())
        object.__setattr__(self, "_items", canonical)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("DecCoins is immutable")

    @classmethod
    def from_coins(cls, coins: Coins) -> DecCoins:
        """The same amounts as decimals (SDK ``NewDecCoinsFromCoins``)."""
        return cls((c.denom, Dec.from_int(c.amount)) for c in coins)

    @classmethod
    def from_proto(cls, items: Iterable[pb.coin.DecCoin]) -> DecCoins:
        """Decode a wire list: valid denoms, non-negative amounts (zeros are dropped)."""
        return cls((item.denom, Dec.from_proto_str(item.amount)) for item in items)

    def to_proto(self) -> list[pb.coin.DecCoin]:
        """Wire form: the backing integer of each amount."""
        return [pb.coin.DecCoin(denom=d, amount=a.to_proto_str()) for d, a in self._items]

    # -- reading -------------------------------------------------------------------------------

    def amount_of(self, denom: str) -> Dec:
        """The amount of ``denom`` (zero when absent)."""
        for d, amount in self._items:
            if d == denom:
                return amount
        return Dec.zero()

    def is_zero(self) -> bool:
        """True when empty."""
        return not self._items

    def __iter__(self) -> Iterator[tuple[str, Dec]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecCoins):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __str__(self) -> str:
        """SDK format: ``"1.500000000000000000ucgpt"``, comma-separated (empty: ``""``)."""
        return ",".join(f"{amount}{denom}" for denom, amount in self._items)

    def __repr__(self) -> str:
        return f"DecCoins({str(self)!r})"

    def is_all_gte(self, other: DecCoins) -> bool:
        """For every denom of ``other``, this holds at least as much."""
        return all(self.amount_of(d) >= a for d, a in other._items)

    # -- arithmetic ----------------------------------------------------------------------------

    def __add__(self, other: DecCoins) -> DecCoins:
        if not isinstance(other, DecCoins):
            return NotImplemented
        return DecCoins((*self._items, *other._items))

    def sub(self, other: DecCoins) -> DecCoins:
        """``self - other``; ErrInsufficientFunds when a denom would go negative."""
        negated = [(d, -a) for d, a in other._items]
        for denom, amount in other._items:
            if self.amount_of(denom) < amount:
                raise ErrInsufficientFunds.wrap(f"{self or '0'} is smaller than {other}")
        return DecCoins((*self._items, *negated))

    def __sub__(self, other: DecCoins) -> DecCoins:
        if not isinstance(other, DecCoins):
            return NotImplemented
        return self.sub(other)

    def mul_dec(self, d: Dec) -> DecCoins:
        """Each amount times ``d``, rounded half to even (SDK ``MulDec``)."""
        return DecCoins((denom, amount * d) for denom, amount in self._items)

    def mul_dec_truncate(self, d: Dec) -> DecCoins:
        """Each amount times ``d``, truncated (SDK ``MulDecTruncate``)."""
        return DecCoins((denom, amount.mul_truncate(d)) for denom, amount in self._items)

    def quo_dec_truncate(self, d: Dec) -> DecCoins:
        """Each amount divided by ``d`` (non-zero), truncated (SDK ``QuoDecTruncate``)."""
        return DecCoins((denom, amount.quo_truncate(d)) for denom, amount in self._items)

    def intersect(self, other: DecCoins) -> DecCoins:
        """Per denom, the smaller of the two amounts (denoms missing from ``other`` drop)."""
        return DecCoins((d, min(a, other.amount_of(d))) for d, a in self._items)

    def truncate_decimal(self) -> tuple[Coins, DecCoins]:
        """Whole coins and the decimal change (SDK ``TruncateDecimal``)."""
        whole = Coins.from_iter(Coin(d, a.truncate_int()) for d, a in self._items)
        change = DecCoins((d, a - a.truncate()) for d, a in self._items)
        return whole, change
