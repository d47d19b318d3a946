"""Hardware attestation (verification method 5): Intel TDX and SGX DCAP quotes, verified offline.

A compute provider that runs a job inside a TEE submits a DCAP *quote*: a report signed by the
platform's Quoting Enclave whose PCK certificate chains to Intel's SGX root CA. The chain
verifies it with ``dcap-qvl`` (Rust, pinned to 0.7.x) against *collateral* that it keeps in
state — TCB info, QE identity, CRLs and their issuer chains, exactly as Intel's PCS/PCCS
serves them — with the **block time** as "now", so every validator gets the same answer.

On top of the library's checks (signatures, certificate chains, revocation, TCB level, debug
bits) this module applies the application's policy:

* the collateral must be valid at ``now_s`` (every ``issueDate``/``thisUpdate`` at or before it,
  every ``nextUpdate`` after it), checked here from the collateral itself before the library
  runs, so "stale attestation" is a decision of this module and not a library message;
* the TCB status must be in ``accepted_tcb_statuses`` (default ``UpToDate`` only);
* the measurement must be on the allow-list: TDX ``MRTD`` (48 bytes) or ``MRTD‖RTMR0‖…‖RTMR3``
  (240 bytes, pins the whole boot chain); SGX ``MRENCLAVE`` (32 bytes);
* ``report_data`` must equal the expected binding (:func:`expected_report_data`).

Order of checks (the first failure wins, so the error code is a function of the inputs):
argument bounds → quote structure → collateral structure → collateral validity at ``now_s``
→ library verification (signatures, chains, CRLs, TCB match) → TCB status → measurement →
report_data.

Determinism: no clock (``now_s`` is a parameter), no randomness, no I/O; ``dcap-qvl`` uses its
built-in Intel root CA and never reaches the network on the ``verify`` path. The verdict holds
only integers, strings and bytes. Every failure is a coded error of codespace ``verify``,
codes 30–39; no library exception escapes.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dcap_qvl

from aivm.types.errors import AivmError, ErrorCode, register

CODESPACE = "verify"

ErrMalformedQuote = register(CODESPACE, 30, "malformed TEE quote")
ErrInvalidCollateral = register(CODESPACE, 31, "invalid TEE collateral")
ErrQuoteSignature = register(CODESPACE, 32, "TEE quote signature or certificate chain invalid")
ErrStaleAttestation = register(CODESPACE, 33, "stale attestation")
ErrTcbStatus = register(CODESPACE, 34, "TCB status not accepted")
ErrReportDataMismatch = register(CODESPACE, 35, "TEE report data does not match the binding")
ErrMeasurementNotAllowed = register(CODESPACE, 36, "TEE measurement not allowed")
ErrTeeAttributes = register(CODESPACE, 37, "TEE attributes not accepted")
ErrInvalidTeeArgument = register(CODESPACE, 38, "invalid TEE verification argument")
ErrTeeInputTooLarge = register(CODESPACE, 39, "TEE attestation input too large")

MAX_QUOTE_BYTES = 16 * 1024
"""Largest quote accepted (real quotes with an embedded PCK chain are ~4.6–5 KB)."""
MAX_COLLATERAL_BYTES = 256 * 1024
"""Largest collateral JSON accepted (the samples are 14–19 KB; a large PCK CRL grows it)."""
MAX_CHAIN_CERTS = 4
"""Most certificates in one issuer chain of the collateral (Intel's have 2: signer + root)."""
REPORT_DATA_BYTES = 64
MAX_ALLOWED_MEASUREMENTS = 256
MAX_PROVIDER_PUBKEY_BYTES = 128
OUTPUT_DIGEST_BYTES = 32

# Gas (ADR 0010: one gas unit ≈ 2.6–2.9 ns on the development VM), from the figures
# tests/unit/test_tee_verify.py::test_measure_verify_time prints there (dcap-qvl 0.7.0, shared
# 2-core VM): a full verify_attestation of a sample quote (5 KB quote, 14–16 KB collateral:
# parse, validity window, library verification, policy) takes ≈0.88–0.99 ms, the library's
# verify alone ≈0.6 ms; a quote rejected at its last signature costs the same, so the charge
# is taken before verifying, whatever the outcome. Inputs near the bounds cost more per byte:
# a 243 KB collateral whose TCB info holds many small JSON values ≈5.2–8 ms (≈22–33 ns/byte,
# mostly JSON parsing: ours ≈16, the library's ≈6), a 250 KB PCK CRL with many entries
# ≈2.3–3.9 ms (issuer chains are capped at MAX_CHAIN_CERTS, so certificates cannot fill the
# bound). Flat 300k + 8k per kilobyte puts the samples at ≈2.0–2.7 ns per gas and the worst
# inputs measured at ≈1–3.5 (the VM was shared; load average 2–4.5 during the runs).
VERIFY_GAS = 300_000
"""Flat gas of one :func:`verify_attestation` call (see :func:`verify_gas` for the total)."""
VERIFY_GAS_PER_KILO_BYTE = 8_000
"""Gas per 1,000 bytes of quote + collateral (JSON, hex, DER, PEM and CRL decoding)."""

REPORT_DATA_DOMAIN = b"aivm-tee/v1"
"""Domain separator of :func:`expected_report_data`."""

TCB_STATUSES = (
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
)
"""TCB statuses Intel defines (``accepted_tcb_statuses`` must be drawn from these)."""

_COLLATERAL_STR_FIELDS = (
    "pck_crl_issuer_chain",
    "tcb_info_issuer_chain",
    "tcb_info",
    "qe_identity_issuer_chain",
    "qe_identity",
)
_COLLATERAL_CHAIN_FIELDS = (
    "pck_crl_issuer_chain",
    "tcb_info_issuer_chain",
    "qe_identity_issuer_chain",
)
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_COLLATERAL_HEX_FIELDS = ("root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature")
_COLLATERAL_FIELDS = tuple(sorted(_COLLATERAL_STR_FIELDS + _COLLATERAL_HEX_FIELDS))

_HEADER_BYTES = 48
_SGX_BODY_BYTES = 384
_TD10_BODY_BYTES = 584
_TD15_BODY_BYTES = 648
_TEE_TYPE_SGX = 0x00
_TEE_TYPE_TDX = 0x81
_ATTESTATION_KEY_ECDSA_P256 = 2
_SGX_MEASUREMENT_BYTES = 32
_TDX_MRTD_BYTES = 48
_TDX_FULL_MEASUREMENT_BYTES = 5 * 48

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$")
_MAX_JSON_INT_DIGITS = 20


# --------------------------------------------------------------------------------------------
# Collateral


@dataclass(frozen=True)
class Collateral:
    """DCAP collateral for one platform family (FMSPC), as the chain stores it.

    The fields are those of dcap-qvl's ``QuoteCollateralV3`` JSON (Intel PCS/PCCS responses):
    PEM issuer chains and the TCB info / QE identity JSON as text, CRLs and signatures as bytes.
    The validity window is derived from the signed contents: the latest ``issueDate`` /
    ``thisUpdate`` and the earliest ``nextUpdate`` of TCB info, QE identity and both CRLs.
    """

    pck_crl_issuer_chain: str
    root_ca_crl: bytes
    pck_crl: bytes
    tcb_info_issuer_chain: str
    tcb_info: str
    tcb_info_signature: bytes
    qe_identity_issuer_chain: str
    qe_identity: str
    qe_identity_signature: bytes
    tee_type: str
    """``tdx`` or ``sgx`` (from the TCB info ``id``)."""
    fmspc: str
    """Platform family the TCB info covers (12 upper-case hex digits)."""
    not_before: int
    """Unix seconds: the collateral is not valid before this (latest issue date)."""
    not_after: int
    """Unix seconds: the collateral is stale from this instant on (earliest next update)."""

    def canonical_json(self) -> bytes:
        """The canonical encoding: dcap-qvl's JSON, sorted keys, lower-case hex, no spaces."""
        obj: dict[str, str] = {}
        for name in _COLLATERAL_FIELDS:
            value = getattr(self, name)
            obj[name] = value.hex() if isinstance(value, bytes) else value
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @property
    def digest(self) -> bytes:
        """sha256 of :meth:`canonical_json` (what the chain keys and records collateral by)."""
        return collateral_digest(self)


def collateral_digest(collateral: Collateral) -> bytes:
    """Return sha256 of the collateral's canonical JSON (32 bytes)."""
    return hashlib.sha256(collateral.canonical_json()).digest()


def parse_collateral(raw: bytes) -> Collateral:
    """Parse and validate dcap-qvl collateral JSON; raise a coded error when it is not valid.

    Checks: size bound, a flat JSON object with exactly the nine collateral keys, strings
    everywhere, 1..:data:`MAX_CHAIN_CERTS` PEM certificates per issuer chain, hex fields
    decode, TCB info and QE identity are JSON objects with parseable dates and known ids, both
    CRLs are DER with ``thisUpdate`` and ``nextUpdate``, and every window is non-empty.
    Signatures are *not* checked here; :func:`verify_attestation` does
    that through the library.
    """
    if not isinstance(raw, bytes | bytearray):
        raise ErrInvalidTeeArgument.wrap("collateral must be bytes")
    if len(raw) > MAX_COLLATERAL_BYTES:
        raise ErrTeeInputTooLarge.wrap(
            f"collateral is {len(raw)} bytes, the limit is {MAX_COLLATERAL_BYTES}"
        )
    obj = _load_json_object(bytes(raw), "collateral")
    if sorted(obj) != list(_COLLATERAL_FIELDS):
        raise ErrInvalidCollateral.wrap(
            f"collateral keys must be exactly {list(_COLLATERAL_FIELDS)}, got {sorted(obj)}"
        )
    fields: dict[str, Any] = {}
    for name in _COLLATERAL_STR_FIELDS:
        fields[name] = _require_str(obj[name], name)
    for name in _COLLATERAL_CHAIN_FIELDS:
        count = fields[name].count(_PEM_BEGIN)
        if not 1 <= count <= MAX_CHAIN_CERTS:
            raise ErrInvalidCollateral.wrap(
                f"{name} holds {count} certificates, expected 1..{MAX_CHAIN_CERTS}"
            )
    for name in _COLLATERAL_HEX_FIELDS:
        fields[name] = _decode_hex(_require_str(obj[name], name), name)
    tcb = _load_json_object(fields["tcb_info"].encode(), "tcb_info")
    qe = _load_json_object(fields["qe_identity"].encode(), "qe_identity")
    tee_type, fmspc = _tcb_info_identity(tcb)
    _check_qe_identity_id(qe, tee_type)
    windows = [
        _json_window(tcb, "tcb_info"),
        _json_window(qe, "qe_identity"),
        _crl_window(fields["root_ca_crl"], "root_ca_crl"),
        _crl_window(fields["pck_crl"], "pck_crl"),
    ]
    not_before = max(start for start, _ in windows)
    not_after = min(end for _, end in windows)
    if not_after <= not_before:
        raise ErrInvalidCollateral.wrap(
            f"collateral validity window is empty ({not_before} .. {not_after})"
        )
    return Collateral(
        **fields, tee_type=tee_type, fmspc=fmspc, not_before=not_before, not_after=not_after
    )


def _load_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Decode strict JSON (no duplicate keys, no floats, no huge ints) into a dict."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject_float,
            parse_int=_bounded_int,
            parse_constant=_reject_float,
        )
    except AivmError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ErrInvalidCollateral.wrap(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ErrInvalidCollateral.wrap(f"{what} must be a JSON object")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook: reject duplicate keys (two readings of one document)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ErrInvalidCollateral.wrap(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _reject_float(text: str) -> Any:
    """parse_float / parse_constant hook: collateral holds no floats."""
    raise ErrInvalidCollateral.wrap(f"non-integer number {text[:32]!r} in collateral")


def _bounded_int(text: str) -> int:
    """parse_int hook: bound the digits so no host setting changes the outcome."""
    if len(text) > _MAX_JSON_INT_DIGITS:
        raise ErrInvalidCollateral.wrap(f"integer of {len(text)} digits in collateral")
    return int(text)


def _require_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ErrInvalidCollateral.wrap(f"{name} must be a string")
    return value


def _decode_hex(text: str, name: str) -> bytes:
    """Strict hex: no whitespace (``bytes.fromhex`` skips it; the length check catches it)."""
    try:
        value = bytes.fromhex(text) if text.isascii() else b""
    except ValueError:
        value = b""
    if not value or 2 * len(value) != len(text):
        raise ErrInvalidCollateral.wrap(f"{name} must be non-empty hex")
    return value


def _tcb_info_identity(tcb: dict[str, Any]) -> tuple[str, str]:
    """Return (tee_type, fmspc) of a TCB info object."""
    ident = tcb.get("id")
    if ident not in ("SGX", "TDX"):
        raise ErrInvalidCollateral.wrap(f"tcb_info id must be SGX or TDX, got {ident!r}")
    fmspc = tcb.get("fmspc")
    if not isinstance(fmspc, str) or re.fullmatch(r"[0-9a-fA-F]{12}", fmspc) is None:
        raise ErrInvalidCollateral.wrap("tcb_info fmspc must be 12 hex digits")
    return str(ident).lower(), fmspc.upper()


def _check_qe_identity_id(qe: dict[str, Any], tee_type: str) -> None:
    expected = "TD_QE" if tee_type == "tdx" else "QE"
    if qe.get("id") != expected:
        raise ErrInvalidCollateral.wrap(
            f"qe_identity id must be {expected} for {tee_type} collateral, got {qe.get('id')!r}"
        )


def _json_window(obj: dict[str, Any], what: str) -> tuple[int, int]:
    """(issueDate, nextUpdate) of a TCB info or QE identity object, in Unix seconds."""
    start = _parse_date(obj.get("issueDate"), f"{what}.issueDate")
    end = _parse_date(obj.get("nextUpdate"), f"{what}.nextUpdate")
    return start, end


def _parse_date(value: Any, what: str) -> int:
    """RFC 3339 UTC date ``YYYY-MM-DDTHH:MM:SS[.frac]Z`` to Unix seconds (fraction dropped)."""
    match = _DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ErrInvalidCollateral.wrap(f"{what} is not a UTC date")
    return _unix_seconds(*(int(part) for part in match.groups()), what=what)


def _unix_seconds(
    year: int, month: int, day: int, hour: int, minute: int, second: int, *, what: str
) -> int:
    """Proleptic-Gregorian UTC date and time to Unix seconds, in integers (no ``datetime``)."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (
        1 <= year <= 9999
        and 1 <= month <= 12
        and 1 <= day <= month_days[month - 1]
        and 0 <= hour < 24
        and 0 <= minute < 60
        and 0 <= second < 60
    ):
        raise ErrInvalidCollateral.wrap(f"{what} is not a valid date")
    # days_from_civil (H. Hinnant): days since 1970-01-01.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146_097 + doe - 719_468
    return days * 86_400 + hour * 3_600 + minute * 60 + second


# --------------------------------------------------------------------------------------------
# Minimal DER reader for the CRL validity window (CertificateList → TBSCertList).


def _der_tlv(buf: bytes, pos: int, what: str) -> tuple[int, int, int]:
    """Read one definite-length DER TLV at ``pos``: (tag, value_start, value_end)."""
    if pos + 2 > len(buf):
        raise ErrInvalidCollateral.wrap(f"{what}: truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(buf):
            raise ErrInvalidCollateral.wrap(f"{what}: bad DER length")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > len(buf):
        raise ErrInvalidCollateral.wrap(f"{what}: DER value overruns its container")
    return tag, pos, pos + length


def _crl_window(der: bytes, what: str) -> tuple[int, int]:
    """(thisUpdate, nextUpdate) of an X.509 CRL in DER, in Unix seconds."""
    tag, start, end = _der_tlv(der, 0, what)
    if tag != 0x30 or end != len(der):
        raise ErrInvalidCollateral.wrap(f"{what}: not a DER CertificateList")
    tag, pos, tbs_end = _der_tlv(der, start, what)
    if tag != 0x30:
        raise ErrInvalidCollateral.wrap(f"{what}: missing TBSCertList")
    tag, _, after = _der_tlv(der, pos, what)
    if tag == 0x02:  # version (v2)
        pos = after
        tag, _, after = _der_tlv(der, pos, what)
    if tag != 0x30:  # signature AlgorithmIdentifier
        raise ErrInvalidCollateral.wrap(f"{what}: missing signature algorithm")
    tag, _, pos = _der_tlv(der, after, what)
    if tag != 0x30:  # issuer Name
        raise ErrInvalidCollateral.wrap(f"{what}: missing issuer")
    this_update, pos = _der_time(der, pos, tbs_end, what)
    next_update, _ = _der_time(der, pos, tbs_end, what)
    return this_update, next_update


def _der_time(der: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    """Read a UTCTime / GeneralizedTime at ``pos``: (unix seconds, next position)."""
    if pos >= limit:
        raise ErrInvalidCollateral.wrap(f"{what}: missing update time")
    tag, start, end = _der_tlv(der, pos, what)
    text = der[start:end].decode("ascii", errors="replace")
    if tag == 0x17 and re.fullmatch(r"\d{12}Z", text):
        year = int(text[0:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    elif tag == 0x18 and re.fullmatch(r"\d{14}Z", text):
        year = int(text[0:4])
        rest = text[4:]
    else:
        raise ErrInvalidCollateral.wrap(f"{what}: bad update time")
    parts = [int(rest[i : i + 2]) for i in range(0, 10, 2)]
    return _unix_seconds(year, *parts, what=what), end


# --------------------------------------------------------------------------------------------
# report_data binding


def expected_report_data(job_id: int, output_digest: bytes, provider_pubkey: bytes) -> bytes:
    """The 64-byte ``report_data`` a provider's TEE must put in its quote for one job.

    ``report_data[0:32] = sha256(b"aivm-tee/v1" ‖ job_id (8 bytes, big-endian) ‖
    output_digest (32 bytes) ‖ len(provider_pubkey) (2 bytes, big-endian) ‖ provider_pubkey)``
    and ``report_data[32:64]`` is 32 zero bytes (reserved for a later version). The length
    prefix keeps the encoding injective for keys of any size (33-byte secp256k1, 32-byte
    ed25519).
    """
    if not isinstance(job_id, int) or isinstance(job_id, bool) or not 0 <= job_id < 2**64:
        raise ErrInvalidTeeArgument.wrap("job_id must be an integer in [0, 2^64)")
    if not isinstance(output_digest, bytes) or len(output_digest) != OUTPUT_DIGEST_BYTES:
        raise ErrInvalidTeeArgument.wrap(f"output_digest must be {OUTPUT_DIGEST_BYTES} bytes")
    if (
        not isinstance(provider_pubkey, bytes)
        or not 1 <= len(provider_pubkey) <= MAX_PROVIDER_PUBKEY_BYTES
    ):
        raise ErrInvalidTeeArgument.wrap(
            f"provider_pubkey must be 1..{MAX_PROVIDER_PUBKEY_BYTES} bytes"
        )
    digest = hashlib.sha256(
        REPORT_DATA_DOMAIN
        + job_id.to_bytes(8, "big")
        + output_digest
        + len(provider_pubkey).to_bytes(2, "big")
        + provider_pubkey
    ).digest()
    return digest + bytes(32)


# --------------------------------------------------------------------------------------------
# Quote structure


@dataclass(frozen=True)
class QuoteLayout:
    """What this module reads from a quote before the library sees it."""

    version: int
    tee_type: str
    """``sgx`` or ``tdx``."""
    body_end: int
    """Offset where header and body end: ``quote[:body_end]`` is what the attestation key signs."""
    signed_end: int
    """Offset where the quote's structure ends (trailing bytes after it must be zero)."""


def quote_layout(quote: bytes) -> QuoteLayout:
    """Check a quote's header and lengths; raise :data:`ErrMalformedQuote` when they are wrong.

    Accepted: SGX v3 and TDX v4/v5 quotes with an ECDSA-P256 attestation key; after the
    signature data only zero padding may follow (TDX quote buffers are often zero-padded).
    """
    if len(quote) < _HEADER_BYTES + 4:
        raise ErrMalformedQuote.wrap(f"quote of {len(quote)} bytes is shorter than a header")
    version, key_type, tee = struct.unpack_from("<HHI", quote, 0)
    if key_type != _ATTESTATION_KEY_ECDSA_P256:
        raise ErrMalformedQuote.wrap(f"attestation key type {key_type} is not ECDSA-P256")
    if tee == _TEE_TYPE_SGX and version == 3:
        tee_type, body_end = "sgx", _HEADER_BYTES + _SGX_BODY_BYTES
    elif tee == _TEE_TYPE_TDX and version == 4:
        tee_type, body_end = "tdx", _HEADER_BYTES + _TD10_BODY_BYTES
    elif tee == _TEE_TYPE_TDX and version == 5:
        tee_type, body_end = "tdx", _v5_body_end(quote)
    else:
        raise ErrMalformedQuote.wrap(f"unsupported quote version {version} / tee type {tee:#x}")
    if body_end + 4 > len(quote):
        raise ErrMalformedQuote.wrap("quote is truncated before its signature data")
    (sig_len,) = struct.unpack_from("<I", quote, body_end)
    signed_end = body_end + 4 + sig_len
    if signed_end > len(quote):
        raise ErrMalformedQuote.wrap(
            f"signature data of {sig_len} bytes overruns the {len(quote)}-byte quote"
        )
    if any(quote[signed_end:]):
        raise ErrMalformedQuote.wrap("non-zero bytes after the quote's signature data")
    return QuoteLayout(version=version, tee_type=tee_type, body_end=body_end, signed_end=signed_end)


def _v5_body_end(quote: bytes) -> int:
    """End of the body of a v5 (TDX 1.5) quote: header, u16 body type, u32 body size, body."""
    if len(quote) < _HEADER_BYTES + 6:
        raise ErrMalformedQuote.wrap("v5 quote is truncated in its body descriptor")
    body_type, body_size = struct.unpack_from("<HI", quote, _HEADER_BYTES)
    expected = {2: _TD10_BODY_BYTES, 3: _TD15_BODY_BYTES}.get(body_type)
    if expected is None or body_size != expected:
        raise ErrMalformedQuote.wrap(f"v5 body type {body_type} of size {body_size}")
    return _HEADER_BYTES + 6 + expected


# --------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class AttestationVerdict:
    """An accepted attestation: what the chain records about it."""

    tee_type: str
    """``tdx`` or ``sgx``."""
    tcb_status: str
    """Intel TCB status of the platform (one of :data:`TCB_STATUSES`)."""
    advisory_ids: tuple[str, ...]
    """Intel security advisories that apply (sorted)."""
    measurement: bytes
    """TDX: MRTD (48 bytes). SGX: MRENCLAVE (32 bytes)."""
    rtmrs: tuple[bytes, ...]
    """TDX: RTMR0..RTMR3 (4 × 48 bytes). SGX: empty."""
    mr_signer: bytes
    """SGX: MRSIGNER (32 bytes). TDX: empty."""
    report_data: bytes
    """The quote's 64-byte report_data (equal to the expected binding)."""
    collateral_digest: bytes
    """sha256 of the canonical collateral the quote was verified against."""
    quote_digest: bytes
    """sha256 of the quote's header and body — the bytes the attestation key signs. The rest
    of a quote is malleable without failing verification (PEM whitespace, the embedded root
    certificate the library replaces by its own, ECDSA ``s``), so this, not a hash of the
    whole quote, identifies an attestation; the chain can refuse one it has already seen."""

    def encode(self) -> bytes:
        """Canonical JSON of the verdict (sorted keys, hex bytes) for events and state."""
        obj = {
            "advisory_ids": list(self.advisory_ids),
            "collateral_digest": self.collateral_digest.hex(),
            "measurement": self.measurement.hex(),
            "mr_signer": self.mr_signer.hex(),
            "quote_digest": self.quote_digest.hex(),
            "report_data": self.report_data.hex(),
            "rtmrs": [r.hex() for r in self.rtmrs],
            "tcb_status": self.tcb_status,
            "tee_type": self.tee_type,
        }
        return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def verify_gas(quote_len: int, collateral_len: int) -> int:
    """Gas of one :func:`verify_attestation` call with inputs of these sizes."""
    size = max(quote_len, 0) + max(collateral_len, 0)
    return VERIFY_GAS + (size * VERIFY_GAS_PER_KILO_BYTE + 999) // 1000


def verify_attestation(
    quote: bytes,
    collateral: bytes | Collateral,
    now_s: int,
    *,
    report_data: bytes,
    allowed_measurements: Sequence[bytes],
    accepted_tcb_statuses: Sequence[str] = ("UpToDate",),
) -> AttestationVerdict:
    """Verify a TDX/SGX DCAP quote at block time ``now_s``; return the verdict or raise.

    ``collateral`` is the collateral JSON (parsed with :func:`parse_collateral`) or an already
    parsed :class:`Collateral`. ``report_data`` is the expected 64-byte binding (normally
    :func:`expected_report_data`). ``allowed_measurements`` holds 48-byte MRTDs or 240-byte
    MRTD‖RTMR0‖RTMR1‖RTMR2‖RTMR3 values for TDX and 32-byte MRENCLAVEs for SGX.
    Raises coded errors of codespace ``verify`` (30–39), see the module docstring.
    """
    _check_arguments(quote, now_s, report_data, allowed_measurements, accepted_tcb_statuses)
    layout = quote_layout(quote)
    parsed = collateral if isinstance(collateral, Collateral) else parse_collateral(collateral)
    if parsed.tee_type != layout.tee_type:
        raise ErrInvalidCollateral.wrap(
            f"{parsed.tee_type} collateral cannot verify a {layout.tee_type} quote"
        )
    if not parsed.not_before <= now_s < parsed.not_after:
        raise ErrStaleAttestation.wrap(
            f"now {now_s} is outside the collateral's validity "
            f"[{parsed.not_before}, {parsed.not_after})"
        )
    status, advisories = _library_verify(quote, parsed, now_s)
    if status not in accepted_tcb_statuses:
        raise ErrTcbStatus.wrap(
            f"TCB status {status} (advisories {list(advisories)}) is not in "
            f"{list(accepted_tcb_statuses)}"
        )
    verdict = _build_verdict(quote, layout, parsed, status, advisories)
    _check_measurement(verdict, allowed_measurements)
    if verdict.report_data != report_data:
        raise ErrReportDataMismatch.wrap(
            f"quote report_data {verdict.report_data.hex()} != expected {report_data.hex()}"
        )
    return verdict


def _check_arguments(
    quote: bytes,
    now_s: int,
    report_data: bytes,
    allowed_measurements: Sequence[bytes],
    accepted_tcb_statuses: Sequence[str],
) -> None:
    """Bound and type-check every argument before anything is parsed."""
    if not isinstance(quote, bytes):
        raise ErrInvalidTeeArgument.wrap("quote must be bytes")
    if len(quote) > MAX_QUOTE_BYTES:
        raise ErrTeeInputTooLarge.wrap(
            f"quote is {len(quote)} bytes, the limit is {MAX_QUOTE_BYTES}"
        )
    if not isinstance(now_s, int) or isinstance(now_s, bool) or not 0 <= now_s < 2**63:
        raise ErrInvalidTeeArgument.wrap("now_s must be a Unix time in seconds, in [0, 2^63)")
    if not isinstance(report_data, bytes) or len(report_data) != REPORT_DATA_BYTES:
        raise ErrInvalidTeeArgument.wrap(f"report_data must be {REPORT_DATA_BYTES} bytes")
    if isinstance(allowed_measurements, bytes | str) or not isinstance(
        allowed_measurements, Sequence
    ):
        raise ErrInvalidTeeArgument.wrap("allowed_measurements must be a sequence of bytes")
    if len(allowed_measurements) > MAX_ALLOWED_MEASUREMENTS:
        raise ErrTeeInputTooLarge.wrap(
            f"{len(allowed_measurements)} allowed measurements, the limit is "
            f"{MAX_ALLOWED_MEASUREMENTS}"
        )
    sizes = (_SGX_MEASUREMENT_BYTES, _TDX_MRTD_BYTES, _TDX_FULL_MEASUREMENT_BYTES)
    for entry in allowed_measurements:
        if not isinstance(entry, bytes) or len(entry) not in sizes:
            raise ErrInvalidTeeArgument.wrap(f"allowed measurements must be bytes of {sizes}")
    if isinstance(accepted_tcb_statuses, str) or not isinstance(accepted_tcb_statuses, Sequence):
        raise ErrInvalidTeeArgument.wrap("accepted_tcb_statuses must be a sequence of str")
    for status in accepted_tcb_statuses:
        if status not in TCB_STATUSES:
            raise ErrInvalidTeeArgument.wrap(f"unknown TCB status {status!r}")


# Library failures are classified by the pinned library's messages (dcap-qvl 0.7.x,
# src/verify.rs). The codes are what reach state; the message only goes to the log.
_STALE_MARKERS = ("expired", "in the future", "notvalidyet", "not valid yet")
_TCB_MARKERS = ("no matching tcb level", "tcb status is invalid", "qe isvsvn")
_ATTRIBUTE_MARKERS = ("debug mode", "reserved bits", "sept_ve_disable", "mr service td")
_HOST_FAILURES = (KeyboardInterrupt, SystemExit, MemoryError)
"""Failures of the host, not verdicts on the input: re-raised, never turned into a code."""
_MALFORMED_MARKERS = ("failed to decode quote", "unsupported dcap", "unsupported tee type")
_MISMATCH_MARKERS = ("fmspc mismatch", "non-tdx tcb info", "non-sgx tcb info", "qe identity id")


def classify_library_error(message: str) -> ErrorCode:
    """Map a dcap-qvl error message to this module's error code."""
    text = message.lower()
    for markers, code in (
        (_STALE_MARKERS, ErrStaleAttestation),
        (_TCB_MARKERS, ErrTcbStatus),
        (_ATTRIBUTE_MARKERS, ErrTeeAttributes),
        (_MALFORMED_MARKERS, ErrMalformedQuote),
        (_MISMATCH_MARKERS, ErrInvalidCollateral),
    ):
        if any(marker in text for marker in markers):
            return code
    return ErrQuoteSignature


def _library_verify(quote: bytes, collateral: Collateral, now_s: int) -> tuple[str, list[str]]:
    """Run dcap-qvl's verification; return (tcb status, advisories) or raise a coded error."""
    try:
        lib_collateral = dcap_qvl.QuoteCollateralV3(
            pck_crl_issuer_chain=collateral.pck_crl_issuer_chain,
            root_ca_crl=collateral.root_ca_crl,
            pck_crl=collateral.pck_crl,
            tcb_info_issuer_chain=collateral.tcb_info_issuer_chain,
            tcb_info=collateral.tcb_info,
            tcb_info_signature=collateral.tcb_info_signature,
            qe_identity_issuer_chain=collateral.qe_identity_issuer_chain,
            qe_identity=collateral.qe_identity,
            qe_identity_signature=collateral.qe_identity_signature,
        )
        report = dcap_qvl.verify(quote, lib_collateral, now_s)
        status = str(report.status)
        advisories = [str(a) for a in report.advisory_ids]
    except _HOST_FAILURES:
        raise
    except BaseException as exc:  # ValueError, or pyo3's PanicException (a BaseException)
        raise classify_library_error(str(exc)).wrap(f"dcap-qvl: {exc}") from None
    if status not in TCB_STATUSES:
        raise ErrTcbStatus.wrap(f"unknown TCB status {status!r}")
    return status, advisories


def _build_verdict(
    quote: bytes, layout: QuoteLayout, collateral: Collateral, status: str, advisories: list[str]
) -> AttestationVerdict:
    """Read the measurements and report_data of a verified quote into a verdict."""
    try:
        report = dcap_qvl.parse_quote(quote).report
        report_data = bytes(report.report_data)
        if layout.tee_type == "tdx":
            measurement = bytes(report.mr_td)
            rtmrs = tuple(
                bytes(r) for r in (report.rt_mr0, report.rt_mr1, report.rt_mr2, report.rt_mr3)
            )
            mr_signer = b""
        else:
            measurement = bytes(report.mr_enclave)
            rtmrs = ()
            mr_signer = bytes(report.mr_signer)
    except _HOST_FAILURES:
        raise
    except BaseException as exc:
        raise ErrMalformedQuote.wrap(f"reading the verified report: {exc}") from None
    return AttestationVerdict(
        tee_type=layout.tee_type,
        tcb_status=status,
        advisory_ids=tuple(sorted(advisories)),
        measurement=measurement,
        rtmrs=rtmrs,
        mr_signer=mr_signer,
        report_data=report_data,
        collateral_digest=collateral.digest,
        quote_digest=hashlib.sha256(quote[: layout.body_end]).digest(),
    )


def _check_measurement(verdict: AttestationVerdict, allowed: Sequence[bytes]) -> None:
    """Raise :data:`ErrMeasurementNotAllowed` unless the verdict's measurement is allowed."""
    full = verdict.measurement + b"".join(verdict.rtmrs)
    if verdict.measurement in allowed or (verdict.tee_type == "tdx" and full in allowed):
        return
    raise ErrMeasurementNotAllowed.wrap(
        f"{verdict.tee_type} measurement {verdict.measurement.hex()} is not on the allow-list"
    )
