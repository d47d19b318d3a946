"""BackgroundWorkload: the daemons' hardware workload never blocks the caller; the digest
is computed once on a background thread and returned when ready."""

from __future__ import annotations

import threading
import time

import pytest

from aivm.worker.hardware_checks import BackgroundWorkload, WorkloadPending


def test_the_first_call_starts_the_work_and_later_calls_get_the_digest() -> None:
    release = threading.Event()
    calls: list[tuple[bytes, int, int]] = []

    def slow(seed: bytes, size: int, rounds: int) -> bytes:
        calls.append((seed, size, rounds))
        release.wait(5)
        return seed + bytes([size, rounds])

    workload = BackgroundWorkload(slow)
    started = time.monotonic()
    with pytest.raises(WorkloadPending):
        workload(b"s", 4, 2)
    with pytest.raises(WorkloadPending):
        workload(b"t", 8, 1)  # one computation at a time: this one waits its turn
    assert time.monotonic() - started < 1  # never blocked on the work
    release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            assert workload(b"s", 4, 2) == b"s\x04\x02"
            break
        except WorkloadPending:
            time.sleep(0.01)
    else:
        raise AssertionError("the digest never became ready")
    assert calls == [(b"s", 4, 2)]  # computed once, the second challenge not yet started
    assert workload(b"s", 4, 2) == b"s\x04\x02"
    assert calls == [(b"s", 4, 2)]
