"""ICS-23 proofs from the store verify against the proof spec; tampered proofs do not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.store import AIVM_PROOF_SPEC, CommitStore, verify_membership, verify_non_membership
from aivm.store.ics23 import CommitmentProof, ProofError, check_non_existence
from aivm.store.tree import key_hash
from aivm.types.errors import AivmError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CommitStore]:
    cs = CommitStore.open(tmp_path / "db")
    for i in range(300):
        cs.working.set(f"key{i}".encode(), f"value{i}".encode())
    cs.commit()
    yield cs
    cs.close()


def _copy(proof: CommitmentProof) -> CommitmentProof:
    return CommitmentProof.FromString(proof.SerializeToString())


def _absent_keys(store: CommitStore, count: int) -> list[bytes]:
    return [f"absent{i}".encode() for i in range(count)]


def test_existence_proofs_verify(store: CommitStore) -> None:
    root = store.last_hash
    for i in range(0, 300, 7):
        key, value = f"key{i}".encode(), f"value{i}".encode()
        proof = store.prove(key)
        assert proof.WhichOneof("proof") == "exist"
        assert verify_membership(AIVM_PROOF_SPEC, root, proof, key, value)
        assert not verify_membership(AIVM_PROOF_SPEC, root, proof, key, value + b"x")
        assert not verify_non_membership(AIVM_PROOF_SPEC, root, proof, key)


def test_non_existence_proofs_verify(store: CommitStore) -> None:
    root = store.last_hash
    for key in _absent_keys(store, 40):
        proof = store.prove(key)
        assert proof.WhichOneof("proof") == "nonexist"
        assert verify_non_membership(AIVM_PROOF_SPEC, root, proof, key)
        assert not verify_membership(AIVM_PROOF_SPEC, root, proof, key, b"x")


def test_tampered_existence_proofs_fail(store: CommitStore) -> None:
    key, value = b"key42", b"value42"
    root = store.last_hash
    good = store.prove(key)
    assert verify_membership(AIVM_PROOF_SPEC, root, good, key, value)

    def fails(mutate: object) -> None:
        proof = _copy(good)
        mutate(proof.exist)  # type: ignore[operator]
        assert not verify_membership(AIVM_PROOF_SPEC, root, proof, proof.exist.key or key, value)

    def flip_value(p: object) -> None:
        p.value = b"value43"  # type: ignore[attr-defined]

    def flip_prefix(p: object) -> None:
        step = p.path[0]  # type: ignore[attr-defined]
        step.prefix = step.prefix[:-1] + bytes([step.prefix[-1] ^ 1])

    def flip_suffix(p: object) -> None:
        step = next(s for s in p.path if s.suffix)  # type: ignore[attr-defined]
        step.suffix = bytes([step.suffix[0] ^ 1]) + step.suffix[1:]

    def flip_leaf_prefix(p: object) -> None:
        p.leaf.prefix = b"\x01"  # type: ignore[attr-defined]

    def drop_step(p: object) -> None:
        del p.path[0]  # type: ignore[attr-defined]

    def swap_side(p: object) -> None:
        step = p.path[0]  # type: ignore[attr-defined]
        sibling = step.suffix or step.prefix[1:]
        step.prefix, step.suffix = (
            (b"\x01", sibling) if not step.suffix else (b"\x01" + sibling, b"")
        )

    for mutate in (flip_value, flip_prefix, flip_suffix, flip_leaf_prefix, drop_step, swap_side):
        fails(mutate)
    wrong_root = bytes([root[0] ^ 1]) + root[1:]
    assert not verify_membership(AIVM_PROOF_SPEC, wrong_root, good, key, value)
    assert not verify_membership(AIVM_PROOF_SPEC, root, good, b"key43", value)


def _nonexist_with_both(store: CommitStore) -> tuple[bytes, CommitmentProof]:
    for key in _absent_keys(store, 100):
        proof = store.prove(key)
        ne = proof.nonexist
        if ne.HasField("left") and ne.HasField("right"):
            return key, proof
    raise AssertionError("no interior absent key found")


def test_tampered_non_existence_proofs_fail(store: CommitStore) -> None:
    root = store.last_hash
    key, good = _nonexist_with_both(store)
    assert verify_non_membership(AIVM_PROOF_SPEC, root, good, key)

    swapped = _copy(good)
    left, right = _copy(good).nonexist.left, _copy(good).nonexist.right
    swapped.nonexist.left.CopyFrom(right)
    swapped.nonexist.right.CopyFrom(left)
    assert not verify_non_membership(AIVM_PROOF_SPEC, root, swapped, key)

    # Replace the right neighbour by a valid existence proof of a non-adjacent key.
    target = key_hash(key)
    far = max(
        (f"key{i}".encode() for i in range(300)),
        key=lambda k: key_hash(k) if key_hash(k) > target else b"",
    )
    assert key_hash(far) > key_hash(good.nonexist.right.key)
    non_adjacent = _copy(good)
    non_adjacent.nonexist.right.CopyFrom(store.prove(far).exist)
    with pytest.raises(ProofError, match="neighbours"):
        check_non_existence(non_adjacent.nonexist, AIVM_PROOF_SPEC, root, key)

    only_left = _copy(good)
    only_left.nonexist.ClearField("right")
    assert not verify_non_membership(AIVM_PROOF_SPEC, root, only_left, key)

    tampered_value = _copy(good)
    tampered_value.nonexist.left.value = b"nope"
    assert not verify_non_membership(AIVM_PROOF_SPEC, root, tampered_value, key)

    # The proof must not prove absence of a key that lies outside (left, right).
    present = good.nonexist.left.key
    assert not verify_non_membership(AIVM_PROOF_SPEC, root, good, present)


def test_edges_and_tiny_trees(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as cs:
        # Empty tree: ICS-23 has no non-existence proof without a neighbour.
        empty = cs.prove(b"k")
        assert empty.WhichOneof("proof") == "nonexist"
        assert not empty.nonexist.HasField("left") and not empty.nonexist.HasField("right")
        assert not verify_non_membership(AIVM_PROOF_SPEC, cs.last_hash, empty, b"k")

        cs.working.set(b"only", b"1")
        cs.commit()
        root = cs.last_hash
        proof = cs.prove(b"only")
        assert len(proof.exist.path) == 0
        assert verify_membership(AIVM_PROOF_SPEC, root, proof, b"only", b"1")
        for other in (b"a", b"b", b"c", b"d"):
            ne = cs.prove(other)
            sides = (ne.nonexist.HasField("left"), ne.nonexist.HasField("right"))
            assert sides in ((True, False), (False, True))
            assert verify_non_membership(AIVM_PROOF_SPEC, root, ne, other)

        for i in range(64):
            cs.working.set(f"k{i}".encode(), b"v")
        cs.commit()
        root = cs.last_hash
        present = sorted((f"k{i}".encode() for i in range(64)), key=key_hash)
        smallest, largest = present[0], present[-1]
        probes = [f"p{i}".encode() for i in range(2000)]
        below = next(p for p in probes if key_hash(p) < key_hash(smallest))
        above = next(p for p in probes if key_hash(p) > key_hash(largest) and p != b"only")
        left_edge = cs.prove(below)
        assert not left_edge.nonexist.HasField("left")
        assert verify_non_membership(AIVM_PROOF_SPEC, root, left_edge, below)
        right_edge = cs.prove(above)
        assert not right_edge.nonexist.HasField("right")
        assert verify_non_membership(AIVM_PROOF_SPEC, root, right_edge, above)
        # A left-edge proof with its right proof replaced by a non-left-most leaf fails.
        bad = _copy(left_edge)
        bad.nonexist.right.CopyFrom(cs.prove(present[1]).exist)
        assert not verify_non_membership(AIVM_PROOF_SPEC, root, bad, below)


def test_empty_values_are_refused_so_every_key_is_provable(tmp_path: Path) -> None:
    with CommitStore.open(tmp_path / "db") as cs:
        with pytest.raises(AivmError):
            cs.working.set(b"k", b"")
        cs.working.set(b"k", b"\x01")
        cs.working.set(b"j", b"1")
        cs.commit()
        assert verify_membership(AIVM_PROOF_SPEC, cs.last_hash, cs.prove(b"k"), b"k", b"\x01")


@settings(max_examples=20)
@given(
    keys=st.sets(st.binary(min_size=1, max_size=4), min_size=1, max_size=40),
    probes=st.lists(st.binary(min_size=1, max_size=4), max_size=10),
)
def test_random_trees_prove_everything(
    tmp_path_factory: pytest.TempPathFactory, keys: set[bytes], probes: list[bytes]
) -> None:
    with CommitStore.open(tmp_path_factory.mktemp("db")) as cs:
        for key in keys:
            cs.working.set(key, key + b"!")
        root = cs.commit().hash
        for key in list(keys)[:10]:
            assert verify_membership(AIVM_PROOF_SPEC, root, cs.prove(key), key, key + b"!")
        for probe in probes:
            proof = cs.prove(probe)
            if probe in keys:
                assert verify_membership(AIVM_PROOF_SPEC, root, proof, probe, probe + b"!")
            else:
                assert verify_non_membership(AIVM_PROOF_SPEC, root, proof, probe)
