"""verify module over ABCI: the policy (query, governance update, planned methods refused),
criticality refused when too few AI validators are active, re-execution by drawn AI validators
with commit-reveal (honest runs pass and pay, a wrong result is rejected before payment and
its provider slashed, colluding validators below the threshold and non-revealers are slashed,
an honest validator never), sampling (a skipped roll releases the job, a drawn one catches a
liar with the multiple penalty), the attestation trail of a paid job, genesis round trip and
the invariants after each flow."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from test_compute_jobs import HONEST, job, submit
from test_compute_providers import (
    ADDRS,
    AUTHORITY,
    AUTHORITY_ADDR,
    KEYS,
    OWNER,
    genesis_doc,
    offchain_model,
    onchain_model,
    register,
)
from test_compute_providers import (
    params as compute_params,
)

from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.params import DEFAULT_PARAMS as ROLES_DEFAULTS
from aivm.modules.staking import genesis as staking_genesis
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.invariants import invariants
from aivm.modules.verify.keeper import sampling_multiple, verdict_commitment
from aivm.modules.verify.module import VerifyModule
from aivm.modules.verify.params import default_params
from aivm.store import GasMeter
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.protogen import storage_pb2
from harness import DENOM, Chain, make_key

J, V = compute_pb2, verify_pb2
Q = "/aivm.verify.v1.Query/"
VALIDATOR_KEYS = [make_key(300 + i) for i in range(5)]
VALIDATORS = [acc_address(k.pubkey.address()) for k in VALIDATOR_KEYS]
BOND = 100_000
ARTIFACT = b"an off-chain onnx model, stored by its owner"
WRONG = b"a made-up output"
SALT = b"sixteen byte salt"


def verify_params(**changes: Any) -> dict[str, Any]:
    base = json_format.MessageToDict(default_params().to_proto(), preserving_proto_field_name=True)
    base.update(commit_blocks=10, reveal_blocks=10)
    base.update(changes)
    return base


def start(
    path: Path, validators: int = 3, genesis_time_s: int | None = None, **verify: Any
) -> Chain:
    """Model 1 off-chain, providers 0..1 registered, ``validators`` AI validators active;
    ``genesis_time_s`` moves the chain's clock (the TEE tests need the sample collateral's
    validity window)."""
    keys = [*KEYS, OWNER, AUTHORITY, *VALIDATOR_KEYS]
    funded = {k.pubkey.address(): 10**12 for k in keys}
    doc = genesis_doc(funded, with_accounts=True)
    if genesis_time_s is not None:
        doc.genesis_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(genesis_time_s))
    doc.app_state["compute"] = {
        "params": compute_params(
            challenge_window_blocks="2",
            sla_response_blocks=["4", "2", "50"],
            heartbeat_timeout_blocks="1000",
        )
    }
    doc.app_state["authority"] = {"authority": AUTHORITY_ADDR}
    roles = json_format.MessageToDict(ROLES_DEFAULTS.to_proto(), preserving_proto_field_name=True)
    roles.update(
        min_bond_ai="1000", reward_share_ai="0", reward_share_compute="0", reward_share_data="0"
    )
    doc.app_state["roles"] = {"params": roles}
    doc.app_state["verify"] = {"params": verify_params(**verify)}
    staking = staking_genesis.default_genesis()["params"]
    staking.update(unbonding_time="30s")
    doc.app_state["staking"] = {"params": staking}
    chain = Chain.start(path, funded, genesis=doc)
    if genesis_time_s is not None:
        chain.time_s = genesis_time_s
    chain.block([])
    store = storage_pb2.MsgStoreObject(
        owner=acc_address(OWNER.pubkey.address()),
        cid=cid_of(ARTIFACT),
        retention_blocks=1000,
        root_block=ARTIFACT,
    )
    for msg in (store, offchain_model("1.0.0"), onchain_model()):
        assert chain.deliver(OWNER, msg).code == 0
    for i in range(2):
        assert register(chain, i).code == 0
    for i in range(validators):
        register_validator(chain, i)
    chain.block([])  # the roles EndBlock puts them in the active set
    return chain


def register_validator(chain: Chain, i: int) -> None:
    msg = roles_pb2.MsgRegisterRole(
        operator=VALIDATORS[i],
        role=roles_pb2.ROLE_AI,
        bond=pb.coin.Coin(denom=DENOM, amount=str(BOND)),
        capability=roles_pb2.Capability(
            ai=roles_pb2.AiCapability(runtimes=["onnxruntime"], methods=[1])
        ),
        moniker=f"v{i}",
    )
    result = chain.deliver(VALIDATOR_KEYS[i], msg)
    assert result.code == 0, result.log


def session(chain: Chain, job_id: int) -> verify_pb2.Session:
    result, value = chain.query(
        Q + "Session", V.QuerySessionRequest(job_id=job_id), V.QuerySessionResponse
    )
    assert result.code == 0, result.log
    return value.session


def bond(chain: Chain, i: int) -> int:
    result, value = chain.query(
        "/aivm.roles.v1.Query/Operator",
        roles_pb2.QueryOperatorRequest(operator=VALIDATORS[i], role=roles_pb2.ROLE_AI),
        roles_pb2.QueryOperatorResponse,
    )
    assert result.code == 0, result.log
    return int(value.operator.bond)


def collateral(chain: Chain, i: int) -> int:
    result, value = chain.query(
        "/aivm.compute.v1.Query/Provider",
        J.QueryProviderRequest(operator=ADDRS[i]),
        J.QueryProviderResponse,
    )
    assert result.code == 0, result.log
    return int(value.provider.collateral)


def result_msg(i: int, job_id: int, output: bytes) -> compute_pb2.MsgSubmitResult:
    return J.MsgSubmitResult(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(output),
        output_digest=hashlib.sha256(output).digest(),
        runtime="onnxruntime test",
    )


def run_job(chain: Chain, output: bytes, criticality: int = J.CRITICALITY_HIGH) -> int:
    """Submit a k = 1 job, let it match, and answer it with ``output``."""
    _, job_id = submit(chain, criticality=criticality)
    chain.block([])  # matched at EndBlock
    provider = job(chain, job_id).assignments[0].provider
    i = ADDRS.index(provider)
    result = chain.deliver(KEYS[i], result_msg(i, job_id, output))
    assert result.code == 0, result.log
    return job_id


def drawn(chain: Chain, job_id: int) -> list[int]:
    found = session(chain, job_id)
    return [VALIDATORS.index(v.validator) for v in found.verdicts if v.round == found.round]


def commit(
    chain: Chain, v: int, job_id: int, output: bytes, round_: int = 1, zk_valid: bool = False
) -> Any:
    digest = hashlib.sha256(output).digest()
    commitment = verdict_commitment(
        job_id, round_, make_key(300 + v).pubkey.address(), digest, SALT, zk_valid
    )
    msg = V.MsgCommitVerdict(validator=VALIDATORS[v], job_id=job_id, commitment=commitment)
    return chain.deliver(VALIDATOR_KEYS[v], msg)


def reveal(
    chain: Chain, v: int, job_id: int, output: bytes, salt: bytes = SALT, zk_valid: bool = False
) -> Any:
    msg = V.MsgRevealVerdict(
        validator=VALIDATORS[v],
        job_id=job_id,
        output_digest=hashlib.sha256(output).digest(),
        salt=salt,
        zk_valid=zk_valid,
    )
    return chain.deliver(VALIDATOR_KEYS[v], msg)


def verify_module(chain: Chain) -> VerifyModule:
    return next(m for m in chain.app.manager.modules if isinstance(m, VerifyModule))


def context(chain: Chain) -> Context:
    header = BlockHeader(chain.height, chain.time_s * 10**9, "aivm-test-1")
    return Context(chain.app.store.working, GasMeter(None), header, ExecMode.FINALIZE)


def check_invariants(chain: Chain) -> None:
    ctx = context(chain)
    problems = {name: check(ctx) for name, check in invariants(verify_module(chain)).items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_policy_query_explains_each_criticality(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", validators=0)
    result, value = chain.query(Q + "Policy", V.QueryPolicyRequest(), V.QueryPolicyResponse)
    assert result.code == 0, result.log
    by_level = {e.rule.criticality: e for e in value.entries}
    assert list(by_level) == [0, 1, 2, 3]
    assert list(by_level[V.CRITICALITY_HIGH].rule.methods) == [
        V.METHOD_REEXECUTION,
        V.METHOD_OPTIMISTIC,
        V.METHOD_TOPLOC,
        V.METHOD_TEE,
    ]
    assert "3 AI validators re-execute every job" in by_level[V.CRITICALITY_HIGH].explanation
    assert "anyone bonded may dispute it" in by_level[V.CRITICALITY_MEDIUM].explanation
    assert "5% of jobs are re-executed" in by_level[V.CRITICALITY_LOW].explanation
    assert set(by_level[0].methods_available) == {
        "reexecution",
        "optimistic",
        "sampling",
        "tee",
        "zk",
        "toploc",
    }


def test_policy_update_by_governance_refuses_malformed_rules(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", validators=0)
    twice = default_params().to_proto()
    twice.policy[2].methods.append(V.METHOD_OPTIMISTIC)
    msg = V.MsgUpdateParams(authority=AUTHORITY_ADDR, params=twice)
    result = chain.deliver(AUTHORITY, msg)
    assert (result.codespace, result.code) == ("verify", 2)
    assert "a method is listed twice" in result.log
    bond = default_params().to_proto()
    bond.dispute_bond = "-5"
    result = chain.deliver(AUTHORITY, V.MsgUpdateParams(authority=AUTHORITY_ADDR, params=bond))
    assert (result.codespace, result.code) == ("verify", 2)
    assert "dispute_bond" in result.log
    changed = default_params().to_proto()
    changed.policy[2].validators = 1
    assert (
        chain.deliver(AUTHORITY, V.MsgUpdateParams(authority=AUTHORITY_ADDR, params=changed)).code
        == 0
    )
    outsider = chain.deliver(KEYS[0], V.MsgUpdateParams(authority=ADDRS[0], params=changed))
    assert outsider.code != 0
    _, value = chain.query(Q + "Params", V.QueryParamsRequest(), V.QueryParamsResponse)
    assert value.params.policy[2].validators == 1


def test_high_criticality_needs_enough_ai_validators(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", validators=2)
    from test_compute_jobs import submit_msg

    result = chain.deliver(OWNER, submit_msg(criticality=J.CRITICALITY_HIGH))
    assert (result.codespace, result.code) == ("verify", 9)
    assert "needs 3 active AI validators" in result.log and "2 active" in result.log


def test_honest_result_passes_reexecution_then_pays_with_a_trail(tmp_path: Path) -> None:
    chain = start(tmp_path / "d", validators=4)
    job_id = run_job(chain, HONEST)
    held = job(chain, job_id)
    assert held.state == J.JOB_STATE_PENDING_ACCEPTANCE and held.verification_hold
    settle = chain.deliver(KEYS[0], J.MsgSettleJob(sender=ADDRS[0], job_id=job_id))
    assert settle.code != 0 and "being verified" in settle.log
    chain.block([])  # the draw: the next block's hash picks the committee
    members = drawn(chain, job_id)
    assert len(set(members)) == 3
    assert reveal(chain, members[0], job_id, HONEST).code != 0  # nothing committed yet
    bonds = [bond(chain, v) for v in members]
    assert commit(chain, members[0], job_id, HONEST).code == 0
    again = commit(chain, members[0], job_id, HONEST)
    assert (again.codespace, again.code) == ("verify", 6)
    early = reveal(chain, members[0], job_id, HONEST)  # others have not committed yet
    assert (early.codespace, early.code) == ("verify", 4)
    outsider = commit(chain, ({0, 1, 2, 3} - set(members)).pop(), job_id, HONEST)
    assert (outsider.codespace, outsider.code) == ("verify", 5)
    for v in members[1:]:
        assert commit(chain, v, job_id, HONEST).code == 0
    bad = reveal(chain, members[0], job_id, HONEST, salt=b"not the salt I used")
    assert (bad.codespace, bad.code) == ("verify", 8)
    for v in members:
        assert reveal(chain, v, job_id, HONEST).code == 0
    found = session(chain, job_id)
    assert found.status == V.SESSION_STATUS_PASSED
    assert all(v.agrees and v.revealed for v in found.verdicts)
    window_end = job(chain, job_id).accept_height
    assert window_end >= held.accept_height - 1 >= chain.height  # the policy's 20 blocks
    while chain.height <= window_end:
        chain.block([])
    paid = job(chain, job_id)
    assert paid.state == J.JOB_STATE_COMPLETED
    assert [bond(chain, v) for v in members] == bonds  # nobody honest is slashed
    result, value = chain.query(
        Q + "Trail", V.QueryTrailRequest(job_id=job_id), V.QueryTrailResponse
    )
    assert result.code == 0, result.log
    trail = value.trail
    assert trail.artifact_sha256 == hashlib.sha256(ARTIFACT).digest()
    assert trail.output_digest == hashlib.sha256(HONEST).digest()
    assert [p.provider for p in trail.providers] == [paid.assignments[0].provider]
    assert int(trail.providers[0].paid) > 0
    assert trail.methods[0].method == V.METHOD_REEXECUTION
    assert trail.methods[0].status == V.METHOD_STATUS_PASSED
    assert len(trail.methods[0].verdicts) == 3 and trail.seed
    check_invariants(chain)


def test_wrong_result_is_rejected_before_payment_and_its_provider_slashed(
    tmp_path: Path,
) -> None:
    chain = start(tmp_path / "d")
    job_id = run_job(chain, WRONG)
    provider = ADDRS.index(job(chain, job_id).assignments[0].provider)
    before = collateral(chain, provider)
    chain.block([])
    members = drawn(chain, job_id)
    bonds = [bond(chain, v) for v in members]
    for v in members:
        assert commit(chain, v, job_id, HONEST).code == 0
    for v in members:
        reply = reveal(chain, v, job_id, HONEST)
        assert reply.code == 0
    rejected = job(chain, job_id)
    assert rejected.state == J.JOB_STATE_REJECTED_RESULT
    assert "verification failed" in rejected.reason_detail
    assert rejected.assignments[0].status == J.ASSIGNMENT_STATUS_DISAGREED
    assert rejected.assignments[0].paid in ("", "0")
    assert collateral(chain, provider) < before
    assert [bond(chain, v) for v in members] == bonds
    assert session(chain, job_id).status == V.SESSION_STATUS_FAILED
    check_invariants(chain)


def test_colluders_below_the_threshold_and_non_revealers_lose_their_stake(
    tmp_path: Path,
) -> None:
    """Round 1: a colluder vouches for the wrong result, one validator stays silent, one
    honest validator disagrees: no majority. Round 2 (the two validators left) rejects the
    result; the colluder and the silent one are slashed, the honest ones are not."""
    chain = start(tmp_path / "d", validators=5)
    job_id = run_job(chain, WRONG)
    chain.block([])
    first = drawn(chain, job_id)
    colluder, silent, honest = first
    for v in (colluder, honest):
        assert commit(chain, v, job_id, WRONG if v == colluder else HONEST).code == 0
    bonds = {v: bond(chain, v) for v in range(5)}
    commit_end = session(chain, job_id).commit_end_height
    while chain.height <= commit_end:
        chain.block([])  # the commit phase ends without the silent one
    assert reveal(chain, colluder, job_id, WRONG).code == 0
    assert reveal(chain, honest, job_id, HONEST).code == 0
    deadline = session(chain, job_id).reveal_end_height
    while chain.height <= deadline:
        chain.block([])  # reveal deadline: tallied, no majority, a second committee
    second = session(chain, job_id)
    assert second.round == 2
    rest = drawn(chain, job_id)
    assert sorted(rest) == sorted(set(range(5)) - set(first))
    for v in rest:
        assert commit(chain, v, job_id, HONEST, round_=2).code == 0
    for v in rest:
        assert reveal(chain, v, job_id, HONEST).code == 0
    assert job(chain, job_id).state == J.JOB_STATE_REJECTED_RESULT
    assert bond(chain, colluder) < bonds[colluder]
    assert bond(chain, silent) < bonds[silent]
    for v in (honest, *rest):
        assert bond(chain, v) == bonds[v], f"honest validator {v} slashed"
    check_invariants(chain)


def test_sampling_skips_most_jobs_and_catches_a_drawn_liar(tmp_path: Path) -> None:
    chain = start(tmp_path / "d")
    params = default_params().to_proto()
    params.policy[0].sample_rate = "0.000001000000000000"
    params.policy[1].sample_rate = "1.000000000000000000"
    assert (
        chain.deliver(AUTHORITY, V.MsgUpdateParams(authority=AUTHORITY_ADDR, params=params)).code
        == 0
    )
    skipped = run_job(chain, HONEST, criticality=J.CRITICALITY_LOW)
    chain.block([])
    found = session(chain, skipped)
    assert found.status == V.SESSION_STATUS_PASSED
    assert found.methods[0].status == V.METHOD_STATUS_SKIPPED
    for _ in range(3):
        chain.block([])
    assert job(chain, skipped).state == J.JOB_STATE_COMPLETED
    liar_job = run_job(chain, WRONG, criticality=J.CRITICALITY_MEDIUM)
    provider = ADDRS.index(job(chain, liar_job).assignments[0].provider)
    before = collateral(chain, provider)
    chain.block([])
    sampled = session(chain, liar_job)
    assert sampled.status == V.SESSION_STATUS_COMMIT and sampled.penalty_multiple == 1
    for v in drawn(chain, liar_job):
        assert commit(chain, v, liar_job, HONEST).code == 0
    for v in drawn(chain, liar_job):
        assert reveal(chain, v, liar_job, HONEST).code == 0
    caught = job(chain, liar_job)
    assert caught.state == J.JOB_STATE_REJECTED_RESULT
    pay = int(caught.assignments[0].price_per_unit) * caught.units
    assert before - collateral(chain, provider) == pay  # 1 × its pay at a 100 % rate
    check_invariants(chain)


def test_sampling_multiple_makes_cheating_unprofitable() -> None:
    for millionths in (1, 1_000, 50_000, 250_000, 999_999, 1_000_000):
        m = sampling_multiple(millionths)
        r = millionths
        gain = 1_000_000 - r  # (1 − r)·P, in millionths of P
        assert gain - r * m <= -gain  # a lie loses at least what it could have gained
    assert sampling_multiple(50_000) == 38
    assert sampling_multiple(250_000) == 6
    assert sampling_multiple(1_000_000) == 1
    assert sampling_multiple(0) == 0


def test_genesis_round_trip_keeps_open_sessions(tmp_path: Path) -> None:
    chain = start(tmp_path / "d")
    job_id = run_job(chain, HONEST)
    chain.block([])
    module = verify_module(chain)
    exported = module.export_genesis(context(chain))
    assert [s["job_id"] for s in exported["sessions"]] == [str(job_id)]
    module.validate_genesis(exported)
    before = {k: v for k, v in module.keeper.queue_store(context(chain), b"\x04").iterate()}
    module.init_genesis(context(chain), exported)  # rewrites the same queue entries
    assert dict(module.keeper.queue_store(context(chain), b"\x04").iterate()) == before
    assert before
    duplicated = dict(exported, sessions=exported["sessions"] * 2)
    with pytest.raises(Exception, match="two sessions"):
        module.validate_genesis(duplicated)


def test_params_with_unknown_enum_values_are_refused_with_a_code() -> None:
    from aivm.modules.verify.params import params_from_proto
    from aivm.types.errors import AivmError

    for mutate in (
        lambda p: setattr(p.policy[0], "criticality", 9),
        lambda p: p.policy[1].methods.append(77),
        lambda p: setattr(p.policy[2], "sample_rate", "1e3"),
        lambda p: setattr(p, "commit_blocks", 0),
    ):
        proto = default_params().to_proto()
        mutate(proto)
        with pytest.raises(AivmError) as info:
            params_from_proto(proto)
        assert (info.value.codespace, info.value.code) == ("verify", 2)


def test_zk_check_gas_covers_the_measured_worst_case() -> None:
    """1,792 public values and 64 KiB of settings took ~4.7 ms on the 2-core VM; at the
    project's ~2.7 ns per gas that is ~1.74 M gas, charged from sizes before any work."""
    from aivm.modules.verify.attestation import zk_check_gas

    worst = zk_check_gas(1_792 * 32 + 3_072 + 12, 64 * 1024)
    assert worst >= 4_700_000 // 2.7
    assert zk_check_gas(3_276, 1_450) < 200_000  # the test circuit: a small charge
