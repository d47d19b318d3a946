"""The hardware-check workload (aivm.ai.verify.hardware): exact integer arithmetic, the same
digest every run, a different digest for any change of seed, size or rounds, the requantise
rule, and coded errors for out-of-range workloads."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from aivm.ai.verify import hardware
from aivm.ai.verify.hardware import (
    ErrInvalidWorkload,
    digest_of_matrix,
    requantize,
    workload_digest,
    workload_inputs,
    workload_matrix,
    workload_ops,
)
from aivm.types.errors import AivmError


def reference_matrix(seed: bytes, size: int, rounds: int) -> list[list[int]]:
    """The workload in pure Python integers (no numpy): the specification."""
    a_np, b_np = workload_inputs(seed, size, rounds)
    a = a_np.tolist()
    b = b_np.tolist()
    for _ in range(rounds):
        product = [
            [sum(a[i][k] * b[k][j] for k in range(size)) for j in range(size)] for i in range(size)
        ]
        a = [[((v >> hardware.SHIFT) + 128) % 256 - 128 for v in row] for row in product]
    return a


def test_the_digest_is_deterministic_and_32_bytes() -> None:
    first = workload_digest(b"seed", 24, 3)
    assert first == workload_digest(b"seed", 24, 3)
    assert len(first) == 32


@pytest.mark.parametrize(
    "args", [(b"seed2", 24, 3), (b"seed", 25, 3), (b"seed", 24, 4), (b"", 24, 3)]
)
def test_any_change_of_seed_size_or_rounds_changes_the_digest(args: tuple[bytes, int, int]) -> None:
    assert workload_digest(*args) != workload_digest(b"seed", 24, 3)


def test_numpy_matches_the_pure_integer_specification() -> None:
    seed = hashlib.sha256(b"spec").digest()
    expected = np.array(reference_matrix(seed, 12, 3), dtype=np.int8)
    assert np.array_equal(workload_matrix(seed, 12, 3), expected)
    assert workload_digest(seed, 12, 3) == digest_of_matrix(expected, 12, 3)


def test_the_int32_accumulation_is_exact_at_the_extremes() -> None:
    """All -128 operands give the largest products; int32 accumulation stays exact."""
    size = 512
    a = np.full((size, size), -128, dtype=np.int32)
    product = a @ a
    assert int(product[0, 0]) == size * 128 * 128
    assert int(requantize(product)[0, 0]) == ((size * 128 * 128 >> 8) + 128) % 256 - 128


def test_requantize_shifts_arithmetically_then_wraps() -> None:
    values = np.array([0, 255, 256, -1, -256, -257, 300 * 256, -300 * 256], dtype=np.int32)
    assert requantize(values).tolist() == [0, 0, 1, -1, -1, -2, 44, -44]


def test_a_tampered_final_matrix_changes_the_digest() -> None:
    matrix = workload_matrix(b"x", 16, 2)
    honest = digest_of_matrix(matrix, 16, 2)
    matrix[3, 5] ^= 1
    assert digest_of_matrix(matrix, 16, 2) != honest


def test_the_workload_does_not_collapse_to_a_constant() -> None:
    matrix = workload_matrix(b"x", 128, 8)
    assert len(np.unique(matrix)) > 200


def test_ops_count_is_rounds_times_size_cubed() -> None:
    assert workload_ops(4096, 8) == 8 * 4096**3


@pytest.mark.parametrize(
    "size,rounds", [(0, 1), (1, 0), (hardware.MAX_SIZE + 1, 1), (2, 257), (True, 1)]
)
def test_out_of_range_workloads_raise_a_coded_error(size: int, rounds: int) -> None:
    with pytest.raises(AivmError) as caught:
        workload_digest(b"s", size, rounds)
    assert (caught.value.codespace, caught.value.code) == (
        ErrInvalidWorkload.codespace,
        ErrInvalidWorkload.code,
    )


def test_a_wrongly_shaped_matrix_is_refused() -> None:
    with pytest.raises(AivmError):
        digest_of_matrix(np.zeros((4, 4), dtype=np.int16), 4, 1)
