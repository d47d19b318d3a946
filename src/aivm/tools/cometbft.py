"""The pinned CometBFT binary: built once into ``<repo>/.tools/bin`` by
``scripts/install-cometbft.sh``; the version lives in ``scripts/cometbft-version`` only.

``ensure_cometbft()`` runs the script under a file lock (so pytest-xdist workers build it
once) and returns the binary's path. ``AIVM_COMETBFT=/path/to/cometbft`` uses a binary built
elsewhere instead (it must print the pinned version).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-cometbft.sh"
VERSION_FILE = REPO_ROOT / "scripts" / "cometbft-version"
TOOLS_DIR = REPO_ROOT / ".tools"
BUILD_TIMEOUT_S = 1800


class CometbftUnavailable(RuntimeError):
    """The pinned CometBFT could not be built or found."""


def pinned_version() -> str:
    """The pinned version, e.g. ``v0.38.26``."""
    return VERSION_FILE.read_text().strip()


def ensure_cometbft() -> Path:
    """Build the pinned CometBFT if needed; return the path of the binary."""
    override = os.environ.get("AIVM_COMETBFT")
    if override:
        path = Path(override)
        _check_version(path)
        return path
    if not INSTALL_SCRIPT.exists():
        raise CometbftUnavailable(f"{INSTALL_SCRIPT} not found (not a source checkout?)")
    TOOLS_DIR.mkdir(exist_ok=True)
    with open(TOOLS_DIR / "cometbft.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(
                ["bash", str(INSTALL_SCRIPT)],
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise CometbftUnavailable(f"{INSTALL_SCRIPT.name} failed (exit {done.returncode}):\n{tail}")
    path = Path(done.stdout.strip().splitlines()[-1])
    _check_version(path)
    return path


def _check_version(path: Path) -> None:
    try:
        out = subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise CometbftUnavailable(f"cannot run {path} version: {exc}") from exc
    if "v" + out.lstrip("v") != pinned_version():
        raise CometbftUnavailable(f"{path} is CometBFT {out}, expected {pinned_version()}")
