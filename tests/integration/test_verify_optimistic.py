"""Optimistic verification over ABCI: a DSM model run off-chain, results carrying their trace
commitment (checked against the inline output in the provider's tx), disputes by a bonded
challenger played move by move, the final operator executed on chain, timeouts, bonds paid
to the winner, the challenge window releasing an undisputed job, and the invariants after
each flow.

Every game here is played for real: both parties' traces are computed with the model's
kernels (``tests/trace_models.py``); a lying party's trace is self-consistent but wrong
from one operator on, as a careful cheater's would be."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_compute_providers import ADDRS, KEYS, OWNER, OWNER_ADDR, offer, register
from test_verify_module import (
    check_invariants,
    collateral,
    job,
    session,
    start,
    submit,
    verify_params,
)

from aivm.ai import runtime
from aivm.ai.verify import trace
from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2
from aivm.types.address import acc_address, module_address
from aivm.types.protogen import ai_pb2, storage_pb2
from harness import DENOM, Chain, make_key
from trace_models import mlp6, rows_for, tampered_trace

J, V = compute_pb2, verify_pb2
Q = "/aivm.verify.v1.Query/"
BOND = 2_000
WINDOW = 8
ROUND_BLOCKS = 3
CHALLENGER = make_key(400)
CHALLENGER_ADDR = acc_address(CHALLENGER.pubkey.address())
VERIFY_ACCOUNT = acc_address(module_address("verify"))
PROGRAM = mlp6(seed=3)
ARTIFACT = runtime.serialize(PROGRAM.model)
ROWS = rows_for(PROGRAM, count=2, seed=5)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


INPUT = npy(ROWS)


def policy() -> list[dict[str, Any]]:
    """Medium criticality: optimistic only (no committee), an 8-block window."""
    rules = verify_params()["policy"]
    for rule in rules:
        if rule.get("criticality") == "CRITICALITY_MEDIUM":
            rule["methods"] = ["METHOD_OPTIMISTIC"]
            rule["challenge_window_blocks"] = WINDOW
            rule.pop("sample_rate", None)
    return rules


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    chain = start(
        tmp_path / "d",
        validators=0,
        policy=policy(),
        dispute_bond=str(BOND),
        round_blocks=ROUND_BLOCKS,
    )
    register_dsm_model(chain)
    for i in (2, 3):
        result = register(chain, i, runtimes=["dsm"], offers=[offer(100, model_id=3)])
        assert result.code == 0, result.log
    fund = chain.deliver(
        OWNER,
        _send(OWNER_ADDR, CHALLENGER_ADDR, 10**9),
    )
    assert fund.code == 0, fund.log
    chain.block([])
    return chain


def _send(sender: str, to: str, amount: int) -> Any:
    from aivm.types import pb

    return pb.bank_tx.MsgSend(
        from_address=sender,
        to_address=to,
        amount=[pb.coin.Coin(denom=DENOM, amount=str(amount))],
    )


def register_dsm_model(chain: Chain) -> None:
    """Model 3: the DSM artifact, off-chain (run by the marketplace), exact comparison."""
    store = storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR, cid=cid_of(ARTIFACT), retention_blocks=1000, root_block=ARTIFACT
    )
    assert chain.deliver(OWNER, store).code == 0
    msg = ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="mlp-dsm",
        version="1.0.0",
        artifact_cid=cid_of(ARTIFACT),
        artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        artifact_size=len(ARTIFACT),
        format=runtime.FORMAT,
        execution_path="offchain",
    )
    result = chain.deliver(OWNER, msg)
    assert result.code == 0, result.log


def honest_tensors() -> list[np.ndarray]:
    return trace.dsm_trace(PROGRAM, ROWS)


def lying_tensors() -> list[np.ndarray]:
    return tampered_trace(PROGRAM, ROWS, step=5, delta=100)


def commitment(tensors: list[np.ndarray]) -> trace.TraceCommitment:
    return trace.commit_trace([trace.tensor_hash(t) for t in tensors])


def evidence(tensors: list[np.ndarray]) -> bytes:
    c = commitment(tensors)
    opening = trace.open_output(c)
    return V.Evidence(
        trace_root=c.root,
        trace_steps=c.n_steps,
        trace_output_leaf=opening.leaf,
        trace_output_step_proof=list(opening.step_proof),
        trace_output_tensor_proof=list(opening.tensor_proof),
    ).SerializeToString(deterministic=True)


def output_bytes(tensors: list[np.ndarray]) -> bytes:
    return runtime.output_bytes(tensors[-1])


def result_msg(i: int, job_id: int, tensors: list[np.ndarray], **changes: Any) -> Any:
    out = output_bytes(tensors)
    fields: dict[str, Any] = dict(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(out),
        output_digest=hashlib.sha256(out).digest(),
        comparison_data=out,
        runtime="dsm test",
        evidence=evidence(tensors),
    )
    fields.update(changes)
    return J.MsgSubmitResult(**fields)


def matched_job(chain: Chain) -> tuple[int, int]:
    """A medium-criticality job on model 3, matched; returns (job id, provider index)."""
    _, job_id = submit(
        chain,
        model_id=3,
        input_inline=INPUT,
        input_digest=hashlib.sha256(INPUT).digest(),
        criticality=J.CRITICALITY_MEDIUM,
    )
    chain.block([])
    provider = ADDRS.index(job(chain, job_id).assignments[0].provider)
    return job_id, provider


def accepted_job(chain: Chain, tensors: list[np.ndarray]) -> tuple[int, int]:
    job_id, i = matched_job(chain)
    result = chain.deliver(KEYS[i], result_msg(i, job_id, tensors))
    assert result.code == 0, result.log
    chain.block([])  # the session draws (nothing to draw: it waits for the window)
    return job_id, i


def balance(chain: Chain, address: str) -> int:
    from aivm.types import pb

    result, value = chain.query(
        "/cosmos.bank.v1beta1.Query/Balance",
        pb.bank_query.QueryBalanceRequest(address=address, denom=DENOM),
        pb.bank_query.QueryBalanceResponse,
    )
    assert result.code == 0, result.log
    return int(value.balance.amount)


def disputes(chain: Chain, job_id: int) -> list[verify_pb2.Dispute]:
    result, value = chain.query(
        Q + "Disputes", V.QueryDisputesRequest(job_id=job_id), V.QueryDisputesResponse
    )
    assert result.code == 0, result.log
    return list(value.disputes)


def open_dispute(
    chain: Chain, job_id: int, provider: int, tensors: list[np.ndarray], **changes: Any
) -> Any:
    c = commitment(tensors)
    fields: dict[str, Any] = dict(
        challenger=CHALLENGER_ADDR,
        job_id=job_id,
        provider=ADDRS[provider],
        trace_root=c.root,
        last_leaf=c.leaves[-1],
        last_proof=list(trace.prove_step(c, c.n_steps)),
    )
    fields.update(changes)
    return chain.deliver(CHALLENGER, V.MsgOpenDispute(**fields))


def move(chain: Chain, job_id: int, key: Any, sender: str, tensors: list[np.ndarray]) -> Any:
    """The next move of a party that plays ``tensors``: a bisection leaf or the final step."""
    (d,) = [x for x in disputes(chain, job_id) if x.status in (1, 2)]
    c = commitment(tensors)
    if d.status == V.DISPUTE_STATUS_BISECT:
        mid = (d.lo + d.hi) // 2
        msg: Any = V.MsgBisect(
            sender=sender,
            job_id=job_id,
            leaf=c.leaves[mid],
            proof=list(trace.prove_step(c, mid)),
        )
        return chain.deliver(key, msg)
    op = d.hi - 1
    inputs = [
        V.TraceTensor(
            index=s,
            rows=tensors[s].shape[0],
            cols=tensors[s].shape[1],
            data=runtime.output_bytes(tensors[s]),
            proof=list(trace.prove_tensor(c, d.lo, s)),
        )
        for s in trace.operator_sources(PROGRAM, op)
    ]
    msg = V.MsgFinalStep(
        sender=sender,
        job_id=job_id,
        artifact=ARTIFACT,
        inputs=inputs,
        peaks=list(trace.prove_prefix(c, d.lo)),
    )
    return chain.deliver(key, msg)


def play(
    chain: Chain,
    job_id: int,
    provider: int,
    provider_tensors: list[np.ndarray],
    challenger_tensors: list[np.ndarray],
) -> verify_pb2.Dispute:
    """Both parties move in turn until the game is decided."""
    for _ in range(40):
        (d,) = disputes(chain, job_id)[-1:]
        if d.status not in (V.DISPUTE_STATUS_BISECT, V.DISPUTE_STATUS_FINAL):
            return d
        if d.turn == V.PARTY_PROVIDER:
            result = move(chain, job_id, KEYS[provider], ADDRS[provider], provider_tensors)
        else:
            result = move(chain, job_id, CHALLENGER, CHALLENGER_ADDR, challenger_tensors)
        assert result.code == 0, result.log
    raise AssertionError("the game did not end")


def test_an_undisputed_result_is_paid_after_the_window(chain: Chain) -> None:
    job_id, _ = accepted_job(chain, honest_tensors())
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_CHALLENGE
    assert [m.method for m in found.methods] == [V.METHOD_OPTIMISTIC]
    result, value = chain.query(
        Q + "Challengeable", V.QueryChallengeableRequest(), V.QueryChallengeableResponse
    )
    assert result.code == 0, result.log
    assert [(j.job_id, j.challenge_end_height) for j in value.jobs] == [
        (job_id, found.challenge_end_height)
    ]
    while chain.height <= found.challenge_end_height:
        chain.block([])
    passed = session(chain, job_id)
    assert passed.status == V.SESSION_STATUS_PASSED
    assert passed.methods[0].status == V.METHOD_STATUS_PASSED
    assert "no dispute" in passed.methods[0].detail
    chain.block([])
    assert job(chain, job_id).state == J.JOB_STATE_COMPLETED
    late = open_dispute(chain, job_id, 2, lying_tensors())
    assert late.code != 0
    check_invariants(chain)


def test_results_without_a_valid_trace_are_refused(chain: Chain) -> None:
    job_id, i = matched_job(chain)
    honest = honest_tensors()
    no_evidence = chain.deliver(KEYS[i], result_msg(i, job_id, honest, evidence=b""))
    assert (no_evidence.codespace, no_evidence.code) == ("verify", 13)
    assert "trace commitment" in no_evidence.log
    other = lying_tensors()  # the commitment of another output
    mismatched = chain.deliver(
        KEYS[i],
        result_msg(i, job_id, honest, evidence=evidence(other)),
    )
    assert (mismatched.codespace, mismatched.code) == ("verify", 13)
    assert "does not open to the inline output" in mismatched.log
    no_inline = chain.deliver(KEYS[i], result_msg(i, job_id, honest, comparison_data=b""))
    assert (no_inline.codespace, no_inline.code) == ("verify", 13)
    assert job(chain, job_id).state != J.JOB_STATE_PENDING_ACCEPTANCE  # nothing accepted


def test_an_input_by_cid_or_not_an_int64_matrix_is_refused(chain: Chain) -> None:
    by_cid = chain.deliver(
        OWNER,
        _submit_msg(input_cid=cid_of(INPUT), input_inline=b""),
    )
    assert (by_cid.codespace, by_cid.code) == ("verify", 9)
    assert "send the input inline" in by_cid.log
    floats = npy(ROWS.astype(np.float32))
    bad = chain.deliver(OWNER, _submit_msg(input_inline=floats))
    assert (bad.codespace, bad.code) == ("verify", 9)
    assert "int64" in bad.log


def _submit_msg(**changes: Any) -> Any:
    from test_compute_jobs import submit_msg

    data = changes.get("input_inline", INPUT) or INPUT
    fields: dict[str, Any] = dict(
        model_id=3,
        input_inline=INPUT,
        input_digest=hashlib.sha256(data).digest(),
        criticality=J.CRITICALITY_MEDIUM,
    )
    fields.update(changes)
    return submit_msg(**fields)


def test_a_lying_provider_loses_the_game_and_pays_the_challenger(chain: Chain) -> None:
    job_id, i = accepted_job(chain, lying_tensors())
    client_before = balance(chain, OWNER_ADDR)
    challenger_before = balance(chain, CHALLENGER_ADDR)
    stake_before = collateral(chain, i)
    opened = open_dispute(chain, job_id, i, honest_tensors())
    assert opened.code == 0, opened.log
    assert balance(chain, VERIFY_ACCOUNT) == BOND
    again = open_dispute(chain, job_id, i, honest_tensors())
    assert (again.codespace, again.code) == ("verify", 18)
    check_invariants(chain)
    d = play(chain, job_id, i, lying_tensors(), honest_tensors())
    assert d.winner == V.PARTY_CHALLENGER
    assert d.outcome == V.DISPUTE_OUTCOME_EXECUTION
    assert d.hi == 5  # operator 4 is the first wrong one
    assert int(d.paid) == BOND
    assert collateral(chain, i) == stake_before - BOND
    assert balance(chain, CHALLENGER_ADDR) > challenger_before + BOND - 10**6  # bond + win - fees
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_FAILED
    assert found.methods[0].status == V.METHOD_STATUS_FAILED
    rejected = job(chain, job_id)
    assert rejected.state == J.JOB_STATE_REJECTED_RESULT
    assert balance(chain, OWNER_ADDR) > client_before  # refunded
    assert balance(chain, VERIFY_ACCOUNT) == 0
    check_invariants(chain)


def test_a_false_challenger_loses_its_bond_to_the_honest_provider(chain: Chain) -> None:
    job_id, i = accepted_job(chain, honest_tensors())
    provider_before = balance(chain, ADDRS[i])
    stake_before = collateral(chain, i)
    assert open_dispute(chain, job_id, i, lying_tensors()).code == 0
    d = play(chain, job_id, i, honest_tensors(), lying_tensors())
    assert d.winner == V.PARTY_PROVIDER
    assert d.outcome == V.DISPUTE_OUTCOME_EXECUTION
    assert collateral(chain, i) == stake_before
    assert balance(chain, ADDRS[i]) >= provider_before + BOND - 10**6
    end = session(chain, job_id).challenge_end_height
    while chain.height <= end:
        chain.block([])
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_PASSED
    assert "each won by the provider" in found.methods[0].detail
    chain.block([])
    assert job(chain, job_id).state == J.JOB_STATE_COMPLETED
    check_invariants(chain)


def test_a_party_that_stops_moving_loses_by_timeout(chain: Chain) -> None:
    job_id, i = accepted_job(chain, lying_tensors())
    assert open_dispute(chain, job_id, i, honest_tensors()).code == 0
    (d,) = disputes(chain, job_id)
    assert d.turn == V.PARTY_PROVIDER
    wrong_party = move(chain, job_id, CHALLENGER, CHALLENGER_ADDR, honest_tensors())
    assert (wrong_party.codespace, wrong_party.code) == ("verify", 60)
    while chain.height <= d.deadline:
        chain.block([])
    (d,) = disputes(chain, job_id)
    assert d.status == V.DISPUTE_STATUS_DONE
    assert d.winner == V.PARTY_CHALLENGER and d.outcome == V.DISPUTE_OUTCOME_TIMEOUT
    assert job(chain, job_id).state == J.JOB_STATE_REJECTED_RESULT
    check_invariants(chain)


def test_bad_moves_are_refused_and_change_nothing(chain: Chain) -> None:
    job_id, i = accepted_job(chain, honest_tensors())
    provider_self = chain.deliver(
        KEYS[i],
        V.MsgOpenDispute(
            challenger=ADDRS[i],
            job_id=job_id,
            provider=ADDRS[i],
            trace_root=bytes(32),
            last_leaf=bytes(32),
        ),
    )
    assert (provider_self.codespace, provider_self.code) == ("verify", 19)
    same = open_dispute(chain, job_id, i, honest_tensors())
    assert (same.codespace, same.code) == ("verify", 67)  # the traces do not disagree
    forged = open_dispute(chain, job_id, i, lying_tensors(), last_proof=[bytes(32)])
    assert (forged.codespace, forged.code) == ("verify", 61)
    assert balance(chain, VERIFY_ACCOUNT) == 0
    assert open_dispute(chain, job_id, i, lying_tensors()).code == 0
    (d,) = disputes(chain, job_id)
    c = commitment(honest_tensors())
    mid = (d.lo + d.hi) // 2
    bad_proof = chain.deliver(
        KEYS[i],
        V.MsgBisect(
            sender=ADDRS[i], job_id=job_id, leaf=c.leaves[mid], proof=[bytes(32)] * 3
        ),
    )
    assert (bad_proof.codespace, bad_proof.code) == ("verify", 61)
    early_final = chain.deliver(
        KEYS[i], V.MsgFinalStep(sender=ADDRS[i], job_id=job_id, artifact=ARTIFACT,
                                inputs=[V.TraceTensor(index=0, rows=1, cols=1, data=bytes(8))])
    )
    assert (early_final.codespace, early_final.code) == ("verify", 64)
    assert disputes(chain, job_id) == [d]
    check_invariants(chain)


def test_a_final_step_with_a_forged_tensor_or_artifact_is_refused(chain: Chain) -> None:
    job_id, i = accepted_job(chain, lying_tensors())
    assert open_dispute(chain, job_id, i, honest_tensors()).code == 0
    liar, honest = lying_tensors(), honest_tensors()
    for _ in range(10):
        (d,) = disputes(chain, job_id)
        if d.status == V.DISPUTE_STATUS_FINAL:
            break
        if d.turn == V.PARTY_PROVIDER:
            assert move(chain, job_id, KEYS[i], ADDRS[i], liar).code == 0
        else:
            assert move(chain, job_id, CHALLENGER, CHALLENGER_ADDR, honest).code == 0
    (d,) = disputes(chain, job_id)
    assert d.status == V.DISPUTE_STATUS_FINAL
    c = commitment(liar)
    source = trace.operator_sources(PROGRAM, d.hi - 1)[0]
    forged = liar[source].copy()
    forged[0, 0] += 1
    tensor = V.TraceTensor(
        index=source,
        rows=forged.shape[0],
        cols=forged.shape[1],
        data=runtime.output_bytes(forged),
        proof=list(trace.prove_tensor(c, d.lo, source)),
    )
    peaks = list(trace.prove_prefix(c, d.lo))
    msg = V.MsgFinalStep(
        sender=ADDRS[i], job_id=job_id, artifact=ARTIFACT, inputs=[tensor], peaks=peaks
    )
    refused = chain.deliver(KEYS[i], msg)
    assert (refused.codespace, refused.code) == ("verify", 68)
    other = V.MsgFinalStep(
        sender=ADDRS[i], job_id=job_id, artifact=ARTIFACT + b" ", inputs=[tensor], peaks=peaks
    )
    wrong_artifact = chain.deliver(KEYS[i], other)
    assert (wrong_artifact.codespace, wrong_artifact.code) == ("verify", 19)
    assert disputes(chain, job_id) == [d]
    d = play(chain, job_id, i, liar, honest)
    assert d.winner == V.PARTY_CHALLENGER
    check_invariants(chain)


def test_genesis_round_trip_keeps_an_undecided_game(chain: Chain) -> None:
    from test_verify_module import context, verify_module

    job_id, i = accepted_job(chain, lying_tensors())
    assert open_dispute(chain, job_id, i, honest_tensors()).code == 0
    module = verify_module(chain)
    exported = module.export_genesis(context(chain))
    assert [d["job_id"] for d in exported["disputes"]] == [str(job_id)]
    module.validate_genesis(exported)
    ctx = context(chain)
    before = {k: v for k, v in module.keeper.queue_store(ctx, b"\x0c").iterate()}
    module.init_genesis(ctx, exported)
    assert dict(module.keeper.queue_store(context(chain), b"\x0c").iterate()) == before != {}
    twice = dict(exported, disputes=exported["disputes"] * 2)
    with pytest.raises(Exception, match="twice"):
        module.validate_genesis(twice)
    check_invariants(chain)


def test_a_trace_with_the_wrong_step_count_loses_at_once(chain: Chain) -> None:
    padded = [*honest_tensors(), honest_tensors()[-1]]  # one step too many, same output
    job_id, i = accepted_job(chain, padded)
    stake = collateral(chain, i)
    honest = commitment(honest_tensors())
    unprovable = open_dispute(chain, job_id, i, honest_tensors())
    assert (unprovable.codespace, unprovable.code) == ("verify", 61)  # trees of other sizes
    wrong_artifact = open_dispute(chain, job_id, i, honest_tensors(), artifact=ARTIFACT + b" ")
    assert (wrong_artifact.codespace, wrong_artifact.code) == ("verify", 19)
    won = open_dispute(chain, job_id, i, honest_tensors(), artifact=ARTIFACT)
    assert won.code == 0, won.log
    (d,) = disputes(chain, job_id)
    assert d.winner == V.PARTY_CHALLENGER and "7 steps, the model 6 operators" in d.detail
    assert int(d.paid) == BOND and collateral(chain, i) == stake - BOND
    assert job(chain, job_id).state == J.JOB_STATE_REJECTED_RESULT
    assert honest.n_steps == 6
    check_invariants(chain)
