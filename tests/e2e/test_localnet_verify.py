"""The verification Byzantine matrix of ``tests/integration/test_verify_devnet.py`` on a real
4-validator CometBFT localnet (``aivm.tools.localnet``): liars, lazy providers (random
output), a lying validator, a lazy validator vouching for a wrong result (one colluder, below
the k = 3 threshold) and non-revealers. The market (a tiny ONNX model, one provider node,
three AI validators running the re-execution daemon), the cases and the checks are
``tests/verify_market.py``'s; here the provider and the daemons are threads of the test
process pointed at node1's RPC and REST gateway (content store), and every job is
high-criticality (every validator drawn).

In every case a wrong result is rejected before payment and its provider slashed, an honest
result is paid with onnxruntime's output, every faulty validator is slashed and no honest
party ever is. Then every node holds the same job and verification session for every job of
the matrix, and the same header (hence app hash) at every height.

To keep the run short all cases share one localnet, and genesis shortens the rounds: commit
and reveal phases of ``PHASE_BLOCKS`` blocks (default 10 each) and a challenge window of
``WINDOW_BLOCKS`` blocks (compute's and the high-criticality rule's; defaults 10 and 20).
Every process is stopped at the end.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from google.protobuf import json_format

from aivm.client import Client
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import JobFailedError
from aivm.modules.compute.params import DEFAULT_PARAMS as COMPUTE_DEFAULTS
from aivm.modules.verify import verify_pb2
from aivm.modules.verify.params import default_params
from aivm.tools.localnet import ACCOUNT_BALANCE, Localnet, LocalnetError, free_base_port
from chain_drivers import ChainEndpoint, FundedAccount
from comet_rpc import CometRpc, poll
from verify_market import (
    ACCOUNTS,
    CASES,
    VALIDATORS,
    Case,
    Market,
    case_input,
    check_case,
    open_market,
    run_case,
)

pytestmark = pytest.mark.e2e

NODES = 4
SERVED_BY = 1
"""The node whose RPC and REST (content store) the provider, the daemons and the client use."""
PHASE_BLOCKS = 5
WINDOW_BLOCKS = 5
DEADLINE_BLOCKS = 200
JOB_TIMEOUT = 150.0
ATTEMPTS = 3


def genesis_overrides() -> dict[str, Any]:
    """Complete compute and verify params with the short phases and windows above."""
    compute = dataclasses.replace(COMPUTE_DEFAULTS, challenge_window_blocks=WINDOW_BLOCKS)
    verify = default_params()
    policy = tuple(
        dataclasses.replace(rule, challenge_window_blocks=WINDOW_BLOCKS)
        if rule.criticality == verify_pb2.CRITICALITY_HIGH
        else rule
        for rule in verify.policy
    )
    verify = dataclasses.replace(
        verify, policy=policy, commit_blocks=PHASE_BLOCKS, reveal_blocks=PHASE_BLOCKS
    )

    def as_json(message: Any) -> dict[str, Any]:
        found: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
        return found

    return {
        "compute": {"params": as_json(compute.to_proto())},
        "verify": {"params": as_json(verify.to_proto())},
    }


def logs(net: Localnet) -> str:
    """Every node's status and the tails of its logs."""
    parts = [json.dumps(net.status())]
    for i in range(net.size):
        for proc in ("app", "cometbft"):
            parts.append(f"--- node{i} {proc}:\n{net.tail(i, proc, 15)}")
    return "\n".join(parts)


def wait_started(net: Localnet) -> None:
    """Every node at height 2 or above, and node SERVED_BY's REST gateway up."""

    def heights() -> list[int]:
        return [CometRpc(net.rpc_url(i), timeout=2).height() for i in range(net.size)]

    poll("height 2 on every node", lambda: min(heights()) >= 2, 90, lambda: logs(net))
    url = f"http://127.0.0.1:{net.ports(SERVED_BY).rest}"
    poll(
        f"REST gateway of node{SERVED_BY}",
        lambda: requests.get(url + "/cosmos/base/tendermint/v1beta1/node_info", timeout=2).ok,
        60,
        lambda: logs(net),
    )


@pytest.fixture(scope="module")
def net(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    """A started 4-validator localnet with the params above; stopped afterwards, with a check
    that none of its processes is left. A free port range can be taken between the check and
    the bind (another localnet on this machine): then it starts over on another range."""
    root = tmp_path_factory.mktemp("localnet")
    for attempt in range(ATTEMPTS):
        localnet = Localnet.init(
            root / f"attempt{attempt}",
            NODES,
            cometbft_bin,
            base_port=free_base_port(NODES),
            accounts=ACCOUNTS,
            genesis_overrides=genesis_overrides(),
        )
        try:
            try:
                localnet.start()
                wait_started(localnet)
            except (LocalnetError, AssertionError):
                if attempt + 1 < ATTEMPTS:
                    continue
                raise
            yield localnet
            return
        finally:
            localnet.stop(timeout=10)
            left = [
                (i, p)
                for i in range(localnet.size)
                for p in ("app", "cometbft")
                if localnet.running(i, p)
            ]
            assert not left, f"still running after stop: {left}"


@pytest.fixture(scope="module")
def market(net: Localnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """The market of ``verify_market.py`` on node SERVED_BY."""
    endpoint = ChainEndpoint(
        driver="cometbft",
        rpc_url=net.rpc_url(SERVED_BY),
        rest_url=f"http://127.0.0.1:{net.ports(SERVED_BY).rest}",
        chain_id=net.chain_id,
        home=net.home,
        accounts=tuple(
            FundedAccount(a["name"], a["address"], a["mnemonic"]) for a in net.accounts()
        ),
        initial_balance=ACCOUNT_BALANCE,
        tx_timeout=30.0,
    )
    with open_market(endpoint, tmp_path_factory, poll_seconds=0.2) as found:
        yield found


@pytest.fixture(scope="module")
def jobs() -> dict[str, int]:
    """The job id of each case run so far (by case name)."""
    return {}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_byzantine_matrix(market: Market, jobs: dict[str, int], case: Case) -> None:
    x = case_input(case)
    started = time.monotonic()
    outcome, before, after = run_case(
        market, case, x, deadline_blocks=DEADLINE_BLOCKS, timeout=JOB_TIMEOUT
    )
    job = outcome.job
    jobs[case.name] = job.id
    with market.client() as client:
        session = client.modules.verify.session(job.id)
    delays = [v.committed_height - session.draw_height for v in session.verdicts if v.commitment]
    print(f"{case.name}: job {job.id} {compute_pb2.JobState.Name(job.state)} "
          f"in {time.monotonic() - started:.1f} s, commits {delays} blocks after the draw "
          f"(phase {PHASE_BLOCKS})")  # fmt: skip
    check_case(market, case, x, outcome, before, after)
    passed = verify_pb2.SESSION_STATUS_PASSED
    failed = verify_pb2.SESSION_STATUS_FAILED
    assert session.status == (failed if case.wrong_result else passed), session
    drawn = {v.validator for v in session.verdicts}
    assert drawn == {market.wallets[v].address for v in VALIDATORS}, "not every validator drawn"


def _state_of(client: Client, job_id: int) -> tuple[bytes, bytes]:
    """A finished job and its verification session, serialized deterministically."""
    job = client.modules.compute.job(job_id)
    session = client.modules.verify.session(job_id)
    return job.SerializeToString(deterministic=True), session.SerializeToString(deterministic=True)


def test_every_node_agrees(net: Localnet, market: Market, jobs: dict[str, int]) -> None:
    """Every node holds the same finished jobs and sessions (an honest job run here when the
    matrix did not run first), the same headers at every height, and app hashes that match."""
    if not jobs:
        outcome, _, _ = run_case(
            market, CASES[0], case_input(CASES[0]), DEADLINE_BLOCKS, JOB_TIMEOUT
        )
        assert not isinstance(outcome, JobFailedError), outcome
        jobs[CASES[0].name] = outcome.job.id
    rpcs = [CometRpc(net.rpc_url(i), timeout=5) for i in range(net.size)]
    top = rpcs[SERVED_BY].height()
    poll("every node at the top", lambda: all(r.height() >= top + 1 for r in rpcs), 60, lambda: "")
    for name, job_id in jobs.items():
        states = []
        for i in range(net.size):
            with Client(net.rpc_url(i)) as client:
                states.append(_state_of(client, job_id))
        assert len(set(states)) == 1, f"{name}: the nodes disagree on job {job_id}"
    for h in range(1, top + 1):
        headers = {json.dumps(r.header(h), sort_keys=True) for r in rpcs}
        assert len(headers) == 1, f"the nodes disagree on the header at height {h}"
    apps = [r.app_info() for r in rpcs]
    last = max(h for h, _ in apps)
    poll(f"height {last + 1}", lambda: rpcs[0].height() > last, 30, lambda: "")
    for i, (app_height, app_hash) in enumerate(apps):
        assert rpcs[0].header(app_height + 1)["app_hash"] == app_hash.hex().upper(), i
    print(f"{len(jobs)} jobs, {top} blocks, same state on {net.size} nodes")
