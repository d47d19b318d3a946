"""The radix-16 page layout: pinned roots and proofs, format marker, records per update.

The pinned values were computed with the binary-node layout (format ``aivm-store-1``) before
the pages were introduced: the physical grouping must not change the app hash or the proofs.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from aivm.store import CommitStore, compute_root
from aivm.store.commit import FORMAT_VERSION
from aivm.store.ics23 import AIVM_PROOF_SPEC, verify_membership, verify_non_membership
from aivm.types.errors import AivmError

ITEMS = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(100)]


def test_pinned_root_of_k0_to_k99(tmp_path: Path) -> None:
    expected = "2e947dfbc17dc1c35f8ebbd96eb5dcd08555b280243a6c1a879ff471f234307c"
    assert compute_root(ITEMS).hex() == expected
    with CommitStore.open(tmp_path / "db") as store:
        for key, value in ITEMS:
            store.working.set(key, value)
        assert store.commit().hash.hex() == expected
        proof_k7 = hashlib.sha256(store.prove(b"k7").SerializeToString()).hexdigest()
        proof_absent = hashlib.sha256(store.prove(b"absent").SerializeToString()).hexdigest()
    assert proof_k7 == "785010263312080456a58a4ca610ae7d30662a1a6f24bad1f266b3c611b2ce22"
    assert proof_absent == "ada21f20c1e57a1b79b5c9950a076f7621de9ac0bbfdf79be090721afda256c0"


def test_pinned_roots_of_delete_heavy_sequence(tmp_path: Path) -> None:
    roots = []
    with CommitStore.open(tmp_path / "db") as store:
        for i in range(300):
            store.working.set(f"key{i}".encode(), (b"x" * (i % 7)) + bytes([i % 256]))
        roots.append(store.commit().hash.hex())
        for i in range(0, 300, 3):
            store.working.delete(f"key{i}".encode())
        for i in range(1, 300, 3):
            store.working.delete(f"key{i}".encode())
        roots.append(store.commit().hash.hex())
        for i in range(0, 300, 2):
            store.working.set(f"key{i}".encode(), b"again")
        roots.append(store.commit().hash.hex())
        for i in range(300):
            if i % 5:
                store.working.delete(f"key{i}".encode())
        roots.append(store.commit().hash.hex())
        store.verify_integrity()
    assert roots == [
        "c399c012b3130800be0875c21277df7b9dd21401a3ffe3cc25357252edc1d8a7",
        "0d353daac2bed79045e7a9a875e864f7cd169eb2b93eea345374142198a597e4",
        "237278c06da916654f14661c29eb47195f6d8448522fcc53786895e51af17263",
        "7733f0b41748db9f9df5593923e15449d013ff859a5b8f43c896c2161162bc46",
    ]


def test_old_format_is_refused(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        store.working.set(b"a", b"1")
        store.commit()
        with store._env.begin(write=True) as txn:
            txn.put(b"format", b"aivm-store-1", db=store._meta)
    with pytest.raises(AivmError) as info:
        CommitStore.open(tmp_path / "db")
    assert "aivm-store-1" in info.value.log
    assert FORMAT_VERSION.decode() in info.value.log


def test_value_update_rewrites_one_page_per_four_levels(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as store:
        for i in range(2000):
            store.working.set(f"key{i}".encode(), b"v")
        store.commit()
        store.working.set(b"key7", b"changed")
        store.working_hash()
        # ~11 binary levels for 2000 keys: 3 or 4 pages on the path, plus the leaf.
        assert len(store._new_nodes) <= 5
        assert len(store._stale_nodes) == len(store._new_nodes)
        store.commit()
        store.verify_integrity()


def test_mixed_blocks_with_midway_hashes_match_model(tmp_path: Path) -> None:
    rng = random.Random(7)
    state: dict[bytes, bytes] = {}
    with CommitStore.open(tmp_path / "db") as store:
        for block in range(12):
            count = (1, 40, 400, 1500)[block % 4]
            for n in range(count):
                key = f"k{rng.randrange(3000)}".encode()
                if rng.random() < 0.2:
                    store.working.delete(key)
                    state.pop(key, None)
                else:
                    value = f"v{rng.randrange(10**6)}".encode()
                    store.working.set(key, value)
                    state[key] = value
                if n % 97 == 96:
                    store.working_hash()
            root = store.commit().hash
            assert root == compute_root(state.items())
            for i in range(0, 3000, 301):
                key = f"k{i}".encode()
                proof = store.prove(key)
                if key in state:
                    assert verify_membership(AIVM_PROOF_SPEC, root, proof, key, state[key])
                else:
                    assert verify_non_membership(AIVM_PROOF_SPEC, root, proof, key)
        store.verify_integrity()
