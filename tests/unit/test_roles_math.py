"""roles arithmetic: capability scores stay in [1, 2], selection scores are exact integers,
and a reward split gives back every last 10**-18 of the pool."""

from __future__ import annotations

import random

from aivm.modules.roles import roles_pb2
from aivm.modules.roles.capability import capability_score, selection_score
from aivm.modules.roles.rewards import split
from aivm.types.dec import Dec


def compute(hardware: int, tflops: int, memory: int, accelerators: int = 1) -> roles_pb2.Capability:
    return roles_pb2.Capability(
        compute=roles_pb2.ComputeCapability(
            hardware_class=hardware,  # type: ignore[arg-type]
            accelerators=accelerators,
            memory_gib=memory,
            benchmark_tflops=tflops,
        )
    )


def test_compute_score_follows_the_documented_formula() -> None:
    flagship = compute(roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP, 989, 141)
    # 1 + 0.4 + 0.3 × 10/14 + 0.3 × 8/14 (989 has 10 bits, 141 has 8)
    expected = (
        Dec(1) + Dec("0.4") + Dec("3").quo_truncate(Dec(14)) + Dec("2.4").quo_truncate(Dec(14))
    )
    assert capability_score(flagship) == expected
    cpu = compute(roles_pb2.HARDWARE_CLASS_CPU, 0, 1, accelerators=0)
    assert capability_score(cpu) == Dec(1) + Dec("0.3").quo_truncate(Dec(14))
    huge = compute(roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP, 10**12, 1 << 20, accelerators=4096)
    assert capability_score(huge) == Dec(2)  # capped


def test_ai_and_data_scores_are_capped() -> None:
    every = roles_pb2.Capability(
        ai=roles_pb2.AiCapability(
            runtimes=["dsm", "jax", "vllm", "pytorch", "tensorrt"], methods=[1, 2, 3, 4, 5, 6]
        )
    )
    assert capability_score(every) == Dec(2)
    assert capability_score(
        roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1))
    ) == Dec(1)
    petabyte = roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=(1 << 64) - 1))
    assert capability_score(petabyte) == Dec(2)


def test_selection_score_is_exact_integer_math() -> None:
    assert selection_score(3_000, Dec("1.5"), Dec("0.905")) == 4072  # 4072.5 truncated
    assert selection_score(10**30, Dec(2), Dec("1.5")) == 3 * 10**30


def test_split_loses_nothing_and_follows_the_weights() -> None:
    rng = random.Random(7)
    for _ in range(200):
        weights = [rng.randrange(0, 10**12) for _ in range(rng.randrange(1, 12))]
        pool = {"ucgpt": Dec.raw(rng.randrange(0, 10**30)), "uother": Dec(rng.randrange(1, 99))}
        parts, remainder = split(pool, weights)
        for denom, amount in pool.items():
            given = sum((p.get(denom, Dec(0)) for p in parts), Dec(0))
            assert given + remainder.get(denom, Dec(0)) == amount
            assert remainder.get(denom, Dec(0)) < Dec.raw(max(len(weights), 1))
            for part, weight in zip(parts, weights, strict=True):
                total = sum(weights)
                if total:
                    assert part.get(denom, Dec(0)).bigint() == amount.bigint() * weight // total
    parts, remainder = split({"ucgpt": Dec(5)}, [0, 0])
    assert parts == [{}, {}] and remainder == {"ucgpt": Dec(5)}
