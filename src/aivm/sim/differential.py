"""Differential replay: the same blocks on a warm, a cold and a state-synced app.

Consensus needs every honest node to compute the same results from the same blocks, whatever
else it did before: a node that served CheckTx, Simulate and queries (its caches warm), a node
that replayed the chain from genesis, and a node that joined by state sync. A
:class:`DifferentialReplay` runs three :class:`~aivm.app.application.AivmApp` instances side by
side:

- **warm**: the app a driver talks to; it also sees CheckTx, Simulate and queries;
- **cold**: started from the same genesis, with the smallest caches the app allows; it sees
  only the decided blocks (ProcessProposal, FinalizeBlock, Commit);
- **restored**: rebuilt from a state-sync snapshot of the warm app's store at the heights a
  :data:`RestorePolicy` picks (a fresh one replaces the previous one), then fed the blocks
  that follow.

Before a shadow (cold or restored) executes a block, every ``functools.lru_cache`` of the
``aivm`` package is cleared, so a shadow never profits from what the warm app memoised in the
same process; and each replica runs under a different interpreter setting that a node
operator may change (Python's int-to-string digit limit: the default 4300 for the warm app,
none for the cold one, the minimum 640 for the restored one), so a result that depends on it
shows up as a divergence. Every ResponseFinalizeBlock is compared byte for byte (codes, logs,
gas, events, data, app hash), every ProcessProposal decision and every committed app hash;
the first difference raises :class:`Divergence` naming the height, the replica and the field.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import lmdb

from aivm.app.application import AivmApp, AppOptions
from aivm.store import CommitStore, PruningOptions
from aivm.types import pb

RestorePolicy = Callable[[int], bool]
"""Given a just-committed height, whether to restore a fresh replica from a snapshot of it."""

COLD_OPTIONS = AppOptions(signature_cache_size=0, decoded_tx_cache_size=0)
"""The cold replica keeps nothing between calls: every signature is verified, every tx decoded."""

SNAPSHOT_CHUNK_BYTES = 4096
"""Small snapshot chunks, so restores exercise records spread over many chunks."""

INT_DIGIT_LIMITS = {"cold": 0, "restored": 640}
"""``sys.set_int_max_str_digits`` of each shadow (0: no limit; 640: the lowest allowed)."""

SHADOW_MAP_SIZE = 1 << 34
"""LMDB map size of a shadow replica's store (virtual address space; 16 GiB is plenty)."""


class Divergence(AssertionError):
    """Two replicas computed different results for the same block."""

    def __init__(self, message: str, replica: str = "") -> None:
        super().__init__(message)
        self.replica = replica
        """Which kind of replica differed from the warm app: ``cold`` or ``restored``."""


def restore_at_powers_of_two(height: int) -> bool:
    """Restore after heights 2, 4, 8, …: cheap, and every run gets a freshly synced node (at
    height 1 a restored replica would be the cold one again: tests start with an empty block)."""
    return height > 1 and height & (height - 1) == 0


def restore_every(blocks: int) -> RestorePolicy:
    """A policy restoring after every ``blocks``-th height."""

    def policy(height: int) -> bool:
        """True after every ``blocks``-th height."""
        return height % blocks == 0

    return policy


def never_restore(height: int) -> bool:
    """A policy without state-synced replicas."""
    return False


_MEMO_CACHES: dict[str, list[functools._lru_cache_wrapper[object]]] = {}
"""Memo wrappers found per imported ``aivm`` module (each module is scanned once)."""
_SCANNED_MODULES = [0]
"""How many entries ``sys.modules`` had at the last scan (no new module: nothing to scan)."""


def memo_caches() -> list[functools._lru_cache_wrapper[object]]:
    """Every ``functools.lru_cache``/``cache`` wrapper defined at module level in ``aivm``."""
    if len(sys.modules) != _SCANNED_MODULES[0]:
        _SCANNED_MODULES[0] = len(sys.modules)
        for name, module in list(sys.modules.items()):
            if name in _MEMO_CACHES or module is None:
                continue
            if name == "aivm" or name.startswith("aivm."):
                _MEMO_CACHES[name] = [
                    value
                    for value in vars(module).values()
                    if isinstance(value, functools._lru_cache_wrapper)
                    and getattr(value, "__module__", "") == name
                ]
    return [cache for caches in _MEMO_CACHES.values() for cache in caches]


def clear_memo_caches() -> None:
    """Forget every module-level memo of the ``aivm`` package (they are shared in-process)."""
    for cache in memo_caches():
        cache.cache_clear()


@contextlib.contextmanager
def node_settings(kind: str) -> Iterator[None]:
    """Run a shadow of ``kind`` under its own interpreter settings, then restore them."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(INT_DIGIT_LIMITS.get(kind, previous))
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


@dataclass
class Replica:
    """One shadow app and what it is for."""

    name: str
    """``cold`` or ``restored@<height>``."""
    app: AivmApp
    path: Path
    """Directory of its store."""

    @property
    def kind(self) -> str:
        """``cold`` or ``restored``."""
        return self.name.partition("@")[0]


@dataclass
class DifferentialReplay:
    """Drives a warm app and its shadows through the same blocks and compares every result."""

    warm: AivmApp
    cold: Replica
    workdir: Path
    """Where shadow stores are created."""
    restore_policy: RestorePolicy = restore_at_powers_of_two
    restored: Replica | None = None
    """The current state-synced replica, if one was restored yet."""
    restores: int = 0
    """How many replicas were restored from snapshots so far."""
    blocks: int = 0
    """Blocks finalized and committed through this replay."""

    @classmethod
    def start(
        cls,
        warm: AivmApp,
        genesis: pb.abci.RequestInitChain,
        workdir: Path,
        restore_policy: RestorePolicy = restore_at_powers_of_two,
    ) -> DifferentialReplay:
        """Run InitChain on ``warm`` and on a new cold replica under ``workdir``; compare them.

        ``warm`` must be a freshly opened app on an empty store.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        cold_path = workdir / "cold"
        cold = Replica(
            "cold",
            AivmApp(open_shadow_store(cold_path), COLD_OPTIONS, warm.manager.definitions),
            cold_path,
        )
        expected = warm.init_chain(genesis)
        got = cold.app.init_chain(genesis)
        replay = cls(warm, cold, workdir, restore_policy)
        if got.SerializeToString() != expected.SerializeToString():
            raise Divergence(
                f"InitChain: cold app hash {got.app_hash.hex()} != warm {expected.app_hash.hex()}",
                "cold",
            )
        return replay

    # -- the block path --------------------------------------------------------------------

    def shadows(self) -> list[Replica]:
        """The replicas that follow the warm app."""
        return [self.cold] if self.restored is None else [self.cold, self.restored]

    def process_proposal(
        self, request: pb.abci.RequestProcessProposal
    ) -> pb.abci.ResponseProcessProposal:
        """ProcessProposal on every replica; they must all decide the same. Returns warm's."""
        self._check_in_step()
        expected = self.warm.process_proposal(request)
        for replica in self.shadows():
            clear_memo_caches()
            with node_settings(replica.kind):
                got = replica.app.process_proposal(request)
            if got.status != expected.status:
                raise Divergence(
                    f"height {request.height}: {replica.name} ProcessProposal "
                    f"{got.status} != warm {expected.status}",
                    replica.kind,
                )
        return expected

    def finalize_block(
        self, request: pb.abci.RequestFinalizeBlock
    ) -> pb.abci.ResponseFinalizeBlock:
        """FinalizeBlock on every replica; responses must be byte-identical. Returns warm's."""
        self._check_in_step()
        expected = self.warm.finalize_block(request)
        expected_bytes = expected.SerializeToString()
        for replica in self.shadows():
            clear_memo_caches()
            with node_settings(replica.kind):
                got = replica.app.finalize_block(request)
            if got.SerializeToString() != expected_bytes:
                raise Divergence(
                    f"height {request.height}: {replica.name} FinalizeBlock differs from "
                    f"warm: {describe_difference(expected, got)}",
                    replica.kind,
                )
        return expected

    def commit(self, restore: bool | None = None) -> pb.abci.ResponseCommit:
        """Commit every replica; the committed app hashes must agree. Returns warm's.

        Then a fresh replica is restored from a snapshot of this height when ``restore`` says
        so (by default, when the restore policy does).
        """
        response = self.warm.commit(pb.abci.RequestCommit())
        for replica in self.shadows():
            replica.app.commit(pb.abci.RequestCommit())
            if replica.app.store.last_hash != self.warm.store.last_hash:
                raise Divergence(
                    f"height {self.warm.store.version}: {replica.name} committed app hash "
                    f"{replica.app.store.last_hash.hex()} != warm "
                    f"{self.warm.store.last_hash.hex()}",
                    replica.kind,
                )
        self.blocks += 1
        if self.restore_policy(self.warm.store.version) if restore is None else restore:
            self.restore_replica()
        return response

    def _check_in_step(self) -> None:
        """Every replica must stand at the warm app's height (nobody drove the warm app alone)."""
        for replica in self.shadows():
            if replica.app.store.version != self.warm.store.version:
                raise RuntimeError(
                    f"the warm app is at height {self.warm.store.version} but {replica.name} "
                    f"at {replica.app.store.version}: the warm app was driven outside the replay"
                )

    # -- state sync ------------------------------------------------------------------------

    def restore_replica(self) -> Replica:
        """Restore a new replica from a snapshot of the warm app's last committed height."""
        height = self.warm.store.version
        app_hash = self.warm.store.last_hash
        chunks = list(self.warm.store.export_snapshot(height, SNAPSHOT_CHUNK_BYTES))
        path = self.workdir / f"restored-{height}"
        app = AivmApp(open_shadow_store(path), COLD_OPTIONS, self.warm.manager.definitions)
        app.restore_snapshot(height, chunks, app_hash)
        info = app.info(pb.abci.RequestInfo())
        if (info.last_block_height, info.last_block_app_hash) != (height, app_hash):
            raise Divergence(
                f"height {height}: the restored replica reports "
                f"{info.last_block_height}/{info.last_block_app_hash.hex()}",
                "restored",
            )
        self.close_restored()
        self.restored = Replica(f"restored@{height}", app, path)
        self.restores += 1
        return self.restored

    # -- lifecycle -------------------------------------------------------------------------

    def close_restored(self) -> None:
        """Close the current state-synced replica, if any, and delete its store."""
        if self.restored is not None:
            self.restored.app.store.close()
            shutil.rmtree(self.restored.path, ignore_errors=True)
            self.restored = None

    def close_shadows(self) -> None:
        """Close the shadow replicas' stores (the warm app belongs to the caller)."""
        self.cold.app.store.close()
        self.close_restored()

    def close(self) -> None:
        """Close every replica, the warm one included."""
        self.close_shadows()
        self.warm.store.close()


def open_shadow_store(path: Path) -> CommitStore:
    """A fresh store for a shadow replica: LMDB without fsync (a shadow never has to survive a
    crash), otherwise opened exactly as :meth:`CommitStore.open` opens a node's store."""
    path.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(
        str(path),
        map_size=SHADOW_MAP_SIZE,
        max_dbs=8,
        subdir=True,
        readahead=False,
        sync=False,
        metasync=False,
        writemap=False,
        max_readers=256,
    )
    return CommitStore(env, PruningOptions.nothing())


def describe_difference(
    expected: pb.abci.ResponseFinalizeBlock, got: pb.abci.ResponseFinalizeBlock
) -> str:
    """The first differing field of two FinalizeBlock responses, in words."""
    if len(expected.tx_results) != len(got.tx_results):
        return f"{len(got.tx_results)} tx results, warm has {len(expected.tx_results)}"
    for index, (want, have) in enumerate(zip(expected.tx_results, got.tx_results, strict=True)):
        for name in ("code", "codespace", "gas_wanted", "gas_used", "log", "data"):
            if getattr(want, name) != getattr(have, name):
                return (
                    f"tx {index} {name}: {getattr(have, name)!r} (warm: {getattr(want, name)!r}; "
                    f"warm code {want.codespace}/{want.code} log {want.log!r})"
                )
        if want.SerializeToString() != have.SerializeToString():
            return f"tx {index} events: {list(have.events)} (warm: {list(want.events)})"
    if expected.app_hash != got.app_hash:
        return f"app hash {got.app_hash.hex()} (warm: {expected.app_hash.hex()})"
    return "a field outside the tx results and app hash"
