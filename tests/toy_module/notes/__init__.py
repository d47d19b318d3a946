"""notes: short public notes (a toy module: see docs/modules.md)."""

from aivm.modules.notes.module import DEFINITION, NotesModule

__all__ = ["DEFINITION", "NotesModule"]
