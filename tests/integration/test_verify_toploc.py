"""TOPLOC in the verify module (method 4).

Over ABCI (fast): a model owner registers a TOPLOC config for a generation version (token
rule) — and it is refused at submit for a version that does not generate tokens; a result
without fingerprints, with a malformed blob, or with the wrong number of 32-token chunks is
refused in the provider's tx; with fingerprints of the right shape the session runs TOPLOC (not
full re-execution) and the committee's ``toploc_valid`` decides: a majority of mismatches
rejects the result and slashes its provider.

On a devnet (slow): the byte-level LM of ``examples/offchain_lm`` trained here, a provider
node that attaches fingerprints (one prefill) and three verifier daemons that re-run only the
prefill: an honest generation is paid with TOPLOC in the trail; a provider that alters its
tokens is rejected before payment and slashed."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_compute_jobs import job, submit
from test_compute_providers import ADDRS, KEYS, OWNER, OWNER_ADDR, register_msg
from test_verify_module import ARTIFACT, collateral, commit, drawn, reveal, session, start

from aivm.ai.verify import toploc
from aivm.crypto.cid import cid_of
from aivm.modules.compute import compute_pb2
from aivm.modules.verify import verify_pb2
from aivm.types.protogen import ai_pb2
from harness import Chain

J, V = compute_pb2, verify_pb2
TOKENS_VERSION = "2.0.0"
CONFIG = V.ToplocConfig(
    context=32,
    max_exp_mismatches=2,
    max_mant_err_mean="0.03125",
    max_mant_err_median=0,
    greedy=True,
)


def tokens_version(chain: Chain) -> None:
    """Model 1 v2.0.0, a generation version (token rule), offered by providers 0 and 1."""
    msg = ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="remote-lm",
        version=TOKENS_VERSION,
        artifact_cid=cid_of(ARTIFACT),
        artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        artifact_size=len(ARTIFACT),
        format="onnx",
        execution_path="offchain",
        comparison="tokens",
    )
    result = chain.deliver(OWNER, msg)
    assert result.code == 0, result.log
    for i in range(2):
        fields = register_msg(i)
        update = J.MsgUpdateProvider(
            operator=ADDRS[i],
            hardware=fields.hardware,
            runtimes=list(fields.runtimes),
            offers=[J.Offer(model_id=1, version=TOKENS_VERSION, price_per_unit="100")],
            capacity=4,
        )
        assert chain.deliver(KEYS[i], update).code == 0


def set_config(chain: Chain, version: str) -> Any:
    msg = V.MsgSetModelVerification(owner=OWNER_ADDR, model_id=1, version=version, toploc=CONFIG)
    return chain.deliver(OWNER, msg)


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    chain = start(tmp_path / "d")
    tokens_version(chain)
    assert set_config(chain, TOKENS_VERSION).code == 0
    return chain


def generation_job(chain: Chain) -> tuple[int, int]:
    _, job_id = submit(
        chain,
        version=TOKENS_VERSION,
        criticality=J.CRITICALITY_HIGH,
        sla_class=J.SLA_CLASS_BATCH,
        deadline_blocks=80,
    )
    chain.block([])
    return job_id, ADDRS.index(job(chain, job_id).assignments[0].provider)


def tokens_result(i: int, job_id: int, ids: list[int], blob: bytes | None) -> Any:
    data = np.asarray(ids, "<u4").tobytes()
    return J.MsgSubmitResult(
        provider=ADDRS[i],
        job_id=job_id,
        output_cid=cid_of(data),
        output_digest=hashlib.sha256(data).digest(),
        comparison_data=data,
        runtime="onnxruntime",
        evidence=b"" if blob is None else V.Evidence(toploc_proofs=blob).SerializeToString(),
    )


def blob_for(tokens: int) -> bytes:
    hidden = np.random.default_rng(tokens).normal(size=(tokens, 64)).astype(np.float32)
    return toploc.proofs_to_bytes(toploc.build_proofs(hidden))


def test_a_config_on_a_version_that_does_not_generate_is_refused_at_submit(
    chain: Chain,
) -> None:
    assert set_config(chain, "1.0.0").code == 0
    from test_compute_jobs import submit_msg

    result = chain.deliver(OWNER, submit_msg(criticality=J.CRITICALITY_HIGH))
    assert (result.codespace, result.code) == ("verify", 9) and "tokens" in result.log


def test_the_chain_checks_the_fingerprints_shape(chain: Chain) -> None:
    job_id, i = generation_job(chain)
    ids = list(range(40, 80))  # 40 tokens: two chunks

    def code(msg: Any) -> tuple[str, int]:
        result = chain.deliver(KEYS[i], msg)
        assert job(chain, job_id).assignments[0].status == J.ASSIGNMENT_STATUS_RUNNING
        return result.codespace, result.code

    assert code(tokens_result(i, job_id, ids, None)) == ("verify", 16)
    assert code(tokens_result(i, job_id, ids, b"TPLC garbage"))[0] == "verify"
    assert code(tokens_result(i, job_id, ids, blob_for(20))) == ("verify", 13)  # one chunk
    assert chain.deliver(KEYS[i], tokens_result(i, job_id, ids, blob_for(40))).code == 0
    chain.block([])
    runs = {r.method: r.status for r in session(chain, job_id).methods}
    assert runs[V.METHOD_TOPLOC] == V.METHOD_STATUS_PENDING
    assert runs[V.METHOD_REEXECUTION] == V.METHOD_STATUS_SKIPPED


def test_the_committee_decides_the_fingerprints(chain: Chain) -> None:
    job_id, i = generation_job(chain)
    ids = list(range(40, 80))
    before = collateral(chain, i)
    assert chain.deliver(KEYS[i], tokens_result(i, job_id, ids, blob_for(40))).code == 0
    chain.block([])
    members = drawn(chain, job_id)
    for v in members:
        digest_of = b"prefill only"
        assert commit(chain, v, job_id, digest_of).code == 0  # toploc_valid False
    for v in members:
        assert reveal(chain, v, job_id, b"prefill only").code == 0
    rejected = job(chain, job_id)
    assert rejected.state == J.JOB_STATE_REJECTED_RESULT
    assert "TOPLOC" in rejected.reason_detail
    assert collateral(chain, i) < before


# -- on a devnet, with the real LM ------------------------------------------------------------


@pytest.mark.slow
def test_generation_is_checked_by_prefill_on_a_devnet(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from aivm.client import Client, Wallet
    from aivm.modules.compute.client import JobFailedError
    from aivm.worker import config as worker_config
    from aivm.worker import formats
    from aivm.worker.hardware import HardwareProfile
    from aivm.worker.node import ProviderNode
    from aivm.worker.verifier import VerifierNode
    from chain_drivers import devnet_chain
    from integration.test_offchain_examples import LM_DIR, load

    train, export = load(LM_DIR, "train"), load(LM_DIR, "export")
    out = tmp_path_factory.mktemp("lm")
    cfg = load(LM_DIR, "lm_model").TINY
    train.train(cfg, out, log_every=0)
    onnx_path, _ = export.export(out / "weights.npz", out)
    with devnet_chain(tmp_path_factory.mktemp("devnet"), accounts=6) as endpoint:
        wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
        provider_w, owner_w, client_w, validators = wallets[0], wallets[1], wallets[2], wallets[3:]
        stop = threading.Event()
        threads: list[threading.Thread] = []
        clients: list[Client] = []
        lines: list[str] = []
        with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
            model_id = client.modules.ai.register_model(
                owner_w, onnx_path, "tiny-lm", "1.0.0", offchain=True,
                retention_blocks=100_000, comparison="tokens",
            ).model_id  # fmt: skip
            config = V.ToplocConfig()
            config.CopyFrom(CONFIG)
            config.context = cfg.context
            result = client.modules.verify.set_model_verification(
                owner_w, model_id, "1.0.0", toploc=config
            )
            assert result.code == 0, result.log
            compute = client.modules.compute
            result = compute.register(
                provider_w, 1_000_000_000, compute.hardware(cpu_cores=2, memory_mib=4096),
                ["onnxruntime"], [compute.offer(model_id, "1.0.0", 100)], capacity=4,
            )  # fmt: skip
            assert result.code == 0, result.log
            for w in validators:
                cap = client.modules.roles.ai_capability(["onnxruntime"], ["toploc"])
                result = client.modules.roles.register(w, "ai", 2_000_000_000, cap)
                assert result.code == 0, result.log
            settings = worker_config.ProviderConfig(
                key="p0", node=endpoint.rpc_url, rest=endpoint.rest_url, keyring_backend="test",
                capacity=4, poll_seconds=0.1,
                offers=(worker_config.Offer(model_id, "1.0.0", 100),),
                hardware=HardwareProfile(2, 4096),
            )  # fmt: skip
            provider_client = Client(endpoint.rpc_url, rest=endpoint.rest_url)
            clients.append(provider_client)
            provider = ProviderNode(
                tmp_path_factory.mktemp("p"), settings, provider_w, provider_client, lines.append
            )
            threads.append(threading.Thread(target=provider.run, args=(stop,), daemon=True))
            for i, w in enumerate(validators):
                node_client = Client(endpoint.rpc_url, rest=endpoint.rest_url)
                clients.append(node_client)
                node = VerifierNode(
                    tmp_path_factory.mktemp(f"v{i}"), w, node_client, endpoint.rest_url,
                    lines.append,
                )  # fmt: skip
                threads.append(
                    threading.Thread(
                        target=node.run, args=(stop, endpoint.rpc_url, 0.1), daemon=True
                    )
                )
            for thread in threads:
                thread.start()
            try:
                data = formats.encode_generation_input("the chain ", 40)
                paid = client.modules.compute.run(
                    client_w, model_id, "1.0.0", data, 100, sla_class="batch",
                    deadline_blocks=400, criticality="high", timeout=180,
                )  # fmt: skip
                trail = client.modules.verify.trail(paid.job.id)
                from aivm.cli.verifier import recheck_job
                from aivm.client.storage import StorageClient

                checks = recheck_job(client, StorageClient(endpoint.rest_url), paid.job.id, True)
                provider.lies = True
                try:
                    with pytest.raises(JobFailedError) as failed:
                        client.modules.compute.run(
                            client_w, model_id, "1.0.0",
                            formats.encode_generation_input("verify ", 40), 100,
                            sla_class="batch", deadline_blocks=400, criticality="high",
                            timeout=180,
                        )  # fmt: skip
                finally:
                    provider.lies = False
            finally:
                stop.set()
                for thread in threads:
                    thread.join(30)
                for c in clients:
                    c.close()
                print("\n".join(lines[-80:]))  # shown when the test fails
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert any(c.name.startswith("toploc/") for c in checks)  # `aivm verify job` re-ran it
    runs = {m.method: m for m in trail.methods}
    assert runs[V.METHOD_TOPLOC].status == V.METHOD_STATUS_PASSED, lines[-20:]
    assert all(v.toploc_valid for v in runs[V.METHOD_TOPLOC].verdicts)
    assert runs[V.METHOD_REEXECUTION].status == V.METHOD_STATUS_SKIPPED
    rejected = failed.value.job
    assert rejected.state == J.JOB_STATE_REJECTED_RESULT
    assert "TOPLOC" in rejected.reason_detail
    assert any("TOPLOC check fails" in line for line in lines)
