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

Optimistic verification (a DSM job's provider posts a trace commitment; a bonded challenger
who computes a different trace disputes it, :mod:`aivm.ai.verify.bisection`)::

    from aivm.ai.verify import trace

    mine = trace.commit_trace(trace.dsm_trace_hashes(program, rows))
    opening = trace.open_output(mine)
    verify.open_dispute(wallet, 7, provider, mine.root, opening.leaf, opening.step_proof)
    game = verify.disputes(7)[-1]               # lo, hi, whose turn, deadline
    mid = (game.lo + game.hi) // 2
    verify.bisect(wallet, 7, mine.leaves[mid], trace.prove_step(mine, mid))
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aivm.ai.verify import tee, trace
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


def enum_name(enum: Any, value: int, prefix: str) -> str:
    """``bisect``, ``provider``, ``timeout``, … ("" for the zero value)."""
    return "" if not value else enum.Name(value).removeprefix(prefix).lower()


def next_move(d: verify_pb2.Dispute) -> str:
    """What the game waits for, in words."""
    if d.status == verify_pb2.DISPUTE_STATUS_BISECT:
        who = enum_name(verify_pb2.Party, d.turn, "PARTY_")
        return f"{who} posts its leaf at step {(d.lo + d.hi) // 2} by height {d.deadline}"
    if d.status == verify_pb2.DISPUTE_STATUS_FINAL and d.float_model:
        if d.vote_pending:
            return f"AI validators vote on the provider's step {d.hi} (vote round {d.vote_rounds})"
        return (
            f"the provider opens the inputs of the node of step {d.hi} and its claimed output "
            f"(final-step --claimed) by height {d.deadline}; then AI validators vote"
        )
    if d.status == verify_pb2.DISPUTE_STATUS_FINAL:
        return (
            f"final step of operator {d.hi - 1} (tensors ≤ {d.lo} opened under lo_leaf); "
            f"the provider must send it by height {d.deadline}"
        )
    return ""


def dispute_summary(d: verify_pb2.Dispute) -> str:
    """One line on a dispute game: the parties, its state or outcome."""
    parties = f"challenger {d.challenger} vs provider {d.provider}"
    if d.status == verify_pb2.DISPUTE_STATUS_DONE:
        winner = enum_name(verify_pb2.Party, d.winner, "PARTY_")
        how = enum_name(verify_pb2.DisputeOutcome, d.outcome, "DISPUTE_OUTCOME_")
        at = f" at operator {d.hi - 1}" if d.outcome == verify_pb2.DISPUTE_OUTCOME_EXECUTION else ""
        paid = f"; the {winner} received {d.paid}ucgpt" if d.paid not in ("", "0") else ""
        return f"{parties}: {winner} won by {how}{at} at height {d.finished_height}{paid}"
    if d.status == verify_pb2.DISPUTE_STATUS_CANCELLED:
        return f"{parties}: {d.detail or 'cancelled'} (bond returned)"
    return f"{parties}: open, steps {d.lo}..{d.hi} of {d.n}; {next_move(d)}"


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

    def disputes(self, job_id: int) -> list[verify_pb2.Dispute]:
        """Every dispute game of a job, oldest first (decided ones included)."""
        found = self.client.query(
            SERVICE + "Disputes", V.QueryDisputesRequest(job_id=job_id), V.QueryDisputesResponse
        )
        return list(found.disputes)

    def open_disputes(self, party: str | None = None) -> list[verify_pb2.Dispute]:
        """Undecided games (at most 200), only those ``party`` plays in when given."""
        found = self.client.query(
            SERVICE + "OpenDisputes",
            V.QueryOpenDisputesRequest(party=party or ""),
            V.QueryOpenDisputesResponse,
        )
        return list(found.disputes)

    def challengeable(self) -> list[verify_pb2.Challengeable]:
        """Optimistic sessions still taking disputes (job_id, challenge_end_height)."""
        found = self.client.query(
            SERVICE + "Challengeable",
            V.QueryChallengeableRequest(),
            V.QueryChallengeableResponse,
        )
        return list(found.jobs)

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
        trace_commitment: trace.TraceCommitment | None = None,
        trace_output_shape: Sequence[int] = (),
    ) -> bytes:
        """Evidence bytes for MsgSubmitResult (canonical protobuf); ``trace_commitment``
        fills the optimistic fields: its root, step count and the opening of its output
        (with ``trace_output_shape``, the float32 output's shape, for a float model)."""
        message = V.Evidence(
            tee_quote=tee_quote,
            tee_collateral_digest=tee_collateral_digest,
            zk_proof=zk_proof,
            toploc_proofs=toploc_proofs,
        )
        if trace_commitment is not None:
            opening = trace.open_output(trace_commitment)
            message.trace_root = trace_commitment.root
            message.trace_steps = trace_commitment.n_steps
            message.trace_output_leaf = opening.leaf
            message.trace_output_step_proof.extend(opening.step_proof)
            message.trace_output_tensor_proof.extend(opening.tensor_proof)
            message.trace_output_shape.extend(trace_output_shape)
        return message.SerializeToString(deterministic=True)

    @staticmethod
    def dispute_summary(d: verify_pb2.Dispute) -> str:
        """One line on a dispute game (:func:`dispute_summary`)."""
        return dispute_summary(d)

    @staticmethod
    def output_opening(evidence: verify_pb2.Evidence) -> trace.OutputOpening:
        """The opening of the output an Evidence carries (``trace.verify_output`` checks it)."""
        return trace.OutputOpening(
            bytes(evidence.trace_output_leaf),
            tuple(bytes(p) for p in evidence.trace_output_step_proof),
            tuple(bytes(p) for p in evidence.trace_output_tensor_proof),
        )

    @staticmethod
    def trace_tensor(
        index: int, array: npt.NDArray[Any], proof: Sequence[bytes]
    ) -> verify_pb2.TraceTensor:
        """Tensor ``index`` of a trace for MsgFinalStep, with the proof of its hash under a
        leaf (``trace.prove_tensor(commitment, lo, index)``): a DSM tensor (2-D int64) as rows
        and cols, a float model's (float32, any shape) with ``dtype`` and ``shape``."""
        if np.issubdtype(array.dtype, np.floating):
            floats = np.ascontiguousarray(array, dtype="<f4")
            return V.TraceTensor(
                index=index,
                dtype="float32",
                shape=list(floats.shape),
                data=floats.tobytes(),
                proof=list(proof),
            )
        values = np.ascontiguousarray(array, dtype="<i8")
        if values.ndim != 2:
            raise ValueError(f"tensor {index} must be 2-D, not {values.ndim}-D")
        rows, cols = values.shape
        return V.TraceTensor(
            index=index, rows=rows, cols=cols, data=values.tobytes(), proof=list(proof)
        )

    def set_model_verification(
        self,
        wallet: Wallet,
        model_id: int,
        version: str,
        *,
        tee: verify_pb2.TeeRequirement | None = None,
        zk: verify_pb2.ZkCircuit | None = None,
        toploc: verify_pb2.ToplocConfig | None = None,
        optimistic_float: bool = False,
        timeout: float = 30.0,
    ) -> TxResult:
        """The model owner registers a TEE requirement, a zk circuit and/or a TOPLOC config
        for a version, and/or declares an ONNX tolerance version traceable for optimistic
        verification (``optimistic_float``: its last disputed step is voted on)."""
        msg = V.MsgSetModelVerification(
            owner=wallet.address,
            model_id=model_id,
            version=version,
            optimistic_float=optimistic_float,
        )
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
        step_valid: bool = False,
    ) -> bytes:
        """Commit to ``output_digest`` (and, in a zk session, to whether the proofs passed
        this validator's check; in a float dispute's vote, to whether the provider's step is
        right) for the current round of ``job_id``; returns the salt (keep it: the reveal
        needs it)."""
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
            step_valid,
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
        step_valid: bool = False,
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
            step_valid=step_valid,
        )
        return self._submit(wallet, msg, timeout)

    def open_dispute(
        self,
        wallet: Wallet,
        job_id: int,
        provider: str,
        trace_root: bytes,
        last_leaf: bytes,
        last_proof: Sequence[bytes],
        artifact: bytes = b"",
        timeout: float = 30.0,
    ) -> TxResult:
        """Dispute ``provider``'s trace of ``job_id`` with this challenger's own: its root, its
        last leaf ``P_n`` and that leaf's proof (``trace.open_output(mine)``: ``leaf``,
        ``step_proof``). The dispute bond (params) moves to the verify module account. With
        the DSM ``artifact``, a provider trace whose step count is not the model's operator
        count loses at once."""
        msg = V.MsgOpenDispute(
            challenger=wallet.address,
            job_id=job_id,
            provider=provider,
            trace_root=trace_root,
            last_leaf=last_leaf,
            last_proof=list(last_proof),
            artifact=artifact,
        )
        return self._submit(wallet, msg, timeout)

    def bisect(
        self,
        wallet: Wallet,
        job_id: int,
        leaf: bytes,
        proof: Sequence[bytes],
        timeout: float = 30.0,
    ) -> TxResult:
        """Post this party's leaf at the round's mid step ``(lo + hi) // 2`` of the job's open
        game, with its proof (``trace.prove_step(mine, mid)``)."""
        msg = V.MsgBisect(sender=wallet.address, job_id=job_id, leaf=leaf, proof=list(proof))
        return self._submit(wallet, msg, timeout)

    def final_step(
        self,
        wallet: Wallet,
        job_id: int,
        artifact: bytes,
        inputs: Sequence[verify_pb2.TraceTensor],
        peaks: Sequence[bytes],
        claimed: verify_pb2.TraceTensor | None = None,
        timeout: float = 30.0,
    ) -> TxResult:
        """Decide a final game (``hi == lo + 1``): the DSM artifact, the input tensors of
        operator ``hi - 1`` (:meth:`trace_tensor`, in ``trace.operator_sources`` order) and the
        peaks of the agreed prefix (``trace.prove_prefix(mine, lo)``). For a float model the
        provider sends no artifact and no peaks but the node's inputs and its ``claimed``
        tensor ``hi`` (proved under its own leaf ``P_hi``): AI validators vote on it."""
        msg = V.MsgFinalStep(
            sender=wallet.address, job_id=job_id, artifact=artifact, peaks=list(peaks)
        )
        msg.inputs.extend(inputs)
        if claimed is not None:
            msg.claimed.CopyFrom(claimed)
        return self._submit(wallet, msg, timeout)


CLIENT = VerifyClient
