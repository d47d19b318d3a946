"""The state commitment: a binary sparse Merkle tree over sha256(key), persisted as versioned nodes.

Shape (Diem/Jellyfish style, radix 2). Every key is placed by the 256 bits of
``sha256(key)``, most significant bit first (0 = left). A leaf sits at the shortest prefix of
its key hash that no other key shares, so the tree has about log2(n) levels. An internal node
always has two children, either of which may be empty, but never a lone leaf beside an empty
sibling: such a leaf moves up to its parent's place. Hence the tree, and its root, depend only
on the set of (key, value) pairs, never on the order in which they were written.

Hashes::

    empty subtree   = 32 zero bytes                (also the root of the empty tree)
    leaf            = sha256(0x00 || sha256(key) || sha256(value))
    internal node   = sha256(0x01 || left || right)

Nodes are immutable and versioned. A node written while preparing version ``v`` is stored
under the node key ``version(8, big-endian) | depth(1) | path`` where ``path`` is the node's
``depth`` leading key-hash bits packed MSB-first into ceil(depth/8) bytes (unused low bits
zero). A parent records, for each child, its kind, hash and version, so the whole tree of any
retained version can be walked from its root record. Records::

    internal: kinds(1: left_kind << 2 | right_kind) | left_hash(32) | right_hash(32)
              | left_version(8) | right_version(8)
    leaf:     sha256(key)(32) | sha256(value)(32) | key

Kinds: 0 empty, 1 leaf, 2 internal.

Updates are applied in batches (:func:`apply_batch`): the changed keys are sorted by key hash
and only the touched paths are rebuilt, reading old nodes through a caller-supplied getter.
Replaced nodes are reported as stale so that pruning can delete them later.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass

EMPTY_HASH = bytes(32)
"""Hash of an empty subtree, and the root hash of the empty tree."""

LEAF_PREFIX = b"\x00"
INNER_PREFIX = b"\x01"

EMPTY = 0
LEAF = 1
INNER = 2

Ref = tuple[int, bytes, bytes]
"""A child reference: (kind, hash, version as 8 big-endian bytes)."""

EMPTY_REF: Ref = (EMPTY, EMPTY_HASH, bytes(8))

NodeGetter = Callable[[bytes], bytes]
"""Returns the record stored under a node key (raises if it does not exist)."""

NodeReader = Callable[[bytes], "bytes | None"]
"""Returns the record stored under a node key, or None."""

_sha256 = hashlib.sha256


def key_hash(key: bytes) -> bytes:
    """sha256(key): the position of ``key`` in the tree."""
    return _sha256(key).digest()


def leaf_hash(kh: bytes, vh: bytes) -> bytes:
    """Hash of a leaf with key hash ``kh`` and value hash ``vh``."""
    return _sha256(LEAF_PREFIX + kh + vh).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an internal node from its children's hashes."""
    return _sha256(INNER_PREFIX + left + right).digest()


def version_bytes(version: int) -> bytes:
    """A version as the 8 big-endian bytes used in node keys and records."""
    return version.to_bytes(8, "big")


def node_suffix(depth: int, prefix: int) -> bytes:
    """The version-independent part of a node key: depth(1) | path (ceil(depth/8) bytes)."""
    nbytes = (depth + 7) >> 3
    return bytes((depth,)) + (prefix << ((nbytes << 3) - depth)).to_bytes(nbytes, "big")


_HEADS = [bytes((d,)) for d in range(256)]
_PADS = [(((d + 7) >> 3) << 3) - d for d in range(256)]
_SIZES = [(d + 7) >> 3 for d in range(256)]


def _suffix(depth: int, prefix: int) -> bytes:
    return _HEADS[depth] + (prefix << _PADS[depth]).to_bytes(_SIZES[depth], "big")


_SUFFIX = _suffix
_KIND_BYTE = [bytes((i,)) for i in range(16)]


def node_key(ver8: bytes, depth: int, prefix: int) -> bytes:
    """Node key of the node at ``depth`` whose path is the integer ``prefix`` (depth bits)."""
    return ver8 + node_suffix(depth, prefix)


def node_key_length(node_key: bytes, offset: int = 0) -> int:
    """Length of the node key starting at ``offset`` (node keys are self-delimiting)."""
    return 9 + ((node_key[offset + 8] + 7) >> 3)


def decode_inner(record: bytes) -> tuple[Ref, Ref]:
    """Split an internal-node record into its (left, right) child references."""
    kinds = record[0]
    return (
        (kinds >> 2, record[1:33], record[65:73]),
        (kinds & 3, record[33:65], record[73:81]),
    )


def encode_inner(left: Ref, right: Ref) -> bytes:
    """Encode an internal-node record."""
    return bytes((left[0] << 2 | right[0],)) + left[1] + right[1] + left[2] + right[2]


def compute_root(items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Root hash of the tree holding exactly ``items`` ((key, value) pairs), from scratch.

    This is the reference definition of the commitment, used to check the incremental
    updates and persisted state.
    """
    leaves = sorted((_sha256(k).digest(), _sha256(v).digest()) for k, v in items)
    ints = [int.from_bytes(kh, "big") for kh, _ in leaves]

    def subtree(depth: int, lo: int, hi: int) -> bytes:
        count = hi - lo
        if count == 0:
            return EMPTY_HASH
        if count == 1:
            kh, vh = leaves[lo]
            return _sha256(LEAF_PREFIX + kh + vh).digest()
        pivot = ((ints[lo] >> (256 - depth)) << 1 | 1) << (255 - depth)
        mid = bisect_left(ints, pivot, lo, hi)
        return _sha256(
            INNER_PREFIX + subtree(depth + 1, lo, mid) + subtree(depth + 1, mid, hi)
        ).digest()

    return subtree(0, 0, len(leaves))


@dataclass
class Batch:
    """Changed keys sorted by key hash: parallel lists, ``value_hashes[i]`` None for a delete."""

    hash_ints: list[int]
    """sha256(key) as integers (sort order)."""
    key_hashes: list[bytes]
    """sha256(key)."""
    keys: list[bytes]
    """The keys."""
    value_hashes: list[bytes | None]
    """sha256(value), or None when the key is deleted."""

    @classmethod
    def from_changes(cls, changes: Iterable[tuple[bytes, bytes | None]]) -> Batch:
        """Build a batch from (key, value or None) pairs with distinct keys."""
        rows = []
        for key, value in changes:
            kh = _sha256(key).digest()
            rows.append(
                (
                    int.from_bytes(kh, "big"),
                    kh,
                    key,
                    None if value is None else _sha256(value).digest(),
                )
            )
        rows.sort(key=lambda row: row[0])
        return cls(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
        )

    def __len__(self) -> int:
        """Number of changed keys."""
        return len(self.keys)


def apply_batch(
    root: Ref,
    batch: Batch,
    ver8: bytes,
    read_node: NodeReader,
    new_nodes: dict[bytes, bytes],
    stale: list[bytes],
    cache: dict[bytes, bytes] | None = None,
) -> Ref:
    """Apply ``batch`` to the tree rooted at ``root`` and return the new root reference.

    New nodes get version ``ver8`` and are added to ``new_nodes`` (node key → record).
    Persisted nodes are looked up in ``cache`` (optional, persisted records only), then read
    with ``read_node`` (None when absent); nodes already in ``new_nodes`` (from an earlier
    batch of the same version) are read from there. A replaced node of an older version is
    appended to ``stale``; a replaced node of version ``ver8`` is dropped from ``new_nodes``
    instead.
    """
    khi = batch.hash_ints
    khb = batch.key_hashes
    keys = batch.keys
    vhs = batch.value_hashes
    sha = _sha256
    suffix_of = _SUFFIX
    kind_byte = _KIND_BYTE
    pending_get = new_nodes.get
    cache_get = (cache if cache is not None else {}).get
    stale_append = stale.append
    heads = _HEADS
    pads = _PADS
    sizes = _SIZES

    def missing(key: bytes) -> bytes:
        raise KeyError(f"state tree node {key.hex()} is missing")

    def fetch(key: bytes) -> bytes:
        return pending_get(key) or cache_get(key) or read_node(key) or missing(key)

    def release(key: bytes) -> None:
        if key[:8] == ver8:
            del new_nodes[key]
        else:
            stale_append(key)

    def collapse(depth: int, prefix: int, left: Ref, right: Ref) -> Ref:
        """Parent of a lone leaf (or of nothing): the leaf moves up, or the node vanishes."""
        if left[0] == EMPTY and right[0] == EMPTY:
            return EMPTY_REF
        side = 1 if left[0] == EMPTY else 0
        leaf = right if side else left
        old = leaf[2] + suffix_of(depth + 1, prefix << 1 | side)
        record = fetch(old)
        release(old)
        new_nodes[ver8 + suffix_of(depth, prefix)] = record
        return (LEAF, leaf[1], ver8)

    def build(
        depth: int,
        lo: int,
        hi: int,
        b_int: list[int],
        b_kh: list[bytes],
        b_key: list[bytes],
        b_vh: list[bytes],
    ) -> Ref:
        count = hi - lo
        if count == 1:
            kh = b_kh[lo]
            vh = b_vh[lo]
            new_nodes[ver8 + suffix_of(depth, b_int[lo] >> (256 - depth))] = kh + vh + b_key[lo]
            return (LEAF, sha(LEAF_PREFIX + kh + vh).digest(), ver8)
        if count == 0:
            return EMPTY_REF
        prefix = b_int[lo] >> (256 - depth)
        mid = bisect_left(b_int, (prefix << 1 | 1) << (255 - depth), lo, hi)
        lk, lh, lv = build(depth + 1, lo, mid, b_int, b_kh, b_key, b_vh)
        rk, rh, rv = build(depth + 1, mid, hi, b_int, b_kh, b_key, b_vh)
        new_nodes[ver8 + suffix_of(depth, prefix)] = kind_byte[lk << 2 | rk] + lh + rh + lv + rv
        return (INNER, sha(INNER_PREFIX + lh + rh).digest(), ver8)

    def build_from(
        depth: int, rows: list[int], extra: tuple[int, bytes, bytes, bytes] | None
    ) -> Ref:
        """A fresh subtree from the batch rows that set a value, plus an optional old leaf."""
        b_int = [khi[i] for i in rows]
        b_kh = [khb[i] for i in rows]
        b_key = [keys[i] for i in rows]
        b_vh: list[bytes] = [vhs[i] for i in rows]  # type: ignore[misc]
        if extra is not None:
            pos = bisect_left(b_int, extra[0])
            b_int.insert(pos, extra[0])
            b_kh.insert(pos, extra[1])
            b_key.insert(pos, extra[2])
            b_vh.insert(pos, extra[3])
        return build(depth, 0, len(b_int), b_int, b_kh, b_key, b_vh)

    def update_leaf(ref: Ref, depth: int, lo: int, hi: int) -> Ref:
        suffix = suffix_of(depth, khi[lo] >> (256 - depth))
        key = ref[2] + suffix
        record = fetch(key)
        old_kh = record[:32]
        if hi - lo == 1 and khb[lo] == old_kh:
            # The common case: this leaf's own key changes.
            release(key)
            vh = vhs[lo]
            if vh is None:
                return EMPTY_REF
            kh = khb[lo]
            new_nodes[ver8 + suffix] = kh + vh + keys[lo]
            return (LEAF, sha(LEAF_PREFIX + kh + vh).digest(), ver8)
        old_int = int.from_bytes(old_kh, "big")
        rows = [i for i in range(lo, hi) if vhs[i] is not None]
        pos = bisect_left(khi, old_int, lo, hi)
        if pos < hi and khi[pos] == old_int:
            release(key)
            return build_from(depth, rows, None)
        if not rows:
            return ref  # only deletes of absent keys reached this leaf
        release(key)
        return build_from(depth, rows, (old_int, old_kh, record[64:], record[32:64]))

    def update_single(ref: Ref, depth: int, index: int) -> Ref:
        """Fast path for a subtree that only one changed key reaches (most of the tree)."""
        target = khi[index]
        kind = ref[0]
        ver = ref[2]
        path: list[tuple[bytes, bytes, int]] = []
        while kind == INNER:
            suffix = heads[depth] + ((target >> (256 - depth)) << pads[depth]).to_bytes(
                sizes[depth], "big"
            )
            key = ver + suffix
            record = pending_get(key) or cache_get(key) or read_node(key) or missing(key)
            if ver == ver8:
                del new_nodes[key]
            else:
                stale_append(key)
            if (target >> (255 - depth)) & 1:
                kind = record[0] & 3
                ver = record[73:81]
                path.append((suffix, record, 1))
            else:
                kind = record[0] >> 2
                ver = record[65:73]
                path.append((suffix, record, 0))
            depth += 1
        if kind == LEAF:
            if path:
                record, bit = path[-1][1], path[-1][2]
                leaf_ref: Ref = (LEAF, record[33:65] if bit else record[1:33], ver)
            else:
                leaf_ref = ref
            child = update_leaf(leaf_ref, depth, index, index + 1)
        else:
            child = build_from(depth, [index] if vhs[index] is not None else [], None)
        for suffix, record, bit in reversed(path):
            depth -= 1
            kinds = record[0]
            ck, ch, cv = child
            if bit:
                sk = kinds >> 2
                if (ck != INNER and sk == EMPTY) or (ck == EMPTY and sk == LEAF):
                    child = collapse(
                        depth, target >> (256 - depth), (sk, record[1:33], record[65:73]), child
                    )
                    continue
                sh = record[1:33]
                new_nodes[ver8 + suffix] = kind_byte[sk << 2 | ck] + sh + ch + record[65:73] + cv
                child = (INNER, sha(INNER_PREFIX + sh + ch).digest(), ver8)
            else:
                sk = kinds & 3
                if (ck != INNER and sk == EMPTY) or (ck == EMPTY and sk == LEAF):
                    child = collapse(
                        depth, target >> (256 - depth), child, (sk, record[33:65], record[73:81])
                    )
                    continue
                sh = record[33:65]
                new_nodes[ver8 + suffix] = kind_byte[ck << 2 | sk] + ch + sh + cv + record[73:81]
                child = (INNER, sha(INNER_PREFIX + ch + sh).digest(), ver8)
        return child

    def update(ref: Ref, depth: int, lo: int, hi: int) -> Ref:
        if hi - lo == 1:
            return update_single(ref, depth, lo)
        kind = ref[0]
        if kind != INNER:
            if kind == LEAF:
                return update_leaf(ref, depth, lo, hi)
            return build_from(depth, [i for i in range(lo, hi) if vhs[i] is not None], None)
        prefix = khi[lo] >> (256 - depth)
        suffix = suffix_of(depth, prefix)
        key = ref[2] + suffix
        record = fetch(key)
        kinds = record[0]
        mid = bisect_left(khi, (prefix << 1 | 1) << (255 - depth), lo, hi)
        if mid > lo:
            lk, lh, lv = update((kinds >> 2, record[1:33], record[65:73]), depth + 1, lo, mid)
        else:
            lk, lh, lv = kinds >> 2, record[1:33], record[65:73]
        if mid < hi:
            rk, rh, rv = update((kinds & 3, record[33:65], record[73:81]), depth + 1, mid, hi)
        else:
            rk, rh, rv = kinds & 3, record[33:65], record[73:81]
        release(key)
        if (lk == EMPTY and rk != INNER) or (rk == EMPTY and lk != INNER):
            return collapse(depth, prefix, (lk, lh, lv), (rk, rh, rv))
        new_nodes[ver8 + suffix] = kind_byte[lk << 2 | rk] + lh + rh + lv + rv
        return (INNER, sha(INNER_PREFIX + lh + rh).digest(), ver8)

    if not len(batch):
        return root
    return update(root, 0, 0, len(batch))


@dataclass(frozen=True)
class PathStep:
    """One internal node on the path from the root to a key's position."""

    depth: int
    """Depth of the node (the root is 0)."""
    prefix: int
    """The node's path: its ``depth`` leading key-hash bits."""
    bit: int
    """Which child the path takes (0 left, 1 right)."""
    left: Ref
    """The left child."""
    right: Ref
    """The right child."""


def walk(
    root: Ref, hash_int: int, get_node: NodeGetter
) -> tuple[list[PathStep], Ref, bytes | None]:
    """Follow ``hash_int`` from ``root`` to where it ends: an empty subtree or a leaf.

    Returns the internal nodes passed (root first), the terminal reference and, if the
    terminal is a leaf, its record.
    """
    steps: list[PathStep] = []
    ref = root
    depth = 0
    while ref[0] == INNER:
        prefix = hash_int >> (256 - depth)
        left, right = decode_inner(get_node(node_key(ref[2], depth, prefix)))
        bit = (hash_int >> (255 - depth)) & 1
        steps.append(PathStep(depth, prefix, bit, left, right))
        ref = right if bit else left
        depth += 1
    if ref[0] == LEAF:
        return steps, ref, get_node(node_key(ref[2], depth, hash_int >> (256 - depth)))
    return steps, ref, None


def edge_leaf(ref: Ref, depth: int, prefix: int, rightmost: bool, get_node: NodeGetter) -> bytes:
    """Record of the right-most (or left-most) leaf of the non-empty subtree ``ref``."""
    while ref[0] == INNER:
        left, right = decode_inner(get_node(node_key(ref[2], depth, prefix)))
        go_right = (rightmost and right[0] != EMPTY) or (not rightmost and left[0] == EMPTY)
        ref = right if go_right else left
        prefix = prefix << 1 | int(go_right)
        depth += 1
    return get_node(node_key(ref[2], depth, prefix))


def neighbours(
    root: Ref, hash_int: int, get_node: NodeGetter
) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Locate ``hash_int``: (its own leaf record or None, predecessor leaf, successor leaf).

    The predecessor and successor are the leaves immediately before and after the key hash
    in key-hash order (None at the edges); they are only computed when the key is absent.
    """
    steps, _terminal, record = walk(root, hash_int, get_node)
    before: bytes | None = None
    after: bytes | None = None
    if record is not None:
        found = int.from_bytes(record[:32], "big")
        if found == hash_int:
            return record, None, None
        if found < hash_int:
            before = record
        else:
            after = record
    if before is None:
        for step in reversed(steps):
            if step.bit == 1 and step.left[0] != EMPTY:
                before = edge_leaf(step.left, step.depth + 1, step.prefix << 1, True, get_node)
                break
    if after is None:
        for step in reversed(steps):
            if step.bit == 0 and step.right[0] != EMPTY:
                after = edge_leaf(step.right, step.depth + 1, step.prefix << 1 | 1, False, get_node)
                break
    return None, before, after


def iter_leaves(root: Ref, get_node: NodeGetter) -> Iterable[bytes]:
    """Yield every leaf record of the tree, in key-hash order."""
    stack: list[tuple[Ref, int, int]] = [(root, 0, 0)]
    while stack:
        ref, depth, prefix = stack.pop()
        kind = ref[0]
        if kind == LEAF:
            yield get_node(node_key(ref[2], depth, prefix))
        elif kind == INNER:
            left, right = decode_inner(get_node(node_key(ref[2], depth, prefix)))
            stack.append((right, depth + 1, prefix << 1 | 1))
            stack.append((left, depth + 1, prefix << 1))
