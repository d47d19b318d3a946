"""Hypothesis strategies over the fuzz generators (``aivm.sim.fuzz``).

The generators are written once against a ``random.Random``; Hypothesis drives them through
``st.randoms(use_true_random=False)``, whose every choice it records, so a failing input is
replayed from the example database and shrunk like any other. Leaf strategies for coin
amounts, denoms and addresses draw from the same edge-value tables.
"""

from __future__ import annotations

import string

from fuzz_targets import FuzzInput, FuzzWorld, Target
from hypothesis import strategies as st

from aivm.sim import fuzz

UNICODE_DIGITS = "²³¹٠١٢٣٤۴५१２３Ⅻ߀"


def randoms() -> st.SearchStrategy[fuzz.Rng]:
    """A Random whose choices Hypothesis controls (and shrinks)."""
    return st.randoms(use_true_random=False)


def inputs(target: Target) -> st.SearchStrategy[FuzzInput]:
    """Inputs of ``target``, built by its generator from a Hypothesis-driven Random."""
    return randoms().map(target.generate)


def coin_amounts() -> st.SearchStrategy[str]:
    """Coin amount strings: edge cases, any non-negative integer, digit-like text."""
    return st.one_of(
        st.sampled_from(fuzz.EDGE_AMOUNTS),
        st.integers(min_value=0, max_value=2**300).map(str),
        st.text(alphabet=string.digits + UNICODE_DIGITS + " +-_.e", max_size=90),
    )


def denoms() -> st.SearchStrategy[str]:
    """Denoms: edge cases and arbitrary text."""
    return st.one_of(st.sampled_from(fuzz.EDGE_DENOMS), st.text(max_size=140))


def addresses(world: FuzzWorld) -> st.SearchStrategy[str]:
    """Account addresses: the world's, and valid-but-unknown or invalid variants of them."""
    return randoms().map(lambda rng: fuzz.address_string(rng, world.vocab.addresses))


def coins(world: FuzzWorld) -> st.SearchStrategy[list[tuple[str, str]]]:
    """(denom, amount) lists, sorted or not, duplicates allowed."""
    denom = st.one_of(st.sampled_from(world.vocab.denoms), denoms())
    return st.lists(st.tuples(denom, coin_amounts()), max_size=4)
