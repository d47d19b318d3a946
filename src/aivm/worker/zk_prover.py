"""EZKL zero-knowledge proofs, the off-chain half: circuit setup, proving and the pairing check.

This is what an AI validator (or any node, off-chain) runs to verify a proof:
:func:`verify_proof` is :func:`aivm.ai.verify.zk.check_proof` (the pure checks) followed by
EZKL's pairing check on the bytes, written to a private temporary directory because EZKL only
verifies from files. The chain runs the pure checks (``check_proof``, ``check_binding``)
itself and learns the pairing result from the AI-validator committee, never from a file it
wrote: file I/O is not state-machine code (a failed disk write on one validator would give
it another transaction result than the others).

A model owner runs :func:`setup_circuit` once per model (it returns the
:class:`~aivm.ai.verify.zk.CircuitArtifacts` to register and the provider's files), a
provider :func:`prove` per job. Everything here uses files and, on the prover side, floats.
``ezkl`` is imported on first use; :func:`check_ezkl_version` checks it is the pinned release.
Errors are the coded ``verify`` errors of :mod:`aivm.ai.verify.zk` (ErrZkProofRejected from
the pairing check, ErrZkProver from setup and proving).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aivm.ai.verify.zk import (
    EZKL_VERSION,
    MAX_LOGROWS,
    CircuitArtifacts,
    DecodedProof,
    ErrZkProofRejected,
    ErrZkProver,
    ZkVerdict,
    check_proof,
    decode_proof,
    encode_proof,
    parse_settings,
    reduce_srs,
    srs_digest,
)

# -- verification (off-chain) -----------------------------------------------------------------


def verify_proof(
    proof: bytes,
    settings: bytes,
    verifying_key: bytes,
    srs: bytes,
    *,
    expected_srs_digest: bytes,
) -> ZkVerdict:
    """Verify a canonical EZKL proof against a registered circuit; the decoded verdict.

    :func:`~aivm.ai.verify.zk.check_proof` first (its coded errors: ErrZkSettings,
    ErrZkVerifyingKey, ErrZkSrs, ErrZkSrsMismatch, ErrZkMalformedProof), then ``ezkl.verify``
    on the given bytes in a private temporary directory, deleted afterwards: anything EZKL
    refuses (a key that does not load included) is ErrZkProofRejected. The outcome depends
    only on the bytes and the pinned EZKL version; a failure to write the temporary files
    is an OSError, not a verdict.
    """
    verdict = check_proof(
        proof, settings, verifying_key, srs, expected_srs_digest=expected_srs_digest
    )
    _run_ezkl_verify(decode_proof(proof), settings, verifying_key, srs)
    return verdict


def _proof_json(decoded: DecodedProof) -> str:
    """The minimal EZKL proof JSON of a decoded canonical proof (what ``ezkl.verify`` reads)."""
    return json.dumps(
        {
            "instances": [[value.hex() for value in decoded.instances]],
            "proof": list(decoded.proof),
            "protocol": None,
        }
    )


def _run_ezkl_verify(decoded: DecodedProof, settings: bytes, vk: bytes, srs: bytes) -> None:
    """ezkl.verify on the given bytes in a private temporary directory; every failure,
    whatever EZKL raises (a Rust panic included), is ErrZkProofRejected."""
    ezkl = _ezkl()
    with tempfile.TemporaryDirectory(prefix="aivm-zk-") as tmp:
        root = Path(tmp)
        (root / "proof.json").write_text(_proof_json(decoded))
        (root / "settings.json").write_bytes(settings)
        (root / "vk.key").write_bytes(vk)
        (root / "kzg.srs").write_bytes(srs)
        try:
            ok = ezkl.verify(
                str(root / "proof.json"),
                str(root / "settings.json"),
                str(root / "vk.key"),
                str(root / "kzg.srs"),
                False,
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pyo3 panics derive from BaseException
            raise ErrZkProofRejected.wrap(_first_line(exc)) from None
    if ok is not True:
        raise ErrZkProofRejected.wrap("ezkl.verify returned false")


def check_ezkl_version() -> None:
    """Raise RuntimeError unless the installed ezkl is :data:`~aivm.ai.verify.zk.EZKL_VERSION`
    (call at node start: verifiers running another release could disagree on a proof)."""
    installed = getattr(_ezkl(), "__version__", "unknown")
    if installed != EZKL_VERSION:
        raise RuntimeError(f"ezkl {installed} is installed; the chain verifies with {EZKL_VERSION}")


def _ezkl() -> Any:
    """The ezkl module, imported on first use (its stubs are incomplete, so typed Any)."""
    return importlib.import_module("ezkl")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# -- prover side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProverKit:
    """A provider's files for one circuit, and the artifacts registered on-chain."""

    artifacts: CircuitArtifacts
    compiled_circuit: Path
    proving_key: Path
    srs_path: Path
    """The full SRS the keys were made with."""
    full_srs_digest: bytes
    """sha256 of the full SRS file (provenance of :attr:`CircuitArtifacts.srs`)."""


def _symbolic_dims(onnx_path: Path) -> list[tuple[str, int]]:
    """Every named (symbolic) input dimension of the model, fixed to 1 (one row per proof)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    names = {
        dim.dim_param
        for value in model.graph.input
        for dim in value.type.tensor_type.shape.dim
        if dim.dim_param
    }
    return [(name, 1) for name in sorted(names)] or [("batch_size", 1)]


def setup_circuit(
    onnx_path: Path,
    calibration_inputs: Sequence[Sequence[float]],
    workdir: Path,
    *,
    target: str = "resources",
    srs_path: Path | None = None,
    max_logrows: int = MAX_LOGROWS,
) -> ProverKit:
    """Build the circuit of an ONNX model (one input row per proof) and its keys.

    Settings get public inputs and outputs and fixed parameters, are calibrated on
    ``calibration_inputs`` (rows of the flattened model input) for ``target``
    (``resources`` or ``accuracy``), the circuit is compiled and the keys are set up with
    ``srs_path`` (a raw SRS file of at least the calibrated logrows) or, when None, a new SRS
    from ``ezkl.gen_srs`` — whose secret is not destroyed: test-only trust. Files go to
    ``workdir``. Raise ErrZkProver on any EZKL failure.
    """
    ezkl = _ezkl()

    workdir.mkdir(parents=True, exist_ok=True)
    settings_path, compiled = workdir / "settings.json", workdir / "circuit.ezkl"
    vk_path, pk_path = workdir / "vk.key", workdir / "pk.key"
    calibration = workdir / "calibration.json"
    rows = [float(v) for row in calibration_inputs for v in _as_float32(row)]
    calibration.write_text(json.dumps({"input_data": [rows]}))
    try:
        run_args = ezkl.PyRunArgs()
        run_args.input_visibility = "public"
        run_args.output_visibility = "public"
        run_args.param_visibility = "fixed"
        run_args.variables = _symbolic_dims(onnx_path)
        _ok(ezkl.gen_settings(str(onnx_path), str(settings_path), py_run_args=run_args))
        _ok(
            ezkl.calibrate_settings(
                str(calibration),
                str(onnx_path),
                str(settings_path),
                target,
                max_logrows=max_logrows,
            )
        )
        _ok(ezkl.compile_circuit(str(onnx_path), str(compiled), str(settings_path)))
        if srs_path is None:
            srs_path = workdir / "kzg.srs"
            logrows = json.loads(settings_path.read_text())["run_args"]["logrows"]
            ezkl.gen_srs(str(srs_path), logrows)
        _ok(ezkl.setup(str(compiled), str(vk_path), str(pk_path), str(srs_path)))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        raise ErrZkProver.wrap(_first_line(exc)) from None
    full_srs = srs_path.read_bytes()
    verifier_srs = reduce_srs(full_srs)
    artifacts = CircuitArtifacts(
        settings=settings_path.read_bytes(),
        verifying_key=vk_path.read_bytes(),
        srs=verifier_srs,
        srs_digest=srs_digest(verifier_srs),
        compiled_circuit_digest=hashlib.sha256(compiled.read_bytes()).digest(),
    )
    parse_settings(artifacts.settings)
    return ProverKit(artifacts, compiled, pk_path, srs_path, hashlib.sha256(full_srs).digest())


def _ok(result: object) -> None:
    if result is False:
        raise RuntimeError("ezkl reported failure")


def _as_float32(values: Sequence[float]) -> tuple[float, ...]:
    """The values rounded to float32 (exact as Python floats)."""
    return struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values))


def prove(kit: ProverKit, input_vector: Sequence[float]) -> bytes:
    """Prove one inference of the kit's circuit on ``input_vector`` (the flattened model
    input, rounded to float32 as in the job input); the canonical proof bytes.

    Writes the witness and proof under a fresh directory in the kit's work directory.
    Raise ErrZkProver if EZKL fails (e.g. an input outside the calibrated range).
    """
    ezkl = _ezkl()

    run_dir = Path(tempfile.mkdtemp(prefix="prove-", dir=kit.compiled_circuit.parent))
    data, witness, proof_path = (
        run_dir / "input.json",
        run_dir / "witness.json",
        run_dir / "proof.json",
    )
    data.write_text(json.dumps({"input_data": [list(_as_float32(input_vector))]}))
    try:
        ezkl.gen_witness(str(data), str(kit.compiled_circuit), str(witness))
        _ok(
            ezkl.prove(
                str(witness),
                str(kit.compiled_circuit),
                str(kit.proving_key),
                str(proof_path),
                str(kit.srs_path),
            )
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        raise ErrZkProver.wrap(_first_line(exc)) from None
    return encode_proof(proof_path.read_bytes())
