"""notes helpers for the SDK: ``client.modules.notes``."""

from __future__ import annotations

from aivm.modules.notes import notes_pb2
from aivm.modules.notes.module import QUERY_NOTE

from aivm.client import Client


class NotesClient:
    """``notes`` module calls over a blocking Client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def note(self, note_id: int) -> notes_pb2.Note:
        """A note by id."""
        request = notes_pb2.QueryNoteRequest(id=note_id)
        return self.client.query(QUERY_NOTE, request, notes_pb2.QueryNoteResponse).note


CLIENT = NotesClient
