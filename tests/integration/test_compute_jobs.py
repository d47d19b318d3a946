"""compute jobs over ABCI: escrow at submit, instant matching at EndBlock ranked by price and
reputation, "why no match" reasons, results and their comparison (a liar in the minority is
slashed and unpaid, a disagreement escalates), the challenge window and batched settlement
with the protocol fee, timeouts (SLA violations, re-matching, slash and jail after repeated
violations), cancel, top-up, unservable inputs, sealed-bid second-price auctions, reference
prices, genesis round trip and the invariants after each flow."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from test_compute_providers import (
    ADDRS,
    KEYS,
    OWNER,
    OWNER_ADDR,
    Q,
    events,
    offer,
    register,
    start,
)

from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.invariants import invariants
from aivm.modules.compute.jobs import commitment_of
from aivm.modules.compute.module import ComputeModule
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.store import GasMeter
from aivm.types import pb
from aivm.types.address import module_address
from harness import Chain

J = compute_pb2
CLIENT_KEY = OWNER
COMPUTE_ACCOUNT = module_address("compute")
FEE_COLLECTOR = module_address("fee_collector")
INPUT = b"an input the client sends inline"
HONEST = b"the right output"
WINDOW = 3


def client_addr() -> str:
    return OWNER_ADDR


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return start(
        tmp_path / "data",
        challenge_window_blocks=str(WINDOW),
        sla_response_blocks=["4", "2", "50"],
        heartbeat_timeout_blocks="1000",
        bid_window_blocks="2",
        reveal_window_blocks="2",
        bid_deposit="500",
        max_sla_violations=2,
    )


def submit_msg(**changes: Any) -> compute_pb2.MsgSubmitJob:
    fields: dict[str, Any] = dict(
        client=client_addr(),
        model_id=1,
        version="1.0.0",
        input_inline=INPUT,
        input_digest=hashlib.sha256(INPUT).digest(),
        units=10,
        max_price_per_unit="200",
        deadline_blocks=30,
        redundancy=1,
    )
    fields.update(changes)
    return J.MsgSubmitJob(**fields)


def submit(chain: Chain, **changes: Any) -> tuple[Any, int]:
    result = chain.deliver(CLIENT_KEY, submit_msg(**changes))
    assert result.code == 0, result.log
    return result, J.MsgSubmitJobResponse.FromString(_response(result)).job_id


def _response(result: Any) -> bytes:
    data = pb.sdk_abci.TxMsgData.FromString(result.data)
    return bytes(data.msg_responses[0].value)


def job(chain: Chain, job_id: int) -> compute_pb2.Job:
    result, value = chain.query(Q + "Job", J.QueryJobRequest(job_id=job_id), J.QueryJobResponse)
    assert result.code == 0, result.log
    return value.job


def result_msg(i: int, job_id: int, output: bytes = HONEST) -> compute_pb2.MsgSubmitResult:
    return J.MsgSubmitResult(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(output),
        output_digest=hashlib.sha256(output).digest(),
        runtime="onnxruntime test",
    )


def answer(chain: Chain, i: int, job_id: int, output: bytes = HONEST) -> Any:
    return chain.deliver(KEYS[i], result_msg(i, job_id, output))


def providers_of(chain: Chain, job_id: int) -> list[str]:
    return [a.provider for a in job(chain, job_id).assignments]


def index(address: str) -> int:
    return ADDRS.index(address)


def stats(chain: Chain, i: int) -> compute_pb2.QueryProviderStatsResponse:
    result, value = chain.query(
        Q + "ProviderStats",
        J.QueryProviderStatsRequest(operator=ADDRS[i]),
        J.QueryProviderStatsResponse,
    )
    assert result.code == 0, result.log
    return value


def check_invariants(chain: Chain) -> None:
    module = next(m for m in chain.app.manager.modules if isinstance(m, ComputeModule))
    header = BlockHeader(chain.height, chain.time_s * 10**9, "aivm-test-1")
    ctx = Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)
    problems = {name: check(ctx) for name, check in invariants(module).items()}
    assert {k: v for k, v in problems.items() if v} == {}


def wait(chain: Chain, blocks: int) -> None:
    for _ in range(blocks):
        chain.block([])


# -- the happy path ---------------------------------------------------------------------------


def test_a_job_is_escrowed_matched_answered_accepted_and_settled(chain: Chain) -> None:
    for i, price in ((0, 150), (1, 90), (2, 120)):
        assert register(chain, i, offers=[offer(price)]).code == 0
    client_before = chain.balance(OWNER.pubkey.address())
    _, job_id = submit(chain)
    assert client_before - chain.balance(OWNER.pubkey.address()) == 200 * 10 + 20_000  # + fee
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_RUNNING
    assert [(a.provider, a.price_per_unit) for a in record.assignments] == [(ADDRS[1], "90")]
    provider_before = chain.balance(KEYS[1].pubkey.address())
    answered = answer(chain, 1, job_id)
    assert answered.code == 0, answered.log
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_PENDING_ACCEPTANCE
    assert record.output_digest == hashlib.sha256(HONEST).digest()
    assert record.accept_height == chain.height + WINDOW
    wait(chain, WINDOW)
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_COMPLETED
    gross = 90 * 10
    fee = gross * 2 // 100
    assert record.assignments[0].paid == str(gross - fee)
    assert record.protocol_fee == str(fee)
    assert record.refunded == str(2000 - gross)
    assert chain.balance(KEYS[1].pubkey.address()) - provider_before == gross - fee - 20_000
    figures = stats(chain, 1)
    assert figures.stats.accepted == 1 and figures.success_rate.startswith("1.0")
    assert figures.reputation == "0.550000000000000000"  # 0.5 + 0.1 × (1 − 0.5)
    price, value = chain.query(
        Q + "ReferencePrice",
        J.QueryReferencePriceRequest(model_id=1, version="1.0.0", tier=J.TIER_HIGH_PERFORMANCE),
        J.QueryReferencePriceResponse,
    )
    assert price.code == 0 and value.price.price_per_unit.startswith("8")  # 90 scaled by load
    check_invariants(chain)


def test_settle_job_by_anyone_when_the_batch_is_full(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", challenge_window_blocks="1", max_settlements_per_block=1)
    assert register(chain, 0, offers=[offer(10)]).code == 0
    assert register(chain, 1, offers=[offer(10)]).code == 0
    ids = [submit(chain)[1] for _ in range(2)]
    by = {job_id: index(providers_of(chain, job_id)[0]) for job_id in ids}
    for job_id in ids:
        assert answer(chain, by[job_id], job_id).code == 0
    early = chain.deliver(KEYS[3], J.MsgSettleJob(sender=ADDRS[3], job_id=ids[1]))
    states = [job(chain, i).state for i in ids]
    if early.code == 0:
        assert states[1] == J.JOB_STATE_COMPLETED
    else:
        assert "challenge window" in early.log or "nothing to settle" in early.log
    wait(chain, 3)
    assert [job(chain, i).state for i in ids] == [J.JOB_STATE_COMPLETED] * 2
    again = chain.deliver(KEYS[3], J.MsgSettleJob(sender=ADDRS[3], job_id=ids[0]))
    assert (again.codespace, again.code) == ("compute", 23)
    check_invariants(chain)


# -- why no match ------------------------------------------------------------------------------


def test_each_unmatched_job_says_why(chain: Chain) -> None:
    _, none = submit(chain)
    assert job(chain, none).no_match_reason == J.NO_MATCH_REASON_NO_PROVIDER
    assert register(chain, 0, offers=[offer(500)], hardware=_cpu(), capacity=1).code == 0
    wait(chain, 1)
    assert job(chain, none).no_match_reason == J.NO_MATCH_REASON_PRICE_TOO_LOW
    _, tier = submit(chain, min_tier=J.TIER_STANDARD, max_price_per_unit="1000")
    assert job(chain, tier).no_match_reason == J.NO_MATCH_REASON_TIER_UNAVAILABLE
    _, many = submit(chain, redundancy=2, max_price_per_unit="1000")
    assert job(chain, many).no_match_reason == J.NO_MATCH_REASON_TOO_FEW_PROVIDERS
    _, first = submit(chain, max_price_per_unit="1000")
    assert job(chain, first).state == J.JOB_STATE_RUNNING
    _, full = submit(chain, max_price_per_unit="1000")
    record = job(chain, full)
    assert record.no_match_reason == J.NO_MATCH_REASON_CAPACITY_FULL
    assert "capacity" in record.reason_detail
    assert register(chain, 1, offers=[offer(10)], runtimes=["torch"]).code == 0
    _, runtime = submit(chain, max_price_per_unit="20")
    assert job(chain, runtime).no_match_reason == J.NO_MATCH_REASON_RUNTIME_MISSING
    refused = chain.deliver(CLIENT_KEY, submit_msg(deadline_blocks=2))
    assert (refused.codespace, refused.code) == ("compute", 21)
    assert "shorter than" in refused.log
    wait(chain, 31)
    expired = job(chain, none)
    assert expired.state == J.JOB_STATE_EXPIRED_UNMATCHED
    assert expired.refunded == "2000" and expired.escrow == "0"
    check_invariants(chain)


def _cpu() -> compute_pb2.Hardware:
    return compute_pb2.Hardware(cpu_cores=8, memory_mib=16384)


# -- redundancy ---------------------------------------------------------------------------------


def test_a_lying_provider_in_the_minority_is_slashed_and_unpaid(chain: Chain) -> None:
    for i in range(3):
        assert register(chain, i, offers=[offer(100)]).code == 0
    _, job_id = submit(chain, redundancy=3)
    chosen = sorted(index(p) for p in providers_of(chain, job_id))
    assert chosen == [0, 1, 2]
    collateral = int(_provider(chain, 2).collateral)
    assert answer(chain, 0, job_id).code == 0
    assert answer(chain, 2, job_id, b"a made-up output").code == 0
    decided = answer(chain, 1, job_id)
    assert decided.code == 0, decided.log
    slashes = events(decided, "compute_provider_slash")
    assert [s["operator"] for s in slashes] == [ADDRS[2]]
    assert int(_provider(chain, 2).collateral) == collateral - collateral * 5 // 100
    wait(chain, WINDOW)
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_COMPLETED
    paid = {index(a.provider): (a.status, a.paid) for a in record.assignments}
    assert paid[2] == (J.ASSIGNMENT_STATUS_DISAGREED, "0")
    assert paid[0][1] == paid[1][1] == str(1000 - 20)
    assert stats(chain, 2).stats.disagreed == 1
    # slots = 3 + 2 escalations were escrowed; two payments of 1000 went out
    assert record.refunded == str(200 * 10 * 5 - 2000)
    check_invariants(chain)


def test_a_split_vote_escalates_to_another_provider(chain: Chain) -> None:
    for i in range(3):
        assert register(chain, i, offers=[offer(100 + i)]).code == 0
    _, job_id = submit(chain, redundancy=2)
    first = sorted(index(p) for p in providers_of(chain, job_id))
    assert first == [0, 1]
    assert answer(chain, 0, job_id).code == 0
    split = answer(chain, 1, job_id, b"different")
    assert events(split, "compute_job_escalated") == [{"job_id": str(job_id), "escalations": "1"}]
    wait(chain, 1)
    assert providers_of(chain, job_id)[-1] == ADDRS[2]
    assert answer(chain, 2, job_id).code == 0
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_PENDING_ACCEPTANCE and record.escalations == 1
    statuses = {index(a.provider): a.status for a in record.assignments}
    assert statuses == {
        0: J.ASSIGNMENT_STATUS_AGREED,
        1: J.ASSIGNMENT_STATUS_DISAGREED,
        2: J.ASSIGNMENT_STATUS_AGREED,
    }
    check_invariants(chain)


# -- timeouts and SLA ---------------------------------------------------------------------------


def test_a_silent_provider_times_out_the_job_moves_on_and_repeat_offenders_are_jailed(
    chain: Chain,
) -> None:
    assert register(chain, 0, offers=[offer(50)]).code == 0
    assert register(chain, 1, offers=[offer(90)]).code == 0
    _, job_id = submit(chain)
    assert providers_of(chain, job_id) == [ADDRS[0]]
    wait(chain, 5)  # SLA standard: 4 blocks
    record = job(chain, job_id)
    assert [a.status for a in record.assignments] == [
        J.ASSIGNMENT_STATUS_TIMED_OUT,
        J.ASSIGNMENT_STATUS_RUNNING,
    ]
    assert record.assignments[1].provider == ADDRS[1]
    assert stats(chain, 0).stats.timeouts == 1
    assert _provider(chain, 0).reputation == "0.450000000000000000"
    late = answer(chain, 0, job_id)
    assert (late.codespace, late.code) == ("compute", 24)
    assert answer(chain, 1, job_id).code == 0
    _, second = submit(chain)
    assert providers_of(chain, second) == [ADDRS[0]]  # still the cheapest
    wait(chain, 5)
    jailed = _provider(chain, 0)
    assert jailed.status == J.PROVIDER_STATUS_JAILED  # 2 violations in the window
    assert int(jailed.collateral) == 5000 - 50  # sla_slash_fraction 1 %
    check_invariants(chain)


def test_a_job_nobody_answers_ends_provider_timeout_with_a_refund(chain: Chain) -> None:
    assert register(chain, 0, offers=[offer(50)]).code == 0
    _, job_id = submit(chain, deadline_blocks=6)
    wait(chain, 8)
    record = job(chain, job_id)
    assert record.state in (J.JOB_STATE_PROVIDER_TIMEOUT, J.JOB_STATE_EXPIRED_UNMATCHED)
    assert record.escrow == "0" and record.refunded == "2000"
    check_invariants(chain)


# -- client actions ---------------------------------------------------------------------------


def test_cancel_before_a_match_and_top_up_to_get_one(chain: Chain) -> None:
    assert register(chain, 0, offers=[offer(300)]).code == 0
    _, cheap = submit(chain)
    assert job(chain, cheap).no_match_reason == J.NO_MATCH_REASON_PRICE_TOO_LOW
    before = chain.balance(OWNER.pubkey.address())
    cancelled = chain.deliver(CLIENT_KEY, J.MsgCancelJob(client=client_addr(), job_id=cheap))
    assert cancelled.code == 0, cancelled.log
    assert chain.balance(OWNER.pubkey.address()) - before == 2000 - 20_000
    assert job(chain, cheap).state == J.JOB_STATE_CANCELLED
    _, other = submit(chain)
    topped = chain.deliver(
        CLIENT_KEY,
        J.MsgTopUpJob(client=client_addr(), job_id=other, max_price_per_unit="300"),
    )
    assert topped.code == 0, topped.log
    record = job(chain, other)
    assert record.state == J.JOB_STATE_RUNNING and record.escrow == "3000"
    refused = chain.deliver(CLIENT_KEY, J.MsgCancelJob(client=client_addr(), job_id=other))
    assert (refused.codespace, refused.code) == ("compute", 23)
    stranger = chain.deliver(KEYS[3], J.MsgCancelJob(client=ADDRS[3], job_id=other))
    assert (stranger.codespace, stranger.code) == ("compute", 21)
    check_invariants(chain)


def test_unservable_input_rematches_then_refunds_without_penalty(chain: Chain) -> None:
    for i in range(2):
        assert register(chain, i, offers=[offer(100)]).code == 0
    _, inline = submit(chain)
    first = index(providers_of(chain, inline)[0])
    stranger = 1 - first
    report = J.MsgReportUnservable(provider=ADDRS[stranger], job_id=inline, detail="404")
    refused = chain.deliver(KEYS[stranger], report)  # not assigned to it
    assert (refused.codespace, refused.code) == ("compute", 24), refused.log
    assert answer(chain, first, inline).code == 0
    wait(chain, WINDOW)  # settled: reputation 0.55 for the provider that answered
    stored = b"an input nobody keeps"
    _, job_id = submit(
        chain,
        input_inline=b"",
        input_cid=cid_of(stored),
        input_digest=hashlib.sha256(stored).digest(),
    )
    first = index(providers_of(chain, job_id)[0])
    report = J.MsgReportUnservable(provider=ADDRS[first], job_id=job_id, detail="404")
    assert chain.deliver(KEYS[first], report).code == 0
    second = index(providers_of(chain, job_id)[1])
    assert second != first
    report = J.MsgReportUnservable(provider=ADDRS[second], job_id=job_id, detail="404")
    assert chain.deliver(KEYS[second], report).code == 0
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_UNSERVABLE
    assert record.no_match_reason == J.NO_MATCH_REASON_INPUT_UNAVAILABLE
    assert record.refunded == "2000"
    reputations = {_provider(chain, i).reputation for i in (first, second)}
    assert reputations <= {"0.500000000000000000", "0.550000000000000000"}  # no penalty
    assert {int(_provider(chain, i).collateral) for i in (first, second)} == {5000}
    check_invariants(chain)


# -- auctions ---------------------------------------------------------------------------------


def test_sealed_bid_auction_pays_the_second_price_and_burns_unrevealed_deposits(
    chain: Chain,
) -> None:
    for i in range(4):
        assert register(chain, i, offers=[offer(150)]).code == 0
    _, job_id = submit(chain, mode=J.MATCH_MODE_AUCTION)
    assert job(chain, job_id).state == J.JOB_STATE_AUCTION
    bids = {0: 120, 1: 80, 2: 100, 3: 60}
    salts = {i: bytes([i]) * 8 for i in bids}
    commits = [
        chain.msgs_tx(
            KEYS[i],
            [
                J.MsgCommitBid(
                    provider=ADDRS[i],
                    job_id=job_id,
                    commitment=commitment_of(job_id, price, salts[i]),
                )
            ],
        )
        for i, price in bids.items()
    ]
    assert [r.code for r in chain.block(commits).tx_results] == [0, 0, 0, 0]
    early = J.MsgRevealBid(provider=ADDRS[0], job_id=job_id, price_per_unit="120", salt=salts[0])
    assert chain.deliver(KEYS[0], early).code == 23  # still the commit window
    wrong = J.MsgRevealBid(provider=ADDRS[0], job_id=job_id, price_per_unit="119", salt=salts[0])
    assert chain.deliver(KEYS[0], wrong).code == 21
    reveals = [
        chain.msgs_tx(
            KEYS[i],
            [
                J.MsgRevealBid(
                    provider=ADDRS[i], job_id=job_id, price_per_unit=str(bids[i]), salt=salts[i]
                )
            ],
        )
        for i in (0, 1, 2)  # provider 3 (the lowest) never reveals
    ]
    cleared = chain.block(reveals)
    assert [r.code for r in cleared.tx_results] == [0, 0, 0]
    auction = [e for e in cleared.events if e.type == "compute_auction_cleared"]
    assert {a.key: a.value for a in auction[0].attributes}["burned"] == "500ucgpt"
    wait(chain, 2)
    record = job(chain, job_id)
    assert record.state == J.JOB_STATE_RUNNING
    assert [(a.provider, a.price_per_unit) for a in record.assignments] == [(ADDRS[1], "100")]
    deposits = {b.provider: b.deposit for b in record.bids}
    assert set(deposits.values()) == {"0"}
    check_invariants(chain)


# -- genesis ----------------------------------------------------------------------------------


def test_genesis_round_trip_keeps_jobs_in_flight(chain: Chain, tmp_path: Path) -> None:
    for i in range(2):
        assert register(chain, i, offers=[offer(100)]).code == 0
    _, running = submit(chain)
    _, waiting = submit(chain, model_id=1, version="1.1.0")
    module = next(m for m in chain.app.manager.modules if isinstance(m, ComputeModule))
    header = BlockHeader(chain.height, chain.time_s * 10**9, "aivm-test-1")
    ctx = Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)
    exported = module.export_genesis(ctx)
    assert {j["id"] for j in exported["jobs"]} == {str(running), str(waiting)}
    module.validate_genesis(exported)
    state = J.GenesisState()
    json_format.ParseDict(exported, state)
    assert state.next_job_id == waiting + 1


def _provider(chain: Chain, i: int) -> compute_pb2.Provider:
    result, value = chain.query(
        Q + "Provider", J.QueryProviderRequest(operator=ADDRS[i]), J.QueryProviderResponse
    )
    assert result.code == 0, result.log
    return value.provider
