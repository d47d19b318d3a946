"""The bisection game (aivm.ai.verify.bisection): honest parties win against tampered traces
whichever side cheats, in at most ceil(log2 n) rounds plus the one-operator check; missed
deadlines lose; forged, replayed and misdirected proofs and unagreed tensors are refused."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.model import IntArray
from aivm.ai.verify import bisection as b
from aivm.ai.verify import trace
from aivm.types.errors import AivmError, ErrorCode
from trace_models import commit, gbdt, mlp6, rows_for, skip6, tampered_trace

START, ROUND = 100, 10
MODELS = {"mlp6": mlp6(), "skip6": skip6(), "gbdt": gbdt()}


@dataclass
class Player:
    """A party with its committed trace (tensors may be None for a party that has none)."""

    party: b.Party
    commitment: trace.TraceCommitment
    tensors: list[IntArray] | None

    def leaf(self, step: int) -> b.LeafOpening:
        return b.LeafOpening(self.commitment.leaves[step], trace.prove_step(self.commitment, step))

    def post(self, step: int) -> tuple[bytes, tuple[bytes, ...]]:
        """(leaf, proof) of ``step``, as a move posts them."""
        opening = self.leaf(step)
        return opening.leaf, opening.proof

    def openings(self, program: Program, game: b.Game) -> list[b.TensorOpening]:
        assert self.tensors is not None
        sources = trace.operator_sources(program, game.hi - 1)
        return [
            b.TensorOpening(s, self.tensors[s], trace.prove_tensor(self.commitment, game.lo, s))
            for s in sources
        ]

    def peaks(self, game: b.Game) -> tuple[bytes, ...]:
        return trace.prove_prefix(self.commitment, game.lo)


def players(program: Program, rows: IntArray, step: int, cheater: b.Party) -> tuple[Player, Player]:
    """(provider, challenger): the cheater's trace is tampered at ``step``."""
    honest = trace.dsm_trace(program, rows)
    bad = tampered_trace(program, rows, step)
    traces = {cheater: bad, cheater.other: honest}
    return (
        Player(b.Party.PROVIDER, commit(traces[b.Party.PROVIDER]), traces[b.Party.PROVIDER]),
        Player(b.Party.CHALLENGER, commit(traces[b.Party.CHALLENGER]), traces[b.Party.CHALLENGER]),
    )


def open_(provider: Player, challenger: Player, rows: IntArray) -> b.Game:
    n = provider.commitment.n_steps
    return b.open_game(
        n,
        provider.commitment.root,
        challenger.commitment.root,
        [trace.tensor_hash(rows)],
        provider.leaf(n),
        challenger.leaf(n),
        START,
        ROUND,
    )


def bisect(game: b.Game, provider: Player, challenger: Player) -> tuple[b.Game, int]:
    """Both parties respond promptly until the game is final; returns (game, height)."""
    height = START
    while game.status is b.Status.BISECT:
        height += 1
        game = b.respond(game, b.Party.PROVIDER, *provider.post(game.mid), height)
        height += 3
        game = b.respond(game, b.Party.CHALLENGER, *challenger.post(game.mid), height)
    return game, height


def play(
    program: Program, provider: Player, challenger: Player, rows: IntArray, finisher: Player
) -> b.Game:
    game, height = bisect(open_(provider, challenger, rows), provider, challenger)
    assert game.status is b.Status.FINAL and game.hi == game.lo + 1
    return b.final_step(
        game,
        finisher.party,
        program,
        finisher.openings(program, game),
        finisher.peaks(game),
        height + 1,
    )


def raises(code: ErrorCode) -> pytest.RaisesExc[AivmError]:
    return pytest.raises(AivmError, match=code.description)


# --- the game ---------------------------------------------------------------------------


def test_rounds_needed() -> None:
    assert [b.rounds_needed(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 64)] == [
        0,
        1,
        2,
        2,
        3,
        3,
        3,
        3,
        4,
        6,
    ]


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("cheater", list(b.Party))
def test_honest_party_wins(name: str, cheater: b.Party) -> None:
    program = MODELS[name]
    n = len(program.model.ops)
    step = min(4, n)  # operator 3's output (the last operator's for the 2-op GBDT)
    rows = rows_for(program, 3)
    provider, challenger = players(program, rows, step, cheater)
    honest = challenger if cheater is b.Party.PROVIDER else provider
    game, _ = bisect(open_(provider, challenger, rows), provider, challenger)
    assert game.rounds <= b.rounds_needed(n)
    assert (game.lo, game.hi) == (step - 1, step)  # the first disagreeing operator
    for finisher in (provider, challenger):  # whoever submits the check, it decides the same
        done = play(program, provider, challenger, rows, finisher)
        assert done.status is b.Status.DONE and done.outcome is b.Outcome.EXECUTION
        assert done.winner is honest.party


def test_rounds_for_the_six_operator_mlp() -> None:
    """n = 6 needs ceil(log2 6) = 3 rounds at most: the worst tamper index takes all three."""
    program = MODELS["mlp6"]
    rows = rows_for(program)
    used = []
    for step in range(1, 7):
        provider, challenger = players(program, rows, step, b.Party.PROVIDER)
        game, _ = bisect(open_(provider, challenger, rows), provider, challenger)
        assert (game.lo, game.hi) == (step - 1, step)
        used.append(game.rounds)
    assert max(used) == 3 == b.rounds_needed(6)


def test_timeouts_lose() -> None:
    program = MODELS["mlp6"]
    rows = rows_for(program)
    provider, challenger = players(program, rows, 4, b.Party.PROVIDER)
    game = open_(provider, challenger, rows)
    with raises(b.ErrNotExpired):
        b.timeout(game, game.deadline)
    assert b.timeout(game, game.deadline + 1).winner is b.Party.CHALLENGER  # provider silent
    assert b.timeout(game, game.deadline + 1).outcome is b.Outcome.TIMEOUT
    with raises(b.ErrDeadline):
        b.respond(game, b.Party.PROVIDER, *provider.post(game.mid), game.deadline + 1)
    posted = b.respond(game, b.Party.PROVIDER, *provider.post(game.mid), game.deadline)
    assert posted.deadline == game.deadline + ROUND
    assert b.timeout(posted, posted.deadline + 1).winner is b.Party.PROVIDER  # challenger silent
    final, height = bisect(game, provider, challenger)
    late = b.timeout(final, final.deadline + 1)  # nobody ran the final check: the provider's
    assert late.winner is b.Party.CHALLENGER
    with raises(b.ErrGameOver):
        b.timeout(late, late.deadline + 5)
    with raises(b.ErrGameOver):
        b.respond(late, b.Party.PROVIDER, *provider.post(3), height)


def test_turns_and_phases() -> None:
    program = MODELS["mlp6"]
    rows = rows_for(program)
    provider, challenger = players(program, rows, 4, b.Party.PROVIDER)
    game = open_(provider, challenger, rows)
    with raises(b.ErrWrongTurn):
        b.respond(game, b.Party.CHALLENGER, *challenger.post(game.mid), START + 1)
    with raises(b.ErrWrongPhase):
        b.final_step(game, b.Party.PROVIDER, program, [], (), START + 1)
    with raises(b.ErrWrongPhase):
        b.settle(game, True)
    game = b.respond(game, b.Party.PROVIDER, *provider.post(game.mid), START + 1)
    with raises(b.ErrWrongTurn):
        b.respond(game, b.Party.PROVIDER, *provider.post(game.mid), START + 1)
    final, height = bisect(open_(provider, challenger, rows), provider, challenger)
    with raises(b.ErrWrongPhase):
        b.respond(final, b.Party.PROVIDER, *provider.post(final.mid), height)


def test_forged_and_replayed_proofs_are_refused() -> None:
    program = MODELS["mlp6"]
    rows = rows_for(program)
    provider, challenger = players(program, rows, 4, b.Party.PROVIDER)
    game = open_(provider, challenger, rows)  # mid = 3
    leaf, proof = provider.post(3)
    cases: list[tuple[object, object]] = [
        (provider.leaf(4).leaf, proof),  # another leaf, same path
        (leaf, (bytes(32), *proof[1:])),  # forged sibling
        provider.post(2),  # a valid proof of another step (replayed from another round)
        (leaf, proof[:-1]),  # truncated
        (leaf, (*proof, leaf)),  # extended
        (b"short", proof),
        ("not a leaf", "not a proof"),
    ]
    for bad_leaf, bad_proof in cases:
        with raises(b.ErrBadProof):
            b.respond(game, b.Party.PROVIDER, bad_leaf, bad_proof, START + 1)  # type: ignore[arg-type]
    moved = b.respond(game, b.Party.PROVIDER, *provider.post(3), START + 1)
    with raises(b.ErrBadProof):  # the provider's opening is not valid for the challenger's root
        b.respond(moved, b.Party.CHALLENGER, *provider.post(3), START + 2)
    with raises(b.ErrBadProof):  # forged opening of the last step at the start
        b.open_game(
            6,
            provider.commitment.root,
            challenger.commitment.root,
            [trace.tensor_hash(rows)],
            provider.leaf(5),
            challenger.leaf(6),
            START,
            ROUND,
        )


def test_open_game_refuses_non_disputes_and_bad_arguments() -> None:
    program = MODELS["mlp6"]
    rows = rows_for(program)
    honest = commit(trace.dsm_trace(program, rows))
    p = Player(b.Party.PROVIDER, honest, None)
    with raises(b.ErrNoDispute):
        b.open_game(
            6, honest.root, honest.root, [honest.tensor_hashes[0]], p.leaf(6), p.leaf(6), 1, 5
        )
    provider, challenger = players(program, rows, 2, b.Party.PROVIDER)
    args = dict(
        n=6,
        provider_root=provider.commitment.root,
        challenger_root=challenger.commitment.root,
        input_hashes=[honest.tensor_hashes[0]],
        provider_last=provider.leaf(6),
        challenger_last=challenger.leaf(6),
        height=START,
        round_blocks=ROUND,
    )
    assert b.open_game(**args).status is b.Status.BISECT  # type: ignore[arg-type]
    for key, bad in [
        ("n", 0),
        ("n", "6"),
        ("round_blocks", 0),
        ("height", -1),
        ("provider_root", b"x"),
        ("input_hashes", []),
        ("input_hashes", [b"x"]),
        ("input_hashes", [honest.tensor_hashes[0]] * 7),
    ]:
        with pytest.raises(AivmError) as err:
            b.open_game(**{**args, key: bad})  # type: ignore[arg-type]
        assert err.value.codespace == "verify" and 60 <= err.value.code <= 69


def test_final_step_refuses_unagreed_tensors_and_bad_peaks() -> None:
    program = MODELS["skip6"]  # operator 3 reads tensors 2 and 3
    rows = rows_for(program)
    provider, challenger = players(program, rows, 4, b.Party.PROVIDER)
    game, height = bisect(open_(provider, challenger, rows), provider, challenger)
    assert (game.lo, game.hi) == (3, 4)
    good = challenger.openings(program, game)
    peaks = challenger.peaks(game)
    assert [o.index for o in good] == [2, 3]
    altered = good[1].tensor.copy()
    altered[0, 0] ^= 1
    bad_sets = [
        [good[0], dataclasses.replace(good[1], tensor=altered)],  # hash not the agreed one
        [good[1], good[0]],  # wrong order
        [good[0]],  # missing
        [good[0], dataclasses.replace(good[1], index=1)],  # another tensor
        [good[0], dataclasses.replace(good[1], proof=good[0].proof)],  # another tensor's proof
        [good[0], dataclasses.replace(good[1], tensor=altered.astype(np.float32))],
        [good[0], "x"],
    ]
    for inputs in bad_sets:
        with raises(b.ErrTensorMismatch):
            b.final_step(game, b.Party.CHALLENGER, program, inputs, peaks, height)  # type: ignore[arg-type]
    for bad_peaks in [
        peaks[:-1],
        (bytes(32), *peaks[1:]),
        trace.prove_prefix(challenger.commitment, 2),
    ]:
        with raises(b.ErrBadProof):
            b.final_step(game, b.Party.CHALLENGER, program, good, bad_peaks, height)
    with raises(b.ErrInvalidGame):  # another model (2 operators, not 6)
        b.final_step(game, b.Party.CHALLENGER, MODELS["gbdt"], good, peaks, height)
    with raises(b.ErrDeadline):
        b.final_step(game, b.Party.CHALLENGER, program, good, peaks, game.deadline + 1)
    done = b.final_step(game, b.Party.CHALLENGER, program, good, peaks, height)
    assert done.winner is b.Party.CHALLENGER
    with raises(b.ErrGameOver):
        b.final_step(done, b.Party.CHALLENGER, program, good, peaks, height)


def test_errors_are_registered_in_the_verify_range() -> None:
    codes = [
        b.ErrWrongTurn,
        b.ErrBadProof,
        b.ErrOutOfRange,
        b.ErrGameOver,
        b.ErrWrongPhase,
        b.ErrDeadline,
        b.ErrNotExpired,
        b.ErrNoDispute,
        b.ErrTensorMismatch,
        b.ErrInvalidGame,
    ]
    assert {(c.codespace, c.code) for c in codes} == {("verify", i) for i in range(60, 70)}


def test_settle_by_vote() -> None:
    program = MODELS["mlp6"]
    rows = rows_for(program)
    provider, challenger = players(program, rows, 5, b.Party.CHALLENGER)
    game, _ = bisect(open_(provider, challenger, rows), provider, challenger)
    won = b.settle(game, True)
    assert (won.winner, won.outcome) == (b.Party.PROVIDER, b.Outcome.VOTE)
    assert b.settle(game, False).winner is b.Party.CHALLENGER


# --- adversaries ------------------------------------------------------------------------


@settings(max_examples=int(os.environ.get("BISECTION_EXAMPLES", "40")), deadline=None)
@given(
    st.sampled_from(["mlp6", "skip6"]),
    st.integers(1, 6),
    st.sampled_from(list(b.Party)),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_random_tamper_index(
    name: str, step: int, cheater: b.Party, row_count: int, seed: int
) -> None:
    """Whatever operator the cheater tampers, the game lands on it and the honest side wins."""
    program = MODELS[name]
    rows = rows_for(program, row_count, seed)
    provider, challenger = players(program, rows, step, cheater)
    game, _ = bisect(open_(provider, challenger, rows), provider, challenger)
    assert (game.lo, game.hi) == (step - 1, step)
    assert game.rounds <= b.rounds_needed(6)
    honest = challenger if cheater is b.Party.PROVIDER else provider
    assert play(program, provider, challenger, rows, honest).winner is honest.party


@settings(max_examples=int(os.environ.get("BISECTION_EXAMPLES", "40")), deadline=None)
@given(st.lists(st.booleans(), min_size=6, max_size=6), st.sampled_from(list(b.Party)))
def test_arbitrary_committed_leaves_never_beat_an_honest_party(
    copy_honest: list[bool], cheater: b.Party
) -> None:
    """The cheater commits any mix of honest and garbage leaves (not even a consistent trace):
    the honest party still wins, by execution when it runs the final check."""
    program = MODELS["skip6"]
    rows = rows_for(program, 2)
    tensors = trace.dsm_trace(program, rows)
    honest_c = commit(tensors)
    leaves = [honest_c.leaves[0]] + [
        honest_c.leaves[i] if keep else trace.leaf_hash(bytes([i]) * 3)
        for i, keep in enumerate(copy_honest, start=1)
    ]
    leaves[-1] = trace.leaf_hash(b"wrong output")
    fake = trace.TraceCommitment(trace.merkle_root(leaves), 6, tuple(leaves), ())
    honest = Player(cheater.other, honest_c, tensors)
    liar = Player(cheater, fake, None)
    provider, challenger = (liar, honest) if cheater is b.Party.PROVIDER else (honest, liar)
    game, height = bisect(open_(provider, challenger, rows), provider, challenger)
    assert game.rounds <= 3
    done = b.final_step(
        game, honest.party, program, honest.openings(program, game), honest.peaks(game), height
    )
    assert done.winner is honest.party


# --- float ONNX traces: bisection to the node, then a vote --------------------------------


def test_onnx_trace_bisects_to_the_tampered_node() -> None:
    from onnx_fixtures import build_mnist_like_mlp

    model = build_mnist_like_mlp(seed=5, sizes=(20, 16, 8, 4)).SerializeToString()
    x = np.random.default_rng(2).random((2, 20)).astype(np.float32)
    entries = trace.onnx_trace(model, {"x": x})
    n = len(entries) - 1
    tampered_step = 4
    cheat = [a.copy() for _, a in entries]
    cheat[tampered_step][0, 0] += 0.5  # one wrong activation; the rest as if computed from it
    honest_c = trace.commit_trace([trace.tensor_hash(a) for _, a in entries])
    cheat_c = trace.commit_trace([trace.tensor_hash(a) for a in cheat])
    provider = Player(b.Party.PROVIDER, cheat_c, None)
    challenger = Player(b.Party.CHALLENGER, honest_c, None)
    game = b.open_game(
        n,
        cheat_c.root,
        honest_c.root,
        [trace.tensor_hash(x)],
        provider.leaf(n),
        challenger.leaf(n),
        START,
        ROUND,
    )
    game, _ = bisect(game, provider, challenger)
    assert (game.lo, game.hi) == (tampered_step - 1, tampered_step)
    assert game.rounds <= b.rounds_needed(n)
    # validators re-execute the one node on the agreed inputs and vote within a tolerance
    _, input_steps = trace.onnx_step_node(model, game.hi)
    (recomputed,) = trace.run_onnx_node(model, game.hi, [entries[s][1] for s in input_steps])
    provider_right = bool(np.allclose(recomputed, cheat[game.hi], atol=1e-4))
    assert b.settle(game, provider_right).winner is b.Party.CHALLENGER
