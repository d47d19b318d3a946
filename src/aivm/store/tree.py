"""The state commitment: a binary sparse Merkle tree over sha256(key), stored as versioned pages.

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

Storage (radix-16 pages; the hashes above are unchanged). The logical binary tree is stored
in *pages* of 4 binary levels, like the internal nodes of a Jellyfish Merkle tree: an
internal node at a depth that is a multiple of 4 is the root of a page, which holds the
binary subtree below it down to 4 levels (up to 14 internal nodes besides its root, in
slots 2..15) and its frontier (slots 16..31: leaves, sub-pages or empty). A leaf inside the
page (at any of its levels) is referenced from its slot. Records are immutable and
versioned: one written while preparing version ``v`` is stored under
``version(8, big-endian) | depth(1) | path`` where ``path`` is the ``depth`` leading
key-hash bits packed MSB-first into ceil(depth/8) bytes (unused low bits zero); a page is
keyed by its root's position, a leaf record by the leaf's. Records::

    page: kind(1) for each of slots 2..31
          | hash(32) | version(8) for each non-empty slot, in slot order
    leaf: sha256(key)(32) | sha256(value)(32) | key

Kinds: 0 empty, 1 leaf, 2 internal. Slot ``s`` has children ``2s`` and ``2s + 1`` (slot 1,
the page root, is not stored: its parent holds its hash). The version of a leaf or sub-page
slot locates its record; that of an internal slot inside the page is not used (the page's
own version is). A page is rewritten whole whenever anything below it changes, so a changed
key rewrites about log16(n) pages instead of log2(n) binary nodes, and the tree of any
retained version can be walked from its root record.

Updates are applied in batches (:func:`apply_batch`): the changed keys are sorted by key hash
and only the touched paths are rebuilt, reading old records through a caller-supplied
getter; a changed value of an existing key alone below a page patches the page records on
its path without decoding them. Replaced records are reported as stale so that pruning can
delete them later.
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


def node_key(ver8: bytes, depth: int, prefix: int) -> bytes:
    """Node key of the node at ``depth`` whose path is the integer ``prefix`` (depth bits)."""
    return ver8 + node_suffix(depth, prefix)


def node_key_length(node_key: bytes, offset: int = 0) -> int:
    """Length of the node key starting at ``offset`` (node keys are self-delimiting)."""
    return 9 + ((node_key[offset + 8] + 7) >> 3)


PAGE_DEPTH = 4
"""Binary levels per stored page (radix 16)."""
PAGE_SLOTS = 32
"""Slots of a decoded page: 1 is the page root, ``2s``/``2s + 1`` the children of ``s``."""
_PAGE_MASK = PAGE_DEPTH - 1
DECODED_DEPTH = 12
"""Pages rooted at most this deep (at most 4369 of them) are kept decoded by the update."""
_PAGE_HEADER = PAGE_SLOTS - 2
"""Bytes of a page record's header: one kind per slot 2..31."""
_PATHS = [
    tuple((1 << level) | (nibble >> (4 - level)) for level in range(1, 5)) for nibble in range(16)
]
"""Per 4-bit path: the slots it passes at levels 1..4 of a page."""
_BELOW = {
    s: tuple(t for t in range(2 * s, PAGE_SLOTS) if t >> (t.bit_length() - s.bit_length()) == s)
    for s in range(2, PAGE_SLOTS // 2)
}
"""Per in-page slot: the slots below it in the page."""


def decode_page(record: bytes) -> list[Ref]:
    """Decode a page record into its 32 slots (slot 0 and the root slot 1 are unused).

    Slot ``s`` at level ``L`` (``2^L <= s < 2^(L+1)``) is the node at relative depth ``L``
    whose ``L`` relative path bits are ``s - 2^L``. Slots 2..15 are nodes inside the page,
    slots 16..31 its frontier (leaves, sub-pages or empty). Record: ``kind(1)`` for slots
    2..31, then ``hash(32) | version(8)`` for each non-empty slot in slot order.
    """
    slots: list[Ref] = [EMPTY_REF, EMPTY_REF]
    append = slots.append
    pos = _PAGE_HEADER
    for kind in record[:_PAGE_HEADER]:
        if kind:
            append((kind, record[pos : pos + 32], record[pos + 32 : pos + 40]))
            pos += 40
        else:
            append(EMPTY_REF)
    return slots


def encode_page(slots: list[Ref]) -> bytes:
    """Encode the slots 2..31 of a page (slots below a leaf or an empty slot must be empty)."""
    body = slots[2:]
    return bytes([ref[0] for ref in body]) + b"".join([ref[1] + ref[2] for ref in body if ref[0]])


class PageReader:
    """Resolves the children of internal nodes by reading (and caching) decoded pages."""

    def __init__(self, get_node: NodeGetter) -> None:
        """Read pages with ``get_node``."""
        self._get_node = get_node
        self._pages: dict[bytes, list[Ref]] = {}

    def children(
        self, ref: Ref, depth: int, prefix: int, page_ver: bytes
    ) -> tuple[Ref, Ref, bytes]:
        """(left, right, page version) of the internal node ``ref`` at ``depth``/``prefix``.

        ``page_ver`` is the version of the page holding the node (ignored for a page root,
        whose own version is ``ref``'s); the returned version is the one its children that
        are inside the same page need.
        """
        rel = depth & _PAGE_MASK
        if rel == 0:
            page_ver = ref[2]
        key = page_ver + node_suffix(depth - rel, prefix >> rel)
        page = self._pages.get(key)
        if page is None:
            if len(self._pages) >= 256:
                self._pages.clear()
            page = decode_page(self._get_node(key))
            self._pages[key] = page
        s = (1 << rel) | (prefix & ((1 << rel) - 1))
        return page[s << 1], page[s << 1 | 1], page_ver


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
    decoded: dict[bytes, list[Ref]] | None = None,
) -> Ref:
    """Apply ``batch`` to the tree rooted at ``root`` and return the new root reference.

    New records (pages and leaves) get version ``ver8`` and are added to ``new_nodes``
    (record key → record). Persisted records are looked up in ``cache`` (optional, persisted
    records only), then read with ``read_node`` (None when absent); records already in
    ``new_nodes`` (from an earlier batch of the same version) are read from there. A replaced
    record of an older version is appended to ``stale``; a replaced record of version
    ``ver8`` is dropped from ``new_nodes`` instead.

    ``decoded`` (optional) caches decoded pages by record key: pages are read from it
    (copied) and the pages this call writes whole at depth <= :data:`DECODED_DEPTH` (the top
    of the tree, which every block rewrites) are added to it; a replaced record is removed
    from it. It must only hold pages equal to their records.
    """
    khi = batch.hash_ints
    khb = batch.key_hashes
    keys = batch.keys
    vhs = batch.value_hashes
    sha = _sha256
    suffix_of = _SUFFIX
    pending_get = new_nodes.get
    cache_get = (cache if cache is not None else {}).get
    stale_append = stale.append
    if decoded is None:
        decoded = {}
    decoded_get = decoded.get
    decoded_pop = decoded.pop
    heads = _HEADS
    pads = _PADS
    sizes = _SIZES

    def missing(key: bytes) -> bytes:
        raise KeyError(f"state tree node {key.hex()} is missing")

    def fetch(key: bytes) -> bytes:
        return pending_get(key) or cache_get(key) or read_node(key) or missing(key)

    def release(key: bytes) -> None:
        decoded_pop(key, None)
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
        page: list[Ref],
        s: int,
    ) -> Ref:
        """A fresh subtree; ``page``/``s``: the page and slot of the node (when not a page root)."""
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
        if depth & _PAGE_MASK == 0:
            page = [EMPTY_REF] * PAGE_SLOTS
            s = 1
        cs = s << 1
        left = build(depth + 1, lo, mid, b_int, b_kh, b_key, b_vh, page, cs)
        right = build(depth + 1, mid, hi, b_int, b_kh, b_key, b_vh, page, cs | 1)
        page[cs] = left
        page[cs | 1] = right
        if s == 1:
            key = ver8 + suffix_of(depth, prefix)
            new_nodes[key] = encode_page(page)
            if depth <= DECODED_DEPTH:
                decoded[key] = page
        return (INNER, sha(INNER_PREFIX + left[1] + right[1]).digest(), ver8)

    def build_from(
        depth: int,
        rows: list[int],
        extra: tuple[int, bytes, bytes, bytes] | None,
        page: list[Ref],
        s: int,
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
        return build(depth, 0, len(b_int), b_int, b_kh, b_key, b_vh, page, s)

    def update_leaf(ref: Ref, depth: int, lo: int, hi: int, page: list[Ref], s: int) -> Ref:
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
            return build_from(depth, rows, None, page, s)
        if not rows:
            return ref  # only deletes of absent keys reached this leaf
        release(key)
        return build_from(depth, rows, (old_int, old_kh, record[64:], record[32:64]), page, s)

    def update(ref: Ref, depth: int, lo: int, hi: int, page: list[Ref], s: int) -> Ref:
        """The new subtree of ``ref``; ``page``/``s``: its page and slot (when not a page root)."""
        kind = ref[0]
        if hi - lo == 1 and kind == INNER and depth & _PAGE_MASK == 0:
            fast = update_single(ref, depth, lo)
            if fast is not None:
                return fast
        if kind != INNER:
            if kind == LEAF:
                return update_leaf(ref, depth, lo, hi, page, s)
            rows = [i for i in range(lo, hi) if vhs[i] is not None]
            return build_from(depth, rows, None, page, s)
        prefix = khi[lo] >> (256 - depth)
        if depth & _PAGE_MASK == 0:
            key = ref[2] + suffix_of(depth, prefix)
            cached = decoded_get(key)
            page = cached[:] if cached is not None else decode_page(fetch(key))
            release(key)
            s = 1
        cs = s << 1
        left = page[cs]
        right = page[cs | 1]
        mid = bisect_left(khi, (prefix << 1 | 1) << (255 - depth), lo, hi)
        if mid > lo:
            left = update(left, depth + 1, lo, mid, page, cs)
        if mid < hi:
            right = update(right, depth + 1, mid, hi, page, cs | 1)
        lk = left[0]
        rk = right[0]
        if (lk == EMPTY and rk != INNER) or (rk == EMPTY and lk != INNER):
            if s > 1:
                for t in _BELOW[s]:
                    page[t] = EMPTY_REF
            return collapse(depth, prefix, left, right)
        page[cs] = left
        page[cs | 1] = right
        if s == 1:
            key = ver8 + suffix_of(depth, prefix)
            new_nodes[key] = encode_page(page)
            if depth <= DECODED_DEPTH:
                decoded[key] = page
        return (INNER, sha(INNER_PREFIX + left[1] + right[1]).digest(), ver8)

    paths = _PATHS
    header = _PAGE_HEADER

    def update_single(ref: Ref, depth: int, index: int) -> Ref | None:
        """Fast path: a changed value of an existing key, alone below the page root ``ref``.

        Patches the path slots of each page in place (no decoding) and returns the new
        reference; returns None, having changed nothing, in any other case (insert, delete).
        """
        target = khi[index]
        vh = vhs[index]
        if vh is None:
            return None
        chain: list[tuple[bytes, bytes, int]] = []
        ver = ref[2]
        while True:
            pkey = (
                ver
                + heads[depth]
                + ((target >> (256 - depth)) << pads[depth]).to_bytes(sizes[depth], "big")
            )
            record = pending_get(pkey) or cache_get(pkey) or read_node(pkey) or missing(pkey)
            kind = INNER
            for slot in paths[(target >> (252 - depth)) & 15]:
                kind = record[slot - 2]
                if kind != INNER:
                    break
            chain.append((pkey, record, slot))
            i = slot - 2
            off = header + 40 * (i - record.count(0, 0, i))
            if kind == INNER:
                ver = record[off + 32 : off + 40]
                depth += PAGE_DEPTH
                continue
            if kind != LEAF:
                return None
            depth += slot.bit_length() - 1
            suffix = heads[depth] + ((target >> (256 - depth)) << pads[depth]).to_bytes(
                sizes[depth], "big"
            )
            lkey = record[off + 32 : off + 40] + suffix
            leaf = pending_get(lkey) or cache_get(lkey) or read_node(lkey) or missing(lkey)
            kh = khb[index]
            if leaf[:32] != kh:
                return None
            break
        release(lkey)
        new_nodes[ver8 + suffix] = kh + vh + keys[index]
        h = sha(LEAF_PREFIX + kh + vh).digest()
        for pkey, record, slot in reversed(chain):
            page = bytearray(record)
            i = slot - 2
            off = header + 40 * (i - record.count(0, 0, i))
            while True:
                page[off : off + 40] = h + ver8
                if i & 1:
                    sh = record[off - 40 : off - 8] if record[i - 1] else EMPTY_HASH
                    h = sha(INNER_PREFIX + sh + h).digest()
                else:
                    sh = record[off + 40 : off + 72] if record[i + 1] else EMPTY_HASH
                    h = sha(INNER_PREFIX + h + sh).digest()
                if i < 2:
                    break
                i = (i >> 1) - 1
                off = header + 40 * (i - record.count(0, 0, i))
            release(pkey)
            new_nodes[ver8 + pkey[8:]] = bytes(page)
        return (INNER, h, ver8)

    if not len(batch):
        return root
    return update(root, 0, 0, len(batch), [], 0)


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
    page_ver: bytes
    """Version of the page holding the children (for those inside it)."""


def walk(
    root: Ref, hash_int: int, get_node: NodeGetter, reader: PageReader | None = None
) -> tuple[list[PathStep], Ref, bytes | None]:
    """Follow ``hash_int`` from ``root`` to where it ends: an empty subtree or a leaf.

    Returns the internal nodes passed (root first), the terminal reference and, if the
    terminal is a leaf, its record.
    """
    pages = reader or PageReader(get_node)
    steps: list[PathStep] = []
    ref = root
    depth = 0
    page_ver = ref[2]
    while ref[0] == INNER:
        prefix = hash_int >> (256 - depth)
        left, right, page_ver = pages.children(ref, depth, prefix, page_ver)
        bit = (hash_int >> (255 - depth)) & 1
        steps.append(PathStep(depth, prefix, bit, left, right, page_ver))
        ref = right if bit else left
        depth += 1
    if ref[0] == LEAF:
        return steps, ref, get_node(node_key(ref[2], depth, hash_int >> (256 - depth)))
    return steps, ref, None


def edge_leaf(
    ref: Ref,
    depth: int,
    prefix: int,
    rightmost: bool,
    page_ver: bytes,
    pages: PageReader,
    get_node: NodeGetter,
) -> bytes:
    """Record of the right-most (or left-most) leaf of the non-empty subtree ``ref``."""
    while ref[0] == INNER:
        left, right, page_ver = pages.children(ref, depth, prefix, page_ver)
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
    pages = PageReader(get_node)
    steps, _terminal, record = walk(root, hash_int, get_node, pages)
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
                before = edge_leaf(
                    step.left,
                    step.depth + 1,
                    step.prefix << 1,
                    True,
                    step.page_ver,
                    pages,
                    get_node,
                )
                break
    if after is None:
        for step in reversed(steps):
            if step.bit == 0 and step.right[0] != EMPTY:
                after = edge_leaf(
                    step.right,
                    step.depth + 1,
                    step.prefix << 1 | 1,
                    False,
                    step.page_ver,
                    pages,
                    get_node,
                )
                break
    return None, before, after


def iter_leaves(root: Ref, get_node: NodeGetter) -> Iterable[bytes]:
    """Yield every leaf record of the tree, in key-hash order."""
    pages = PageReader(get_node)
    stack: list[tuple[Ref, int, int, bytes]] = [(root, 0, 0, root[2])]
    while stack:
        ref, depth, prefix, page_ver = stack.pop()
        kind = ref[0]
        if kind == LEAF:
            yield get_node(node_key(ref[2], depth, prefix))
        elif kind == INNER:
            left, right, page_ver = pages.children(ref, depth, prefix, page_ver)
            stack.append((right, depth + 1, prefix << 1 | 1, page_ver))
            stack.append((left, depth + 1, prefix << 1, page_ver))
