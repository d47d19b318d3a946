"""Structure-aware fuzzing in CI: a bounded, fixed-seed sample of every target, Hypothesis-
driven inputs, and coin edge cases in signed txs (``scripts/fuzz.py`` runs the long version;
see docs/fuzzing.md). A failure prints the oracle, the traceback and the replay command."""

from __future__ import annotations

import pytest
from fuzz_runner import TargetReport, describe_failures, make_target, run_input, run_target
from fuzz_strategies import addresses, coins, inputs
from fuzz_targets import TARGETS, FuzzInput, FuzzWorld
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aivm.types import pb
from aivm.types.address import acc_address
from harness import DENOM

SEED = 20_261_202
CI_INPUTS = {
    "decode": 6000,
    "check": 3000,
    "simulate": 3000,
    "finalize": 3000,
    "block": 400,
    "query": 6000,
    "artifact": 3000,
}
"""Inputs per target in the CI sample (about 15 s in all on the 2-core VM)."""
LONG_FACTOR = 25


def assert_clean(report: TargetReport) -> None:
    """No oracle failed; the sample both accepted and rejected inputs (it reached handlers)."""
    assert not report.failures, describe_failures(list(report.failures.values()))
    labels = set(report.results)
    assert "ok" in labels, f"{report.name}: nothing was accepted: {report.results}"
    assert labels - {"ok"}, f"{report.name}: nothing was rejected: {report.results}"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_bounded_sample_of_every_target(world: FuzzWorld, name: str) -> None:
    report = run_target(world, make_target(world, name), SEED, CI_INPUTS[name], keep_going=True)
    assert report.inputs == CI_INPUTS[name]
    assert_clean(report)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_long_sample_of_every_target(world: FuzzWorld, name: str) -> None:
    count = CI_INPUTS[name] * LONG_FACTOR
    report = run_target(world, make_target(world, name), SEED + 1, count, keep_going=True)
    assert_clean(report)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_driven_inputs_pass_every_oracle(world: FuzzWorld, data: st.DataObject) -> None:
    target = make_target(world, data.draw(st.sampled_from(sorted(TARGETS)), label="target"))
    item = data.draw(inputs(target), label="input")
    outcome = run_input(world, target, item)
    assert outcome.failure is None, describe_failures([outcome.failure])


def send_with(world: FuzzWorld, amount: list[tuple[str, str]], fee: list[tuple[str, str]]) -> bytes:
    """A correctly signed MsgSend between two fuzz accounts with these (denom, amount) lists."""
    sender, recipient = list(world.accounts)[:2]
    message = pb.bank_tx.MsgSend(
        from_address=acc_address(sender),
        to_address=acc_address(recipient),
        amount=[pb.coin.Coin(denom=d, amount=a) for d, a in amount],
    )
    return world.txs.signed([message], [pb.coin.Coin(denom=d, amount=a) for d, a in fee])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_coin_edge_cases_in_signed_txs(world: FuzzWorld, data: st.DataObject) -> None:
    """Amounts like '²', '٣', 10**80, '+1', ' 1' in messages and fees: coded errors only."""
    amount = data.draw(coins(world), label="amount")
    fee = data.draw(st.one_of(st.just([(DENOM, "2000")]), coins(world)), label="fee")
    raw = send_with(world, amount, fee)
    for name in ("decode", "check", "finalize"):
        outcome = run_input(world, make_target(world, name), FuzzInput(raw))
        assert outcome.failure is None, describe_failures([outcome.failure])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_address_edge_cases_in_queries(world: FuzzWorld, data: st.DataObject) -> None:
    """Every query with an address field, given valid, unknown and malformed addresses."""
    address = data.draw(addresses(world), label="address")
    target = make_target(world, "query")
    for path, route in sorted(world.app.router.queries.items()):
        fields = route.request_class.DESCRIPTOR.fields_by_name
        names = [n for n in ("address", "owner") if n in fields]
        if not names:
            continue
        request = route.request_class(**{names[0]: address})
        query = pb.abci.RequestQuery(path=path, data=request.SerializeToString())
        outcome = run_input(world, target, FuzzInput(query.SerializeToString()))
        assert outcome.failure is None, describe_failures([outcome.failure])
