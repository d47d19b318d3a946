"""``<home>/outputs``: the outputs a provider node computed, kept so that after a restart
(``kill -9``) an output is reused instead of recomputed (same job, same input digest).

- Outputs up to ``inline_limit`` bytes (those that travel inline in results) are appended,
  all of a round in one write, to ``outputs/inline.jsonl``: one JSON object a line,
  ``{"job", "input_digest", "dtype", "shape", "batch", "ms", "hex"}``. Creating two files a
  job cost 0.1–2 ms each on the dev VM's disk, more than everything else the node does for a
  small job; one append a round costs a few µs a job. A partial last line (a kill during the
  write) is skipped; a later line for the same job wins.
- Larger outputs are kept as ``<job>.bin`` (the bytes) and ``<job>.json`` (the rest).

Example::

    store = OutputStore(home / "outputs", inline_limit=65536)
    store.save([(7, Saved(output, input_digest_hex, batch=256, millis=4.2))])
    store.load(7)    # Saved(...) or None
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aivm.worker.formats import Output

INLINE_FILE = "inline.jsonl"


@dataclass(frozen=True)
class Saved:
    """A kept output and how it was computed."""

    output: Output
    input_digest: str
    """Hex sha256 of the input it was computed from."""
    batch: int = 1
    millis: float = 0.0

    def meta(self) -> dict[str, Any]:
        """Everything but the bytes, as JSON."""
        return self.output.metadata() | {
            "batch": self.batch,
            "ms": round(self.millis, 3),
            "input_digest": self.input_digest,
        }


def _saved(meta: dict[str, Any], data: bytes) -> Saved:
    output = Output(data, str(meta["dtype"]), tuple(int(d) for d in meta["shape"]))
    return Saved(output, str(meta["input_digest"]), int(meta["batch"]), float(meta["ms"]))


class OutputStore:
    """The outputs under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, inline_limit: int) -> None:
        self.root = root
        self.inline_limit = inline_limit
        self._index: dict[int, tuple[int, int]] | None = None
        """job → (offset, length) of its last line in ``inline.jsonl``, read once."""

    @property
    def inline_path(self) -> Path:
        """``<root>/inline.jsonl``."""
        return self.root / INLINE_FILE

    def _lines(self) -> dict[int, tuple[int, int]]:
        if self._index is None:
            self._index = {}
            if self.inline_path.exists():
                offset = 0
                with self.inline_path.open("rb") as stream:
                    for line in stream:
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            if line.endswith(b"\n"):
                                self._index[int(json.loads(line)["job"])] = (offset, len(line))
                        offset += len(line)
        return self._index

    def save(self, entries: list[tuple[int, Saved]]) -> None:
        """Keep ``(job_id, saved)`` entries: the small ones in one append, the others as
        files."""
        self.root.mkdir(parents=True, exist_ok=True)
        index = self._lines()
        lines: list[tuple[int, bytes]] = []
        for job_id, saved in entries:
            if len(saved.output.data) <= self.inline_limit:
                entry = {"job": job_id, **saved.meta(), "hex": saved.output.data.hex()}
                lines.append((job_id, json.dumps(entry, separators=(",", ":")).encode() + b"\n"))
                continue
            path = self.root / f"{job_id}.bin"
            path.write_bytes(saved.output.data)
            path.with_suffix(".json").write_text(json.dumps(saved.meta()))
        if not lines:
            return
        with self.inline_path.open("a+b") as stream:
            offset = stream.seek(0, 2)
            if offset and (stream.seek(offset - 1), stream.read(1))[1] != b"\n":
                stream.write(b"\n")  # end a partial line a kill left
                offset += 1
            stream.write(b"".join(line for _, line in lines))
        for job_id, line in lines:
            index[job_id] = (offset, len(line))
            offset += len(line)

    def load(self, job_id: int) -> Saved | None:
        """The kept output of ``job_id``, or None."""
        path = self.root / f"{job_id}.bin"
        meta_path = path.with_suffix(".json")
        try:
            if path.exists() and meta_path.exists():
                return _saved(json.loads(meta_path.read_text()), path.read_bytes())
            found = self._lines().get(job_id)
            if found is None:
                return None
            with self.inline_path.open("rb") as stream:
                stream.seek(found[0])
                entry = json.loads(stream.read(found[1]))
            return _saved(entry, bytes.fromhex(entry["hex"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
