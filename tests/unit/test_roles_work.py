"""roles work split arithmetic: :func:`split_weights` gives each member
``(1 − w) × score share + w × work share`` exactly, falls back to scores when nobody
recorded work, and the ``work_weight`` param is bounded to [0, 1]."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from aivm.modules.roles.errors import ErrInvalidParams
from aivm.modules.roles.params import DEFAULT_PARAMS, params_from_proto
from aivm.modules.roles.rewards import split, split_weights
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

ONE = 10**18


def test_weights_mix_score_share_and_work_share_exactly() -> None:
    rng = random.Random(11)
    for _ in range(300):
        n = rng.randrange(1, 9)
        scores = [rng.randrange(0, 10**15) for _ in range(n)]
        work = [rng.choice((0, rng.randrange(1, 10**30))) for _ in range(n)]
        w = Dec.raw(rng.randrange(0, ONE + 1))
        weights = split_weights(scores, work, w)
        if sum(work) == 0 or sum(scores) == 0:
            continue
        # the share each weight stands for, in exact rationals
        omega = Fraction(w.bigint(), ONE)
        for i in range(n):
            want = (1 - omega) * Fraction(scores[i], sum(scores)) + omega * Fraction(
                work[i], sum(work)
            )
            assert Fraction(weights[i], sum(weights)) == want
        pool = {"ucgpt": Dec.raw(rng.randrange(0, 10**30))}
        parts, remainder = split(pool, weights)
        given = sum((p.get("ucgpt", Dec(0)) for p in parts), Dec(0))
        assert given + remainder.get("ucgpt", Dec(0)) == pool["ucgpt"]  # no dust lost
        assert remainder.get("ucgpt", Dec(0)) < Dec.raw(n)


def test_no_recorded_work_splits_by_score_alone() -> None:
    assert split_weights([5, 3, 0], [0, 0, 0], Dec("0.5")) == [5, 3, 0]
    assert split_weights([], [], Dec("0.5")) == []


def test_the_ends_of_work_weight() -> None:
    scores, work = [1, 3], [0, 10]
    only_score = split_weights(scores, work, Dec(0))
    assert Fraction(only_score[0], sum(only_score)) == Fraction(1, 4)
    only_work = split_weights(scores, work, Dec(1))
    assert only_work[0] == 0 and only_work[1] > 0
    # every score 0 (a dust bond): the work alone decides rather than losing the pool
    assert split_weights([0, 0], [2, 6], Dec("0.5")) == [2, 6]


def test_half_and_half_example_from_the_readme() -> None:
    # scores 1 and 3; only the second recorded work: 0.5 × 1/4 and 0.5 × 3/4 + 0.5
    parts, remainder = split({"ucgpt": Dec(800)}, split_weights([1, 3], [0, 5], Dec("0.5")))
    assert parts == [{"ucgpt": Dec(100)}, {"ucgpt": Dec(700)}] and remainder == {}


@pytest.mark.parametrize("value", ["-0.1", "1.000000000000000001", "", "x"])
def test_work_weight_param_is_bounded(value: str) -> None:
    proto = DEFAULT_PARAMS.to_proto()
    proto.work_weight = value
    with pytest.raises(AivmError) as info:
        params_from_proto(proto)
    assert ErrInvalidParams.is_(info.value)


def test_work_weight_default_round_trips() -> None:
    assert DEFAULT_PARAMS.work_weight == Dec("0.5")
    assert params_from_proto(DEFAULT_PARAMS.to_proto()) == DEFAULT_PARAMS
    proto = DEFAULT_PARAMS.to_proto()
    proto.work_weight = "1"
    assert params_from_proto(proto).work_weight == Dec(1)
