"""Drive fuzz targets over numbered inputs; count results, group failures, time everything.

Input ``i`` of target ``t`` under seed ``s`` comes from ``random.Random(f"{s}/{t}/{i}")``, so a
run can be resumed (``start``) or split between processes (``stride``/``offset``) and any
input regenerated from its numbers alone. A failure keeps its reproducer: the input bytes
as hex plus what the generator said must happen to them (``--must-reject``), which
``scripts/fuzz.py --replay`` runs again on a fresh world.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from fuzz_targets import TARGETS, FuzzInput, FuzzWorld, OracleFailure, Target

SLOWEST_KEPT = 3
_FRAME = re.compile(r'File "[^"]*?(src/aivm/[^"]+)", line (\d+)')


@dataclass
class Failure:
    """One kind of failure, with the first input that showed it."""

    target: str
    kind: str
    detail: str
    index: int
    """Input number (regenerate it with the same seed)."""
    reproducer: str
    """The input bytes, hex."""
    decode_reject: str = ""
    ante_reject: str = ""
    count: int = 1
    """Inputs that failed the same way."""

    @property
    def signature(self) -> str:
        """What makes two failures the same: the oracle and the innermost aivm frame."""
        frames = _FRAME.findall(self.detail)
        where = f"{frames[-1][0]}:{frames[-1][1]}" if frames else ""
        return f"{self.target}|{self.kind}|{where}"

    def replay_args(self) -> str:
        """``scripts/fuzz.py`` arguments that run this input again."""
        args = f"--target {self.target} --replay {self.reproducer}"
        if self.decode_reject:
            args += f" --decode-reject {self.decode_reject!r}"
        if self.ante_reject:
            args += f" --ante-reject {self.ante_reject!r}"
        return args


def describe_failures(failures: list[Failure]) -> str:
    """Every failure with its detail and the command that replays it."""
    return "\n\n".join(
        f"[{f.target}] {f.kind} ({f.count} inputs, first #{f.index})\n{f.detail}\n"
        f"reproduce: .venv/bin/python scripts/fuzz.py {f.replay_args()}"
        for f in failures
    )


@dataclass
class TargetReport:
    """What one target did in a run."""

    name: str
    inputs: int = 0
    seconds: float = 0.0
    results: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Failure] = field(default_factory=dict)
    slowest: list[tuple[float, int]] = field(default_factory=list)
    """(seconds, input number) of the slowest inputs."""

    @property
    def rate(self) -> float:
        """Inputs per second (generation included)."""
        return self.inputs / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Inputs that failed an oracle."""
        return sum(f.count for f in self.failures.values())

    def merge(self, other: TargetReport) -> None:
        """Add ``other``'s counts (a report of the same target from another process)."""
        self.inputs += other.inputs
        self.seconds = max(self.seconds, other.seconds)
        self.results.update(other.results)
        for signature, failure in other.failures.items():
            mine = self.failures.get(signature)
            if mine is None:
                self.failures[signature] = failure
            else:
                mine.count += failure.count
        self.slowest = sorted(self.slowest + other.slowest, reverse=True)[:SLOWEST_KEPT]


def input_rng(seed: int, target: str, index: int) -> random.Random:
    """The generator of input ``index`` of ``target`` under ``seed``."""
    return random.Random(f"{seed}/{target}/{index}")


def make_target(world: FuzzWorld, name: str) -> Target:
    """The target called ``name`` on ``world``."""
    return TARGETS[name](world)


@dataclass(frozen=True)
class Outcome:
    """What one input did: its result label, or the failure it caused; and its run time."""

    labels: list[str]
    failure: Failure | None = None
    seconds: float = 0.0


def run_target(
    world: FuzzWorld,
    target: Target,
    seed: int,
    count: int,
    start: int = 0,
    stride: int = 1,
    keep_going: bool = False,
) -> TargetReport:
    """Run inputs ``start, start + stride, …`` (``count`` of them) of ``target``.

    Stops at the first failure unless ``keep_going``.
    """
    report = TargetReport(target.name)
    began = time.perf_counter()
    for index in range(start, start + count * stride, stride):
        outcome = run_numbered(world, target, seed, index)
        report.inputs += 1
        report.results.update(outcome.labels)
        _note_time(report, outcome.seconds, index)
        if outcome.failure is None:
            continue
        known = report.failures.get(outcome.failure.signature)
        if known is None:
            report.failures[outcome.failure.signature] = outcome.failure
        else:
            known.count += 1
        if not keep_going:
            break
    report.seconds = time.perf_counter() - began
    return report


def run_numbered(world: FuzzWorld, target: Target, seed: int, index: int) -> Outcome:
    """Generate and run input ``index`` of ``target`` under ``seed``."""
    try:
        item = target.generate(input_rng(seed, target.name, index))
    except Exception as exc:  # a fuzzer bug, reported like any other so it gets fixed
        detail = "".join(traceback.format_exception(exc))
        kind = f"generator raised {type(exc).__name__}"
        world.recover()
        return Outcome(["FAILED"], Failure(target.name, kind, detail, index, ""))
    return run_input(world, target, item, index)


def run_input(world: FuzzWorld, target: Target, item: FuzzInput, index: int = -1) -> Outcome:
    """Run one input through ``target`` and the error-log oracle."""
    kind = detail = ""
    began = time.perf_counter()
    try:
        label = target.run(item)
        world.errors.check()
    except OracleFailure as caught:
        kind, detail = caught.kind, caught.detail
    except Exception as exc:
        kind = f"uncaught {type(exc).__name__}"
        detail = "".join(traceback.format_exception(exc))
    seconds = time.perf_counter() - began
    if not kind:
        return Outcome([label] if isinstance(label, str) else label, None, seconds)
    logged = world.errors.take()
    if logged and logged not in detail:
        detail += "\nThe app logged: " + logged
    world.recover()
    failure = Failure(
        target.name, kind, detail, index, item.data.hex(), item.decode_reject, item.ante_reject
    )
    return Outcome(["FAILED"], failure, seconds)


def _note_time(report: TargetReport, elapsed: float, index: int) -> None:
    slowest = report.slowest
    if len(slowest) < SLOWEST_KEPT or elapsed > slowest[-1][0]:
        slowest.append((elapsed, index))
        slowest.sort(reverse=True)
        del slowest[SLOWEST_KEPT:]
