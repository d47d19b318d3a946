"""zk proofs in the verify module (method 3) over ABCI, with real EZKL circuits made here
(the module-scoped ``setup`` fixture of test_zk_ezkl.py: two 4→8→2 MLPs on one generated SRS,
proofs of model A on the job input and on another input, and of model B on the job input).

The model owner registers model A's circuit with the version; a high-criticality job's policy
is zk only (k = 3). The chain refuses, in the provider's own tx and with nothing recorded: a
result without a proof, a proof about another input (the binding), a proof whose output is
not the claimed one, a malformed proof; a job whose input is not inline is refused at submit.
A proof of *another model* on the same input passes every check the chain can run without
the pairing; the drawn AI validators run the pairing (``aivm.worker.zk_prover``), find it
invalid, and the result is rejected before payment with its provider slashed. The honest
proof passes the committee and is paid, with the zk method in the trail; the same proof is
refused for a second job (no replay)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_compute_jobs import job, submit
from test_compute_providers import ADDRS, AUTHORITY, AUTHORITY_ADDR, KEYS, OWNER, OWNER_ADDR
from test_verify_module import collateral, commit, drawn, reveal, session, start

from aivm.ai.verify import zk
from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.params import default_params
from aivm.worker import zk_prover
from harness import Chain
from integration.test_zk_ezkl import Setup
from integration.test_zk_ezkl import setup as setup  # the module-scoped fixture

pytestmark = pytest.mark.slow

J, V = compute_pb2, verify_pb2


def circuit(kit: zk_prover.ProverKit) -> V.ZkCircuit:
    art = kit.artifacts
    return V.ZkCircuit(
        settings=art.settings,
        verifying_key=art.verifying_key,
        srs=art.srs,
        srs_digest=art.srs_digest,
    )


def output_of(proof: bytes, kit: zk_prover.ProverKit) -> tuple[bytes, bytes]:
    """(output digest, fixed-point output bytes) the proof's public outputs stand for."""
    art = kit.artifacts
    verdict = zk.check_proof(
        proof, art.settings, art.verifying_key, art.srs, expected_srs_digest=art.srs_digest
    )
    return zk.public_output_digest(verdict), zk.fixed_point_bytes(verdict.public_outputs)


@pytest.fixture
def chain(tmp_path: Path, setup: Setup) -> Chain:
    chain = start(tmp_path / "d")
    params = default_params().to_proto()
    params.policy[2].methods[:] = [V.METHOD_ZK]  # high: zk only, k = 3
    update = V.MsgUpdateParams(authority=AUTHORITY_ADDR, params=params)
    assert chain.deliver(AUTHORITY, update).code == 0
    register = V.MsgSetModelVerification(
        owner=OWNER_ADDR, model_id=1, version="1.0.0", zk=circuit(setup.kit_a)
    )
    result = chain.deliver(OWNER, register)
    assert result.code == 0, result.log
    return chain


def zk_job(chain: Chain, data: bytes) -> tuple[int, int]:
    _, job_id = submit(
        chain,
        criticality=J.CRITICALITY_HIGH,
        input_inline=data,
        input_digest=hashlib.sha256(data).digest(),
        sla_class=J.SLA_CLASS_BATCH,
        deadline_blocks=80,
    )
    chain.block([])
    return job_id, ADDRS.index(job(chain, job_id).assignments[0].provider)


def result_with(i: int, job_id: int, proof: bytes, digest: bytes, data: bytes) -> Any:
    return J.MsgSubmitResult(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(data),
        output_digest=digest,
        comparison_data=data,
        runtime="ezkl",
        evidence=V.Evidence(zk_proof=proof).SerializeToString(),
    )


def committee_votes(chain: Chain, job_id: int, zk_valid: bool) -> None:
    members = drawn(chain, job_id)
    for v in members:
        assert commit(chain, v, job_id, b"zk only", zk_valid=zk_valid).code == 0
    for v in members:
        assert reveal(chain, v, job_id, b"zk only", zk_valid=zk_valid).code == 0


def test_the_chain_refuses_what_it_can_check_without_the_pairing(
    chain: Chain, setup: Setup
) -> None:
    from test_compute_jobs import submit_msg

    by_cid = submit_msg(
        criticality=J.CRITICALITY_HIGH,
        input_inline=b"",
        input_cid=cid_of(setup.job_input),
        input_digest=hashlib.sha256(setup.job_input).digest(),
    )
    refused = chain.deliver(OWNER, by_cid)
    assert (refused.codespace, refused.code) == ("verify", 9) and "inline" in refused.log
    job_id, i = zk_job(chain, setup.job_input)
    digest, data = output_of(setup.proof_a, setup.kit_a)

    def code(msg: Any) -> tuple[str, int]:
        result = chain.deliver(KEYS[i], msg)
        assert job(chain, job_id).assignments[0].status == J.ASSIGNMENT_STATUS_RUNNING
        return result.codespace, result.code

    plain = result_with(i, job_id, b"", digest, data)
    plain.evidence = b""
    assert code(plain) == ("verify", 16)
    other_digest, other_data = output_of(setup.proof_a_other, setup.kit_a)
    assert code(result_with(i, job_id, setup.proof_a_other, other_digest, other_data)) == (
        "verify",
        46,
    )
    wrong = hashlib.sha256(b"another output").digest()
    assert code(result_with(i, job_id, setup.proof_a, wrong, b"")) == ("verify", 47)
    assert code(result_with(i, job_id, b"AZK\x01garbage", digest, data)) == ("verify", 44)


def test_another_models_proof_is_caught_by_the_committee_and_slashed(
    chain: Chain, setup: Setup
) -> None:
    job_id, i = zk_job(chain, setup.job_input)
    digest, data = output_of(setup.proof_b, setup.kit_b)
    before = collateral(chain, i)
    result = chain.deliver(KEYS[i], result_with(i, job_id, setup.proof_b, digest, data))
    assert result.code == 0, result.log  # framing, ranges and binding pass: the pairing cannot
    art = setup.kit_a.artifacts
    with pytest.raises(Exception, match="rejected"):
        zk_prover.verify_proof(
            setup.proof_b,
            art.settings,
            art.verifying_key,
            art.srs,
            expected_srs_digest=art.srs_digest,
        )
    chain.block([])  # the draw
    assert session(chain, job_id).status == V.SESSION_STATUS_COMMIT
    committee_votes(chain, job_id, zk_valid=False)
    rejected = job(chain, job_id)
    assert rejected.state == J.JOB_STATE_REJECTED_RESULT
    assert "zk proof invalid" in rejected.reason_detail
    assert collateral(chain, i) < before
    runs = {r.method: r for r in session(chain, job_id).methods}
    assert runs[V.METHOD_ZK].status == V.METHOD_STATUS_FAILED


def test_an_honest_proof_is_attested_paid_and_not_replayable(chain: Chain, setup: Setup) -> None:
    art = setup.kit_a.artifacts
    zk_prover.verify_proof(
        setup.proof_a,
        art.settings,
        art.verifying_key,
        art.srs,
        expected_srs_digest=art.srs_digest,
    )  # what each validator runs: the pairing holds
    job_id, i = zk_job(chain, setup.job_input)
    digest, data = output_of(setup.proof_a, setup.kit_a)
    result = chain.deliver(KEYS[i], result_with(i, job_id, setup.proof_a, digest, data))
    assert result.code == 0, result.log
    chain.block([])
    committee_votes(chain, job_id, zk_valid=True)
    assert session(chain, job_id).status == V.SESSION_STATUS_PASSED
    end = job(chain, job_id).accept_height
    while chain.height <= end:
        chain.block([])
    assert job(chain, job_id).state == J.JOB_STATE_COMPLETED
    _, found = chain.query(
        "/aivm.verify.v1.Query/Trail", V.QueryTrailRequest(job_id=job_id), V.QueryTrailResponse
    )
    zk_run = next(m for m in found.trail.methods if m.method == V.METHOD_ZK)
    assert zk_run.status == V.METHOD_STATUS_PASSED
    assert all(v.zk_valid for v in zk_run.verdicts)
    second, j = zk_job(chain, setup.job_input)
    again = chain.deliver(KEYS[j], result_with(j, second, setup.proof_a, digest, data))
    assert (again.codespace, again.code) == ("verify", 13) and "used before" in again.log
