"""A module brings its own CLI commands and SDK helpers (``aivm/modules/<name>/cli.py`` and
``client.py``): ``aivm`` and ``Client.modules`` find them through the app's module list."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from aivm.app.modules import MODULES
from aivm.cli.main import main
from aivm.client import Client
from aivm.client.client import modules_with_client_helpers
from aivm.modules.ai.client import AiClient
from aivm.modules.storage.client import StorageTxClient


def test_client_modules_builds_each_helper_once() -> None:
    client = Client("http://127.0.0.1:1")  # nothing is called: no node needed
    ai = client.modules.ai
    assert isinstance(ai, AiClient) and ai.client is client
    assert client.modules.ai is ai
    storage = client.modules.storage
    assert isinstance(storage, StorageTxClient) and storage.client is client
    assert Client("http://127.0.0.1:1").modules.ai is not ai  # one per client
    assert {"ai", "storage"} <= set(dir(client.modules))


def test_modules_with_helpers_follow_the_module_list() -> None:
    names = [d.name for d in MODULES]
    assert modules_with_client_helpers() == tuple(
        n for n in names if n in modules_with_client_helpers()
    )
    assert {"ai", "storage"} <= set(modules_with_client_helpers())
    assert "bank" in names and "bank" not in modules_with_client_helpers()


@pytest.mark.parametrize(
    ("name", "problem"),
    [("bank", "module 'bank' has no client helpers"), ("nosuch", "no module 'nosuch'")],
)
def test_client_modules_without_helpers_raise(name: str, problem: str) -> None:
    client = Client("http://127.0.0.1:1")
    with pytest.raises(AttributeError) as err:
        getattr(client.modules, name)
    message = str(err.value)
    assert problem in message
    assert "ai" in message and "storage" in message  # names the modules that have helpers
    assert not hasattr(client.modules, "_private")


def _help(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*argv, "--help"]) == 0
    return out.getvalue()


def test_aivm_help_lists_the_module_command_groups() -> None:
    listing = _help()
    commands = listing.split("positional arguments:")[1].split("options:")[0]
    groups = re.findall(r"^ {4}(\S+)", commands, flags=re.MULTILINE)
    assert groups[:2] == ["status", "init"]
    # after the core commands, in module-list order (compute adds "compute run")
    assert groups[-3:] == ["storage", "ai", "compute"]
    assert "Local AI tools" in listing and "content store" in listing
    assert "register" in _help("tx", "ai") and "put" in _help("storage")
    tx = _help("tx")
    assert tx.index("    bank") < tx.index("    storage") < tx.index("    ai")
    query = _help("query")  # bank's and auth's commands come from their module folders too
    assert query.index("    account") < query.index("    bank") < query.index("    storage")
    assert "balances" in _help("query", "bank") and "send" in _help("tx", "bank")
    assert "records" in _help("query", "storage") and "execution" in _help("query", "ai")
