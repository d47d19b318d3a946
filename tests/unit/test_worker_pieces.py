"""The provider node's pieces without a chain: the input/output conventions
(``aivm.worker.formats``), provider.toml (``config``), the hardware probe, the batching
onnxruntime runner, greedy generation, the websocket event parser and the /status polling
fallback, the submission journal, the liar test hook, and the node's choice of what to serve
(against a fake chain)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aivm.worker import config, formats, hardware
from aivm.worker.blocks import height_of_event, websocket_url
from aivm.worker.node import (
    Journal,
    _parse_hold,
    job_list,
    reference_output,
    size_text,
    tx_hash,
    wrong,
)
from aivm.worker.runner import ModelRunner


def save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save_model(model, path)
    return path


def dense_model(path: Path, batch: str | int = "batch") -> Path:
    """y = x @ W + b with x float32 [batch, 3], y [batch, 2]; a second output 2y."""
    w = numpy_helper.from_array(np.array([[1, 2], [3, 4], [5, 6]], np.float32), "W")
    b = numpy_helper.from_array(np.array([0.5, -1], np.float32), "b")
    two = numpy_helper.from_array(np.array(2, np.float32), "two")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
            helper.make_node("Mul", ["y", "two"], ["y2"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2]),
            helper.make_tensor_value_info("y2", TensorProto.FLOAT, [batch, 2]),
        ],
        [w, b, two],
    )
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def bigram_lm(path: Path, context: int = 4) -> Path:
    """A byte 'LM': logits[b, s, v] = table[ids[b, s], v] where table says next = id + 1
    (mod 256), with a pos_emb initializer of ``context`` rows (unused but read for the
    context length)."""
    table = np.zeros((256, 256), np.float32)
    table[np.arange(256), (np.arange(256) + 1) % 256] = 1.0
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0)],
        "bigram",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 256])],
        [
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.zeros((context, 8), np.float32), "pos_emb"),
        ],
    )
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


# -- formats ----------------------------------------------------------------------------------


def test_comparison_rule_defaults_to_exact_and_refuses_unknown_rules() -> None:
    assert formats.comparison_rule(SimpleNamespace()) == "exact"
    assert formats.comparison_rule(SimpleNamespace(comparison="")) == "exact"
    assert formats.comparison_rule(SimpleNamespace(comparison="tokens")) == "tokens"
    with pytest.raises(formats.FormatError, match="unknown comparison rule 'fuzzy'"):
        formats.comparison_rule(SimpleNamespace(comparison="fuzzy"))
    assert formats.carries_comparison_data("tolerance") and formats.carries_comparison_data(
        "tokens"
    )
    assert not formats.carries_comparison_data("exact")


def test_tensor_input_round_trips_as_npy_and_refuses_pickles() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    data = formats.encode_tensor_input(x)
    assert data.startswith(b"\x93NUMPY")
    assert np.array_equal(formats.decode_tensor_input(data), x)
    with pytest.raises(formats.FormatError, match=r"not a \.npy array"):
        formats.decode_tensor_input(b"hello")
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(formats.FormatError, match="object dtype"):
        formats.decode_tensor_input(buffer.getvalue())
    with pytest.raises(formats.FormatError, match="too few bytes for float32 "):
        formats.decode_tensor_input(data[:-1])
    # the header-cached fast path reads every layout np.load does
    for array in (
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(6, dtype=">i4").reshape(3, 2),
        np.array(7, np.int8),
        np.zeros((0, 3), np.float32),
    ):
        got = formats.decode_tensor_input(formats.encode_tensor_input(array))
        assert got.dtype == array.dtype and np.array_equal(got, array)


def test_tensor_output_is_raw_little_endian_with_its_shape() -> None:
    y = np.array([[1.5, -2.0], [3.0, 4.25]], np.float64)
    out = formats.encode_tensor_output(y, "tolerance")
    assert out.data == np.array([1.5, -2.0, 3.0, 4.25], "<f4").tobytes()
    assert out.metadata() == {"dtype": "float32", "shape": [2, 2]}
    back = formats.decode_tensor_output(out.data, out.dtype, out.shape)
    assert np.array_equal(back, y.astype(np.float32))
    exact = formats.encode_tensor_output(np.array([7, 1], ">i8"), "exact")
    assert exact.data == (7).to_bytes(8, "little") + (1).to_bytes(8, "little")
    assert exact.dtype == "int64"
    with pytest.raises(formats.FormatError, match="do not hold"):
        formats.decode_tensor_output(b"\x00" * 5, "float32", (2,))


def test_generation_input_and_token_output() -> None:
    data = formats.encode_generation_input("héllo", 5)
    assert json.loads(data) == {"prompt": "héllo", "max_new_tokens": 5}
    assert formats.decode_generation_input(data) == formats.GenerationInput("héllo", 5)
    for bad, why in (
        (b"\xff", "not UTF-8 JSON"),
        (b"[1]", "must be"),
        (b'{"prompt": "a", "max_new_tokens": 0}', "max_new_tokens"),
        (b'{"prompt": "a", "max_new_tokens": true}', "max_new_tokens"),
        (b'{"prompt": "a", "max_new_tokens": 100000}', "max_new_tokens"),
    ):
        with pytest.raises(formats.FormatError, match=why):
            formats.decode_generation_input(bad)
    out = formats.encode_tokens([1, 65, 300])
    assert out.data == b"\x01\x00\x00\x00A\x00\x00\x00\x2c\x01\x00\x00"
    assert formats.decode_tokens(out.data) == [1, 65, 300]
    with pytest.raises(formats.FormatError):
        formats.decode_tokens(b"abc")


# -- config -----------------------------------------------------------------------------------


def test_provider_toml_round_trip_and_errors(tmp_path: Path) -> None:
    profile = hardware.HardwareProfile(8, 32768, "L4", 1, 23034, "1.20.0", 12.5)
    cfg = config.ProviderConfig(
        key="alice",
        keyring_backend="test",
        capacity=3,
        offers=(config.Offer.parse("1:1.0.0:250"), config.Offer.parse("2:0.1.0:7ucgpt")),
        hardware=profile,
    )
    path = config.save(tmp_path, cfg)
    assert path == tmp_path / "provider.toml"
    assert 'key = "alice"' in path.read_text()
    loaded = config.load(tmp_path)
    assert loaded == cfg
    assert loaded.serves(2, "0.1.0") and not loaded.serves(2, "0.2.0")
    for bad in ("1:1.0.0", "x:1.0.0:1", "1::5", "1:1.0.0:-3"):
        with pytest.raises(config.ConfigError, match="MODEL_ID:VERSION:PRICE"):
            config.Offer.parse(bad)
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load(tmp_path / "nowhere")
    with pytest.raises(config.ConfigError, match="unexpected keyword"):
        config.parse('key = "a"\ncolour = "red"\n')
    with pytest.raises(config.ConfigError, match="capacity"):
        config.parse('key = "a"\ncapacity = 0\n')
    assert cfg.upload_outputs == "large" and 'upload-outputs = "large"' in path.read_text()
    assert config.parse('key = "a"\nupload-outputs = "always"\n').upload_outputs == "always"
    with pytest.raises(config.ConfigError, match="upload-outputs must be one of 'large', "):
        config.parse('key = "a"\nupload-outputs = "never"\n')


# -- hardware ---------------------------------------------------------------------------------


def test_hardware_probe_measures_this_machine() -> None:
    profile = hardware.probe(measure=True)
    assert profile.cpu_cores >= 1 and profile.memory_mib >= 64
    assert profile.onnx_gflops > 0 and profile.onnxruntime
    assert (profile.gpu_count == 0) == (profile.gpu_model == "")
    assert hardware.parse_nvidia_smi(
        "NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, 81559\n"
    ) == (
        "NVIDIA H100 80GB HBM3",
        2,
        81559,
    )
    assert hardware.parse_nvidia_smi("") == ("", 0, 0)
    assert hardware.parse_nvidia_smi("No devices were found") == ("", 0, 0)


# -- runner -----------------------------------------------------------------------------------


def test_runner_batches_queued_inputs_into_one_run(tmp_path: Path) -> None:
    runner = ModelRunner(dense_model(tmp_path / "m.onnx"))
    assert runner.batchable and runner.output_name == "y"
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (1, 2, 1, 3)]
    batched = runner.run_tensors(inputs)
    assert batched.runs == 1
    for x, y in zip(inputs, batched.outputs, strict=True):
        single = runner.run_tensors([x])
        assert single.runs == 1
        assert np.allclose(y, single.outputs[0]) and y.shape == (x.shape[0], 2)
        assert np.allclose(y, x @ np.array([[1, 2], [3, 4], [5, 6]]) + [0.5, -1], atol=1e-5)
    small = ModelRunner(dense_model(tmp_path / "m2.onnx"), max_batch=3)
    assert small.run_tensors(inputs).runs == 3  # 1+2 | 1 | 3 rows


def test_runner_does_not_batch_a_static_batch_dimension(tmp_path: Path) -> None:
    runner = ModelRunner(dense_model(tmp_path / "s.onnx", batch=1))
    assert not runner.batchable
    inputs = [np.ones((1, 3), np.float32), np.zeros((1, 3), np.float32)]
    assert runner.run_tensors(inputs).runs == 2


def test_runner_checks_input_shape_and_dtype(tmp_path: Path) -> None:
    runner = ModelRunner(dense_model(tmp_path / "m.onnx"))
    assert runner.check_input(np.ones((2, 3), np.float64)).dtype == np.float32
    with pytest.raises(formats.FormatError, match="the model takes"):
        runner.check_input(np.ones((2, 4), np.float32))
    with pytest.raises(formats.FormatError, match="the model takes"):
        runner.check_input(np.ones((3,), np.float32))
    with pytest.raises(formats.FormatError, match="does not fit"):
        runner.check_input(np.array([["a", "b", "c"]]))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(formats.FormatError, match="not a loadable ONNX model"):
        ModelRunner(tmp_path / "junk.onnx")


def test_greedy_generation_uses_the_models_context(tmp_path: Path) -> None:
    runner = ModelRunner(bigram_lm(tmp_path / "lm.onnx", context=4))
    assert runner.context == 4
    assert runner.generate(list(b"ab"), 3) == [ord("c"), ord("d"), ord("e")]
    data = formats.encode_generation_input("xy", 2)
    assert formats.decode_tokens(reference_output(tmp_path / "lm.onnx", data, "tokens")) == [
        ord("z"),
        ord("{"),
    ]


def test_reference_output_of_a_tensor_job(tmp_path: Path) -> None:
    path = dense_model(tmp_path / "m.onnx")
    x = np.array([[1, 0, 0], [0, 0, 1]], np.float32)
    out = reference_output(path, formats.encode_tensor_input(x), "tolerance")
    assert np.array_equal(np.frombuffer(out, "<f4"), np.array([1.5, 1, 5.5, 5], np.float32))


# -- node helpers -----------------------------------------------------------------------------


def test_block_events_and_websocket_urls() -> None:
    event = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "query": "tm.event='NewBlock'",
            "data": {
                "type": "tendermint/event/NewBlock",
                "value": {"block": {"header": {"height": "42"}}},
            },
        },
    }
    assert height_of_event(event) == 42
    assert height_of_event({"jsonrpc": "2.0", "id": 1, "result": {}}) is None
    assert websocket_url("http://127.0.0.1:26657/") == "ws://127.0.0.1:26657/websocket"
    assert websocket_url("https://rpc.example") == "wss://rpc.example/websocket"


def test_journal_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "submitted.json"
    journal = Journal(path)
    journal.add([3, 4], "ABC", 10)
    again = Journal(path)
    assert again.entries == {3: {"tx": "ABC", "height": 10}, 4: {"tx": "ABC", "height": 10}}
    again.drop([3])
    assert Journal(path).entries == {4: {"tx": "ABC", "height": 10}}
    path.write_text("{broken")
    assert Journal(path).entries == {}
    assert tx_hash(b"x") == hashlib.sha256(b"x").hexdigest().upper()
    assert job_list([4]) == "job 4" and job_list([4, 5]) == "jobs 4, 5"
    assert job_list(list(range(1, 257))) == "jobs 1, 2, 3, 4, 5, 6, 7 … 256 (256 jobs)"
    assert _parse_hold("ran:2.5,sent:1,bad") == {"ran": 2.5, "sent": 1.0}
    assert (size_text(100), size_text(3174), size_text(5 << 20)) == ("100 B", "3.1 KiB", "5.0 MiB")


def test_block_follower_falls_back_to_polling_status() -> None:
    """A node without a websocket: heights come from /status."""
    import http.server
    import threading

    from aivm.worker.blocks import BlockFollower

    heights = iter(range(5, 1000))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/status":
                self.send_error(404)
                return
            body = json.dumps(
                {"result": {"sync_info": {"latest_block_height": str(next(heights))}}}
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines: list[str] = []
    follower = BlockFollower(f"http://127.0.0.1:{server.server_port}", 0.05, lines.append)
    try:
        follower.start()
        first = follower.wait_beyond(0, 5)
        assert first >= 5 and follower.mode == "polling"
        assert follower.wait_beyond(first, 5) > first
    finally:
        follower.stop()
        server.shutdown()
    assert not any("following blocks over" in line for line in lines)
    dead = BlockFollower("http://127.0.0.1:9", 0.05)
    assert dead.poll_status() == 0 and dead.wait_beyond(0, 0.2) == 0


def test_the_liar_hook_alters_every_kind_of_output() -> None:
    floats = formats.encode_tensor_output(np.array([1.0, -2.5], np.float32), "tolerance")
    lied = wrong(floats, "tolerance")
    assert lied is not None and np.array_equal(np.frombuffer(lied.data, "<f4"), [2.0, -1.5])
    tokens = wrong(formats.encode_tokens([1, 255]), "tokens")
    assert tokens is not None and formats.decode_tokens(tokens.data) == [2, 0]
    exact = wrong(formats.encode_tensor_output(np.array([7], np.int64), "exact"), "exact")
    assert exact is not None and exact.data[0] == 7 ^ 0xFF and exact.shape == (1,)
    assert wrong(None, "exact") is None


class _FakeChain:
    """Just enough of Client / client.modules.compute for the node's bookkeeping."""

    def __init__(self, jobs: list[Any], txs: dict[str, Any]) -> None:
        self.job_list, self.txs = jobs, txs
        self.modules = SimpleNamespace(compute=self, ai=None, verify=None)

    def jobs(self, provider: str = "", state: str | None = None) -> list[Any]:
        return self.job_list

    def tx(self, hash: str) -> Any:
        return self.txs.get(hash)


def _job(job_id: int, provider: str, status: int, deadline: int = 100) -> Any:
    from aivm.modules.compute import compute_pb2

    job = compute_pb2.Job(id=job_id, model_id=1, version="1.0.0")
    job.assignments.add(provider=provider, status=status, deadline_height=deadline)
    return job


def test_node_serves_only_running_unjournalled_assignments(tmp_path: Path) -> None:
    """The journal keeps a job out until its tx is found (dropped, with a line if it failed)
    or lost for RESEND_AFTER_BLOCKS blocks; SUBMITTED, others' and late assignments are
    never served."""
    from aivm.client.wallet import Wallet
    from aivm.modules.compute import compute_pb2
    from aivm.worker.node import RESEND_AFTER_BLOCKS, ProviderNode

    wallet = Wallet.from_mnemonic(" ".join(["abandon"] * 23 + ["art"]))
    me = wallet.address
    running, submitted = (
        compute_pb2.ASSIGNMENT_STATUS_RUNNING,
        compute_pb2.ASSIGNMENT_STATUS_SUBMITTED,
    )
    jobs = [
        _job(1, me, running),
        _job(2, me, submitted),
        _job(3, "aivm1someoneelse", running),
        _job(4, me, running, deadline=5),
        _job(5, me, running),
        _job(6, me, running),
    ]
    failed = SimpleNamespace(ok=False, log="wrong sequence")
    chain = _FakeChain(jobs, {"FAILED": failed})
    lines: list[str] = []
    cfg = config.ProviderConfig(key="k")
    node = ProviderNode(tmp_path, cfg, wallet, chain, lines.append)  # type: ignore[arg-type]
    node.journal.add([5], "PENDING", 10)
    node.journal.add([6], "FAILED", 10)
    node._check_journal(12)
    assert sorted(node.journal.entries) == [5]
    assert any("job 6: result tx FAILED… failed: wrong sequence" in line for line in lines)
    assert [w.job.id for w in node._assigned(12)] == [1, 6]
    assert any("job 4: deadline 5 passed; skipped" in line for line in lines)
    node._check_journal(10 + RESEND_AFTER_BLOCKS)
    assert 5 in node.journal.entries  # not lost yet
    node._check_journal(11 + RESEND_AFTER_BLOCKS)
    assert node.journal.entries == {}
    assert any("job 5: result tx PENDING… lost; re-reading the job" in line for line in lines)
    assert [w.job.id for w in node._assigned(31)] == [1, 5, 6]
    assert Journal(tmp_path / "state" / "submitted.json").entries == {}


def test_provider_init_writes_the_config_and_refuses_to_overwrite(
    offline_run: Any, tmp_path: Path
) -> None:
    code, out, err = offline_run(
        "provider", "init", "--key", "op", "--offer", "1:1.0.0:250", "--offer", "2:0.1.0:9",
        "--capacity", "3", "--no-benchmark", "--rest", "http://127.0.0.1:1318", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    home = Path(shown["written"]).parent
    loaded = config.load(home)
    assert (loaded.key, loaded.capacity, loaded.rest) == ("op", 3, "http://127.0.0.1:1318")
    assert loaded.keyring_backend == "test" and loaded.hardware.cpu_cores >= 1
    assert [(o.model_id, o.version, o.price_per_unit) for o in loaded.offers] == [
        (1, "1.0.0", 250),
        (2, "0.1.0", 9),
    ]
    assert "--offer 1:1.0.0:250 --offer 2:0.1.0:9" in shown["register_with"]
    code, _, err = offline_run("provider", "init", "--key", "op", "--no-benchmark")
    assert code == 1 and "exists (pass --overwrite" in err
    code, _, err = offline_run("provider", "init", "--key", "op", "--offer", "1:x", "--overwrite")
    assert code == 1 and "is not MODEL_ID:VERSION:PRICE" in err
    code, _, err = offline_run("provider", "status", "--home", str(tmp_path / "none"))
    assert code == 1 and "does not exist (run 'aivm provider init" in err


# -- inline outputs ---------------------------------------------------------------------------


class _FakeStore:
    """The content store's put/get, in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def put(self, data: bytes) -> Any:
        from aivm.crypto import unixfs

        self.puts += 1
        cid = unixfs.cid_of(data)
        self.objects[cid] = data
        return SimpleNamespace(cid=cid)

    def get(self, cid: str, dest: Path) -> None:
        Path(dest).write_bytes(self.objects[cid])


def _serving_node(tmp_path: Path, upload: str, limit: int) -> tuple[Any, _FakeStore, list[str]]:
    from aivm.client.wallet import Wallet
    from aivm.worker.node import ProviderNode

    wallet = Wallet.from_mnemonic(" ".join(["abandon"] * 23 + ["art"]))
    lines: list[str] = []
    cfg = config.ProviderConfig(key="k", upload_outputs=upload)
    chain = _FakeChain([], {})
    node: Any = ProviderNode(tmp_path, cfg, wallet, chain, lines.append)  # type: ignore[arg-type]
    store = _FakeStore()
    node._store = lambda: store  # every upload thread's content-store client
    node.inline_limit = limit
    return node, store, lines


def _work(job_id: int, data: bytes) -> Any:
    from aivm.modules.compute import compute_pb2
    from aivm.worker.node import Work

    job = compute_pb2.Job(id=job_id, model_id=1, version="1.0.0")
    return Work(job, output=formats.Output(data, "uint8", (len(data),)))


def test_small_outputs_go_inline_and_only_large_ones_are_uploaded(tmp_path: Path) -> None:
    """An output up to max_comparison_bytes is the result's comparison_data (any rule) with
    its CID computed locally, and is not uploaded; a larger one is uploaded and (for the
    exact rule) not inline; upload-outputs = "always" uploads the small one too."""
    from aivm.crypto import unixfs

    small, large = b"s" * 64, b"L" * 65
    node, store, lines = _serving_node(tmp_path, "large", limit=64)
    items = node._place_outputs([_work(1, small), _work(2, large)])
    assert [w.job.id for w in items] == [1, 2] and store.puts == 1
    assert list(store.objects.values()) == [large]
    one, two = (node._result_msg(w, "exact") for w in items)
    assert one.output_cid == unixfs.cid_of(small) and one.comparison_data == small
    assert one.output_digest == hashlib.sha256(small).digest()
    assert two.output_cid == unixfs.cid_of(large) and two.comparison_data == b""
    assert f"job 1: output inline (64 B, {one.output_cid[:16]}…)" in lines
    assert any(line.startswith("job 2: uploaded output") for line in lines)

    node, store, _ = _serving_node(tmp_path / "always", "always", limit=64)
    items = node._place_outputs([_work(1, small), _work(2, large)])
    assert store.puts == 2 and set(store.objects.values()) == {small, large}
    assert node._result_msg(items[0], "exact").comparison_data == small
    assert node._result_msg(items[0], "exact").output_cid == unixfs.cid_of(small)


def test_results_are_sent_without_a_recheck_at_the_same_height(tmp_path: Path) -> None:
    """The assignments are read again before signing only when a block was committed since
    they were read; then results of jobs no longer RUNNING are dropped, with a line."""
    from aivm.modules.compute import compute_pb2

    node, _, lines = _serving_node(tmp_path, "large", limit=64)
    height = [7]
    node.client.status = lambda: SimpleNamespace(latest_block_height=height[0])
    node.client.job_list = [_job(1, node.address, compute_pb2.ASSIGNMENT_STATUS_RUNNING)]
    sent: list[list[int]] = []

    def send(msgs: list[Any], ids: list[int], at: int) -> str:
        sent.append(ids)
        return "sent"

    node._send = send
    msgs = [compute_pb2.MsgSubmitResult(job_id=i) for i in (1, 2)]
    node._send_results(msgs, 7)
    assert sent == [[1, 2]]
    height[0] = 8
    node._send_results(msgs, 7)
    assert sent[-1] == [1]
    assert "job 2: no longer RUNNING for this provider; nothing sent" in lines


def test_round_times_summary() -> None:
    from aivm.worker.node import RoundTimes

    times = RoundTimes(5, jobs=3, results=3, started=10.0)
    times.phases = {"query": 0.002, "sign": 0.0204}
    assert times.busy == 0.0  # not broadcast yet
    times.broadcast_at = 10.025
    assert times.summary() == "3 jobs, 3 results in 25 ms (query 2, sign 20)"


def _completed(output: bytes, inline: bytes) -> Any:
    from aivm.crypto import unixfs
    from aivm.modules.compute import compute_pb2

    job = compute_pb2.Job(id=9, state=compute_pb2.JOB_STATE_COMPLETED)
    job.output_digest = hashlib.sha256(output).digest()
    job.output_cid = unixfs.cid_of(output)
    other = job.assignments.add(provider="aivm1other")
    other.result.comparison_data = b"a minority's output"
    other.result.output_digest = hashlib.sha256(b"a minority's output").digest()
    mine = job.assignments.add(provider="aivm1mine")
    mine.result.comparison_data = inline
    mine.result.output_digest = job.output_digest
    mine.result.runtime_metadata = '{"dtype": "uint8", "shape": [5]}'
    return job


def test_client_takes_an_inline_output_and_downloads_otherwise() -> None:
    """fetch_output uses the comparison_data that hashes to the accepted digest (stage
    ``inline``, no download); without one it downloads output_cid; a download that does not
    match the digest is refused."""
    from aivm.client.errors import ClientError
    from aivm.modules.compute.client import ComputeClient, inline_output

    output = b"12345"
    store = _FakeStore()
    compute = ComputeClient(SimpleNamespace(storage=store))  # type: ignore[arg-type]
    stages: list[str] = []
    job = _completed(output, inline=output)
    assert inline_output(job) == output
    got = compute.fetch_output(job, lambda stage, detail: stages.append(stage))
    assert (got.output, got.metadata, stages) == (output, {"dtype": "uint8", "shape": [5]},
                                                   ["inline", "done"])  # fmt: skip
    job = _completed(output, inline=b"")
    assert inline_output(job) is None
    store.put(output)
    stages.clear()
    assert compute.fetch_output(job, lambda stage, detail: stages.append(stage)).output == output
    assert stages == ["download", "done"]
    store.objects[job.output_cid] = b"tampered"
    with pytest.raises(ClientError, match="does not match the accepted digest"):
        compute.fetch_output(job)


def test_kept_outputs_survive_a_restart_and_a_torn_last_line(tmp_path: Path) -> None:
    """Small outputs go to one inline.jsonl (one append a round), large ones to files; a new
    store (a restarted node) finds both; a partial last line a kill left is skipped and the
    next append starts on a fresh line."""
    from aivm.worker.outputs import OutputStore, Saved

    def saved(data: bytes, digest: str = "ab") -> Saved:
        return Saved(formats.Output(data, "uint8", (len(data),)), digest, batch=2, millis=1.5)

    store = OutputStore(tmp_path, inline_limit=4)
    store.save([(1, saved(b"abcd")), (2, saved(b"too large")), (3, saved(b"xy"))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.bin", "2.json", "inline.jsonl"]
    assert len(store.inline_path.read_text().splitlines()) == 2
    with store.inline_path.open("ab") as stream:
        stream.write(b'{"job": 4, "dty')  # killed mid-write
    again = OutputStore(tmp_path, inline_limit=4)
    assert again.load(1) == saved(b"abcd") and again.load(2) == saved(b"too large")
    assert again.load(4) is None and again.load(5) is None
    again.save([(4, saved(b"q", "cd")), (1, saved(b"new"))])
    third = OutputStore(tmp_path, inline_limit=4)
    assert third.load(4) == saved(b"q", "cd") and third.load(1) == saved(b"new")
    assert third.load(3) == saved(b"xy")
