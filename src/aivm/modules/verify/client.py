"""Python SDK for the ``verify`` module: the policy, a job's verification session and
attestation trail, a validator's duties, and committing / revealing verdicts.

Example::

    from aivm.client import Client

    with Client("http://127.0.0.1:26657") as client:
        verify = client.modules.verify
        for entry in verify.policy():
            print(entry.explanation)
        trail = verify.trail(7)                 # once job 7 is paid
        salt = verify.commit(wallet, 7, digest)  # a drawn AI validator
        verify.reveal(wallet, 7, digest, salt)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aivm.ai.verify import tee
from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.addr import addr_bytes
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.keeper import verdict_commitment
from aivm.modules.verify.queries import SERVICE
from aivm.types import pb

V = verify_pb2


@dataclass(frozen=True)
class Uploaded:
    """An uploaded collateral record: its tx and digest (hex)."""

    hash: str
    code: int
    digest: str


class VerifyClient:
    """``verify`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    # --- queries ---

    def params(self) -> verify_pb2.Params:
        """The verify params (policy, round timing, slash fractions)."""
        found = self.client.query(SERVICE + "Params", V.QueryParamsRequest(), V.QueryParamsResponse)
        return found.params

    def policy(self) -> list[verify_pb2.PolicyEntry]:
        """One entry per criticality: its rule, the methods available, an explanation."""
        found = self.client.query(SERVICE + "Policy", V.QueryPolicyRequest(), V.QueryPolicyResponse)
        return list(found.entries)

    def session(self, job_id: int) -> verify_pb2.Session:
        """A job's verification session (ChainError when it has none)."""
        found = self.client.query(
            SERVICE + "Session", V.QuerySessionRequest(job_id=job_id), V.QuerySessionResponse
        )
        return found.session

    def duties(self, validator: str) -> list[verify_pb2.Duty]:
        """The open rounds ``validator`` was drawn for and still has to commit or reveal in."""
        found = self.client.query(
            SERVICE + "Duties", V.QueryDutiesRequest(validator=validator), V.QueryDutiesResponse
        )
        return list(found.duties)

    def trail(self, job_id: int) -> verify_pb2.Trail:
        """A paid job's attestation trail (ChainError before it is paid)."""
        found = self.client.query(
            SERVICE + "Trail", V.QueryTrailRequest(job_id=job_id), V.QueryTrailResponse
        )
        return found.trail

    def model_verification(self, model_id: int, version: str) -> verify_pb2.ModelVerification:
        """How a model version is verified (TEE requirement, zk circuit)."""
        found = self.client.query(
            SERVICE + "ModelVerification",
            V.QueryModelVerificationRequest(model_id=model_id, version=version),
            V.QueryModelVerificationResponse,
        )
        return found.verification

    def tee_collateral(self, digest: bytes) -> verify_pb2.TeeCollateral:
        """A stored DCAP collateral record, with its JSON."""
        found = self.client.query(
            SERVICE + "TeeCollateral",
            V.QueryTeeCollateralRequest(digest=digest),
            V.QueryTeeCollateralResponse,
        )
        return found.collateral

    def tee_collaterals(self) -> list[verify_pb2.TeeCollateral]:
        """Stored DCAP collateral records (without their JSON)."""
        found = self.client.query(
            SERVICE + "TeeCollaterals",
            V.QueryTeeCollateralsRequest(),
            V.QueryTeeCollateralsResponse,
        )
        return list(found.collaterals)

    def upload_collateral(self, wallet: Wallet, raw: bytes, timeout: float = 30.0) -> Uploaded:
        """Upload DCAP collateral JSON (the params authority or an active data validator);
        the digest the chain stores it under (computed here the way the chain does)."""
        digest = tee.parse_collateral(raw).digest
        msg = V.MsgUpdateTeeCollateral(sender=wallet.address, json=raw)
        result = self._submit(wallet, msg, timeout)
        return Uploaded(result.hash, result.code, digest.hex())

    @staticmethod
    def decode_evidence(raw: bytes) -> verify_pb2.Evidence:
        """A result's evidence bytes as an Evidence message (empty when there is none)."""
        return V.Evidence.FromString(raw)

    @staticmethod
    def evidence(
        tee_quote: bytes = b"",
        tee_collateral_digest: bytes = b"",
        zk_proof: bytes = b"",
        toploc_proofs: bytes = b"",
    ) -> bytes:
        """Evidence bytes for MsgSubmitResult (canonical protobuf)."""
        message = V.Evidence(
            tee_quote=tee_quote,
            tee_collateral_digest=tee_collateral_digest,
            zk_proof=zk_proof,
            toploc_proofs=toploc_proofs,
        )
        return message.SerializeToString(deterministic=True)

    def set_model_verification(
        self,
        wallet: Wallet,
        model_id: int,
        version: str,
        *,
        tee: verify_pb2.TeeRequirement | None = None,
        zk: verify_pb2.ZkCircuit | None = None,
        toploc: verify_pb2.ToplocConfig | None = None,
        timeout: float = 30.0,
    ) -> TxResult:
        """The model owner registers a TEE requirement, a zk circuit and/or a TOPLOC config
        for a version."""
        msg = V.MsgSetModelVerification(owner=wallet.address, model_id=model_id, version=version)
        if toploc is not None:
            msg.toploc.CopyFrom(toploc)
        if tee is not None:
            msg.tee.CopyFrom(tee)
        if zk is not None:
            msg.zk.CopyFrom(zk)
        return self._submit(wallet, msg, timeout)

    # --- transactions ---

    def commit(
        self,
        wallet: Wallet,
        job_id: int,
        output_digest: bytes,
        salt: bytes | None = None,
        timeout: float = 30.0,
        zk_valid: bool = False,
        toploc_valid: bool = False,
    ) -> bytes:
        """Commit to ``output_digest`` (and, in a zk session, to whether the proofs passed
        this validator's check) for the current round of ``job_id``; returns the salt (keep
        it: the reveal needs it)."""
        salt = salt or secrets.token_bytes(32)
        round_ = self.session(job_id).round
        commitment = verdict_commitment(
            job_id,
            round_,
            addr_bytes(wallet.address),
            output_digest,
            salt,
            zk_valid,
            toploc_valid,
        )
        msg = V.MsgCommitVerdict(validator=wallet.address, job_id=job_id, commitment=commitment)
        self._submit(wallet, msg, timeout)
        return salt

    def reveal(
        self,
        wallet: Wallet,
        job_id: int,
        output_digest: bytes,
        salt: bytes,
        comparison_data: bytes = b"",
        timeout: float = 30.0,
        zk_valid: bool = False,
        toploc_valid: bool = False,
    ) -> TxResult:
        """Reveal a committed verdict (with the output inline for tolerance/token rules)."""
        msg = V.MsgRevealVerdict(
            validator=wallet.address,
            job_id=job_id,
            output_digest=output_digest,
            comparison_data=comparison_data,
            salt=salt,
            zk_valid=zk_valid,
            toploc_valid=toploc_valid,
        )
        return self._submit(wallet, msg, timeout)


CLIENT = VerifyClient
