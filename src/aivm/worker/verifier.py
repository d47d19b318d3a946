"""The AI-validator verifier: re-executes the compute jobs this validator was drawn for and
commits, then reveals, its verdicts (``aivm verifier start``).

Each block it reads its duties (``/aivm.verify.v1.Query/Duties``):

- **commit**: fetch the job's model (by CID, sha256-checked, cached) and input (inline or by
  CID, digest-checked), run it exactly as a provider does (:func:`aivm.worker.node.
  runner_output`: onnxruntime, one job at a time; token generation for token-rule models; one
  loaded model per artifact digest, kept between jobs) and commit
  ``sha256(domain ‖ job ‖ round ‖ address ‖ output digest ‖ zk flag ‖ salt)`` with a fresh
  32-byte salt. The output digest, the inline output and the salt are written to
  ``<home>/verifier/verdicts.json`` *before* the commit is sent, so a restarted verifier can
  still reveal.
  In a session with a pending **zk** method it also checks every accepted provider's EZKL
  proof (:func:`aivm.worker.zk_prover.verify_proof`: the KZG pairing the chain does not run,
  plus the binding to the job's input and the claimed output) and commits that verdict too;
  a zk-only session needs no re-execution (the accepted digest is committed as the output).
- **reveal**: send the digest, the inline output (tolerance and token rules), the zk verdict
  and the salt.
- **step votes** (a float model's dispute narrowed to one node, ``Session.step_vote``): read
  the job's undecided dispute, check that the opened tensors are exactly the node's input
  steps, re-run that one ONNX node on them (:func:`aivm.worker.disputes.step_verdict`) and
  commit, then reveal, ``step_valid`` (the provider's claim is within the model's tolerance);
  the committed digest is the job's accepted output digest (the round judges the step only).

**Challenger** (``aivm verifier start --challenge``; any funded account, no role needed):
each block it also reads ``/aivm.verify.v1.Query/Challengeable`` (sessions whose optimistic
challenge window is open). For each job not yet checked whose model version is a DSM program
(``aivm-dsm/1``) or an ONNX model compared by ``tolerance`` and declared ``optimistic_float``
by its owner it fetches the artifact and the
inline input, recomputes the execution trace and its commitment, and compares the root with
every accepted provider's evidence (``Evidence.trace_root``). On a difference (for a float
model: only when its own output also differs from the provider's beyond the model's
tolerance — two honest machines' float traces may differ bitwise) it opens a dispute against
that provider (``MsgOpenDispute`` with its root and last leaf; the chain takes
``dispute_bond`` from it) and keeps its trace in ``<home>/verifier/traces/<job>.npz``; it then
plays its side of the game every block (:class:`aivm.worker.disputes.Player`: ``MsgBisect``
when its turn comes, ``MsgFinalStep`` once a DSM game is narrowed to one operator; a float
game's last step is opened by the provider and decided by a vote). What it checked is
journalled in ``<home>/verifier/challenges.json`` (one entry per job: ``agrees``,
``disputed``, ``refused``, ``skipped``), so a restart neither re-checks nor disputes twice.

**Hardware checks** (compute validators): each block the daemon commits, then reveals, the
workload digest of every open hardware challenge on this wallet's committee
(:func:`aivm.worker.hardware_checks.verify_hardware_challenges`; digests computed once per
challenge, on a background thread so that re-execution duties never wait for them).
``compute_checks``: True always, False never, None (default) when the wallet is
a registered operator of the roles module's ``compute`` role (looked up at start and every
:data:`ROLE_RECHECK_BLOCKS` blocks). Errors are logged, never fatal.

Test hooks (never set in production): ``AIVM_VERIFIER_FAULT=wrong-verdict`` commits the
digest of an altered output (a lying validator; in a step vote the inverted ``step_valid``);
``=silent`` commits but never reveals;
``=copy-provider`` never runs the model and commits the accepted result's digest (a lazy
validator vouching for whatever the provider said; in a step vote ``step_valid`` true);
``=false-dispute`` makes a challenger tamper with its own trace
(:func:`aivm.worker.disputes.tampered`, for a float model
:func:`aivm.worker.disputes.tampered_float`) and dispute honest results (it must lose the game
and its bond).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import requests

import aivm.modules.verify.verify_pb2 as V
from aivm.ai import runtime
from aivm.ai.verify import toploc, zk
from aivm.ai.verify.hardware import workload_digest
from aivm.client.client import Client
from aivm.client.errors import ChainError, ClientError
from aivm.client.storage import StorageClient, StorageError
from aivm.client.wallet import Wallet
from aivm.types.errors import AivmError
from aivm.worker import disputes, formats, hardware_checks, toploc_lm, zk_prover
from aivm.worker.blocks import BlockFollower
from aivm.worker.node import fetch_artifact, runner_output, wrong
from aivm.worker.runner import DsmRunner, ModelRunner, Runner, load_runner

FAULT_ENV = "AIVM_VERIFIER_FAULT"
PENDING = 1
"""``aivm.verify.v1.METHOD_STATUS_PENDING`` (the worker reads sessions through the SDK)."""
METHOD_NAMES = {1: "REEXECUTION", 2: "OPTIMISTIC", 3: "ZK", 4: "TOPLOC", 5: "TEE", 6: "SAMPLING"}
"""``aivm.verify.v1.Method`` numbers by name."""
TRACE_SWEEP_BLOCKS = 10
"""The challenger drops traces and journal entries of finished windows this often."""
ROLE_RECHECK_BLOCKS = 50
"""How often (blocks) the daemon looks up whether its wallet is a compute-role operator."""
FLOAT_FORMAT = "onnx"
UNDECIDED = (V.DISPUTE_STATUS_BISECT, V.DISPUTE_STATUS_FINAL)
Log = Callable[[str], None]


@dataclass(frozen=True)
class ProviderCheck:
    """One accepted provider's evidence, checked here."""

    provider: str
    ok: bool
    detail: str


def accepted_evidence(verify: Any, job: Any) -> list[tuple[Any, Any]]:
    """(assignment, Evidence) of every provider whose result is the accepted one."""
    return [
        (a, verify.decode_evidence(bytes(a.result.evidence)))
        for a in job.assignments
        if bytes(a.result.output_digest) == bytes(job.output_digest)
    ]


def zk_checks(verify: Any, job: Any) -> list[ProviderCheck]:
    """Each accepted provider's EZKL proof through the full check (the pairing the chain
    leaves to the committee) and the binding to the job's input and claimed output."""
    found = [(a, e) for a, e in accepted_evidence(verify, job) if e.zk_proof]
    if not found:
        return []
    circuit = verify.model_verification(job.model_id, job.version).zk
    out = []
    for a, evidence in found:
        try:
            verdict = zk_prover.verify_proof(
                bytes(evidence.zk_proof),
                bytes(circuit.settings),
                bytes(circuit.verifying_key),
                bytes(circuit.srs),
                expected_srs_digest=bytes(circuit.srs_digest),
            )
            zk.check_binding(
                verdict,
                job_input=bytes(job.input_inline),
                settings=zk.parse_settings(bytes(circuit.settings)),
                claimed_output_digest=bytes(a.result.output_digest),
            )
        except AivmError as exc:
            out.append(ProviderCheck(a.provider, False, str(exc)))
            continue
        out.append(ProviderCheck(a.provider, True, "pairing and binding hold"))
    return out


def toploc_checks(
    verify: Any, job: Any, runner: ModelRunner, prompt_ids: list[int]
) -> list[ProviderCheck]:
    """Each accepted provider's TOPLOC fingerprints against a prefill over the prompt and
    its claimed tokens on ``runner``, with the version's registered thresholds."""
    found = [(a, e) for a, e in accepted_evidence(verify, job) if e.toploc_proofs]
    if not found:
        return []
    config = verify.model_verification(job.model_id, job.version).toploc
    thresholds = toploc.Thresholds(
        max_exp_mismatches=config.max_exp_mismatches,
        max_mant_err_mean=Fraction(config.max_mant_err_mean or "0"),
        max_mant_err_median=config.max_mant_err_median,
    )
    out = []
    for a, evidence in found:
        try:
            result = toploc_lm.verify_generation(
                runner.session,
                prompt_ids,
                formats.decode_tokens(bytes(a.result.comparison_data)),
                bytes(evidence.toploc_proofs),
                context=config.context or runner.context,
                thresholds=thresholds,
                greedy=config.greedy,
            )
        except AivmError as exc:
            out.append(ProviderCheck(a.provider, False, str(exc)))
            continue
        detail = "fingerprints match the prefill" if result.accepted else result.reason
        out.append(ProviderCheck(a.provider, result.accepted, detail))
    return out


class VerdictJournal:
    """Committed verdicts not yet revealed, by ``job/round`` (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, str]] = {}
        if path.exists():
            self.entries = json.loads(path.read_text())

    def put(self, key: str, entry: dict[str, str]) -> None:
        """Record (and flush) one verdict."""
        self.entries[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1))
        tmp.replace(self.path)

    def drop(self, key: str) -> None:
        """Forget a revealed verdict."""
        if self.entries.pop(key, None) is not None:
            self.put_all()

    def put_all(self) -> None:
        """Rewrite the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=1))


class VerifierNode:
    """An AI validator's re-execution daemon (see the module docstring)."""

    def __init__(
        self,
        home: Path,
        wallet: Wallet,
        client: Client,
        rest: str,
        log: Log | None = None,
        challenge: bool = False,
        compute_checks: bool | None = None,
    ) -> None:
        self.home = home / "verifier"
        self.wallet = wallet
        self.address = wallet.address
        self.client = client
        self.compute: Any = client.modules.compute
        self.ai: Any = client.modules.ai
        self.verify: Any = client.modules.verify
        self.storage = StorageClient(rest)
        self.journal = VerdictJournal(self.home / "verdicts.json")
        self.log: Log = log or (lambda line: print(line, flush=True))
        self.fault = os.environ.get(FAULT_ENV, "")
        self.runners: dict[bytes, Runner] = {}
        """One loaded model per artifact digest (loading a session costs ~100 runs)."""
        self.challenge = challenge
        """Also check optimistic results and dispute wrong traces (``--challenge``)."""
        self.checked = VerdictJournal(self.home / "challenges.json")
        self.traces = disputes.TraceStore(self.home / "traces")
        self.player = disputes.Player(client, wallet, self._dispute_source, self.log)
        self.height = 0
        self.last_sweep = -(10**9)
        self.compute_checks = compute_checks
        """Hardware-check duties: True, False, or None (when registered in the compute role)."""
        self.compute_role: bool | None = None
        self.role_checked = -(10**9)
        self.hardware_failed = False
        self.workload = hardware_checks.BackgroundWorkload(workload_digest)
        """The hardware workload, on a background thread, each challenge's digest computed
        once (commit and reveal)."""

    def run(self, stop: threading.Event, rpc: str, poll_seconds: float = 0.5) -> None:
        """One :meth:`step` per new block until ``stop`` is set."""
        follower = BlockFollower(rpc, poll_seconds, self.log)
        follower.start()
        try:
            height = follower.wait_beyond(0, 30)
            role = " (and challenger)" if self.challenge else ""
            self.log(f"verifier{role} {self.address} started at height {height}")
            while not stop.is_set():
                try:
                    self.step(height)
                except (ClientError, requests.RequestException, OSError) as exc:
                    self.log(f"round at height {height} failed: {exc}; retrying next block")
                except Exception as exc:  # a long-lived daemon logs a bug and keeps going
                    self.log(f"round at height {height} failed: {type(exc).__name__}: {exc}")
                height = follower.wait_beyond(height, 5)
        finally:
            follower.stop()

    def step(self, height: int = 0) -> None:
        """Serve every duty the chain shows for this validator; as a challenger, check the
        challengeable jobs and move in its disputes."""
        self.height = height
        if self.challenge:
            try:
                self._challenge(height)
            except ChainError as exc:
                self.log(f"challenges not checked at height {height}: {exc}")
        self._hardware(height)
        for duty in self.verify.duties(self.address):
            key = f"{duty.job_id}/{duty.round}"
            if duty.action == "commit" and key not in self.journal.entries:
                self._commit(duty.job_id, key)
            elif duty.action == "reveal":
                self._reveal(duty.job_id, key)

    # -- hardware checks (compute validators) ----------------------------------------------

    def _hardware_duty(self, height: int) -> bool:
        """Whether to serve hardware-check committees (see the module docstring)."""
        if self.compute_checks is not None:
            return self.compute_checks
        if self.compute_role is None or height - self.role_checked >= ROLE_RECHECK_BLOCKS:
            self.role_checked = height
            try:
                found = self.client.modules.roles.operator(self.address, "compute")
                self.compute_role = bool(found.operator.operator)
            except (ChainError, AttributeError):
                self.compute_role = False
        return bool(self.compute_role)

    def _hardware(self, height: int) -> None:
        """Commit or reveal this validator's hardware-check verdicts (errors logged)."""
        try:
            if not self._hardware_duty(height):
                return
            report = hardware_checks.verify_hardware_challenges(
                self.client, self.wallet, self.workload
            )
        except (ClientError, requests.RequestException, OSError, AivmError) as exc:
            if not self.hardware_failed:
                self.log(f"hardware checks not served at height {height}: {exc}")
            self.hardware_failed = True
            return
        self.hardware_failed = False
        for challenge_id in report.committed:
            self.log(f"hardware challenge {challenge_id}: committed a verdict")
        for challenge_id in report.revealed:
            self.log(f"hardware challenge {challenge_id}: revealed its verdict")

    # -- the challenger -------------------------------------------------------------------

    def _challenge(self, height: int) -> None:
        """Check each challengeable job once; move in every game; forget finished windows."""
        open_jobs = {int(c.job_id) for c in disputes.challengeable(self.client)}
        for job_id in sorted(open_jobs):
            if str(job_id) not in self.checked.entries:
                self._check_trace(job_id)
        playing = {int(d.job_id) for d in self.player.step()}
        if height - self.last_sweep < TRACE_SWEEP_BLOCKS:
            return
        self.last_sweep = height
        live = open_jobs | playing
        for job_id in self.traces.job_ids():
            if job_id not in live:
                self.traces.drop(job_id)
        for key in [k for k in self.checked.entries if int(k) not in live]:
            self.checked.drop(key)

    def _check_trace(self, job_id: int) -> None:
        """Recompute a DSM or float job's trace and dispute the first accepted provider whose
        trace root differs (a float model's: and whose output is beyond the tolerance of the
        one computed here); journalled either way."""
        key = str(job_id)
        job = self.compute.job(job_id)
        version = self.ai.version(job.model_id, job.version)
        if not self._optimistic_kind(version):
            self.checked.put(key, {"state": "skipped", "detail": "not a DSM or float model"})
            return
        claimed = [
            (a, e)
            for a, e in accepted_evidence(self.verify, job)
            if e.trace_root and a.provider != self.address
        ]
        if not claimed:
            self.checked.put(key, {"state": "skipped", "detail": "no trace evidence"})
            return
        try:
            kept = self._own_trace(job, version)
        except (StorageError, formats.FormatError, requests.RequestException) as exc:
            self.log(f"job {job_id}: cannot recompute the trace ({exc}); not checked")
            self.checked.put(key, {"state": "skipped", "detail": str(exc)[:200]})
            return
        root = kept.commitment.root
        wrong_ones = [a for a, e in claimed if bytes(e.trace_root) != root]
        if kept.is_float:
            close = [a for a in wrong_ones if self._within_tolerance(version, kept, a)]
            for a in close:
                self.log(
                    f"job {job_id}: {a.provider}'s trace root differs but its output is within "
                    "tolerance of the one computed here; not disputed"
                )
            wrong_ones = [a for a in wrong_ones if a not in close]
        if not wrong_ones:
            self.checked.put(key, {"state": "agrees", "root": root.hex()})
            self.log(f"job {job_id}: trace root {root.hex()[:16]}… agrees with the provider(s)")
            return
        provider = wrong_ones[0].provider
        self.traces.put(job_id, kept)
        self.checked.put(key, {"state": "disputed", "provider": provider, "root": root.hex()})
        msg = disputes.open_dispute_msg(self.address, job_id, provider, kept)
        steps = {a.provider: int(e.trace_steps) for a, e in claimed}
        if not kept.is_float and steps[provider] != kept.commitment.n_steps:
            # no proof of ours opens against a tree of another size: show the model instead
            msg.artifact = self._runner(version).artifact
        try:
            result = disputes.send(self.client, self.wallet, msg)
        except ChainError as exc:
            self.checked.put(key, {"state": "refused", "detail": str(exc)[:200]})
            self.log(f"job {job_id}: dispute against {provider} refused: {exc}")
            return
        if not result.ok:
            self.checked.put(key, {"state": "refused", "detail": result.log[:200]})
            self.log(f"job {job_id}: dispute against {provider} failed: {result.log}")
            return
        self.log(
            f"job {job_id}: trace root {root.hex()[:16]}… differs from {provider}'s; "
            f"opened a dispute at height {result.height}"
        )

    def _optimistic_kind(self, version: Any) -> str:
        """``dsm`` or ``float`` for a version optimistic verification runs on, else empty."""
        if version.format == runtime.FORMAT:
            return "dsm"
        if version.format != FLOAT_FORMAT or formats.comparison_rule(version) != "tolerance":
            return ""
        try:
            found = self.verify.model_verification(int(version.model_id), version.version)
        except ChainError:
            return ""
        return "float" if found.optimistic_float else ""

    def _within_tolerance(self, version: Any, kept: disputes.KeptTrace, assignment: Any) -> bool:
        """Whether a provider's inline float output has this trace's output shape and is
        within the model's tolerance of it."""
        evidence = self.verify.decode_evidence(bytes(assignment.result.evidence))
        if tuple(evidence.trace_output_shape) != tuple(kept.output.shape):
            return False
        ours = np.ascontiguousarray(kept.output, dtype="<f4").tobytes()
        theirs = bytes(assignment.result.comparison_data)
        return disputes.tolerance_of(version)(ours, theirs)

    def _own_trace(self, job: Any, version: Any) -> disputes.KeptTrace:
        """This challenger's trace of ``job`` (tampered under the false-dispute hook)."""
        runner = self._runner(version)
        data = formats.decode_tensor_input(self._input(job))
        if isinstance(runner, ModelRunner):
            problem = runner.trace_problem()
            if problem:
                raise formats.FormatError(problem)
            tensors = runner.trace(runner.check_input(data))
            if self.fault == "false-dispute":
                tensors = disputes.tampered_float(tensors)
                self.log(f"job {job.id}: tampered with its own trace ({FAULT_ENV})")
            return disputes.KeptTrace.of(tensors)
        rows = runner.check_input(data)
        dsm = runner.trace(rows)
        if self.fault == "false-dispute":
            dsm = disputes.tampered(runner.program, dsm)
            self.log(f"job {job.id}: tampered with its own trace ({FAULT_ENV})")
        return disputes.KeptTrace.of(dsm)

    def _dispute_source(self, job_id: int) -> tuple[disputes.KeptTrace, Any, bytes] | None:
        """The kept trace of a disputed job (recomputed if lost) with its DSM program and
        artifact, or None and the ONNX model's bytes for a float model."""
        job = self.compute.job(job_id)
        version = self.ai.version(job.model_id, job.version)
        if not self._optimistic_kind(version):
            return None
        runner = self._runner(version)
        kept = self.traces.get(job_id)
        if kept is None:
            kept = self._own_trace(job, version)
            self.traces.put(job_id, kept)
        if isinstance(runner, DsmRunner):
            return kept, runner.program, runner.artifact
        return kept, None, runner.artifact

    def _commit(self, job_id: int, key: str) -> None:
        session = self.verify.session(job_id)
        if session.step_vote:
            self._commit_step(job_id, int(session.round), key)
            return
        job = self.compute.job(job_id)
        version = self.ai.version(job.model_id, job.version)
        rule = formats.comparison_rule(version)
        pending = _pending(session)
        output, inline = bytes(job.output_digest), b""
        if pending & {"REEXECUTION", "SAMPLING"}:
            try:
                found = self._copied(job) if self.fault == "copy-provider" else None
                found = found if found is not None else self._execute(job, version, rule)
            except (StorageError, formats.FormatError, requests.RequestException) as exc:
                self.log(f"job {job_id}: cannot re-execute ({exc}); no verdict")
                return
            if self.fault == "wrong-verdict":
                changed = wrong(formats.Output(found, "", ()), rule)
                found = changed.data if changed is not None else found
                self.log(f"job {job_id}: altered the verdict ({FAULT_ENV})")
            output = hashlib.sha256(found).digest()
            inline = found if formats.carries_comparison_data(rule) else b""
        zk_valid = toploc_valid = False
        if "ZK" in pending:
            zk_valid = self._zk_valid(job) if self.fault != "copy-provider" else True
            zk_valid = not zk_valid if self.fault == "wrong-verdict" else zk_valid
        if "TOPLOC" in pending:
            if self.fault == "copy-provider":
                toploc_valid = True
            else:
                try:
                    toploc_valid = self._toploc_valid(job, version)
                except (StorageError, formats.FormatError, requests.RequestException) as exc:
                    self.log(f"job {job_id}: cannot run the prefill ({exc}); no verdict")
                    return
            toploc_valid = not toploc_valid if self.fault == "wrong-verdict" else toploc_valid
        digest = output
        salt = os.urandom(32)
        entry = {"digest": digest.hex(), "data": inline.hex(), "salt": salt.hex()}
        entry["zk_valid"] = "1" if zk_valid else ""
        entry["toploc_valid"] = "1" if toploc_valid else ""
        self.journal.put(key, entry)
        try:
            self.verify.commit(
                self.wallet, job_id, digest, salt, zk_valid=zk_valid, toploc_valid=toploc_valid
            )
        except ChainError as exc:
            self.log(f"job {job_id}: commit refused: {exc}")
            self.journal.drop(key)
            return
        agrees = digest == bytes(job.output_digest)
        zk_text = f", zk proofs {'valid' if zk_valid else 'INVALID'}" if "ZK" in pending else ""
        if "TOPLOC" in pending:
            zk_text += f", TOPLOC {'matches' if toploc_valid else 'DOES NOT MATCH'}"
        self.log(
            f"job {job_id}: committed a verdict (digest {'=' if agrees else '≠'} accepted{zk_text})"
        )

    # -- votes on a float dispute's step ----------------------------------------------------

    def _commit_step(self, job_id: int, round_: int, key: str) -> None:
        """Commit this validator's verdict on the opened step of the job's float dispute."""
        dispute = self._voted_dispute(job_id)
        if dispute is None:
            self.log(f"job {job_id}: step vote without an opened dispute; no verdict")
            return
        job = self.compute.job(job_id)
        version = self.ai.version(job.model_id, job.version)
        if self.fault == "copy-provider":
            verdict = disputes.StepVerdict(True, f"vouched for the provider ({FAULT_ENV})")
        else:
            try:
                runner = self._runner(version)
            except (StorageError, formats.FormatError, requests.RequestException) as exc:
                self.log(f"job {job_id}: cannot load the model ({exc}); no verdict")
                return
            verdict = disputes.step_verdict(
                runner.artifact, dispute, disputes.tolerance_of(version)
            )
        valid = verdict.valid
        if self.fault == "wrong-verdict":
            valid = not valid
            self.log(f"job {job_id}: inverted the step verdict ({FAULT_ENV})")
        digest = bytes(job.output_digest)
        salt = os.urandom(32)
        entry = {"digest": digest.hex(), "data": "", "salt": salt.hex(), "step": "1"}
        entry["step_valid"] = "1" if valid else ""
        self.journal.put(key, entry)
        commitment = disputes.step_commitment(
            job_id, round_, self.wallet.address_bytes, digest, salt, valid
        )
        msg = V.MsgCommitVerdict(validator=self.address, job_id=job_id, commitment=commitment)
        if not self._sent(job_id, "commit", msg):
            self.journal.drop(key)
            return
        self.log(
            f"job {job_id}: committed a step verdict on dispute {dispute.number} step "
            f"{dispute.hi}: {'VALID' if valid else 'INVALID'} ({verdict.detail})"
        )

    def _voted_dispute(self, job_id: int) -> Any | None:
        """The job's undecided dispute whose step is opened for a vote, or None."""
        for dispute in reversed(disputes.job_disputes(self.client, job_id)):
            if dispute.status in UNDECIDED and dispute.vote_pending:
                return dispute
        return None

    def _sent(self, job_id: int, what: str, msg: Any) -> bool:
        """Send one message; log and return False when refused or failed."""
        try:
            result = disputes.send(self.client, self.wallet, msg)
        except ChainError as exc:
            self.log(f"job {job_id}: {what} refused: {exc}")
            return False
        if not result.ok:
            self.log(f"job {job_id}: {what} failed: {result.log}")
            return False
        return True

    def _zk_valid(self, job: Any) -> bool:
        """Every accepted provider's proof passes the pairing and the binding here."""
        failed = [c for c in zk_checks(self.verify, job) if not c.ok]
        for check in failed:
            self.log(f"job {job.id}: {check.provider}'s zk proof fails here: {check.detail}")
        return not failed

    def _copied(self, job: Any) -> bytes | None:
        """The accepted result's inline output (the copy-provider fault)."""
        for a in job.assignments:
            if bytes(a.result.output_digest) == bytes(job.output_digest):
                self.log(f"job {job.id}: copied the provider's output ({FAULT_ENV})")
                return bytes(a.result.comparison_data) or None
        return None

    def _reveal(self, job_id: int, key: str) -> None:
        entry = self.journal.entries.get(key)
        if entry is None or self.fault == "silent":
            return
        if entry.get("step"):
            msg = V.MsgRevealVerdict(
                validator=self.address,
                job_id=job_id,
                output_digest=bytes.fromhex(entry["digest"]),
                salt=bytes.fromhex(entry["salt"]),
                step_valid=bool(entry.get("step_valid")),
            )
            if self._sent(job_id, "reveal", msg):
                self.journal.drop(key)
                self.log(f"job {job_id}: revealed its step verdict")
            return
        try:
            result = self.verify.reveal(
                self.wallet,
                job_id,
                bytes.fromhex(entry["digest"]),
                bytes.fromhex(entry["salt"]),
                bytes.fromhex(entry["data"]),
                zk_valid=bool(entry.get("zk_valid")),
                toploc_valid=bool(entry.get("toploc_valid")),
            )
        except ChainError as exc:
            self.log(f"job {job_id}: reveal refused: {exc}")
            return
        self.journal.drop(key)
        self.log(f"job {job_id}: revealed (tx {result.hash[:12]}…)")

    def _toploc_valid(self, job: Any, version: Any) -> bool:
        """Every accepted provider's TOPLOC fingerprints match this validator's prefill over
        the prompt and the claimed tokens, within the version's registered thresholds."""
        prompt = formats.decode_generation_input(self._input(job)).prompt.encode("utf-8")
        runner = self._runner(version)
        if not isinstance(runner, ModelRunner):
            raise formats.FormatError("TOPLOC needs an ONNX model")
        failed = [c for c in toploc_checks(self.verify, job, runner, list(prompt)) if not c.ok]
        for check in failed:
            self.log(f"job {job.id}: {check.provider}'s TOPLOC check fails: {check.detail}")
        return not failed

    def _runner(self, version: Any) -> Runner:
        """The version's model (a DSM program or an onnxruntime session), loaded once per
        artifact digest."""
        digest = bytes(version.artifact_sha256)
        runner = self.runners.get(digest)
        if runner is None:
            path = fetch_artifact(self.storage, self.home / "cache", version, self.log)
            runner = self.runners[digest] = load_runner(path, version.format)
        return runner

    def _input(self, job: Any) -> bytes:
        """The job's input bytes (inline or from the content store), digest-checked."""
        if job.input_cid:
            target = self.home / "cache" / "inputs" / job.input_cid
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                self.storage.get(job.input_cid, target)
            data: bytes = target.read_bytes()
        else:
            data = bytes(job.input_inline)
        if hashlib.sha256(data).digest() != bytes(job.input_digest):
            raise formats.FormatError("the input does not match the job's input digest")
        return data

    def _execute(self, job: Any, version: Any, rule: str) -> bytes:
        """Run the job as a provider would and return the output bytes."""
        output: bytes = runner_output(self._runner(version), self._input(job), rule)
        return output


def _pending(session: Any) -> set[str]:
    """Names (``REEXECUTION``, ``SAMPLING``, ``ZK``…) of a session's pending methods."""
    pending = [run.method for run in session.methods if run.status == PENDING]
    return {METHOD_NAMES.get(m, str(m)) for m in pending}
