"""Adding a module touches its folder and one line of the module list, nothing else.

The toy ``notes`` module (``tests/toy_module/notes``, the worked example of
``docs/modules.md``) is added to a copy of the repository's ``src/``, ``proto/`` and
``scripts/gen_proto.py`` the way a developer would: its folder under ``modules/``, one line in
``app/modules.py``, then ``scripts/gen_proto.py`` (which compiles its ``.proto`` beside it and
regenerates every other protobuf module, identically). A child process on that copy then
uses every extension point: the app runs its message, query and EndBlock; the REST gateway
mounts its route; ``aivm`` shows its command; the SDK client reaches its helpers; the
simulation finds its operations and invariants. Finally the copy is compared with the
original tree file by file.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "aivm"
TOY = REPO / "tests" / "toy_module" / "notes"
LIST_LINE = "    notes.DEFINITION,\n"

CHILD = textwrap.dedent(
    """
    import hashlib, subprocess, sys, tempfile
    from pathlib import Path

    from aivm.app.application import AivmApp
    from aivm.app.genesis import GenesisDoc
    from aivm.client import Client
    from aivm.client.tx import Signer, sign_tx
    from aivm.crypto.keys import PrivKey
    from aivm.modules.addr import addr_str
    from aivm.modules.notes import notes_pb2
    from aivm.node.rest import QUERY_ROUTES
    from aivm.sim.registry import discover_invariants, discover_operations
    from aivm.store import CommitStore
    from aivm.types import pb
    from aivm.types.coin import Coin

    key = PrivKey.from_bytes(hashlib.sha256(b"notes author").digest())
    author = addr_str(key.pubkey.address())
    doc = GenesisDoc(
        chain_id="notes-1",
        app_state={"bank": {"balances": [
            {"address": author, "coins": [{"denom": "ucgpt", "amount": "1000000000"}]}]}},
        genesis_time="2026-09-21T00:00:00Z",
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = AivmApp(CommitStore.open(Path(tmp)))
        app.init_chain(doc.init_chain_request())
        msg = notes_pb2.MsgPostNote(author=author, text="hello, chain")
        tx = sign_tx([msg], [Signer(key, 0, 0)], chain_id="notes-1",
                     fee=[Coin("ucgpt", 5000)], gas_limit=300_000)
        request = pb.abci.RequestFinalizeBlock(txs=[tx], height=1, hash=b"h" * 32)
        response = app.finalize_block(request)
        app.commit()
        assert response.tx_results[0].code == 0, response.tx_results[0].log
        assert "aivm.notes.v1.EventNoteCount" in [e.type for e in response.events]
        query = app.query(pb.abci.RequestQuery(
            path="/aivm.notes.v1.Query/Note",
            data=notes_pb2.QueryNoteRequest(id=1).SerializeToString()))
        note = notes_pb2.QueryNoteResponse.FromString(query.value).note
        assert (note.author, note.text, note.height) == (author, "hello, chain", 1)
        assert app.check_invariants() == []
        assert "notes" in app.export_genesis().app_state
        names = {op.name for op in discover_operations(app.modules)}
        assert "notes/post" in names, names
        assert "notes/ids" in {inv.name for inv in discover_invariants(app.modules)}

    assert "/aivm/notes/v1/notes/{id}" in {r.path for r in QUERY_ROUTES}
    client = Client("http://127.0.0.1:9", "http://127.0.0.1:9")
    assert type(client.modules.notes).__name__ == "NotesClient"
    help_text = subprocess.run(
        [sys.executable, "-m", "aivm.cli.main", "query", "notes", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "show" in help_text and "Show a note by id" in help_text, help_text
    print("NOTES MODULE OK")
    """
)


def add_toy_module(root: Path) -> None:
    """What a developer does: the module's folder, one list line, ``scripts/gen_proto.py``."""
    tree = root / "src"
    shutil.copytree(TOY, tree / "aivm" / "modules" / "notes")
    modules_py = tree / "aivm" / "app" / "modules.py"
    text = modules_py.read_text()
    text = text.replace("    mint,\n", "    mint,\n    notes,\n")
    text = text.replace("    ai.DEFINITION,\n", "    ai.DEFINITION,\n" + LIST_LINE)
    modules_py.write_text(text)
    subprocess.run([sys.executable, str(root / "scripts" / "gen_proto.py")], check=True)


def changed_files(original: Path, copy: Path) -> list[str]:
    """Relative paths that differ between the two trees (added, removed or changed)."""
    changed: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        for name in comparison.left_only + comparison.right_only + comparison.diff_files:
            changed.append(prefix + name)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(original, copy, ignore=["__pycache__"]), "")
    return sorted(changed)


def test_a_new_module_is_its_folder_and_one_line(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    shutil.copytree(SRC, tree / "aivm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "proto", tmp_path / "proto")
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "gen_proto.py", tmp_path / "scripts")
    add_toy_module(tmp_path)

    assert changed_files(SRC, tree / "aivm") == ["app/modules.py", "modules/notes"]
    generated = {p.name for p in (tree / "aivm" / "modules" / "notes").glob("notes_pb2.py*")}
    assert generated == {"notes_pb2.py", "notes_pb2.pyi"}
    diff = subprocess.run(
        ["diff", str(SRC / "app" / "modules.py"), str(tree / "aivm" / "app" / "modules.py")],
        capture_output=True,
        text=True,
    ).stdout
    assert [line for line in diff.splitlines() if line[:1] in "<>"] == [
        ">     notes,",
        "> " + LIST_LINE.rstrip("\n"),
    ]

    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOTES MODULE OK" in result.stdout
