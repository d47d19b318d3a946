"""Upload and download files through a node's content store (REST ``/aivm/storage/v1/blobs``).

Every download is checked: the file is written to ``<dest>.part``, its CID is recomputed
locally, and only a matching file is renamed into place. An interrupted download resumes
from the size of the ``.part`` file with an HTTP ``Range`` request.

Example::

    from aivm.client.storage import StorageClient

    store = StorageClient("http://127.0.0.1:1317")
    stat = store.put("model.dsm")                 # ObjectStat(cid=..., size=..., chunks=...)
    store.get(stat.cid, "copy.dsm")               # verified against the CID
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from aivm.client.errors import ClientError
from aivm.crypto import unixfs

PIECE = 1 << 16
UPLOAD_HEADERS = {"Content-Type": "application/octet-stream"}
"""The node takes uploads only as raw bytes (other content types: HTTP 415)."""
_CODED = re.compile(r"\b([a-z][a-z0-9_]*)/(\d+):")
Progress = Callable[[int], None]
"""Called with the number of bytes just transferred."""


class StorageError(ClientError):
    """The node refused a request, or a download did not match its CID.

    ``status`` is the HTTP status (0 when the check failed locally); ``codespace``/``code`` the
    node's registered error (``storage``/4 for a corrupted blob), when it sent one.
    """

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status
        found = _CODED.search(message)
        self.codespace = found[1] if found else ""
        self.code = int(found[2]) if found else 0


@dataclass(frozen=True)
class ObjectStat:
    """A stored file."""

    cid: str
    size: int
    chunks: int


class StorageClient:
    """Blocking client of the content-store routes of a REST gateway."""

    def __init__(self, rest_url: str = "http://127.0.0.1:1317", timeout: float = 60.0) -> None:
        self.base = rest_url.rstrip("/") + "/aivm/storage/v1/blobs"
        self.timeout = timeout
        self.session = requests.Session()

    def _check(self, response: requests.Response) -> None:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise StorageError(f"HTTP {response.status_code}: {message}", response.status_code)

    def put(self, source: str | Path | bytes, progress: Progress | None = None) -> ObjectStat:
        """Upload a file (path) or bytes; returns the node's CID, checked against ours.

        The body is streamed as ``application/octet-stream`` with its ``Content-Length``, so
        a node whose size limit it passes refuses it (413) before reading it; past the node's
        quota it is refused (507) at the first block that does not fit. Both raise
        :class:`StorageError` with the node's code.
        """
        expected = unixfs.cid_of_stream(_pieces(source))
        response = self.session.post(
            self.base,
            data=_Upload(source, progress),
            headers=UPLOAD_HEADERS,
            timeout=self.timeout,
        )
        self._check(response)
        stat = ObjectStat(**response.json())
        if stat.cid != expected:
            raise StorageError(f"node stored {stat.cid}, but the content's CID is {expected}")
        return stat

    def stat(self, cid: str) -> ObjectStat:
        """Size and chunk count of a stored file."""
        response = self.session.get(f"{self.base}/{cid}/stat", timeout=self.timeout)
        self._check(response)
        return ObjectStat(**response.json())

    def chunk(self, cid: str, index: int) -> tuple[bytes, bytes]:
        """(chunk, encoded proof) of chunk ``index``, for answering a challenge."""
        response = self.session.get(f"{self.base}/{cid}/chunks/{index}", timeout=self.timeout)
        self._check(response)
        body = response.json()
        return base64.b64decode(body["chunk"]), base64.b64decode(body["proof"])

    def get(
        self, cid: str, dest: str | Path, resume: bool = True, progress: Progress | None = None
    ) -> ObjectStat:
        """Download ``cid`` to ``dest``, resuming a partial ``dest.part``; verify the CID."""
        stat = self.stat(cid)
        target = Path(dest)
        part = target.with_name(target.name + ".part")
        have = part.stat().st_size if resume and part.exists() else 0
        if have > stat.size:
            have = 0
        if have < stat.size or stat.size == 0:
            headers = {"Range": f"bytes={have}-"} if have else {}
            with self.session.get(
                f"{self.base}/{cid}", headers=headers, stream=True, timeout=self.timeout
            ) as response:
                self._check(response)
                mode = "ab" if have and response.status_code == 206 else "wb"
                if mode == "wb" and progress is not None and have:
                    progress(-have)
                with open(part, mode) as out:
                    for piece in response.iter_content(PIECE):
                        out.write(piece)
                        if progress is not None:
                            progress(len(piece))
        got = unixfs.cid_of_stream(_pieces(part))
        if got != cid:
            part.unlink()
            raise StorageError(f"downloaded content has CID {got}, not {cid}; discarded")
        os.replace(part, target)
        return stat


class _Upload:
    """A request body streamed piece by piece whose length is known (``requests`` then sends
    ``Content-Length`` instead of chunked encoding)."""

    def __init__(self, source: str | Path | bytes, progress: Progress | None) -> None:
        self.source = source
        self.progress = progress

    def __len__(self) -> int:
        if isinstance(self.source, bytes):
            return len(self.source)
        return os.path.getsize(self.source)

    def __iter__(self) -> Iterator[bytes]:
        return (piece for piece in _pieces(self.source, self.progress) if piece)


def _pieces(source: str | Path | bytes, progress: Progress | None = None) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), PIECE):
            piece = source[start : start + PIECE]
            if progress is not None:
                progress(len(piece))
            yield piece
        if not source:
            yield b""
        return
    with open(source, "rb") as handle:
        while piece := handle.read(PIECE):
            if progress is not None:
                progress(len(piece))
            yield piece
