"""notes commands: ``aivm query notes show ID``."""

from __future__ import annotations

import argparse

from aivm.modules.notes.client import NotesClient

from aivm.cli import common as cli


def cmd_show(s: cli.Settings, args: argparse.Namespace) -> None:
    """Print a note."""
    with s.client() as client:
        cli.emit(s, cli.proto_json(NotesClient(client).note(args.id)))


def register(
    subs: cli.Group, tx: cli.Group, query: cli.Group, leaf: cli.Leaf, branch: cli.Branch
) -> None:
    """Add ``aivm query notes``."""
    notes = branch(query, "notes", "Query the notes module")
    p = leaf(notes, "show", cmd_show, "Show a note by id", "  aivm query notes show 1")
    p.add_argument("id", type=int)
