#!/usr/bin/env python3
"""Structure-aware fuzzing of AIVM: tx decoding, CheckTx, Simulate, FinalizeBlock, blocks,
every query and the DSM artifact loader (targets and oracles: tests/fuzz/fuzz_targets.py,
docs/fuzzing.md).

    .venv/bin/python scripts/fuzz.py --inputs 1000000 --seed 1            # all targets
    .venv/bin/python scripts/fuzz.py --inputs 100000 --target finalize --keep-going
    .venv/bin/python scripts/fuzz.py --inputs 1000000 --workers 2         # one process per core
    .venv/bin/python scripts/fuzz.py --inputs 50000 --start 50000         # resume a run
    .venv/bin/python scripts/fuzz.py --target check --replay 0a8c01…      # run one input again

``--inputs`` is the total, shared between the targets by ``--share`` weights (the expensive
block target gets fewer). Input ``i`` of a target is generated from ``(seed, target, i)``
alone, so ``--start`` resumes a run and ``--workers W`` splits it (worker ``w`` runs inputs
``w, w + W, …``). Each worker builds its own chain in a temporary directory.

Prints one JSON line per target (inputs, inputs/s, counts per result code, failures) and a
summary; every failure with its reproducer hex and the exact ``--replay`` arguments. Exits 1
when any oracle failed, 0 otherwise. ``--keep-going`` groups failures by oracle and place
instead of stopping at the first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]

from fuzz_runner import (  # noqa: E402
    Failure,
    TargetReport,
    input_rng,
    make_target,
    run_input,
    run_target,
)
from fuzz_targets import TARGETS, FuzzInput, build_world  # noqa: E402

from aivm.types import pb  # noqa: E402

DEFAULT_SHARE = {
    "decode": 4,
    "check": 3,
    "simulate": 3,
    "finalize": 4,
    "block": 1,
    "query": 3,
    "artifact": 2,
}
"""Relative number of inputs each target gets in an all-target run."""
UNCAUGHT = ("uncaught", "decode_tx raised", "runtime.load raised", "running a loaded model")
"""Failure kinds that are exceptions escaping the code under test."""
INLINE_HEX = 4096
"""Longer reproducers are written to files instead of printed."""


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; exit status 1 when an oracle failed."""
    args = parse_args(argv)
    if args.replay:
        return replay(args)
    if args.index is not None:
        return run_index(args)
    plan = plan_inputs(args)
    reports, coverage = run_workers(args, plan)
    return print_reports(args, reports, coverage)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="total inputs (all targets)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--start", type=int, default=0, help="first input number (resume)")
    parser.add_argument("--workers", type=int, default=1, help="processes (one chain each)")
    parser.add_argument("--keep-going", action="store_true", help="do not stop at a failure")
    parser.add_argument("--out", type=Path, help="directory for reproducers over 4 KB")
    parser.add_argument(
        "--tmp", type=Path, default=default_tmp(), help="where chains live (default: tmpfs)"
    )
    parser.add_argument("--replay", help="hex input to run once (with --target)")
    parser.add_argument("--index", type=int, help="regenerate and run input N (with --target)")
    parser.add_argument("--decode-reject", default="", help="with --replay: must be refused")
    parser.add_argument("--ante-reject", default="", help="with --replay: must fail the ante")
    return parser.parse_args(argv)


def default_tmp() -> Path | None:
    """/dev/shm when there is one: commits there cost no disk flush."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else None


def plan_inputs(args: argparse.Namespace) -> dict[str, int]:
    """Inputs per target: ``--inputs`` split by the share weights of the chosen targets."""
    names = args.target or list(TARGETS)
    weights = {name: DEFAULT_SHARE.get(name, 1) for name in names}
    total = sum(weights.values())
    return {name: max(1, args.inputs * weight // total) for name, weight in weights.items()}


def run_workers(
    args: argparse.Namespace, plan: dict[str, int]
) -> tuple[dict[str, TargetReport], Counter[str]]:
    """Run the plan in ``--workers`` processes; merge their reports and coverage."""
    jobs = [(args, plan, worker) for worker in range(args.workers)]
    if args.workers == 1:
        results = [run_worker(*jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            results = pool.starmap(run_worker, jobs)
    merged: dict[str, TargetReport] = {}
    coverage: Counter[str] = Counter()
    for reports, reached in results:
        coverage.update(reached)
        for name, report in reports.items():
            if name in merged:
                merged[name].merge(report)
            else:
                merged[name] = report
    return merged, coverage


def run_worker(
    args: argparse.Namespace, plan: dict[str, int], worker: int
) -> tuple[dict[str, TargetReport], Counter[str]]:
    """One process: a fresh world, every target's share of inputs ``worker, worker + W, …``."""
    reports = {}
    with tempfile.TemporaryDirectory(prefix="aivm-fuzz-", dir=args.tmp) as tmp:
        world = build_world(Path(tmp) / "chain")
        try:
            for name, total in plan.items():
                count = (total - worker + args.workers - 1) // args.workers
                report = run_target(
                    world,
                    make_target(world, name),
                    args.seed,
                    count,
                    start=args.start + worker,
                    stride=args.workers,
                    keep_going=args.keep_going,
                )
                reports[name] = report
                print(progress_line(report, worker), file=sys.stderr, flush=True)
                if report.failures and not args.keep_going:
                    break
            coverage = world.coverage
        finally:
            world.close()
    return reports, coverage


def progress_line(report: TargetReport, worker: int) -> str:
    """One line on stderr as each target finishes in a worker."""
    return (
        f"[worker {worker}] {report.name}: {report.inputs} inputs in {report.seconds:.1f} s "
        f"({report.rate:.0f}/s), {report.failed} failed"
    )


def print_reports(
    args: argparse.Namespace, reports: dict[str, TargetReport], coverage: Counter[str]
) -> int:
    """One JSON line per target, the coverage, then every failure; return the exit status."""
    failures: list[Failure] = []
    for report in reports.values():
        kinds = [(f.kind, f.count) for f in report.failures.values()]
        line = {
            "target": report.name,
            "inputs": report.inputs,
            "seconds": round(report.seconds, 2),
            "inputs_per_s": round(report.rate, 1),
            "failed_inputs": report.failed,
            "uncaught_exceptions": sum(n for k, n in kinds if k.startswith(UNCAUGHT)),
            "unregistered_codes": sum(n for k, n in kinds if k == "unregistered error code"),
            "internal_errors": sum(n for k, n in kinds if k == "ErrInternal result"),
            "results": dict(report.results.most_common()),
            "slowest_s": [[round(s, 4), index] for s, index in report.slowest],
        }
        print(json.dumps(line), flush=True)
        failures.extend(report.failures.values())
    print(json.dumps({"coverage": dict(sorted(coverage.items()))}))
    total = sum(r.inputs for r in reports.values())
    print(
        json.dumps(
            {
                "summary": True,
                "seed": args.seed,
                "start": args.start,
                "inputs": total,
                "failure_kinds": len(failures),
                "failed_inputs": sum(f.count for f in failures),
            }
        )
    )
    for number, failure in enumerate(failures, 1):
        print_failure(args, number, failure)
    return 1 if failures else 0


def print_failure(args: argparse.Namespace, number: int, failure: Failure) -> None:
    """A failure: oracle, count, input number, detail and how to replay it."""
    print(f"\n=== FAILURE {number}: [{failure.target}] {failure.kind} ({failure.count} inputs)")
    print(f"first at input {failure.index} (seed {args.seed})")
    print(failure.detail.rstrip())
    replay_args = failure.replay_args()
    if len(failure.reproducer) > INLINE_HEX and args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"failure-{number}-{failure.target}.hex"
        path.write_text(failure.reproducer + "\n")
        replay_args = replay_args.replace(failure.reproducer, f"$(cat {path})")
    print(f"reproduce: .venv/bin/python scripts/fuzz.py {replay_args}")


def run_index(args: argparse.Namespace) -> int:
    """Regenerate input ``--index`` of one target under ``--seed``; run it and show it."""
    if not args.target or len(args.target) != 1:
        print("--index needs exactly one --target", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aivm-fuzz-", dir=args.tmp) as tmp:
        world = build_world(Path(tmp) / "chain")
        try:
            target = make_target(world, args.target[0])
            item = target.generate(input_rng(args.seed, target.name, args.index))
            outcome = run_input(world, target, item, args.index)
        finally:
            world.close()
    print(f"input {args.index}: {len(item.data)} bytes, {outcome.seconds * 1000:.1f} ms")
    print(f"hex: {item.data.hex()}")
    if item.must_reject:
        print(f"must be rejected: {item.must_reject}")
    if outcome.failure is None:
        print(f"passed: {outcome.labels}")
        return 0
    print(f"FAILED: {outcome.failure.kind}\n{outcome.failure.detail}")
    return 1


def replay(args: argparse.Namespace) -> int:
    """Run one input on a fresh world and report what the oracles say."""
    if not args.target or len(args.target) != 1:
        print("--replay needs exactly one --target", file=sys.stderr)
        return 2
    item = FuzzInput(bytes.fromhex(args.replay), args.decode_reject, args.ante_reject)
    with tempfile.TemporaryDirectory(prefix="aivm-fuzz-", dir=args.tmp) as tmp:
        world = build_world(Path(tmp) / "chain")
        try:
            if args.target[0] == "query":  # a query may name a height the run had reached
                world.advance_to(pb.abci.RequestQuery.FromString(item.data).height)
            outcome = run_input(world, make_target(world, args.target[0]), item)
        finally:
            world.close()
    if outcome.failure is None:
        print(f"passed: {outcome.labels}")
        return 0
    print(f"FAILED: {outcome.failure.kind}\n{outcome.failure.detail}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
