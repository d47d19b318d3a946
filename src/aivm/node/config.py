"""Node-local settings: ``<home>/config/app.toml``.

The file is the node's equivalent of the Cosmos SDK's ``app.toml`` and CometBFT's
``config.toml``: kebab-case keys grouped in tables, every key written with its default and a
comment when the home is created (``aivm devnet``, ``aivm init``, ``aivm start``). Nothing in
it changes consensus results: two nodes with different files agree on every block.

```toml
[rpc]       # the devnet's CometBFT-compatible JSON-RPC (and its front-end process)
[storage]   # the content store behind POST /aivm/storage/v1/blobs
[app]       # AppOptions: CheckTx gas price floor, gas and time caps of queries and Simulate
```

``load_node_config`` reads it with ``tomllib``; an unknown table or key, or a value of the
wrong type or range, raises :class:`NodeConfigError` naming the file, table and key. Command
line flags that exist for a setting (``--min-gas-price``) override the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aivm.app.application import AppOptions
from aivm.types.dec import Dec

APP_CONFIG_FILE = "app.toml"
GIB = 1 << 30
_ORIGIN = re.compile(r"^(\*|null|[a-z][a-z0-9+.-]*://[^/\s?#]+)$")
Parse = Callable[[str, Any], Any]
"""Checks one value of ``app.toml`` (``where`` names it in errors) and returns it."""


class NodeConfigError(ValueError):
    """``app.toml`` cannot be read: the message names the file, the table and the key."""


def _int_value(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NodeConfigError(f"{where}: expected an integer, got {value!r}")
    if value < minimum:
        raise NodeConfigError(f"{where}: must be at least {minimum}, got {value}")
    return value


def _gas_price_value(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise NodeConfigError(f'{where}: expected a decimal string such as "0.0025"')
    try:
        price = Dec.from_str(value)
    except Exception as exc:
        raise NodeConfigError(f"{where}: invalid decimal {value!r}: {exc}") from None
    if price.is_negative():
        raise NodeConfigError(f"{where}: must not be negative, got {value!r}")
    return value


def _origins_value(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NodeConfigError(f"{where}: expected a list of strings")
    for origin in value:
        if not _ORIGIN.match(origin):
            raise NodeConfigError(
                f"{where}: {origin!r} is not an origin (scheme://host[:port], no path)"
            )
    return tuple(value)


def _setting(default: Any, doc: str, minimum: int = 0, parse: Parse | None = None) -> Any:
    """A dataclass field carrying its ``app.toml`` comment and how a value is checked: an
    integer of at least ``minimum``, unless another ``parse`` is given."""
    return field(default=default, metadata={"doc": doc, "minimum": minimum, "parse": parse})


@dataclass(frozen=True)
class RpcConfig:
    """``[rpc]``: limits of the devnet's JSON-RPC server and its front-end process."""

    max_body_bytes: int = _setting(
        1_000_000, "Largest JSON-RPC request body or websocket message, in bytes.", 1
    )
    max_request_batch_size: int = _setting(
        10,
        "Most requests in one JSON-RPC batch (CometBFT's max_request_batch_size; 0 = no limit).",
    )
    max_subscription_clients: int = _setting(
        100,
        "Most websocket clients holding subscriptions at once (CometBFT's "
        "max_subscription_clients).",
    )
    max_subscriptions_per_client: int = _setting(
        5,
        "Most subscriptions one websocket client may hold (CometBFT's "
        "max_subscriptions_per_client).",
    )
    max_websocket_connections: int = _setting(
        200,
        "Most websocket connections open at once; more are answered HTTP 503.",
    )
    max_query_length: int = _setting(
        512,
        "Longest tx_search / subscribe query, in bytes (CometBFT's fixed 512).",
        1,
    )
    max_query_conditions: int = _setting(
        8, "Most conditions (joined by AND) in one tx_search / subscribe query.", 1
    )
    query_time_share_percent: int = _setting(
        50,
        "Percent of each block interval that abci_query (queries and Simulate) may take on the "
        "devnet's block-producing thread; past it, queries wait for the next block.",
        1,
    )


@dataclass(frozen=True)
class StorageConfig:
    """``[storage]``: the content store behind ``/aivm/storage/v1/blobs``."""

    max_object_bytes: int = _setting(
        GIB, "Largest file one upload may store, in bytes (HTTP 413 beyond).", 1
    )
    max_total_bytes: int = _setting(
        10 * GIB,
        "Quota of the whole content store, in bytes (HTTP 507 beyond; 0 = no quota).",
    )
    cors_allowed_origins: tuple[str, ...] = _setting(
        (),
        'Web origins (e.g. "https://app.example") allowed to upload from a browser; '
        'requests carrying any other Origin are refused (403). "*" allows every origin.',
        parse=_origins_value,
    )


@dataclass(frozen=True)
class AppConfig:
    """``[app]``: node-local options of the application (``AppOptions``)."""

    min_gas_price: str = _setting(
        "0.0025",
        "Lowest ucgpt per gas CheckTx accepts on this node (flag --min-gas-price).",
        parse=_gas_price_value,
    )
    query_gas_limit: int = _setting(
        50_000_000, "Most gas one ABCI query may use (the SDK's query-gas-limit; 0 = no limit)."
    )
    simulate_gas_limit: int = _setting(
        50_000_000, "Most gas one Simulate may use, whatever the tx asks for (0 = no limit)."
    )
    query_time_limit_ms: int = _setting(
        500, "Most milliseconds one query or Simulate may run (0 = no limit)."
    )


@dataclass(frozen=True)
class NodeConfig:
    """Everything in ``app.toml``, one dataclass per table."""

    rpc: RpcConfig = field(default_factory=RpcConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    app: AppConfig = field(default_factory=AppConfig)


_TABLES: dict[str, type[Any]] = {"rpc": RpcConfig, "storage": StorageConfig, "app": AppConfig}
_TABLE_TITLES = {
    "rpc": "The devnet's JSON-RPC server and its front-end process (aivm devnet).",
    "storage": "The content store behind /aivm/storage/v1/blobs on the REST gateway.",
    "app": "Node-local options of the application: CheckTx floor, query and Simulate caps.",
}


def toml_key(name: str) -> str:
    """The kebab-case ``app.toml`` key of a field name."""
    return name.replace("_", "-")


# -- reading ------------------------------------------------------------------------------


def _field_value(where: str, spec: dataclasses.Field[Any], value: Any) -> Any:
    parse = spec.metadata["parse"]
    if parse is not None:
        return parse(where, value)
    return _int_value(where, value, spec.metadata["minimum"])


def _table(path: Path, name: str, values: Any) -> Any:
    cls = _TABLES.get(name)
    if cls is None:
        known = ", ".join(f"[{t}]" for t in _TABLES)
        raise NodeConfigError(f"{path}: unknown table [{name}] (known: {known})")
    if not isinstance(values, dict):
        raise NodeConfigError(f"{path}: {name} must be a table ([{name}])")
    specs = {toml_key(f.name): f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            raise NodeConfigError(f"{path}: unknown key [{name}] {key}")
        kwargs[spec.name] = _field_value(f"{path}: [{name}] {key}", spec, value)
    return cls(**kwargs)


def parse_node_config(text: str, path: Path = Path(APP_CONFIG_FILE)) -> NodeConfig:
    """The settings in ``text`` (TOML); missing keys keep their defaults."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NodeConfigError(f"{path}: {exc}") from None
    tables = {name: _table(path, name, values) for name, values in document.items()}
    return NodeConfig(**tables)


def load_node_config(config_dir: Path, create: bool = True) -> NodeConfig:
    """Read ``config_dir/app.toml``; when it is missing, write the defaults first (``create``)
    or return them."""
    path = config_dir / APP_CONFIG_FILE
    if not path.exists():
        if create:
            write_default_config(config_dir)
        return NodeConfig()
    return parse_node_config(path.read_text(), path)


# -- writing ------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


def render_node_config(config: NodeConfig | None = None) -> str:
    """``app.toml`` text for ``config`` (default: the defaults), with a comment per key."""
    config = config or NodeConfig()
    lines = [
        "# AIVM node configuration: node-local limits, read at start. Flags that exist for a",
        "# setting override it. Nothing here changes consensus results.",
    ]
    for name in _TABLES:
        table = getattr(config, name)
        lines += ["", f"### {_TABLE_TITLES[name]}", f"[{name}]"]
        for spec in dataclasses.fields(table):
            lines.append("")
            lines += textwrap.wrap(
                spec.metadata["doc"], 96, initial_indent="# ", subsequent_indent="# "
            )
            lines.append(f"{toml_key(spec.name)} = {_toml_value(getattr(table, spec.name))}")
    return "\n".join(lines) + "\n"


def write_default_config(config_dir: Path) -> Path:
    """Write ``config_dir/app.toml`` with every default (atomically); returns its path."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / APP_CONFIG_FILE
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(render_node_config())
    os.replace(tmp, path)
    return path


# -- wiring -------------------------------------------------------------------------------


def app_options(app: AppConfig) -> AppOptions:
    """The ``AppOptions`` of the ``[app]`` table, with the node's monotonic clock (the app
    reads none itself) for the time limit of queries and Simulate."""
    return AppOptions(
        min_gas_price=Dec.from_str(app.min_gas_price),
        query_gas_limit=app.query_gas_limit,
        simulate_gas_limit=app.simulate_gas_limit,
        query_time_limit_ms=app.query_time_limit_ms,
        clock=time.monotonic_ns,
    )


def with_min_gas_price(config: NodeConfig, price: str | None) -> NodeConfig:
    """``config`` with ``--min-gas-price`` applied when given (validated like the file's)."""
    if price is None:
        return config
    value = _gas_price_value("--min-gas-price", price)
    return dataclasses.replace(config, app=dataclasses.replace(config.app, min_gas_price=value))
