"""``aivm verify job`` on trace evidence and the optimistic-dispute commands, in process,
against a scripted chain (no node): the ``aivm`` parser and handlers run for real, the
``Client`` they open answers from protobuf records built here.

- the recheck of a DSM job whose provider posted a trace commitment: an honest trace passes
  (output opening and the trace re-executed here); a trace that lies in the middle but ends
  with the true output fails the re-execution and prints the ``open-dispute`` command (whose
  values open a game the honest challenger wins); a forged output opening fails; the job's
  disputes are listed with their outcome (a challenger's win fails the recheck);
- ``aivm query verify disputes | open-disputes | challengeable``: readable (enum names, hex
  hashes, the next move) in text and JSON;
- ``aivm tx verify open-dispute | bisect | final-step``: the messages the flags build, and a
  final step from the ``--inputs`` JSON that the bisection game decides for the honest party;
- ``aivm verify trace``: a DSM job's trace computed here; the commands it prints for an open
  game's next move send this trace's values (run as printed);
- float (``optimistic_float`` ONNX) models: the output opening with the evidence's shape, the
  ``--optimistic-float``, ``--artifact`` and ``--claimed`` flags, a vote shown as such.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aivm.ai import runtime
from aivm.ai.runtime.interpreter import Program
from aivm.ai.verify import bisection, trace
from aivm.cli import common
from aivm.cli import verifier as verifier_cli
from aivm.client.errors import ChainError
from aivm.client.results import TxResult
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import cli as verify_cli
from aivm.modules.verify import rest, verify_pb2
from aivm.modules.verify.client import VerifyClient
from aivm.modules.verify.queries import SERVICE
from aivm.types.protogen import ai_pb2
from aivm.worker import formats
from cli_runner import OFFLINE_NODE, Run, cli_runner
from trace_models import commit, rows_for, skip6, tampered_trace

V = verify_pb2
PROVIDER = "aivm1provider000000000000000000000000000"
CHALLENGER = "aivm1challenger0000000000000000000000000"
JOB = 7
HEIGHT = 100


# -- a scripted chain ---------------------------------------------------------------------


class FakeStorage:
    """The content store: the artifact by its CID."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def get(self, cid: str, target: Path) -> None:
        target.write_bytes(self.blobs[cid])


class FakeClient:
    """What the commands use of :class:`~aivm.client.Client`, answered from records."""

    def __init__(self, job: compute_pb2.Job, version: Any, disputes: list[Any]) -> None:
        self.job, self.version, self.games = job, version, disputes
        self.requests: list[tuple[str, Any]] = []
        self.sent: list[Any] = []
        verify = VerifyClient(self)  # type: ignore[arg-type]
        self.modules = SimpleNamespace(
            compute=SimpleNamespace(job=lambda _id: self.job),
            ai=SimpleNamespace(version=lambda _m, _v: self.version),
            verify=verify,
        )
        self.challengeable_jobs = [V.Challengeable(job_id=JOB, challenge_end_height=130)]

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def query(self, path: str, request: Any, response_type: Any) -> Any:
        self.requests.append((path, request))
        if path == SERVICE + "Disputes":
            return response_type(disputes=[d for d in self.games if d.job_id == request.job_id])
        if path == SERVICE + "OpenDisputes":
            open_ = [d for d in self.games if d.status in (V.DISPUTE_STATUS_BISECT, 2)]
            if request.party:
                open_ = [d for d in open_ if request.party in (d.provider, d.challenger)]
            return response_type(disputes=open_)
        if path == SERVICE + "Challengeable":
            return response_type(jobs=self.challengeable_jobs)
        if path == SERVICE + "Params":
            return response_type(params=V.Params(dispute_bond="1000000"))
        raise ChainError("verify", 2, f"no record for {path}")

    def status(self) -> Any:
        return SimpleNamespace(latest_block_height=HEIGHT)

    def sign_and_broadcast(self, wallet: Any, msgs: list[Any], **_kw: Any) -> Any:
        self.sent.extend(msgs)
        return SimpleNamespace(hash="AB" * 32)

    def wait_for_tx(self, hash: str, timeout: float = 30.0, **_kw: Any) -> TxResult:
        return TxResult(hash, HEIGHT, 0, 0, "", "", 200_000, 120_000)


@pytest.fixture(scope="module")
def model() -> tuple[Program, bytes]:
    """The skip-connection DSM model (operator 3 reads an old tensor) and its artifact."""
    program = skip6()
    artifact = runtime.serialize(program.model)
    return runtime.load(artifact), artifact


def make_job(
    artifact: bytes, rows: np.ndarray, tensors: list[np.ndarray], evidence: bytes
) -> tuple[compute_pb2.Job, Any]:
    """A job with one accepted provider whose result is ``tensors[-1]`` and ``evidence``."""
    data = formats.encode_tensor_input(rows)
    output = formats.encode_tensor_output(tensors[-1], "exact").data
    result = compute_pb2.JobResult(
        output_digest=hashlib.sha256(output).digest(), comparison_data=output, evidence=evidence
    )
    job = compute_pb2.Job(
        id=JOB,
        model_id=1,
        version="1.0.0",
        input_inline=data,
        input_digest=hashlib.sha256(data).digest(),
        output_digest=result.output_digest,
        state=compute_pb2.JOB_STATE_PENDING_ACCEPTANCE,
        assignments=[
            compute_pb2.Assignment(
                provider=PROVIDER, status=compute_pb2.ASSIGNMENT_STATUS_AGREED, result=result
            )
        ],
    )
    version = ai_pb2.ModelVersion(
        model_id=1,
        version="1.0.0",
        artifact_cid="cid-model",
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="offchain",
        comparison="exact",
    )
    return job, version


def evidence_of(commitment: trace.TraceCommitment) -> bytes:
    return VerifyClient.evidence(trace_commitment=commitment)


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    return cli_runner(OFFLINE_NODE, tmp_path / "home", capsys, monkeypatch)


def serve(monkeypatch: pytest.MonkeyPatch, fake: FakeClient, artifact: bytes = b"") -> None:
    """Every client the commands open is ``fake``; the store holds ``artifact``."""
    monkeypatch.setattr(verifier_cli, "Client", lambda *a, **k: fake)
    store = FakeStorage({"cid-model": artifact})
    monkeypatch.setattr(verifier_cli, "StorageClient", lambda _rest: store)
    monkeypatch.setattr(common.Settings, "client", lambda self: fake)

    @contextlib.contextmanager
    def tx_client(s: Any, args: Any) -> Iterator[FakeClient]:
        yield fake

    monkeypatch.setattr(common, "tx_client", tx_client)
    monkeypatch.setattr(common, "keyring_wallet", lambda s, who: SimpleNamespace(address=who))


def recheck(run: Run, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run("verify", "job", str(JOB), "-o", "json", *extra)
    return code, json.loads(out), err


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


def dispute(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "job_id": JOB,
        "number": 1,
        "provider": PROVIDER,
        "challenger": CHALLENGER,
        "bond": "1000000",
        "n": 6,
        "lo": 0,
        "hi": 6,
        "status": V.DISPUTE_STATUS_BISECT,
        "turn": V.PARTY_PROVIDER,
        "deadline": 120,
        "provider_root": b"\x11" * 32,
        "challenger_root": b"\x22" * 32,
        "lo_leaf": b"\x33" * 32,
        "opened_height": 90,
    }
    base.update(fields)
    return V.Dispute(**base)


# -- aivm verify job: trace evidence --------------------------------------------------------


def test_an_honest_trace_passes_the_recheck(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, artifact = model
    rows = rows_for(program, 3)
    tensors = trace.dsm_trace(program, rows)
    job, version = make_job(artifact, rows, tensors, evidence_of(commit(tensors)))
    serve(monkeypatch, FakeClient(job, version, []), artifact)
    code, report, err = recheck(run)
    assert code == 0, err
    checks = by_name(report)
    assert report["all_ok"] is True
    for name in ("input", "model", "output", "re-execution", f"trace-output/{PROVIDER}"):
        assert checks[name]["ok"], checks[name]
    assert checks[f"trace/{PROVIDER}"]["ok"]
    assert "same root" in checks[f"trace/{PROVIDER}"]["detail"]
    # --no-run keeps the opening check (no execution) and skips the re-executed trace
    code, report, err = recheck(run, "--no-run")
    assert code == 0, err
    names = set(by_name(report))
    assert f"trace-output/{PROVIDER}" in names and f"trace/{PROVIDER}" not in names


def test_a_lying_trace_fails_and_the_printed_dispute_is_won_by_the_challenger(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider commits to a trace that is wrong at step 2 but ends with the true output
    (its opening passes, as on chain): the re-executed trace differs, and the open-dispute
    command the recheck prints carries the honest trace's root, last leaf and proof."""
    program, artifact = model
    rows = rows_for(program, 3)
    honest = trace.dsm_trace(program, rows)
    lying = tampered_trace(program, rows, 2)
    lying[-1] = honest[-1]
    provider = commit(lying)
    job, version = make_job(artifact, rows, honest, evidence_of(provider))
    serve(monkeypatch, FakeClient(job, version, []), artifact)
    code, report, err = recheck(run)
    assert code == 1 and f"trace/{PROVIDER}" in err
    checks = by_name(report)
    assert checks[f"trace-output/{PROVIDER}"]["ok"]
    detail = checks[f"trace/{PROVIDER}"]["detail"]
    assert not checks[f"trace/{PROVIDER}"]["ok"] and "differs" in detail
    words = shlex.split(detail.split("dispute it with: ")[1])
    assert words[:6] == ["aivm", "tx", "verify", "open-dispute", str(JOB), "--provider"]
    flags = dict(zip(words[5::2], words[6::2], strict=True))
    assert flags["--provider"] == PROVIDER
    mine = commit(honest)
    assert flags["--root"] == mine.root.hex()
    # the printed values open a game the honest challenger wins, move by move
    proof = tuple(bytes.fromhex(p) for p in flags["--last-proof"].split(","))
    n = provider.n_steps
    p_open, c_open = trace.open_output(provider), trace.open_output(mine)
    assert (bytes.fromhex(flags["--last-leaf"]), proof) == (c_open.leaf, c_open.step_proof)
    game = bisection.open_game(
        n,
        provider.root,
        bytes.fromhex(flags["--root"]),
        [trace.tensor_hash(honest[0])],
        bisection.LeafOpening(p_open.leaf, p_open.step_proof),
        bisection.LeafOpening(bytes.fromhex(flags["--last-leaf"]), proof),
        10,
        5,
    )
    while game.status is bisection.Status.BISECT:
        mid = (game.lo + game.hi) // 2
        for party, c in ((bisection.Party.PROVIDER, provider), (bisection.Party.CHALLENGER, mine)):
            game = bisection.respond(game, party, c.leaves[mid], trace.prove_step(c, mid), 11)
    assert (game.status, game.lo, game.hi) == (bisection.Status.FINAL, 1, 2)
    openings = [
        bisection.TensorOpening(s, honest[s], trace.prove_tensor(mine, 1, s))
        for s in trace.operator_sources(program, 1)
    ]
    peaks = trace.prove_prefix(mine, 1)
    decided = bisection.final_step(game, bisection.Party.CHALLENGER, program, openings, peaks, 12)
    assert decided.winner is bisection.Party.CHALLENGER


def test_a_forged_output_opening_fails(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, artifact = model
    rows = rows_for(program, 2)
    tensors = trace.dsm_trace(program, rows)
    evidence = V.Evidence.FromString(evidence_of(commit(tensors)))
    evidence.trace_output_tensor_proof[0] = bytes(32)
    job, version = make_job(artifact, rows, tensors, evidence.SerializeToString())
    serve(monkeypatch, FakeClient(job, version, []), artifact)
    code, report, err = recheck(run)
    assert code == 1 and f"trace-output/{PROVIDER}" in err
    checks = by_name(report)
    assert not checks[f"trace-output/{PROVIDER}"]["ok"]
    assert "does not open" in checks[f"trace-output/{PROVIDER}"]["detail"]
    assert checks[f"trace/{PROVIDER}"]["ok"]  # the root itself is the honest one
    # a different root: both the opening and the re-executed trace fail
    evidence = V.Evidence.FromString(evidence_of(commit(tensors)))
    evidence.trace_root = bytes(range(32))
    job, _ = make_job(artifact, rows, tensors, evidence.SerializeToString())
    serve(monkeypatch, FakeClient(job, version, []), artifact)
    code, report, _ = recheck(run)
    checks = by_name(report)
    assert code == 1
    assert not checks[f"trace-output/{PROVIDER}"]["ok"] and not checks[f"trace/{PROVIDER}"]["ok"]


def test_the_recheck_lists_the_disputes_with_their_outcome(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, artifact = model
    rows = rows_for(program, 2)
    tensors = trace.dsm_trace(program, rows)
    job, version = make_job(artifact, rows, tensors, evidence_of(commit(tensors)))
    lost = dispute(
        status=V.DISPUTE_STATUS_DONE,
        lo=2,
        hi=3,
        winner=V.PARTY_PROVIDER,
        outcome=V.DISPUTE_OUTCOME_EXECUTION,
        finished_height=99,
        paid="1000000",
    )
    serve(monkeypatch, FakeClient(job, version, [lost]), artifact)
    code, report, err = recheck(run)
    assert code == 0, err
    line = by_name(report)["dispute/1"]
    assert line["ok"]
    assert "provider won by execution at operator 2 at height 99" in line["detail"]
    won = dispute(
        number=2,
        status=V.DISPUTE_STATUS_DONE,
        winner=V.PARTY_CHALLENGER,
        outcome=V.DISPUTE_OUTCOME_TIMEOUT,
        finished_height=140,
    )
    serve(monkeypatch, FakeClient(job, version, [lost, won]), artifact)
    code, report, err = recheck(run)
    assert code == 1 and "dispute/2" in err
    line = by_name(report)["dispute/2"]
    assert not line["ok"] and "challenger won by timeout" in line["detail"]


# -- queries ----------------------------------------------------------------------------------


def test_dispute_queries_print_names_hashes_and_the_next_move(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = compute_pb2.Job(id=JOB)
    games = [
        dispute(lo=2, hi=6, rounds=1, pending_leaf=b"\x44" * 32),
        dispute(job_id=8, provider="aivm1other", status=V.DISPUTE_STATUS_FINAL, lo=4, hi=5),
    ]
    fake = FakeClient(job, None, games)
    serve(monkeypatch, fake)
    code, out, err = run("query", "verify", "disputes", str(JOB), "-o", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["height"] == HEIGHT and len(shown["disputes"]) == 1
    d = shown["disputes"][0]
    assert (d["status"], d["turn"], d["lo"], d["hi"]) == ("bisect", "provider", 2, 6)
    assert d["provider_root"] == "11" * 32 and d["pending_leaf"] == "44" * 32
    assert d["next"] == "provider posts its leaf at step 4 by height 120"
    code, out, err = run("query", "verify", "disputes", str(JOB))
    assert code == 0, err
    assert "status: bisect" in out and "challenger_root: " + "22" * 32 in out
    code, out, err = run("query", "verify", "open-disputes", "--party", "aivm1other", "-o", "json")
    assert code == 0, err
    assert fake.requests[-1][1].party == "aivm1other"
    (final,) = json.loads(out)["disputes"]
    assert final["job_id"] == 8 and final["status"] == "final"
    assert final["next"].startswith("final step of operator 4")
    code, out, err = run("query", "verify", "challengeable", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["jobs"] == [
        {"job_id": JOB, "challenge_end_height": 130, "blocks_left": 30}
    ]


def test_a_cancelled_game_reads_as_such() -> None:
    game = dispute(status=V.DISPUTE_STATUS_CANCELLED, detail="cancelled: the job was refunded")
    assert VerifyClient.dispute_summary(game).endswith(
        f"vs provider {PROVIDER}: cancelled: the job was refunded (bond returned)"
    )
    assert verify_cli.dispute_view(game)["next"] == ""


def test_rest_routes_serve_the_dispute_queries() -> None:
    routes = {r.path: r for r in rest.ROUTES}
    assert routes["/aivm/verify/v1/disputes/{job_id}"].request is V.QueryDisputesRequest
    assert routes["/aivm/verify/v1/open_disputes"].query_path == SERVICE + "OpenDisputes"
    assert routes["/aivm/verify/v1/challengeable"].response is V.QueryChallengeableResponse
    # the two the README always listed
    assert routes["/aivm/verify/v1/models/{model_id}/{version}"].query_path.endswith("Verification")
    assert routes["/aivm/verify/v1/tee_collaterals"].request is V.QueryTeeCollateralsRequest


# -- transactions -----------------------------------------------------------------------------


def test_open_dispute_and_bisect_send_the_hashes_of_the_flags(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeClient(compute_pb2.Job(id=JOB), None, [dispute(lo=3, hi=6)])
    serve(monkeypatch, fake)
    root, leaf, p1, p2 = (bytes([i]) * 32 for i in (1, 2, 3, 4))
    code, out, err = run(
        "tx", "verify", "open-dispute", str(JOB), "--provider", PROVIDER, "--root", root.hex(),
        "--last-leaf", leaf.hex(), "--last-proof", f"{p1.hex()},{p2.hex()}",
        "--from", CHALLENGER, "--yes", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    (msg,) = fake.sent
    assert isinstance(msg, V.MsgOpenDispute)
    assert (msg.challenger, msg.job_id, msg.provider) == (CHALLENGER, JOB, PROVIDER)
    assert (msg.trace_root, msg.last_leaf, list(msg.last_proof)) == (root, leaf, [p1, p2])
    shown = json.loads(out)
    assert shown["code"] == 0 and shown["dispute"]["next"].startswith("provider posts")
    code, out, err = run(
        "tx", "verify", "bisect", str(JOB), "--leaf", leaf.hex(), "--proof", p1.hex(),
        "--from", PROVIDER, "--yes",
    )  # fmt: skip
    assert code == 0, err
    bisect = fake.sent[-1]
    assert isinstance(bisect, V.MsgBisect)
    assert (bisect.sender, bisect.leaf, list(bisect.proof)) == (PROVIDER, leaf, [p1])
    code, _, err = run(
        "tx", "verify", "bisect", str(JOB), "--leaf", "abcd", "--proof", p1.hex(),
        "--from", PROVIDER, "--yes",
    )  # fmt: skip
    assert code == 1 and "--leaf must be 64 hex digits" in err
    # without --yes the challenger is told the bond it posts, and may decline
    code, _, err = run(
        "tx", "verify", "open-dispute", str(JOB), "--provider", PROVIDER, "--root", root.hex(),
        "--last-leaf", leaf.hex(), "--last-proof", p1.hex(), "--from", CHALLENGER, stdin="n\n",
    )  # fmt: skip
    assert code == 1 and "a bond of 1000000ucgpt" in err and "canceled" in err
    assert len(fake.sent) == 2


def test_a_final_step_from_the_inputs_json_wins_for_the_honest_party(
    run: Run,
    model: tuple[Program, bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A cheating challenger disputes an honest provider; the game is narrowed to operator
    3 (the skip ``Add`` of tensors 2 and 3). The provider's ``final-step`` from the JSON that
    :func:`final_step_inputs_json` writes carries what the chain needs: the game decided on
    the sent message is won by the provider."""
    program, artifact = model
    rows = rows_for(program, 2)
    honest = trace.dsm_trace(program, rows)
    mine, cheat = commit(honest), commit(tampered_trace(program, rows, 4))
    lo = 3
    sources = trace.operator_sources(program, lo)
    assert len(sources) == 2
    game = bisection.Game(
        n=mine.n_steps,
        provider_root=mine.root,
        challenger_root=cheat.root,
        lo=lo,
        hi=lo + 1,
        lo_leaf=mine.leaves[lo],
        provider_hi_leaf=mine.leaves[lo + 1],
        challenger_hi_leaf=cheat.leaves[lo + 1],
        turn=bisection.Party.PROVIDER,
        deadline=20,
        round_blocks=5,
        status=bisection.Status.FINAL,
    )
    inputs = tmp_path / "tensors.json"
    inputs.write_text(json.dumps(verify_cli.final_step_inputs_json(honest, mine, lo, sources)))
    model_file = tmp_path / "model.dsm"
    model_file.write_bytes(artifact)
    fake = FakeClient(compute_pb2.Job(id=JOB), None, [])
    serve(monkeypatch, fake)
    peaks = ",".join(p.hex() for p in trace.prove_prefix(mine, lo))
    code, out, err = run(
        "tx", "verify", "final-step", str(JOB), "--artifact", str(model_file),
        "--inputs", str(inputs), "--peaks", peaks, "--from", PROVIDER, "--yes", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["code"] == 0
    (msg,) = fake.sent
    assert isinstance(msg, V.MsgFinalStep) and msg.artifact == artifact
    assert [t.index for t in msg.inputs] == list(sources)
    openings = [
        bisection.TensorOpening(
            t.index,
            np.frombuffer(t.data, "<i8").reshape(t.rows, t.cols).astype(np.int64),
            tuple(t.proof),
        )
        for t in msg.inputs
    ]
    decided = bisection.final_step(
        game, bisection.Party.PROVIDER, runtime.load(msg.artifact), openings, tuple(msg.peaks), 15
    )
    assert decided.winner is bisection.Party.PROVIDER
    # the same tensors given as raw little-endian data, rows and cols are read the same
    entries = json.loads(inputs.read_text())
    for entry in entries:
        values = np.array(entry.pop("values"), dtype="<i8")
        entry.update(data=values.tobytes().hex(), rows=values.shape[0], cols=values.shape[1])
    inputs.write_text(json.dumps(entries))
    assert verify_cli.load_final_step_inputs(inputs) == list(msg.inputs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "non-empty list"),
        ('[{"index": 1, "values": [[1.5]], "proof": []}]', "int64 integers"),
        ('[{"index": 1, "values": [[1, 2], [3]], "proof": []}]', "equally many"),
        ('[{"values": [[1]], "proof": []}]', "index"),
        ('[{"index": 1, "values": [[1]], "proof": ["zz"]}]', "64 hex digits"),
        ('[{"index": 1, "data": "0100", "rows": 1, "cols": 1}]', "rows × cols × 8"),
        ("{not json", "--inputs"),
    ],
)
def test_malformed_final_step_inputs_are_refused_before_sending(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, message: str
) -> None:
    fake = FakeClient(compute_pb2.Job(id=JOB), None, [])
    serve(monkeypatch, fake)
    inputs = tmp_path / "tensors.json"
    inputs.write_text(content)
    (tmp_path / "model.dsm").write_bytes(b"{}")
    code, _, err = run(
        "tx", "verify", "final-step", str(JOB), "--artifact", str(tmp_path / "model.dsm"),
        "--inputs", str(inputs), "--peaks", "ab" * 32, "--from", PROVIDER, "--yes",
    )  # fmt: skip
    assert code == 1 and message in err, err
    assert fake.sent == []


# -- aivm verify trace: the values the dispute commands take ----------------------------------


def run_printed(run: Run, command: str, key: str) -> tuple[int, str, str]:
    """Run an ``aivm …`` command line as printed, with ``--from <your key>`` filled in."""
    words = shlex.split(command.replace("<your key>", key))
    assert words[0] == "aivm"
    code, out, err = run(*words[1:], "--yes", "-o", "json")
    return int(code), str(out), str(err)


def test_verify_trace_prints_the_dispute_and_the_next_moves(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Against a provider whose trace is wrong at step 4: ``verify trace`` shows the trace
    differs (with the open-dispute command), prints any step's leaf and proof, and the commands
    it prints for an open game's next move send this trace's values: a bisect leaf at the mid
    step, then a final step that the game decides for the honest challenger."""
    program, artifact = model
    rows = rows_for(program, 2)
    honest = trace.dsm_trace(program, rows)
    mine = commit(honest)
    lying = commit(tampered_trace(program, rows, 4))
    job, version = make_job(artifact, rows, honest, evidence_of(lying))
    fake = FakeClient(job, version, [])
    serve(monkeypatch, fake, artifact)
    code, out, err = run("verify", "trace", str(JOB), "--step", "2", "-o", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["root"], shown["steps"]) == (mine.root.hex(), mine.n_steps)
    step = shown["step 2"]
    proof = [bytes.fromhex(p) for p in step["proof"].split(",")]
    assert trace.verify_step(mine.root, mine.n_steps, 2, bytes.fromhex(step["leaf"]), proof)
    (provider,) = shown["providers"]
    assert provider["same_trace"] is False
    assert "aivm tx verify open-dispute 7" in provider["detail"]
    assert "next_move" not in shown
    # an open game, the challenger's turn at mid = 4: the printed bisect sends our leaf there
    fake.games = [dispute(lo=3, hi=6, turn=V.PARTY_CHALLENGER, pending_leaf=lying.leaves[4])]
    code, out, err = run("verify", "trace", str(JOB), "-o", "json")
    assert code == 0, err
    code, _, err = run_printed(run, json.loads(out)["next_move"], CHALLENGER)
    assert code == 0, err
    sent = fake.sent[-1]
    assert isinstance(sent, V.MsgBisect) and sent.sender == CHALLENGER
    assert (sent.leaf, tuple(sent.proof)) == (mine.leaves[4], trace.prove_step(mine, 4))
    # narrowed to operator 3 (the skip Add): the printed final step wins for the challenger
    fake.games = [dispute(lo=3, hi=4, status=V.DISPUTE_STATUS_FINAL)]
    code, out, err = run("verify", "trace", str(JOB), "--out", str(tmp_path), "-o", "json")
    assert code == 0, err
    command = json.loads(out)["next_move"]
    assert str(tmp_path / "job7-final-inputs.json") in command
    code, _, err = run_printed(run, command, CHALLENGER)
    assert code == 0, err
    final = fake.sent[-1]
    assert isinstance(final, V.MsgFinalStep) and final.artifact == artifact
    game = bisection.Game(
        n=mine.n_steps,
        provider_root=lying.root,
        challenger_root=mine.root,
        lo=3,
        hi=4,
        lo_leaf=mine.leaves[3],
        provider_hi_leaf=lying.leaves[4],
        challenger_hi_leaf=mine.leaves[4],
        turn=bisection.Party.PROVIDER,
        deadline=20,
        round_blocks=5,
        status=bisection.Status.FINAL,
    )
    openings = [
        bisection.TensorOpening(
            t.index, np.frombuffer(t.data, "<i8").reshape(t.rows, t.cols).copy(), tuple(t.proof)
        )
        for t in final.inputs
    ]
    decided = bisection.final_step(
        game, bisection.Party.CHALLENGER, runtime.load(final.artifact), openings,
        tuple(final.peaks), 15,
    )  # fmt: skip
    assert decided.winner is bisection.Party.CHALLENGER


def test_verify_trace_refuses_a_model_that_is_not_dsm(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, artifact = model
    rows = rows_for(program, 1)
    tensors = trace.dsm_trace(program, rows)
    job, version = make_job(artifact, rows, tensors, evidence_of(commit(tensors)))
    version.format = "onnx"
    serve(monkeypatch, FakeClient(job, version, []), artifact)
    code, _, err = run("verify", "trace", str(JOB))
    assert code == 1 and "only aivm-dsm/1 has traces" in err


# -- float (ONNX, optimistic_float) models ----------------------------------------------------


def test_the_trace_output_of_a_float_model_opens_with_its_shape(
    run: Run, model: tuple[Program, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A float model's output opens as float32 of the evidence's ``trace_output_shape``
    (no re-execution here: ``--no-run``); a wrong shape fails the check."""
    _, artifact = model
    rng = np.random.default_rng(4)
    tensors = [rng.normal(size=(2, 3, 4)).astype(np.float32) for _ in range(4)]
    c = trace.commit_trace([trace.tensor_hash(t) for t in tensors])
    output = tensors[-1].astype("<f4").tobytes()
    for shape, ok in (((2, 3, 4), True), ((6, 4), False)):
        evidence = VerifyClient.evidence(trace_commitment=c, trace_output_shape=shape)
        job, version = make_job(artifact, rows_for(skip6(), 1), [tensors[-1]], evidence)
        job.assignments[0].result.comparison_data = output
        version.format, version.comparison = "onnx", "tolerance"
        serve(monkeypatch, FakeClient(job, version, []), artifact)
        code, report, _ = recheck(run, "--no-run")
        check = by_name(report)[f"trace-output/{PROVIDER}"]
        assert check["ok"] is ok and code == (0 if ok else 1), check


def test_float_and_step_count_flags_reach_their_messages(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeClient(compute_pb2.Job(id=JOB), None, [])
    serve(monkeypatch, fake)
    code, _, err = run(
        "tx", "verify", "set-model", "4:1.0.0", "--optimistic-float", "--from", PROVIDER, "--yes"
    )
    assert code == 0, err
    assert isinstance(fake.sent[-1], V.MsgSetModelVerification) and fake.sent[-1].optimistic_float
    model_file = tmp_path / "model.dsm"
    model_file.write_bytes(b"artifact bytes")
    h = "ab" * 32
    code, _, err = run(
        "tx", "verify", "open-dispute", str(JOB), "--provider", PROVIDER, "--root", h,
        "--last-leaf", h, "--last-proof", h, "--artifact", str(model_file),
        "--from", CHALLENGER, "--yes",
    )  # fmt: skip
    assert code == 0, err
    assert fake.sent[-1].artifact == b"artifact bytes"
    # a float model's final step: the node's inputs and the claimed output, as float32
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3) / 7
    inputs = tmp_path / "inputs.json"
    inputs.write_text(
        json.dumps([{"index": 3, "dtype": "float32", "values": x.tolist(), "proof": [h]}])
    )
    claimed = tmp_path / "claimed.json"
    y = np.array([0.25, -1.5], dtype=np.float32)
    claimed.write_text(
        json.dumps({"index": 4, "dtype": "float32", "shape": [2], "data": y.tobytes().hex()})
    )
    code, _, err = run(
        "tx", "verify", "final-step", str(JOB), "--inputs", str(inputs), "--claimed",
        str(claimed), "--from", PROVIDER, "--yes",
    )  # fmt: skip
    assert code == 0, err
    msg = fake.sent[-1]
    assert isinstance(msg, V.MsgFinalStep) and msg.artifact == b"" and list(msg.peaks) == []
    (opened,) = msg.inputs
    assert (opened.dtype, list(opened.shape), opened.index) == ("float32", [1, 2, 3], 3)
    assert np.array_equal(np.frombuffer(opened.data, "<f4").reshape(1, 2, 3), x)
    assert (msg.claimed.index, msg.claimed.dtype, list(msg.claimed.shape)) == (4, "float32", [2])
    assert np.array_equal(np.frombuffer(msg.claimed.data, "<f4"), y)
    sent = len(fake.sent)
    for extra, message in (
        (["--claimed", str(claimed), "--peaks", h], "takes no --artifact or --peaks"),
        ([], "give --artifact and --peaks"),
    ):
        code, _, err = run(
            "tx", "verify", "final-step", str(JOB), "--inputs", str(inputs), *extra,
            "--from", PROVIDER, "--yes",
        )  # fmt: skip
        assert code == 1 and message in err, err
    assert len(fake.sent) == sent


def test_a_float_vote_reads_as_such() -> None:
    game = dispute(
        status=V.DISPUTE_STATUS_FINAL, lo=4, hi=5, float_model=True, vote_pending=True,
        vote_rounds=1,
    )  # fmt: skip
    shown = verify_cli.dispute_view(game)
    assert shown["float_model"] and shown["vote_pending"]
    assert shown["next"] == "AI validators vote on the provider's step 5 (vote round 1)"
    game.vote_pending = False
    assert "(final-step --claimed) by height 120" in verify_cli.dispute_view(game)["next"]
