"""notes in the randomized simulation: post a note from any account."""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.notes import notes_pb2
from aivm.modules.notes.module import NotesModule

from aivm.modules.addr import addr_str
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.types.pb import Message


def operations(module: NotesModule) -> dict[str, WeightedOperation]:
    """post, by name."""

    def post(env: SimEnv) -> Sequence[Message] | None:
        text = "n" * env.rng.randrange(0, 150)  # sometimes empty or too long: refused
        return [notes_pb2.MsgPostNote(author=addr_str(env.rng.choice(env.accounts)), text=text)]

    return {"post": WeightedOperation(5, post)}
