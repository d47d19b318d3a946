"""TOPLOC fingerprints of LLM hidden states, in numpy, byte-compatible with PyPI ``toploc``.

TOPLOC (Ong et al. 2025, arXiv:2501.16007; reference implementation ``toploc`` 0.1.6,
github.com/PrimeIntellect-ai/toploc) commits to a generation by its last hidden states. The
provider splits the generated positions into chunks of ``decode_batching_size`` tokens (32),
flattens each chunk, rounds it to bfloat16 and keeps the ``topk`` (128) entries of largest
magnitude. The flat indices (reduced modulo the largest ``m ≤ 65497`` that keeps them distinct)
and the bf16 bit patterns of the values are the points of a polynomial over GF(65497), found by
Newton interpolation; the proof of a chunk is ``m`` then the ``topk`` coefficients, each a
big-endian ``uint16``: 2 + 2·128 = 258 bytes per 32 tokens.

A validator recomputes the hidden states with one prefill over prompt + generated tokens, takes
its own top-k of each chunk, evaluates the provider's polynomial at those indices and compares
the bf16 fields: an exponent that differs counts as a mismatch; where the exponents agree the
absolute mantissa difference is an error. A chunk passes when (thresholds of the TOPLOC
experiments, ``toploc-experiments``: ``TEXP = 90`` exponent matches of 128, ``TMEAN = 10``,
``TMEDIAN = 8``) mismatches ≤ 38, the mean mantissa error ≤ 10 and the median ≤ 8.

Everything that decides is integer arithmetic: the bf16 rounding works on the float32 bit
patterns, the top-k ordering compares ``bits & 0x7FFF`` (the magnitude order of finite bf16
values), the field arithmetic is exact ``int64``, the mean test is ``sum ≤ 10 · count`` and the
median is the upper median (``sorted[n // 2]``, as the package's C++ ``verify_proofs``).
Ties in magnitude go to the lower flat index (the package leaves them to ``torch.topk``).

Extension (never used when ``d_model ≥ topk``): a chunk holding fewer than ``topk`` values
(the last chunk of a model narrower than 128) keeps all of them, and its proof has
``2 + 2·size`` bytes; the package cannot handle such a chunk at all.

Off-chain code: validators run it and commit a verdict, which is a pure function of the
hidden states and the proof bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from aivm.types.errors import register

CODESPACE = "verify"
ErrToplocProof = register(CODESPACE, 50, "malformed TOPLOC proof")
ErrToplocEvidence = register(CODESPACE, 51, "malformed TOPLOC evidence blob")
ErrToplocHidden = register(CODESPACE, 52, "invalid hidden states for TOPLOC")
ErrToplocProofCount = register(CODESPACE, 53, "TOPLOC proof count does not match the tokens")
ErrToplocParams = register(CODESPACE, 54, "invalid TOPLOC parameters")
ErrToplocModulus = register(CODESPACE, 55, "no injective TOPLOC modulus")
ErrToplocGeneration = register(CODESPACE, 56, "invalid generation for TOPLOC")

MOD_N = 65497
"""The prime field of the polynomial (``ndd.cpp``: ``MOD_N``)."""
TOPK = 128
DECODE_BATCHING_SIZE = 32
PROOF_BYTES = 2 + 2 * TOPK
"""258: bytes of one chunk's proof."""
EVIDENCE_MAGIC = b"TPLC"
EVIDENCE_VERSION = 1
_HEADER = struct.Struct(">4sBHHI")  # magic, version, decode_batching_size, topk, n_proofs

_BF16_EXP_MASK = 0x7F80
_BF16_MANT_MASK = 0x007F
_BF16_MAG_MASK = 0x7FFF

U16Array = npt.NDArray[np.uint16]
I64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Thresholds:
    """Acceptance limits of one chunk (the TOPLOC experiments' defaults, for top-128).

    ``max_exp_mismatches`` is for ``per_topk`` points and scales (rounding down) for a chunk
    that keeps fewer; the mantissa limits are in bf16 mantissa units (1/128 of the value's
    binade). The mean limit is an exact rational (the test is ``sum ≤ limit · count``).
    """

    max_exp_mismatches: int = 38
    max_mant_err_mean: Fraction | int = Fraction(10)
    max_mant_err_median: int = 8
    per_topk: int = TOPK

    def __post_init__(self) -> None:
        limits = (self.max_exp_mismatches, self.max_mant_err_mean, self.max_mant_err_median)
        if min(limits) < 0 or self.per_topk < 1:
            raise ErrToplocParams.wrap(f"thresholds {self}")

    def exp_limit(self, k: int) -> int:
        """Exponent mismatches allowed for a chunk of ``k`` compared points."""
        return self.max_exp_mismatches * k // self.per_topk


DEFAULT_THRESHOLDS = Thresholds()
"""The published limits: absorb bf16 GPU kernels' nondeterminism on large models."""
REPLICA_FP32_THRESHOLDS = Thresholds(
    max_exp_mismatches=2, max_mant_err_mean=Fraction(1, 32), max_mant_err_median=0
)
"""Tighter limits for jobs whose provider must compute in float32 like the validator (the
marketplace's onnxruntime models): honest float32 replicas (onnxruntime step-wise or prefill,
XLA) differ by ~1e-6, far below bf16 resolution, and score 0 / 0 / 0 on the example LM; a
provider computing in bfloat16 scored a mean of 0.14–0.24 and was rejected. Calibrated on
the tiny example LM only (``benchmarks/toploc.py`` prints the accept rates); not the
published setting."""


@dataclass(frozen=True)
class ChunkResult:
    """The comparison of one chunk: what the package's ``VerificationResult`` reports, kept as
    integers (``mant_err_sum`` over ``mant_count`` exponent matches)."""

    k: int
    exp_mismatches: int
    mant_err_sum: int
    mant_count: int
    mant_err_median: int | None
    """Upper median of the mantissa errors; ``None`` when no exponent matched."""

    @property
    def mant_err_mean(self) -> float:
        """Mean mantissa error (for reports; 2**64 when no exponent matched, as the package)."""
        return self.mant_err_sum / self.mant_count if self.mant_count else float(2**64)

    def failure(self, thresholds: Thresholds) -> str:
        """Why this chunk fails ``thresholds``, or ``""`` when it passes (integer tests)."""
        if self.mant_count == 0 or self.mant_err_median is None:
            return "no exponent matches"
        if self.exp_mismatches > thresholds.exp_limit(self.k):
            return f"exp_mismatches {self.exp_mismatches} > {thresholds.exp_limit(self.k)}"
        if self.mant_err_sum > thresholds.max_mant_err_mean * self.mant_count:
            limit = float(thresholds.max_mant_err_mean)
            return f"mant_err_mean {self.mant_err_mean:.4f} > {limit:.4f}"
        if self.mant_err_median > thresholds.max_mant_err_median:
            return f"mant_err_median {self.mant_err_median} > {thresholds.max_mant_err_median}"
        return ""


@dataclass(frozen=True)
class ToplocResult:
    """The verdict over all chunks: ``accepted`` only when every chunk passes; ``reason``
    names the first failing chunk (empty when accepted)."""

    chunks: tuple[ChunkResult, ...]
    accepted: bool
    reason: str

    @property
    def exp_mismatches(self) -> tuple[int, ...]:
        """Exponent mismatches per chunk."""
        return tuple(c.exp_mismatches for c in self.chunks)

    @property
    def max_exp_mismatches(self) -> int:
        """The worst chunk's exponent mismatches."""
        return max((c.exp_mismatches for c in self.chunks), default=0)


@dataclass(frozen=True)
class ProofPoly:
    """One chunk's proof: the index modulus and the polynomial's coefficients (ascending)."""

    modulus: int
    coeffs: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """``modulus`` then each coefficient, big-endian ``uint16`` (``ProofPoly::to_bytes``)."""
        return np.asarray((self.modulus, *self.coeffs), dtype=">u2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ProofPoly:
        """Parse and check one proof: even length ≥ 4, modulus in [1, 65497], coefficients
        below 65497 (the package accepts more, then crashes or divides by zero on them)."""
        if not isinstance(data, bytes | bytearray) or len(data) < 4 or len(data) % 2:
            raise ErrToplocProof.wrap(f"proof of {len(data)} bytes")
        words = np.frombuffer(bytes(data), dtype=">u2").astype(np.int64)
        modulus = int(words[0])
        if not 1 <= modulus <= MOD_N:
            raise ErrToplocProof.wrap(f"modulus {modulus} outside [1, {MOD_N}]")
        if int(words[1:].max()) >= MOD_N:
            raise ErrToplocProof.wrap(f"coefficient not below {MOD_N}")
        return cls(modulus, tuple(int(c) for c in words[1:]))

    def evaluate(self, x: npt.ArrayLike) -> I64Array:
        """The polynomial at the field points ``x`` (Horner, as ``evaluate_polynomial``)."""
        return _horner(np.asarray(self.coeffs, np.int64), np.asarray(x, np.int64) % MOD_N)


@dataclass(frozen=True)
class ToplocEvidence:
    """All chunks' proofs of one generation plus the parameters that cut the chunks."""

    proofs: tuple[bytes, ...]
    decode_batching_size: int = DECODE_BATCHING_SIZE
    topk: int = TOPK


def float32_to_bf16_bits(values: npt.ArrayLike) -> U16Array:
    """bfloat16 bit patterns of float32 ``values``, rounded to nearest even (as torch's
    ``.to(torch.bfloat16)``; NaN becomes 0x7FC0, where torch's vectorised path gives 0xFFFF:
    hidden states with NaN are refused before this matters)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    out[nan] = 0x7FC0
    return out


def bf16_bits_to_float32(bits: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The float32 values of bfloat16 bit patterns (exact)."""
    wide = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return wide.view(np.float32)


def _check_params(decode_batching_size: int, topk: int) -> None:
    if not 1 <= decode_batching_size <= 0xFFFF or not 1 <= topk <= 0xFFFF:
        raise ErrToplocParams.wrap(f"decode_batching_size {decode_batching_size}, topk {topk}")


def _hidden_bits(hidden: npt.ArrayLike) -> U16Array:
    """Check ``hidden`` (n_tokens, d_model), finite floats, and round it to bf16 bits."""
    arr = np.asarray(hidden)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ErrToplocHidden.wrap(f"shape {arr.shape}, want (n_tokens > 0, d_model > 0)")
    if arr.dtype.kind != "f":
        raise ErrToplocHidden.wrap(f"dtype {arr.dtype}, want a float type")
    arr32 = arr.astype(np.float32)
    if not np.isfinite(arr32).all():
        raise ErrToplocHidden.wrap("non-finite hidden state")
    return float32_to_bf16_bits(arr32)


def _chunks(bits: U16Array, decode_batching_size: int) -> list[U16Array]:
    """The flattened chunks of ``decode_batching_size`` rows (the last may be shorter)."""
    n = bits.shape[0]
    return [
        bits[i : i + decode_batching_size].reshape(-1) for i in range(0, n, decode_batching_size)
    ]


def topk_indices(chunk_bits: U16Array, topk: int) -> I64Array:
    """Flat indices of the ``min(topk, size)`` largest magnitudes, largest first, lower index
    first on ties (integer comparison of ``bits & 0x7FFF``)."""
    magnitude = (chunk_bits & _BF16_MAG_MASK).astype(np.int32)
    k = min(topk, magnitude.size)
    candidates = np.arange(magnitude.size)
    if k < magnitude.size:
        kth = np.partition(magnitude, magnitude.size - k)[magnitude.size - k]
        candidates = np.flatnonzero(magnitude >= kth)  # ascending index
    order = candidates[np.argsort(-magnitude[candidates], kind="stable")]
    return order[:k].astype(np.int64)


def find_injective_modulus(x: I64Array) -> int:
    """The largest ``m ≤ 65497`` under which the indices ``x`` stay distinct (as
    ``ProofPoly::from_points``)."""
    if x.size == 0 or int(x.max()) < MOD_N:
        return MOD_N
    for m in range(MOD_N, 0, -1):
        if np.unique(x % m).size == x.size:
            return m
    raise ErrToplocModulus.wrap(f"{x.size} indices")  # pragma: no cover - x is distinct


@lru_cache(maxsize=1)
def _inverse_table() -> I64Array:
    """``a⁻¹ mod 65497`` for every residue (0 maps to 0), by vectorised ``a^(p-2)``."""
    base = np.arange(MOD_N, dtype=np.int64)
    result = np.ones(MOD_N, dtype=np.int64)
    exponent = MOD_N - 2
    while exponent:
        if exponent & 1:
            result = result * base % MOD_N
        base = base * base % MOD_N
        exponent >>= 1
    result[0] = 0
    return result


def interpolate(x: I64Array, y: I64Array) -> I64Array:
    """Coefficients (ascending, along the last axis) of the polynomials over GF(65497)
    through the points ``(x, y)``, for any leading batch shape; the ``x`` of one polynomial
    are distinct field elements. Newton divided differences, then the nested Newton form
    expanded to monomials (the polynomial is unique, so this equals ``ndd.cpp``'s)."""
    inv = _inverse_table()
    n = x.shape[-1]
    dd = y % MOD_N
    for k in range(1, n):
        num = (dd[..., k:] - dd[..., k - 1 : -1]) % MOD_N
        dd[..., k:] = num * inv[(x[..., k:] - x[..., :-k]) % MOD_N] % MOD_N
    poly = np.zeros((*x.shape[:-1], n), dtype=np.int64)
    poly[..., 0] = dd[..., n - 1]
    minus_x = (-x) % MOD_N
    for i in range(n - 2, -1, -1):
        deg = n - 1 - i  # degree after multiplying by (X - x_i)
        new = poly[..., : deg + 1] * minus_x[..., i : i + 1]
        new[..., 1:] += poly[..., :deg]
        new[..., 0] += dd[..., i]
        poly[..., : deg + 1] = new % MOD_N
    return poly


def _horner(coeffs: I64Array, x: I64Array) -> I64Array:
    """Evaluate ascending ``coeffs`` at every ``x`` modulo 65497."""
    result = np.full(x.shape, coeffs[-1], dtype=np.int64)
    for c in coeffs[-2::-1]:
        result = (result * x + c) % MOD_N
    return result


def _chunk_points(chunk_bits: U16Array, topk: int) -> tuple[int, I64Array, I64Array]:
    """The modulus and the interpolation points ``(index mod m, bf16 bits)`` of a chunk."""
    idx = topk_indices(chunk_bits, topk)
    modulus = find_injective_modulus(idx)
    return modulus, idx % modulus, chunk_bits[idx].astype(np.int64)


def build_chunk_proof(chunk_bits: U16Array, topk: int = TOPK) -> ProofPoly:
    """The proof of one flattened bf16 chunk."""
    modulus, x, y = _chunk_points(chunk_bits, topk)
    return ProofPoly(modulus, tuple(int(c) for c in interpolate(x, y)))


def build_proofs(
    hidden: npt.ArrayLike,
    *,
    decode_batching_size: int = DECODE_BATCHING_SIZE,
    topk: int = TOPK,
) -> list[bytes]:
    """Proof bytes per chunk of ``decode_batching_size`` rows of ``hidden`` (n_tokens,
    d_model) float32; equal to ``toploc.build_proofs_bytes(torch.from_numpy(hidden)
    .to(torch.bfloat16), decode_batching_size, topk, skip_prefill=True)`` (up to ties at the
    top-k boundary, see the module notes). Chunks of equal size are interpolated together."""
    _check_params(decode_batching_size, topk)
    bits = _hidden_bits(hidden)
    points = [_chunk_points(c, topk) for c in _chunks(bits, decode_batching_size)]
    proofs: list[bytes] = []
    start = 0
    while start < len(points):  # runs of equal k (only the last chunk can be narrower)
        k = points[start][1].size
        end = start
        while end < len(points) and points[end][1].size == k:
            end += 1
        run = points[start:end]
        coeffs = interpolate(np.stack([p[1] for p in run]), np.stack([p[2] for p in run]))
        for (modulus, _, _), row in zip(run, coeffs, strict=True):
            proofs.append(ProofPoly(modulus, tuple(int(c) for c in row)).to_bytes())
        start = end
    return proofs


def compare_chunk(chunk_bits: U16Array, proof: ProofPoly, topk: int = TOPK) -> ChunkResult:
    """Compare one recomputed bf16 chunk with a proof (as the package's ``verify_proofs``)."""
    idx = topk_indices(chunk_bits, topk)
    if len(proof.coeffs) != idx.size:
        raise ErrToplocProof.wrap(f"{len(proof.coeffs)} coefficients for a top-{idx.size} chunk")
    claimed = _horner(np.asarray(proof.coeffs, np.int64), idx % proof.modulus)
    ours = chunk_bits[idx].astype(np.int64)
    mismatch = (claimed & _BF16_EXP_MASK) != (ours & _BF16_EXP_MASK)
    errs = np.abs((claimed & _BF16_MANT_MASK) - (ours & _BF16_MANT_MASK))[~mismatch]
    median = int(np.sort(errs)[errs.size // 2]) if errs.size else None
    return ChunkResult(idx.size, int(mismatch.sum()), int(errs.sum()), int(errs.size), median)


def verify_proofs(
    hidden: npt.ArrayLike,
    proofs: Sequence[bytes],
    *,
    decode_batching_size: int = DECODE_BATCHING_SIZE,
    topk: int = TOPK,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> ToplocResult:
    """Check ``proofs`` against recomputed ``hidden`` (n_tokens, d_model) float32.

    Raises coded errors for malformed input (bad shape, non-finite values, unparsable proofs,
    a proof count other than one per chunk); otherwise returns the verdict."""
    _check_params(decode_batching_size, topk)
    bits = _hidden_bits(hidden)
    chunks = _chunks(bits, decode_batching_size)
    if len(proofs) != len(chunks):
        raise ErrToplocProofCount.wrap(f"{len(proofs)} proofs for {len(chunks)} chunks")
    parsed = [ProofPoly.from_bytes(p) for p in proofs]
    results = tuple(compare_chunk(c, p, topk) for c, p in zip(chunks, parsed, strict=True))
    for i, result in enumerate(results):
        why = result.failure(thresholds)
        if why:
            return ToplocResult(results, False, f"chunk {i}: {why}")
    return ToplocResult(results, True, "")


def proofs_to_bytes(
    proofs: Sequence[bytes],
    *,
    decode_batching_size: int = DECODE_BATCHING_SIZE,
    topk: int = TOPK,
) -> bytes:
    """One evidence blob: ``b"TPLC"``, version 1, decode_batching_size (u16), topk (u16),
    proof count (u32), then each proof as a u16 byte length and its bytes (big-endian)."""
    _check_params(decode_batching_size, topk)
    parts = [
        _HEADER.pack(EVIDENCE_MAGIC, EVIDENCE_VERSION, decode_batching_size, topk, len(proofs))
    ]
    for proof in proofs:
        ProofPoly.from_bytes(proof)
        parts.append(struct.pack(">H", len(proof)) + bytes(proof))
    return b"".join(parts)


def proofs_from_bytes(blob: bytes) -> ToplocEvidence:
    """Parse a blob written by :func:`proofs_to_bytes`; every proof is checked, trailing
    bytes are refused."""
    if not isinstance(blob, bytes | bytearray) or len(blob) < _HEADER.size:
        raise ErrToplocEvidence.wrap("blob shorter than its header")
    magic, version, dbs, topk, count = _HEADER.unpack_from(blob, 0)
    if magic != EVIDENCE_MAGIC or version != EVIDENCE_VERSION:
        raise ErrToplocEvidence.wrap(f"magic {magic!r} version {version}")
    if dbs == 0 or topk == 0:
        raise ErrToplocEvidence.wrap(f"decode_batching_size {dbs}, topk {topk}")
    pos, proofs = _HEADER.size, []
    for i in range(count):
        if pos + 2 > len(blob):
            raise ErrToplocEvidence.wrap(f"proof {i} of {count}: truncated length")
        (size,) = struct.unpack_from(">H", blob, pos)
        if pos + 2 + size > len(blob):
            raise ErrToplocEvidence.wrap(f"proof {i} of {count}: truncated body")
        proof = bytes(blob[pos + 2 : pos + 2 + size])
        ProofPoly.from_bytes(proof)
        proofs.append(proof)
        pos += 2 + size
    if pos != len(blob):
        raise ErrToplocEvidence.wrap(f"{len(blob) - pos} trailing bytes")
    return ToplocEvidence(tuple(proofs), dbs, topk)
