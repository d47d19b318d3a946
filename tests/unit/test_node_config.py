"""``<home>/config/app.toml``: written with every default and a comment per key, read back,
bad files refused with the key named, flags over the file, and the wiring into AppOptions,
the devnet, ``aivm init`` and ``aivm start``."""

from __future__ import annotations

import dataclasses
import io
import time
import tomllib
from pathlib import Path

import pytest

from aivm.cli.main import main
from aivm.node.config import (
    APP_CONFIG_FILE,
    AppConfig,
    NodeConfig,
    NodeConfigError,
    RpcConfig,
    StorageConfig,
    app_options,
    load_node_config,
    parse_node_config,
    with_min_gas_price,
)
from aivm.node.home import HomePaths
from aivm.types.dec import Dec

TABLES = {"rpc": RpcConfig, "storage": StorageConfig, "app": AppConfig}


def test_defaults_are_written_with_a_comment_per_key_and_read_back(tmp_path: Path) -> None:
    config = load_node_config(tmp_path / "config")
    assert config == NodeConfig()
    text = (tmp_path / "config" / APP_CONFIG_FILE).read_text()
    document = tomllib.loads(text)
    lines = text.splitlines()
    for table, cls in TABLES.items():
        keys = [f.name.replace("_", "-") for f in dataclasses.fields(cls)]
        assert list(document[table]) == keys
        for key in keys:
            at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
            assert lines[at - 1].startswith("# "), f"no comment above {key}"
    assert parse_node_config(text) == NodeConfig()
    assert load_node_config(tmp_path / "config") == NodeConfig()  # read, not rewritten


def test_the_documented_defaults() -> None:
    rpc, storage, app = RpcConfig(), StorageConfig(), AppConfig()
    assert (rpc.max_request_batch_size, rpc.max_subscription_clients) == (10, 100)
    assert (rpc.max_subscriptions_per_client, rpc.max_query_length) == (5, 512)
    assert (rpc.max_query_conditions, rpc.max_websocket_connections) == (8, 200)
    assert rpc.max_body_bytes == 1_000_000
    assert storage.max_object_bytes == 1 << 30 and storage.max_total_bytes == 10 << 30
    assert storage.cors_allowed_origins == ()
    assert (app.query_gas_limit, app.simulate_gas_limit) == (50_000_000, 50_000_000)
    assert (app.query_time_limit_ms, app.min_gas_price) == (500, "0.0025")


def test_a_partial_file_keeps_the_other_defaults() -> None:
    config = parse_node_config(
        '[rpc]\nmax-request-batch-size = 3\n[storage]\ncors-allowed-origins = ["https://a.example"]\n'
    )
    assert config.rpc == RpcConfig(max_request_batch_size=3)
    assert config.storage.cors_allowed_origins == ("https://a.example",)
    assert config.app == AppConfig()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[rpc]\nmax-batch = 3\n", "unknown key [rpc] max-batch"),
        ("[rpc]\nmax_request_batch_size = 3\n", "unknown key [rpc] max_request_batch_size"),
        ("[p2p]\nladdr = 'x'\n", "unknown table [p2p]"),
        ("top-level = 1\n", "unknown table [top-level]"),
        ('[rpc]\nmax-body-bytes = "1MB"\n', "[rpc] max-body-bytes: expected an integer"),
        ("[rpc]\nmax-query-length = true\n", "[rpc] max-query-length: expected an integer"),
        ("[rpc]\nmax-query-length = 0\n", "[rpc] max-query-length: must be at least 1"),
        ("[storage]\nmax-total-bytes = -1\n", "[storage] max-total-bytes: must be at least 0"),
        ("[storage]\ncors-allowed-origins = 'x'\n", "cors-allowed-origins: expected a list"),
        (
            '[storage]\ncors-allowed-origins = ["https://a.example/path"]\n',
            "cors-allowed-origins: 'https://a.example/path' is not an origin",
        ),
        ('[app]\nmin-gas-price = "-1"\n', "[app] min-gas-price: must not be negative"),
        ('[app]\nmin-gas-price = "cheap"\n', "[app] min-gas-price: invalid decimal"),
        ("[app]\nmin-gas-price = 0.1\n", "[app] min-gas-price: expected a decimal string"),
        ("[rpc\n", "app.toml"),
    ],
)
def test_bad_files_are_refused_naming_the_key(text: str, named: str) -> None:
    with pytest.raises(NodeConfigError) as err:
        parse_node_config(text, Path("/h/config/app.toml"))
    assert named in str(err.value)
    assert str(err.value).startswith("/h/config/app.toml")


def test_flags_override_the_file() -> None:
    config = parse_node_config('[app]\nmin-gas-price = "0.5"\n')
    assert with_min_gas_price(config, None).app.min_gas_price == "0.5"
    assert with_min_gas_price(config, "0.01").app.min_gas_price == "0.01"
    with pytest.raises(NodeConfigError, match="--min-gas-price"):
        with_min_gas_price(config, "free")


def test_app_options_carry_the_app_table_and_a_clock() -> None:
    options = app_options(
        AppConfig(
            min_gas_price="0.1",
            query_gas_limit=7,
            simulate_gas_limit=8,
            query_time_limit_ms=9,
        )
    )
    assert options.min_gas_price == Dec.from_str("0.1")
    assert (options.query_gas_limit, options.simulate_gas_limit) == (7, 8)
    assert options.query_time_limit_ms == 9
    assert options.clock is time.monotonic_ns


def test_a_reset_keeps_the_operator_files(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.config.mkdir(parents=True)
    for name in ("app.toml", "client.toml", "genesis.json", "priv_validator_key.json"):
        (paths.config / name).write_text("x")
    (paths.state).mkdir(parents=True)
    paths.reset()
    assert sorted(p.name for p in paths.config.iterdir()) == ["app.toml", "client.toml"]
    assert not paths.data.exists()


def test_aivm_init_writes_the_node_config_without_replacing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path), "init"]) == 0
    node_config = tmp_path / "config" / APP_CONFIG_FILE
    assert parse_node_config(node_config.read_text()) == NodeConfig()
    node_config.write_text("[rpc]\nmax-request-batch-size = 4\n")
    assert main(["--home", str(tmp_path), "init", "--overwrite"]) == 0
    assert "max-request-batch-size = 4" in node_config.read_text()


def test_aivm_start_refuses_a_bad_config_before_opening_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / APP_CONFIG_FILE).write_text("[storage]\nmax-object-bytes = 0\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["--home", str(tmp_path), "start", "--abci", "unix:///nonexistent/x.sock"]) == 1
    err = capsys.readouterr().err
    assert "[storage] max-object-bytes: must be at least 1" in err
    assert not (tmp_path / "data").exists()
    (tmp_path / "config" / APP_CONFIG_FILE).write_text("")
    assert main(["--home", str(tmp_path), "start", "--min-gas-price", "x"]) == 1
    assert "--min-gas-price" in capsys.readouterr().err


def test_aivm_start_writes_the_defaults_in_a_new_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config is written before anything else; a bad --abci then stops the start."""
    assert main(["--home", str(tmp_path), "start", "--abci", "ftp://nowhere"]) == 1
    assert not (tmp_path / "config" / APP_CONFIG_FILE).exists()  # the address is checked first
    started: list[object] = []
    monkeypatch.setattr("aivm.node.eventloop.run", lambda coro: started.append(coro.close()))
    assert main(["--home", str(tmp_path), "start", "--abci", "tcp://127.0.0.1:1"]) == 0
    assert load_node_config(tmp_path / "config", create=False) == NodeConfig()
    assert started
