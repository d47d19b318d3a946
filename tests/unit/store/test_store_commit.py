"""CommitStore: persistence, versions, past-height reads and proofs, pruning."""

from __future__ import annotations

from pathlib import Path

import pytest

from aivm.store import (
    AIVM_PROOF_SPEC,
    EMPTY_HASH,
    CacheStore,
    CommitStore,
    PrefixStore,
    PruningOptions,
    compute_root,
    verify_membership,
    verify_non_membership,
)
from aivm.types.errors import AivmError, ErrInvalidHeight


def _fill(store: CommitStore, version: int, count: int = 20) -> dict[bytes, bytes]:
    """Write a deterministic block: keys k0..k{count} get values that depend on version."""
    changes = {}
    for i in range(count):
        key = f"k{i:03d}".encode()
        if (i + version) % 7 == 0:
            store.working.delete(key)
        else:
            value = f"v{version}-{i}".encode()
            store.working.set(key, value)
            changes[key] = value
    return changes


def _model_at(version: int, count: int = 20) -> dict[bytes, bytes]:
    state: dict[bytes, bytes] = {}
    for v in range(1, version + 1):
        for i in range(count):
            key = f"k{i:03d}".encode()
            if (i + v) % 7 == 0:
                state.pop(key, None)
            else:
                state[key] = f"v{v}-{i}".encode()
    return state


def test_reopen_gives_same_version_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with CommitStore.open(path) as store:
        assert store.version == 0 and store.last_hash == EMPTY_HASH
        for v in range(1, 4):
            _fill(store, v)
            info = store.commit()
            assert info.version == v
        last = store.last_hash
        store.working.set(b"uncommitted", b"x")
    with CommitStore.open(path) as store:
        assert store.version == 3 and store.last_hash == last
        assert store.working.get(b"uncommitted") is None
        assert dict(store.working.iterate()) == _model_at(3)
        store.verify_integrity()


def test_commit_versions(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        store.working.set(b"a", b"1")
        assert store.commit(5).version == 5  # e.g. a chain with initial height 5
        with pytest.raises(AivmError) as info:
            store.commit(5)
        assert ErrInvalidHeight.is_(info.value)
        assert store.commit().version == 6  # empty block: same root, new version
        assert store.root_at(6) == store.root_at(5)
        assert store.get_at(b"a", 3) is None  # before the first commit
        assert store.root_at(3) == EMPTY_HASH
        assert store.available_versions() == (0, 6)


def test_past_height_reads_iteration_and_proofs(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        roots = {}
        for v in range(1, 11):
            _fill(store, v)
            roots[v] = store.commit().hash
        for v in (1, 4, 9, 10):
            model = _model_at(v)
            assert store.root_at(v) == roots[v] == compute_root(model.items())
            view = store.view_at(v)
            assert dict(view.iterate()) == model
            assert list(view.iterate(b"k005", b"k010", reverse=True)) == sorted(
                ((k, val) for k, val in model.items() if b"k005" <= k < b"k010"), reverse=True
            )
            for i in range(20):
                key = f"k{i:03d}".encode()
                assert view.get(key) == model.get(key) == store.get_at(key, v)
                proof = store.prove(key, v)
                if key in model:
                    assert verify_membership(AIVM_PROOF_SPEC, roots[v], proof, key, model[key])
                else:
                    assert verify_non_membership(AIVM_PROOF_SPEC, roots[v], proof, key)
        with pytest.raises(AivmError):
            store.view_at(3).set(b"k", b"v")
        with pytest.raises(AivmError) as info:
            store.view_at(11)
        assert ErrInvalidHeight.is_(info.value) and "future" in info.value.log


def test_view_of_latest_stays_at_its_version(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        store.working.set(b"a", b"1")
        store.commit()
        view = store.view_at(1)
        store.working.set(b"a", b"2")
        assert view.get(b"a") == b"1"
        store.commit()
        assert view.get(b"a") == b"1"
        assert list(view.iterate()) == [(b"a", b"1")]


def test_history_keys_with_zero_bytes_and_prefixes(tmp_path: Path) -> None:
    keys = [b"a", b"a\x00", b"a\x00\x00", b"a\x00\x01", b"a\x01", b"a\xff", b"a\xff\xff", b"b"]
    with CommitStore.open(tmp_path / "db") as store:
        for key in keys:
            store.working.set(key, key + b"@1")
        store.commit()
        for key in keys[::2]:
            store.working.set(key, key + b"@2")
        store.working.delete(b"a\x00")
        store.commit()
        v1 = {k: k + b"@1" for k in keys}
        v2 = {**v1, **{k: k + b"@2" for k in keys[::2]}}
        del v2[b"a\x00"]
        assert list(store.view_at(1).iterate()) == sorted(v1.items())
        assert list(store.view_at(2).iterate()) == sorted(v2.items())
        assert list(store.view_at(1).iterate(reverse=True)) == sorted(v1.items(), reverse=True)
        assert list(store.view_at(1).iterate(b"a\x00", b"a\x01")) == [
            (k, v1[k]) for k in (b"a\x00", b"a\x00\x00", b"a\x00\x01")
        ]
        bank = PrefixStore(store.view_at(2), b"a")
        expected = [b"", b"\x00\x00", b"\x00\x01", b"\x01", b"\xff", b"\xff\xff"]
        assert [k for k, _ in bank.iterate()] == expected


def test_pruning_removes_old_versions_keeps_recent(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with CommitStore.open(path, PruningOptions(keep_recent=3, interval=5)) as store:
        roots = {}
        for v in range(1, 21):
            _fill(store, v)
            roots[v] = store.commit().hash
        assert store.available_versions() == (18, 20)
        with pytest.raises(AivmError) as info:
            store.get_at(b"k001", 5)
        assert ErrInvalidHeight.is_(info.value)
        assert "version 5 has been pruned; oldest available is 18" in info.value.log
        with pytest.raises(AivmError):
            store.view_at(17)
        for v in (18, 19, 20):
            model = _model_at(v)
            assert dict(store.view_at(v).iterate()) == model
            for i in range(20):
                key = f"k{i:03d}".encode()
                proof = store.prove(key, v)
                if key in model:
                    assert verify_membership(AIVM_PROOF_SPEC, roots[v], proof, key, model[key])
                else:
                    assert verify_non_membership(AIVM_PROOF_SPEC, roots[v], proof, key)
        store.verify_integrity()
    # Pruning keeps the store bounded: the node count matches a store with only recent history.
    with CommitStore.open(path, PruningOptions(keep_recent=3, interval=5)) as store:
        assert store.available_versions() == (18, 20)
        with store._env.begin() as txn:
            node_count = txn.stat(store._nodes)["entries"]
            history_count = txn.stat(store._history)["entries"]
        # Tree nodes of the versions 18..20 only, and at most a few history entries per key.
        assert node_count < 3 * 2 * 20 * 2
        assert history_count <= 20 * 4


def test_pruning_presets() -> None:
    assert PruningOptions.nothing() == PruningOptions(0, 0)
    assert PruningOptions.default() == PruningOptions(362880, 10)
    assert PruningOptions.everything() == PruningOptions(2, 10)
    with pytest.raises(AivmError):
        PruningOptions(keep_recent=-1, interval=10)
    with pytest.raises(AivmError):
        PruningOptions(keep_recent=5, interval=0)


def test_block_branch_over_working_then_commit(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        store.working.set(b"acc/a", b"100")
        store.commit()
        block = CacheStore(store.working)
        good = CacheStore(block)
        good.set(b"acc/a", b"90")
        good.set(b"acc/b", b"10")
        good.write()
        bad = CacheStore(block)
        bad.set(b"acc/a", b"0")
        bad.discard()
        block.write()
        info = store.commit()
        assert info.hash == compute_root([(b"acc/a", b"90"), (b"acc/b", b"10")])
        assert store.get_at(b"acc/a", 1) == b"100"


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = CommitStore.open(tmp_path / "db")
    store.close()
    store.close()
    with pytest.raises(AivmError):
        store.commit()
