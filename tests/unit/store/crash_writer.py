"""Helper process for the crash test: commits blocks of pseudo-random writes until killed.

Usage: python crash_writer.py <store dir> <keys per block>
Prints ``committed <version> <hex app hash>`` after each commit returns (flushed).
"""

from __future__ import annotations

import hashlib
import sys

from aivm.store import CommitStore, PruningOptions


def main() -> None:
    """Open the store and commit until killed."""
    path, per_block = sys.argv[1], int(sys.argv[2])
    store = CommitStore.open(path, PruningOptions(keep_recent=4, interval=3))
    print(f"opened {store.version} {store.last_hash.hex()}", flush=True)
    while True:
        version = store.version + 1
        seed = hashlib.sha256(version.to_bytes(8, "big")).digest()
        for i in range(per_block):
            digest = hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
            key = b"key/" + digest[:3]
            if digest[5] < 40:
                store.working.delete(key)
            else:
                store.working.set(key, digest[8 : 8 + 1 + digest[6] % 40])
        store.working_hash()
        info = store.commit()
        print(f"committed {info.version} {info.hash.hex()}", flush=True)


if __name__ == "__main__":
    main()
