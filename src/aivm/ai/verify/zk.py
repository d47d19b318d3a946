"""Zero-knowledge proofs of ONNX inference with EZKL (Halo2 / KZG on BN254), issue 15 method 3:
the pure, deterministic half that state-machine code runs.

A model owner registers, with an off-chain model version, the EZKL *circuit settings* (JSON),
the *verifying key* and the *verifier SRS* (pinned by its sha256). A provider runs the model,
proves the run with EZKL and attaches the proof to its result. Verification has three parts:

1. :func:`check_proof` — every check that needs no EZKL call: the settings, the key's size,
   the SRS's form and pinned digest, the proof's framing, its number of public values and
   their range; it returns the :class:`ZkVerdict` the proof states. Pure: the chain runs it.
2. the *pairing check* — whether the proof holds for the verifying key. EZKL only verifies
   from files, and file I/O has no place in state-machine code (a failed disk write on one
   validator would give it another transaction result than the others), so this runs
   off-chain in :func:`aivm.worker.zk_prover.verify_proof` (``check_proof`` + ``ezkl.verify``
   in a private temporary directory), on AI validators; the chain learns its outcome from
   the AI-validator committee. :func:`verify_gas` prices the whole verification.
3. :func:`check_binding` — the proof's public *input* is the job's input
   (:func:`job_input_digest` == :func:`public_input_digest`) and its public *output* is the
   output the provider claims (:func:`public_output_digest` == the claimed digest). Pure: the
   chain runs it.

**Circuits.** Settings must make the model input and output *public* instances and the
weights *fixed* (``param_visibility = Fixed``): the weights are then constants of the circuit,
so the verifying key commits to the model, and a proof made with another model's circuit
fails against this model's key. Public values are field elements of BN254's scalar field; a
value ``x > p/2`` stands for ``x − p``. EZKL quantizes an input ``v`` with scale ``s`` to the
integer ``round(v · 2^s)`` (half away from zero) and states outputs the same way, at the
scales named in the settings (``model_input_scales``, ``model_output_scales``).

**Canonical bytes.** A job's input is its float32 elements, little-endian, the model's
inputs concatenated in order (:func:`encode_input`). The chain quantizes them exactly
(integer arithmetic, :func:`quantize_input`) the way EZKL does, so the proof's public input
can be compared to the job without trusting the prover. Public inputs and outputs are
compared as their *fixed-point integers*, each written as a little-endian int64, in instance
order; the digest is the plain sha256 of those bytes (so ``sha256(comparison_data) ==
output_digest`` holds when the provider ships the int64 bytes as its comparison data).
A real output ``y`` is ``q / 2^s`` for the output integer ``q`` (not needed on-chain).

**Proof bytes.** The chain stores and hashes a compact canonical form, not EZKL's proof JSON
(which holds a timestamp, a hex copy of the proof and decorative "pretty" values that the
verifier ignores)::

    b"AZK\\x01" | u32be n | n × 32-byte instances (little-endian, each < p) | u32be m | m bytes

:func:`encode_proof` turns EZKL's JSON into it (prover side); the off-chain verifier
(:mod:`aivm.worker.zk_prover`) rebuilds the minimal JSON EZKL reads. The proof digest is the
sha256 of the canonical bytes.

**Reduced SRS.** Measured with ezkl 23.0.5: the KZG verifier reads only the first G1 point
and the two G2 points of the SRS (the Lagrange points are not used: a file with them zeroed
verifies, and one with the wrong ``s·G2`` or ``G1`` does not). :func:`reduce_srs` cuts any
EZKL/Halo2 raw SRS file (``u32le k | 2^k G1 | 2^k G1 Lagrange | G2 | s·G2``) to its ``k = 0``
form of :data:`VERIFIER_SRS_BYTES` (388) bytes, which verifies proofs made with the full file
(logrows 15 here); the chain stores only that. An SRS whose secret is known lets anyone forge
proofs: production pins a public ceremony file (by its hash, from which anyone re-derives the
reduced form), never one from ``gen_srs`` (test-only trust).

Everything that calls EZKL or touches files — circuit setup, proving, the pairing check, the
EZKL version check — is in :mod:`aivm.worker.zk_prover`. Nothing here reads a file, a clock
or the environment.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aivm.types.errors import register

CODESPACE = "verify"
ErrZkSettings = register(CODESPACE, 40, "invalid zk circuit settings")
ErrZkVerifyingKey = register(CODESPACE, 41, "invalid zk verifying key")
ErrZkSrs = register(CODESPACE, 42, "invalid zk SRS")
ErrZkSrsMismatch = register(CODESPACE, 43, "zk SRS digest does not match the pinned digest")
ErrZkMalformedProof = register(CODESPACE, 44, "malformed zk proof")
ErrZkProofRejected = register(CODESPACE, 45, "zk proof rejected by the verifier")
ErrZkInputMismatch = register(CODESPACE, 46, "zk proof input does not match the job input")
ErrZkOutputMismatch = register(CODESPACE, 47, "zk proof output does not match the claimed output")
ErrZkInvalidInput = register(CODESPACE, 48, "invalid zk job input")
ErrZkProver = register(CODESPACE, 49, "zk circuit setup or proving failed")

EZKL_VERSION = "23.0.5"
"""The EZKL release every validator runs; settings from another release are refused."""
FIELD_MODULUS = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001
"""BN254's scalar field order p: public values are integers mod p."""
MAX_PROOF_BYTES = 64 * 1024
MAX_VERIFYING_KEY_BYTES = 1024 * 1024
MAX_SETTINGS_BYTES = 64 * 1024
MAX_LOGROWS = 17
MAX_PUBLIC_VALUES = 1_792
"""Instances (inputs + outputs) a circuit may expose: 56 KiB of the 64 KiB proof limit."""
MAX_SCALE = 30
DIGEST_BYTES = 32
PROOF_MAGIC = b"AZK\x01"
FELT_BYTES = 32
G1_BYTES = 64
G2_BYTES = 128
VERIFIER_SRS_BYTES = 4 + 2 * G1_BYTES + 2 * G2_BYTES
"""The reduced (k = 0) SRS: header, G1, its Lagrange copy, G2, s·G2."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Gas (ADR 0010: one gas unit ≈ 2.6-2.9 ns on the development VM), from the figures
# benchmarks/zk_ezkl.py measures there (ezkl 23.0.5, logrows 15, a 66.8 KB verifying key, the
# same 3,072-byte transcript for both models): one full verification (check_proof, then the
# pairing check of aivm.worker.zk_prover.verify_proof: framing, temporary files,
# verifying-key load, pairing check) takes ≈ 22 ms of one core's CPU time
# (RAYON_NUM_THREADS=1) for the 4-8-2 MLP (6 public values) and ≈ 26.8 ms for 784-56-10 (794
# public values), i.e. ≈ 6 µs per public value; the 2-core wall time is ≈ 18-23 ms unloaded.
# Priced on the one-core CPU time, so a validator's core count does not matter.
VERIFY_GAS_BASE = 8_500_000
"""One verification: file set-up, verifying-key deserialization, the pairing check."""
VERIFY_GAS_PER_PUBLIC_VALUE = 2_500
"""Each public input or output value (decoding, JSON, transcript absorption, commitment)."""
VERIFY_GAS_PER_KILO_BYTE = 400
"""Each 1,000 bytes of proof and verifying key hashed and written to temporary files (the
verifying key's share of the load is in the base: every key measured here is 66.8 KB)."""


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CircuitSettings:
    """The parts of EZKL circuit settings the chain relies on (see :func:`parse_settings`)."""

    logrows: int
    """log2 of the circuit's rows."""
    input_shapes: tuple[tuple[int, ...], ...]
    """Shape of each model input (public instances, in order)."""
    output_shapes: tuple[tuple[int, ...], ...]
    """Shape of each model output (public instances, after the inputs)."""
    input_scales: tuple[int, ...]
    """Fixed-point scale (power of two) of each input."""
    output_scales: tuple[int, ...]
    """Fixed-point scale (power of two) of each output."""

    @property
    def input_sizes(self) -> tuple[int, ...]:
        """Number of elements of each input."""
        return tuple(math.prod(shape) for shape in self.input_shapes)

    @property
    def output_sizes(self) -> tuple[int, ...]:
        """Number of elements of each output."""
        return tuple(math.prod(shape) for shape in self.output_shapes)

    @property
    def num_public_values(self) -> int:
        """Instances a proof carries: every input and output element."""
        return sum(self.input_sizes) + sum(self.output_sizes)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key in JSON object")
    return dict(pairs)


def _loads_strict(data: bytes) -> Any:
    """JSON with duplicate keys refused (EZKL's serde and Python must read the same thing)."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)


def _int_field(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = obj.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ErrZkSettings.wrap(f"{key} must be an integer in [{low}, {high}]")
    return value


def _shapes(value: Any) -> tuple[tuple[int, ...], ...]:
    if not isinstance(value, list) or not value:
        raise ErrZkSettings.wrap("model_instance_shapes must be a non-empty list")
    shapes = []
    for shape in value:
        if (
            not isinstance(shape, list)
            or not shape
            or any(type(dim) is not int or not 1 <= dim <= MAX_PUBLIC_VALUES for dim in shape)
        ):
            raise ErrZkSettings.wrap("each instance shape must list positive dimensions")
        shapes.append(tuple(shape))
    return tuple(shapes)


def _scales(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ErrZkSettings.wrap(f"{name} must be a non-empty list")
    if any(type(scale) is not int or not 0 <= scale <= MAX_SCALE for scale in value):
        raise ErrZkSettings.wrap(f"{name} must hold integers in [0, {MAX_SCALE}]")
    return tuple(value)


def parse_settings(settings: bytes) -> CircuitSettings:
    """Validate EZKL settings JSON for on-chain use; raise ErrZkSettings if unusable.

    Required: at most :data:`MAX_SETTINGS_BYTES`, UTF-8 JSON without duplicate keys, version
    :data:`EZKL_VERSION`, ``logrows`` ≤ :data:`MAX_LOGROWS`, public inputs and outputs, fixed
    parameters, one instance shape per input and output scale, at most
    :data:`MAX_PUBLIC_VALUES` public values in all.
    """
    if len(settings) > MAX_SETTINGS_BYTES:
        raise ErrZkSettings.wrap(f"{len(settings)} bytes exceed {MAX_SETTINGS_BYTES}")
    try:
        doc = _loads_strict(settings)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ErrZkSettings.wrap(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("run_args"), dict):
        raise ErrZkSettings.wrap("settings must be an object with run_args")
    if doc.get("version") != EZKL_VERSION:
        raise ErrZkSettings.wrap(f"settings must come from ezkl {EZKL_VERSION}")
    run_args = doc["run_args"]
    logrows = _int_field(run_args, "logrows", 1, MAX_LOGROWS)
    for key, wanted in (
        ("input_visibility", "Public"),
        ("output_visibility", "Public"),
        ("param_visibility", "Fixed"),
    ):
        if run_args.get(key) != wanted:
            raise ErrZkSettings.wrap(f"run_args.{key} must be {wanted!r}")
    inputs = _scales(doc.get("model_input_scales"), "model_input_scales")
    outputs = _scales(doc.get("model_output_scales"), "model_output_scales")
    shapes = _shapes(doc.get("model_instance_shapes"))
    if len(shapes) != len(inputs) + len(outputs):
        raise ErrZkSettings.wrap("instance shapes do not match the input and output scales")
    parsed = CircuitSettings(logrows, shapes[: len(inputs)], shapes[len(inputs) :], inputs, outputs)
    if parsed.num_public_values > MAX_PUBLIC_VALUES:
        raise ErrZkSettings.wrap(
            f"{parsed.num_public_values} public values exceed {MAX_PUBLIC_VALUES}"
        )
    return parsed


# -- SRS --------------------------------------------------------------------------------------


def reduce_srs(srs: bytes) -> bytes:
    """The :data:`VERIFIER_SRS_BYTES`-byte verifier SRS of a raw EZKL/Halo2 KZG SRS file.

    Keeps the first G1 point (as the point and as its own k = 0 Lagrange basis) and the two
    G2 points. A pure function of the bytes, so anyone can re-derive the pinned verifier SRS
    from a public ceremony file; raise ErrZkSrs if ``srs`` is not that file format.
    """
    if len(srs) < 4:
        raise ErrZkSrs.wrap("too short for an SRS header")
    (k,) = struct.unpack_from("<I", srs)
    if k > 28:
        raise ErrZkSrs.wrap(f"SRS logrows {k} out of range")
    n = 1 << k
    if len(srs) != 4 + 2 * n * G1_BYTES + 2 * G2_BYTES:
        raise ErrZkSrs.wrap(f"{len(srs)} bytes is not a raw SRS of logrows {k}")
    g0 = srs[4 : 4 + G1_BYTES]
    g2s = srs[4 + 2 * n * G1_BYTES :]
    return struct.pack("<I", 0) + g0 + g0 + g2s


def srs_digest(srs: bytes) -> bytes:
    """sha256 of the verifier SRS bytes (what a model version pins)."""
    return hashlib.sha256(srs).digest()


def _check_srs(srs: bytes, expected_digest: bytes) -> None:
    if len(srs) != VERIFIER_SRS_BYTES or srs[:4] != bytes(4):
        raise ErrZkSrs.wrap(f"the verifier SRS must be the {VERIFIER_SRS_BYTES}-byte k=0 form")
    if len(expected_digest) != DIGEST_BYTES or srs_digest(srs) != expected_digest:
        raise ErrZkSrsMismatch.wrap("sha256 of the SRS differs from the pinned digest")


# -- proofs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedProof:
    """A canonical proof split into its parts."""

    instances: tuple[bytes, ...]
    """The public values, 32-byte little-endian field elements."""
    proof: bytes
    """The Halo2 proof transcript bytes."""


def encode_proof(proof_json: bytes) -> bytes:
    """The canonical proof bytes (module docstring) of an EZKL proof JSON file.

    Prover side; raise ErrZkMalformedProof if the JSON is not an EZKL proof with one
    instance column of 32-byte field elements.
    """
    try:
        doc = json.loads(proof_json)
        columns = doc["instances"]
        if not isinstance(columns, list) or len(columns) != 1:
            raise ValueError("expected one instance column")
        instances = [bytes.fromhex(value) for value in columns[0]]
        proof = bytes(doc["proof"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ErrZkMalformedProof.wrap(f"not an EZKL proof: {str(exc)[:120]}") from None
    if any(len(value) != FELT_BYTES for value in instances):
        raise ErrZkMalformedProof.wrap("instances must be 32-byte field elements")
    header = PROOF_MAGIC + struct.pack(">I", len(instances))
    return b"".join([header, *instances, struct.pack(">I", len(proof)), proof])


def decode_proof(proof: bytes) -> DecodedProof:
    """Split canonical proof bytes; raise ErrZkMalformedProof unless well formed
    (magic, lengths that add up exactly, every instance a canonical field element)."""
    if len(proof) > MAX_PROOF_BYTES:
        raise ErrZkMalformedProof.wrap(f"{len(proof)} bytes exceed {MAX_PROOF_BYTES}")
    if len(proof) < 12 or proof[:4] != PROOF_MAGIC:
        raise ErrZkMalformedProof.wrap("missing the canonical proof header")
    (count,) = struct.unpack_from(">I", proof, 4)
    end = 8 + count * FELT_BYTES
    if count > MAX_PUBLIC_VALUES or len(proof) < end + 4:
        raise ErrZkMalformedProof.wrap(f"{count} instances do not fit the proof bytes")
    (length,) = struct.unpack_from(">I", proof, end)
    if length == 0 or len(proof) != end + 4 + length:
        raise ErrZkMalformedProof.wrap("proof length does not match the bytes")
    instances = tuple(proof[8 + i * FELT_BYTES : 8 + (i + 1) * FELT_BYTES] for i in range(count))
    if any(int.from_bytes(value, "little") >= FIELD_MODULUS for value in instances):
        raise ErrZkMalformedProof.wrap("an instance is not a canonical field element")
    return DecodedProof(instances, proof[end + 4 :])


def felt_to_int(value: bytes) -> int:
    """The signed integer a 32-byte little-endian field element stands for (x > p/2 is x − p)."""
    x = int.from_bytes(value, "little")
    return x - FIELD_MODULUS if x > FIELD_MODULUS // 2 else x


@dataclass(frozen=True)
class ZkVerdict:
    """What a verified proof states."""

    proof_digest: bytes
    """sha256 of the canonical proof bytes."""
    public_inputs: tuple[int, ...]
    """The inputs as fixed-point integers (each input's elements at its scale), in order."""
    public_outputs: tuple[int, ...]
    """The outputs as fixed-point integers (each output's elements at its scale), in order."""
    input_scales: tuple[int, ...]
    """Scale of each input (settings ``model_input_scales``)."""
    output_scales: tuple[int, ...]
    """Scale of each output (settings ``model_output_scales``)."""


def verify_gas(proof_len: int, verifying_key_len: int, num_public_values: int) -> int:
    """Gas for verifying one proof: :func:`check_proof` and the pairing check of
    :func:`aivm.worker.zk_prover.verify_proof`, measured together (charge it before calling)."""
    kilo_bytes = (proof_len + verifying_key_len + 999) // 1000
    return (
        VERIFY_GAS_BASE
        + VERIFY_GAS_PER_PUBLIC_VALUE * num_public_values
        + VERIFY_GAS_PER_KILO_BYTE * kilo_bytes
    )


def check_proof(
    proof: bytes,
    settings: bytes,
    verifying_key: bytes,
    srs: bytes,
    *,
    expected_srs_digest: bytes,
) -> ZkVerdict:
    """Every check of a proof against a registered circuit short of the pairing check; the
    verdict the proof states if that check passes.

    Pure and deterministic (no file, no EZKL call): the settings parse, the verifying key
    has an allowed size, the SRS is the reduced form and hashes to the pinned digest, the
    proof is well framed, carries the circuit's number of public values, each within int64.
    Whether the proof *holds* (the pairing check) is decided by
    :func:`aivm.worker.zk_prover.verify_proof`, off-chain. Errors (codespace ``verify``):
    ErrZkSettings, ErrZkVerifyingKey (empty or over :data:`MAX_VERIFYING_KEY_BYTES`),
    ErrZkSrs (not the reduced form), ErrZkSrsMismatch, ErrZkMalformedProof (framing,
    instance count, values outside int64).
    """
    parsed = parse_settings(settings)
    if not verifying_key or len(verifying_key) > MAX_VERIFYING_KEY_BYTES:
        raise ErrZkVerifyingKey.wrap(
            f"{len(verifying_key)} bytes: must be 1..{MAX_VERIFYING_KEY_BYTES}"
        )
    _check_srs(srs, expected_srs_digest)
    decoded = decode_proof(proof)
    if len(decoded.instances) != parsed.num_public_values:
        raise ErrZkMalformedProof.wrap(
            f"{len(decoded.instances)} public values, the circuit has {parsed.num_public_values}"
        )
    values = tuple(felt_to_int(value) for value in decoded.instances)
    if any(not INT64_MIN <= value <= INT64_MAX for value in values):
        raise ErrZkMalformedProof.wrap("a public value is outside the int64 range")
    split = sum(parsed.input_sizes)
    return ZkVerdict(
        hashlib.sha256(proof).digest(),
        values[:split],
        values[split:],
        parsed.input_scales,
        parsed.output_scales,
    )


# -- binding to the job -----------------------------------------------------------------------


def fixed_point_bytes(values: Sequence[int]) -> bytes:
    """The canonical bytes of fixed-point integers: little-endian int64 each, in order."""
    try:
        return struct.pack(f"<{len(values)}q", *values)
    except struct.error:
        raise ErrZkInvalidInput.wrap("a fixed-point value is outside the int64 range") from None


def public_input_digest(verdict: ZkVerdict) -> bytes:
    """sha256 of the proof's public inputs as :func:`fixed_point_bytes`."""
    return hashlib.sha256(fixed_point_bytes(verdict.public_inputs)).digest()


def public_output_digest(verdict: ZkVerdict) -> bytes:
    """sha256 of the proof's public outputs as :func:`fixed_point_bytes` — the output digest
    a provider claims for a zk-verified result."""
    return hashlib.sha256(fixed_point_bytes(verdict.public_outputs)).digest()


def _float32_quantized(word: int, scale: int) -> int:
    """round(v · 2^scale), half away from zero, of the finite float32 with bits ``word``,
    exactly in integers (v = ±M · 2^(E−150), M < 2^24)."""
    exponent = (word >> 23) & 0xFF
    if exponent == 0xFF:
        raise ErrZkInvalidInput.wrap("input holds a NaN or an infinity")
    mantissa = word & 0x7FFFFF
    magnitude = mantissa if exponent == 0 else mantissa | 0x800000
    shift = max(exponent, 1) - 150 + scale  # v · 2^scale = magnitude · 2^shift
    rounded = magnitude << shift if shift >= 0 else _round_shift(magnitude, -shift)
    if rounded > INT64_MAX:
        raise ErrZkInvalidInput.wrap("an input element does not fit int64 at the input scale")
    return -rounded if word >> 31 else rounded


def _round_shift(magnitude: int, bits: int) -> int:
    """round(magnitude / 2^bits), half away from zero: (2·m + 2^bits) >> (bits + 1)."""
    return ((magnitude << 1) + (1 << bits)) >> (bits + 1)


def quantize_input(job_input: bytes, settings: CircuitSettings) -> tuple[int, ...]:
    """The fixed-point integers EZKL derives from a job input (float32 little-endian, inputs
    concatenated), each input at its scale; raise ErrZkInvalidInput if the length is not
    the circuit's input size or an element is not finite."""
    sizes = settings.input_sizes
    if len(job_input) != 4 * sum(sizes):
        raise ErrZkInvalidInput.wrap(
            f"{len(job_input)} bytes: the circuit takes {sum(sizes)} float32 elements"
        )
    words = struct.unpack(f"<{sum(sizes)}I", job_input)
    out: list[int] = []
    start = 0
    for size, scale in zip(sizes, settings.input_scales, strict=True):
        out.extend(_float32_quantized(word, scale) for word in words[start : start + size])
        start += size
    return tuple(out)


def job_input_digest(job_input: bytes, settings: CircuitSettings) -> bytes:
    """sha256 of :func:`fixed_point_bytes` of :func:`quantize_input` — what the proof's
    :func:`public_input_digest` must equal for the proof to be about this job."""
    return hashlib.sha256(fixed_point_bytes(quantize_input(job_input, settings))).digest()


def check_binding(
    verdict: ZkVerdict,
    *,
    job_input: bytes,
    settings: CircuitSettings,
    claimed_output_digest: bytes,
) -> None:
    """Refuse a verified proof that is not about this job's input (ErrZkInputMismatch) or
    whose output is not the claimed one (ErrZkOutputMismatch)."""
    if public_input_digest(verdict) != job_input_digest(job_input, settings):
        raise ErrZkInputMismatch.wrap("the proof's public input is not the job's input")
    if public_output_digest(verdict) != claimed_output_digest:
        raise ErrZkOutputMismatch.wrap("the proof's public output differs from the claim")


def encode_input(values: Sequence[float]) -> bytes:
    """A job input as canonical bytes: float32 little-endian elements (prover/client side;
    values are rounded to float32 here, as the chain sees them)."""
    return struct.pack(f"<{len(values)}f", *values)


# -- registered artifacts ---------------------------------------------------------------------


@dataclass(frozen=True)
class CircuitArtifacts:
    """What a model owner registers with a model version for zk verification (made by
    :func:`aivm.worker.zk_prover.setup_circuit`)."""

    settings: bytes
    """EZKL settings JSON (:func:`parse_settings` accepts it)."""
    verifying_key: bytes
    """EZKL verifying key."""
    srs: bytes
    """The reduced verifier SRS (:func:`reduce_srs`)."""
    srs_digest: bytes
    """sha256 of :attr:`srs`."""
    compiled_circuit_digest: bytes
    """sha256 of the compiled circuit file (so providers can check they prove this circuit)."""
