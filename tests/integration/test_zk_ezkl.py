"""EZKL zero-knowledge proofs of ONNX inference, end to end (issue 15, method 3).

One module-scoped fixture fits two tiny MLPs 4-8-2 (numpy ridge regression,
``tests/onnx_fixtures.py``), exports them to ONNX, sets both circuits up on one test SRS
(``ezkl.gen_srs``: test-only trust) and proves three runs: model A on the job input (whose
elements sit exactly half-way between fixed-point steps, so the chain's integer rounding must
match EZKL's), model A on another input, model B on the job input. Then honest proofs verify
and bind, and every tampering is refused with its coded error. Circuit setup, proving and the
full verification (pure checks + EZKL's pairing check) are :mod:`aivm.worker.zk_prover`; the
pure checks and the binding, which the chain runs, are :mod:`aivm.ai.verify.zk`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from aivm.ai.verify import zk
from aivm.types.errors import AivmError, ErrorCode
from aivm.worker import zk_prover
from onnx_fixtures import build_mnist_like_mlp, mnist_like_data

pytestmark = pytest.mark.slow

SIZES = (4, 8, 2)


@dataclass(frozen=True)
class Setup:
    """The fixture's circuits, inputs and proofs."""

    kit_a: zk_prover.ProverKit
    kit_b: zk_prover.ProverKit
    onnx_a: Path
    job_input: bytes
    """Canonical float32 bytes of the job's input (half-way values)."""
    job_vector: tuple[float, ...]
    other_input: bytes
    proof_a: bytes
    """Model A on the job input."""
    proof_a_other: bytes
    """Model A on the other input."""
    proof_b: bytes
    """Model B on the job input."""


def _half_way_input(scale: int) -> tuple[float, ...]:
    """Values v with v·2^scale = k + 1/2: rounding half away from zero gives 3, -3, 4097, 1
    (half-to-even would give 2, -2, 4096, 0)."""
    step = 2.0 ** -(scale + 1)
    return (5 * step, -5 * step, 8193 * step, 1 * step)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """Two circuits on one SRS and three proofs (about 20 s on the 2-core VM); the 138 MB
    proving keys are deleted afterwards."""
    root = tmp_path_factory.mktemp("zk")
    X, _ = mnist_like_data(0, 16, SIZES[0], SIZES[-1])
    kits = []
    for seed in (0, 1):
        path = root / f"mlp{seed}.onnx"
        onnx.save(build_mnist_like_mlp(seed, SIZES, softmax=False), path)
        srs = kits[0].srs_path if kits else None
        kits.append(
            zk_prover.setup_circuit(path, X.tolist(), root / f"circuit{seed}", srs_path=srs)
        )
    kit_a, kit_b = kits
    scale = zk.parse_settings(kit_a.artifacts.settings).input_scales[0]
    job_vector = _half_way_input(scale)
    other = tuple(float(v) for v in X[1])
    yield Setup(
        kit_a,
        kit_b,
        root / "mlp0.onnx",
        zk.encode_input(job_vector),
        job_vector,
        zk.encode_input(other),
        zk_prover.prove(kit_a, job_vector),
        zk_prover.prove(kit_a, other),
        zk_prover.prove(kit_b, job_vector),
    )
    for kit in kits:
        kit.proving_key.unlink(missing_ok=True)


def _verify(proof: bytes, kit: zk_prover.ProverKit, **overrides: bytes) -> zk.ZkVerdict:
    art = kit.artifacts
    args = {
        "settings": art.settings,
        "verifying_key": art.verifying_key,
        "srs": art.srs,
        "expected_srs_digest": art.srs_digest,
    } | overrides
    return zk_prover.verify_proof(
        proof,
        args["settings"],
        args["verifying_key"],
        args["srs"],
        expected_srs_digest=args["expected_srs_digest"],
    )


def _raises(error: ErrorCode) -> pytest.RaisesContext[AivmError]:
    return pytest.raises(AivmError, match=error.description)


def test_honest_proof_verifies_and_binds_the_job(setup: Setup) -> None:
    verdict = _verify(setup.proof_a, setup.kit_a)
    settings = zk.parse_settings(setup.kit_a.artifacts.settings)
    assert verdict.proof_digest == hashlib.sha256(setup.proof_a).digest()
    assert verdict.public_inputs == (3, -3, 4097, 1)  # half away from zero, as EZKL rounds
    assert verdict.public_inputs == zk.quantize_input(setup.job_input, settings)
    claimed = zk.public_output_digest(verdict)
    zk.check_binding(
        verdict, job_input=setup.job_input, settings=settings, claimed_output_digest=claimed
    )
    # The proven output is the model's inference: close to onnxruntime's float output.
    session = ort.InferenceSession(str(setup.onnx_a), providers=["CPUExecutionProvider"])
    x = np.asarray([setup.job_vector], np.float32)
    expected = session.run(None, {"x": x})[0][0]
    proven = np.asarray(verdict.public_outputs) / 2.0 ** verdict.output_scales[0]
    assert np.allclose(proven, expected, atol=0.02), (proven, expected)
    # The canonical comparison bytes hash to the claimed digest.
    data = zk.fixed_point_bytes(verdict.public_outputs)
    assert len(data) == 8 * SIZES[-1] and hashlib.sha256(data).digest() == claimed


def test_verification_is_repeatable(setup: Setup) -> None:
    assert _verify(setup.proof_a, setup.kit_a) == _verify(setup.proof_a, setup.kit_a)


def test_pure_checks_agree_and_the_pairing_is_what_refuses_a_forgery(setup: Setup) -> None:
    """The chain's check_proof states the same verdict as the off-chain verify_proof for an
    honest proof; a forged transcript passes every pure check and only the pairing (run by AI
    validators off-chain) refuses it."""
    art = setup.kit_a.artifacts
    args = (art.settings, art.verifying_key, art.srs)
    for proof in (setup.proof_a, setup.proof_a_other):
        pure = zk.check_proof(proof, *args, expected_srs_digest=art.srs_digest)
        assert pure == _verify(proof, setup.kit_a)
    decoded = zk.decode_proof(setup.proof_a)
    forged = _frame(list(decoded.instances), bytes(len(decoded.proof)))
    pure = zk.check_proof(forged, *args, expected_srs_digest=art.srs_digest)
    assert pure.public_inputs == (3, -3, 4097, 1)
    with _raises(zk.ErrZkProofRejected):
        _verify(forged, setup.kit_a)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_tampered_proof_byte_is_rejected(setup: Setup, where: str) -> None:
    decoded = zk.decode_proof(setup.proof_a)
    start = len(setup.proof_a) - len(decoded.proof)
    index = {"first": start + 5, "middle": start + len(decoded.proof) // 2, "last": -1}[where]
    tampered = bytearray(setup.proof_a)
    tampered[index] ^= 0x01
    with _raises(zk.ErrZkProofRejected):
        _verify(bytes(tampered), setup.kit_a)


def test_changed_public_output_is_rejected(setup: Setup) -> None:
    """The same proof re-framed with another output value: the proof no longer holds."""
    decoded = zk.decode_proof(setup.proof_a)
    instances = list(decoded.instances)
    value = zk.felt_to_int(instances[-1]) + 1
    instances[-1] = (value % zk.FIELD_MODULUS).to_bytes(32, "little")
    forged = _frame(instances, decoded.proof)
    with _raises(zk.ErrZkProofRejected):
        _verify(forged, setup.kit_a)


def _frame(instances: list[bytes], proof: bytes) -> bytes:
    head = zk.PROOF_MAGIC + struct.pack(">I", len(instances))
    return head + b"".join(instances) + struct.pack(">I", len(proof)) + proof


def test_proof_replayed_for_another_input_fails_the_binding(setup: Setup) -> None:
    verdict = _verify(setup.proof_a_other, setup.kit_a)  # a valid proof ...
    settings = zk.parse_settings(setup.kit_a.artifacts.settings)
    with _raises(zk.ErrZkInputMismatch):  # ... but about another input than the job's
        zk.check_binding(
            verdict,
            job_input=setup.job_input,
            settings=settings,
            claimed_output_digest=zk.public_output_digest(verdict),
        )
    zk.check_binding(  # it does bind the input it was made for
        verdict,
        job_input=setup.other_input,
        settings=settings,
        claimed_output_digest=zk.public_output_digest(verdict),
    )


def test_proof_of_another_model_is_rejected(setup: Setup) -> None:
    assert setup.kit_a.artifacts.srs_digest == setup.kit_b.artifacts.srs_digest
    assert setup.kit_a.artifacts.verifying_key != setup.kit_b.artifacts.verifying_key
    _verify(setup.proof_b, setup.kit_b)  # valid for its own circuit
    with _raises(zk.ErrZkProofRejected):
        _verify(setup.proof_b, setup.kit_a)
    with _raises(zk.ErrZkProofRejected):
        _verify(setup.proof_a, setup.kit_b)


def test_claimed_output_different_from_the_proof_fails(setup: Setup) -> None:
    verdict = _verify(setup.proof_a, setup.kit_a)
    settings = zk.parse_settings(setup.kit_a.artifacts.settings)
    wrong = [verdict.public_outputs[0] + 1, *verdict.public_outputs[1:]]
    with _raises(zk.ErrZkOutputMismatch):
        zk.check_binding(
            verdict,
            job_input=setup.job_input,
            settings=settings,
            claimed_output_digest=hashlib.sha256(zk.fixed_point_bytes(wrong)).digest(),
        )


def test_srs_checks(setup: Setup) -> None:
    art = setup.kit_a.artifacts
    full = setup.kit_a.srs_path.read_bytes()
    assert len(art.srs) == zk.VERIFIER_SRS_BYTES == 388
    assert zk.reduce_srs(full) == art.srs
    assert hashlib.sha256(full).digest() == setup.kit_a.full_srs_digest
    with _raises(zk.ErrZkSrsMismatch):  # the right SRS, the wrong pinned digest
        _verify(setup.proof_a, setup.kit_a, expected_srs_digest=bytes(32))
    with _raises(zk.ErrZkSrs):  # the full file is not the verifier form
        _verify(setup.proof_a, setup.kit_a, srs=full, expected_srs_digest=zk.srs_digest(full))
    other = _other_ceremony(setup.kit_a.srs_path.parent)
    assert other != art.srs
    with _raises(zk.ErrZkSrsMismatch):  # another SRS against the pinned digest
        _verify(setup.proof_a, setup.kit_a, srs=other)
    with _raises(zk.ErrZkProofRejected):  # another ceremony, even if pinned, does not verify
        _verify(setup.proof_a, setup.kit_a, srs=other, expected_srs_digest=zk.srs_digest(other))


def _other_ceremony(workdir: Path) -> bytes:
    path = workdir / "other.srs"
    zk_prover._ezkl().gen_srs(str(path), 1)
    return zk.reduce_srs(path.read_bytes())


def test_oversize_and_garbage_fail_with_coded_errors(setup: Setup) -> None:
    art = setup.kit_a.artifacts
    cases: list[tuple[ErrorCode, bytes, dict[str, bytes]]] = [
        (zk.ErrZkMalformedProof, b"\x00" * (zk.MAX_PROOF_BYTES + 1), {}),
        (zk.ErrZkMalformedProof, b"not a proof at all", {}),
        (zk.ErrZkMalformedProof, setup.proof_a[:-1], {}),
        (
            zk.ErrZkMalformedProof,
            _frame(
                list(zk.decode_proof(setup.proof_a).instances)[:-1],
                zk.decode_proof(setup.proof_a).proof,
            ),
            {},
        ),
        (zk.ErrZkVerifyingKey, setup.proof_a, {"verifying_key": b""}),
        (
            zk.ErrZkVerifyingKey,
            setup.proof_a,
            {"verifying_key": b"\x00" * (zk.MAX_VERIFYING_KEY_BYTES + 1)},
        ),
        (
            zk.ErrZkProofRejected,
            setup.proof_a,
            {"verifying_key": np.random.default_rng(1).bytes(len(art.verifying_key))},
        ),
        (zk.ErrZkProofRejected, setup.proof_a, {"verifying_key": art.verifying_key[:100]}),
        (zk.ErrZkSettings, setup.proof_a, {"settings": b"{garbage"}),
        (zk.ErrZkSettings, setup.proof_a, {"settings": b"\xff" * 10}),
        (zk.ErrZkSrs, setup.proof_a, {"srs": art.srs[:-1]}),
    ]
    for error, proof, overrides in cases:
        with _raises(error):
            _verify(proof, setup.kit_a, **overrides)
    random_transcript = _frame(
        list(zk.decode_proof(setup.proof_a).instances),
        np.random.default_rng(2).bytes(len(zk.decode_proof(setup.proof_a).proof)),
    )
    with _raises(zk.ErrZkProofRejected):
        _verify(random_transcript, setup.kit_a)
    settings = zk.parse_settings(art.settings)
    with _raises(zk.ErrZkInvalidInput):
        zk.job_input_digest(setup.job_input[:-4], settings)
    with _raises(zk.ErrZkInvalidInput):
        zk.job_input_digest(struct.pack("<4f", 0.1, float("nan"), 0.2, 0.3), settings)


def test_prover_errors_are_coded(setup: Setup, tmp_path: Path) -> None:
    with _raises(zk.ErrZkProver):
        zk_prover.prove(setup.kit_a, [0.1, 0.2])  # wrong input width
    with _raises(zk.ErrZkProver):
        bad = tmp_path / "bad.onnx"
        bad.write_bytes(b"not onnx")
        zk_prover.setup_circuit(bad, [[0.0] * 4], tmp_path / "w", srs_path=setup.kit_a.srs_path)


def test_artifacts_sizes_and_gas(setup: Setup) -> None:
    art = setup.kit_a.artifacts
    assert len(art.verifying_key) <= zk.MAX_VERIFYING_KEY_BYTES
    assert len(art.settings) <= zk.MAX_SETTINGS_BYTES
    assert len(setup.proof_a) <= 4 * 1024  # 6 public values + a ~3 KB transcript
    assert len(art.compiled_circuit_digest) == 32
    settings = zk.parse_settings(art.settings)
    assert settings.num_public_values == SIZES[0] + SIZES[-1]
    gas = zk.verify_gas(len(setup.proof_a), len(art.verifying_key), settings.num_public_values)
    assert gas > zk.VERIFY_GAS_BASE
