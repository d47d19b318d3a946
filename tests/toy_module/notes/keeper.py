"""notes state: ``notes/0x01 | id(8) → Note``, ``notes/0x02 → next id``, ``notes/0x03 → count
of notes posted in the current block`` (cleared by EndBlock)."""

from __future__ import annotations

from aivm.modules.notes import notes_pb2

from aivm.modules.framework import Context
from aivm.store import KVStore, PrefixStore

STORE_PREFIX = b"notes/"


class NotesKeeper:
    """Reads and writes notes."""

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, STORE_PREFIX)

    def add(self, ctx: Context, author: str, text: str) -> int:
        """Store a note; return its id."""
        store = self._store(ctx)
        raw = store.get(b"\x02")
        note_id = int.from_bytes(raw, "big") if raw else 1
        store.set(b"\x02", (note_id + 1).to_bytes(8, "big"))
        note = notes_pb2.Note(id=note_id, author=author, text=text, height=ctx.header.height)
        store.set(b"\x01" + note_id.to_bytes(8, "big"), note.SerializeToString())
        return note_id

    def get(self, ctx: Context, note_id: int) -> notes_pb2.Note | None:
        """A note, or None."""
        raw = self._store(ctx).get(b"\x01" + note_id.to_bytes(8, "big"))
        return None if raw is None else notes_pb2.Note.FromString(raw)

    def count(self, ctx: Context) -> int:
        """Notes stored."""
        raw = self._store(ctx).get(b"\x02")
        return int.from_bytes(raw, "big") - 1 if raw else 0
