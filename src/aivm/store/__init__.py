"""Versioned, authenticated key-value state: prefix stores, branches, gas, commitment, proofs.

See ``src/aivm/store/README.md`` for the specification (tree, on-disk layout, proof spec,
pruning, crash semantics) and ``docs/adr/0002-state-commitment.md`` for the decision.
"""

from aivm.store.commit import (
    SNAPSHOT_CHUNK_SIZE,
    SNAPSHOT_FORMAT,
    CommitInfo,
    CommitStore,
    PruningOptions,
    VersionView,
    WorkingStore,
    decode_snapshot_chunk,
    snapshot_hash,
)
from aivm.store.gas import GasConfig, GasKVStore, GasMeter
from aivm.store.ics23 import (
    AIVM_PROOF_SPEC,
    CommitmentProof,
    verify_membership,
    verify_non_membership,
)
from aivm.store.kv import (
    MAX_KEY_LENGTH,
    CacheStore,
    KVStore,
    MemStore,
    PrefixStore,
    iterate_prefix,
    prefix_end,
)
from aivm.store.tree import EMPTY_HASH, compute_root

__all__ = [
    "AIVM_PROOF_SPEC",
    "EMPTY_HASH",
    "MAX_KEY_LENGTH",
    "SNAPSHOT_CHUNK_SIZE",
    "SNAPSHOT_FORMAT",
    "CacheStore",
    "CommitInfo",
    "CommitStore",
    "CommitmentProof",
    "GasConfig",
    "GasKVStore",
    "GasMeter",
    "KVStore",
    "MemStore",
    "PrefixStore",
    "PruningOptions",
    "VersionView",
    "WorkingStore",
    "compute_root",
    "decode_snapshot_chunk",
    "iterate_prefix",
    "prefix_end",
    "snapshot_hash",
    "verify_membership",
    "verify_non_membership",
]
