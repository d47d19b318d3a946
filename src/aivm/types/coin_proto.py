"""Conversion between protobuf ``cosmos.base.v1beta1.Coin`` lists and :class:`Coins`."""

from __future__ import annotations

from collections.abc import Iterable

from aivm.types import pb
from aivm.types.coin import Coin, Coins
from aivm.types.errors import ErrInvalidCoins
from aivm.types.numbers import MAX_UINT256_DIGITS, parse_digits


def coins_from_proto(items: Iterable[pb.coin.Coin], allow_empty: bool = True) -> Coins:
    """Strictly decode a wire coin list: sorted, unique, positive, valid denoms.

    Raises ErrInvalidCoins naming the first problem; never normalises bad input silently.
    """
    coins: list[Coin] = []
    previous = ""
    for item in items:
        amount = parse_digits(
            item.amount, MAX_UINT256_DIGITS, ErrInvalidCoins, f"amount of {item.denom!r}"
        )
        coin = Coin(item.denom, amount)
        if coin.amount == 0:
            raise ErrInvalidCoins.wrap(f"coin {coin} amount is not positive")
        if previous and coin.denom <= previous:
            raise ErrInvalidCoins.wrap(f"coins not sorted or duplicate denom {coin.denom!r}")
        previous = coin.denom
        coins.append(coin)
    if not coins and not allow_empty:
        raise ErrInvalidCoins.wrap("coins must not be empty")
    return Coins.from_canonical(coins)


def coins_to_proto(coins: Coins) -> list[pb.coin.Coin]:
    """Wire form of ``coins``."""
    return [pb.coin.Coin(denom=c.denom, amount=str(c.amount)) for c in coins]
