"""An ordered mempool: first-in first-out, deduplicated by tx hash, capped in count and bytes."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

from aivm.types.errors import AivmError, ErrMempoolIsFull, ErrTxInMempoolCache, ErrTxTooLarge


def tx_hash(raw: bytes) -> bytes:
    """CometBFT tx hash: sha256 of the raw tx bytes."""
    return hashlib.sha256(raw).digest()


class Mempool:
    """Transactions admitted by CheckTx, in arrival order."""

    def __init__(
        self, max_txs: int = 5000, max_bytes: int = 64 * 1024 * 1024, max_tx_bytes: int = 1 << 20
    ) -> None:
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.max_tx_bytes = max_tx_bytes
        self._txs: OrderedDict[bytes, bytes] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, hash_: bytes) -> bool:
        return hash_ in self._txs

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def precheck(self, raw: bytes) -> AivmError | None:
        """The error CheckTx must not even be asked about: duplicate, too large, or full."""
        if tx_hash(raw) in self._txs:
            return ErrTxInMempoolCache.wrap()
        if len(raw) > self.max_tx_bytes:
            return ErrTxTooLarge.wrap(f"tx size {len(raw)} exceeds {self.max_tx_bytes}")
        if len(self._txs) >= self.max_txs or self._bytes + len(raw) > self.max_bytes:
            return ErrMempoolIsFull.wrap(
                f"mempool is full: number of txs {len(self._txs)} (max: {self.max_txs}), "
                f"total txs bytes {self._bytes} (max: {self.max_bytes})"
            )
        return None

    def add(self, raw: bytes) -> bytes:
        """Append a tx (after CheckTx passed); returns its hash."""
        h = tx_hash(raw)
        if h not in self._txs:
            self._txs[h] = raw
            self._bytes += len(raw)
        return h

    def remove(self, hashes: Iterable[bytes]) -> None:
        for h in hashes:
            raw = self._txs.pop(h, None)
            if raw is not None:
                self._bytes -= len(raw)

    def txs(self) -> list[bytes]:
        """Every tx in arrival order."""
        return list(self._txs.values())
