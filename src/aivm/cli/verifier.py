"""``aivm verifier start`` (an AI validator's re-execution daemon, :mod:`aivm.worker.verifier`)
and ``aivm verify job JOB``: re-check a job from chain data and the content store.

``verify job`` prints one line per check and exits non-zero when one fails:

- ``input``: the job's input (inline or by CID) hashes to its ``input_digest``;
- ``model``: the model artifact (by CID) hashes to the version's ``artifact_sha256``;
- ``output``: the accepted output (inline, else by CID) hashes to the job's ``output_digest``;
- ``re-execution``: running the model here on the input gives an output the model's
  comparison rule accepts against the accepted one (skip with ``--no-run``);
- ``commitment/<validator>``: each revealed verdict's commitment recomputes from its digest
  and salt;
- ``verdict/<validator>``: each revealed verdict agrees (or not) as the chain recorded, by the
  model's rule;
- ``sampling``: the sampling roll recomputes from the session's seed;
- ``zk/<provider>``: each accepted provider's EZKL proof passes the full check here (the
  pairing the chain leaves to the committee, plus the binding to the job's input and output);
- ``toploc/<provider>``: each accepted provider's TOPLOC fingerprints match a prefill run
  here over the prompt and its tokens, with the version's registered thresholds;
- ``tee/<provider>``: each accepted provider's DCAP quote verifies again against its on-chain
  collateral at the time the result was accepted, bound to the job, output and provider key;
- ``trail``: the trail (once paid) names the job's model digest, output and providers.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aivm.cli import common as cli
from aivm.client.client import DEFAULT_REST, Client
from aivm.client.errors import ChainError
from aivm.client.storage import StorageClient, StorageError
from aivm.modules.addr import addr_bytes
from aivm.modules.compute import compare, compute_pb2
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.keeper import sampling_roll, verdict_commitment
from aivm.types.errors import AivmError


@dataclass
class Check:
    """One re-check and its result."""

    name: str
    ok: bool
    detail: str


def cmd_verifier_start(s: cli.Settings, args: argparse.Namespace) -> None:
    from aivm.worker.verifier import VerifierNode

    wallet = cli.keyring_wallet(s, args.from_)
    rest = args.rest or DEFAULT_REST
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Client(s.node, rest=rest, chain_id=s.chain_id, gas_price=s.gas_prices) as client:
        try:
            VerifierNode(s.home, wallet, client, rest).run(stop, s.node)
        except KeyboardInterrupt:
            stop.set()


def cmd_verify_job(s: cli.Settings, args: argparse.Namespace) -> None:
    rest = args.rest or DEFAULT_REST
    with Client(s.node, rest=rest, chain_id=s.chain_id) as client:
        checks = recheck_job(client, StorageClient(rest), args.job_id, run=not args.no_run)
    cli.emit(
        s,
        {
            "job_id": args.job_id,
            "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
            "all_ok": all(c.ok for c in checks),
        },
    )
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise cli.CliError(f"{len(failed)} check(s) failed: {', '.join(failed)}")


def recheck_job(client: Client, storage: StorageClient, job_id: int, run: bool) -> list[Check]:
    """Every check of the module docstring, in order."""
    compute: Any = client.modules.compute
    job = compute.job(job_id)
    version = client.modules.ai.version(job.model_id, job.version)
    rule = compare.rule_of(version)
    checks: list[Check] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = _fetch(storage, job.input_cid, bytes(job.input_inline), work / "input")
        checks.append(_digest_check("input", data, bytes(job.input_digest)))
        artifact = _fetch(storage, version.artifact_cid, b"", work / "model")
        checks.append(_digest_check("model", artifact, bytes(version.artifact_sha256)))
        accepted = _accepted(job)
        output = bytes(accepted.comparison_data) or _fetch(
            storage, job.output_cid, b"", work / "output"
        )
        checks.append(_digest_check("output", output, bytes(job.output_digest)))
        if run and data is not None and artifact is not None:
            checks.append(_rerun(work / "model", data, rule, accepted, version))
            checks += _toploc_checks(client, job, work / "model", data)
    checks += _session_checks(client, job, rule, accepted)
    checks += _zk_checks(client, job)
    checks += _tee_checks(client, job)
    checks += _trail_checks(client, job, version)
    return checks


def _accepted_evidence(client: Client, job: compute_pb2.Job) -> list[tuple[Any, Any]]:
    """(assignment, Evidence) of every accepted provider that attached evidence."""
    from aivm.worker.verifier import accepted_evidence

    return [(a, e) for a, e in accepted_evidence(client.modules.verify, job) if a.result.evidence]


def _toploc_checks(client: Client, job: compute_pb2.Job, model: Path, data: bytes) -> list[Check]:
    """Re-run the prefill here for every accepted provider's TOPLOC fingerprints."""
    from aivm.worker import formats
    from aivm.worker.runner import ModelRunner
    from aivm.worker.verifier import toploc_checks

    if not any(e.toploc_proofs for _, e in _accepted_evidence(client, job)):
        return []
    prompt = list(formats.decode_generation_input(data).prompt.encode("utf-8"))
    found = toploc_checks(client.modules.verify, job, ModelRunner(model), prompt)
    return [Check(f"toploc/{c.provider}", c.ok, c.detail) for c in found]


def _tee_checks(client: Client, job: compute_pb2.Job) -> list[Check]:
    """Verify every accepted provider's DCAP quote again, at the acceptance block's time."""
    from aivm.ai.verify import tee
    from aivm.app.genesis import parse_time

    found = [(a, e) for a, e in _accepted_evidence(client, job) if e.tee_quote]
    if not found:
        return []
    verify: Any = client.modules.verify
    requirement = verify.model_verification(job.model_id, job.version).tee
    height = max(a.result.submitted_height for a, _ in found)
    now_s = parse_time(client.block(height).time)[0]
    checks = []
    for a, evidence in found:
        try:
            collateral = verify.tee_collateral(bytes(evidence.tee_collateral_digest))
            account = client.account(a.provider)
            pubkey = bytes(account.pubkey) if account is not None and account.pubkey else b""
            tee.verify_attestation(
                bytes(evidence.tee_quote),
                bytes(collateral.json),
                now_s,
                report_data=tee.expected_report_data(job.id, bytes(a.result.output_digest), pubkey),
                allowed_measurements=list(requirement.allowed_measurements),
                accepted_tcb_statuses=tuple(requirement.accepted_tcb_statuses) or ("UpToDate",),
            )
        except (AivmError, ChainError) as exc:
            checks.append(Check(f"tee/{a.provider}", False, str(exc)))
            continue
        checks.append(Check(f"tee/{a.provider}", True, "quote, collateral and binding hold"))
    return checks


def _zk_checks(client: Client, job: compute_pb2.Job) -> list[Check]:
    """Run every accepted provider's proof through EZKL here, when the job carried proofs."""
    from aivm.worker.verifier import zk_checks

    found = zk_checks(client.modules.verify, job)
    return [Check(f"zk/{c.provider}", c.ok, c.detail) for c in found]


def _fetch(storage: StorageClient, cid: str, inline: bytes, path: Path) -> bytes | None:
    if not cid:
        return inline
    try:
        storage.get(cid, path)
    except StorageError:
        return None
    return path.read_bytes()


def _digest_check(name: str, data: bytes | None, digest: bytes) -> Check:
    if data is None:
        return Check(name, False, "not retrievable from the content store")
    ok = hashlib.sha256(data).digest() == digest
    return Check(name, ok, f"sha256 {'matches' if ok else 'differs from'} {digest.hex()[:16]}…")


def _accepted(job: compute_pb2.Job) -> compute_pb2.JobResult:
    for a in job.assignments:
        if a.result.output_digest == job.output_digest:
            found: compute_pb2.JobResult = a.result
            return found
    return compute_pb2.JobResult(output_digest=job.output_digest)


def _rerun(
    model: Path, data: bytes, rule: compare.ComparisonRule, accepted: Any, version: Any
) -> Check:
    from aivm.worker import formats
    from aivm.worker.node import reference_output

    try:
        mine = reference_output(model, data, formats.comparison_rule(version))
    except (formats.FormatError, ValueError, RuntimeError) as exc:
        return Check("re-execution", False, f"could not run the model here: {exc}")
    ours = compute_pb2.JobResult(output_digest=hashlib.sha256(mine).digest(), comparison_data=mine)
    theirs = compute_pb2.JobResult()
    theirs.CopyFrom(accepted)
    ok = compare.agree(rule, ours, theirs)
    return Check("re-execution", ok, f"local run {'agrees' if ok else 'disagrees'} ({rule.kind})")


def _session_checks(
    client: Client, job: compute_pb2.Job, rule: compare.ComparisonRule, accepted: Any
) -> list[Check]:
    try:
        session = client.modules.verify.session(job.id)
    except ChainError:
        return [Check("session", True, "no verification session (verify module absent then)")]
    checks = []
    output_judged = any(
        run.method in (verify_pb2.METHOD_REEXECUTION, verify_pb2.METHOD_SAMPLING)
        and run.status != verify_pb2.METHOD_STATUS_SKIPPED
        for run in session.methods
    )
    for verdict in session.verdicts:
        if not verdict.revealed:
            checks.append(Check(f"verdict/{verdict.validator}", True, "never revealed (slashed)"))
            continue
        expected = verdict_commitment(
            job.id,
            verdict.round,
            addr_bytes(verdict.validator),
            bytes(verdict.output_digest),
            bytes(verdict.salt),
            verdict.zk_valid,
            verdict.toploc_valid,
        )
        same = expected == bytes(verdict.commitment)
        checks.append(Check(f"commitment/{verdict.validator}", same, "recomputed from the reveal"))
        if not output_judged:
            continue
        theirs = compute_pb2.JobResult(
            output_digest=verdict.output_digest, comparison_data=verdict.comparison_data
        )
        agrees = compare.agree(rule, theirs, accepted)
        checks.append(
            Check(
                f"verdict/{verdict.validator}",
                agrees == verdict.agrees,
                f"{'agrees' if agrees else 'disagrees'}, as recorded",
            )
        )
    if session.seed and any(r.method == verify_pb2.METHOD_SAMPLING for r in session.methods):
        roll = sampling_roll(bytes(session.seed), job.id)
        ok = roll == session.sample_roll
        checks.append(Check("sampling", ok, f"roll {roll} from seed {session.seed.hex()[:16]}…"))
    return checks


def _trail_checks(client: Client, job: compute_pb2.Job, version: Any) -> list[Check]:
    if job.state != compute_pb2.JOB_STATE_COMPLETED:
        return []
    try:
        trail = client.modules.verify.trail(job.id)
    except ChainError as exc:
        return [Check("trail", False, f"a paid job without a trail: {exc}")]
    ok = (
        trail.artifact_sha256 == version.artifact_sha256
        and trail.output_digest == job.output_digest
        and sorted(p.provider for p in trail.providers)
        == sorted(
            a.provider for a in job.assignments if a.status == compute_pb2.ASSIGNMENT_STATUS_AGREED
        )
    )
    return [Check("trail", ok, "model digest, output and paid providers match the job")]


def register(subs: Any, leaf: cli.Leaf, branch: cli.Branch) -> None:
    """Add ``aivm verifier start`` and ``aivm verify job``."""
    verifier = branch(subs, "verifier", "Run an AI validator's re-execution daemon")
    p = leaf(
        verifier,
        "start",
        cmd_verifier_start,
        "Re-execute the jobs this validator is drawn for; commit and reveal verdicts",
        "  aivm verifier start --from val1 --home ~/.aivm",
    )
    p.add_argument("--from", dest="from_", required=True, help="the AI validator's key")
    p.add_argument("--rest", default=None, help=f"REST gateway (default {DEFAULT_REST})")
    verify = branch(subs, "verify", "Re-check results locally from chain data")
    p = leaf(
        verify,
        "job",
        cmd_verify_job,
        "Re-check a job: digests, local re-execution, verdict commitments, sampling, trail",
        "  aivm verify job 7\n  aivm verify job 7 --no-run -o json",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--rest", default=None, help=f"REST gateway (default {DEFAULT_REST})")
    p.add_argument("--no-run", action="store_true", help="skip the local re-execution")
