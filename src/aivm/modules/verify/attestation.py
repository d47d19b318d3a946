"""Evidence checked when a result comes in: TEE attestation (method 5) and zk proofs (method
3) — model owners' requirements (a TEE measurement allow-list, an EZKL circuit), DCAP
collateral uploaded by the params authority or an active data validator, and the checks of a
provider's quote or proof when its result is submitted.

**zk.** A version's circuit (settings, verifying key, 388-byte verifier SRS and its digest;
the digest must be one of the ``trusted_srs_digests`` param when that list is set) is
registered by its owner. A result of a job the circuit applies to carries
``Evidence.zk_proof``; the chain runs every check that does not need the pairing
(:func:`aivm.ai.verify.zk.check_proof`: framing, instance count, ranges, SRS) and the binding
(:func:`~aivm.ai.verify.zk.check_binding`: the proof's public input is the job's inline input,
its public output digest is the result's output digest), and refuses a proof already used. The
KZG pairing itself needs EZKL, which reads files, so the chain does not run it: the drawn AI
validators run it (:mod:`aivm.worker.zk_prover`) and reveal ``zk_valid``; the majority decides.
zk jobs need their input inline (checked at submit).

**TOPLOC.** A generation model's owner (token rule, the model exposes its last hidden states)
registers a ``ToplocConfig`` (the thresholds every validator applies, its context). A result
carries ``Evidence.toploc_proofs``; the chain checks the blob parses, uses the required chunk
size and top-k, and has one 258-byte proof per 32 generated tokens (the token count from the
result's inline tokens). Whether the fingerprints match the model is decided by the drawn AI
validators, who re-run only the prefill over prompt + claimed tokens
(:func:`aivm.worker.toploc_lm.verify_generation`) and reveal ``toploc_valid``.

A provider's ``MsgSubmitResult.evidence`` is an ``aivm.verify.v1.Evidence``: the DCAP quote and
the digest of the on-chain collateral to verify it against. The chain verifies it with
:func:`aivm.ai.verify.tee.verify_attestation` at the **block time** (whole seconds), with the
report data bound to the job id, the output digest and the provider's account public key
(:func:`aivm.ai.verify.tee.expected_report_data`), the version's measurement allow-list and
accepted TCB statuses; a quote is accepted once (its signed part's digest is kept). Gas is
charged before the work (:func:`aivm.ai.verify.tee.verify_gas`), whatever the outcome. A
failing quote fails the result's tx with the coded error (codes 30–39), so a result that
needs a quote is never recorded without a valid one.

Store (prefix ``verify/``): ``0x07|model(8)|version`` ModelVerification ·
``0x08|digest`` TeeCollateral · ``0x09|quote or proof digest → job id (8)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Protocol

from aivm.ai.verify import tee, toploc, zk
from aivm.modules.addr import addr_bytes, addr_str
from aivm.modules.ai.keeper import AiKeeper
from aivm.modules.auth.keeper import AccountKeeper
from aivm.modules.authority import AuthorityKeeper
from aivm.modules.compute import compute_pb2
from aivm.modules.framework import Context
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.keeper import RolesKeeper
from aivm.modules.verify import keys, verify_pb2
from aivm.modules.verify.errors import (
    ErrInvalidEvidence,
    ErrInvalidTeeRequirement,
    ErrNotModelOwner,
    ErrTeeEvidenceMissing,
    ErrUnauthorizedCollateral,
)
from aivm.store import KVStore, PrefixStore
from aivm.types.dec import Dec
from aivm.types.errors import AivmError

V = verify_pb2
MODEL_VERIFICATION = b"\x07"
COLLATERALS = b"\x08"
USED_QUOTES = b"\x09"
MAX_EVIDENCE_BYTES = 64 * 1024
MAX_STATUSES = len(tee.TCB_STATUSES)
COLLATERAL_GAS_PER_KILO_BYTE = 8_000
"""Parsing collateral: 11–23 µs per KiB measured by benchmarks/gas_calibration.py (the
median operation costs ~2.7 ns per gas)."""
DEFAULT_STATUSES = ("UpToDate",)
ZK_CHECK_GAS = 60_000
ZK_CHECK_GAS_PER_KILO_BYTE = 1_000
"""Per KiB of proof bytes (framing, sha256)."""
ZK_GAS_PER_PUBLIC_VALUE = 300
"""Decoding a field element and quantizing a job input element: ~0.6 µs each measured
(1,792 values, the circuit maximum, in ~1.05 ms); charged per 32 proof bytes, an upper bound
of the proof's public values, before any work."""
ZK_GAS_PER_SETTINGS_KILO_BYTE = 22_000
"""The circuit settings JSON is parsed twice (proof checks and binding): ~28 µs per KiB each
measured (64 KiB, the maximum, in ~1.8 ms)."""


def zk_check_gas(proof_bytes: int, settings_bytes: int) -> int:
    """Gas of the on-chain zk checks, from sizes alone (charged first): about 2.7 ns per gas
    at the measured worst case (1,792 public values, 64 KiB settings: ~4.7 ms)."""
    return (
        ZK_CHECK_GAS
        + ZK_CHECK_GAS_PER_KILO_BYTE * (proof_bytes // 1024 + 1)
        + ZK_GAS_PER_PUBLIC_VALUE * (proof_bytes // 32)
        + ZK_GAS_PER_SETTINGS_KILO_BYTE * (settings_bytes // 1024 + 1)
    )


TOPLOC_CHECK_GAS = 5_000
TOPLOC_CHECK_GAS_PER_BYTE = 35
"""Parsing the evidence blob (a header, then each 258-byte proof checked): 55–105 µs per
KiB measured by benchmarks/gas_calibration.py (the median operation costs ~2.7 ns per gas)."""


class JobLike(Protocol):
    """A job or a job submission: the model version it runs."""

    model_id: int
    version: str


def model_key(model_id: int, version: str) -> bytes:
    """``0x07|model|version``."""
    return MODEL_VERIFICATION + keys.u64(model_id) + version.encode()


class Attestations:
    """TEE requirements, collateral and quote checks over the verify store."""

    def __init__(
        self,
        ai: AiKeeper,
        accounts: AccountKeeper,
        authority: AuthorityKeeper,
        roles: RolesKeeper | None,
    ) -> None:
        self.ai = ai
        self.accounts = accounts
        self.authority = authority
        self.roles = roles

    @staticmethod
    def _store(ctx: Context) -> KVStore:
        return PrefixStore(ctx.store, keys.STORE_PREFIX)

    # -- model requirements ---------------------------------------------------------------

    def get_model(self, ctx: Context, model_id: int, version: str) -> V.ModelVerification | None:
        """The version's verification record, or None."""
        raw = self._store(ctx).get(model_key(model_id, version))
        return None if raw is None else V.ModelVerification.FromString(raw)

    def set_model(self, ctx: Context, record: V.ModelVerification) -> None:
        """Write a record."""
        self._store(ctx).set(model_key(record.model_id, record.version), record.SerializeToString())

    def iterate_models(self, ctx: Context) -> Iterator[V.ModelVerification]:
        """Every record."""
        for _, raw in PrefixStore(self._store(ctx), MODEL_VERIFICATION).iterate():
            yield V.ModelVerification.FromString(raw)

    def set_requirement(
        self, ctx: Context, msg: V.MsgSetModelVerification, trusted_srs: tuple[bytes, ...] = ()
    ) -> None:
        """MsgSetModelVerification: only the model's owner; the version must exist; a zk
        circuit's SRS must be trusted when the params list trusted SRS digests."""
        model = self.ai.get_model(ctx, msg.model_id)
        if model.owner != msg.owner:
            raise ErrNotModelOwner.wrap(f"model {msg.model_id} is owned by {model.owner}")
        self.ai.get_version(ctx, msg.model_id, msg.version)
        check_requirement(msg.tee)
        record = V.ModelVerification(
            model_id=msg.model_id,
            version=msg.version,
            tee=msg.tee,
            updated_height=ctx.header.height,
        )
        if msg.HasField("toploc"):
            check_toploc_config(msg.toploc)
            record.toploc.CopyFrom(msg.toploc)
        if msg.HasField("zk"):
            ctx.gas_meter.consume(
                COLLATERAL_GAS_PER_KILO_BYTE * (msg.zk.ByteSize() // 1024 + 1), "verify: circuit"
            )
            check_circuit(msg.zk)
            if trusted_srs and bytes(msg.zk.srs_digest) not in trusted_srs:
                raise ErrInvalidTeeRequirement.wrap(
                    f"SRS {msg.zk.srs_digest.hex()} is not one of the trusted_srs_digests"
                )
            record.zk.CopyFrom(msg.zk)
        if msg.optimistic_float:
            version = self.ai.get_version(ctx, msg.model_id, msg.version)
            if version.format != "onnx" or version.comparison != "tolerance":
                raise ErrInvalidTeeRequirement.wrap(
                    "optimistic_float applies to ONNX versions compared by tolerance"
                )
            record.optimistic_float = True
        self.set_model(ctx, record)
        ctx.emit(
            "verify_model_verification",
            ("model_id", str(msg.model_id)),
            ("version", msg.version),
            ("tee_required", "true" if msg.tee.required else "false"),
            ("measurements", str(len(msg.tee.allowed_measurements))),
            ("zk_circuit", "true" if msg.HasField("zk") else "false"),
            ("optimistic_float", "true" if msg.optimistic_float else "false"),
        )

    def tee_applies(self, ctx: Context, job: JobLike, listed: bool) -> bool:
        """A job needs a quote when its version requires one, or when its policy rule lists
        TEE (``listed``) and the version has an allow-list."""
        record = self.get_model(ctx, job.model_id, job.version)
        if record is None or not record.HasField("tee"):
            return False
        return record.tee.required or (listed and len(record.tee.allowed_measurements) > 0)

    def zk_applies(self, ctx: Context, job: JobLike, listed: bool) -> bool:
        """A job needs a proof when its version requires one, or when its policy rule lists
        zk (``listed``) and the version has a circuit."""
        record = self.get_model(ctx, job.model_id, job.version)
        if record is None or not record.HasField("zk"):
            return False
        return record.zk.required or listed

    def check_zk_result(
        self, ctx: Context, job: compute_pb2.Job, msg: compute_pb2.MsgSubmitResult
    ) -> zk.ZkVerdict:
        """Everything about the result's proof that needs no pairing (module docstring)."""
        record = self.get_model(ctx, job.model_id, job.version)
        assert record is not None  # zk_applies said so
        evidence = decode_evidence(msg.evidence)
        if not evidence.zk_proof:
            raise ErrTeeEvidenceMissing.wrap(
                f"model {job.model_id} v{job.version} needs a zk proof with each result "
                "(evidence.zk_proof)"
            )
        circuit = record.zk
        gas = zk_check_gas(len(evidence.zk_proof), len(circuit.settings))
        ctx.gas_meter.consume(gas, "verify: zk proof checks")
        verdict = zk.check_proof(
            evidence.zk_proof,
            circuit.settings,
            circuit.verifying_key,
            circuit.srs,
            expected_srs_digest=circuit.srs_digest,
        )
        zk.check_binding(
            verdict,
            job_input=job.input_inline,
            settings=zk.parse_settings(circuit.settings),
            claimed_output_digest=msg.output_digest,
        )
        if self._store(ctx).get(USED_QUOTES + verdict.proof_digest) is not None:
            raise ErrInvalidEvidence.wrap(f"proof {verdict.proof_digest.hex()} was used before")
        self.mark_used(ctx, verdict.proof_digest, job.id)
        return verdict

    def toploc_applies(self, ctx: Context, job: JobLike, listed: bool) -> bool:
        """A job needs fingerprints when its version requires them, or when its policy rule
        lists TOPLOC (``listed``) and the version registered a TOPLOC config."""
        record = self.get_model(ctx, job.model_id, job.version)
        if record is None or not record.HasField("toploc"):
            return False
        return record.toploc.required or listed

    def check_toploc_result(
        self, ctx: Context, job: compute_pb2.Job, msg: compute_pb2.MsgSubmitResult
    ) -> None:
        """The fingerprints' shape (module docstring); their match is the committee's."""
        evidence = decode_evidence(msg.evidence)
        if not evidence.toploc_proofs:
            raise ErrTeeEvidenceMissing.wrap(
                f"model {job.model_id} v{job.version} needs TOPLOC fingerprints with each "
                "result (evidence.toploc_proofs)"
            )
        ctx.gas_meter.consume(toploc_gas(len(evidence.toploc_proofs)), "verify: toploc evidence")
        parsed = toploc.proofs_from_bytes(evidence.toploc_proofs)
        if (parsed.decode_batching_size, parsed.topk) != (
            toploc.DECODE_BATCHING_SIZE,
            toploc.TOPK,
        ):
            raise ErrInvalidEvidence.wrap(
                f"TOPLOC evidence must use chunks of {toploc.DECODE_BATCHING_SIZE} tokens and "
                f"top-{toploc.TOPK}"
            )
        tokens = len(msg.comparison_data) // 4
        chunks = -(-tokens // toploc.DECODE_BATCHING_SIZE)
        if tokens == 0 or len(parsed.proofs) != chunks:
            raise ErrInvalidEvidence.wrap(
                f"{len(parsed.proofs)} TOPLOC proofs for {tokens} generated tokens; "
                f"expected {chunks}"
            )

    # -- collateral -----------------------------------------------------------------------

    def upload_collateral(self, ctx: Context, sender: str, raw: bytes) -> bytes:
        """MsgUpdateTeeCollateral: the params authority or an active data validator."""
        self._check_uploader(ctx, sender)
        ctx.gas_meter.consume(
            COLLATERAL_GAS_PER_KILO_BYTE * (len(raw) // 1024 + 1), "verify: parse collateral"
        )
        parsed = tee.parse_collateral(raw)
        digest = parsed.digest
        if self._store(ctx).get(COLLATERALS + digest) is not None:
            raise ErrUnauthorizedCollateral.wrap(f"collateral {digest.hex()} is already stored")
        record = V.TeeCollateral(
            digest=digest,
            tee_type=parsed.tee_type,
            fmspc=parsed.fmspc,
            not_before=parsed.not_before,
            not_after=parsed.not_after,
            json=parsed.canonical_json(),
            submitter=sender,
            height=ctx.header.height,
        )
        self.set_collateral(ctx, record)
        ctx.emit(
            "verify_tee_collateral",
            ("digest", digest.hex()),
            ("tee_type", parsed.tee_type),
            ("fmspc", parsed.fmspc),
            ("not_after", str(parsed.not_after)),
        )
        return digest

    def _check_uploader(self, ctx: Context, sender: str) -> None:
        try:
            self.authority.check(ctx, sender)
            return
        except AivmError:
            pass
        if self.roles is not None and self.roles.is_active(
            ctx, addr_bytes(sender), roles_pb2.ROLE_DATA
        ):
            return
        raise ErrUnauthorizedCollateral.wrap(
            f"{sender} is neither the params authority nor an active data validator"
        )

    def set_collateral(self, ctx: Context, record: V.TeeCollateral) -> None:
        """Write a collateral record."""
        self._store(ctx).set(COLLATERALS + record.digest, record.SerializeToString())

    def get_collateral(self, ctx: Context, digest: bytes) -> V.TeeCollateral | None:
        """A collateral record by digest, or None."""
        raw = self._store(ctx).get(COLLATERALS + digest)
        return None if raw is None else V.TeeCollateral.FromString(raw)

    def iterate_collaterals(self, ctx: Context) -> Iterator[V.TeeCollateral]:
        """Every collateral record, by digest."""
        for _, raw in PrefixStore(self._store(ctx), COLLATERALS).iterate():
            yield V.TeeCollateral.FromString(raw)

    def used_quotes(self, ctx: Context) -> list[bytes]:
        """Digests of every accepted quote."""
        return [key for key, _ in PrefixStore(self._store(ctx), USED_QUOTES).iterate()]

    def mark_used(self, ctx: Context, quote_digest: bytes, job_id: int) -> None:
        """Remember an accepted quote."""
        self._store(ctx).set(USED_QUOTES + quote_digest, keys.u64(job_id))

    # -- the check at result submission ---------------------------------------------------

    def check_result(
        self, ctx: Context, job: compute_pb2.Job, provider: bytes, msg: compute_pb2.MsgSubmitResult
    ) -> tee.AttestationVerdict:
        """Verify the provider's quote for this result (see the module docstring)."""
        record = self.get_model(ctx, job.model_id, job.version)
        assert record is not None  # tee_applies said so
        evidence = decode_evidence(msg.evidence)
        if not evidence.tee_quote:
            raise ErrTeeEvidenceMissing.wrap(
                f"model {job.model_id} v{job.version} needs a TEE quote with each result "
                "(evidence.tee_quote)"
            )
        collateral = self.get_collateral(ctx, evidence.tee_collateral_digest)
        if collateral is None:
            raise ErrInvalidEvidence.wrap(
                f"no collateral {evidence.tee_collateral_digest.hex()} on chain "
                "(`aivm query verify tee-collaterals`)"
            )
        gas = tee.verify_gas(len(evidence.tee_quote), len(collateral.json))
        ctx.gas_meter.consume(gas, "verify: TEE quote")
        account = self.accounts.get_account(ctx, provider)
        pubkey = account.pub_key if account is not None and account.pub_key else b""
        statuses = tuple(record.tee.accepted_tcb_statuses) or DEFAULT_STATUSES
        verdict = tee.verify_attestation(
            evidence.tee_quote,
            collateral.json,
            ctx.header.time_ns // 1_000_000_000,
            report_data=tee.expected_report_data(job.id, msg.output_digest, pubkey),
            allowed_measurements=list(record.tee.allowed_measurements),
            accepted_tcb_statuses=statuses,
        )
        if self._store(ctx).get(USED_QUOTES + verdict.quote_digest) is not None:
            raise ErrInvalidEvidence.wrap(f"quote {verdict.quote_digest.hex()} was used before")
        self.mark_used(ctx, verdict.quote_digest, job.id)
        ctx.emit(
            "verify_tee_quote",
            ("job_id", str(job.id)),
            ("provider", addr_str(provider)),
            ("tee_type", verdict.tee_type),
            ("tcb_status", verdict.tcb_status),
            ("quote_digest", verdict.quote_digest.hex()),
        )
        return verdict


def decode_evidence(raw: bytes) -> V.Evidence:
    """The Evidence message (empty bytes: no evidence); ErrInvalidEvidence when malformed or
    not canonical (one encoding per message)."""
    if len(raw) > MAX_EVIDENCE_BYTES:
        raise ErrInvalidEvidence.wrap(f"evidence over {MAX_EVIDENCE_BYTES} bytes")
    evidence = V.Evidence()
    try:
        evidence.ParseFromString(raw)
    except Exception:  # protobuf's DecodeError and friends: malformed bytes
        raise ErrInvalidEvidence.wrap("evidence is not an aivm.verify.v1.Evidence") from None
    if evidence.SerializeToString(deterministic=True) != raw:
        raise ErrInvalidEvidence.wrap("evidence is not in canonical protobuf form")
    return evidence


def check_requirement(requirement: V.TeeRequirement) -> None:
    """Sizes of the allow-list entries and known TCB statuses."""
    if len(requirement.allowed_measurements) > tee.MAX_ALLOWED_MEASUREMENTS:
        raise ErrInvalidTeeRequirement.wrap(
            f"at most {tee.MAX_ALLOWED_MEASUREMENTS} allowed measurements"
        )
    for entry in requirement.allowed_measurements:
        if len(entry) not in (32, 48, 240):
            raise ErrInvalidTeeRequirement.wrap(
                "a measurement is 32 (SGX MRENCLAVE), 48 (TDX MRTD) or 240 bytes (MRTD‖RTMR0-3)"
            )
    if requirement.required and not requirement.allowed_measurements:
        raise ErrInvalidTeeRequirement.wrap("a required TEE needs at least one allowed measurement")
    statuses = list(requirement.accepted_tcb_statuses)
    if len(statuses) > MAX_STATUSES or not set(statuses) <= set(tee.TCB_STATUSES):
        raise ErrInvalidTeeRequirement.wrap(f"TCB statuses must be among {list(tee.TCB_STATUSES)}")


def toploc_gas(blob_bytes: int) -> int:
    """Gas of checking a TOPLOC evidence blob's shape."""
    return TOPLOC_CHECK_GAS + TOPLOC_CHECK_GAS_PER_BYTE * blob_bytes


MAX_TOPLOC_CONTEXT = 1 << 16


def check_toploc_config(config: V.ToplocConfig) -> None:
    """A context in [1, 65536] and thresholds that parse (the mean as a decimal ≥ 0)."""
    if not 1 <= config.context <= MAX_TOPLOC_CONTEXT:
        raise ErrInvalidTeeRequirement.wrap(f"toploc context must be 1 to {MAX_TOPLOC_CONTEXT}")
    try:
        mean = Dec.from_str(config.max_mant_err_mean or "0")
    except (AivmError, ValueError):
        raise ErrInvalidTeeRequirement.wrap("toploc max_mant_err_mean must be a decimal") from None
    if mean.is_negative() or config.max_exp_mismatches > toploc.TOPK:
        raise ErrInvalidTeeRequirement.wrap("toploc thresholds out of range")


def check_circuit(circuit: V.ZkCircuit) -> None:
    """Settings parse (ezkl version, logrows, public inputs/outputs), a verifying key of a
    sane size, and the 388-byte verifier SRS matching its digest."""
    zk.parse_settings(circuit.settings)
    if not circuit.verifying_key or len(circuit.verifying_key) > zk.MAX_VERIFYING_KEY_BYTES:
        raise zk.ErrZkVerifyingKey.wrap(
            f"{len(circuit.verifying_key)} bytes: must be 1..{zk.MAX_VERIFYING_KEY_BYTES}"
        )
    if (
        len(circuit.srs) != zk.VERIFIER_SRS_BYTES
        or zk.srs_digest(circuit.srs) != circuit.srs_digest
    ):
        raise zk.ErrZkSrs.wrap(
            f"the SRS must be the {zk.VERIFIER_SRS_BYTES}-byte verifier form with its sha256"
        )


def evidence_digest(raw: bytes) -> bytes:
    """sha256 of a result's evidence bytes (the trail's attestation digest)."""
    return hashlib.sha256(raw).digest()
