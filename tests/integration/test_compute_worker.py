"""The provider node (``aivm.worker``) and the client side of compute jobs on an in-process
devnet (100 ms blocks, REST gateway, content store): the digits CNN of
``examples/offchain_vision`` is trained here, registered as an off-chain model (tolerance
comparison) and served by a provider node; ``client.modules.compute.run`` returns exactly
what onnxruntime computes on the same input (inline, and through the content store for a
large input); jobs matched in one block run as one batch; the tiny LM of
``examples/offchain_lm`` (tokens rule) generates through the market what ``generate.py``
generates; an input nobody stores is reported unservable; ``aivm compute run``, ``aivm tx
compute <job command>``, ``aivm query compute <job query>`` and ``aivm provider status`` work;
a provider process killed with SIGKILL right after broadcasting a result (and another
killed after computing, before sending) is restarted without sending any result twice; and
on a second devnet three provider nodes, one a liar, serve a redundancy-3 job: the liar is
outvoted, unpaid and slashed."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import requests

from aivm.client import ChainError, Client, Wallet
from aivm.client.keyring import Keyring
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.client import ComputeClient, JobFailedError
from aivm.types import pb
from aivm.worker import config as worker_config
from aivm.worker import formats
from aivm.worker.hardware import HardwareProfile
from aivm.worker.node import ProviderNode
from chain_drivers import ChainEndpoint, devnet_chain

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VISION_DIR = ROOT / "examples" / "offchain_vision"
PRICE = 100
COLLATERAL = 100_000_000
PROVIDER, OWNER, CLIENT, SECOND = 0, 1, 2, 3
MISSING_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
"""A well-formed CID nothing stores."""


def load(directory: Path, name: str) -> ModuleType:
    """Import ``directory/name.py`` (as ``tests/integration/test_offchain_examples.py``)."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    alias = f"{directory.name}_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


class Market:
    """The devnet, the registered vision model and helpers."""

    def __init__(self, endpoint: ChainEndpoint, onnx_path: Path, model_id: int) -> None:
        self.endpoint = endpoint
        self.onnx_path = onnx_path
        self.model_id = model_id
        self.wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.digits = load(VISION_DIR, "cnn_model").digits_split()[1]

    def client(self) -> Client:
        return Client(self.endpoint.rpc_url, rest=self.endpoint.rest_url)

    def logits(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(["logits"], {"pixels": x.astype(np.float32)})[0]
        return out

    def config(self, key: str, capacity: int = 8) -> worker_config.ProviderConfig:
        return worker_config.ProviderConfig(
            key=key,
            node=self.endpoint.rpc_url,
            rest=self.endpoint.rest_url,
            keyring_backend="test",
            capacity=capacity,
            poll_seconds=0.1,
            offers=(worker_config.Offer(self.model_id, "1.0.0", PRICE),),
            hardware=HardwareProfile(2, 4096),
        )


def register_provider(client: Client, wallet: Wallet, model_id: int, capacity: int = 8) -> None:
    compute = ComputeClient(client)
    result = compute.register(
        wallet,
        COLLATERAL,
        compute.hardware(cpu_cores=2, memory_mib=4096),
        ["onnxruntime"],
        [compute.offer(model_id, "1.0.0", PRICE)],
        capacity=capacity,
        moniker="worker-test",
    )
    assert result.code == 0, result.log


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    train, export = load(VISION_DIR, "train"), load(VISION_DIR, "export")
    out = tmp_path_factory.mktemp("vision")
    train.train(load(VISION_DIR, "cnn_model").CNNConfig(), out, verbose=False)
    onnx_path, _ = export.export(out / "weights.npz", out)
    with devnet_chain(tmp_path_factory.mktemp("devnet")) as endpoint:
        owner = Wallet.from_mnemonic(endpoint.accounts[OWNER].mnemonic)
        with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
            registered = client.modules.ai.register_model(
                owner,
                onnx_path,
                "digits-cnn",
                "1.0.0",
                offchain=True,
                retention_blocks=100_000,
                comparison="tolerance",
            )
        yield Market(endpoint, onnx_path, registered.model_id)


@pytest.fixture(scope="module")
def provider(market: Market, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Account 0 registered as a provider and served by a node in a thread; yields its log."""
    home = tmp_path_factory.mktemp("provider")
    lines: list[str] = []
    stop = threading.Event()
    with market.client() as client:
        register_provider(client, market.wallets[PROVIDER], market.model_id)
        node = ProviderNode(
            home, market.config("p0"), market.wallets[PROVIDER], client, lines.append
        )
        thread = threading.Thread(target=node.run, args=(stop,), daemon=True)
        thread.start()
        yield lines
        stop.set()
        thread.join(30)


def test_run_returns_what_onnxruntime_computes(market: Market, provider: list[str]) -> None:
    x = market.digits[:3]
    stages: list[str] = []
    with market.client() as client:
        found = client.modules.compute.run(
            market.wallets[CLIENT],
            market.model_id,
            "1.0.0",
            formats.encode_tensor_input(x),
            max_price_per_unit=PRICE,
            sla_class="batch",
            deadline_blocks=400,
            timeout=90,
            progress=lambda stage, detail: stages.append(stage),
        )
        stats = client.modules.compute.provider_stats(market.wallets[PROVIDER].address)
    assert found.job.state == compute_pb2.JOB_STATE_COMPLETED
    assert found.metadata["shape"] == [3, 10] and found.metadata["dtype"] == "float32"
    got = formats.decode_tensor_output(found.output, "float32", (3, 10))
    assert np.allclose(got, market.logits(x), atol=1e-5)
    assert np.array_equal(np.argmax(got, axis=1), np.argmax(market.logits(x), axis=1))
    (mine,) = found.job.assignments
    assert mine.provider == market.wallets[PROVIDER].address
    assert mine.result.comparison_data == found.output  # tolerance: the output inline
    assert mine.result.runtime.startswith("onnxruntime ")
    # 120 output bytes travel inline in the result: nothing is uploaded or downloaded
    assert stages[0] == "submitted" and stages[-1] == "done" and "inline" in stages
    assert "download" not in stages
    assert int(stats.stats.accepted) >= 1 and int(stats.stats.earned or 0) > 0
    text = "\n".join(provider)
    assert f"on chain: ACTIVE, available=True, offers {market.model_id}:1.0.0:{PRICE}" in text
    assert "following blocks over ws://" in text  # the websocket, not polling
    job = found.job.id
    assert f"job {job}: fetched input" in text and f"job {job}: output inline" in text
    assert f"job {job}: submitted result tx" in text


def test_jobs_matched_together_run_as_one_batch(market: Market, provider: list[str]) -> None:
    wallet = market.wallets[SECOND]
    inputs = [market.digits[i : i + 1] for i in range(5)]
    msgs = [
        compute_pb2.MsgSubmitJob(
            client=wallet.address,
            model_id=market.model_id,
            version="1.0.0",
            input_inline=formats.encode_tensor_input(x),
            input_digest=hashlib.sha256(formats.encode_tensor_input(x)).digest(),
            units=1,
            max_price_per_unit=str(PRICE),
            deadline_blocks=400,
            sla_class=compute_pb2.SLA_CLASS_BATCH,
            redundancy=1,
        )
        for x in inputs
    ]
    with market.client() as client:
        sent = client.sign_and_broadcast(wallet, msgs)
        tx = client.wait_for_tx(sent.hash, timeout=30)
        ids = sorted(int(e.get("job_id") or 0) for e in tx.events if e.type == "compute_job_submit")
        assert len(ids) == 5
        compute = client.modules.compute
        jobs = [compute.wait_job(i, timeout=90) for i in ids]
        outputs = [compute.fetch_output(j) for j in jobs]
    for x, found in zip(inputs, outputs, strict=True):
        assert np.allclose(np.frombuffer(found.output, "<f4"), market.logits(x)[0], atol=1e-5)
    batches = {o.metadata["batch"] for o in outputs}
    assert batches == {5}, batches
    assert any(f"jobs {', '.join(map(str, ids))}: ran in" in line for line in provider)
    assert any("(5 in 1 onnxruntime run)" in line for line in provider)


def test_unservable_input_is_reported_and_refunded(market: Market, provider: list[str]) -> None:
    """An input CID nobody stores: the provider reports the job unservable (no penalty); the
    job is not re-matched to it and ends refunded at its deadline."""
    wallet = market.wallets[CLIENT]
    with market.client() as client:
        compute = client.modules.compute
        submitted = compute.submit_job(
            wallet,
            market.model_id,
            "1.0.0",
            PRICE,
            input_cid=MISSING_CID,
            input_digest=bytes(32),
            deadline_blocks=40,
        )
        with pytest.raises(JobFailedError) as failed:
            compute.wait_job(submitted.job_id, timeout=60)
    job = failed.value.job
    assert job.state != compute_pb2.JOB_STATE_COMPLETED and int(job.refunded) > 0, job
    (mine,) = job.assignments
    assert mine.status == compute_pb2.ASSIGNMENT_STATUS_UNSERVABLE, job
    assert "input not retrievable" in mine.result.runtime_metadata
    assert f"refunded {job.refunded}ucgpt" in str(failed.value)
    assert any(f"job {job.id}: input not retrievable" in line for line in provider)
    assert any(f"job {job.id}: submitted unservable report tx" in line for line in provider)


def test_greedy_generation_through_the_market(
    market: Market, provider: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The tiny byte-level LM of ``examples/offchain_lm`` registered with the ``tokens``
    rule: the job's output is the ids ``generate.py`` makes from the same prompt."""
    lm_dir = ROOT / "examples" / "offchain_lm"
    train, export = load(lm_dir, "train"), load(lm_dir, "export")
    out = tmp_path_factory.mktemp("lm")
    train.train(load(lm_dir, "lm_model").TINY, out, log_every=0)
    onnx_path, card = export.export(out / "weights.npz", out)
    owner, provider_wallet = market.wallets[OWNER], market.wallets[PROVIDER]
    with market.client() as client:
        registered = client.modules.ai.register_model(
            owner,
            onnx_path,
            "tiny-lm",
            "1.0.0",
            offchain=True,
            retention_blocks=100_000,
            comparison="tokens",
        )
        compute = client.modules.compute
        offers = [compute.offer(m, "1.0.0", PRICE) for m in (market.model_id, registered.model_id)]
        hardware = compute.hardware(cpu_cores=2, memory_mib=4096)
        assert compute.update(provider_wallet, hardware, ["onnxruntime"], offers, 8).code == 0
        found = compute.run(
            market.wallets[CLIENT],
            registered.model_id,
            "1.0.0",
            formats.encode_generation_input("The chain ", 12),
            PRICE,
            sla_class="batch",
            deadline_blocks=400,
            timeout=90,
        )
    generate = load(lm_dir, "generate")
    session = generate.load_session(onnx_path)
    want = generate.generate_ids(session, list(b"The chain "), 12, int(card["context_length"]))
    assert formats.decode_tokens(found.output) == want
    assert found.metadata == {"dtype": "uint32", "shape": [12], "device": "cpu", "batch": 1} | {
        "ms": found.metadata["ms"]
    }
    assert any(f"job {found.job.id}: generated 12 tokens" in line for line in provider)


def test_compute_run_and_provider_status_over_the_cli(
    market: Market,
    provider: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from cli_runner import cli_runner, import_keys

    run = import_keys(
        cli_runner(market.endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch),
        market.endpoint,
        CLIENT,
    )
    x = market.digits[7:8]
    (tmp_path / "x.npy").write_bytes(formats.encode_tensor_input(x))
    code, out, err = run(
        "compute",
        "run",
        f"{market.model_id}:1.0.0",
        str(tmp_path / "x.npy"),
        "--max-price",
        str(PRICE),
        "--sla-class",
        "batch",
        "--deadline-blocks",
        "400",
        "--rest",
        market.endpoint.rest_url,
        "--out",
        str(tmp_path / "y.bin"),
        "--from",
        f"dev{CLIENT}",
        "--yes",
        "-o",
        "json",
    )
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"].startswith(f"job {shown['job_id']} COMPLETED")
    assert shown["metadata"]["shape"] == [1, 10]
    got = np.frombuffer((tmp_path / "y.bin").read_bytes(), "<f4")
    assert np.allclose(got, market.logits(x)[0], atol=1e-5)
    assert f"submitted: job {shown['job_id']}" in err and "done: 40 bytes" in err  # progress
    code, out, err = run("query", "compute", "job", str(shown["job_id"]), "-o", "json")
    assert code == 0 and json.loads(out)["state"] == "JOB_STATE_COMPLETED", err
    worker_config.save(tmp_path / "home", market.config(f"dev{CLIENT}"))
    address = market.wallets[PROVIDER].address
    code, out, err = run("provider", "status", "--address", address, "-o", "json")
    assert code == 0, err
    status = json.loads(out)
    assert status["operator"] == address and status["status"] == "PROVIDER_STATUS_ACTIVE"
    assert int(status["earned"]) > 0 and int(status["accepted"]) >= 2
    assert {"job": shown["job_id"], "state": "COMPLETED"}.items() <= next(
        j for j in status["jobs"] if j["job"] == shown["job_id"]
    ).items()


def test_a_large_input_goes_through_the_content_store(market: Market, provider: list[str]) -> None:
    """64 rows (16.5 KB) are over max_inline_input_bytes: run uploads them, the job names
    the CID, and the provider fetches it from the content store."""
    x = market.digits[:64]
    data = formats.encode_tensor_input(x)
    stages: list[tuple[str, str]] = []
    with market.client() as client:
        assert len(data) > client.modules.compute.params().max_inline_input_bytes
        found = client.modules.compute.run(
            market.wallets[CLIENT],
            market.model_id,
            "1.0.0",
            data,
            PRICE,
            sla_class="batch",
            deadline_blocks=400,
            timeout=90,
            progress=lambda stage, detail: stages.append((stage, detail)),
        )
    assert stages[0] == ("upload", f"{len(data)} bytes to the content store")
    assert found.job.input_cid and not found.job.input_inline
    got = formats.decode_tensor_output(found.output, "float32", (64, 10))
    assert np.allclose(got, market.logits(x), atol=1e-5)
    assert any(
        f"job {found.job.id}: fetched input (16.1 KiB, {found.job.input_cid[:16]}…)" in line
        for line in provider
    ), provider[-10:]


def test_job_commands_over_the_cli(
    market: Market,
    provider: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """submit-job below every ask stays OPEN with its reason; top-up-job raises the price
    and the provider serves it; cancel-job refunds an unmatched job; a result or report for
    a job one is not assigned to is refused with the chain's code; the queries answer."""
    import json

    from cli_runner import cli_runner, import_keys

    run = import_keys(
        cli_runner(market.endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch),
        market.endpoint,
        CLIENT,
    )
    (tmp_path / "x.npy").write_bytes(formats.encode_tensor_input(market.digits[3:4]))
    tx = ("--from", f"dev{CLIENT}", "--yes", "--wait", "-o", "json")

    def submit(price: int) -> int:
        code, out, err = run(
            "tx", "compute", "submit-job", f"{market.model_id}:1.0.0",
            "--input-file", str(tmp_path / "x.npy"), "--max-price", str(price),
            "--sla-class", "batch", "--deadline-blocks", "400", *tx,
        )  # fmt: skip
        assert code == 0 and json.loads(out)["code"] == 0, err + out
        return int(json.loads(out)["job_id"])

    def job(job_id: int) -> dict[str, Any]:
        code, out, err = run("query", "compute", "job", str(job_id), "-o", "json")
        assert code == 0, err
        shown: dict[str, Any] = json.loads(out)
        return shown

    low = submit(PRICE // 4)
    deadline = time.monotonic() + 30
    while job(low).get("no_match_reason") != "NO_MATCH_REASON_PRICE_TOO_LOW":
        assert time.monotonic() < deadline, job(low)
        time.sleep(0.2)
    assert job(low)["state"] == "JOB_STATE_OPEN"
    code, out, err = run("tx", "compute", "top-up-job", str(low), "--max-price", str(PRICE), *tx)
    assert code == 0 and json.loads(out)["code"] == 0, err + out
    with market.client() as client:
        done = client.modules.compute.wait_job(low, timeout=90)
    assert done.assignments[0].provider == market.wallets[PROVIDER].address
    cancelled = submit(PRICE // 4)
    code, out, err = run("tx", "compute", "cancel-job", str(cancelled), *tx)
    assert code == 0 and json.loads(out)["code"] == 0, err + out
    shown = job(cancelled)
    assert shown["state"] == "JOB_STATE_CANCELLED" and int(shown["refunded"]) == PRICE // 4
    code, out, err = run(
        "tx", "compute", "submit-result", str(cancelled), MISSING_CID, "00" * 32, *tx
    )  # fmt: skip
    assert code == 1 and "(compute code" in err, err + out
    code, out, err = run("tx", "compute", "report-unservable", str(cancelled), "gone", *tx)
    assert code == 1 and "(compute code" in err, err + out
    code, out, err = run("query", "compute", "jobs", "--client", market.wallets[CLIENT].address,
                         "--state", "cancelled", "-o", "json")  # fmt: skip
    assert code == 0, err
    assert cancelled in [int(j["id"]) for j in json.loads(out)["jobs"]]
    operator = market.wallets[PROVIDER].address
    code, out, err = run("query", "compute", "provider-stats", operator, "-o", "json")
    assert code == 0 and int(json.loads(out)["stats"]["accepted"]) >= 1, err + out
    code, out, err = run(
        "query", "compute", "reference-price", str(market.model_id), "1.0.0", "-o", "json"
    )
    assert code == 0, err
    code, out, err = run("tx", "compute", "settle-job", str(low), *tx)
    assert code in (0, 1), err + out  # settled already by EndBlock: a coded refusal
    if code == 1:
        assert "(compute code" in err, err


def set_bid_windows(market: Market, blocks: int) -> None:
    """``bid_window_blocks`` and ``reveal_window_blocks`` by MsgUpdateParams (dev0 is the
    devnet's params authority)."""
    with market.client() as client:
        params = client.modules.compute.params()
        params.bid_window_blocks = params.reveal_window_blocks = blocks
        authority = market.wallets[PROVIDER]
        msg = compute_pb2.MsgUpdateParams(authority=authority.address, params=params)
        sent = client.sign_and_broadcast(authority, [msg])
        assert client.wait_for_tx(sent.hash, timeout=30).code == 0


def test_sealed_bid_over_the_cli(
    market: Market,
    provider: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An auction job submitted with ``--mode auction`` takes the provider's ``commit-bid``
    (its salt kept in the home), refuses a reveal in the commit window, takes ``reveal-bid``
    (price and salt read back from the home) and is won by the only bid, at the job's max
    price (the second price when there is no second bid); the node then serves it."""
    import json

    from cli_runner import cli_runner, import_keys

    set_bid_windows(market, 25)
    try:
        run = cli_runner(market.endpoint.rpc_url, tmp_path / "home", capsys, monkeypatch)
        run = import_keys(import_keys(run, market.endpoint, CLIENT), market.endpoint, PROVIDER)
        (tmp_path / "x.npy").write_bytes(formats.encode_tensor_input(market.digits[5:6]))
        wait = ("--yes", "--wait", "-o", "json")
        code, out, err = run(
            "tx", "compute", "submit-job", f"{market.model_id}:1.0.0",
            "--input-file", str(tmp_path / "x.npy"), "--max-price", str(PRICE * 2),
            "--mode", "auction", "--sla-class", "batch", "--deadline-blocks", "400",
            "--from", f"dev{CLIENT}", *wait,
        )  # fmt: skip
        assert code == 0 and json.loads(out)["code"] == 0, err + out
        job_id = int(json.loads(out)["job_id"])
        provider_key = ("--from", f"dev{PROVIDER}", *wait)
        code, out, err = run(
            "tx", "compute", "commit-bid", str(job_id), "--price", str(PRICE), *provider_key
        )
        assert code == 0 and json.loads(out)["code"] == 0, err + out
        saved = json.loads((tmp_path / "home" / "compute-bids.json").read_text())
        assert saved[f"{job_id}/{market.wallets[PROVIDER].address}"]["price"] == str(PRICE)
        code, out, err = run("tx", "compute", "reveal-bid", str(job_id), *provider_key)
        assert code == 1 and "(compute code 23)" in err, err + out  # still the commit window
        with market.client() as client:
            compute = client.modules.compute
            commit_end = compute.job(job_id).bid_commit_end_height
            while client.status().latest_block_height <= commit_end:
                time.sleep(0.1)
            code, out, err = run("tx", "compute", "reveal-bid", str(job_id), *provider_key)
            assert code == 0 and json.loads(out)["code"] == 0, err + out
            done = compute.wait_job(job_id, timeout=120)
        assert [(a.provider, a.price_per_unit) for a in done.assignments] == [
            (market.wallets[PROVIDER].address, str(PRICE * 2))
        ]
        assert done.state == compute_pb2.JOB_STATE_COMPLETED
        code, out, err = run("query", "compute", "reason-codes", "-o", "json")
        assert code == 0 and "wrong_result" in out, err
    finally:
        set_bid_windows(market, 5)


# -- three providers, one of them lying -------------------------------------------------------


def test_three_providers_outvote_a_liar(
    market: Market, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A fresh devnet with three provider nodes, the third started with the liar hook
    (``AIVM_WORKER_FAULT=wrong-output``): a redundancy-3 job completes with the honest
    output, the liar's assignment is DISAGREED, unpaid and slashed, the honest ones paid."""
    with devnet_chain(tmp_path_factory.mktemp("trio")) as endpoint:
        wallets = [Wallet.from_mnemonic(a.mnemonic) for a in endpoint.accounts]
        providers, client_wallet = wallets[:3], wallets[3]
        stop = threading.Event()
        threads: list[threading.Thread] = []
        node_clients: list[Client] = []
        lines: list[list[str]] = [[], [], []]
        with Client(endpoint.rpc_url, rest=endpoint.rest_url) as client:
            model_id = client.modules.ai.register_model(
                wallets[1], market.onnx_path, "digits-cnn", "1.0.0", offchain=True,
                retention_blocks=100_000, comparison="tolerance",
            ).model_id  # fmt: skip
            trio = Market(endpoint, market.onnx_path, model_id)
            for i, wallet in enumerate(providers):
                register_provider(client, wallet, model_id)
                node_client = Client(endpoint.rpc_url, rest=endpoint.rest_url)
                node_clients.append(node_client)
                home = tmp_path_factory.mktemp(f"trio{i}")
                node = ProviderNode(
                    home, trio.config(f"t{i}"), wallet, node_client, lines[i].append
                )
                node.lies = i == 2
                threads.append(threading.Thread(target=node.run, args=(stop,), daemon=True))
                threads[-1].start()
            try:
                x = market.digits[30:32]
                found = client.modules.compute.run(
                    client_wallet, model_id, "1.0.0", formats.encode_tensor_input(x), PRICE,
                    redundancy=3, sla_class="batch", deadline_blocks=400, timeout=120,
                )  # fmt: skip
                liar = providers[2].address
                slashes = client.modules.compute.slash_records(liar)
                stats = client.modules.compute.provider_stats(liar)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(30)
                for node_client in node_clients:
                    node_client.close()
    got = formats.decode_tensor_output(found.output, "float32", (2, 10))
    assert np.allclose(got, market.logits(x), atol=1e-5)
    by_provider = {a.provider: a for a in found.job.assignments}
    assert set(by_provider) == {w.address for w in providers}
    assert by_provider[liar].status == compute_pb2.ASSIGNMENT_STATUS_DISAGREED
    assert int(by_provider[liar].paid or 0) == 0
    for honest in providers[:2]:
        assert by_provider[honest.address].status == compute_pb2.ASSIGNMENT_STATUS_AGREED
        assert int(by_provider[honest.address].paid) > 0
    assert [r.reason_code for r in slashes] == [2]  # wrong_result
    assert int(stats.stats.disagreed) == 1
    assert any("altered the output (AIVM_WORKER_FAULT)" in line for line in lines[2])


# -- kill -9 and restart ------------------------------------------------------------------------


def result_txs(market: Market, address: str, job_id: int) -> list[tuple[str, int]]:
    """(tx hash, code) of every tx of ``address`` in a block carrying a MsgSubmitResult for
    ``job_id``."""
    response = requests.get(
        market.endpoint.rpc_url + "/tx_search",
        params={"query": f"\"message.sender='{address}'\"", "per_page": "100"},
        timeout=30,
    ).json()
    found = []
    for item in response["result"]["txs"]:
        raw = pb.tx.TxRaw.FromString(base64.b64decode(item["tx"]))
        body = pb.tx.TxBody.FromString(raw.body_bytes)
        for any_msg in body.messages:
            if any_msg.type_url.endswith("MsgSubmitResult"):
                msg = compute_pb2.MsgSubmitResult.FromString(any_msg.value)
                if msg.job_id == job_id:
                    found.append((item["hash"], int(item["tx_result"]["code"])))
    return found


def start_node(home: Path, hold: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AIVM_WORKER_HOLD=hold, PYTHONUNBUFFERED="1")
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "aivm.cli.main", "provider", "start", "--home", str(home)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_for(log: Path, text: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the node's log:\n{log.read_text()}")


@pytest.mark.parametrize("step", ["sent", "ran"])
def test_kill_9_and_restart_never_submits_twice(
    market: Market, provider: list[str], tmp_path: Path, step: str
) -> None:
    """A second provider (account 3 registers with a lower price, so it wins the match) runs
    as ``aivm provider start``; it is killed with SIGKILL while holding after ``step``, and
    restarted: the job completes with exactly one MsgSubmitResult from it."""
    wallet = market.wallets[SECOND]
    home = tmp_path / "p1"
    Keyring(home, "test").import_mnemonic("p1", market.endpoint.accounts[SECOND].mnemonic)
    worker_config.save(home, market.config("p1"))
    with market.client() as client:
        compute = client.modules.compute
        try:
            compute.provider(wallet.address)
            assert compute.resume(wallet).code == 0
        except ChainError:  # not registered yet
            result = compute.register(
                wallet,
                COLLATERAL,
                compute.hardware(cpu_cores=2, memory_mib=4096),
                ["onnxruntime"],
                [compute.offer(market.model_id, "1.0.0", PRICE // 2)],
                capacity=4,
            )
            assert result.code == 0, result.log
        log = tmp_path / "node.log"
        process = start_node(home, f"{step}:60", log)
        try:
            wait_for(log, "started at height", 60, process)
            x = market.digits[20:22]
            submitted = compute.submit_job(
                market.wallets[CLIENT],
                market.model_id,
                "1.0.0",
                PRICE,
                input_inline=formats.encode_tensor_input(x),
                deadline_blocks=600,
                sla_class="batch",
            )
            job_id = submitted.job_id
            wait_for(log, f"holding 60 s after '{step}'", 60, process)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            restarted = start_node(home, "", log)
            try:
                job = compute.wait_job(job_id, timeout=120)
            finally:
                restarted.send_signal(signal.SIGTERM)
                restarted.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
            assert compute.pause(wallet).code == 0  # the other tests' jobs go to provider 0
        output = compute.fetch_output(job)
    (mine,) = job.assignments
    assert mine.provider == wallet.address, job
    assert np.allclose(np.frombuffer(output.output, "<f4"), market.logits(x).ravel(), atol=1e-5)
    sent = result_txs(market, wallet.address, job_id)
    assert len(sent) == 1 and sent[0][1] == 0, sent
    text = log.read_text()
    assert text.count(f"job {job_id}: submitted result tx") <= 1, text
    if step == "ran":
        assert f"job {job_id}: output computed before a restart, reused" in text, text
