"""Tests of the TEE attestation verifier (aivm.ai.verify.tee) on public Intel DCAP samples.

The quotes and collateral in tests/vectors/tee/ are dcap-qvl's public samples (see the README
there). Every rejection path is exercised by tampering on purpose; the honest quotes pass
with their own report_data and measurement.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import dcap_qvl
import pytest

from aivm.ai.verify import tee
from aivm.types.errors import AivmError, ErrorCode

DATA = Path(__file__).resolve().parent.parent / "vectors" / "tee"


@dataclass(frozen=True)
class Sample:
    """One sample quote, its collateral and what the honest verification needs."""

    quote: bytes
    collateral: bytes
    parsed: tee.Collateral
    now: int
    report_data: bytes
    measurement: bytes
    rtmrs: bytes
    statuses: tuple[str, ...]


def _load(quote_name: str, collateral_name: str, statuses: tuple[str, ...]) -> Sample:
    quote = (DATA / quote_name).read_bytes()
    raw = (DATA / collateral_name).read_bytes()
    parsed = tee.parse_collateral(raw)
    report = dcap_qvl.parse_quote(quote).report
    if parsed.tee_type == "tdx":
        measurement = bytes(report.mr_td)
        rtmrs = b"".join(
            bytes(r) for r in (report.rt_mr0, report.rt_mr1, report.rt_mr2, report.rt_mr3)
        )
    else:
        measurement, rtmrs = bytes(report.mr_enclave), b""
    return Sample(
        quote=quote,
        collateral=raw,
        parsed=parsed,
        now=(parsed.not_before + parsed.not_after) // 2,
        report_data=bytes(report.report_data),
        measurement=measurement,
        rtmrs=rtmrs,
        statuses=statuses,
    )


@pytest.fixture(scope="module")
def tdx() -> Sample:
    """TDX v4 quote (TD report 1.0), platform UpToDate."""
    return _load("tdx_quote", "tdx_quote_collateral.json", ("UpToDate",))


@pytest.fixture(scope="module")
def sgx() -> Sample:
    """SGX v3 quote, platform ConfigurationAndSWHardeningNeeded."""
    return _load("sgx_quote", "sgx_quote_collateral.json", ("ConfigurationAndSWHardeningNeeded",))


@pytest.fixture(scope="module")
def tdx_outdated() -> Sample:
    """TDX v5 quote (TD report 1.5) whose TCB matches no level of its collateral."""
    return _load("tdx_quote_outdated", "tdx_quote_outdated_collateral.json", ("UpToDate",))


def _verify(s: Sample, **changes: object) -> tee.AttestationVerdict:
    args: dict[str, object] = {
        "quote": s.quote,
        "collateral": s.collateral,
        "now_s": s.now,
        "report_data": s.report_data,
        "allowed_measurements": [s.measurement],
        "accepted_tcb_statuses": s.statuses,
    }
    args.update(changes)
    return tee.verify_attestation(
        args["quote"],  # type: ignore[arg-type]
        args["collateral"],  # type: ignore[arg-type]
        args["now_s"],  # type: ignore[arg-type]
        report_data=args["report_data"],  # type: ignore[arg-type]
        allowed_measurements=args["allowed_measurements"],  # type: ignore[arg-type]
        accepted_tcb_statuses=args["accepted_tcb_statuses"],  # type: ignore[arg-type]
    )


def _rejects(code: ErrorCode, s: Sample, **changes: object) -> AivmError:
    with pytest.raises(AivmError) as info:
        _verify(s, **changes)
    assert info.value.error == code, info.value.log
    assert info.value.codespace == "verify"
    return info.value


def _flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def _collateral_with(raw: bytes, **fields: str) -> bytes:
    obj = json.loads(raw)
    obj.update(fields)
    return json.dumps(obj).encode()


# ------------------------------------------------------------------------------ honest runs


def test_honest_tdx_quote_passes(tdx: Sample) -> None:
    verdict = _verify(tdx)
    assert verdict.tee_type == "tdx"
    assert verdict.tcb_status == "UpToDate"
    assert verdict.advisory_ids == ()
    assert verdict.measurement == tdx.measurement and len(verdict.measurement) == 48
    assert b"".join(verdict.rtmrs) == tdx.rtmrs and len(verdict.rtmrs) == 4
    assert verdict.mr_signer == b""
    assert verdict.report_data == tdx.report_data
    assert verdict.collateral_digest == hashlib.sha256(tdx.parsed.canonical_json()).digest()
    assert verdict.quote_digest == hashlib.sha256(tdx.quote[: 48 + 584]).digest()


def test_honest_sgx_quote_passes_when_its_status_is_accepted(sgx: Sample) -> None:
    verdict = _verify(sgx)
    assert verdict.tee_type == "sgx"
    assert verdict.tcb_status == "ConfigurationAndSWHardeningNeeded"
    assert verdict.advisory_ids == ("INTEL-SA-00289", "INTEL-SA-00615")
    assert len(verdict.measurement) == 32 and len(verdict.mr_signer) == 32
    assert verdict.rtmrs == ()
    assert verdict.quote_digest == hashlib.sha256(sgx.quote[: 48 + 384]).digest()


def test_tdx_full_measurement_pins_the_rtmrs(tdx: Sample) -> None:
    full = tdx.measurement + tdx.rtmrs
    assert _verify(tdx, allowed_measurements=[full]).measurement == tdx.measurement
    wrong_rtmr3 = full[:-1] + bytes([full[-1] ^ 1])
    _rejects(tee.ErrMeasurementNotAllowed, tdx, allowed_measurements=[wrong_rtmr3])


def test_parsed_collateral_is_accepted_like_raw(tdx: Sample) -> None:
    assert _verify(tdx, collateral=tdx.parsed) == _verify(tdx)


def test_collateral_digest_is_canonical(tdx: Sample) -> None:
    obj = json.loads(tdx.collateral)
    reordered = {k: (v.upper() if k == "pck_crl" else v) for k, v in reversed(obj.items())}
    spaced = json.dumps(reordered, indent=2).encode()
    again = tee.parse_collateral(spaced)
    assert again.digest == tdx.parsed.digest == tee.collateral_digest(tdx.parsed)
    assert again == tdx.parsed
    assert tee.parse_collateral(again.canonical_json()) == again


def test_collateral_window_and_identity(tdx: Sample, sgx: Sample) -> None:
    assert (tdx.parsed.tee_type, tdx.parsed.fmspc) == ("tdx", "B0C06F000000")
    assert (sgx.parsed.tee_type, sgx.parsed.fmspc) == ("sgx", "00A067110000")
    # Latest issue date: the TDX QE identity's (2025-06-19T10:32:27Z); earliest next update:
    # a CRL's (2025-07-19T10:00:35Z, before the TCB info's 2025-07-19T10:16:03Z).
    assert tdx.parsed.not_before == 1_750_329_147
    assert tdx.parsed.not_after == 1_752_919_235
    # SGX: TCB info issued 2025-06-19T10:56:11Z, QE identity next update 2025-07-19T10:01:18Z.
    assert (sgx.parsed.not_before, sgx.parsed.not_after) == (1_750_330_571, 1_752_919_278)


# ------------------------------------------------------------------------------ determinism


def test_same_inputs_same_verdict(tdx: Sample, sgx: Sample) -> None:
    for s in (tdx, sgx):
        verdicts = [_verify(s) for _ in range(5)]
        assert all(v == verdicts[0] for v in verdicts)
        assert len({v.encode() for v in verdicts}) == 1
    errors = set()
    for _ in range(3):
        with pytest.raises(AivmError) as info:
            _verify(tdx, quote=_flip(tdx.quote, 200))
        errors.add((info.value.code, info.value.log))
    assert len(errors) == 1


def test_now_drives_expiry(tdx: Sample) -> None:
    first, last = tdx.parsed.not_before, tdx.parsed.not_after - 1
    assert _verify(tdx, now_s=first).tcb_status == "UpToDate"
    assert _verify(tdx, now_s=last).tcb_status == "UpToDate"
    for stale in (first - 1, last + 1, last + 365 * 86_400, 2**40, 0):
        err = _rejects(tee.ErrStaleAttestation, tdx, now_s=stale)
        assert "outside the collateral's validity" in err.log


def test_verdict_encoding(tdx: Sample) -> None:
    verdict = _verify(tdx)
    obj = json.loads(verdict.encode())
    assert obj["tee_type"] == "tdx"
    assert bytes.fromhex(obj["measurement"]) == tdx.measurement
    assert bytes.fromhex(obj["report_data"]) == tdx.report_data
    assert verdict.encode() == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# ------------------------------------------------------------------------------ tampered quotes


@pytest.mark.parametrize(
    "offset",
    [
        28,  # header user_data
        48 + 16,  # TD report: MR_SEAM
        48 + 136,  # TD report: MRTD
        48 + 520,  # TD report: report_data
        48 + 583,  # last byte of the body
    ],
)
def test_flipped_byte_in_signed_tdx_body_fails(tdx: Sample, offset: int) -> None:
    err = _rejects(tee.ErrQuoteSignature, tdx, quote=_flip(tdx.quote, offset))
    assert "signature" in err.log


@pytest.mark.parametrize("offset", [30, 48 + 64, 48 + 320, 48 + 383])
def test_flipped_byte_in_signed_sgx_body_fails(sgx: Sample, offset: int) -> None:
    _rejects(tee.ErrQuoteSignature, sgx, quote=_flip(sgx.quote, offset))


def test_flipped_byte_in_qe_report_or_pck_chain_fails(tdx: Sample) -> None:
    sig_start = 48 + 584 + 4
    for offset in (sig_start + 128 + 10, sig_start + 128 + 300, sig_start + 128 + 384 + 5, 3000):
        _rejects(tee.ErrQuoteSignature, tdx, quote=_flip(tdx.quote, offset))


def test_fabricated_quote_with_random_signature_fails(tdx: Sample, sgx: Sample) -> None:
    rng = random.Random(15)
    for s, body in ((tdx, 584), (sgx, 384)):
        sig = 48 + body + 4
        fake = bytearray(s.quote)
        fake[sig : sig + 64] = rng.randbytes(64)  # ISV report signature
        _rejects(tee.ErrQuoteSignature, s, quote=bytes(fake))
        fake[sig + 64 : sig + 128] = rng.randbytes(64)  # and the attestation key
        _rejects(tee.ErrQuoteSignature, s, quote=bytes(fake))


def test_fabricated_report_data_with_original_signature_fails(tdx: Sample) -> None:
    """A provider that splices the expected binding into an honest quote is caught."""
    wanted = tee.expected_report_data(7, bytes(32), b"\x02" * 33)
    fake = bytearray(tdx.quote)
    fake[48 + 520 : 48 + 584] = wanted
    _rejects(tee.ErrQuoteSignature, tdx, quote=bytes(fake), report_data=wanted)


def test_malleable_bytes_do_not_change_the_quote_digest(tdx: Sample) -> None:
    """PEM whitespace and the embedded root certificate are not signed: same verdict."""
    newline = tdx.quote.index(b"\n", 1300)
    whitespace = _flip(tdx.quote, newline)  # "\n" -> "\v", skipped by the PEM reader
    verdict = _verify(tdx, quote=whitespace)
    assert verdict == _verify(tdx)


def test_outdated_platform_fails_tcb(tdx_outdated: Sample) -> None:
    err = _rejects(tee.ErrTcbStatus, tdx_outdated)
    assert "No matching TCB level" in err.log


def test_tcb_status_not_accepted(sgx: Sample) -> None:
    err = _rejects(tee.ErrTcbStatus, sgx, accepted_tcb_statuses=("UpToDate",))
    assert "ConfigurationAndSWHardeningNeeded" in err.log
    _rejects(tee.ErrTcbStatus, sgx, accepted_tcb_statuses=())


# ------------------------------------------------------------------------------ tampered collateral


def test_forged_tcb_info_fails(sgx: Sample) -> None:
    """Marking the platform UpToDate in the TCB info breaks Intel's signature over it."""
    obj = json.loads(sgx.collateral)
    forged = obj["tcb_info"].replace("ConfigurationAndSWHardeningNeeded", "UpToDate")
    assert forged != obj["tcb_info"]
    raw = _collateral_with(sgx.collateral, tcb_info=forged)
    _rejects(tee.ErrQuoteSignature, sgx, collateral=raw, accepted_tcb_statuses=("UpToDate",))


def test_extended_next_update_fails(tdx: Sample) -> None:
    """Stretching a stale collateral's nextUpdate to make it look fresh breaks its signature."""
    obj = json.loads(tdx.collateral)
    tcb = json.loads(obj["tcb_info"])
    qe = json.loads(obj["qe_identity"])
    tcb["nextUpdate"] = qe["nextUpdate"] = "2030-01-01T00:00:00Z"
    raw = _collateral_with(
        tdx.collateral,
        tcb_info=json.dumps(tcb, separators=(",", ":")),
        qe_identity=json.dumps(qe, separators=(",", ":")),
    )
    later = tdx.parsed.not_after + 86_400
    assert tee.parse_collateral(raw).not_after == tdx.parsed.not_after  # the CRLs still bound it
    _rejects(tee.ErrStaleAttestation, tdx, collateral=raw, now_s=later)
    _rejects(tee.ErrQuoteSignature, tdx, collateral=raw)


def test_tampered_crl_and_chain_fail(tdx: Sample) -> None:
    obj = json.loads(tdx.collateral)
    crl = _flip(bytes.fromhex(obj["pck_crl"]), -5).hex()
    _rejects(tee.ErrQuoteSignature, tdx, collateral=_collateral_with(tdx.collateral, pck_crl=crl))
    root = _flip(bytes.fromhex(obj["root_ca_crl"]), -3).hex()
    _rejects(
        tee.ErrQuoteSignature, tdx, collateral=_collateral_with(tdx.collateral, root_ca_crl=root)
    )
    chain = obj["tcb_info_issuer_chain"].replace("MIIC", "MIID", 1)
    _rejects(
        tee.ErrQuoteSignature,
        tdx,
        collateral=_collateral_with(tdx.collateral, tcb_info_issuer_chain=chain),
    )
    sig = _flip(bytes.fromhex(obj["qe_identity_signature"]), 0).hex()
    _rejects(
        tee.ErrQuoteSignature,
        tdx,
        collateral=_collateral_with(tdx.collateral, qe_identity_signature=sig),
    )


def test_collateral_of_another_platform_or_tee_fails(tdx: Sample, sgx: Sample) -> None:
    other = (DATA / "tdx_quote_outdated_collateral.json").read_bytes()
    later = tee.parse_collateral(other).not_before + 3600
    err = _rejects(tee.ErrInvalidCollateral, tdx, collateral=other, now_s=later)
    assert "Fmspc mismatch" in err.log
    err = _rejects(tee.ErrInvalidCollateral, tdx, collateral=sgx.collateral)
    assert "sgx collateral cannot verify a tdx quote" in err.log


# ------------------------------------------------------------------------------ binding


def test_expected_report_data_layout() -> None:
    digest, key = bytes(range(32)), b"\x03" + bytes(range(32))
    got = tee.expected_report_data(42, digest, key)
    want = hashlib.sha256(
        b"aivm-tee/v1" + (42).to_bytes(8, "big") + digest + (33).to_bytes(2, "big") + key
    ).digest()
    assert got == want + bytes(32)
    assert len(got) == 64
    others = {
        tee.expected_report_data(43, digest, key),
        tee.expected_report_data(42, bytes(32), key),
        tee.expected_report_data(42, digest, b"\x02" + key[1:]),
        tee.expected_report_data(42, digest, key[:-1]),
    }
    assert got not in others and len(others) == 4


@pytest.mark.parametrize(
    "bad",
    [
        (-1, bytes(32), b"k"),
        (2**64, bytes(32), b"k"),
        (True, bytes(32), b"k"),
        (1, bytes(31), b"k"),
        (1, "x" * 32, b"k"),
        (1, bytes(32), b""),
        (1, bytes(32), bytes(129)),
    ],
)
def test_expected_report_data_rejects_bad_arguments(bad: tuple[object, object, object]) -> None:
    with pytest.raises(AivmError) as info:
        tee.expected_report_data(*bad)  # type: ignore[arg-type]
    assert info.value.error == tee.ErrInvalidTeeArgument


def test_report_data_binding_mismatch_fails(tdx: Sample) -> None:
    provider = b"\x02" + bytes(range(32))
    base = tee.expected_report_data(1, b"\x11" * 32, provider)
    for expected in (
        base,
        tee.expected_report_data(2, b"\x11" * 32, provider),
        tee.expected_report_data(1, b"\x12" * 32, provider),
        tee.expected_report_data(1, b"\x11" * 32, b"\x03" + bytes(range(32))),
        _flip(tdx.report_data, 63),
    ):
        err = _rejects(tee.ErrReportDataMismatch, tdx, report_data=expected)
        assert tdx.report_data.hex() in err.log


# ------------------------------------------------------------------------------ allow-list


def test_measurement_not_allowed(tdx: Sample, sgx: Sample) -> None:
    _rejects(tee.ErrMeasurementNotAllowed, tdx, allowed_measurements=[])
    _rejects(tee.ErrMeasurementNotAllowed, tdx, allowed_measurements=[_flip(tdx.measurement, 0)])
    _rejects(tee.ErrMeasurementNotAllowed, tdx, allowed_measurements=[tdx.measurement[:32]])
    mr_signer = _verify(sgx).mr_signer
    _rejects(tee.ErrMeasurementNotAllowed, sgx, allowed_measurements=[mr_signer])
    many = [bytes([i]) * 48 for i in range(200)] + [tdx.measurement]
    assert _verify(tdx, allowed_measurements=many).measurement == tdx.measurement


# ------------------------------------------------------------------------------ garbage & limits


@pytest.mark.parametrize(
    "quote",
    [
        b"",
        b"\x00" * 10,
        bytes(range(256)) * 4,
        b"\x04\x00\x02\x00\x81\x00\x00\x00" + bytes(40),  # TDX header, no body
        b"\x03\x00\x02\x00\x00\x00\x00\x00" + bytes(424) + b"\xff\xff\x00\x00",  # sig overruns
        b"\x05\x00\x02\x00\x81\x00\x00\x00" + bytes(40) + b"\x09\x00" + bytes(600),  # v5 bad type
        b"\x04\x00\x03\x00\x81\x00\x00\x00" + bytes(1000),  # attestation key type 3
    ],
)
def test_garbage_quote_is_malformed(tdx: Sample, quote: bytes) -> None:
    _rejects(tee.ErrMalformedQuote, tdx, quote=quote)


def test_zero_filled_sgx_quote_fails_verification(sgx: Sample) -> None:
    """Structurally complete but empty signature data: the library rejects it, coded."""
    fake = b"\x03\x00\x02\x00\x00\x00\x00\x00" + bytes(40 + 384) + struct.pack("<I", 0)
    err = _rejects(tee.ErrMalformedQuote, sgx, quote=fake)
    assert "dcap-qvl" in err.log


def test_truncated_or_padded_quote(tdx: Sample) -> None:
    _rejects(tee.ErrMalformedQuote, tdx, quote=tdx.quote[:4000])
    _rejects(tee.ErrMalformedQuote, tdx, quote=tdx.quote[: 48 + 584 + 2])
    _rejects(tee.ErrMalformedQuote, tdx, quote=tdx.quote + b"\x01")
    _rejects(tee.ErrMalformedQuote, tdx, quote=_flip(tdx.quote, len(tdx.quote) - 1))
    padded = _verify(tdx, quote=tdx.quote + bytes(100))  # zero padding is allowed
    assert padded == _verify(tdx)


def test_oversize_inputs(tdx: Sample) -> None:
    _rejects(tee.ErrTeeInputTooLarge, tdx, quote=tdx.quote + bytes(tee.MAX_QUOTE_BYTES))
    big = tdx.collateral + b" " * tee.MAX_COLLATERAL_BYTES
    _rejects(tee.ErrTeeInputTooLarge, tdx, collateral=big)
    with pytest.raises(AivmError) as info:
        tee.parse_collateral(big)
    assert info.value.error == tee.ErrTeeInputTooLarge
    too_many = [bytes(48)] * (tee.MAX_ALLOWED_MEASUREMENTS + 1)
    _rejects(tee.ErrTeeInputTooLarge, tdx, allowed_measurements=too_many)


def _bad_collaterals(raw: bytes) -> list[bytes]:
    obj = json.loads(raw)
    tcb = json.loads(obj["tcb_info"])
    missing = {k: v for k, v in obj.items() if k != "pck_crl"}
    bad_date = dict(tcb, nextUpdate="2025-02-30T00:00:00Z")
    not_leap = dict(tcb, nextUpdate="2025-02-29T00:00:00Z")
    empty_window = dict(tcb, nextUpdate=tcb["issueDate"])
    return [
        b"",
        b"\xff\xfe",
        b"not json",
        b"[]",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(missing).encode(),
        json.dumps(dict(obj, extra="x")).encode(),
        raw.replace(b"{", b'{"pck_crl": "00",', 1),  # duplicate key
        json.dumps(dict(obj, pck_crl=1)).encode(),
        json.dumps(dict(obj, pck_crl="zz")).encode(),
        json.dumps(dict(obj, pck_crl="abc")).encode(),
        json.dumps(dict(obj, pck_crl="")).encode(),
        json.dumps(dict(obj, pck_crl="3000")).encode(),  # empty DER sequence
        json.dumps(dict(obj, root_ca_crl="30820000")).encode(),
        json.dumps(dict(obj, tcb_info="{}")).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(dict(tcb, id="XYZ")))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(dict(tcb, fmspc="00")))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(bad_date))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(not_leap))).encode(),
        json.dumps(
            dict(obj, tcb_info=json.dumps(dict(tcb, issueDate="2025-6-19T10:16:03Z")))
        ).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(empty_window))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(dict(tcb, version=1.5)))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(dict(tcb, version=10**30)))).encode(),
        json.dumps(dict(obj, tcb_info=json.dumps(dict(tcb, id="SGX")))).encode(),  # QE id
        json.dumps(dict(obj, qe_identity="NaN")).encode(),
        json.dumps(dict(obj, pck_crl_issuer_chain="")).encode(),
        json.dumps(dict(obj, pck_crl_issuer_chain=obj["pck_crl_issuer_chain"] * 3)).encode(),
    ]


def test_garbage_collateral_is_invalid(tdx: Sample) -> None:
    for raw in _bad_collaterals(tdx.collateral):
        with pytest.raises(AivmError) as info:
            tee.parse_collateral(raw)
        assert info.value.error == tee.ErrInvalidCollateral, (raw[:80], info.value.log)
        _rejects(tee.ErrInvalidCollateral, tdx, collateral=raw)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quote", "not bytes"),
        ("quote", bytearray(10)),
        ("collateral", "json text"),
        ("now_s", -1),
        ("now_s", 2**63),
        ("now_s", True),
        ("now_s", 1.5e9),
        ("report_data", bytes(32)),
        ("report_data", bytes(65)),
        ("report_data", "00" * 64),
        ("allowed_measurements", bytes(48)),
        ("allowed_measurements", [bytes(33)]),
        ("allowed_measurements", ["00" * 48]),
        ("allowed_measurements", None),
        ("accepted_tcb_statuses", "UpToDate"),
        ("accepted_tcb_statuses", ["Fine"]),
    ],
)
def test_invalid_arguments(tdx: Sample, field: str, value: object) -> None:
    _rejects(tee.ErrInvalidTeeArgument, tdx, **{field: value})


def test_classify_library_errors() -> None:
    table = {
        "Verification failed: TCBInfo expired": tee.ErrStaleAttestation,
        "QE Identity issue date is in the future": tee.ErrStaleAttestation,
        "CrlExpired { time: UnixTime(1), next_update: UnixTime(0) }": tee.ErrStaleAttestation,
        "Failed to verify certificate chain\n\nCaused by:\n    CertExpired": (
            tee.ErrStaleAttestation
        ),
        "CertNotValidYet": tee.ErrStaleAttestation,
        "No matching TCB level found": tee.ErrTcbStatus,
        "TCB status is invalid: Revoked": tee.ErrTcbStatus,
        "Debug mode is enabled": tee.ErrTeeAttributes,
        "SEPT_VE_DISABLE is not enabled": tee.ErrTeeAttributes,
        "Failed to decode quote": tee.ErrMalformedQuote,
        "Fmspc mismatch": tee.ErrInvalidCollateral,
        "ISV enclave report signature is invalid": tee.ErrQuoteSignature,
        "something new": tee.ErrQuoteSignature,
    }
    for message, code in table.items():
        assert tee.classify_library_error(message) == code, message


def test_error_codes_are_registered_in_range() -> None:
    codes = [
        tee.ErrMalformedQuote,
        tee.ErrInvalidCollateral,
        tee.ErrQuoteSignature,
        tee.ErrStaleAttestation,
        tee.ErrTcbStatus,
        tee.ErrReportDataMismatch,
        tee.ErrMeasurementNotAllowed,
        tee.ErrTeeAttributes,
        tee.ErrInvalidTeeArgument,
        tee.ErrTeeInputTooLarge,
    ]
    assert sorted(c.code for c in codes) == list(range(30, 40))
    assert {c.codespace for c in codes} == {"verify"}


# ------------------------------------------------------------------------------ fuzzing


def test_random_quote_mutations_never_escape_uncoded(tdx: Sample) -> None:
    """Seeded byte mutations: a coded error, or (unsigned bytes only) the honest verdict."""
    honest = _verify(tdx)
    rng = random.Random(2026)
    accepted = 0
    for _ in range(150):
        quote = bytearray(tdx.quote)
        for _ in range(rng.randint(1, 3)):
            quote[rng.randrange(len(quote))] = rng.randrange(256)
        try:
            verdict = _verify(tdx, quote=bytes(quote))
        except AivmError as err:
            assert err.codespace == "verify"
            continue
        accepted += 1
        assert verdict == honest
    assert accepted < 50


def test_random_collateral_mutations_never_escape_uncoded(tdx: Sample) -> None:
    rng = random.Random(15)
    for _ in range(150):
        raw = bytearray(tdx.collateral)
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            verdict = _verify(tdx, collateral=bytes(raw))
        except AivmError as err:
            assert err.codespace == "verify"
            continue
        assert verdict.measurement == tdx.measurement


# ------------------------------------------------------------------------------ gas


def test_verify_gas_formula() -> None:
    assert tee.verify_gas(0, 0) == tee.VERIFY_GAS
    assert tee.verify_gas(5_000, 16_000) == tee.VERIFY_GAS + 21 * tee.VERIFY_GAS_PER_KILO_BYTE
    assert tee.verify_gas(1, 0) == tee.VERIFY_GAS + 8  # rounded up
    assert tee.verify_gas(16_384, 262_144) == 300_000 + 2_228_224


@pytest.mark.slow
def test_measure_verify_time(tdx: Sample, sgx: Sample) -> None:
    """Times verify_attestation; the flat charge must cover it at ≤ 10 ns per gas unit."""
    rounds = 200
    for s in (tdx, sgx):
        _verify(s)
        start = time.perf_counter_ns()
        for _ in range(rounds):
            _verify(s)
        per_call = (time.perf_counter_ns() - start) / rounds
        gas = tee.verify_gas(len(s.quote), len(s.collateral))
        print(
            f"{s.parsed.tee_type}: {per_call / 1e3:.0f} µs per verify, {per_call / gas:.2f} ns/gas"
        )
        assert per_call / gas < 10.0
    obj = json.loads(tdx.collateral)
    tcb = json.loads(obj["tcb_info"])
    levels = tcb["tcbLevels"] * (200_000 // len(json.dumps(tcb["tcbLevels"])))
    worst = _collateral_with(tdx.collateral, tcb_info=json.dumps(dict(tcb, tcbLevels=levels)))
    assert 200_000 < len(worst) <= tee.MAX_COLLATERAL_BYTES
    start = time.perf_counter_ns()
    for _ in range(rounds // 10):
        with pytest.raises(AivmError):
            _verify(tdx, collateral=worst)
    per_worst = (time.perf_counter_ns() - start) / (rounds // 10)
    gas = tee.verify_gas(len(tdx.quote), len(worst))
    print(f"{len(worst)}-byte collateral: {per_worst / 1e3:.0f} µs, {per_worst / gas:.2f} ns/gas")
    assert per_worst / gas < 10.0
    fake = _flip(tdx.quote, 200)
    start = time.perf_counter_ns()
    for _ in range(rounds):
        with pytest.raises(AivmError):
            _verify(tdx, quote=fake)
    per_fail = (time.perf_counter_ns() - start) / rounds
    print(f"tampered tdx: {per_fail / 1e3:.0f} µs per rejected verify")
    assert per_fail / tee.VERIFY_GAS < 10.0


class _FakePanic(BaseException):
    """Stands for pyo3's PanicException, which derives from BaseException."""


def test_library_panic_is_coded_but_host_failures_are_not(
    tdx: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    def panic(*_args: object) -> None:
        raise _FakePanic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(tee.dcap_qvl, "verify", panic)
    err = _rejects(tee.ErrQuoteSignature, tdx)
    assert "unwrap" in err.log

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tee.dcap_qvl, "verify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _verify(tdx)
