"""ICS-23 proofs: AIVM's proof spec, proof construction helpers and a verifier.

:data:`AIVM_PROOF_SPEC` describes the state tree of :mod:`aivm.store.tree` to any ICS-23
verifier (IBC light clients, relayers). It is the same shape as the reference library's
``SmtSpec``: a binary tree over sha256(key) with 32-zero-byte empty children.

The verifier is a port of the reference algorithm (``cosmos/ics23``, Go implementation):
``verify_membership`` recomputes the root from an ``ExistenceProof`` (leaf op, then inner ops
from the leaf up) after checking every op against the spec; ``verify_non_membership`` checks
the left and right neighbour proofs, that the key lies strictly between them in comparison
order (sha256 of the keys, as the spec prehashes keys before comparison), and that the
neighbours are adjacent leaves of the tree (left right-most / right left-most below their
divergence, using the empty-child padding rules). Batch and compressed proofs are not
accepted.

Two limits follow the reference algorithm: a key whose value is ``b""`` has no valid
existence proof ("leaf op needs value"), and the empty tree (root = 32 zero bytes) has no
valid non-existence proof (both neighbours would be missing).
"""

from __future__ import annotations

import hashlib

from cosmpy.protos.cosmos.ics23.v1 import proofs_pb2 as pb

from aivm.store.tree import EMPTY_HASH, INNER_PREFIX, LEAF_PREFIX

CommitmentProof = pb.CommitmentProof
ExistenceProof = pb.ExistenceProof
NonExistenceProof = pb.NonExistenceProof
InnerOp = pb.InnerOp
LeafOp = pb.LeafOp
ProofSpec = pb.ProofSpec
InnerSpec = pb.InnerSpec

AIVM_PROOF_SPEC = pb.ProofSpec(
    leaf_spec=pb.LeafOp(
        hash=pb.SHA256,
        prehash_key=pb.SHA256,
        prehash_value=pb.SHA256,
        length=pb.NO_PREFIX,
        prefix=LEAF_PREFIX,
    ),
    inner_spec=pb.InnerSpec(
        child_order=[0, 1],
        child_size=32,
        min_prefix_length=1,
        max_prefix_length=1,
        empty_child=EMPTY_HASH,
        hash=pb.SHA256,
    ),
    max_depth=256,
    min_depth=0,
    prehash_key_before_comparison=True,
)
"""The ICS-23 proof spec of AIVM's state tree (identical to the reference ``SmtSpec``)."""

LEAF_OP = pb.LeafOp(
    hash=pb.SHA256,
    prehash_key=pb.SHA256,
    prehash_value=pb.SHA256,
    length=pb.NO_PREFIX,
    prefix=LEAF_PREFIX,
)
"""The leaf op every AIVM existence proof carries."""


class ProofError(Exception):
    """A proof does not verify; the message says which check failed."""


# -- construction ------------------------------------------------------------------------


def inner_op(bit: int, sibling: bytes) -> pb.InnerOp:
    """The op for one level: the child is on the left (bit 0) or right (bit 1) of ``sibling``."""
    if bit:
        return pb.InnerOp(hash=pb.SHA256, prefix=INNER_PREFIX + sibling, suffix=b"")
    return pb.InnerOp(hash=pb.SHA256, prefix=INNER_PREFIX, suffix=sibling)


def existence_proof(key: bytes, value: bytes, path: list[pb.InnerOp]) -> pb.ExistenceProof:
    """An existence proof; ``path`` is ordered from the leaf up to the root."""
    return pb.ExistenceProof(key=key, value=value, leaf=LEAF_OP, path=path)


# -- hashing -----------------------------------------------------------------------------


def _do_hash(op: int, data: bytes) -> bytes:
    if op == pb.SHA256:
        return hashlib.sha256(data).digest()
    if op == pb.SHA512:
        return hashlib.sha512(data).digest()
    if op == pb.SHA512_256:
        return hashlib.new("sha512_256", data).digest()
    if op == pb.BLAKE2B_512:
        return hashlib.blake2b(data, digest_size=64).digest()
    if op == pb.BLAKE2S_256:
        return hashlib.blake2s(data, digest_size=32).digest()
    raise ProofError(f"unsupported hashop: {op}")


def _do_hash_or_noop(op: int, data: bytes) -> bytes:
    if op == pb.NO_HASH:
        return data
    return _do_hash(op, data)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _do_length(op: int, data: bytes) -> bytes:
    if op == pb.NO_PREFIX:
        return data
    if op == pb.VAR_PROTO:
        return _encode_varint(len(data)) + data
    if op == pb.REQUIRE_32_BYTES:
        if len(data) != 32:
            raise ProofError(f"data was {len(data)} bytes, not 32")
        return data
    if op == pb.REQUIRE_64_BYTES:
        if len(data) != 64:
            raise ProofError(f"data was {len(data)} bytes, not 64")
        return data
    if op == pb.FIXED32_BIG:
        return len(data).to_bytes(4, "big") + data
    if op == pb.FIXED32_LITTLE:
        return len(data).to_bytes(4, "little") + data
    if op == pb.FIXED64_BIG:
        return len(data).to_bytes(8, "big") + data
    if op == pb.FIXED64_LITTLE:
        return len(data).to_bytes(8, "little") + data
    raise ProofError(f"unsupported lengthop: {op}")


def apply_leaf(op: pb.LeafOp, key: bytes, value: bytes) -> bytes:
    """Hash of the leaf ``op`` makes of (key, value)."""
    if not key:
        raise ProofError("leaf op needs key")
    if not value:
        raise ProofError("leaf op needs value")
    pkey = _do_length(op.length, _do_hash_or_noop(op.prehash_key, key))
    pvalue = _do_length(op.length, _do_hash_or_noop(op.prehash_value, value))
    return _do_hash(op.hash, bytes(op.prefix) + pkey + pvalue)


def apply_inner(op: pb.InnerOp, child: bytes) -> bytes:
    """Hash of the parent ``op`` makes of ``child``."""
    if not child:
        raise ProofError("inner op needs child value")
    return _do_hash(op.hash, bytes(op.prefix) + child + bytes(op.suffix))


def calculate_root(proof: pb.ExistenceProof, spec: pb.ProofSpec | None = None) -> bytes:
    """Root hash an existence proof commits to (no spec checks unless ``spec`` is given)."""
    if not proof.HasField("leaf"):
        raise ProofError("existence proof needs defined LeafOp")
    result = apply_leaf(proof.leaf, proof.key, proof.value)
    for step in proof.path:
        result = apply_inner(step, result)
        if spec is not None:
            child_size = spec.inner_spec.child_size
            if len(result) > child_size and child_size >= 32:
                raise ProofError("inner op produced a hash longer than the child size")
    return result


# -- spec checks -------------------------------------------------------------------------


def _check_leaf(op: pb.LeafOp, spec: pb.ProofSpec) -> None:
    lspec = spec.leaf_spec
    if op.hash != lspec.hash:
        raise ProofError(f"leaf: unexpected HashOp: {op.hash}")
    if op.prehash_key != lspec.prehash_key:
        raise ProofError(f"leaf: unexpected PrehashKey: {op.prehash_key}")
    if op.prehash_value != lspec.prehash_value:
        raise ProofError(f"leaf: unexpected PrehashValue: {op.prehash_value}")
    if op.length != lspec.length:
        raise ProofError(f"leaf: unexpected LengthOp: {op.length}")
    if not bytes(op.prefix).startswith(bytes(lspec.prefix)):
        raise ProofError(f"leaf: prefix doesn't start with {bytes(lspec.prefix).hex()}")


def _check_inner(op: pb.InnerOp, spec: pb.ProofSpec) -> None:
    ispec = spec.inner_spec
    if op.hash != ispec.hash:
        raise ProofError(f"inner: unexpected HashOp: {op.hash}")
    prefix = bytes(op.prefix)
    if prefix.startswith(bytes(spec.leaf_spec.prefix)):
        raise ProofError(f"inner: prefix starts with {bytes(spec.leaf_spec.prefix).hex()}")
    if len(prefix) < ispec.min_prefix_length:
        raise ProofError(f"inner: prefix too short ({len(prefix)})")
    max_left_child_bytes = (len(ispec.child_order) - 1) * ispec.child_size
    if len(prefix) > ispec.max_prefix_length + max_left_child_bytes:
        raise ProofError(f"inner: prefix too long ({len(prefix)})")
    if ispec.child_size <= 0:
        raise ProofError("spec.inner_spec.child_size must be >= 1")
    if ispec.max_prefix_length >= ispec.min_prefix_length + ispec.child_size:
        raise ProofError(
            "spec.inner_spec.max_prefix_length must be < min_prefix_length + child_size"
        )
    if len(op.suffix) % ispec.child_size != 0:
        raise ProofError("inner: suffix malformed")


def check_against_spec(proof: pb.ExistenceProof, spec: pb.ProofSpec) -> None:
    """Raise ProofError unless the leaf and every path step have the format ``spec`` allows."""
    if not proof.HasField("leaf"):
        raise ProofError("existence proof needs defined LeafOp")
    _check_leaf(proof.leaf, spec)
    if spec.min_depth > 0 and len(proof.path) < spec.min_depth:
        raise ProofError(f"inner ops depth too short: {len(proof.path)}")
    max_depth = spec.max_depth or 128
    if len(proof.path) > max_depth:
        raise ProofError(f"inner ops depth too long: {len(proof.path)}")
    for step in proof.path:
        _check_inner(step, spec)


def check_existence(
    proof: pb.ExistenceProof, spec: pb.ProofSpec, root: bytes, key: bytes, value: bytes
) -> None:
    """Raise ProofError unless ``proof`` proves ``key → value`` under ``root``."""
    check_against_spec(proof, spec)
    if key != proof.key:
        raise ProofError("provided key doesn't match proof")
    if value != proof.value:
        raise ProofError("provided value doesn't match proof")
    if calculate_root(proof, spec) != root:
        raise ProofError("calculated root doesn't match provided root")


# -- neighbour checks --------------------------------------------------------------------


def _position(order: list[int], branch: int) -> int:
    if branch < 0 or branch >= len(order):
        raise ProofError(f"invalid branch: {branch}")
    try:
        return order.index(branch)
    except ValueError:
        raise ProofError(f"branch {branch} not found in order {order}") from None


def _padding(spec: pb.InnerSpec, branch: int) -> tuple[int, int, int]:
    order = list(spec.child_order)
    idx = _position(order, branch)
    prefix = idx * spec.child_size
    suffix = (len(order) - 1 - idx) * spec.child_size
    return prefix + spec.min_prefix_length, prefix + spec.max_prefix_length, suffix


def _has_padding(op: pb.InnerOp, min_prefix: int, max_prefix: int, suffix: int) -> bool:
    return min_prefix <= len(op.prefix) <= max_prefix and len(op.suffix) == suffix


def _order_from_padding(spec: pb.InnerSpec, op: pb.InnerOp) -> int:
    for branch in range(len(spec.child_order)):
        if _has_padding(op, *_padding(spec, branch)):
            return branch
    raise ProofError("cannot find any valid spacing for this node")


def _left_branches_are_empty(spec: pb.InnerSpec, op: pb.InnerOp) -> bool:
    idx = _order_from_padding(spec, op)
    left_branches = idx
    if left_branches == 0:
        return False
    prefix = bytes(op.prefix)
    actual_prefix = len(prefix) - left_branches * spec.child_size
    if actual_prefix < 0:
        return False
    order = list(spec.child_order)
    empty = bytes(spec.empty_child)
    for i in range(left_branches):
        pos = _position(order, i)
        start = actual_prefix + pos * spec.child_size
        if prefix[start : start + spec.child_size] != empty:
            return False
    return True


def _right_branches_are_empty(spec: pb.InnerSpec, op: pb.InnerOp) -> bool:
    idx = _order_from_padding(spec, op)
    right_branches = len(spec.child_order) - 1 - idx
    if right_branches == 0:
        return False
    suffix = bytes(op.suffix)
    if len(suffix) != right_branches * spec.child_size:
        return False
    order = list(spec.child_order)
    empty = bytes(spec.empty_child)
    for i in range(right_branches):
        pos = _position(order, i)
        start = pos * spec.child_size
        if suffix[start : start + spec.child_size] != empty:
            return False
    return True


def is_left_most(spec: pb.InnerSpec, path: list[pb.InnerOp]) -> bool:
    """True if ``path`` is the left-most path of the tree, empty placeholders excepted."""
    padding = _padding(spec, 0)
    return all(
        _has_padding(step, *padding) or _left_branches_are_empty(spec, step) for step in path
    )


def is_right_most(spec: pb.InnerSpec, path: list[pb.InnerOp]) -> bool:
    """True if ``path`` is the right-most path of the tree, empty placeholders excepted."""
    padding = _padding(spec, len(spec.child_order) - 1)
    return all(
        _has_padding(step, *padding) or _right_branches_are_empty(spec, step) for step in path
    )


def _is_left_step(spec: pb.InnerSpec, left: pb.InnerOp, right: pb.InnerOp) -> bool:
    return _order_from_padding(spec, right) == _order_from_padding(spec, left) + 1


def is_left_neighbor(spec: pb.InnerSpec, left: list[pb.InnerOp], right: list[pb.InnerOp]) -> bool:
    """True if the leaf of path ``right`` is the next leaf after the leaf of path ``left``."""
    left = list(left)
    right = list(right)
    if not left or not right:
        return False
    top_left = left.pop()
    top_right = right.pop()
    # Strip the common ancestors (identical ops near the root).
    while top_left.prefix == top_right.prefix and top_left.suffix == top_right.suffix:
        if not left or not right:
            return False
        top_left = left.pop()
        top_right = right.pop()
    if not _is_left_step(spec, top_left, top_right):
        return False
    return is_right_most(spec, left) and is_left_most(spec, right)


def _key_for_comparison(spec: pb.ProofSpec, key: bytes) -> bytes:
    if not spec.prehash_key_before_comparison:
        return key
    return _do_hash_or_noop(spec.leaf_spec.prehash_key, key)


def check_non_existence(
    proof: pb.NonExistenceProof, spec: pb.ProofSpec, root: bytes, key: bytes
) -> None:
    """Raise ProofError unless ``proof`` proves that ``key`` is absent under ``root``."""
    left_key: bytes | None = None
    right_key: bytes | None = None
    if proof.HasField("left"):
        try:
            check_existence(proof.left, spec, root, proof.left.key, proof.left.value)
        except ProofError as exc:
            raise ProofError(f"left proof, {exc}") from None
        left_key = proof.left.key
    if proof.HasField("right"):
        try:
            check_existence(proof.right, spec, root, proof.right.key, proof.right.value)
        except ProofError as exc:
            raise ProofError(f"right proof, {exc}") from None
        right_key = proof.right.key
    if left_key is None and right_key is None:
        raise ProofError("both left and right proofs missing")
    target = _key_for_comparison(spec, key)
    if right_key is not None and target >= _key_for_comparison(spec, right_key):
        raise ProofError("key is not left of right proof")
    if left_key is not None and target <= _key_for_comparison(spec, left_key):
        raise ProofError("key is not right of left proof")
    if left_key is None:
        if not is_left_most(spec.inner_spec, list(proof.right.path)):
            raise ProofError("left proof missing, right proof must be left-most")
    elif right_key is None:
        if not is_right_most(spec.inner_spec, list(proof.left.path)):
            raise ProofError("right proof missing, left proof must be right-most")
    elif not is_left_neighbor(spec.inner_spec, list(proof.left.path), list(proof.right.path)):
        raise ProofError("left and right proofs are not neighbours")


# -- the ICS-23 client functions ---------------------------------------------------------


def verify_membership(
    spec: pb.ProofSpec, root: bytes, proof: pb.CommitmentProof, key: bytes, value: bytes
) -> bool:
    """ICS-23 ``verifyMembership``: does ``proof`` show ``key → value`` under ``root``?"""
    if proof is None or proof.WhichOneof("proof") != "exist":
        return False
    try:
        check_existence(proof.exist, spec, root, key, value)
    except ProofError:
        return False
    return True


def verify_non_membership(
    spec: pb.ProofSpec, root: bytes, proof: pb.CommitmentProof, key: bytes
) -> bool:
    """ICS-23 ``verifyNonMembership``: does ``proof`` show that ``key`` is absent under ``root``?"""
    if proof is None or proof.WhichOneof("proof") != "nonexist":
        return False
    try:
        check_non_existence(proof.nonexist, spec, root, key)
    except ProofError:
        return False
    return True
