"""The app's ``BUG`` log lines, watched by the test harness and the simulation.

Where an internal error must not halt the chain, the app logs a line starting with ``BUG`` and
goes on: a block hook that raised has its writes dropped (``aivm.app.manager``), a CheckTx or
FinalizeBlock step that raised answers an internal error (``aivm.app.application``). A node
must survive that; a test or a simulation run must not pass over it. :func:`bug_log` is one
handler on the ``aivm`` logger, installed once, that records those lines; a driver takes a
:meth:`BugLog.mark` before a block and calls :meth:`BugLog.check` after it, which raises
:class:`BugLogged` naming every ``BUG`` line logged since. A test that provokes one on purpose
runs that code under :meth:`BugLog.expected`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

BUG_PREFIX = "BUG"
APP_LOGGER = "aivm"
_KEEP = 1000
"""At most this many recent BUG lines are kept (a check names the ones after its mark)."""


class BugLogged(AssertionError):
    """The app logged a ``BUG`` line: an internal error it survived, which a test must not."""


class BugLog(logging.Handler):
    """Counts the ``BUG`` records of the ``aivm`` loggers and keeps the recent ones' text."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        """``BUG`` records seen, the expected ones included."""
        self.lines: list[tuple[int, str]] = []
        """(number, text) of the recent unexpected ones."""
        self._expected = 0
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Record ``record`` when its message starts with ``BUG``."""
        message = record.getMessage()
        if not message.startswith(BUG_PREFIX):
            return
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" ({type(error).__name__}: {error})"
        with self._guard:
            self.count += 1
            if not self._expected:
                self.lines = [*self.lines[-_KEEP + 1 :], (self.count, message)]

    def mark(self) -> int:
        """A position: :meth:`check` reports only the lines logged after it."""
        return self.count

    def since(self, mark: int) -> list[str]:
        """The unexpected ``BUG`` lines logged after ``mark``."""
        with self._guard:
            return [text for number, text in self.lines if number > mark]

    def check(self, mark: int, where: str) -> None:
        """Raise :class:`BugLogged` when an unexpected ``BUG`` line was logged after ``mark``
        (``where``, e.g. ``"block 7"``, says what ran)."""
        found = self.since(mark)
        if found:
            raise BugLogged(
                f"{where}: the app logged {len(found)} BUG line(s): " + "; ".join(found)
            )

    @contextlib.contextmanager
    def expected(self) -> Iterator[None]:
        """Code that must log at least one ``BUG`` line (a test of the app's own guard): those
        lines are not failures, and none at all is one."""
        before = self.count
        with self._guard:
            self._expected += 1
        try:
            yield
        finally:
            with self._guard:
                self._expected -= 1
        if self.count == before:
            raise AssertionError("expected the app to log a BUG line, and it logged none")


_installed: list[BugLog] = []


def bug_log() -> BugLog:
    """The one :class:`BugLog`, added to the ``aivm`` logger on the first call (by the test
    harness's ``Chain.start`` and ``Simulation``; a node never installs it). The loggers' levels
    are left alone: ``BUG`` lines are errors, which the default WARNING level lets through."""
    with _install_guard:
        if not _installed:
            handler = BugLog()
            logging.getLogger(APP_LOGGER).addHandler(handler)
            _installed.append(handler)
        return _installed[0]


_install_guard = threading.Lock()
