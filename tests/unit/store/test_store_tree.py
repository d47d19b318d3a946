"""The state tree: the root depends only on the final state, and matches a from-scratch build."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.store import EMPTY_HASH, CommitStore, compute_root
from aivm.store.tree import EMPTY_REF, Batch, apply_batch, inner_hash, leaf_hash


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_hash_definitions() -> None:
    assert compute_root([]) == EMPTY_HASH == bytes(32)
    one = compute_root([(b"k", b"v")])
    assert one == _h(b"\x00" + _h(b"k") + _h(b"v")) == leaf_hash(_h(b"k"), _h(b"v"))
    # Two keys whose hashes differ in the first bit hang directly under the root.
    a, b = b"a", b"b"  # sha256(a) starts 0xca (bit 1), sha256(b) starts 0x3e (bit 0)
    assert _h(a)[0] >> 7 == 1 and _h(b)[0] >> 7 == 0
    expected = inner_hash(leaf_hash(_h(b), _h(b"2")), leaf_hash(_h(a), _h(b"1")))
    assert compute_root([(a, b"1"), (b, b"2")]) == expected


def test_shared_prefix_makes_single_child_inner_nodes() -> None:
    # Find two keys whose hashes share the first 3 bits and differ at bit 3.
    keys = [bytes([i]) for i in range(256)]
    by_prefix: dict[int, list[bytes]] = {}
    for key in keys:
        by_prefix.setdefault(_h(key)[0] >> 4, []).append(key)
    pair = next(
        (x, y)
        for group in by_prefix.values()
        for x in group
        for y in group
        if (_h(x)[0] >> 4) == (_h(y)[0] >> 4) and ((_h(x)[0] >> 3) & 1) != ((_h(y)[0] >> 3) & 1)
    )
    x, y = sorted(pair, key=_h)
    node = inner_hash(leaf_hash(_h(x), _h(b"v")), leaf_hash(_h(y), _h(b"v")))
    for depth in range(3, -1, -1):
        bit = (_h(x)[0] >> (7 - depth)) & 1
        node = inner_hash(EMPTY_HASH, node) if bit else inner_hash(node, EMPTY_HASH)
    assert compute_root([(x, b"v"), (y, b"v")]) == node


def _apply_in_memory(
    root: tuple[int, bytes, bytes],
    changes: dict[bytes, bytes | None],
    nodes: dict[bytes, bytes],
    version: int,
) -> tuple[int, bytes, bytes]:
    new_nodes: dict[bytes, bytes] = {}
    stale: list[bytes] = []
    result = apply_batch(
        root,
        Batch.from_changes(changes.items()),
        version.to_bytes(8, "big"),
        nodes.get,
        new_nodes,
        stale,
    )
    for key in stale:
        assert key in nodes
    nodes.update(new_nodes)
    return result


key_st = st.binary(min_size=1, max_size=3)
ops_st = st.lists(
    st.lists(
        st.tuples(key_st, st.one_of(st.none(), st.binary(min_size=1, max_size=4))), max_size=25
    ),
    min_size=1,
    max_size=8,
)


@given(blocks=ops_st)
def test_incremental_root_equals_from_scratch(
    blocks: list[list[tuple[bytes, bytes | None]]],
) -> None:
    nodes: dict[bytes, bytes] = {}
    root = EMPTY_REF
    state: dict[bytes, bytes] = {}
    for version, block in enumerate(blocks, start=1):
        changes: dict[bytes, bytes | None] = {}
        for key, value in block:
            changes[key] = value
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        root = _apply_in_memory(root, changes, nodes, version)
        assert root[1] == compute_root(state.items())


@given(
    items=st.dictionaries(key_st, st.binary(min_size=1, max_size=3), max_size=30),
    data=st.data(),
)
def test_root_independent_of_order_and_split(
    items: dict[bytes, bytes], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(list(items.items())))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=4)))
    nodes: dict[bytes, bytes] = {}
    root = EMPTY_REF
    version = 1
    previous = 0
    for cut in [*cuts, len(order)]:
        root = _apply_in_memory(root, dict(order[previous:cut]), nodes, version)
        previous = cut
        version += 1
    assert root[1] == compute_root(items.items())
    # Deleting everything returns to the empty root.
    root = _apply_in_memory(root, dict.fromkeys(items), nodes, version)
    assert root == EMPTY_REF or root[1] == EMPTY_HASH


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CommitStore]:
    cs = CommitStore.open(tmp_path / "db")
    yield cs
    cs.close()


@settings(max_examples=25)
@given(blocks=ops_st, hash_midway=st.booleans())
def test_commit_store_roots_match_model(
    tmp_path_factory: pytest.TempPathFactory,
    blocks: list[list[tuple[bytes, bytes | None]]],
    hash_midway: bool,
) -> None:
    path = tmp_path_factory.mktemp("db")
    with CommitStore.open(path) as cs:
        state: dict[bytes, bytes] = {}
        for block in blocks:
            half = len(block) // 2
            for i, (key, value) in enumerate(block):
                if hash_midway and i == half:
                    cs.working_hash()
                if value is None:
                    cs.working.delete(key)
                    state.pop(key, None)
                else:
                    cs.working.set(key, value)
                    state[key] = value
            expected = compute_root(state.items())
            assert cs.working_hash() == expected
            assert cs.commit().hash == expected
        cs.verify_integrity()
        assert dict(cs.working.iterate()) == state


def test_working_hash_is_cached_and_reused(store: CommitStore) -> None:
    store.working.set(b"a", b"1")
    first = store.working_hash()
    nodes = dict(store._new_nodes)
    assert store.working_hash() == first
    assert store._new_nodes == nodes
    assert store.commit().hash == first


def test_delete_all_returns_to_empty_root(store: CommitStore) -> None:
    keys = [f"key{i}".encode() for i in range(50)]
    for key in keys:
        store.working.set(key, b"v")
    store.commit()
    for key in keys:
        store.working.delete(key)
    assert store.commit().hash == EMPTY_HASH
    store.verify_integrity()
