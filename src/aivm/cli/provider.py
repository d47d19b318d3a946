"""``aivm provider init|start|status``: the compute provider node (``aivm.worker``).

``init`` writes ``<home>/provider.toml`` (key, node and REST addresses, offers, capacity and
the hardware measured on this machine) and prints the matching ``aivm tx compute
register-provider`` command; ``start`` serves matched jobs until SIGTERM/Ctrl-C; ``status``
shows the provider's jobs (from chain), earnings and reputation. See
``src/aivm/worker/README.md``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from aivm.cli import common as cli
from aivm.client.client import DEFAULT_REST, Client
from aivm.client.keyring import Keyring
from aivm.types.coin import BOND_DENOM


def cmd_provider_init(s: cli.Settings, args: argparse.Namespace) -> None:
    from aivm.worker import config as worker_config
    from aivm.worker.hardware import probe

    home = s.home
    path = worker_config.path_of(home)
    if path.exists() and not args.overwrite:
        raise cli.CliError(f"{path} exists (pass --overwrite to replace it)")
    try:
        offers = tuple(worker_config.Offer.parse(o) for o in args.offer)
    except worker_config.ConfigError as exc:
        raise cli.CliError(str(exc)) from None
    config = worker_config.ProviderConfig(
        key=args.key,
        node=s.node,
        rest=args.rest or DEFAULT_REST,
        keyring_backend=s.keyring_backend,
        capacity=args.capacity,
        max_batch=args.max_batch,
        offers=offers,
        hardware=probe(measure=not args.no_benchmark),
    )
    worker_config.save(home, config)
    hw = config.hardware
    register = (
        f"aivm tx compute register-provider --home {home} --from {args.key} "
        f"--keyring-backend {config.keyring_backend} --node {config.node} "
        f"--collateral 100000000{BOND_DENOM} --cpu-cores {hw.cpu_cores} "
        f"--memory-mib {hw.memory_mib} --runtimes onnxruntime --capacity {config.capacity}"
        + (
            f" --gpu-model '{hw.gpu_model}' --gpu-count {hw.gpu_count} "
            f"--gpu-memory-mib {hw.gpu_memory_mib}"
            if hw.gpu_count
            else ""
        )
        + "".join(f" --offer {o.model_id}:{o.version}:{o.price_per_unit}" for o in offers)
    )
    cli.emit(
        s,
        {
            "written": str(path),
            "key": config.key,
            "node": config.node,
            "rest": config.rest,
            "capacity": config.capacity,
            "offers": [f"{o.model_id}:{o.version}:{o.price_per_unit}" for o in offers],
            "hardware": hw.as_dict(),
            "register_with": register,
        },
    )


def _keyring(s: cli.Settings, args: argparse.Namespace, configured: str) -> Keyring:
    """The home's keyring, in the config's backend unless --keyring-backend says otherwise."""
    if not args.keyring_backend:
        s.keyring_backend = configured
    return s.keyring()


def cmd_provider_start(s: cli.Settings, args: argparse.Namespace) -> None:
    from aivm.worker import config as worker_config
    from aivm.worker.node import ProviderNode

    try:
        config = worker_config.load(s.home)
    except worker_config.ConfigError as exc:
        raise cli.CliError(str(exc)) from None
    wallet = _keyring(s, args, config.keyring_backend).wallet(config.key)
    node = args.node or config.node
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Client(node, rest=config.rest, chain_id=s.chain_id, gas_price=s.gas_prices) as client:
        try:
            ProviderNode(s.home, config, wallet, client).run(stop)
        except KeyboardInterrupt:
            stop.set()


def cmd_provider_status(s: cli.Settings, args: argparse.Namespace) -> None:
    from aivm.worker import config as worker_config
    from aivm.worker.node import provider_status

    try:
        config = worker_config.load(s.home)
    except worker_config.ConfigError as exc:
        raise cli.CliError(str(exc)) from None
    address = args.address
    if not address:
        address = _keyring(s, args, config.keyring_backend).wallet(config.key).address
    with Client(args.node or config.node, chain_id=s.chain_id) as client:
        cli.emit(s, provider_status(client, address))


def register(subs: Any, leaf: cli.Leaf, branch: cli.Branch) -> None:
    """Add ``aivm provider init|start|status`` to the ``aivm`` command group ``subs``."""
    provider = branch(subs, "provider", "Run a compute provider node")
    p = leaf(
        provider,
        "init",
        cmd_provider_init,
        "Write <home>/provider.toml: key, node, offers, capacity, measured hardware",
        "  aivm provider init --home ~/.aivm-provider --key alice --offer 1:1.0.0:250 --capacity 4",
    )
    p.add_argument("--key", required=True, help="keyring key the node signs with")
    p.add_argument("--offer", action="append", default=[], metavar="MODEL_ID:VERSION:PRICE")
    p.add_argument("--capacity", type=int, default=1, help="concurrent jobs (default 1)")
    p.add_argument("--max-batch", type=int, default=256, help="rows per onnxruntime run")
    p.add_argument("--no-benchmark", action="store_true", help="skip the throughput probe")
    p.add_argument("--overwrite", action="store_true", help="replace an existing provider.toml")
    p.add_argument("--rest", default=None, help=f"REST gateway (default {DEFAULT_REST})")
    leaf(
        provider,
        "start",
        cmd_provider_start,
        "Serve matched jobs until stopped (follows blocks over the websocket)",
        "  aivm provider start --home ~/.aivm-provider",
    )
    p = leaf(
        provider,
        "status",
        cmd_provider_status,
        "The provider's jobs (from chain), earnings and reputation",
        "  aivm provider status --home ~/.aivm-provider -o json",
    )
    p.add_argument("--address", default=None, help="another provider (default: the config's key)")
