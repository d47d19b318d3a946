"""KV layer semantics: MemStore, PrefixStore, CacheStore (branches) and the working store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aivm.store import (
    MAX_KEY_LENGTH,
    CacheStore,
    CommitStore,
    KVStore,
    MemStore,
    PrefixStore,
    iterate_prefix,
    prefix_end,
)
from aivm.types.errors import AivmError, ErrInvalidRequest


@pytest.fixture
def commit_store(tmp_path: Path) -> Iterator[CommitStore]:
    store = CommitStore.open(tmp_path / "db")
    yield store
    store.close()


def _mem() -> KVStore:
    return MemStore()


def _cache_over_mem() -> KVStore:
    parent = MemStore()
    parent.set(b"zz-parent", b"p")
    parent.delete(b"zz-parent")
    return CacheStore(parent)


STORES: dict[str, Callable[[], KVStore]] = {"mem": _mem, "cache": _cache_over_mem}


@pytest.fixture(params=["mem", "cache", "working", "prefix"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    if request.param == "working":
        cs = CommitStore.open(tmp_path / "db")
        yield cs.working
        cs.close()
    elif request.param == "prefix":
        yield PrefixStore(MemStore(), b"mod/")
    else:
        yield STORES[request.param]()


def test_get_set_delete_has(store: KVStore) -> None:
    assert store.get(b"a") is None
    assert not store.has(b"a")
    store.set(b"a", b"1")
    store.set(b"b", b"\x00")
    assert store.get(b"a") == b"1"
    assert store.get(b"b") == b"\x00"
    assert store.has(b"b")
    with pytest.raises(AivmError):
        store.set(b"c", b"")  # ICS-23 could prove neither it nor its neighbours' absence
    assert not store.has(b"c")
    store.set(b"a", b"2")
    assert store.get(b"a") == b"2"
    store.delete(b"a")
    store.delete(b"never-there")
    assert store.get(b"a") is None
    assert not store.has(b"a")


def test_iterate_order_and_bounds(store: KVStore) -> None:
    for key in [b"b", b"a", b"ab", b"a\x00", b"c", b"\xff"]:
        store.set(key, key.upper())
    assert [k for k, _ in store.iterate()] == [b"a", b"a\x00", b"ab", b"b", b"c", b"\xff"]
    assert [k for k, _ in store.iterate(b"a\x00", b"c")] == [b"a\x00", b"ab", b"b"]
    assert [k for k, _ in store.iterate(b"ab", None, reverse=True)] == [b"\xff", b"c", b"b", b"ab"]
    assert [k for k, _ in store.iterate(None, b"ab", reverse=True)] == [b"a\x00", b"a"]
    assert dict(store.iterate())[b"c"] == b"C"
    assert list(store.iterate(b"x", b"y")) == []


def test_invalid_keys_and_values(store: KVStore) -> None:
    with pytest.raises(AivmError) as info:
        store.set(b"", b"v")
    assert ErrInvalidRequest.is_(info.value)
    with pytest.raises(AivmError):
        store.set(b"k", None)  # type: ignore[arg-type]
    with pytest.raises(AivmError):
        store.set(b"k" * (MAX_KEY_LENGTH + 1), b"v")


def test_prefix_end() -> None:
    assert prefix_end(b"ab") == b"ac"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") is None
    assert prefix_end(b"") is None


def test_prefix_store_isolates_and_strips() -> None:
    parent = MemStore()
    bank = PrefixStore(parent, b"bank/")
    auth = PrefixStore(parent, b"auth/")
    bank.set(b"x", b"1")
    auth.set(b"x", b"2")
    parent.set(b"bank0", b"outside")  # b"bank0" > every b"bank/..." key
    assert parent.get(b"bank/x") == b"1"
    assert list(bank.iterate()) == [(b"x", b"1")]
    assert list(auth.iterate()) == [(b"x", b"2")]
    nested = PrefixStore(bank, b"bal/")
    nested.set(b"addr", b"5")
    assert parent.get(b"bank/bal/addr") == b"5"
    assert list(iterate_prefix(parent, b"bank/bal/")) == [(b"bank/bal/addr", b"5")]
    assert list(bank.iterate(b"a", b"y")) == [(b"bal/addr", b"5"), (b"x", b"1")]


def test_prefix_store_at_ff_prefix() -> None:
    parent = MemStore()
    store = PrefixStore(parent, b"\xff")
    store.set(b"\xff", b"1")
    parent.set(b"\xfe", b"no")
    assert list(store.iterate()) == [(b"\xff", b"1")]


def test_cache_store_write_and_discard() -> None:
    parent = MemStore()
    parent.set(b"a", b"1")
    parent.set(b"b", b"2")
    branch = CacheStore(parent)
    branch.set(b"a", b"10")
    branch.delete(b"b")
    branch.set(b"c", b"3")
    assert branch.get(b"a") == b"10" and branch.get(b"b") is None and branch.has(b"c")
    assert list(branch.iterate()) == [(b"a", b"10"), (b"c", b"3")]
    assert list(branch.iterate(reverse=True)) == [(b"c", b"3"), (b"a", b"10")]
    assert parent.get(b"a") == b"1" and parent.get(b"b") == b"2"
    branch.discard()
    assert branch.get(b"a") == b"1"
    branch.set(b"a", b"11")
    branch.delete(b"b")
    branch.write()
    assert list(parent.iterate()) == [(b"a", b"11")]
    assert branch.dirty_count() == 0


def test_nested_branches_tx_failure_leaves_block_untouched() -> None:
    root = MemStore()
    root.set(b"acc/alice", b"100")
    block = CacheStore(root)
    ok_tx = CacheStore(block)
    ok_tx.set(b"acc/alice", b"90")
    ok_tx.set(b"acc/bob", b"10")
    ok_tx.write()
    failed_tx = CacheStore(block)
    failed_tx.set(b"acc/alice", b"0")
    failed_tx.delete(b"acc/bob")
    failed_tx.set(b"acc/carol", b"1")
    assert list(failed_tx.iterate()) == [(b"acc/alice", b"0"), (b"acc/carol", b"1")]
    failed_tx.discard()
    assert list(block.iterate()) == [(b"acc/alice", b"90"), (b"acc/bob", b"10")]
    assert list(root.iterate()) == [(b"acc/alice", b"100")]
    block.write()
    assert list(root.iterate()) == [(b"acc/alice", b"90"), (b"acc/bob", b"10")]


def test_working_store_pending_and_discard(commit_store: CommitStore) -> None:
    working = commit_store.working
    working.set(b"a", b"1")
    commit_store.commit()
    working.set(b"b", b"2")
    working.delete(b"a")
    assert list(working.iterate()) == [(b"b", b"2")]
    commit_store.discard_pending()
    assert list(working.iterate()) == [(b"a", b"1")]
    assert working.get(b"b") is None


ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "delete"]),
        st.binary(min_size=1, max_size=3),
        st.binary(min_size=1, max_size=3),
    ),
    max_size=40,
)


@given(base=ops, top=ops, bounds=st.tuples(st.binary(max_size=2), st.binary(max_size=2)))
def test_cache_iteration_matches_model(
    base: list[tuple[str, bytes, bytes]],
    top: list[tuple[str, bytes, bytes]],
    bounds: tuple[bytes, bytes],
) -> None:
    parent = MemStore()
    model: dict[bytes, bytes] = {}
    for op, key, value in base:
        if op == "set":
            parent.set(key, value)
            model[key] = value
        else:
            parent.delete(key)
            model.pop(key, None)
    branch = CacheStore(parent)
    for op, key, value in top:
        if op == "set":
            branch.set(key, value)
            model[key] = value
        else:
            branch.delete(key)
            model.pop(key, None)
    start, end = bounds[0] or None, bounds[1] or None
    expected = sorted(
        (k, v)
        for k, v in model.items()
        if (start is None or k >= start) and (end is None or k < end)
    )
    assert list(branch.iterate(start, end)) == expected
    assert list(branch.iterate(start, end, reverse=True)) == expected[::-1]
    branch.write()
    assert list(parent.iterate()) == sorted(model.items())
