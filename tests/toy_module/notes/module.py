"""The notes AppModule: one message, one query, one REST route, an EndBlock event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aivm.modules.notes import notes_pb2
from aivm.modules.notes.keeper import STORE_PREFIX, NotesKeeper

from aivm.modules.addr import addr_bytes
from aivm.modules.framework import (
    Context,
    Keepers,
    ModuleDefinition,
    MsgRoute,
    QueryRoute,
    RestRoute,
    ValidatorUpdate,
)
from aivm.types.errors import ErrInvalidRequest, ErrNotFound

QUERY_NOTE = "/aivm.notes.v1.Query/Note"


class NotesModule:
    """Posts and reads notes."""

    name = "notes"
    consensus_version = 1

    def __init__(self, keeper: NotesKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        """MsgPostNote."""

        def validate(msg: notes_pb2.MsgPostNote) -> None:
            addr_bytes(msg.author)
            if not 0 < len(msg.text) <= 140:
                raise ErrInvalidRequest.wrap("a note is 1 to 140 characters")

        def post(ctx: Context, msg: notes_pb2.MsgPostNote) -> notes_pb2.MsgPostNoteResponse:
            ctx.gas_meter.consume(10 * len(msg.text), "notes: text")
            note_id = self.keeper.add(ctx, msg.author, msg.text)
            ctx.emit("aivm.notes.v1.EventNotePosted", ("id", str(note_id)))
            return notes_pb2.MsgPostNoteResponse(id=note_id)

        return [MsgRoute(notes_pb2.MsgPostNote, lambda m: [addr_bytes(m.author)], validate, post)]

    def query_routes(self) -> Sequence[QueryRoute]:
        """Note."""

        def note(ctx: Context, req: notes_pb2.QueryNoteRequest) -> notes_pb2.QueryNoteResponse:
            found = self.keeper.get(ctx, req.id)
            if found is None:
                raise ErrNotFound.wrap(f"note {req.id}")
            return notes_pb2.QueryNoteResponse(note=found)

        return [QueryRoute(QUERY_NOTE, notes_pb2.QueryNoteRequest, note)]

    def end_block(self, ctx: Context) -> Sequence[ValidatorUpdate]:
        """Report the number of notes at the end of every block."""
        ctx.emit("aivm.notes.v1.EventNoteCount", ("count", str(self.keeper.count(ctx))))
        return []

    def default_genesis(self) -> dict[str, Any]:
        """No notes."""
        return {}

    def validate_genesis(self, data: dict[str, Any]) -> None:
        """Nothing to check."""

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        """Nothing to write."""

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        """Notes are not exported by this toy."""
        return {}


def _build(keepers: Keepers) -> tuple[NotesModule, NotesKeeper]:
    keeper = NotesKeeper()
    return NotesModule(keeper), keeper


DEFINITION = ModuleDefinition(
    name="notes",
    store_key="notes",
    store_prefix=STORE_PREFIX,
    build=_build,
    rest_routes=(
        RestRoute(
            "/aivm/notes/v1/notes/{id}",
            QUERY_NOTE,
            notes_pb2.QueryNoteRequest,
            notes_pb2.QueryNoteResponse,
            "A note by id.",
        ),
    ),
)
