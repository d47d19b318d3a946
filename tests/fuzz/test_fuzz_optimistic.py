"""The fuzz world's optimistic-verification state: a game left bisecting, one left at its
final step, a job still taking disputes — and the undelivered next moves as seeds, so fuzzed
MsgOpenDispute / MsgBisect / MsgFinalStep reach the game and the on-chain operator (checked
by the FinalizeBlock oracles: same result warm and cold, no internal error, a rejection
changes only fee and sequence)."""

from __future__ import annotations

import random

import pytest
from fuzz_runner import describe_failures, make_target, run_input
from fuzz_targets import FuzzInput, FuzzWorld

from aivm.modules.verify import verify_pb2
from aivm.modules.verify.keeper import VerifyKeeper
from aivm.types import pb

V = verify_pb2
MUTATIONS = 150
DISPUTE_TYPES = (V.MsgOpenDispute, V.MsgBisect, V.MsgFinalStep)


def keeper(world: FuzzWorld) -> VerifyKeeper:
    return world.app.manager.keepers.get("verify", VerifyKeeper)


def seeds_of(world: FuzzWorld, kind: type[pb.Message]) -> list[pb.Message]:
    return [s for s in world.seeds if isinstance(s, kind)]


def test_the_world_holds_games_in_both_phases_and_a_challengeable_job(world: FuzzWorld) -> None:
    assert not [line for line in world.setup_log if "verify" in line or "compute" in line], (
        world.setup_log
    )
    ctx = world.app.query_context(world.app.store.version)
    games = {d.job_id: d for d in keeper(world).disputes.undecided(ctx)}
    assert {d.status for d in games.values()} == {
        V.DISPUTE_STATUS_BISECT,
        V.DISPUTE_STATUS_FINAL,
    }, games
    open_jobs = [job_id for job_id, _ in keeper(world).disputes.challengeable(ctx)]
    assert open_jobs and not set(open_jobs) & set(games), (open_jobs, games)
    for kind in DISPUTE_TYPES:
        assert seeds_of(world, kind), f"no {kind.__name__} seed"


@pytest.mark.parametrize("kind", DISPUTE_TYPES, ids=lambda k: k.__name__)
def test_the_next_move_is_accepted_and_its_mutations_pass_every_oracle(
    world: FuzzWorld, kind: type[pb.Message]
) -> None:
    """The last seed of each kind is the pending move (or a valid opening): FinalizeBlock
    accepts it; mutated, it is refused with a registered code or accepted, alike warm and
    cold, and never raises out of the handler."""
    target = make_target(world, "finalize")
    world.sync_accounts()
    move = seeds_of(world, kind)[-1]
    outcome = run_input(world, target, FuzzInput(world.txs.signed([move])))
    assert outcome.failure is None, describe_failures([outcome.failure])
    assert outcome.labels == ["ok"], outcome.labels
    rng = random.Random(f"optimistic/{kind.__name__}")
    labels = set()
    for _ in range(MUTATIONS):
        mutated = world.generator.mutate(rng, move)
        outcome = run_input(world, target, FuzzInput.of_tx(world.txs.tx(rng, [mutated])))
        assert outcome.failure is None, describe_failures([outcome.failure])
        labels.update(outcome.labels)
    assert any(label.startswith("verify/") for label in labels), labels
