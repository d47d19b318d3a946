"""DSM models off-chain (optimistic verification, worker side) against a fake chain: the DSM
runner; a provider node serving a DSM job (the trace's output inline, its commitment as
evidence the chain's check accepts, the trace kept on disk and reused after a restart, the
wrong-trace hook); the provider answering a dispute and dropping settled traces; and the
challenger (``VerifierNode(challenge=True)``) disputing a wrong trace once, agreeing with a
right one, and remembering both across a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aivm.ai import runtime
from aivm.ai.verify import bisection as b
from aivm.ai.verify import trace
from aivm.client.wallet import Wallet
from aivm.crypto import unixfs
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2 as V
from aivm.worker import config, disputes, formats
from aivm.worker.node import ProviderNode, Work, reference_output, runner_output
from aivm.worker.runner import DsmRunner, ModelRunner, load_runner, runtime_name
from aivm.worker.verifier import VerifierNode
from trace_models import mlp6, rows_for, skip6

PROVIDER_KEY = Wallet.from_mnemonic(" ".join(["abandon"] * 23 + ["art"]))
CHALLENGER_KEY = Wallet.from_mnemonic(" ".join(["abandon"] * 23 + ["art"]), index=1)
PROGRAM = skip6()
ARTIFACT = runtime.serialize(PROGRAM.model)
ROWS = rows_for(PROGRAM, 3)


class FakeChain:
    """Just enough of Client and its module helpers for the DSM paths of the worker."""

    def __init__(self) -> None:
        self.jobs_by_id: dict[int, Any] = {}
        self.version = SimpleNamespace(
            model_id=1, version="1.0.0", format=runtime.FORMAT, comparison="",
            artifact_cid=unixfs.cid_of(ARTIFACT), artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        )  # fmt: skip
        self.open: list[Any] = []
        self.windows: list[Any] = []
        self.sent: list[Any] = []
        verify = SimpleNamespace(decode_evidence=V.Evidence.FromString, duties=lambda a: [])
        self.modules = SimpleNamespace(
            compute=SimpleNamespace(job=self.jobs_by_id.__getitem__, jobs=lambda **_: []),
            ai=SimpleNamespace(version=lambda m, v: self.version),
            verify=verify,
        )

    def query(self, path: str, request: Any, response_type: Any) -> Any:
        if path.endswith("/OpenDisputes"):
            found = [d for d in self.open if request.party in ("", d.provider, d.challenger)]
            return response_type(disputes=found)
        if path.endswith("/Challengeable"):
            return response_type(jobs=self.windows)
        raise AssertionError(path)

    def sign_and_broadcast(self, wallet: Any, msgs: list[Any]) -> Any:
        self.sent.extend(msgs)
        return SimpleNamespace(hash="AB" * 32)

    def wait_for_tx(self, hash: str, timeout: float = 30, check: bool = True) -> Any:
        return SimpleNamespace(ok=True, height=42, log="")


class FakeStore:
    def get(self, cid: str, dest: Path) -> None:
        assert cid == unixfs.cid_of(ARTIFACT)
        Path(dest).write_bytes(ARTIFACT)


def dsm_job(job_id: int, rows: np.ndarray = ROWS) -> compute_pb2.Job:
    data = formats.encode_tensor_input(rows)
    return compute_pb2.Job(
        id=job_id, model_id=1, version="1.0.0", input_inline=data,
        input_digest=hashlib.sha256(data).digest(), state=compute_pb2.JOB_STATE_RUNNING,
    )  # fmt: skip


def provider(home: Path, chain: FakeChain) -> tuple[Any, list[str]]:
    lines: list[str] = []
    cfg = config.ProviderConfig(key="k")
    node: Any = ProviderNode(home, cfg, PROVIDER_KEY, chain, lines.append)  # type: ignore[arg-type]
    node.storage = FakeStore()
    node.inline_limit = 65536
    return node, lines


def serve(node: Any, job: compute_pb2.Job) -> compute_pb2.MsgSubmitResult:
    """One DSM job through the node's serving steps (fetch, run, place, message)."""
    runner, rule = node._runner(job.model_id, job.version)
    item, msgs = Work(job), list[Any]()
    assert node._fetch_input(item, msgs) and node._compute(runner, rule, [item], item, msgs)
    node._place_outputs([item])
    msg: compute_pb2.MsgSubmitResult = node._result_msg(item, rule)
    return msg


def chain_accepts(msg: compute_pb2.MsgSubmitResult, rows: int) -> bool:
    """The chain's check of a result's trace evidence (optimistic sessions)."""
    evidence = V.Evidence.FromString(msg.evidence)
    output = np.frombuffer(msg.comparison_data, "<i8").reshape(rows, -1)
    opening = trace.OutputOpening(
        evidence.trace_output_leaf,
        tuple(evidence.trace_output_step_proof),
        tuple(evidence.trace_output_tensor_proof),
    )
    return hashlib.sha256(msg.comparison_data).digest() == msg.output_digest and (
        trace.verify_output(
            evidence.trace_root, evidence.trace_steps, trace.tensor_hash(output), opening
        )
    )


# -- the runner -------------------------------------------------------------------------------


def test_dsm_runner_runs_checked_rows_with_the_chain_semantics(tmp_path: Path) -> None:
    path = tmp_path / "model.dsm"
    path.write_bytes(ARTIFACT)
    runner = load_runner(path, runtime.FORMAT)
    assert isinstance(runner, DsmRunner) and runner.artifact == ARTIFACT
    rows = runner.check_input(ROWS.astype(np.int32))  # any integer dtype, as int64
    assert rows.dtype == np.int64
    out = runner.run_tensors([rows, rows[:1]]).outputs
    assert np.array_equal(out[0], PROGRAM.run(ROWS)) and out[1].shape[0] == 1
    assert np.array_equal(runner.trace(rows)[-1], out[0])
    for bad, why in (
        (ROWS[:, :5], "6 features"),
        (ROWS + 1000, "must lie in"),
        (ROWS.astype(np.float32), "2-D int64 quantized rows"),
        (ROWS[0], "2-D int64 quantized rows"),
    ):
        with pytest.raises(formats.FormatError, match=why):
            runner.check_input(bad)
    with pytest.raises(formats.FormatError, match="not a loadable DSM model"):
        DsmRunner(b"not a model")
    assert runtime_name(runtime.FORMAT) == "dsm aivm-dsm/1"
    assert runtime_name().startswith("onnxruntime ")
    data = formats.encode_tensor_input(ROWS)
    expected = PROGRAM.run(ROWS).astype("<i8").tobytes()
    assert runner_output(runner, data, "tolerance") == expected  # DSM output is always exact
    assert reference_output(path, data, "exact", runtime.FORMAT) == expected
    with pytest.raises(formats.FormatError, match="not a loadable ONNX model"):
        load_runner(path, "onnx")
    assert not isinstance(runner, ModelRunner)


# -- the provider -----------------------------------------------------------------------------


def test_provider_posts_the_trace_commitment_and_keeps_the_trace(tmp_path: Path) -> None:
    chain = FakeChain()
    node, lines = provider(tmp_path, chain)
    job = dsm_job(3)
    msg = serve(node, job)
    honest = disputes.KeptTrace.of(trace.dsm_trace(PROGRAM, ROWS))
    assert msg.runtime == "dsm aivm-dsm/1"
    assert msg.comparison_data == PROGRAM.run(ROWS).astype("<i8").tobytes()
    assert V.Evidence.FromString(msg.evidence).trace_root == honest.commitment.root
    assert V.Evidence.FromString(msg.evidence).trace_steps == len(PROGRAM.kernels)
    assert chain_accepts(msg, len(ROWS))
    assert (tmp_path / "traces" / "3.npz").exists()
    assert any(line.startswith("job 3: ran the DSM trace") for line in lines)
    # a restarted node reuses the kept trace and sends the same result
    again, lines = provider(tmp_path, FakeChain())
    reused = serve(again, job)
    assert (reused.evidence, reused.comparison_data) == (msg.evidence, msg.comparison_data)
    assert "job 3: trace computed before a restart, reused" in lines


def test_the_wrong_trace_hook_makes_a_consistent_wrong_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIVM_WORKER_FAULT", "wrong-trace")
    node, lines = provider(tmp_path, FakeChain())
    msg = serve(node, dsm_job(4))
    assert chain_accepts(msg, len(ROWS))  # its commitment opens to its (wrong) output
    assert msg.comparison_data != PROGRAM.run(ROWS).astype("<i8").tobytes()
    honest = disputes.KeptTrace.of(trace.dsm_trace(PROGRAM, ROWS))
    assert V.Evidence.FromString(msg.evidence).trace_root != honest.commitment.root
    assert "job 4: tampered with the trace (AIVM_WORKER_FAULT)" in lines


def test_provider_answers_its_disputes_and_drops_settled_traces(tmp_path: Path) -> None:
    """Its turn in a game: a MsgBisect with its own leaf at mid; a FINAL game: the final
    step; the challenger's turn: nothing; a settled job's trace is dropped, an open one's
    kept."""
    chain = FakeChain()
    node, lines = provider(tmp_path, chain)
    job = dsm_job(5)
    chain.jobs_by_id[5] = job
    serve(node, job)
    mine = node.traces.get(5)
    liar = disputes.KeptTrace.of(disputes.tampered(PROGRAM, list(mine.tensors)))
    game = b.open_game(
        6, mine.commitment.root, liar.commitment.root, [mine.commitment.tensor_hashes[0]],
        b.LeafOpening(mine.commitment.leaves[6], trace.prove_step(mine.commitment, 6)),
        b.LeafOpening(liar.commitment.leaves[6], trace.prove_step(liar.commitment, 6)),
        40, 5,
    )  # fmt: skip
    chain.open = [disputes.dispute_of(game, 5, PROVIDER_KEY.address, CHALLENGER_KEY.address)]
    node._disputes(41)
    assert len(chain.sent) == 1 and isinstance(chain.sent[0], V.MsgBisect)
    assert chain.sent[0].leaf == mine.commitment.leaves[3]
    assert any("sent bisect at step 3 as the provider" in line for line in lines)
    node._disputes(42)  # the same state again (the tx not yet seen): not sent twice
    assert len(chain.sent) == 1
    restarted, _ = provider(tmp_path, chain)  # a restart plays from <home>/traces
    restarted._disputes(42)
    assert len(chain.sent) == 2 and chain.sent[1] == chain.sent[0]
    (tmp_path / "traces" / "5.npz").unlink()  # lost: computed again from the job's input
    again, again_lines = provider(tmp_path, chain)
    again._disputes(42)
    assert len(chain.sent) == 3 and chain.sent[2] == chain.sent[0]
    assert "job 5: trace computed again for a dispute" in again_lines
    chain.sent[1:] = []
    game = b.respond(game, b.Party.PROVIDER, chain.sent[0].leaf, tuple(chain.sent[0].proof), 42)
    chain.open = [disputes.dispute_of(game, 5, PROVIDER_KEY.address, CHALLENGER_KEY.address)]
    node._disputes(43)
    assert len(chain.sent) == 1  # the challenger's turn
    final = V.Dispute()
    final.CopyFrom(chain.open[0])
    final.lo, final.hi, final.status = 2, 3, V.DISPUTE_STATUS_FINAL
    chain.open = [final]
    node._disputes(44)
    assert isinstance(chain.sent[-1], V.MsgFinalStep) and chain.sent[-1].artifact == ARTIFACT
    assert [t.index for t in chain.sent[-1].inputs] == [2]
    chain.open = []
    node.last_sweep = -100
    node._disputes(60)
    assert node.traces.job_ids() == [5]  # still RUNNING
    job.state = compute_pb2.JOB_STATE_COMPLETED
    node._disputes(61)
    assert node.traces.job_ids() == [5]  # swept at most every 10 blocks
    node._disputes(70)
    assert node.traces.job_ids() == [] and "job 5: settled; dropped its trace" in lines


# -- the challenger ---------------------------------------------------------------------------


def accepted(job: compute_pb2.Job, provider: str, kept: disputes.KeptTrace) -> None:
    """Give ``job`` an accepted result from ``provider`` with ``kept``'s evidence."""
    output = kept.output.astype("<i8").tobytes()
    digest = hashlib.sha256(output).digest()
    job.output_digest = digest
    job.state = compute_pb2.JOB_STATE_PENDING_ACCEPTANCE
    assignment = job.assignments.add(provider=provider, status=compute_pb2.ASSIGNMENT_STATUS_AGREED)
    assignment.result.output_digest = digest
    assignment.result.comparison_data = output
    assignment.result.evidence = disputes.evidence_bytes(kept)


def challenger(home: Path, chain: FakeChain) -> tuple[Any, list[str]]:
    lines: list[str] = []
    node: Any = VerifierNode(
        home, CHALLENGER_KEY, chain, "http://x", lines.append, challenge=True  # type: ignore[arg-type]
    )
    node.storage = FakeStore()
    return node, lines


def test_challenger_disputes_a_wrong_trace_once_and_agrees_with_a_right_one(
    tmp_path: Path,
) -> None:
    chain = FakeChain()
    honest = disputes.KeptTrace.of(trace.dsm_trace(PROGRAM, ROWS))
    wrong = disputes.KeptTrace.of(disputes.tampered(PROGRAM, list(honest.tensors)))
    for job_id, kept in ((7, wrong), (8, honest)):
        chain.jobs_by_id[job_id] = dsm_job(job_id)
        accepted(chain.jobs_by_id[job_id], PROVIDER_KEY.address, kept)
    chain.windows = [V.Challengeable(job_id=7, challenge_end_height=90), V.Challengeable(job_id=8)]
    node, lines = challenger(tmp_path, chain)
    node.step(30)
    assert len(chain.sent) == 1
    opened = chain.sent[0]
    assert isinstance(opened, V.MsgOpenDispute)
    assert (opened.job_id, opened.provider, opened.challenger) == (
        7, PROVIDER_KEY.address, CHALLENGER_KEY.address,
    )  # fmt: skip
    assert opened.trace_root == honest.commitment.root
    assert trace.verify_step(
        opened.trace_root, 6, 6, opened.last_leaf, tuple(opened.last_proof)
    )
    assert any("job 7: trace root" in line and "opened a dispute" in line for line in lines)
    assert any("job 8: trace root" in line and "agrees" in line for line in lines)
    node.step(31)
    restarted, _ = challenger(tmp_path, chain)
    restarted.step(32)
    assert len(chain.sent) == 1  # checked once, across a restart
    assert restarted.checked.entries["7"]["state"] == "disputed"
    assert restarted.checked.entries["8"]["state"] == "agrees"
    # the game: the challenger's turn after the provider's post
    game = b.open_game(
        6, wrong.commitment.root, honest.commitment.root, [honest.commitment.tensor_hashes[0]],
        b.LeafOpening(wrong.commitment.leaves[6], trace.prove_step(wrong.commitment, 6)),
        b.LeafOpening(opened.last_leaf, tuple(opened.last_proof)), 30, 5,
    )  # fmt: skip
    leaf, proof = wrong.commitment.leaves[3], trace.prove_step(wrong.commitment, 3)
    game = b.respond(game, b.Party.PROVIDER, leaf, proof, 31)
    chain.open = [disputes.dispute_of(game, 7, PROVIDER_KEY.address, CHALLENGER_KEY.address)]
    restarted.step(33)
    assert isinstance(chain.sent[-1], V.MsgBisect)
    assert chain.sent[-1].leaf == honest.commitment.leaves[3]  # from the trace kept on disk
    # windows over, no game: traces and journal entries are forgotten
    chain.windows, chain.open = [], []
    restarted.step(50)
    assert restarted.traces.job_ids() == [] and restarted.checked.entries == {}


def test_a_false_challenger_disputes_an_honest_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIVM_VERIFIER_FAULT", "false-dispute")
    chain = FakeChain()
    honest = disputes.KeptTrace.of(trace.dsm_trace(PROGRAM, ROWS))
    chain.jobs_by_id[9] = dsm_job(9)
    accepted(chain.jobs_by_id[9], PROVIDER_KEY.address, honest)
    chain.windows = [V.Challengeable(job_id=9)]
    node, lines = challenger(tmp_path, chain)
    node.step(30)
    assert isinstance(chain.sent[0], V.MsgOpenDispute)
    assert chain.sent[0].trace_root != honest.commitment.root
    assert "job 9: tampered with its own trace (AIVM_VERIFIER_FAULT)" in lines


def test_challenger_skips_other_formats_and_results_without_traces(tmp_path: Path) -> None:
    chain = FakeChain()
    chain.jobs_by_id[10] = dsm_job(10)  # no accepted result with trace evidence
    chain.windows = [V.Challengeable(job_id=10)]
    node, _ = challenger(tmp_path, chain)
    node.step(30)
    assert chain.sent == [] and node.checked.entries["10"]["detail"] == "no trace evidence"
    chain.version.format = "onnx"
    chain.jobs_by_id[11] = dsm_job(11)
    chain.windows = [V.Challengeable(job_id=11)]
    node.step(31)
    assert chain.sent == [] and node.checked.entries["11"]["detail"] == "not a DSM or float model"


def test_chain_without_dispute_queries_stops_neither_node(tmp_path: Path) -> None:
    from aivm.client.errors import ChainError

    chain = FakeChain()

    def refuse(*_: Any) -> Any:
        raise ChainError("sdk", 6, "unknown query path")

    chain.query = refuse  # type: ignore[method-assign,assignment]
    node, lines = challenger(tmp_path, chain)
    node.step(30)  # duties still served (none here)
    assert any("challenges not checked at height 30" in line for line in lines)
    served, served_lines = provider(tmp_path / "p", chain)
    served._disputes(30)
    served._disputes(31)  # said once
    unreadable = [x for x in served_lines if "disputes not readable" in x]
    assert len(unreadable) == 1 and unreadable[0].startswith("disputes not readable at height 30")


def test_mlp_chain_traces_commit_like_the_program(tmp_path: Path) -> None:
    """A chain model (fused run) and its per-operator trace end on the same output."""
    program = mlp6()
    path = tmp_path / "mlp.dsm"
    path.write_bytes(runtime.serialize(program.model))
    runner = load_runner(path, runtime.FORMAT)
    assert isinstance(runner, DsmRunner)
    rows = rows_for(program, 5)
    assert np.array_equal(runner.trace(rows)[-1], program.run(rows))


def test_a_game_that_cannot_move_now_stops_no_other_and_is_tried_again() -> None:
    chain = FakeChain()
    honest = disputes.KeptTrace.of(trace.dsm_trace(PROGRAM, ROWS))
    liar = disputes.KeptTrace.of(disputes.tampered(PROGRAM, list(honest.tensors)))
    game = b.open_game(
        6, honest.commitment.root, liar.commitment.root, [honest.commitment.tensor_hashes[0]],
        b.LeafOpening(honest.commitment.leaves[6], trace.prove_step(honest.commitment, 6)),
        b.LeafOpening(liar.commitment.leaves[6], trace.prove_step(liar.commitment, 6)),
        40, 5,
    )  # fmt: skip
    chain.open = [
        disputes.dispute_of(game, job, PROVIDER_KEY.address, CHALLENGER_KEY.address)
        for job in (1, 2)
    ]
    calls: list[int] = []
    lines: list[str] = []

    def source(job_id: int) -> Any:
        calls.append(job_id)
        if job_id == 1:
            raise OSError("content store unreachable")
        return honest, PROGRAM, ARTIFACT

    player = disputes.Player(chain, PROVIDER_KEY, source, lines.append)  # type: ignore[arg-type]
    player.step()
    assert [m.job_id for m in chain.sent] == [2]
    assert "job 1: dispute 1: cannot move now: OSError: content store unreachable" in lines
    player.step()
    assert calls == [1, 2, 1]  # job 1 tried again; job 2's move is not sent twice
