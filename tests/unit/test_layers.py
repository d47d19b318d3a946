"""The import direction of docs/architecture.md, enforced.

Each layer may import only the layers beneath it; state-machine code (app, modules,
ai/runtime, ai/verify) may not import anything that does I/O or reads clocks or randomness.
The chain's drivers stack as ``app ← node ← devnet``: ``node`` (services shared with a real
CometBFT: ABCI server, REST gateway, content store, config) never imports ``devnet``; ``tools``
(localnet, the CometBFT build) may import both; ``app`` and ``modules`` import none of
``node``, ``devnet``, ``tools``, ``client`` or ``cli``.

A module's client-side companions, ``modules/<m>/cli.py`` (its ``aivm`` commands) and
``modules/<m>/client.py`` (its SDK helpers), like the Cosmos SDK's ``x/<m>/client/``, form
their own layer, ``modules.client``: they may import ``client`` and ``cli`` (and the state
machine's types), but no driver (``node``, ``devnet``, ``tools``); nothing in the state
machine (``app``, the rest of ``modules``) nor ``node``/``devnet``/``tools`` may import them
(``cli.main`` and ``Client.modules`` find them through the module list, at run time).
The provider node (``worker``) reaches the compute and ai helpers the same way, through
``Client.modules`` at run time; statically it may import the compute module's generated
protobuf types and nothing else of ``modules``. Only ``cli`` (``aivm provider …``) imports
``worker``.
The ``client`` package may import the module list ``aivm.app.modules`` and nothing else of
``app``.
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
    "modules.client": {
        "types",
        "crypto",
        "store",
        "modules",
        "modules.client",
        "ai.runtime",
        "ai.verify",
        "ai.importers",
        "client",
        "cli",
    },
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
        "worker",
        "ai.runtime",
        "ai.verify",
        "ai.importers",
        "",
    },
}
# Single modules a layer may import beyond its ALLOWED layers.
ALLOWED_MODULES: dict[str, set[str]] = {
    "client": {"aivm.app.modules"},
    # the provider node's and the verifier's message types
    "worker": {"aivm.modules.compute.compute_pb2", "aivm.modules.verify.verify_pb2"},
}
COMPANIONS = ("cli", "client")  # modules/<m>/cli.py, modules/<m>/client.py
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
    """Layer name of a source file (``ai.runtime`` for src/aivm/ai/runtime/x.py,
    ``modules.client`` for src/aivm/modules/<m>/cli.py and .../client.py)."""
    parts = path.relative_to(SRC).parts
    if parts[0] == "ai" and len(parts) > 2:
        return f"ai.{parts[1]}"
    if parts[0] == "modules" and len(parts) == 3 and path.stem in COMPANIONS:
        return "modules.client"
    return parts[0] if len(parts) > 1 else ""


def module_of(path: Path) -> str:
    """Dotted name of a source file (``aivm.modules.ai.cli``)."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None, module: str | None = None) -> list[str]:
    """Every module name imported by ``path`` (or by ``source`` as if it were module
    ``module``). ``from aivm.x import y`` counts as ``aivm.x.y`` too, so that
    ``from aivm.modules.ai import cli`` is seen; relative imports are made absolute."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, filename=str(path))
    name = module if module is not None else module_of(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            if base and base != "aivm.ai":  # from aivm.ai import runtime: aivm.ai.runtime only
                names.append(base)
            if base == "aivm" or base.startswith("aivm."):
                names.extend(f"{base}.{alias.name}" for alias in node.names)
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
    if parts[1] == "modules" and len(parts) > 3 and parts[3] in COMPANIONS:
        return "modules.client"
    return parts[1]


def violations(layer: str, imports: list[str]) -> list[str]:
    """What in ``imports`` a file of ``layer`` must not import."""
    found: list[str] = []
    for module in imports:
        target = aivm_layer(module)
        if target is not None and target not in ALLOWED[layer]:
            extra = ALLOWED_MODULES.get(layer, set())
            if not any(module == m or module.startswith(f"{m}.") for m in extra):
                found.append(f"{layer} must not import {module}")
        if layer in STATE_MACHINE and module.split(".")[0] in FORBIDDEN_IN_STATE_MACHINE:
            found.append(f"state-machine code in {layer} must not import {module}")
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if layer_of(p) in ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_layer_direction(path: Path) -> None:
    assert not violations(layer_of(path), imports_of(path))


DRIVERS = ("node", "devnet", "tools", "client", "cli", "worker")


@pytest.mark.parametrize("layer", ["app", "modules", "node", "modules.client"])
def test_lower_layers_never_reach_up(layer: str) -> None:
    """The table itself keeps the direction: app and modules reach no driver (nor the modules'
    client-side companions), node no devnet, the companions no server-side driver."""
    above = {
        "app": (*DRIVERS, "modules.client"),
        "modules": (*DRIVERS, "modules.client"),
        "node": ("devnet", "tools", "client", "cli", "modules.client"),
        "modules.client": ("app", "node", "devnet", "tools", "worker", "sim"),
    }
    assert not ALLOWED[layer] & set(above[layer])


def test_only_companions_import_companions() -> None:
    """``cli.main`` and ``Client.modules`` reach a module's cli.py/client.py through the module
    list at run time; statically, only another companion may import one."""
    assert {name for name, allowed in ALLOWED.items() if "modules.client" in allowed} == {
        "modules.client"
    }


def test_companions_are_their_own_layer() -> None:
    companions = {str(p.relative_to(SRC)) for p in SOURCES if layer_of(p) == "modules.client"}
    assert {"modules/ai/cli.py", "modules/ai/client.py", "modules/storage/cli.py"} <= companions
    assert layer_of(SRC / "modules" / "ai" / "keeper.py") == "modules"
    assert layer_of(SRC / "cli" / "main.py") == "cli"


def test_every_package_has_a_layer() -> None:
    """A new top-level package must be given its place in ALLOWED (or it goes unchecked)."""
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"ai"} <= set(ALLOWED)


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a types module importing the store is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from aivm.store import CommitStore\nimport time\n")
    found = [aivm_layer(m) for m in imports_of(bad, module="bad")]
    assert "store" in found and "store" not in ALLOWED["types"]
    assert "time" in imports_of(bad, module="bad")
    assert violations("types", imports_of(bad, module="bad"))


@pytest.mark.parametrize(
    ("where", "source", "ok"),
    [
        # the state machine never reaches a module's cli.py / client.py, however spelled
        ("modules/ai/keeper.py", "from aivm.modules.ai import cli", False),
        ("modules/ai/keeper.py", "from aivm.modules.ai.client import AiClient", False),
        ("modules/ai/module.py", "from . import client", False),
        ("modules/ai/module.py", "from .cli import register", False),
        ("modules/bank/keeper.py", "import aivm.modules.storage.client", False),
        ("modules/ai/keeper.py", "from aivm.client import Client", False),
        ("modules/ai/keeper.py", "from aivm.cli.common import emit", False),
        ("app/application.py", "from aivm.modules.storage import cli", False),
        ("node/rest.py", "from aivm.modules.ai.client import AiClient", False),
        ("cli/main.py", "from aivm.modules.ai import cli", False),
        ("modules/ai/keeper.py", "from aivm.modules.bank.keeper import BankKeeper", True),
        # the companions: client and cli yes, server-side drivers no
        ("modules/ai/cli.py", "from aivm.cli import common as cli", True),
        ("modules/ai/cli.py", "from aivm.modules.ai.client import AiClient", True),
        ("modules/ai/client.py", "from aivm.client.client import Client", True),
        ("modules/ai/client.py", "from aivm.types.protogen import ai_pb2", True),
        ("modules/ai/cli.py", "from aivm.node.rest import RestGateway", False),
        ("modules/ai/cli.py", "from aivm.devnet.process import serve", False),
        ("modules/storage/cli.py", "from aivm.tools.localnet import Localnet", False),
        ("modules/storage/client.py", "from aivm.app.application import AivmApp", False),
        # the SDK client: the module list, nothing else of app
        ("client/client.py", "from aivm.app.modules import MODULES", True),
        ("client/client.py", "from aivm.app.application import AivmApp", False),
        ("client/client.py", "from aivm.modules.ai.client import AiClient", False),
    ],
)
def test_checker_rules(where: str, source: str, ok: bool) -> None:
    path = SRC / where
    found = violations(layer_of(path), imports_of(path, source=source))
    assert not found if ok else found, found
