"""Cost of comparing redundant compute results (``aivm.modules.compute.compare``) against the
gas charged for it.

Measures, for comparison data of ``--bytes`` bytes (default: the ``max_comparison_bytes``
param, 64 KiB = 16,384 float32 elements): an ``agree`` call whose digests are equal (the fast
path), the tolerance rule when every element differs but agrees (the worst case: all of them
decoded and compared exactly) for values of order 1, for huge and for subnormal values, the
tokens rule, ``first_difference``, and ``check_result`` of a tolerance output (sha256 and the
finiteness scan). For each it prints ns per call and per element, the gas charged, and ns per
gas against the chain's reference (ADR 0010: ≈2.6–2.9 ns per gas unit on the development VM;
``--reference`` to change it). The goal is a ratio within 0.25×–4× of the reference.

Usage: .venv/bin/python benchmarks/compute_compare.py [--bytes N] [--reference NS]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import time
from collections.abc import Callable

import numpy as np

from aivm.modules.compute import compare, compute_pb2
from aivm.types.dec import Dec

REFERENCE_NS_PER_GAS = 2.7
"""ADR 0010's median ns per gas unit on the 2-core development VM."""


def result(data: bytes) -> compute_pb2.JobResult:
    """A result whose digest is the data's sha256."""
    return compute_pb2.JobResult(output_digest=hashlib.sha256(data).digest(), comparison_data=data)


def time_ns(call: Callable[[], object], repeat: int = 5) -> float:
    """Best of ``repeat`` runs of ``call``, in ns."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        best = min(best, time.perf_counter_ns() - start)
    return best


def pair(values: np.ndarray, ulps: int = 3) -> tuple[bytes, bytes]:
    """float32 values and the same values a few ulps away (every element differs)."""
    a = values.astype("<f4")
    b = (a.view("<u4") + np.uint32(ulps)).view("<f4")
    return a.tobytes(), b.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bytes", type=int, default=65_536, help="comparison data size")
    parser.add_argument("--reference", type=float, default=REFERENCE_NS_PER_GAS)
    args = parser.parse_args()
    n = args.bytes // 4
    rng = np.random.default_rng(7)
    tolerance = compare.ComparisonRule("tolerance", Dec.from_str("1"), Dec.from_str("1"))
    tokens = compare.ComparisonRule("tokens", Dec.zero(), Dec.zero())
    cases: list[tuple[str, compare.ComparisonRule, bytes, bytes]] = []
    for label, values in (
        ("order 1", rng.normal(0.0, 1.0, n)),
        ("huge (~1e30)", rng.normal(0.0, 1.0, n) * 1e30),
        ("subnormal", rng.normal(0.0, 1.0, n) * 1e-40),
    ):
        a, b = pair(values)
        cases.append((f"tolerance, all elements differ, {label}", tolerance, a, b))
    same = pair(rng.normal(0.0, 1.0, n))[0]
    ids = rng.integers(0, 50_000, n, dtype="<u4").tobytes()
    other_ids = ids[:-4] + b"\xff\xff\xff\xff"

    print(f"{'operation':<52} {'ns/call':>11} {'ns/elem':>8} {'gas':>9} {'ns/gas':>7} {'ratio':>6}")

    def row(name: str, call: Callable[[], object], gas: int, elements: int) -> None:
        ns = time_ns(call)
        per_gas = ns / gas
        print(
            f"{name:<52} {ns:>11,.0f} {ns / max(elements, 1):>8.1f} {gas:>9,} "
            f"{per_gas:>7.2f} {per_gas / args.reference:>6.2f}"
        )

    for name, rule, a, b in cases:
        ra, rb = result(a), result(b)
        assert compare.agree(rule, ra, rb)
        gas = compare.comparison_gas(rule, len(a))
        row(name, functools.partial(compare.agree, rule, ra, rb), gas, n)
    ra = result(same)
    row(
        "equal digests (any rule, fast path)",
        lambda: compare.agree(tolerance, ra, ra),
        compare.COMPARE_BASE_GAS,
        1,
    )
    ta, tb = result(ids), result(other_ids)
    row(
        "tokens, differ",
        lambda: compare.agree(tokens, ta, tb),
        compare.comparison_gas(tokens, len(ids)),
        1,
    )
    ns = time_ns(lambda: compare.first_difference(ids, other_ids))
    print(f"{'first_difference (last token differs)':<52} {ns:>11,.0f}")
    digest = hashlib.sha256(same).digest()
    row(
        "check_result, tolerance (sha256 + finiteness)",
        lambda: compare.check_result(tolerance, digest, same, args.bytes),
        compare.check_gas(tolerance, len(same)),
        n,
    )
    ids_digest = hashlib.sha256(ids).digest()
    row(
        "check_result, tokens (sha256)",
        lambda: compare.check_result(tokens, ids_digest, ids, args.bytes),
        compare.check_gas(tokens, len(ids)),
        n,
    )
    single = cases[0][2][:4], cases[0][3][:4]
    one = time_ns(lambda: compare.within_tolerance(tolerance, *single), repeat=2000)
    print(
        f"\ngas per element chosen: {compare.TOLERANCE_GAS_PER_ELEMENT} "
        f"(+{compare.TOLERANCE_SETUP_GAS} set-up, +{compare.COMPARE_BASE_GAS} per call); "
        f"reference {args.reference} ns per gas; "
        f"one-element call {one:,.0f} ns"
    )


if __name__ == "__main__":
    main()
