"""Optimistic verification in the randomized simulation: DSM jobs get results with trace
evidence (honest, self-consistent lies, malformed), disputes are opened, bisected and decided
by executing the operator on chain or by timeout, and the sim's honesty check
(``dispute_problems``) holds — and catches a chain that decides final steps wrongly."""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aivm.ai import runtime
from aivm.ai.verify import bisection, trace
from aivm.ai.verify.bisection import Outcome, Party, Status
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.job_simulation import (
    dsm_model,
    dsm_result,
    dsm_rows,
    evidence_of,
    keep_trace,
    npy_bytes,
    output_bytes,
    tampered_tensors,
)
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.module import VerifyModule
from aivm.modules.verify.optimistic import npy_int64_matrix, output_matrix
from aivm.modules.verify.simulation import dispute_problems
from aivm.sim.runner import Env, SimConfig, Simulation

V = verify_pb2
BLOCKS = 120
"""The default run length of the CI seeds (tests/sim/test_simulation.py)."""
MOST_SEEDS = 10
MOVES = ("verify/open_dispute", "verify/bisect", "verify/final_step")
WANTED = {
    (V.PARTY_PROVIDER, V.DISPUTE_OUTCOME_EXECUTION),
    (V.PARTY_CHALLENGER, V.DISPUTE_OUTCOME_EXECUTION),
}


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="aivm-sim-optimistic-") as tmp:
        yield Path(tmp)


@dataclasses.dataclass
class Seen:
    """What the dispute operations reached over the runs so far."""

    moves: Counter[str] = dataclasses.field(default_factory=Counter)
    decided: Counter[tuple[int, int]] = dataclasses.field(default_factory=Counter)
    problems: list[str] = dataclasses.field(default_factory=list)

    def covered(self) -> bool:
        return all(self.moves[m] for m in MOVES) and set(self.decided) >= WANTED


def verify_module(simulation: Simulation) -> VerifyModule:
    found = [m for m in simulation.app.modules if isinstance(m, VerifyModule)]
    return found[0]


def final_env(simulation: Simulation) -> Env:
    """The env an operation would see after the last block (its run-long scratch)."""
    ctx = simulation.app.query_context(simulation.app.store.version)
    return Env(
        simulation.rng, ctx, simulation.app.store.version + 1, simulation.accounts,
        simulation.memory,
    )


def run_seed(seed: int, workdir: Path, seen: Seen) -> None:
    """Run one default-length seed; add what it reached to ``seen``."""
    simulation = Simulation(SimConfig(seed=seed), workdir / str(seed))
    try:
        simulation.run(BLOCKS)
        for kind in MOVES:
            seen.moves[kind] += simulation.stats.results.get(kind, Counter())["ok"]
        module = verify_module(simulation)
        env = final_env(simulation)
        for dispute in module.keeper.disputes.iterate(env.ctx):
            if dispute.status == V.DISPUTE_STATUS_DONE:
                seen.decided[(dispute.winner, dispute.outcome)] += 1
        seen.problems += dispute_problems(module, env)
    finally:
        simulation.close()


def test_default_runs_reach_every_move_and_both_winners(workdir: Path) -> None:
    """Default-length runs open disputes, bisect, make final steps, and decide games both
    ways by executing the operator (a few seeds suffice; each must run clean)."""
    seen = Seen()
    for seed in range(1, MOST_SEEDS + 1):
        run_seed(seed, workdir, seen)
        if seen.covered():
            break
    assert not seen.problems, seen.problems
    assert all(seen.moves[m] for m in MOVES), seen.moves
    assert set(seen.decided) >= WANTED, seen.decided


def test_a_chain_that_lets_the_provider_win_every_final_step_is_caught(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Injected bug: the on-chain final step always decides for the provider. An honest
    challenger against a wrong trace then loses, which the sim's honesty check reports."""

    def provider_always_wins(game: bisection.Game, *args: Any) -> bisection.Game:
        return dataclasses.replace(
            game,
            status=Status.DONE,
            winner=Party.PROVIDER,
            outcome=Outcome.EXECUTION,
            pending_leaf=b"",
        )

    monkeypatch.setattr(bisection, "final_step", provider_always_wins)
    seen = Seen()
    for seed in range(1, MOST_SEEDS + 1):
        try:
            run_seed(seed, workdir, seen)
        except AssertionError as exc:  # the check operation raised during the run
            seen.problems.append(str(exc))
        if seen.problems:
            break
    assert any("honest PARTY_CHALLENGER lost" in p for p in seen.problems), seen.problems


class FakeEnv:
    """Enough of a SimEnv for the DSM helpers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.memory: dict[str, dict[str, Any]] = {}

    def scratch(self, module: str) -> dict[str, Any]:
        return self.memory.setdefault(module, {})


@pytest.mark.parametrize("seed", range(6))
def test_dsm_jobs_inputs_and_honest_evidence_are_what_the_chain_accepts(seed: int) -> None:
    env = FakeEnv(seed)
    program = runtime.load(runtime.serialize(dsm_model(env.rng)))
    rows = dsm_rows(env.rng, program)
    assert np.array_equal(npy_int64_matrix(npy_bytes(rows)), rows)
    honest = keep_trace(env, 1, trace.dsm_trace(program, rows), True)  # type: ignore[arg-type]
    assert np.array_equal(honest.tensors[-1], program.run(rows))
    kinds: Counter[str] = Counter()
    for _ in range(30):
        msg = dsm_result(env, program, honest, "provider", 1)  # type: ignore[arg-type]
        assert msg.runtime == "dsm" and isinstance(msg, compute_pb2.MsgSubmitResult)
        evidence = V.Evidence.FromString(msg.evidence)
        opening = trace.OutputOpening(
            evidence.trace_output_leaf,
            tuple(evidence.trace_output_step_proof),
            tuple(evidence.trace_output_tensor_proof),
        )
        honest_parts = (
            evidence == evidence_of(honest)
            and msg.comparison_data == output_bytes(honest.tensors[-1])
        )
        kinds["honest" if honest_parts else "other"] += 1
        if honest_parts:
            output = output_matrix(msg.comparison_data, rows.shape[0])
            assert trace.verify_output(
                evidence.trace_root, evidence.trace_steps, trace.tensor_hash(output), opening
            )
    assert kinds["honest"] and kinds["other"], kinds


@pytest.mark.parametrize("seed", range(6))
def test_a_tampered_trace_is_wrong_from_its_step_on_and_self_consistent(seed: int) -> None:
    env = FakeEnv(seed)
    program = runtime.load(runtime.serialize(dsm_model(env.rng)))
    rows = dsm_rows(env.rng, program)
    tensors = trace.dsm_trace(program, rows)
    step = env.rng.randrange(1, len(program.kernels) + 1)
    bad = tampered_tensors(program, tensors, step, 1)
    assert all(np.array_equal(a, b) for a, b in zip(tensors[:step], bad[:step], strict=True))
    assert not np.array_equal(tensors[step], bad[step])
    for index in range(step, len(program.kernels)):
        sources = trace.operator_sources(program, index)
        again = program.kernels[index][1]([bad[s] for s in sources])
        assert np.array_equal(again, bad[index + 1])
