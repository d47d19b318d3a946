"""``aivm verifier start`` hands its options to the daemon: ``--challenge`` and
``--compute-checks`` / ``--no-compute-checks`` (default: decided by the compute role)."""

from __future__ import annotations

import signal
from typing import Any, ClassVar

import pytest

from aivm.cli import common as cli
from aivm.cli.main import build_parser
from aivm.worker import verifier


class _Daemon:
    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Daemon.made.append(kwargs)

    def run(self, *args: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("flags", "challenge", "compute_checks"),
    [
        ([], False, None),
        (["--compute-checks"], False, True),
        (["--no-compute-checks", "--challenge"], True, False),
    ],
)
def test_start_passes_the_challenge_and_compute_check_options(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], challenge: bool, compute_checks: bool | None
) -> None:
    monkeypatch.setattr(verifier, "VerifierNode", _Daemon)
    monkeypatch.setattr(cli, "keyring_wallet", lambda s, name: object())
    monkeypatch.setattr(signal, "signal", lambda *a: None)  # keep the test runner's handlers
    _Daemon.made.clear()
    args = build_parser().parse_args(["verifier", "start", "--from", "val1", *flags])
    args.handler(cli.Settings(args), args)
    (kwargs,) = _Daemon.made
    assert kwargs == {"challenge": challenge, "compute_checks": compute_checks}
