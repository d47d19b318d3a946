"""The dispute player (``aivm.worker.disputes``) against the pure game
(``aivm.ai.verify.bisection``): whole games played from the messages the player builds, read
back as the chain reads them, on small DSM models (a chain, a skip connection, a tree
ensemble); the honest party wins whichever side lies and wherever the lie is. Also: the
provider's trace evidence opens its output as the chain checks it, the wrong-trace fault makes
a self-consistent trace with a different output, and kept traces survive a restart.

Float (ONNX, tolerance) games: the traced run of :class:`aivm.worker.runner.ModelRunner`,
bisected like a DSM game; at the final step the provider alone opens the node's inputs and its
claim (proved as the chain checks them), and :func:`disputes.step_verdict` — what each AI
validator votes — finds a lying provider's claim invalid and an honest one valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aivm.ai.runtime.interpreter import Program
from aivm.ai.verify import bisection as b
from aivm.ai.verify import trace
from aivm.modules.compute import compare
from aivm.modules.verify import verify_pb2 as V
from aivm.modules.verify.keeper import verdict_commitment
from aivm.modules.verify.optimistic import float_tensor
from aivm.types.dec import Dec
from aivm.types.protogen import ai_pb2
from aivm.worker import disputes
from aivm.worker.runner import ModelRunner
from onnx_fixtures import build_mnist_like_mlp
from trace_models import gbdt, mlp6, rows_for, skip6

PROVIDER, CHALLENGER = "aivm1provider", "aivm1challenger"
START, ROUND = 50, 5
MODELS = {"mlp6": mlp6(), "skip6": skip6(), "gbdt": gbdt()}


def play(
    program: Program, provider: disputes.KeptTrace, challenger: disputes.KeptTrace
) -> tuple[b.Game, int]:
    """Open a game as the chain does (from the provider's evidence and the challenger's
    MsgOpenDispute), then let each party send what :func:`disputes.next_move` builds, read
    back as the chain reads the messages, until the game is decided; (game, messages)."""
    rows = provider.tensors[0]
    evidence = V.Evidence.FromString(disputes.evidence_bytes(provider))
    opened = disputes.open_dispute_msg(CHALLENGER, 7, PROVIDER, challenger)
    game = b.open_game(
        int(evidence.trace_steps),
        bytes(evidence.trace_root),
        bytes(opened.trace_root),
        [trace.tensor_hash(rows)],
        b.LeafOpening(
            bytes(evidence.trace_output_leaf), tuple(evidence.trace_output_step_proof)
        ),
        b.LeafOpening(bytes(opened.last_leaf), tuple(opened.last_proof)),
        START,
        ROUND,
    )
    height, sent = START, 0
    kept = {PROVIDER: provider, CHALLENGER: challenger}
    while game.status is not b.Status.DONE:
        height += 1
        record = disputes.dispute_of(game, 7, PROVIDER, CHALLENGER)
        assert disputes.game_of(record) == game
        # the provider moves first in a block; the challenger sees the chain after it
        for address in (PROVIDER, CHALLENGER):
            msg = disputes.next_move(record, address, kept[address], program, b"artifact")
            if msg is None:
                continue
            sent += 1
            party = b.Party(disputes.party_of(record, address) or 0)
            game = apply(game, party, program, msg, height)
            break
        else:
            raise AssertionError(f"nobody moves in {game}")
    return game, sent


def apply(game: b.Game, party: b.Party, program: Program, msg: Any, height: int) -> b.Game:
    """What the chain does with a MsgBisect or MsgFinalStep."""
    if isinstance(msg, V.MsgBisect):
        return b.respond(game, party, bytes(msg.leaf), tuple(msg.proof), height)
    assert isinstance(msg, V.MsgFinalStep) and msg.artifact == b"artifact"
    inputs = [
        b.TensorOpening(t.index, disputes.tensor_of(t), tuple(t.proof)) for t in msg.inputs
    ]
    return b.final_step(game, party, program, inputs, tuple(msg.peaks), height)


def traces(program: Program, step: int, seed: int = 1) -> tuple[disputes.KeptTrace, ...]:
    """(honest, tampered at ``step``) traces of three rows."""
    rows = rows_for(program, 3, seed)
    honest = trace.dsm_trace(program, rows)
    return disputes.KeptTrace.of(honest), disputes.KeptTrace.of(
        disputes.tampered(program, honest, step)
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_honest_party_wins_every_game(name: str) -> None:
    """Every tampered step, each side lying in turn: the honest side wins by execution, in at
    most ceil(log2 n) rounds."""
    program = MODELS[name]
    n = len(program.kernels)
    for step in range(1, n + 1):
        honest, liar = traces(program, step, seed=step)
        for provider, challenger, winner in (
            (honest, liar, b.Party.PROVIDER),
            (liar, honest, b.Party.CHALLENGER),
        ):
            game, sent = play(program, provider, challenger)
            assert (game.winner, game.outcome) == (winner, b.Outcome.EXECUTION), (name, step)
            assert game.rounds <= b.rounds_needed(n)
            assert sent == 2 * game.rounds + 1
            assert game.hi == step  # the first wrong tensor is the one decided


def test_moves_follow_the_turn_and_a_foreign_trace_plays_nothing() -> None:
    program = MODELS["mlp6"]
    honest, liar = traces(program, 3)
    record = disputes.dispute_of(
        b.open_game(
            6, honest.commitment.root, liar.commitment.root,
            [honest.commitment.tensor_hashes[0]],
            b.LeafOpening(honest.commitment.leaves[6], trace.prove_step(honest.commitment, 6)),
            b.LeafOpening(liar.commitment.leaves[6], trace.prove_step(liar.commitment, 6)),
            START, ROUND,
        ),
        7, PROVIDER, CHALLENGER,
    )  # fmt: skip
    move = disputes.next_move(record, PROVIDER, honest, program, b"")
    assert isinstance(move, V.MsgBisect) and move.sender == PROVIDER and move.job_id == 7
    assert move.leaf == honest.commitment.leaves[3]  # mid of (0, 6)
    assert disputes.next_move(record, CHALLENGER, liar, program, b"") is None  # not its turn
    assert disputes.next_move(record, "aivm1someoneelse", honest, program, b"") is None
    short = disputes.KeptTrace.of(list(honest.tensors[:4]))
    assert disputes.next_move(record, PROVIDER, short, program, b"") is None
    done = V.Dispute()
    done.CopyFrom(record)
    done.status = V.DISPUTE_STATUS_DONE
    assert disputes.next_move(done, PROVIDER, honest, program, b"") is None


def test_final_step_tensors_are_raw_int64_proved_under_the_agreed_leaf() -> None:
    program = MODELS["skip6"]
    honest, _ = traces(program, 4)
    record = V.Dispute(job_id=3, provider=PROVIDER, challenger=CHALLENGER, n=6, lo=3, hi=4)
    record.status = V.DISPUTE_STATUS_FINAL
    msg = disputes.final_step_msg(record, CHALLENGER, honest, program, b"dsm")
    assert [t.index for t in msg.inputs] == [2, 3]  # operator 3 adds tensors 2 and 3
    lo_leaf = honest.commitment.leaves[3]
    for t in msg.inputs:
        array = disputes.tensor_of(t)
        assert np.array_equal(array, honest.tensors[t.index])
        assert bytes(t.data) == honest.tensors[t.index].astype("<i8").tobytes()
        assert trace.verify_tensor(lo_leaf, 3, t.index, trace.tensor_hash(array), list(t.proof))
    assert trace.extend_prefix(lo_leaf, 3, list(msg.peaks), honest.commitment.tensor_hashes[4]) == (
        honest.commitment.leaves[4]
    )
    with pytest.raises(ValueError, match="not a 1×6 int64"):
        disputes.tensor_of(V.TraceTensor(rows=1, cols=6, data=b"\0" * 8))


def test_evidence_opens_the_output_and_keeps_other_fields() -> None:
    program = MODELS["mlp6"]
    honest, _ = traces(program, 2)
    raw = disputes.evidence_bytes(honest, V.Evidence(toploc_proofs=b"tp").SerializeToString())
    evidence = V.Evidence.FromString(raw)
    assert evidence.toploc_proofs == b"tp"
    assert evidence.trace_root == honest.commitment.root and evidence.trace_steps == 6
    opening = trace.OutputOpening(
        evidence.trace_output_leaf,
        tuple(evidence.trace_output_step_proof),
        tuple(evidence.trace_output_tensor_proof),
    )
    output = np.asarray(program.run(honest.tensors[0]))
    assert trace.verify_output(evidence.trace_root, 6, trace.tensor_hash(output), opening)
    assert not trace.verify_output(
        evidence.trace_root, 6, trace.tensor_hash(output + 1), opening
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_tampered_trace_is_consistent_in_range_and_changes_the_output(name: str) -> None:
    program = MODELS[name]
    rows = rows_for(program, 3)
    honest = trace.dsm_trace(program, rows)
    bad = disputes.tampered(program, honest)
    step = max(1, len(program.kernels) // 2)
    assert all(np.array_equal(x, y) for x, y in zip(bad[:step], honest[:step], strict=True))
    assert not np.array_equal(bad[step], honest[step])
    assert not np.array_equal(bad[-1], honest[-1])
    for op in range(step, len(program.kernels)):  # every later tensor is its operator's output
        inputs = [bad[s] for s in trace.operator_sources(program, op)]
        assert np.array_equal(trace.execute_operator(program, op, inputs), bad[op + 1])


def test_kept_traces_survive_a_restart_and_are_dropped(tmp_path: Path) -> None:
    program = MODELS["gbdt"]
    honest, _ = traces(program, 1)
    store = disputes.TraceStore(tmp_path / "traces")
    store.put(12, honest)
    again = disputes.TraceStore(tmp_path / "traces")
    assert again.job_ids() == [12]
    loaded = again.get(12)
    assert loaded is not None and loaded.commitment == honest.commitment
    assert again.get(13) is None
    again.drop(12)
    assert again.job_ids() == [] and not (tmp_path / "traces" / "12.npz").exists()
    assert disputes.TraceStore(tmp_path / "traces").get(12) is None


# -- float (ONNX, tolerance) games ------------------------------------------------------------

ONNX_MODEL = build_mnist_like_mlp(seed=3, sizes=(20, 16, 4)).SerializeToString()
VERSION = ai_pb2.ModelVersion(
    comparison="tolerance", comparison_atol="0.000010000000000000", comparison_rtol=""
)
close = disputes.tolerance_of(VERSION)


@pytest.fixture(scope="module")
def float_traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[disputes.KeptTrace, ...]:
    """(honest, lying) traces of the float MLP: the liar's output moved by 0.25."""
    path = tmp_path_factory.mktemp("onnx") / "mlp.onnx"
    path.write_bytes(ONNX_MODEL)
    runner = ModelRunner(path)
    assert runner.trace_problem() == ""
    x = np.random.default_rng(7).random((2, 20)).astype(np.float32)
    tensors = runner.trace(runner.check_input(x))
    assert np.array_equal(tensors[0], x)
    assert np.allclose(tensors[-1], runner.run_tensors([x]).outputs[0], atol=1e-6)
    return disputes.KeptTrace.of(tensors), disputes.KeptTrace.of(disputes.tampered_float(tensors))


def play_float(
    provider: disputes.KeptTrace, challenger: disputes.KeptTrace
) -> tuple[b.Game, Any, disputes.StepVerdict]:
    """Bisect as the chain does until FINAL, then the provider's opened step (checked as the
    chain checks it) and the validators' verdict on it; (game, opened step, verdict)."""
    evidence = V.Evidence.FromString(disputes.evidence_bytes(provider))
    assert list(evidence.trace_output_shape) == [2, 4]
    opened = disputes.open_dispute_msg(CHALLENGER, 7, PROVIDER, challenger)
    game = b.open_game(
        int(evidence.trace_steps), bytes(evidence.trace_root), bytes(opened.trace_root),
        [trace.tensor_hash(provider.tensors[0])],
        b.LeafOpening(bytes(evidence.trace_output_leaf), tuple(evidence.trace_output_step_proof)),
        b.LeafOpening(bytes(opened.last_leaf), tuple(opened.last_proof)), START, ROUND,
    )  # fmt: skip
    kept = {PROVIDER: provider, CHALLENGER: challenger}
    height = START
    while game.status is b.Status.BISECT:
        height += 1
        record = disputes.dispute_of(game, 7, PROVIDER, CHALLENGER)
        record.float_model = True
        address = PROVIDER if game.turn is b.Party.PROVIDER else CHALLENGER
        msg = disputes.next_move(record, address, kept[address], None, ONNX_MODEL)
        assert isinstance(msg, V.MsgBisect)
        game = b.respond(game, game.turn, bytes(msg.leaf), tuple(msg.proof), height)
    record = disputes.dispute_of(game, 7, PROVIDER, CHALLENGER)
    record.float_model = True
    assert disputes.next_move(record, CHALLENGER, challenger, None, ONNX_MODEL) is None
    step = disputes.next_move(record, PROVIDER, provider, None, ONNX_MODEL)
    assert isinstance(step, V.MsgFinalStep) and not step.artifact and not step.peaks
    for t in step.inputs:  # the chain's checks of _open_step
        digest = trace.tensor_hash(float_tensor(t))
        assert 0 <= t.index <= game.lo
        assert trace.verify_tensor(game.lo_leaf, game.lo, t.index, digest, tuple(t.proof))
    claim = trace.tensor_hash(float_tensor(step.claimed))
    assert step.claimed.index == game.hi
    assert trace.verify_tensor(
        game.provider_hi_leaf, game.hi, game.hi, claim, tuple(step.claimed.proof)
    )
    record.inputs.extend(step.inputs)
    record.claimed.CopyFrom(step.claimed)
    record.vote_pending = True
    assert not disputes.is_due(record, V.PARTY_PROVIDER)  # opened: nothing more to send
    return game, record, disputes.step_verdict(ONNX_MODEL, record, close)


def test_a_lying_float_provider_opens_a_claim_the_validators_find_invalid(
    float_traces: tuple[disputes.KeptTrace, ...],
) -> None:
    honest, liar = float_traces
    game, _, verdict = play_float(liar, honest)
    assert game.hi == game.n  # only the output was moved
    assert not verdict.valid and "beyond tolerance" in verdict.detail
    assert b.settle(game, verdict.valid).winner is b.Party.CHALLENGER


def test_an_honest_float_provider_opens_a_claim_the_validators_find_valid(
    float_traces: tuple[disputes.KeptTrace, ...],
) -> None:
    honest, liar = float_traces
    game, record, verdict = play_float(honest, liar)
    assert verdict.valid, verdict.detail
    assert b.settle(game, verdict.valid).winner is b.Party.PROVIDER
    moved = V.Dispute()
    moved.CopyFrom(record)
    del moved.inputs[-1]  # a provider that does not open every input of the node
    assert not disputes.step_verdict(ONNX_MODEL, moved, close).valid
    moved.CopyFrom(record)
    moved.claimed.shape[:] = [4, 2]  # the right values under another shape
    assert not disputes.step_verdict(ONNX_MODEL, moved, close).valid


def test_float_traces_keep_their_dtype_across_a_restart(
    float_traces: tuple[disputes.KeptTrace, ...], tmp_path: Path
) -> None:
    honest, _ = float_traces
    disputes.TraceStore(tmp_path).put(5, honest)
    loaded = disputes.TraceStore(tmp_path).get(5)
    assert loaded is not None and loaded.commitment == honest.commitment and loaded.is_float


def test_the_worker_tolerance_and_step_commitment_match_the_chain() -> None:
    """The worker's float tolerance agrees with the chain's exact comparison (the version's
    atol, the default rtol), and its step commitment is the keeper's verdict commitment."""
    rule = compare.ComparisonRule("tolerance", Dec("0.00001"), Dec("0.001"))
    rng = np.random.default_rng(5)
    x = rng.normal(size=256).astype(np.float32)
    for scale in (0.0, 1e-7, 5e-6, 2e-5, 1e-3, 5e-3, 0.25):
        y = (x * (1 + scale) + np.float32(scale / 10)).astype(np.float32)
        a, b_ = x.astype("<f4").tobytes(), y.astype("<f4").tobytes()
        assert close(a, b_) == compare.within_tolerance(rule, a, b_), scale
    assert not close(x.tobytes(), x[:-1].tobytes())
    nan = x.copy()
    nan[3] = np.nan
    assert not close(nan.tobytes(), nan.tobytes())
    validator = bytes(range(20))
    for valid in (True, False):
        assert disputes.step_commitment(9, 2, validator, b"d" * 32, b"s" * 32, valid) == (
            verdict_commitment(9, 2, validator, b"d" * 32, b"s" * 32, step_valid=valid)
        )
