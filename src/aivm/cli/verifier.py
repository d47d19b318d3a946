"""``aivm verifier start`` (an AI validator's re-execution daemon, :mod:`aivm.worker.verifier`;
with ``--challenge`` also an optimistic-verification challenger) and ``aivm verify job JOB``:
re-check a job from chain data and the content store.

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
- ``trace-output/<provider>``: each accepted provider's trace commitment (optimistic
  verification) opens to the hash of its inline output as its last tensor (int64 rows of a
  DSM model; float32 of the evidence's output shape for an ``optimistic_float`` ONNX model);
- ``trace/<provider>``: for a DSM model (format ``aivm-dsm/1``), the trace re-executed here
  (``trace.dsm_trace`` on the job's input, the artifact sha256-checked) commits to the same root
  over the same steps (skip with ``--no-run``); when it differs, the detail gives the
  ``aivm tx verify open-dispute`` command that disputes it with the trace computed here;
- ``dispute/<number>``: each dispute game of the job, its state and outcome (fails when the
  challenger won: the chain found the provider's trace wrong or unanswered);
- ``trail``: the trail (once paid) names the job's model digest, output and providers.

``verify trace JOB`` computes a DSM job's trace here and prints the values the dispute
commands take: the ``open-dispute`` command against each accepted provider whose trace differs,
and, while a game of the job is undecided, the next move with this trace (the ``bisect`` leaf and
proof at the round's mid step, or the ``final-step`` files and peaks); ``--step N`` prints the
leaf and proof of any step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aivm.ai import runtime
from aivm.ai.verify import trace
from aivm.cli import common as cli
from aivm.client.client import DEFAULT_REST, Client
from aivm.client.errors import ChainError, ClientError
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
            node = VerifierNode(
                s.home, wallet, client, rest, challenge=args.challenge,
                compute_checks=args.compute_checks,
            )  # fmt: skip
            node.run(stop, s.node)
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


def cmd_verify_trace(s: cli.Settings, args: argparse.Namespace) -> None:
    rest = args.rest or DEFAULT_REST
    with Client(s.node, rest=rest, chain_id=s.chain_id) as client:
        shown = trace_moves(client, StorageClient(rest), args.job_id, args.step, Path(args.out))
    cli.emit(s, shown)


@dataclass(frozen=True)
class LocalTrace:
    """A DSM job's trace computed here, with its artifact."""

    artifact: bytes
    program: Any
    tensors: list[npt.NDArray[np.int64]]
    commitment: trace.TraceCommitment


def local_trace(client: Client, storage: StorageClient, job: compute_pb2.Job) -> LocalTrace:
    """Run the job's DSM program here on its input (artifact sha256-checked)."""
    version = client.modules.ai.version(job.model_id, job.version)
    if version.format != runtime.FORMAT:
        raise cli.CliError(f"model format {version.format!r}: only {runtime.FORMAT} has traces")
    with tempfile.TemporaryDirectory() as tmp:
        data = _fetch(storage, job.input_cid, bytes(job.input_inline), Path(tmp) / "input")
        artifact = _fetch(storage, version.artifact_cid, b"", Path(tmp) / "model")
    if artifact is None or hashlib.sha256(artifact).digest() != bytes(version.artifact_sha256):
        raise cli.CliError("the artifact is not retrievable or does not match artifact_sha256")
    rows = _dsm_rows(data)
    if isinstance(rows, str):
        raise cli.CliError(rows)
    program = runtime.load(artifact)
    tensors = trace.dsm_trace(program, rows)
    commitment = trace.commit_trace([trace.tensor_hash(t) for t in tensors])
    return LocalTrace(artifact, program, tensors, commitment)


def trace_moves(
    client: Client, storage: StorageClient, job_id: int, steps: list[int], out: Path
) -> dict[str, Any]:
    """What ``verify trace`` prints (see the module docstring)."""
    job = client.modules.compute.job(job_id)
    mine = local_trace(client, storage, job)
    c = mine.commitment
    shown: dict[str, Any] = {"job_id": job_id, "root": c.root.hex(), "steps": c.n_steps}
    for step in steps:
        if not 0 <= step <= c.n_steps:
            raise cli.CliError(f"--step {step} outside 0..{c.n_steps}")
        proof = ",".join(p.hex() for p in trace.prove_step(c, step))
        shown[f"step {step}"] = {"leaf": c.leaves[step].hex(), "proof": proof}
    providers = []
    for a, evidence in _accepted_evidence(client, job):
        if evidence.trace_root:
            check = _trace_root_check(job_id, a.provider, evidence, c)
            shown_check = {"provider": a.provider, "same_trace": check.ok, "detail": check.detail}
            providers.append(shown_check)
    shown["providers"] = providers
    verify: Any = client.modules.verify
    try:
        games = [d for d in verify.disputes(job_id) if d.status in (_BISECT, _FINAL)]
    except ClientError:
        games = []
    if games:
        shown["dispute"] = verify.dispute_summary(games[-1])
        shown["next_move"] = _next_move(job_id, games[-1], mine, out)
    return shown


_BISECT, _FINAL = verify_pb2.DISPUTE_STATUS_BISECT, verify_pb2.DISPUTE_STATUS_FINAL


def _next_move(job_id: int, game: Any, mine: LocalTrace, out: Path) -> str:
    """The command that makes the game's next move with the trace computed here."""
    c = mine.commitment
    if game.status == _BISECT:
        mid = (game.lo + game.hi) // 2
        proof = ",".join(p.hex() for p in trace.prove_step(c, mid))
        return (
            f"aivm tx verify bisect {job_id} --leaf {c.leaves[mid].hex()} --proof {proof} "
            "--from <your key>"
        )
    lo = game.lo
    sources = trace.operator_sources(mine.program, lo)
    inputs = [
        {
            "index": s,
            "values": mine.tensors[s].tolist(),
            "proof": [p.hex() for p in trace.prove_tensor(c, lo, s)],
        }
        for s in sources
    ]
    out.mkdir(parents=True, exist_ok=True)
    model, tensors = out / f"job{job_id}-model.dsm", out / f"job{job_id}-final-inputs.json"
    model.write_bytes(mine.artifact)
    tensors.write_text(json.dumps(inputs))
    peaks = ",".join(p.hex() for p in trace.prove_prefix(c, lo))
    return (
        f"aivm tx verify final-step {job_id} --artifact {model} --inputs {tensors} "
        f"--peaks {peaks} --from <your key>"
    )


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
        checks += _trace_checks(client, job, version, data, artifact, run)
    checks += _session_checks(client, job, rule, accepted)
    checks += _zk_checks(client, job)
    checks += _tee_checks(client, job)
    checks += _dispute_checks(client, job)
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


def _trace_checks(
    client: Client,
    job: compute_pb2.Job,
    version: Any,
    data: bytes | None,
    artifact: bytes | None,
    run: bool,
) -> list[Check]:
    """The output opening of every accepted provider's trace commitment and, for a DSM model
    whose artifact and input are here, the trace re-executed and committed again."""
    found = [(a, e) for a, e in _accepted_evidence(client, job) if e.trace_root]
    if not found:
        return []
    dsm = version.format == runtime.FORMAT
    rows = _dsm_rows(data)
    mine: trace.TraceCommitment | str | None = None
    if run and dsm and artifact is not None and data is not None:
        mine = _dsm_commitment(artifact, bytes(version.artifact_sha256), rows)
    checks = []
    for a, evidence in found:
        output = _output_tensor(bytes(a.result.comparison_data), evidence, rows, dsm)
        checks.append(_trace_output_check(a.provider, evidence, output))
        if mine is not None:
            checks.append(_trace_root_check(job.id, a.provider, evidence, mine))
    return checks


def _dsm_rows(data: bytes | None) -> npt.NDArray[np.int64] | str:
    """The job input as 2-D int64 rows (a DSM job's ``.npy``), or why it is not."""
    from aivm.worker import formats

    if data is None:
        return "the input is not retrievable"
    try:
        array = formats.decode_tensor_input(data)
    except formats.FormatError as exc:
        return str(exc)
    if array.ndim != 2 or array.dtype.kind not in "iu" or array.shape[0] < 1:
        return f"the input is {array.dtype} {list(array.shape)}, not 2-D integer rows"
    return np.ascontiguousarray(array, dtype=np.int64)


def _dsm_commitment(
    artifact: bytes, artifact_sha256: bytes, rows: npt.NDArray[np.int64] | str
) -> trace.TraceCommitment | str:
    """The commitment of the trace computed here, or why there is none."""
    if hashlib.sha256(artifact).digest() != artifact_sha256:
        return "the artifact does not hash to the version's artifact_sha256"
    if isinstance(rows, str):
        return rows
    try:
        program = runtime.load(artifact)
        return trace.commit_trace(trace.dsm_trace_hashes(program, rows))
    except AivmError as exc:
        return f"could not run the DSM program here: {exc}"


def _output_tensor(
    output: bytes, evidence: Any, rows: npt.NDArray[np.int64] | str, dsm: bool
) -> npt.NDArray[Any] | str:
    """The inline output as the chain reads it for the trace: int64 with the input's row
    count (DSM), or float32 of the evidence's ``trace_output_shape`` (a float model)."""
    if not dsm:
        shape = tuple(int(d) for d in evidence.trace_output_shape)
        if not shape or min(shape) < 1 or len(output) != 4 * int(np.prod(shape)):
            return f"trace_output_shape {list(shape)} does not describe the float32 output"
        return np.frombuffer(output, "<f4").reshape(shape)
    if isinstance(rows, str):
        return rows
    if not output or len(output) % (8 * len(rows)):
        return f"no inline int64 output of {len(rows)} row(s)"
    return np.frombuffer(output, "<i8").reshape(len(rows), -1)


def _trace_output_check(provider: str, evidence: Any, array: npt.NDArray[Any] | str) -> Check:
    """The evidence's opening shows the provider's inline output as the trace's last tensor."""
    name = f"trace-output/{provider}"
    if isinstance(array, str):
        return Check(name, False, f"cannot rebuild the output tensor: {array}")
    root, steps = bytes(evidence.trace_root), evidence.trace_steps
    opening = trace.OutputOpening(
        bytes(evidence.trace_output_leaf),
        tuple(bytes(p) for p in evidence.trace_output_step_proof),
        tuple(bytes(p) for p in evidence.trace_output_tensor_proof),
    )
    ok = trace.verify_output(root, steps, trace.tensor_hash(array), opening)
    verb = "opens to" if ok else "does not open to"
    return Check(name, ok, f"root {root.hex()[:16]}… ({steps} steps) {verb} the inline output")


def _trace_root_check(
    job_id: int, provider: str, evidence: Any, mine: trace.TraceCommitment | str
) -> Check:
    """The root recomputed here equals the evidence's (else: how to dispute it)."""
    name = f"trace/{provider}"
    if isinstance(mine, str):
        return Check(name, False, f"trace not re-executed: {mine}")
    theirs, steps = bytes(evidence.trace_root), evidence.trace_steps
    if mine.root == theirs and mine.n_steps == steps:
        detail = f"re-executed here: same root {theirs.hex()[:16]}… ({steps} steps)"
        return Check(name, True, detail)
    opening = trace.open_output(mine)
    command = (
        f"aivm tx verify open-dispute {job_id} --provider {provider} --root {mine.root.hex()} "
        f"--last-leaf {opening.leaf.hex()} --last-proof "
        + ",".join(p.hex() for p in opening.step_proof)
    )
    return Check(
        name,
        False,
        f"re-executed here: root {mine.root.hex()[:16]}… ({mine.n_steps} steps) differs from "
        f"the evidence's {theirs.hex()[:16]}… ({steps} steps); while the challenge window is "
        f"open, dispute it with: {command}",
    )


def _dispute_checks(client: Client, job: compute_pb2.Job) -> list[Check]:
    """One line per dispute game of the job (fails where the challenger won)."""
    verify: Any = client.modules.verify
    try:
        games = verify.disputes(job.id)
    except ClientError:
        return []  # a chain without optimistic disputes
    return [
        Check(
            f"dispute/{d.number}",
            d.winner != verify_pb2.PARTY_CHALLENGER,
            verify.dispute_summary(d),
        )
        for d in games
    ]


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
        if version.format == runtime.FORMAT:
            mine = _dsm_output(model.read_bytes(), data, formats.comparison_rule(version))
        else:
            mine = reference_output(model, data, formats.comparison_rule(version))
    except (formats.FormatError, ValueError, RuntimeError, AivmError) as exc:
        return Check("re-execution", False, f"could not run the model here: {exc}")
    ours = compute_pb2.JobResult(output_digest=hashlib.sha256(mine).digest(), comparison_data=mine)
    theirs = compute_pb2.JobResult()
    theirs.CopyFrom(accepted)
    ok = compare.agree(rule, ours, theirs)
    return Check("re-execution", ok, f"local run {'agrees' if ok else 'disagrees'} ({rule.kind})")


def _dsm_output(artifact: bytes, data: bytes, rule: str) -> bytes:
    """The output bytes of a DSM job computed here: ``program.run`` on the input rows, as a
    provider encodes it (int64 little-endian, row-major)."""
    from aivm.worker import formats

    rows = _dsm_rows(data)
    if isinstance(rows, str):
        raise formats.FormatError(rows)
    program = runtime.load(artifact)
    return formats.encode_tensor_output(program.run(runtime.check_rows(program, rows)), rule).data


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
    """Add ``aivm verifier start``, ``aivm verify job`` and ``aivm verify trace``."""
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
    p.add_argument(
        "--challenge",
        action="store_true",
        help="also recompute the traces of optimistic (DSM and float) results in their "
        "challenge window and dispute wrong ones (posts the dispute bond; any funded account may)",
    )
    p.add_argument(
        "--compute-checks",
        dest="compute_checks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve hardware-check committees (commit and reveal workload digests); default: "
        "when the key is registered in the compute role",
    )
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
    p = leaf(
        verify,
        "trace",
        cmd_verify_trace,
        "Compute a DSM job's trace here: its root, the open-dispute command against a provider "
        "whose trace differs, the next move of the job's open dispute (bisect / final-step)",
        "  aivm verify trace 7\n  aivm verify trace 7 --step 3 --step 4\n"
        "  aivm verify trace 7 --out ./dispute7   # where a final step's files go",
    )
    p.add_argument("job_id", type=int)
    p.add_argument("--rest", default=None, help=f"REST gateway (default {DEFAULT_REST})")
    p.add_argument(
        "--step", type=int, action="append", default=[], help="print this step's leaf and proof"
    )
    p.add_argument("--out", default=".", help="folder for a final step's artifact and inputs")
