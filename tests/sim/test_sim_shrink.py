"""Shrinking keeps exactly what a failure needs."""

from __future__ import annotations

from aivm.sim.shrink import drop_items


def test_drop_items_keeps_only_what_reproduces() -> None:
    calls = []

    def needs_3_and_11(items: list[int]) -> bool:
        calls.append(items)
        return 3 in items and 11 in items

    assert drop_items(list(range(20)), needs_3_and_11) == [3, 11]
    assert len(calls) < 60


def test_drop_items_keeps_an_order_dependent_pair() -> None:
    def a_before_b(items: list[str]) -> bool:
        return "a" in items and "b" in items and items.index("a") < items.index("b")

    assert drop_items(list("xxaxxbxx"), a_before_b) == ["a", "b"]


def test_drop_items_of_nothing_is_nothing() -> None:
    assert drop_items([], lambda items: True) == []
