"""The blocking ``Client`` has every public method of ``AsyncClient``, with the same signature."""

from __future__ import annotations

import inspect

import pytest

from aivm.client import AsyncClient, Client


def public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


ASYNC_METHODS = public_methods(AsyncClient)


def test_every_coroutine_method_has_a_blocking_twin() -> None:
    coroutines = {n for n, m in ASYNC_METHODS.items() if inspect.iscoroutinefunction(m)}
    assert {"call", "status", "balance", "send", "wait_for_tx"} <= coroutines
    missing = sorted(n for n in ASYNC_METHODS if not callable(getattr(Client, n, None)))
    assert not missing, f"Client lacks the blocking twins of AsyncClient.{missing}"


@pytest.mark.parametrize("name", sorted(ASYNC_METHODS))
def test_blocking_twin_has_the_same_signature(name: str) -> None:
    twin = getattr(Client, name)
    assert not inspect.iscoroutinefunction(twin), f"Client.{name} must block, not be a coroutine"
    assert inspect.signature(twin) == inspect.signature(ASYNC_METHODS[name])  # type: ignore[arg-type]


def test_a_hand_written_twin_that_drifts_is_caught() -> None:
    """The signature check sees a copy whose defaults differ (what the generated twins avoid)."""

    def balance(self: Client, address: str, denom: str = "uatom") -> int:
        return 0

    assert inspect.signature(balance) != inspect.signature(AsyncClient.balance)
