"""The bisection game of optimistic verification, as a pure deterministic state machine.

A provider posts a result with the commitment ``root`` of its execution trace
(:mod:`aivm.ai.verify.trace`: leaf ``i`` is the prefix root ``P_i`` of tensors ``0 .. i``).
A bonded challenger who computes a different trace disputes it with its own root. The game
narrows the dispute to one operator in ``ceil(log2(n - lo₀))`` rounds, then the chain decides
that operator alone.

State: ``lo`` is a step both parties agree on (its leaf ``lo_leaf`` is known), ``hi`` a step
they disagree on (each party's leaf there is known). Initially ``lo`` is the last input step —
its leaf is computed by the chain from the job's input hashes, so no one can dispute it — and
``hi = n``, where both parties open their last leaf at the start and must differ.

Round (protocol: both post, the chain compares, so neither party is trusted):

1. the provider posts its leaf at ``mid = (lo + hi) // 2`` with a Merkle proof against its
   own root; then
2. the challenger posts its leaf at ``mid`` with a proof against its root;
3. equal leaves move ``lo`` to ``mid`` (the agreed leaf is that value), different ones move
   ``hi`` to ``mid`` (each party's ``hi`` leaf is its own post).

Each post must come by the round deadline (``round_blocks`` after the previous move); past it,
:func:`timeout` makes the party whose turn it is lose. When ``hi == lo + 1`` the game is *final*:
operator ``hi - 1`` produced tensor ``hi`` from tensors ``≤ lo``. Either party then opens those
input tensors under the agreed ``lo_leaf`` (inclusion proofs) and the peaks of ``P_lo``; the
chain executes the operator with the DSM semantics, extends ``P_lo`` by the hash of the
result, and compares with the provider's ``hi`` leaf: equal, the provider wins; otherwise the
challenger wins. The provider must make the final step (it holds the trace); if it does not,
it loses by timeout. (For float ONNX models the lead decides the last step by a validator vote
and calls :func:`settle`.)

Why this is sound: if the provider is honest, ``lo_leaf`` and the provider's ``hi`` leaf are
always the provider's (true) leaves, so the checked inputs are the true tensors and the
extension equals the provider's leaf: the provider wins, whatever the challenger posts. If the
challenger is honest, the same holds with the challenger's true leaves, and the provider's
``hi`` leaf differs from the true ``P_hi``: the challenger wins. Proofs are bound to the step
(``mid``), the tree size and the poster's own root, so a proof replayed from another step,
round or party is refused.

Every transition returns a new :class:`Game` (frozen) or raises a coded error (codespace
``verify``, codes 60–69) and changes nothing. Integers and bytes only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from aivm.ai.runtime.interpreter import Program
from aivm.ai.runtime.limits import Limits
from aivm.ai.runtime.model import IntArray
from aivm.ai.verify.trace import (
    HASH_SIZE,
    execute_operator,
    extend_prefix,
    prefix_roots,
    tensor_hash,
    verify_step,
    verify_tensor,
)
from aivm.types.errors import AivmError, register

CODESPACE = "verify"
ErrWrongTurn = register(CODESPACE, 60, "not this party's turn")
ErrBadProof = register(CODESPACE, 61, "invalid trace proof")
ErrOutOfRange = register(CODESPACE, 62, "trace step out of range")
ErrGameOver = register(CODESPACE, 63, "dispute game is over")
ErrWrongPhase = register(CODESPACE, 64, "dispute game is not in that phase")
ErrDeadline = register(CODESPACE, 65, "round deadline passed")
ErrNotExpired = register(CODESPACE, 66, "round deadline not passed")
ErrNoDispute = register(CODESPACE, 67, "the traces do not disagree")
ErrTensorMismatch = register(CODESPACE, 68, "tensor does not match the agreed trace")
ErrInvalidGame = register(CODESPACE, 69, "invalid dispute game")


class Party(IntEnum):
    """The two players."""

    PROVIDER = 1
    CHALLENGER = 2

    @property
    def other(self) -> Party:
        """The opponent."""
        return Party.CHALLENGER if self is Party.PROVIDER else Party.PROVIDER


class Status(IntEnum):
    """Phase of a game."""

    BISECT = 1
    """Rounds of mid leaves."""
    FINAL = 2
    """``hi == lo + 1``: waiting for the one-operator check (or a vote)."""
    DONE = 3
    """Decided: ``winner`` is set."""


class Outcome(IntEnum):
    """How a finished game was decided."""

    NONE = 0
    EXECUTION = 1
    """The chain executed the disputed operator."""
    TIMEOUT = 2
    """A party missed its deadline."""
    VOTE = 3
    """An external decision of the last step (float models)."""


@dataclass(frozen=True)
class Game:
    """A dispute between a provider's trace and a challenger's trace of the same job."""

    n: int
    """Steps ``0 .. n`` (``n`` operators of a DSM model)."""
    provider_root: bytes
    challenger_root: bytes
    lo: int
    """Highest step known agreed."""
    hi: int
    """Lowest step known disputed."""
    lo_leaf: bytes
    """The agreed leaf ``P_lo``."""
    provider_hi_leaf: bytes
    challenger_hi_leaf: bytes
    turn: Party
    deadline: int
    """Last height at which ``turn`` may act."""
    round_blocks: int
    """Blocks each party has for each move."""
    status: Status = Status.BISECT
    pending_leaf: bytes = b""
    """The provider's mid leaf of the current round (empty until posted)."""
    rounds: int = 0
    """Bisection rounds completed."""
    winner: Party | None = None
    outcome: Outcome = Outcome.NONE

    @property
    def mid(self) -> int:
        """The step of the current round."""
        return (self.lo + self.hi) // 2

    def root_of(self, party: Party) -> bytes:
        """``party``'s trace root."""
        return self.provider_root if party is Party.PROVIDER else self.challenger_root


@dataclass(frozen=True)
class LeafOpening:
    """A party's leaf at a step, with its proof against that party's root."""

    leaf: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class TensorOpening:
    """A tensor of the agreed prefix, with the proof of its hash under ``P_lo``."""

    index: int
    """Trace step (tensor index) of the tensor."""
    tensor: IntArray
    proof: tuple[bytes, ...]


def rounds_needed(n: int, lo: int = 0) -> int:
    """Most bisection rounds from ``(lo, n)`` to adjacent steps: ``ceil(log2(n - lo))``."""
    return max(0, (n - lo - 1).bit_length())


def open_game(
    n: int,
    provider_root: bytes,
    challenger_root: bytes,
    input_hashes: Sequence[bytes],
    provider_last: LeafOpening,
    challenger_last: LeafOpening,
    height: int,
    round_blocks: int,
) -> Game:
    """Start a dispute at ``height``.

    ``input_hashes`` are the tensor hashes of the job's inputs (steps ``0 .. k - 1``, known to
    the chain); both parties open their leaf of the last step ``n`` (the provider's usually
    comes from its result record), which must differ.
    """
    _check_opening_args(n, provider_root, challenger_root, input_hashes, height, round_blocks)
    for party, opening in ((Party.PROVIDER, provider_last), (Party.CHALLENGER, challenger_last)):
        root = provider_root if party is Party.PROVIDER else challenger_root
        if not _opens(root, n, n, opening):
            raise ErrBadProof.wrap(f"{party.name.lower()}'s leaf of step {n}")
    if provider_last.leaf == challenger_last.leaf:
        raise ErrNoDispute.wrap("both traces end with the same leaf")
    lo = len(input_hashes) - 1
    game = Game(
        n=n,
        provider_root=provider_root,
        challenger_root=challenger_root,
        lo=lo,
        hi=n,
        lo_leaf=prefix_roots(input_hashes)[-1],
        provider_hi_leaf=provider_last.leaf,
        challenger_hi_leaf=challenger_last.leaf,
        turn=Party.PROVIDER,
        deadline=height + round_blocks,
        round_blocks=round_blocks,
    )
    return _maybe_final(game)


def _check_opening_args(
    n: int,
    provider_root: bytes,
    challenger_root: bytes,
    input_hashes: Sequence[bytes],
    height: int,
    round_blocks: int,
) -> None:
    for value, name in ((n, "n"), (height, "height"), (round_blocks, "round_blocks")):
        if type(value) is not int or value < (1 if name != "height" else 0):
            raise ErrInvalidGame.wrap(f"{name} must be a positive integer")
    for root in (provider_root, challenger_root):
        if not isinstance(root, bytes) or len(root) != HASH_SIZE:
            raise ErrInvalidGame.wrap("trace roots are 32 bytes")
    if not isinstance(input_hashes, Sequence) or not 1 <= len(input_hashes) <= n:
        raise ErrOutOfRange.wrap(f"between 1 and {n} input hashes are needed")
    if not all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in input_hashes):
        raise ErrInvalidGame.wrap("input hashes are 32 bytes")


def _opens(root: bytes, n: int, step: int, opening: object) -> bool:
    return isinstance(opening, LeafOpening) and verify_step(
        root, n, step, opening.leaf, opening.proof
    )


def _maybe_final(game: Game) -> Game:
    if game.hi == game.lo + 1:
        return dataclasses.replace(game, status=Status.FINAL, turn=Party.PROVIDER)
    return game


def _check_active(game: Game, height: int | None, expected: Status) -> None:
    """Raise unless the game is in phase ``expected`` and ``height`` (None: no deadline
    check) is by the round deadline."""
    if game.status is Status.DONE:
        raise ErrGameOver.wrap(f"won by the {_name(game.winner)}")
    if game.status is not expected:
        raise ErrWrongPhase.wrap(f"the game is in phase {game.status.name.lower()}")
    if height is None:
        return
    if type(height) is not int or height > game.deadline:
        raise ErrDeadline.wrap(f"height {height} is past the deadline {game.deadline}")


def _name(party: Party | None) -> str:
    return "nobody" if party is None else party.name.lower()


def respond(game: Game, party: Party, leaf: bytes, proof: Sequence[bytes], height: int) -> Game:
    """``party`` posts its ``leaf`` at ``game.mid`` with its ``proof`` against its own root
    (its turn, by the deadline)."""
    _check_active(game, height, Status.BISECT)
    if party is not game.turn:
        raise ErrWrongTurn.wrap(f"the {_name(game.turn)} moves now")
    if not verify_step(game.root_of(party), game.n, game.mid, leaf, proof):
        raise ErrBadProof.wrap(f"{_name(party)}'s leaf of step {game.mid}")
    deadline = height + game.round_blocks
    if party is Party.PROVIDER:
        return dataclasses.replace(
            game, pending_leaf=leaf, turn=Party.CHALLENGER, deadline=deadline
        )
    moved = (
        dataclasses.replace(game, lo=game.mid, lo_leaf=leaf)
        if leaf == game.pending_leaf
        else dataclasses.replace(
            game,
            hi=game.mid,
            provider_hi_leaf=game.pending_leaf,
            challenger_hi_leaf=leaf,
        )
    )
    return _maybe_final(
        dataclasses.replace(
            moved,
            pending_leaf=b"",
            turn=Party.PROVIDER,
            deadline=deadline,
            rounds=game.rounds + 1,
        )
    )


def timeout(game: Game, height: int) -> Game:
    """Past the deadline, the party whose turn it is loses (anyone may call this)."""
    if game.status is Status.DONE:
        raise ErrGameOver.wrap(f"won by the {_name(game.winner)}")
    if type(height) is not int or height <= game.deadline:
        raise ErrNotExpired.wrap(f"the {_name(game.turn)} may move until {game.deadline}")
    return _finish(game, game.turn.other, Outcome.TIMEOUT)


def _finish(game: Game, winner: Party, outcome: Outcome) -> Game:
    return dataclasses.replace(
        game, status=Status.DONE, winner=winner, outcome=outcome, pending_leaf=b""
    )


def settle(game: Game, provider_correct: bool) -> Game:
    """Decide a final game by an outside judgement of step ``hi`` (a validator vote on a
    float operator): the provider wins when its ``hi`` leaf was judged correct.

    No deadline applies here: the caller runs the vote (and should not call :func:`timeout`
    on a game whose vote it has opened)."""
    _check_active(game, None, Status.FINAL)
    winner = Party.PROVIDER if provider_correct else Party.CHALLENGER
    return _finish(game, winner, Outcome.VOTE)


def final_step(
    game: Game,
    party: Party,
    program: Program,
    inputs: Sequence[TensorOpening],
    peaks: Sequence[bytes],
    height: int,
    limits: Limits | None = None,
) -> Game:
    """Decide a final game by executing operator ``hi - 1`` of the DSM ``program``.

    ``inputs`` open, in the operator's order, the tensors it reads (all ``≤ lo``) under the
    agreed leaf; ``peaks`` are the peaks of ``P_lo`` (``trace.prove_prefix``). Either party may
    submit. A tensor whose hash is not the one agreed, or bad peaks, are refused (nothing
    changes). The provider wins when its ``hi`` leaf is ``P_lo`` extended by the hash of the
    operator's output; otherwise the challenger wins.
    """
    _check_active(game, height, Status.FINAL)
    if not isinstance(party, Party):
        raise ErrWrongTurn.wrap("only the provider or the challenger may submit")
    if len(program.kernels) != game.n:
        raise ErrInvalidGame.wrap(f"the model has {len(program.kernels)} operators, not {game.n}")
    op_index = game.hi - 1
    sources = program.kernels[op_index][0]
    tensors = _opened_tensors(game, sources, inputs)
    try:
        output = execute_operator(program, op_index, tensors, limits)
    except AivmError as err:
        raise ErrTensorMismatch.wrap(err.log) from None
    expected = extend_prefix(game.lo_leaf, game.lo, peaks, tensor_hash(output))
    if expected is None:
        raise ErrBadProof.wrap(f"peaks of step {game.lo}")
    winner = Party.PROVIDER if expected == game.provider_hi_leaf else Party.CHALLENGER
    return _finish(game, winner, Outcome.EXECUTION)


def _opened_tensors(
    game: Game, sources: tuple[int, ...], inputs: Sequence[TensorOpening]
) -> list[IntArray]:
    """The input tensors, each checked against the agreed leaf; raises on any mismatch."""
    if not isinstance(inputs, Sequence) or len(inputs) != len(sources):
        raise ErrTensorMismatch.wrap(f"operator {game.hi - 1} reads {len(sources)} tensor(s)")
    tensors = []
    for source, opening in zip(sources, inputs, strict=True):
        if not isinstance(opening, TensorOpening) or opening.index != source:
            raise ErrTensorMismatch.wrap(f"expected an opening of tensor {source}")
        try:
            digest = tensor_hash(opening.tensor)
        except (AivmError, AttributeError, TypeError):
            raise ErrTensorMismatch.wrap(f"tensor {source} is not an array") from None
        if not verify_tensor(game.lo_leaf, game.lo, source, digest, opening.proof):
            raise ErrTensorMismatch.wrap(f"tensor {source} is not the one agreed at {game.lo}")
        tensors.append(opening.tensor)
    return tensors
