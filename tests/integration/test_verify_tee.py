"""TEE attestation in the state machine (verify module, method 5), over ABCI with the public
dcap-qvl sample quote and collateral (tests/vectors/tee): collateral uploads (authority or an
active data validator only, parsed, no duplicates), the model owner's TEE requirement, and the
quote check when a result comes in — missing evidence, unknown collateral, a quote not bound
to the job (the sample's report data is not ours: the chain verifies signature, certificate
chain, collateral and TCB at block time and then refuses the binding), stale collateral at a
later block time, a tampered or fabricated quote — each refused with its code and nothing
recorded. A version without TEE measurements skips the method. No quote is produced here,
so the honest on-chain path (a quote bound to the job) cannot run; the unit tests run it on
the library with the sample's own report data."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_compute_jobs import HONEST, job, submit
from test_compute_providers import ADDRS, AUTHORITY, AUTHORITY_ADDR, KEYS, OWNER, OWNER_ADDR
from test_verify_module import VALIDATOR_KEYS, VALIDATORS, result_msg, session, start

from aivm.ai.verify import tee
from aivm.modules.compute import compute_pb2
from aivm.modules.roles import roles_pb2
from aivm.modules.verify import verify_pb2
from aivm.types import pb
from harness import DENOM, Chain
from unit.test_tee_verify import _load

J, V = compute_pb2, verify_pb2
SAMPLE = _load("tdx_quote", "tdx_quote_collateral.json", ("UpToDate",))
INSIDE_WINDOW = SAMPLE.now  # the middle of the sample collateral's validity (mid 2025)


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    chain = start(tmp_path / "d", genesis_time_s=INSIDE_WINDOW)
    return chain


def upload(chain: Chain, key: Any, sender: str, raw: bytes = SAMPLE.collateral) -> Any:
    return chain.deliver(key, V.MsgUpdateTeeCollateral(sender=sender, json=raw))


def require_tee(chain: Chain, measurement: bytes = SAMPLE.measurement, **changes: Any) -> Any:
    fields: dict[str, Any] = dict(
        owner=OWNER_ADDR,
        model_id=1,
        version="1.0.0",
        tee=V.TeeRequirement(required=True, allowed_measurements=[measurement]),
    )
    fields.update(changes)
    return chain.deliver(OWNER, V.MsgSetModelVerification(**fields))


def assigned_job(chain: Chain) -> tuple[int, int]:
    _, job_id = submit(
        chain, criticality=J.CRITICALITY_HIGH, sla_class=J.SLA_CLASS_BATCH, deadline_blocks=60
    )
    chain.block([])
    return job_id, ADDRS.index(job(chain, job_id).assignments[0].provider)


def with_evidence(i: int, job_id: int, quote: bytes, digest: bytes) -> compute_pb2.MsgSubmitResult:
    msg = result_msg(i, job_id, HONEST)
    msg.evidence = V.Evidence(tee_quote=quote, tee_collateral_digest=digest).SerializeToString()
    return msg


def test_collateral_upload_is_for_the_authority_or_an_active_data_validator(
    chain: Chain,
) -> None:
    refused = upload(chain, KEYS[0], ADDRS[0])
    assert (refused.codespace, refused.code) == ("verify", 17)
    result = upload(chain, AUTHORITY, AUTHORITY_ADDR)
    assert result.code == 0, result.log
    again = upload(chain, AUTHORITY, AUTHORITY_ADDR)
    assert (again.codespace, again.code) == ("verify", 17) and "already stored" in again.log
    garbage = upload(chain, AUTHORITY, AUTHORITY_ADDR, b'{"not": "collateral"}')
    assert (garbage.codespace, garbage.code) == ("verify", 31)
    data = roles_pb2.MsgRegisterRole(
        operator=VALIDATORS[3],
        role=roles_pb2.ROLE_DATA,
        bond=pb.coin.Coin(denom=DENOM, amount="1000000000"),
        capability=roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=1 << 40)),
        moniker="d",
    )
    assert chain.deliver(VALIDATOR_KEYS[3], data).code == 0
    chain.block([])
    sgx = _load("sgx_quote", "sgx_quote_collateral.json", ("ConfigurationAndSWHardeningNeeded",))
    by_data = upload(chain, VALIDATOR_KEYS[3], VALIDATORS[3], sgx.collateral)
    assert by_data.code == 0, by_data.log
    _, listed = chain.query(
        "/aivm.verify.v1.Query/TeeCollaterals",
        V.QueryTeeCollateralsRequest(),
        V.QueryTeeCollateralsResponse,
    )
    assert sorted(c.tee_type for c in listed.collaterals) == ["sgx", "tdx"]
    assert all(not c.json for c in listed.collaterals)


def test_only_the_owner_sets_a_tee_requirement_with_valid_measurements(chain: Chain) -> None:
    outsider = chain.deliver(
        KEYS[0],
        V.MsgSetModelVerification(
            owner=ADDRS[0],
            model_id=1,
            version="1.0.0",
            tee=V.TeeRequirement(required=True, allowed_measurements=[SAMPLE.measurement]),
        ),
    )
    assert (outsider.codespace, outsider.code) == ("verify", 15)
    short = require_tee(chain, measurement=b"\x01" * 20)
    assert (short.codespace, short.code) == ("verify", 14)
    assert require_tee(chain).code == 0
    _, found = chain.query(
        "/aivm.verify.v1.Query/ModelVerification",
        V.QueryModelVerificationRequest(model_id=1, version="1.0.0"),
        V.QueryModelVerificationResponse,
    )
    assert list(found.verification.tee.allowed_measurements) == [SAMPLE.measurement]


def test_results_need_a_quote_bound_to_the_job_verified_at_block_time(chain: Chain) -> None:
    assert upload(chain, AUTHORITY, AUTHORITY_ADDR).code == 0
    digest = tee.parse_collateral(SAMPLE.collateral).digest
    assert require_tee(chain).code == 0
    job_id, i = assigned_job(chain)

    def refused(msg: compute_pb2.MsgSubmitResult) -> tuple[str, int, str]:
        result = chain.deliver(KEYS[i], msg)
        assert job(chain, job_id).assignments[0].status == J.ASSIGNMENT_STATUS_RUNNING
        return result.codespace, result.code, result.log

    assert refused(result_msg(i, job_id, HONEST))[:2] == ("verify", 16)
    assert refused(with_evidence(i, job_id, SAMPLE.quote, b"\x00" * 32))[:2] == ("verify", 13)
    not_bound = refused(with_evidence(i, job_id, SAMPLE.quote, digest))
    assert not_bound[:2] == ("verify", 35), not_bound  # signature, chain, TCB fine; binding not
    tampered = bytearray(SAMPLE.quote)
    tampered[48 + 136] ^= 1  # a byte of the MRTD in the signed body
    assert refused(with_evidence(i, job_id, bytes(tampered), digest))[:2] == ("verify", 32)
    fabricated = SAMPLE.quote[:600] + hashlib.sha256(b"no").digest() * 2 + SAMPLE.quote[664:]
    assert refused(with_evidence(i, job_id, fabricated, digest))[1] in (30, 32)
    malformed = result_msg(i, job_id, HONEST)
    malformed.evidence = b"\xff\xff not protobuf"
    assert refused(malformed)[:2] == ("verify", 13)
    chain.time_s = SAMPLE.parsed.not_after + 3600  # the next block is after the window
    stale = refused(with_evidence(i, job_id, SAMPLE.quote, digest))
    assert stale[:2] == ("verify", 33), stale


def test_a_version_without_measurements_skips_tee(chain: Chain) -> None:
    job_id, i = assigned_job(chain)
    assert chain.deliver(KEYS[i], result_msg(i, job_id, HONEST)).code == 0
    chain.block([])
    runs = {r.method: r for r in session(chain, job_id).methods}
    assert runs[V.METHOD_TEE].status == V.METHOD_STATUS_SKIPPED
    assert runs[V.METHOD_REEXECUTION].status == V.METHOD_STATUS_PENDING
