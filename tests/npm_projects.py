"""Install a JavaScript project under ``tests/compat/<name>`` with ``npm ci``, once per change.

Tests that compare AIVM with a real JavaScript implementation (cosmjs, the IPFS UnixFS
importer) use it. Missing ``node``/``npm`` or a failed install fails the test with a clear
message (CI has both); nothing is skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent / "compat"
STAMP = "node_modules/.aivm-install-stamp"


def tool(name: str, purpose: str) -> str:
    """Path of ``name`` on PATH, or fail the test saying what needs it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: {purpose} needs Node.js and npm")
    return path


def npm_project(name: str) -> Path:
    """``tests/compat/<name>`` with node_modules installed from its package-lock.json."""
    folder = COMPAT / name
    node, npm = tool("node", f"the {name} test"), tool("npm", f"the {name} test")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    if version.returncode != 0:
        pytest.fail(f"`node --version` failed: {version.stderr.strip()}")
    lock = folder / "package-lock.json"
    digest = hashlib.sha256(
        (folder / "package.json").read_bytes() + (lock.read_bytes() if lock.exists() else b"")
    ).hexdigest()
    # one installer at a time (pytest-xdist workers share the folder)
    with open(Path(tempfile.gettempdir()) / f"aivm-{name}-install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        stamp = folder / STAMP
        if not (stamp.exists() and stamp.read_text() == digest):
            command = [npm, "ci" if lock.exists() else "install", "--no-audit", "--no-fund"]
            try:
                done = subprocess.run(
                    command, cwd=folder, capture_output=True, text=True, timeout=300
                )
            except subprocess.TimeoutExpired:
                pytest.fail(f"`{' '.join(command[1:])}` in {folder} timed out after 300 s")
            if done.returncode != 0:
                pytest.fail(
                    f"`npm {' '.join(command[1:])}` in {folder} failed "
                    f"(exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
                )
            stamp.write_text(digest)
    return folder
