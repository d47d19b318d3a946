"""storage module: content-addressed object records, retention payments, availability challenges."""

from aivm.modules.storage.module import DEFINITION, StorageModule

__all__ = ["DEFINITION", "StorageModule"]
