"""compute × roles over ABCI (issue 15, compute validators): EndBlock opens timed hardware
challenges for providers with a committee drawn from the compute role's active set; the
provider answers by the deadline, the committee commits and reveals the workload digest; the
majority is the truth; false or missing verdicts are slashed; the outcome sets
``hardware_attested``, moves reputation and, after repeated failures, demotes the provider's
offers to the entry tier."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from aivm.ai.verify.hardware import workload_digest
from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.compute import hardware_checks as hw
from aivm.modules.compute.invariants import invariants
from aivm.modules.compute.module import ComputeModule
from aivm.modules.compute.params import DEFAULT_PARAMS
from aivm.modules.framework import BlockHeader, Context, ExecMode
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.params import DEFAULT_PARAMS as ROLES_DEFAULTS
from aivm.store import CacheStore, CommitStore, GasMeter, PrefixStore
from aivm.types import pb
from aivm.types.address import acc_address, acc_address_bytes
from aivm.types.protogen import storage_pb2
from harness import DENOM, Chain, genesis_doc, make_key

VALS = [make_key(400 + i) for i in range(4)]
VAL_ADDRS = [acc_address(k.pubkey.address()) for k in VALS]
PROVS = [make_key(410 + i) for i in range(3)]
PROV_ADDRS = [acc_address(k.pubkey.address()) for k in PROVS]
OWNER = make_key(420)
OWNER_ADDR = acc_address(OWNER.pubkey.address())
Q = "/aivm.compute.v1.Query/"
RQ = "/aivm.roles.v1.Query/"
COMPUTE = roles_pb2.ROLE_COMPUTE
INTERVAL = 10
RESPONSE = 3
COMMIT = 4
REVEAL = 3
BOND = 100_000
ARTIFACT = b"an off-chain model for hardware-check tests"
ENTRY, STANDARD, HIGH = (
    compute_pb2.TIER_ENTRY,
    compute_pb2.TIER_STANDARD,
    compute_pb2.TIER_HIGH_PERFORMANCE,
)


def compute_params(**changes: Any) -> dict[str, Any]:
    base = json_format.MessageToDict(DEFAULT_PARAMS.to_proto(), preserving_proto_field_name=True)
    base.update(
        min_collateral="1000",
        hardware_check_interval_blocks=str(INTERVAL),
        max_hardware_checks_per_block=5,
        hardware_response_blocks=[str(RESPONSE)] * 3,
        hardware_workload_sizes=[16, 32, 48],
        hardware_workload_rounds=[2, 3, 3],
        hardware_validators=3,
        hardware_commit_blocks=str(COMMIT),
        hardware_reveal_blocks=str(REVEAL),
        false_verdict_slash_fraction="0.1",
        hardware_max_failures=2,
    )
    base.update(changes)
    return base


def roles_params() -> dict[str, Any]:
    base = json_format.MessageToDict(ROLES_DEFAULTS.to_proto(), preserving_proto_field_name=True)
    base.update(
        min_bond_compute="1000",
        unbonding_time_ns=str(30 * 10**9),
        reward_share_ai="0",
        reward_share_compute="0",
        reward_share_data="0",
    )
    return base


def start(path: Path, providers: int = 1, differential: bool = False, **changes: Any) -> Chain:
    """Four compute-role operators; ``providers`` providers (HIGH, STANDARD, ENTRY tiers)
    registered at height 2 with an offer of the off-chain model 1 version 1.0.0."""
    funded = {k.pubkey.address(): 10**12 for k in [*VALS, *PROVS, OWNER]}
    doc = genesis_doc(funded, with_accounts=True)
    doc.app_state["roles"] = {"params": roles_params()}
    doc.app_state["compute"] = {"params": compute_params(**changes)}
    chain = Chain.start(path, funded, genesis=doc, differential=differential)
    chain.block([])
    store = storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR, cid=cid_of(ARTIFACT), retention_blocks=1000, root_block=ARTIFACT
    )
    txs = [chain.msgs_tx(OWNER, [store, model_msg()])]
    txs += [chain.msgs_tx(VALS[i], [role_msg(i)]) for i in range(len(VALS))]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    txs = [chain.msgs_tx(PROVS[i], [provider_msg(i)]) for i in range(providers)]
    result = chain.block(txs)
    assert all(r.code == 0 for r in result.tx_results), result.tx_results
    return chain


def model_msg() -> Any:
    from aivm.types.protogen import ai_pb2

    return ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="remote",
        version="1.0.0",
        artifact_cid=cid_of(ARTIFACT),
        artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        artifact_size=len(ARTIFACT),
        format="onnx",
        execution_path="offchain",
    )


def role_msg(i: int) -> roles_pb2.MsgRegisterRole:
    capability = roles_pb2.ComputeCapability(
        hardware_class=roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP, accelerators=1, memory_gib=80
    )
    return roles_pb2.MsgRegisterRole(
        operator=VAL_ADDRS[i],
        role=COMPUTE,
        bond=pb.coin.Coin(denom=DENOM, amount=str(BOND)),
        capability=roles_pb2.Capability(compute=capability),
        moniker=f"cv{i}",
    )


GPU_GIB = (80, 24, 0)


def provider_msg(i: int) -> compute_pb2.MsgRegisterProvider:
    gib = GPU_GIB[i]
    hardware = (
        compute_pb2.Hardware(
            gpu_model="GPU-X",
            gpu_count=1,
            gpu_memory_mib=gib * 1024,
            cpu_cores=8,
            memory_mib=1 << 16,
        )
        if gib
        else compute_pb2.Hardware(cpu_cores=8, memory_mib=1 << 16)
    )
    return compute_pb2.MsgRegisterProvider(
        operator=PROV_ADDRS[i],
        collateral=pb.coin.Coin(denom=DENOM, amount="5000"),
        hardware=hardware,
        runtimes=["onnxruntime"],
        offers=[compute_pb2.Offer(model_id=1, version="1.0.0", price_per_unit="100")],
        capacity=2,
        moniker=f"p{i}",
    )


# -- helpers ----------------------------------------------------------------------------------


def run_to(chain: Chain, height: int) -> None:
    while chain.height < height:
        chain.block([])


def next_schedule(chain: Chain) -> int:
    """Run to the next scheduling height; return it."""
    target = (chain.height // INTERVAL + 1) * INTERVAL
    run_to(chain, target)
    return target


def challenges(chain: Chain, **filters: Any) -> list[compute_pb2.HardwareChallenge]:
    result, value = chain.query(
        Q + "HardwareChallenges",
        compute_pb2.QueryHardwareChallengesRequest(**filters),
        compute_pb2.QueryHardwareChallengesResponse,
    )
    assert result.code == 0, result.log
    return list(value.challenges)


def challenge(chain: Chain, challenge_id: int) -> compute_pb2.HardwareChallenge:
    result, value = chain.query(
        Q + "HardwareChallenge",
        compute_pb2.QueryHardwareChallengeRequest(challenge_id=challenge_id),
        compute_pb2.QueryHardwareChallengeResponse,
    )
    assert result.code == 0, result.log
    return value.challenge


def provider(chain: Chain, address: str) -> compute_pb2.Provider:
    result, value = chain.query(
        Q + "Provider",
        compute_pb2.QueryProviderRequest(operator=address),
        compute_pb2.QueryProviderResponse,
    )
    assert result.code == 0, result.log
    return value.provider


def operator(chain: Chain, address: str) -> roles_pb2.RoleOperator:
    result, value = chain.query(
        RQ + "Operator",
        roles_pb2.QueryOperatorRequest(operator=address, role=COMPUTE),
        roles_pb2.QueryOperatorResponse,
    )
    assert result.code == 0, result.log
    return value.operator


def slash_reasons(chain: Chain) -> dict[str, list[int]]:
    result, value = chain.query(
        RQ + "SlashRecords",
        roles_pb2.QuerySlashRecordsRequest(),
        roles_pb2.QuerySlashRecordsResponse,
    )
    assert result.code == 0, result.log
    found: dict[str, list[int]] = {}
    for record in value.records:
        found.setdefault(record.operator, []).append(record.reason_code)
    return found


def asks_tiers(chain: Chain) -> dict[str, int]:
    result, value = chain.query(
        Q + "Asks",
        compute_pb2.QueryAsksRequest(model_id=1, version="1.0.0"),
        compute_pb2.QueryAsksResponse,
    )
    assert result.code == 0, result.log
    return {a.operator: a.tier for a in value.asks}


def key_of(address: str) -> Any:
    return {a: k for a, k in zip([*VAL_ADDRS, *PROV_ADDRS], [*VALS, *PROVS], strict=True)}[address]


def true_digest(record: compute_pb2.HardwareChallenge) -> bytes:
    return workload_digest(record.seed, record.size, record.rounds)


def answer_msg(record: compute_pb2.HardwareChallenge, digest: bytes) -> pb.Message:
    return compute_pb2.MsgAnswerHardwareChallenge(
        provider=record.provider,
        challenge_id=record.id,
        answer_hash=hw.hardware_answer_hash(record.id, acc_address_bytes(record.provider), digest),
    )


def salt_of(validator: str) -> bytes:
    return hashlib.sha256(validator.encode()).digest()[:16]


def commit_msg(record: compute_pb2.HardwareChallenge, validator: str, digest: bytes) -> pb.Message:
    address = acc_address_bytes(validator)
    return compute_pb2.MsgCommitHardwareVerdict(
        validator=validator,
        challenge_id=record.id,
        commitment=hw.hardware_verdict_commitment(record.id, address, digest, salt_of(validator)),
    )


def reveal_msg(record: compute_pb2.HardwareChallenge, validator: str, digest: bytes) -> pb.Message:
    return compute_pb2.MsgRevealHardwareVerdict(
        validator=validator, challenge_id=record.id, digest=digest, salt=salt_of(validator)
    )


def committee(record: compute_pb2.HardwareChallenge) -> list[str]:
    return [v.validator for v in record.verdicts]


def run_check(
    chain: Chain,
    record: compute_pb2.HardwareChallenge,
    answer: bytes | None,
    verdicts: dict[str, bytes | None] | None = None,
) -> compute_pb2.HardwareChallenge:
    """Drive one challenge to its tally: the provider answers ``answer`` (None: never) in the
    first block; each member commits and reveals its digest (default: the true one; None:
    silent). Returns the tallied record."""
    truth = true_digest(record)
    verdicts = verdicts if verdicts is not None else {}
    digests = {m: verdicts.get(m, truth) for m in committee(record)}
    txs = (
        [chain.msgs_tx(PROVS[PROV_ADDRS.index(record.provider)], [answer_msg(record, answer)])]
        if answer
        else []
    )
    txs += [chain.msgs_tx(key_of(m), [commit_msg(record, m, d)]) for m, d in digests.items() if d]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    run_to(chain, record.commit_deadline_height)
    txs = [chain.msgs_tx(key_of(m), [reveal_msg(record, m, d)]) for m, d in digests.items() if d]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    run_to(chain, record.reveal_deadline_height)
    tallied = challenge(chain, record.id)
    assert tallied.status != compute_pb2.HARDWARE_CHECK_STATUS_OPEN
    return tallied


def module_of(chain: Chain) -> ComputeModule:
    found = chain.app.manager.by_name["compute"]
    assert isinstance(found, ComputeModule)
    return found


def branch_ctx(chain: Chain) -> Context:
    header = BlockHeader(
        chain.height + 1, (chain.time_s + 1) * 10**9, "aivm-test-1", seed=b"s" * 32
    )
    return Context(CacheStore(chain.app.store.working), GasMeter(None), header, ExecMode.FINALIZE)


def invariant_problems(chain: Chain) -> list[str]:
    ctx = branch_ctx(chain)
    return [p for check in invariants(module_of(chain)).values() for p in check(ctx)]


# -- tests ------------------------------------------------------------------------------------


def test_a_challenge_opens_on_schedule_with_a_stake_drawn_committee(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", providers=3)
    assert challenges(chain) == []
    height = next_schedule(chain)
    found = challenges(chain)
    assert sorted(c.provider for c in found) == sorted(PROV_ADDRS)
    by_provider = {c.provider: c for c in found}
    sizes = {
        PROV_ADDRS[0]: (HIGH, 48, 3),
        PROV_ADDRS[1]: (STANDARD, 32, 3),
        PROV_ADDRS[2]: (ENTRY, 16, 2),
    }
    for address, (tier, size, rounds) in sizes.items():
        record = by_provider[address]
        assert (record.tier, record.size, record.rounds) == (tier, size, rounds)
        assert record.opened_height == height and record.deadline_height == height + RESPONSE
        assert record.commit_deadline_height == height + COMMIT
        assert record.reveal_deadline_height == height + COMMIT + REVEAL
        members = committee(record)
        assert len(members) == 3 == len(set(members)) and set(members) <= set(VAL_ADDRS)
        assert len(record.seed) == 32
    assert len({c.seed for c in found}) == 3  # one seed per provider
    duties = challenges(chain, validator=committee(found[0])[0])
    assert found[0].id in {c.id for c in duties}
    assert invariant_problems(chain) == []


def test_an_honest_provider_with_honest_validators_is_attested(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", differential=True)  # shadow replicas agree
    next_schedule(chain)
    (record,) = challenges(chain)
    before = provider(chain, PROV_ADDRS[0])
    assert not before.hardware_attested
    bonds = {v: operator(chain, v).bond for v in VAL_ADDRS}
    tallied = run_check(chain, record, true_digest(record))
    assert tallied.status == compute_pb2.HARDWARE_CHECK_STATUS_PASSED
    assert tallied.truth_digest == true_digest(record)
    # every member revealed: tallied in the block of the last reveal, before the deadline
    assert tallied.tallied_height == record.commit_deadline_height + 1
    after = provider(chain, PROV_ADDRS[0])
    assert after.hardware_attested and after.hardware_attested_height == record.opened_height
    assert float(after.reputation) > float(before.reputation)
    assert slash_reasons(chain) == {}
    assert {v: operator(chain, v).bond for v in VAL_ADDRS} == bonds
    assert invariant_problems(chain) == []


def test_a_late_answer_is_refused_and_repeated_failures_demote_the_tier(tmp_path: Path) -> None:
    """A HIGH-tier claim whose (test-sized) workload the provider cannot answer in time:
    the late answer is refused, the check fails, reputation drops, and after
    ``hardware_max_failures`` (2) failures its offers are matched as ENTRY; a pass restores."""
    chain = start(tmp_path / "data", hardware_commit_blocks="6")
    assert asks_tiers(chain) == {PROV_ADDRS[0]: HIGH}
    reputations = [float(provider(chain, PROV_ADDRS[0]).reputation)]
    for failures in (1, 2):
        next_schedule(chain)
        (record,) = challenges(chain, status=compute_pb2.HARDWARE_CHECK_STATUS_OPEN)
        run_to(chain, record.deadline_height)
        late = chain.deliver(PROVS[0], answer_msg(record, true_digest(record)))
        assert (late.codespace, late.code) == ("compute", 84), late.log
        tallied = run_check(chain, record, None)
        assert tallied.status == compute_pb2.HARDWARE_CHECK_STATUS_FAILED
        record_now = provider(chain, PROV_ADDRS[0])
        assert not record_now.hardware_attested and record_now.hardware_failures == failures
        reputations.append(float(record_now.reputation))
        assert record_now.hardware_demoted == (failures == 2)
    assert reputations == sorted(reputations, reverse=True) and len(set(reputations)) == 3
    assert asks_tiers(chain) == {PROV_ADDRS[0]: ENTRY}
    assert provider(chain, PROV_ADDRS[0]).tier == HIGH  # declared tier unchanged
    assert invariant_problems(chain) == []
    next_schedule(chain)
    (record,) = challenges(chain, status=compute_pb2.HARDWARE_CHECK_STATUS_OPEN)
    assert record.tier == HIGH and record.size == 48  # still checked at the claimed tier
    assert (
        run_check(chain, record, true_digest(record)).status
        == compute_pb2.HARDWARE_CHECK_STATUS_PASSED
    )
    restored = provider(chain, PROV_ADDRS[0])
    assert not restored.hardware_demoted and restored.hardware_failures == 0
    assert asks_tiers(chain) == {PROV_ADDRS[0]: HIGH}
    assert invariant_problems(chain) == []


def test_a_wrong_digest_fails_the_check(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    next_schedule(chain)
    (record,) = challenges(chain)
    wrong = workload_digest(record.seed, record.size, record.rounds + 1)
    tallied = run_check(chain, record, wrong)
    assert tallied.status == compute_pb2.HARDWARE_CHECK_STATUS_FAILED
    assert tallied.answered_height > 0
    assert provider(chain, PROV_ADDRS[0]).hardware_failures == 1
    assert slash_reasons(chain) == {}  # the committee was honest


def test_false_and_silent_validators_are_slashed_honest_ones_are_not(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    next_schedule(chain)
    (record,) = challenges(chain)
    liar, silent, _ = committee(record)
    bonds = {v: int(operator(chain, v).bond) for v in committee(record)}
    lie = hashlib.sha256(b"not computed").digest()
    tallied = run_check(chain, record, true_digest(record), {liar: lie, silent: None})
    # honest majority? 1 of 3 agree with the truth: no strict majority of the committee
    assert tallied.status == compute_pb2.HARDWARE_CHECK_STATUS_INCONCLUSIVE
    assert slash_reasons(chain) == {silent: [hw.REASON_VERDICT_NOT_REVEALED]}
    assert int(operator(chain, silent).bond) == bonds[silent] - bonds[silent] // 10
    assert int(operator(chain, liar).bond) == bonds[liar]  # nobody can tell who lied
    assert provider(chain, PROV_ADDRS[0]).hardware_failures == 0  # inconclusive: no effect
    # next round: two honest members outvote the liar
    next_schedule(chain)
    (record,) = challenges(chain, status=compute_pb2.HARDWARE_CHECK_STATUS_OPEN)
    liar = committee(record)[0]
    bonds = {v: int(operator(chain, v).bond) for v in VAL_ADDRS}
    tallied = run_check(chain, record, true_digest(record), {liar: lie})
    assert tallied.status == compute_pb2.HARDWARE_CHECK_STATUS_PASSED
    reasons = slash_reasons(chain)
    assert reasons[liar] == [hw.REASON_FALSE_VERDICT]
    assert int(operator(chain, liar).bond) == bonds[liar] - bonds[liar] // 10
    for member in committee(record)[1:]:
        assert int(operator(chain, member).bond) == bonds[member]
    assert provider(chain, PROV_ADDRS[0]).hardware_attested
    assert invariant_problems(chain) == []


def test_messages_from_the_wrong_party_or_phase_are_refused(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", hardware_commit_blocks="9")
    next_schedule(chain)
    (record,) = challenges(chain)
    truth = true_digest(record)
    outsider = next(v for v in VAL_ADDRS if v not in committee(record))
    member = committee(record)[0]
    stranger_answer = compute_pb2.MsgAnswerHardwareChallenge(
        provider=PROV_ADDRS[1], challenge_id=record.id, answer_hash=b"\x00" * 32
    )
    cases = [
        (VALS[VAL_ADDRS.index(outsider)], commit_msg(record, outsider, truth), 83),
        (PROVS[1], stranger_answer, 82),
        (key_of(member), reveal_msg(record, member, truth), 84),  # commit phase
        (
            key_of(member),
            compute_pb2.MsgCommitHardwareVerdict(
                validator=member, challenge_id=99, commitment=b"\x01" * 32
            ),
            80,
        ),
        (
            key_of(member),
            compute_pb2.MsgCommitHardwareVerdict(
                validator=member, challenge_id=record.id, commitment=b"short"
            ),
            81,
        ),
    ]
    for key, msg, code in cases:
        result = chain.deliver(key, msg)
        assert (result.codespace, result.code) == ("compute", code), (code, result.log)
    assert chain.deliver(key_of(member), commit_msg(record, member, truth)).code == 0
    again = chain.deliver(key_of(member), commit_msg(record, member, truth))
    assert again.code == 85
    run_to(chain, record.commit_deadline_height)
    wrong_salt = compute_pb2.MsgRevealHardwareVerdict(
        validator=member, challenge_id=record.id, digest=truth, salt=b"other"
    )
    assert chain.deliver(key_of(member), wrong_salt).code == 86
    assert chain.deliver(key_of(member), reveal_msg(record, member, truth)).code == 0


def test_scheduling_work_per_block_is_bounded_and_the_cursor_walks_on(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", providers=3, max_hardware_checks_per_block=1)
    next_schedule(chain)
    first = challenges(chain)
    assert len(first) == 1
    next_schedule(chain)
    second = challenges(chain)
    assert len(second) == 2 and second[1].provider != first[0].provider
    next_schedule(chain)
    assert {c.provider for c in challenges(chain)} == set(PROV_ADDRS)


def test_genesis_round_trip_keeps_open_challenges(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", providers=2)
    next_schedule(chain)
    records = challenges(chain)
    run_check(chain, records[0], true_digest(records[0]))  # the other one's members are silent
    next_schedule(chain)
    doc = GenesisDoc.from_json(json.loads(json.dumps(chain.app.export_genesis().to_json())))
    state = doc.app_state["compute"]
    assert len(state["hardware_challenges"]) >= 3 and state["hardware_cursor"]
    fresh = Chain(app=AivmApp(CommitStore.open(tmp_path / "reimport")), path=tmp_path)
    assert fresh.app.init_chain(doc.init_chain_request()).app_hash == chain.app.store.last_hash


def test_the_invariants_catch_a_broken_index(tmp_path: Path) -> None:
    chain = start(tmp_path / "data")
    next_schedule(chain)
    (record,) = challenges(chain)
    module = module_of(chain)
    ctx = branch_ctx(chain)
    assert hw.check_hardware_indexes(ctx, module.hardware) == []
    store = PrefixStore(ctx.store, b"compute/")
    member = acc_address_bytes(committee(record)[0])
    store.delete(hw.party_key(hw.DUTIES, member, record.id))
    assert hw.check_hardware_indexes(ctx, module.hardware)


def test_interval_zero_turns_the_checks_off(tmp_path: Path) -> None:
    chain = start(tmp_path / "data", hardware_check_interval_blocks="0")
    run_to(chain, 2 * INTERVAL)
    assert challenges(chain) == []


@pytest.mark.parametrize(
    "change",
    [
        {"hardware_workload_sizes": ["16", "32"]},
        {"hardware_validators": 99},
        {"false_verdict_slash_fraction": "1.5"},
        {"hardware_workload_sizes": ["16", "32", "99999"]},
    ],
)
def test_hardware_params_out_of_range_are_refused(change: dict[str, Any]) -> None:
    from aivm.modules.compute.params import params_from_proto
    from aivm.types.errors import AivmError

    proto = compute_pb2.Params()
    json_format.ParseDict(compute_params(**change), proto)
    with pytest.raises(AivmError) as caught:
        params_from_proto(proto)
    assert (caught.value.codespace, caught.value.code) == ("compute", 18)


class _Status:
    def __init__(self, height: int) -> None:
        self.latest_block_height = height


class _ChainClient:
    """Just enough of a blocking Client for the worker helpers: status() and the compute
    SDK, backed by the in-process chain (each SDK tx is one block)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.modules = self

    @property
    def compute(self) -> _ChainClient:
        return self

    def status(self) -> _Status:
        return _Status(self.chain.height)

    def hardware_challenges(
        self, provider: str = "", validator: str = "", status: int = 0
    ) -> list[compute_pb2.HardwareChallenge]:
        return challenges(self.chain, provider=provider, validator=validator, status=status)

    def _send(self, wallet: Any, msg: pb.Message) -> None:
        result = self.chain.deliver(wallet.private_key, msg)
        assert result.code == 0, result.log

    def answer_hardware_challenge(self, wallet: Any, cid: int, digest: bytes) -> None:
        hash_ = hw.hardware_answer_hash(cid, wallet.address_bytes, digest)
        msg = compute_pb2.MsgAnswerHardwareChallenge(
            provider=wallet.address, challenge_id=cid, answer_hash=hash_
        )
        self._send(wallet, msg)

    def commit_hardware_verdict(self, wallet: Any, cid: int, digest: bytes, salt: bytes) -> None:
        commitment = hw.hardware_verdict_commitment(cid, wallet.address_bytes, digest, salt)
        msg = compute_pb2.MsgCommitHardwareVerdict(
            validator=wallet.address, challenge_id=cid, commitment=commitment
        )
        self._send(wallet, msg)

    def reveal_hardware_verdict(self, wallet: Any, cid: int, digest: bytes, salt: bytes) -> None:
        msg = compute_pb2.MsgRevealHardwareVerdict(
            validator=wallet.address, challenge_id=cid, digest=digest, salt=salt
        )
        self._send(wallet, msg)


def test_the_worker_helpers_answer_commit_and_reveal_in_the_right_phases(tmp_path: Path) -> None:
    from aivm.client.wallet import Wallet
    from aivm.worker.hardware_checks import answer_hardware_challenges, verify_hardware_challenges

    chain = start(tmp_path / "data", hardware_commit_blocks="6")
    client: Any = _ChainClient(chain)
    next_schedule(chain)
    (record,) = challenges(chain)
    wallets = {a: Wallet(key_of(a)) for a in committee(record)}
    prov = Wallet(PROVS[0])
    assert answer_hardware_challenges(client, prov) == [record.id]
    assert answer_hardware_challenges(client, prov) == []  # answered already
    for wallet in wallets.values():
        report = verify_hardware_challenges(client, wallet)
        assert report.committed == [record.id] and report.revealed == []
        assert verify_hardware_challenges(client, wallet).committed == []  # committed already
    run_to(chain, record.commit_deadline_height)
    for wallet in wallets.values():
        assert verify_hardware_challenges(client, wallet).revealed == [record.id]
    run_to(chain, record.reveal_deadline_height)
    assert challenge(chain, record.id).status == compute_pb2.HARDWARE_CHECK_STATUS_PASSED
    assert provider(chain, PROV_ADDRS[0]).hardware_attested


@dataclasses.dataclass
class _FlowEnv:
    rng: random.Random
    ctx: Context
    height: int
    accounts: list[bytes]

    def scratch(self, module: str) -> dict[str, Any]:
        return {}


def test_random_whole_flows_on_a_branch_match_an_independent_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_hardware_flow (the simulation's whole-challenge check): random answers and
    verdicts; the tally's status equals an independent majority count and the invariants
    hold; every outcome occurs; nothing reaches the chain."""
    chain = start(tmp_path / "data", providers=3)
    checks = module_of(chain).hardware
    seen: list[int] = []
    original = hw._flow_problems

    def spy(checks_: Any, ctx: Context, cid: int, plan: Any, answer: bytes) -> list[str]:
        seen.append(checks_.require_challenge(ctx, cid).status)
        return original(checks_, ctx, cid, plan, answer)

    monkeypatch.setattr(hw, "_flow_problems", spy)
    accounts = [acc_address_bytes(a) for a in [*VAL_ADDRS, *PROV_ADDRS]]
    for seed in range(30):
        env = _FlowEnv(random.Random(seed), branch_ctx(chain), chain.height + 1, accounts)
        assert hw.check_hardware_flow(checks, env) == []
    assert set(seen) == {
        compute_pb2.HARDWARE_CHECK_STATUS_PASSED,
        compute_pb2.HARDWARE_CHECK_STATUS_FAILED,
        compute_pb2.HARDWARE_CHECK_STATUS_INCONCLUSIVE,
    }
    assert challenges(chain) == []
