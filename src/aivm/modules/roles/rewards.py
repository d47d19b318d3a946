"""Exact reward arithmetic: amounts per denom as :class:`Dec`, and the split of a pool among
weighted operators with the truncation dust kept, never lost.

``cosmos.base.v1beta1.DecCoin`` amounts are written in the SDK's LegacyDec wire form (the
18-decimal backing integer in decimal), as cosmjs and cosmpy read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aivm.types import pb
from aivm.types.coin import validate_denom
from aivm.types.dec import Dec
from aivm.types.errors import ErrInvalidCoins

DecAmounts = dict[str, Dec]
"""Non-negative decimal amounts by denom (no zero entries kept when written)."""


def add_amounts(a: DecAmounts, b: DecAmounts) -> DecAmounts:
    """Per-denom sum."""
    out = dict(a)
    for denom, amount in b.items():
        out[denom] = out.get(denom, Dec.zero()) + amount
    return out


def total_amounts(items: Iterable[DecAmounts]) -> DecAmounts:
    """Per-denom sum of many."""
    out: DecAmounts = {}
    for item in items:
        out = add_amounts(out, item)
    return out


def from_dec_coins(coins: Iterable[pb.coin.DecCoin]) -> DecAmounts:
    """Parse DecCoins (wire form); ErrInvalidCoins on a bad denom or a negative amount."""
    out: DecAmounts = {}
    for coin in coins:
        validate_denom(coin.denom)
        amount = Dec.from_proto_str(coin.amount)
        if amount.is_negative():
            raise ErrInvalidCoins.wrap(f"negative amount of {coin.denom}")
        out[coin.denom] = out.get(coin.denom, Dec.zero()) + amount
    return out


def to_dec_coins(amounts: DecAmounts) -> list[pb.coin.DecCoin]:
    """DecCoins sorted by denom, zero amounts left out."""
    return [
        pb.coin.DecCoin(denom=denom, amount=amount.to_proto_str())
        for denom, amount in sorted(amounts.items())
        if not amount.is_zero()
    ]


def split(pool: DecAmounts, weights: Sequence[int]) -> tuple[list[DecAmounts], DecAmounts]:
    """Split ``pool`` by integer ``weights``: part ``i`` of each denom is
    ``pool × weights[i] / Σ weights`` truncated at 18 decimals; the remainder is what the
    truncation left (all of the pool when the weights add up to 0). Parts + remainder =
    pool exactly."""
    total = sum(weights)
    parts: list[DecAmounts] = [{} for _ in weights]
    remainder: DecAmounts = {}
    for denom, amount in sorted(pool.items()):
        given = 0
        if total > 0:
            for i, weight in enumerate(weights):
                raw = amount.bigint() * weight // total
                if raw:
                    parts[i][denom] = Dec.raw(raw)
                    given += raw
        left = amount.bigint() - given
        if left:
            remainder[denom] = Dec.raw(left)
    return parts, remainder


def split_weights(scores: Sequence[int], work: Sequence[int], work_weight: Dec) -> list[int]:
    """Integer weights that give member ``i`` the share
    ``(1 − w) × scores[i] / Σ scores + w × work[i] / Σ work`` of a pool (``w`` =
    ``work_weight`` in [0, 1]; ``work[i]`` = recorded units × performance, as integers).

    The weights are ``(1 − w)·scores[i]·Σwork + w·work[i]·Σscores`` with ``w`` taken as its
    18-decimal integer, so :func:`split` of them is exact. When nothing was recorded
    (Σ work = 0) the weights are the scores; when every score is 0 they are the work.
    """
    if len(scores) != len(work):
        raise ValueError("one work figure per score")
    total_scores, total_work = sum(scores), sum(work)
    if total_work == 0:
        return list(scores)
    if total_scores == 0:
        return list(work)
    omega = work_weight.bigint()
    rest = Dec.one().bigint() - omega
    return [
        rest * score * total_work + omega * units * total_scores
        for score, units in zip(scores, work, strict=True)
    ]
