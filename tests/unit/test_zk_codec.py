"""The pure (no EZKL call) parts of aivm.ai.verify.zk: settings validation, proof framing,
field-element decoding, exact input quantization, SRS reduction, gas, and ``check_proof`` (every
check short of the pairing, which aivm.worker.zk_prover runs off-chain)."""

from __future__ import annotations

import ast
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aivm.ai.verify import zk
from aivm.types.errors import AivmError, ErrorCode
from aivm.worker import zk_prover


def _settings(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "run_args": {
            "logrows": 15,
            "input_visibility": "Public",
            "output_visibility": "Public",
            "param_visibility": "Fixed",
        },
        "model_instance_shapes": [[1, 4], [1, 2]],
        "model_input_scales": [13],
        "model_output_scales": [13],
        "version": zk.EZKL_VERSION,
    }
    for key, value in changes.items():
        if key in doc["run_args"]:
            doc["run_args"][key] = value
        else:
            doc[key] = value
    return doc


def _raises(error: ErrorCode) -> pytest.RaisesContext[AivmError]:
    return pytest.raises(AivmError, match=error.description)


def test_parse_settings_accepts_a_public_fixed_circuit() -> None:
    parsed = zk.parse_settings(json.dumps(_settings()).encode())
    assert parsed.logrows == 15
    assert parsed.input_shapes == ((1, 4),) and parsed.output_shapes == ((1, 2),)
    assert parsed.input_sizes == (4,) and parsed.num_public_values == 6


@pytest.mark.parametrize(
    "changes",
    [
        {"input_visibility": "Private"},
        {"input_visibility": "Hashed"},
        {"output_visibility": "Private"},
        {"param_visibility": "Public"},
        {"logrows": zk.MAX_LOGROWS + 1},
        {"logrows": True},
        {"logrows": "15"},
        {"version": "22.0.0"},
        {"model_instance_shapes": [[1, 4]]},
        {"model_instance_shapes": [[1, 4], [1, 0]]},
        {"model_instance_shapes": [[1, 1000], [1, 1000]]},
        {"model_input_scales": [-1]},
        {"model_output_scales": []},
    ],
)
def test_parse_settings_refuses(changes: dict[str, Any]) -> None:
    with _raises(zk.ErrZkSettings):
        zk.parse_settings(json.dumps(_settings(**changes)).encode())


def test_parse_settings_refuses_garbage_and_duplicates() -> None:
    for data in (b"", b"[]", b"\xff\xfe", b"{", b"x" * (zk.MAX_SETTINGS_BYTES + 1)):
        with _raises(zk.ErrZkSettings):
            zk.parse_settings(data)
    text = json.dumps(_settings())
    duplicated = text[:-1] + ', "model_instance_shapes": [[1, 1], [1, 2]]}'
    with _raises(zk.ErrZkSettings):
        zk.parse_settings(duplicated.encode())


def _frame(instances: list[bytes], proof: bytes) -> bytes:
    head = zk.PROOF_MAGIC + struct.pack(">I", len(instances))
    return head + b"".join(instances) + struct.pack(">I", len(proof)) + proof


def test_encode_and_decode_proof_round_trip() -> None:
    felts = [(5).to_bytes(32, "little"), (zk.FIELD_MODULUS - 3).to_bytes(32, "little")]
    doc = {
        "instances": [[f.hex() for f in felts]],
        "proof": [1, 2, 3],
        "hex_proof": "0x010203",
        "timestamp": 123,
    }
    canonical = zk.encode_proof(json.dumps(doc).encode())
    assert canonical == _frame(felts, b"\x01\x02\x03")
    decoded = zk.decode_proof(canonical)
    assert decoded.instances == tuple(felts) and decoded.proof == b"\x01\x02\x03"
    assert [zk.felt_to_int(f) for f in decoded.instances] == [5, -3]
    doc["timestamp"] = 456  # cosmetic fields do not change the canonical bytes
    assert zk.encode_proof(json.dumps(doc).encode()) == canonical


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"AZK\x02" + bytes(8),
        _frame([bytes(32)], b""),
        _frame([bytes(32)], b"ab")[:-1],
        _frame([bytes(32)], b"ab") + b"\x00",
        _frame([zk.FIELD_MODULUS.to_bytes(32, "little")], b"ab"),
        zk.PROOF_MAGIC + struct.pack(">I", 2**32 - 1) + bytes(8),
        _frame([bytes(32)], b"a" * zk.MAX_PROOF_BYTES),
    ],
)
def test_decode_proof_refuses_malformed(data: bytes) -> None:
    with _raises(zk.ErrZkMalformedProof):
        zk.decode_proof(data)


def test_encode_proof_refuses_non_ezkl_json() -> None:
    for doc in (b"{}", b"[1]", b'{"instances": [["zz"]], "proof": []}', b"\xff"):
        with _raises(zk.ErrZkMalformedProof):
            zk.encode_proof(doc)
    two_columns = json.dumps({"instances": [["00" * 32], ["00" * 32]], "proof": [1]})
    with _raises(zk.ErrZkMalformedProof):
        zk.encode_proof(two_columns.encode())


def _reference_quantize(values: np.ndarray, scale: int) -> list[int]:
    """EZKL's rule in float64 (exact for float32 inputs): round half away from zero."""
    scaled = values.astype(np.float64) * 2.0**scale
    return [int(v) for v in np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)]


@pytest.mark.parametrize("scale", [0, 1, 7, 13, 20])
def test_quantize_input_matches_half_away_from_zero(scale: int) -> None:
    rng = np.random.default_rng(scale)
    values = np.concatenate(
        [
            rng.normal(0, 3, 200).astype(np.float32),
            (rng.integers(-1000, 1000, 50) + 0.5).astype(np.float32) / np.float32(2.0**scale),
            np.array([0.0, -0.0, 1e-45, -1e-45, 1e-38, 65504.0, -0.5, 0.5, 2.5], np.float32),
        ]
    )
    settings = zk.CircuitSettings(15, ((len(values),),), ((1,),), (scale,), (scale,))
    got = zk.quantize_input(values.astype("<f4").tobytes(), settings)
    assert list(got) == _reference_quantize(values, scale)
    expected = hashlib.sha256(struct.pack(f"<{len(got)}q", *got)).digest()
    assert zk.job_input_digest(values.astype("<f4").tobytes(), settings) == expected


def test_quantize_input_uses_each_inputs_scale_and_refuses_bad_input() -> None:
    settings = zk.CircuitSettings(15, ((2,), (1,)), ((1,),), (1, 4), (0,))
    assert zk.quantize_input(zk.encode_input([1.25, -1.25, 1.25]), settings) == (3, -3, 20)
    for data in (
        zk.encode_input([1.0, 2.0]),
        zk.encode_input([1.0, 2.0, 3.0]) + b"\x00",
        zk.encode_input([1.0, float("inf"), 3.0]),
        zk.encode_input([1.0, 2.0, float("nan")]),
        zk.encode_input([1.0, 2.0, 3e38]),  # 3e38 · 2^4 does not fit int64
    ):
        with _raises(zk.ErrZkInvalidInput):
            zk.quantize_input(data, settings)


def test_reduce_srs_keeps_g1_and_the_g2_points() -> None:
    k = 3
    g = [bytes([i]) * 64 for i in range(1, 9)]
    lagrange = [bytes([100 + i]) * 64 for i in range(8)]
    g2, s_g2 = b"\xaa" * 128, b"\xbb" * 128
    full = struct.pack("<I", k) + b"".join(g) + b"".join(lagrange) + g2 + s_g2
    reduced = zk.reduce_srs(full)
    assert reduced == bytes(4) + g[0] + g[0] + g2 + s_g2
    assert len(reduced) == zk.VERIFIER_SRS_BYTES
    assert zk.reduce_srs(reduced) == reduced
    for bad in (b"", full[:-1], full + b"\x00", struct.pack("<I", 40) + full[4:]):
        with _raises(zk.ErrZkSrs):
            zk.reduce_srs(bad)


def test_verify_gas_grows_with_the_work() -> None:
    base = zk.verify_gas(3_300, 66_823, 6)
    assert base >= zk.VERIFY_GAS_BASE
    assert zk.verify_gas(28_500, 66_823, 794) > base
    assert zk.verify_gas(3_300, 200_000, 6) > base


def test_fixed_point_bytes_are_int64_little_endian() -> None:
    assert zk.fixed_point_bytes([1, -1]) == b"\x01" + bytes(7) + b"\xff" * 8
    with _raises(zk.ErrZkInvalidInput):
        zk.fixed_point_bytes([2**63])


def test_installed_ezkl_is_the_pinned_release() -> None:
    zk_prover.check_ezkl_version()


# -- check_proof: the chain's pure checks -------------------------------------------------------

SETTINGS = json.dumps(_settings()).encode()  # 4 inputs at scale 13, 2 outputs at scale 13
SRS = bytes(4) + b"\x01" * 64 * 2 + b"\x02" * 128 * 2
VK = b"\x07" * 100  # check_proof only bounds the key's size; EZKL loads it off-chain


def _felt(value: int) -> bytes:
    return (value % zk.FIELD_MODULUS).to_bytes(32, "little")


def _proof(values: list[int], transcript: bytes = b"\x05" * 64) -> bytes:
    return _frame([_felt(v) for v in values], transcript)


def _check(proof: bytes, **overrides: bytes) -> zk.ZkVerdict:
    args = {
        "settings": SETTINGS,
        "verifying_key": VK,
        "srs": SRS,
        "expected_srs_digest": zk.srs_digest(SRS),
    } | overrides
    return zk.check_proof(
        proof,
        args["settings"],
        args["verifying_key"],
        args["srs"],
        expected_srs_digest=args["expected_srs_digest"],
    )


def test_check_proof_returns_the_stated_verdict() -> None:
    proof = _proof([3, -3, 4097, 1, -8192, 2**62])
    verdict = _check(proof)
    assert verdict.proof_digest == hashlib.sha256(proof).digest()
    assert verdict.public_inputs == (3, -3, 4097, 1)
    assert verdict.public_outputs == (-8192, 2**62)
    assert verdict.input_scales == (13,) and verdict.output_scales == (13,)
    assert _check(proof) == verdict  # deterministic


def test_check_proof_verdict_binds_the_job_input() -> None:
    settings = zk.parse_settings(SETTINGS)
    job_input = zk.encode_input([1.0, -0.5, 2.0**-14, 0.25])  # 8192, -4096, 1 (half up), 2048
    verdict = _check(_proof([*zk.quantize_input(job_input, settings), 7, -7]))
    assert verdict.public_inputs == (8192, -4096, 1, 2048)
    claimed = hashlib.sha256(zk.fixed_point_bytes([7, -7])).digest()
    zk.check_binding(verdict, job_input=job_input, settings=settings, claimed_output_digest=claimed)
    other_input = zk.encode_input([1.0, -0.5, 0.0, 0.25])
    with _raises(zk.ErrZkInputMismatch):
        zk.check_binding(
            verdict, job_input=other_input, settings=settings, claimed_output_digest=claimed
        )
    with _raises(zk.ErrZkOutputMismatch):
        zk.check_binding(
            verdict, job_input=job_input, settings=settings, claimed_output_digest=bytes(32)
        )


def test_check_proof_refuses_a_wrong_srs_digest() -> None:
    good = _proof([0] * 6)
    _check(good)
    other = SRS[:-1] + b"\x03"
    with _raises(zk.ErrZkSrsMismatch):  # the pinned SRS, another digest
        _check(good, expected_srs_digest=zk.srs_digest(other))
    with _raises(zk.ErrZkSrsMismatch):  # another SRS against the pinned digest
        _check(good, srs=other)
    with _raises(zk.ErrZkSrsMismatch):  # a digest of the wrong length
        _check(good, expected_srs_digest=zk.srs_digest(SRS)[:31])
    full = struct.pack("<I", 1) + b"\x01" * 64 * 4 + b"\x02" * 256
    for bad in (SRS[:-1], SRS + b"\x00", full, b"\x01" + SRS[1:]):
        with _raises(zk.ErrZkSrs):  # not the 388-byte k = 0 form, even if pinned
            _check(good, srs=bad, expected_srs_digest=zk.srs_digest(bad))


@pytest.mark.parametrize(
    "proof",
    [
        b"",
        b"not a proof at all",
        _proof([0] * 6)[:-1],
        _proof([0] * 6) + b"\x00",
        _proof([0] * 6, b""),
        b"AZK\x02" + _proof([0] * 6)[4:],
        _frame([_felt(0)] * 5 + [zk.FIELD_MODULUS.to_bytes(32, "little")], b"\x05"),
        _proof([0] * 6, b"\x05" * zk.MAX_PROOF_BYTES),
    ],
)
def test_check_proof_refuses_a_malformed_proof(proof: bytes) -> None:
    with _raises(zk.ErrZkMalformedProof):
        _check(proof)


@pytest.mark.parametrize("count", [0, 1, 5, 7, 12])
def test_check_proof_refuses_a_wrong_instance_count(count: int) -> None:
    with _raises(zk.ErrZkMalformedProof):
        _check(_proof([1] * count))


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, zk.FIELD_MODULUS // 2])
def test_check_proof_refuses_values_outside_int64(value: int) -> None:
    _check(_proof([0, 0, 0, 0, 2**63 - 1, -(2**63)]))  # the int64 bounds themselves pass
    with _raises(zk.ErrZkMalformedProof):
        _check(_proof([0, 0, 0, 0, 0, value]))


def test_check_proof_refuses_bad_settings_and_keys() -> None:
    good = _proof([0] * 6)
    for settings in (b"{garbage", b"\xff" * 10, json.dumps(_settings(version="1.0")).encode()):
        with _raises(zk.ErrZkSettings):
            _check(good, settings=settings)
    for key in (b"", b"\x00" * (zk.MAX_VERIFYING_KEY_BYTES + 1)):
        with _raises(zk.ErrZkVerifyingKey):
            _check(good, verifying_key=key)


def test_pure_module_does_no_io() -> None:
    """aivm.ai.verify.zk is state-machine code: no EZKL, no files, no environment (the
    layer test forbids os/tempfile; this also keeps ezkl, pathlib and dynamic imports out)."""
    source = Path(zk.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"ezkl", "onnx", "pathlib", "importlib", "os", "tempfile", "io"}
    assert "open(" not in source
