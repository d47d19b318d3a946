"""The hardware-check workload: an integer matrix chain whose digest every machine computes
bit for bit, so a timed challenge can ask "prove you have the compute you declared".

``workload_digest(seed, size, rounds)``:

1. ``A`` and ``B`` (``size × size`` int8, row-major) are the first ``2·size²`` bytes of
   SHAKE-256 of ``DOMAIN ‖ seed ‖ size(4) ‖ rounds(4)`` (an extendable-output function: one
   call for any length, the same bytes everywhere), read as two's-complement int8.
2. ``rounds`` times: ``C = A @ B`` accumulated exactly in int32 (every entry is at most
   ``size · 128 · 128`` in magnitude, below 2^31 for ``size ≤ MAX_SIZE``), then requantised
   to int8 by an arithmetic right shift of ``SHIFT`` bits and wrap-around (keep the low 8 bits,
   two's complement); the result becomes the next ``A`` (``B`` stays).
3. The digest is ``sha256(DOMAIN ‖ size(4) ‖ rounds(4) ‖ final A bytes)``.

Only integer arithmetic with a defined result: an int8 GPU kernel with int32 accumulation
(cuBLASLt IMMA, ``torch._int_mm``), numpy on a CPU and any other exact implementation give the
same bits. The cost is ``workload_ops(size, rounds) = rounds · size³`` multiply-adds, so the
chain sizes the workload per tier (params) so that only a machine of the claimed class meets
the block deadline. The function is pure (no clock, no randomness but the seed); it runs off
chain on providers and compute validators, while the chain only compares digests.
"""

from __future__ import annotations

import hashlib

import numpy as np

from aivm.types.errors import register

CODESPACE = "verify"
ErrInvalidWorkload = register(CODESPACE, 70, "invalid hardware workload")

DOMAIN = b"aivm/hardware-check/v1\x00"
SHIFT = 8
"""Right shift of the int32 product before the int8 wrap."""
MAX_SIZE = 16_384
"""Largest matrix side (keeps the int32 accumulation exact: 16384 · 2^14 = 2^28)."""
MAX_ROUNDS = 256
DIGEST_BYTES = 32


def check_workload(size: int, rounds: int) -> None:
    """ErrInvalidWorkload unless ``1 ≤ size ≤ MAX_SIZE`` and ``1 ≤ rounds ≤ MAX_ROUNDS``."""
    for name, value, high in (("size", size, MAX_SIZE), ("rounds", rounds, MAX_ROUNDS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ErrInvalidWorkload.wrap(f"{name} must be an integer in 1..{high}")


def workload_ops(size: int, rounds: int) -> int:
    """Multiply-adds of the workload: ``rounds · size³``."""
    check_workload(size, rounds)
    return rounds * size**3


def _header(size: int, rounds: int) -> bytes:
    return size.to_bytes(4, "big") + rounds.to_bytes(4, "big")


def workload_inputs(seed: bytes, size: int, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """The int8 matrices ``A`` and ``B`` the seed generates (step 1 of the module docstring)."""
    check_workload(size, rounds)
    if not isinstance(seed, bytes):
        raise ErrInvalidWorkload.wrap("seed must be bytes")
    stream = hashlib.shake_256(DOMAIN + seed + _header(size, rounds)).digest(2 * size * size)
    both = np.frombuffer(stream, dtype=np.int8).reshape(2, size, size)
    return both[0].copy(), both[1].copy()


def requantize(product: np.ndarray) -> np.ndarray:
    """int32 → int8: arithmetic right shift by ``SHIFT``, then wrap (low 8 bits)."""
    shifted = np.right_shift(product.astype(np.int32, copy=False), SHIFT)
    return shifted.astype(np.uint8).view(np.int8)


def workload_matrix(seed: bytes, size: int, rounds: int) -> np.ndarray:
    """The final int8 matrix of the workload (steps 1–2)."""
    a, b = workload_inputs(seed, size, rounds)
    b32 = b.astype(np.int32)
    for _ in range(rounds):
        a = requantize(a.astype(np.int32) @ b32)
    return a


def digest_of_matrix(matrix: np.ndarray, size: int, rounds: int) -> bytes:
    """Step 3: the digest of a final matrix (for an implementation that computed it elsewhere,
    a GPU say); the matrix must be ``size × size`` int8."""
    check_workload(size, rounds)
    if matrix.shape != (size, size) or matrix.dtype != np.int8:
        raise ErrInvalidWorkload.wrap(f"final matrix must be {size}x{size} int8")
    body = np.ascontiguousarray(matrix).tobytes()
    return hashlib.sha256(DOMAIN + _header(size, rounds) + body).digest()


def workload_digest(seed: bytes, size: int, rounds: int) -> bytes:
    """The 32-byte answer to a hardware challenge of ``seed``, ``size`` and ``rounds``."""
    return digest_of_matrix(workload_matrix(seed, size, rounds), size, rounds)
