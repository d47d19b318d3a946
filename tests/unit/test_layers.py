"""The import direction of docs/architecture.md, enforced.

Each layer may import only the layers beneath it; state-machine code (app, modules,
ai/runtime, ai/verify) may not import anything that does I/O or reads clocks or randomness.
The chain's drivers stack as ``app ← node ← devnet``: ``node`` (services shared with a real
CometBFT: ABCI server, REST gateway, content store, config) never imports ``devnet``; ``tools``
(localnet, the CometBFT build) may import both; ``app`` and ``modules`` import none of
``node``, ``devnet``, ``tools``, ``client`` or ``cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "aivm"

ALLOWED: dict[str, set[str]] = {
    "types": {"types"},
    "crypto": {"types", "crypto"},
    "store": {"types", "crypto", "store"},
    "ai.runtime": {"types", "crypto", "ai.runtime"},
    "ai.verify": {"types", "crypto", "ai.runtime", "ai.verify"},
    "ai.importers": {"types", "crypto", "ai.runtime", "ai.importers"},
    "modules": {"types", "crypto", "store", "modules", "ai.runtime", "ai.verify"},
    "app": {"types", "crypto", "store", "modules", "app", "ai.runtime", "ai.verify", ""},
    "client": {"types", "crypto", "client", "ai.runtime"},
    "worker": {"types", "crypto", "client", "worker", "ai.runtime", "ai.verify"},
    "node": {"types", "crypto", "store", "modules", "app", "node", "ai.runtime", "ai.verify", ""},
    "devnet": {
        "types",
        "crypto",
        "store",
        "modules",
        "app",
        "node",
        "devnet",
        "ai.runtime",
        "ai.verify",
        "",
    },
    "tools": {
        "types",
        "crypto",
        "store",
        "modules",
        "app",
        "node",
        "devnet",
        "tools",
        "ai.runtime",
        "ai.verify",
        "",
    },
    "sim": {"types", "crypto", "store", "modules", "app", "client", "sim", "ai.runtime"},
    "cli": {
        "types",
        "crypto",
        "store",
        "modules",
        "app",
        "node",
        "devnet",
        "tools",
        "client",
        "cli",
        "ai.runtime",
        "ai.importers",
        "",
    },
}
STATE_MACHINE = ("app", "modules", "ai.runtime", "ai.verify")
FORBIDDEN_IN_STATE_MACHINE = {
    "time",
    "random",
    "secrets",
    "uuid",
    "socket",
    "subprocess",
    "threading",
    "asyncio",
    "multiprocessing",
    "urllib",
    "http",
    "requests",
    "os",
    "shutil",
    "tempfile",
    "datetime",
    "lmdb",
}


def layer_of(path: Path) -> str:
    """Layer name of a source file (``ai.runtime`` for src/aivm/ai/runtime/x.py)."""
    parts = path.relative_to(SRC).parts
    if parts[0] == "ai" and len(parts) > 2:
        return f"ai.{parts[1]}"
    return parts[0] if len(parts) > 1 else ""


def imports_of(path: Path) -> list[str]:
    """Every module name imported by ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "aivm.ai" and node.level == 0:
            names.extend(
                f"aivm.ai.{alias.name}" for alias in node.names
            )  # from aivm.ai import runtime
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def aivm_layer(module: str) -> str | None:
    """Layer of an ``aivm.*`` import, or None for third-party/stdlib imports."""
    parts = module.split(".")
    if parts[0] != "aivm":
        return None
    if len(parts) == 1:
        return ""
    if parts[1] == "ai" and len(parts) > 2:
        return f"ai.{parts[2]}"
    return parts[1]


SOURCES = sorted(p for p in SRC.rglob("*.py") if layer_of(p) in ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_layer_direction(path: Path) -> None:
    layer = layer_of(path)
    for module in imports_of(path):
        target = aivm_layer(module)
        if target is not None:
            assert target in ALLOWED[layer], f"{layer} must not import {module}"
        if layer in STATE_MACHINE:
            root = module.split(".")[0]
            assert root not in FORBIDDEN_IN_STATE_MACHINE, (
                f"state-machine code in {layer} must not import {module}"
            )


DRIVERS = ("node", "devnet", "tools", "client", "cli", "worker")


@pytest.mark.parametrize("layer", ["app", "modules", "node"])
def test_lower_layers_never_reach_up(layer: str) -> None:
    """The table itself keeps the direction: app and modules reach no driver, node no devnet."""
    above = {"app": DRIVERS, "modules": DRIVERS, "node": ("devnet", "tools", "client", "cli")}
    assert not ALLOWED[layer] & set(above[layer])


def test_every_package_has_a_layer() -> None:
    """A new top-level package must be given its place in ALLOWED (or it goes unchecked)."""
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"ai"} <= set(ALLOWED)


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a types module importing the store is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from aivm.store import CommitStore\nimport time\n")
    found = [aivm_layer(m) for m in imports_of(bad)]
    assert "store" in found and "store" not in ALLOWED["types"]
    assert "time" in imports_of(bad)
