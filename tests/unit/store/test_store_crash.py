"""Crash safety: a process killed (SIGKILL) at any moment restarts at the last committed state."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from aivm.store import CommitStore

WRITER = Path(__file__).with_name("crash_writer.py")


def _run_and_kill(path: Path, delay: float) -> list[tuple[int, str]]:
    """Start the writer, SIGKILL it after ``delay`` seconds of committing, return its output."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), "4000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    opened = proc.stdout.readline()
    assert opened.startswith("opened "), opened
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    commits = []
    for line in out.splitlines():
        word, version, digest = line.split()
        assert word == "committed"
        commits.append((int(version), digest))
    return commits


def test_kill_during_commits_restarts_at_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "db"
    rng = random.Random(20240611)
    printed: dict[int, str] = {}
    last_printed = 0
    for _ in range(6):
        commits = _run_and_kill(path, rng.uniform(0.15, 0.6))
        printed.update(commits)
        if commits:
            last_printed = commits[-1][0]
        with CommitStore.open(path) as store:
            # The kill may land after LMDB committed but before the line was printed.
            assert store.version in (last_printed, last_printed + 1)
            if store.version in printed:
                assert store.last_hash.hex() == printed[store.version]
            store.verify_integrity()
            last_printed = store.version
            printed[store.version] = store.last_hash.hex()
    assert last_printed >= 3
