"""Optimistic verification of a float (ONNX, tolerance-compared) model over ABCI, declared
by its owner (``optimistic_float``): the trace commitment is onnxruntime's every-node trace,
bisection narrows a dispute to one node, the provider opens that node's inputs and its
claimed output on chain, and a committee of AI validators re-runs that one node and votes
(commit-reveal, ``step_valid``); the majority decides the game, the losing side of the vote
is slashed, and no honest party loses."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_compute_providers import ADDRS, KEYS, OWNER, OWNER_ADDR, offer, register
from test_verify_module import (
    SALT,
    VALIDATOR_KEYS,
    VALIDATORS,
    bond,
    check_invariants,
    collateral,
    job,
    session,
    start,
    submit,
    verify_params,
)
from test_verify_optimistic import (
    CHALLENGER,
    CHALLENGER_ADDR,
    _send,
    balance,
    disputes,
    npy,
)

from aivm.ai.verify import trace
from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.keeper import verdict_commitment
from aivm.types.protogen import ai_pb2, storage_pb2
from harness import Chain, make_key
from onnx_fixtures import build_mnist_like_mlp

J, V = compute_pb2, verify_pb2
BOND = 2_000
MODEL = build_mnist_like_mlp(seed=3, sizes=(20, 16, 4)).SerializeToString()
X = np.random.default_rng(7).random((2, 20)).astype(np.float32)
INPUT = npy(X)


def policy() -> list[dict[str, Any]]:
    """Medium criticality: optimistic only, k = 3, a 12-block window."""
    rules = verify_params()["policy"]
    for rule in rules:
        if rule.get("criticality") == "CRITICALITY_MEDIUM":
            rule["methods"] = ["METHOD_OPTIMISTIC"]
            rule["challenge_window_blocks"] = 12
            rule["validators"] = 3
            rule.pop("sample_rate", None)
    return rules


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    chain = start(
        tmp_path / "d",
        validators=4,
        policy=policy(),
        dispute_bond=str(BOND),
        round_blocks=3,
        commit_blocks=3,
        reveal_blocks=3,
    )
    store = storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR, cid=cid_of(MODEL), retention_blocks=1000, root_block=MODEL
    )
    assert chain.deliver(OWNER, store).code == 0
    register_model = ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="mlp-float",
        version="1.0.0",
        artifact_cid=cid_of(MODEL),
        artifact_sha256=hashlib.sha256(MODEL).digest(),
        artifact_size=len(MODEL),
        format="onnx",
        execution_path="offchain",
        comparison="tolerance",
    )
    result = chain.deliver(OWNER, register_model)
    assert result.code == 0, result.log
    declare = V.MsgSetModelVerification(
        owner=OWNER_ADDR, model_id=3, version="1.0.0", optimistic_float=True
    )
    result = chain.deliver(OWNER, declare)
    assert result.code == 0, result.log
    for i in (2, 3):
        result = register(chain, i, offers=[offer(100, model_id=3)])
        assert result.code == 0, result.log
    assert chain.deliver(OWNER, _send(OWNER_ADDR, CHALLENGER_ADDR, 10**9)).code == 0
    chain.block([])
    return chain


def honest() -> list[np.ndarray]:
    return [a for _, a in trace.onnx_trace(MODEL, {"x": X})]


def lying() -> list[np.ndarray]:
    """The last node's output moved well beyond any tolerance."""
    tensors = honest()
    tensors[-1] = (tensors[-1] + np.float32(0.25)).astype(np.float32)
    return tensors


def commitment(tensors: list[np.ndarray]) -> trace.TraceCommitment:
    return trace.commit_trace([trace.tensor_hash(t) for t in tensors])


def result_msg(i: int, job_id: int, tensors: list[np.ndarray]) -> Any:
    c = commitment(tensors)
    opening = trace.open_output(c)
    out = np.ascontiguousarray(tensors[-1], dtype="<f4")
    data = out.tobytes()
    evidence = V.Evidence(
        trace_root=c.root,
        trace_steps=c.n_steps,
        trace_output_leaf=opening.leaf,
        trace_output_step_proof=list(opening.step_proof),
        trace_output_tensor_proof=list(opening.tensor_proof),
        trace_output_shape=list(out.shape),
    ).SerializeToString(deterministic=True)
    return J.MsgSubmitResult(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(data),
        output_digest=hashlib.sha256(data).digest(),
        comparison_data=data,
        runtime="onnxruntime test",
        evidence=evidence,
    )


def accepted_job(chain: Chain, tensors: list[np.ndarray]) -> tuple[int, int]:
    _, job_id = submit(
        chain,
        model_id=3,
        input_inline=INPUT,
        input_digest=hashlib.sha256(INPUT).digest(),
        criticality=J.CRITICALITY_MEDIUM,
    )
    chain.block([])
    i = ADDRS.index(job(chain, job_id).assignments[0].provider)
    result = chain.deliver(KEYS[i], result_msg(i, job_id, tensors))
    assert result.code == 0, result.log
    chain.block([])
    assert session(chain, job_id).status == V.SESSION_STATUS_CHALLENGE
    return job_id, i


def open_dispute(chain: Chain, job_id: int, i: int, tensors: list[np.ndarray]) -> None:
    """The challenger disputes provider ``i``'s result with the trace of ``tensors``."""
    c = commitment(tensors)
    opened = chain.deliver(
        CHALLENGER,
        V.MsgOpenDispute(
            challenger=CHALLENGER_ADDR,
            job_id=job_id,
            provider=ADDRS[i],
            trace_root=c.root,
            last_leaf=c.leaves[-1],
            last_proof=list(trace.prove_step(c, c.n_steps)),
        ),
    )
    assert opened.code == 0, opened.log


def float_tensor(index: int, array: np.ndarray, proof: tuple[bytes, ...]) -> Any:
    a = np.ascontiguousarray(array, dtype="<f4")
    return V.TraceTensor(
        index=index, dtype="float32", shape=list(a.shape), data=a.tobytes(), proof=list(proof)
    )


def bisect_to_final(chain: Chain, job_id: int, i: int, mine: list, theirs: list) -> Any:
    for _ in range(20):
        (d,) = disputes(chain, job_id)
        if d.status != V.DISPUTE_STATUS_BISECT:
            return d
        party = mine if d.turn == V.PARTY_PROVIDER else theirs
        key, sender = (KEYS[i], ADDRS[i]) if d.turn == V.PARTY_PROVIDER else (
            CHALLENGER,
            CHALLENGER_ADDR,
        )
        c = commitment(party)
        mid = (d.lo + d.hi) // 2
        msg = V.MsgBisect(
            sender=sender, job_id=job_id, leaf=c.leaves[mid], proof=list(trace.prove_step(c, mid))
        )
        result = chain.deliver(key, msg)
        assert result.code == 0, result.log
    raise AssertionError("no final step")


def open_step(chain: Chain, job_id: int, i: int, tensors: list[np.ndarray]) -> Any:
    (d,) = disputes(chain, job_id)
    c = commitment(tensors)
    _, steps = trace.onnx_step_node(MODEL, d.hi)
    inputs = [float_tensor(s, tensors[s], trace.prove_tensor(c, d.lo, s)) for s in steps]
    claimed = float_tensor(d.hi, tensors[d.hi], trace.prove_tensor(c, d.hi, d.hi))
    msg = V.MsgFinalStep(sender=ADDRS[i], job_id=job_id, inputs=inputs, claimed=claimed)
    return chain.deliver(KEYS[i], msg)


def validator_verdict(d: verify_pb2.Dispute) -> bool:
    """What an honest AI validator concludes: re-run the node on the opened inputs and
    compare with the claim (the model's default tolerance)."""
    inputs = [np.frombuffer(t.data, "<f4").reshape(tuple(t.shape)) for t in d.inputs]
    (out,) = trace.run_onnx_node(MODEL, d.hi, inputs)
    claim = np.frombuffer(d.claimed.data, "<f4").reshape(tuple(d.claimed.shape))
    return bool(np.allclose(out, claim, rtol=1e-3, atol=1e-4))


def vote(chain: Chain, job_id: int, verdicts: dict[int, bool]) -> None:
    found = session(chain, job_id)
    digest = job(chain, job_id).output_digest
    for v, valid in verdicts.items():
        commitment_ = verdict_commitment(
            job_id,
            found.round,
            make_key(300 + v).pubkey.address(),
            digest,
            SALT,
            step_valid=valid,
        )
        msg = V.MsgCommitVerdict(validator=VALIDATORS[v], job_id=job_id, commitment=commitment_)
        assert chain.deliver(VALIDATOR_KEYS[v], msg).code == 0
    for v, valid in verdicts.items():
        msg = V.MsgRevealVerdict(
            validator=VALIDATORS[v],
            job_id=job_id,
            output_digest=digest,
            salt=SALT,
            step_valid=valid,
        )
        result = chain.deliver(VALIDATOR_KEYS[v], msg)
        assert result.code == 0, result.log


def drawn(chain: Chain, job_id: int) -> list[int]:
    found = session(chain, job_id)
    return [VALIDATORS.index(v.validator) for v in found.verdicts if v.round == found.round]


def test_a_lying_provider_loses_the_vote_on_its_float_step(chain: Chain) -> None:
    job_id, i = accepted_job(chain, lying())
    stake = collateral(chain, i)
    open_dispute(chain, job_id, i, honest())
    d = bisect_to_final(chain, job_id, i, lying(), honest())
    assert d.status == V.DISPUTE_STATUS_FINAL and d.float_model
    assert d.hi == commitment(honest()).n_steps  # only the last node's output was changed
    wrong_claim = lying()
    wrong_claim[d.hi] = honest()[d.hi]  # a claim that is not the provider's committed step
    refused = open_step(chain, job_id, i, wrong_claim)
    assert (refused.codespace, refused.code) == ("verify", 68)
    assert open_step(chain, job_id, i, lying()).code == 0
    (d,) = disputes(chain, job_id)
    assert d.vote_pending and not validator_verdict(d)
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_COMMIT and found.step_vote
    members = drawn(chain, job_id)
    assert len(members) == 3
    bonds = {v: bond(chain, v) for v in members}
    liar_validator = members[0]  # one colluder below the threshold vouches for the provider
    vote(chain, job_id, {v: v == liar_validator for v in members})
    (d,) = disputes(chain, job_id)
    assert d.status == V.DISPUTE_STATUS_DONE and d.winner == V.PARTY_CHALLENGER
    assert "vote of 3 AI validators" in d.detail
    assert session(chain, job_id).status == V.SESSION_STATUS_FAILED
    assert job(chain, job_id).state == J.JOB_STATE_REJECTED_RESULT
    assert collateral(chain, i) == stake - BOND
    assert bond(chain, liar_validator) < bonds[liar_validator]
    assert all(bond(chain, v) == bonds[v] for v in members[1:])  # honest voters kept theirs
    check_invariants(chain)


def test_an_honest_float_provider_wins_the_vote_and_the_bond(chain: Chain) -> None:
    job_id, i = accepted_job(chain, honest())
    provider_before = balance(chain, ADDRS[i])
    open_dispute(chain, job_id, i, lying())
    bisect_to_final(chain, job_id, i, honest(), lying())
    assert open_step(chain, job_id, i, honest()).code == 0
    (d,) = disputes(chain, job_id)
    assert validator_verdict(d)
    vote(chain, job_id, {v: validator_verdict(d) for v in drawn(chain, job_id)})
    (d,) = disputes(chain, job_id)
    assert d.winner == V.PARTY_PROVIDER
    assert balance(chain, ADDRS[i]) >= provider_before + BOND - 10**6
    found = session(chain, job_id)
    assert not found.step_vote
    while chain.height <= found.challenge_end_height:  # the window may still be open
        chain.block([])
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_PASSED
    assert "each won by the provider" in found.methods[0].detail
    chain.block([])
    assert job(chain, job_id).state == J.JOB_STATE_COMPLETED
    check_invariants(chain)


def test_float_optimistic_needs_the_owners_declaration(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", validators=0, policy=policy())
    declare = V.MsgSetModelVerification(
        owner=OWNER_ADDR, model_id=1, version="1.0.0", optimistic_float=True
    )
    refused = chain.deliver(OWNER, declare)  # model 1 is compared exactly
    assert (refused.codespace, refused.code) == ("verify", 14)
    assert "tolerance" in refused.log


def test_a_declaration_between_the_results_skips_the_method(chain: Chain) -> None:
    def declare(on: bool) -> None:
        msg = V.MsgSetModelVerification(
            owner=OWNER_ADDR, model_id=3, version="1.0.0", optimistic_float=on
        )
        assert chain.deliver(OWNER, msg).code == 0

    declare(False)
    _, job_id = submit(
        chain,
        model_id=3,
        input_inline=INPUT,
        input_digest=hashlib.sha256(INPUT).digest(),
        criticality=J.CRITICALITY_MEDIUM,
        redundancy=2,
    )
    chain.block([])
    first, second = (ADDRS.index(a.provider) for a in job(chain, job_id).assignments)
    untraced = result_msg(first, job_id, honest())
    untraced.ClearField("evidence")
    assert chain.deliver(KEYS[first], untraced).code == 0
    declare(True)
    result = chain.deliver(KEYS[second], result_msg(second, job_id, honest()))
    assert result.code == 0, result.log
    (run,) = [m for m in session(chain, job_id).methods if m.method == V.METHOD_OPTIMISTIC]
    assert run.status == V.METHOD_STATUS_SKIPPED
    assert "sent before the declaration" in run.detail
    check_invariants(chain)


def test_a_pending_game_keeps_its_kind_when_the_declaration_is_withdrawn(chain: Chain) -> None:
    job_id, i = accepted_job(chain, lying())
    withdraw = V.MsgSetModelVerification(
        owner=OWNER_ADDR, model_id=3, version="1.0.0", optimistic_float=False
    )
    assert chain.deliver(OWNER, withdraw).code == 0  # after acceptance, before the dispute
    open_dispute(chain, job_id, i, honest())
    bisect_to_final(chain, job_id, i, lying(), honest())
    assert open_step(chain, job_id, i, lying()).code == 0  # still the float step, no artifact
    (d,) = disputes(chain, job_id)
    assert d.float_model and d.vote_pending
    vote(chain, job_id, {v: validator_verdict(d) for v in drawn(chain, job_id)})
    (d,) = disputes(chain, job_id)
    assert d.winner == V.PARTY_CHALLENGER and d.outcome == V.DISPUTE_OUTCOME_VOTE
    check_invariants(chain)
