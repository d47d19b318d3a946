"""The ``aivm`` command: keys, transactions, queries, node status and the embedded devnet.

Follows Cosmos SDK CLI conventions (``aivm keys add``, ``aivm tx bank send``,
``aivm query bank balances``, ``--node``, ``--chain-id``, ``--keyring-backend``, ``--fees``,
``--gas auto``, ``-o json``). Global flags may be given before or after the subcommand;
defaults come from ``<home>/config/client.toml`` (written by ``aivm init``).
Errors print one line (``Error: ...``) and exit non-zero; set ``AIVM_DEBUG=1`` for tracebacks.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from aivm.cli import provider as provider_commands
from aivm.cli import verifier as verifier_commands
from aivm.cli.common import (
    CLIENT_CONFIG,
    DEFAULT_CHAIN_ID,
    DEFAULT_HOME,
    Branch,
    CliError,
    Leaf,
    Register,
    Settings,
    confirm,
    emit,
)
from aivm.client import (
    DEFAULT_GAS_ADJUSTMENT,
    DEFAULT_GAS_PRICE,
    DEFAULT_RPC,
    ChainError,
    ClientError,
)
from aivm.client.keyring import BACKENDS, KeyringError
from aivm.client.results import to_jsonable
from aivm.client.tx import SIGN_MODES
from aivm.types.address import acc_address_bytes, valcons_address, valoper_address
from aivm.types.errors import AivmError

if TYPE_CHECKING:
    from aivm.node.config import NodeConfig


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and examples kept as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"Error: {message} (see '{self.prog} --help')\n")


# -- global flags ---------------------------------------------------------------------------


def _global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Flags accepted everywhere; leaf copies use SUPPRESS so they never mask earlier values."""

    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    g = parser.add_argument_group("global flags")
    g.add_argument("--home", default=d(None), help=f"client and node home (default {DEFAULT_HOME})")
    g.add_argument("--node", default=d(None), help=f"CometBFT RPC address (default {DEFAULT_RPC})")
    g.add_argument("--chain-id", default=d(None), help="chain id (default: asked from the node)")
    g.add_argument(
        "--keyring-backend",
        choices=BACKENDS,
        default=d(None),
        help="keyring backend (default file)",
    )
    g.add_argument(
        "--fees", default=d(None), help="fee to pay, e.g. 5000ucgpt (default: gas × gas price)"
    )
    g.add_argument(
        "--gas-prices",
        default=d(None),
        help=f"gas price, or 'auto': the fee market's price x 1.2 (default {DEFAULT_GAS_PRICE})",
    )
    g.add_argument("--gas", default=d(None), help="gas limit: 'auto' (simulate) or a number")
    g.add_argument(
        "--gas-adjustment",
        type=float,
        default=d(None),
        help=f"factor on simulated gas (default {DEFAULT_GAS_ADJUSTMENT})",
    )
    g.add_argument(
        "--sign-mode",
        choices=tuple(SIGN_MODES),
        default=d(None),
        help="how txs are signed: direct (default) or amino-json (SIGN_MODE_LEGACY_AMINO_JSON)",
    )
    g.add_argument("-y", "--yes", action="store_true", default=d(False), help="skip confirmations")
    g.add_argument(
        "-o", "--output", choices=("text", "json"), default=d(None), help="output format"
    )


# -- prompts ----------------------------------------------------------------------------------


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Enter your bip39 mnemonic: ")
    line = sys.stdin.readline()
    if not line.strip():
        raise CliError("no mnemonic given on standard input")
    return line


# -- commands -------------------------------------------------------------------------------


def cmd_status(s: Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        emit(s, client.status())


def cmd_init(s: Settings, args: argparse.Namespace) -> None:
    from aivm.node.config import APP_CONFIG_FILE, write_default_config

    path = s.home.joinpath(*CLIENT_CONFIG)
    if path.exists() and not args.overwrite:
        raise CliError(f"{path} already exists (pass --overwrite to replace it)")
    node_config = path.parent / APP_CONFIG_FILE
    if not node_config.exists():  # the node's limits: kept, even with --overwrite
        write_default_config(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "chain-id": s.chain_id or DEFAULT_CHAIN_ID,
        "node": s.node,
        "keyring-backend": s.keyring_backend,
        "output": s.output,
        "gas-prices": s.gas_prices,
    }
    body = "# aivm client configuration (flags override these)\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in values.items()
    )
    path.write_text(body)
    emit(s, {"config": str(path), "node_config": str(node_config), **values})


def cmd_devnet(s: Settings, args: argparse.Namespace) -> None:
    from aivm.devnet.process import DevnetOptions, serve

    options = DevnetOptions(
        home=s.home,
        block_time_ms=args.block_time,
        rpc_port=args.rpc_port,
        rest_port=args.rest_port if args.rest_port >= 0 else None,
        accounts=args.accounts,
        ipfs_api=args.ipfs_api or None,
        reset=args.reset,
        rpc_frontend=not args.no_rpc_frontend,
        check_invariants=args.check_invariants,
        log_level=args.log_level,
    )
    code = serve(options)
    if code:
        raise SystemExit(code)


def _node_config(s: Settings, args: argparse.Namespace) -> NodeConfig:
    """``<home>/config/app.toml`` (written with the defaults if missing), with the flags that
    override it applied."""
    from aivm.node.config import NodeConfigError, load_node_config, with_min_gas_price

    try:
        config = load_node_config(s.home / "config")
        return with_min_gas_price(config, args.min_gas_price)
    except NodeConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_start(s: Settings, args: argparse.Namespace) -> None:
    import asyncio
    import logging
    import signal

    from aivm.app.application import AivmApp
    from aivm.node import eventloop
    from aivm.node.abci_server import parse_address, serve
    from aivm.node.blobstore import open_blob_store
    from aivm.node.config import app_options
    from aivm.node.home import HomePaths
    from aivm.node.rest import RestGateway
    from aivm.node.snapshots import SnapshotManager
    from aivm.store import CommitStore

    parse_address(args.abci)  # ValueError → one-line error before anything opens
    config = _node_config(s, args)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    paths = HomePaths(s.home)
    if args.snapshot_interval < 0 or args.snapshot_keep_recent < 1:
        raise CliError("--snapshot-interval must be >= 0 and --snapshot-keep-recent >= 1")
    paths.state.mkdir(parents=True, exist_ok=True)
    store = CommitStore.open(paths.state)
    snapshots: SnapshotManager | None = None
    try:
        app = AivmApp(store, app_options(config.app))
        snapshots = SnapshotManager(
            app, paths.data / "snapshots", args.snapshot_interval, args.snapshot_keep_recent
        )

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

            def ready(address: str) -> None:
                print(f"aivm ABCI app at height {store.version} listening on {address}", flush=True)

            gateway: RestGateway | None = None
            if args.rest_port >= 0:  # with the [storage] limits, which serve() does not take
                gateway = RestGateway(
                    args.rpc,
                    blob_store=open_blob_store(paths.root / "blobs", args.ipfs_api, config.storage),
                    cors_allowed_origins=config.storage.cors_allowed_origins,
                )
                port = await gateway.start("127.0.0.1", args.rest_port)
                print(f"REST gateway on http://127.0.0.1:{port} (node {args.rpc})", flush=True)
            try:
                await serve(app, args.abci, stop, on_ready=ready, snapshots=snapshots)
            finally:
                if gateway is not None:
                    await gateway.stop()

        eventloop.run(run())
    finally:
        if snapshots is not None:
            snapshots.close()  # a snapshot being written reads the store: finish it first
        store.close()


def _localnet_home(args: argparse.Namespace) -> Path:
    from aivm.tools.localnet import DEFAULT_LOCALNET_HOME

    return Path(args.home or DEFAULT_LOCALNET_HOME).expanduser()


def _localnet(args: argparse.Namespace) -> Any:
    from aivm.tools.localnet import Localnet, LocalnetError

    try:
        return Localnet(_localnet_home(args))
    except LocalnetError as exc:
        raise CliError(str(exc)) from exc


def _localnet_nodes(net: Any, node: int | None) -> list[int] | None:
    if node is not None and not 0 <= node < net.size:  # add_node's full nodes too
        raise CliError(f"node {node} out of range (the localnet has {net.size})")
    return None if node is None else [node]


def cmd_localnet_init(s: Settings, args: argparse.Namespace) -> None:
    from aivm.tools.cometbft import CometbftUnavailable, ensure_cometbft
    from aivm.tools.localnet import Localnet, LocalnetError

    try:
        binary = Path(args.cometbft) if args.cometbft else ensure_cometbft()
        net = Localnet.init(
            _localnet_home(args),
            args.validators,
            binary,
            base_port=args.base_port,
            accounts=args.accounts,
            overwrite=args.overwrite,
        )
    except (CometbftUnavailable, LocalnetError) as exc:
        raise CliError(str(exc)) from exc
    nodes = [
        {"node": f"node{i}", "node_id": net.node_id(i), **net.ports(i).__dict__}
        for i in range(net.validators)
    ]
    emit(
        s,
        {
            "home": str(net.home),
            "chain_id": net.chain_id,
            "validators": net.validators,
            "accounts": str(net.home / "accounts.json"),
            "nodes": nodes,
        },
    )


def cmd_localnet_start(s: Settings, args: argparse.Namespace) -> None:
    from aivm.tools.localnet import LocalnetError

    net = _localnet(args)
    try:
        started = net.start(_localnet_nodes(net, args.node), timeout=args.timeout)
    except LocalnetError as exc:
        raise CliError(str(exc)) from exc
    emit(s, {"started": started, "logs": str(net.home / "node*" / "*.log")})


def cmd_localnet_stop(s: Settings, args: argparse.Namespace) -> None:
    net = _localnet(args)
    emit(s, {"stopped": net.stop(_localnet_nodes(net, args.node), timeout=args.timeout)})


def cmd_localnet_status(s: Settings, args: argparse.Namespace) -> None:
    net = _localnet(args)
    rows = net.status()
    if s.output == "json":
        print(json.dumps(rows, indent=2))
        return
    print(f"{'node':<7}{'app':<5}{'cmt':<5}{'height':>8}{'app_h':>8}  {'rpc':<24} app_hash")
    for r in rows:
        yes = {True: "up", False: "-"}
        h = "-" if r["height"] is None else str(r["height"])
        ah = "-" if r["app_height"] is None else str(r["app_height"])
        sync = " (catching up)" if r["catching_up"] else ""
        print(
            f"{r['node']:<7}{yes[r['app']]:<5}{yes[r['cometbft']]:<5}{h:>8}{ah:>8}  "
            f"{r['rpc']:<24} {r['app_hash'] or '-'}{sync}"
        )


def cmd_localnet_logs(s: Settings, args: argparse.Namespace) -> None:
    import time

    net = _localnet(args)
    node = 0 if args.node is None else args.node
    _localnet_nodes(net, node)
    procs = [args.process] if args.process else ["app", "cometbft"]
    for proc in procs:
        print(f"==> {net.log_path(node, proc)} <==")
        print(net.tail(node, proc, args.lines))
    if not args.follow:
        return
    files = {
        p: open(net.log_path(node, p), "rb")  # noqa: SIM115
        for p in procs
        if net.log_path(node, p).exists()
    }
    try:
        for f in files.values():
            f.seek(0, os.SEEK_END)
        while True:
            for proc, f in files.items():
                chunk = f.read()
                if chunk:
                    for line in chunk.decode(errors="replace").splitlines():
                        print(f"{proc}| {line}", flush=True)
            time.sleep(0.3)
    finally:
        for f in files.values():
            f.close()


def _key_out(s: Settings, info: Any, extra: dict[str, Any] | None = None) -> None:
    emit(s, {**to_jsonable(info), **(extra or {})})


def cmd_keys_add(s: Settings, args: argparse.Namespace) -> None:
    kr = s.keyring()
    if args.recover:
        info = kr.import_mnemonic(args.name, _read_mnemonic(), args.account, args.index)
        _key_out(s, info)
        return
    info, mnemonic = kr.add(args.name, args.account, args.index)
    if s.output == "json":
        _key_out(s, info, {"mnemonic": mnemonic})
        return
    _key_out(s, info)
    print(
        "\n**Important** write this mnemonic phrase in a safe place.\n"
        "It is the only way to recover your account if you ever forget your password.\n\n"
        + mnemonic
    )


def cmd_keys_import(s: Settings, args: argparse.Namespace) -> None:
    _key_out(s, s.keyring().import_mnemonic(args.name, _read_mnemonic(), args.account, args.index))


def cmd_keys_list(s: Settings, args: argparse.Namespace) -> None:
    keys = s.keyring().list()
    if s.output == "json":
        emit(s, keys)
    elif not keys:
        print("No keys in the keyring (create one with 'aivm keys add NAME').")
    else:
        emit(s, keys)


def cmd_keys_show(s: Settings, args: argparse.Namespace) -> None:
    info = s.keyring().show(args.name)
    address = _bech_address(info.address, args.bech)
    if args.address:
        print(address)
    else:
        _key_out(s, info, {"address": address})


def _bech_address(address: str, bech: str) -> str:
    """The key's address with the ``--bech`` prefix: ``acc`` (aivm1…), ``val`` (its validator
    operator, aivmvaloper1…) or ``cons`` (aivmvalcons1…), as the SDK's ``keys show --bech``."""
    raw = acc_address_bytes(address)
    return {"acc": address, "val": valoper_address(raw), "cons": valcons_address(raw)}[bech]


def cmd_keys_delete(s: Settings, args: argparse.Namespace) -> None:
    kr = s.keyring()
    info = kr.show(args.name)
    confirm(s, f"Key '{info.name}' ({info.address}) will be deleted. Continue?")
    kr.delete(info.name)
    print(f"Key '{info.name}' deleted", file=sys.stderr)


def cmd_keys_export(s: Settings, args: argparse.Namespace) -> None:
    kr = s.keyring()
    info = kr.show(args.name)
    confirm(s, f"This prints the mnemonic of '{info.name}' in clear text. Continue?")
    mnemonic = kr.export(info.name)
    if s.output == "json":
        _key_out(s, info, {"mnemonic": mnemonic})
    else:
        print(mnemonic)


def cmd_query_tx(s: Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        found = client.tx(args.hash)
    if found is None:
        raise CliError(f"tx {args.hash.upper()} not found")
    emit(s, found)


def cmd_query_block(s: Settings, args: argparse.Namespace) -> None:
    with s.client() as client:
        emit(s, client.block(args.height))


def duration_ms(text: str) -> int:
    """``1s``, ``200ms``, ``0.5s`` or a bare number of milliseconds → milliseconds."""
    text = text.strip().lower()
    try:
        if text.endswith("ms"):
            value = float(text[:-2])
        elif text.endswith("s"):
            value = float(text[:-1]) * 1000
        else:
            value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 1s, 500ms)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"block time must be positive: {text!r}")
    return int(value)


# -- parser ---------------------------------------------------------------------------------

Handler = Callable[[Settings, argparse.Namespace], None]


def build_parser() -> Parser:
    root = Parser(
        prog="aivm",
        description="AIVM: an AI-first Cosmos-compatible chain (keys, txs, queries, devnet).",
        epilog=(
            "examples:\n"
            "  aivm devnet --home ~/.aivm                 # run a local chain\n"
            "  aivm start --home ~/.aivm                  # serve ABCI to cometbft start\n"
            "  aivm keys add alice --keyring-backend test\n"
            "  aivm tx bank send alice aivm1... 1000ucgpt --yes\n"
            "  aivm query bank balances aivm1... -o json\n"
            "  aivm status --node http://127.0.0.1:26657"
        ),
    )
    _global_flags(root, suppress=False)
    subs = root.add_subparsers(dest="command", metavar="COMMAND")

    def leaf(
        group: Any, name: str, handler: Handler, help_: str, examples: str, **kw: Any
    ) -> Parser:
        p: Parser = group.add_parser(
            name, help=help_, description=help_, epilog="examples:\n" + examples, **kw
        )
        _global_flags(p, suppress=True)
        p.set_defaults(handler=handler)
        return p

    def branch(group: Any, name: str, help_: str, **kw: Any) -> Any:
        p = group.add_parser(name, help=help_, description=help_, **kw)
        p.set_defaults(handler=None, branch=p)
        return p.add_subparsers(metavar="COMMAND")

    leaf(
        subs,
        "status",
        cmd_status,
        "Show the node's chain id and latest block",
        "  aivm status -o json",
    )
    p = leaf(
        subs,
        "init",
        cmd_init,
        "Write <home>/config/client.toml with the node, chain id and keyring backend",
        "  aivm init --chain-id aivm-devnet-1 --keyring-backend test",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing client.toml")
    p = leaf(
        subs,
        "devnet",
        cmd_devnet,
        "Run the embedded single-validator devnet (RPC on --rpc-port, REST on --rest-port)",
        "  aivm devnet\n  aivm devnet --home /tmp/dev --block-time 500ms --reset --accounts 5",
    )
    p.add_argument(
        "--block-time",
        type=duration_ms,
        default="1s",
        help="block interval, e.g. 1s or 500ms (default 1s)",
    )
    p.add_argument("--rpc-port", type=int, default=26657, help="JSON-RPC port (default 26657)")
    p.add_argument(
        "--rest-port",
        type=int,
        default=1317,
        help="REST gateway port (default 1317; 0 = a free port; -1 = no REST gateway)",
    )
    p.add_argument("--accounts", type=int, default=3, help="funded dev accounts at first start")
    p.add_argument(
        "--ipfs-api",
        default=None,
        help="keep uploaded blobs in the IPFS daemon at this API URL (default: <home>/blobs)",
    )
    p.add_argument("--reset", action="store_true", help="wipe the home's chain data first")
    p.add_argument(
        "--no-rpc-frontend",
        action="store_true",
        help="serve the RPC port in the node's own process instead of a front-end process "
        "(the default front end leaves the node's thread to CheckTx and blocks)",
    )
    p.add_argument(
        "--check-invariants",
        action="store_true",
        help="debug mode: check every module's invariants after each block and halt the "
        "devnet when one breaks (like the Cosmos SDK's crisis module)",
    )
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")

    p = leaf(
        subs,
        "start",
        cmd_start,
        "Serve the app to a CometBFT node over ABCI (state in <home>/data/state)",
        "  aivm start --home ~/.aivm &\n"
        "  cometbft start --home ~/.cometbft --proxy_app tcp://127.0.0.1:26658\n"
        "  aivm start --home /tmp/n0 --abci unix:///tmp/n0/abci.sock --rest-port 1317 \\\n"
        "      --rpc http://127.0.0.1:26657",
    )
    p.add_argument(
        "--abci",
        default="tcp://127.0.0.1:26658",
        help="listen address: tcp://HOST:PORT or unix://PATH (default tcp://127.0.0.1:26658)",
    )
    p.add_argument(
        "--rest-port",
        type=int,
        default=-1,
        help="also serve the REST gateway on this port (0 = a free port; default -1 = none)",
    )
    p.add_argument(
        "--rpc",
        default="http://127.0.0.1:26657",
        help="CometBFT RPC the REST gateway talks to (default http://127.0.0.1:26657)",
    )
    p.add_argument(
        "--min-gas-price",
        default=None,
        help="lowest ucgpt per gas CheckTx accepts on this node (default: [app] min-gas-price "
        "of <home>/config/app.toml, 0.0025)",
    )
    p.add_argument(
        "--ipfs-api",
        default=None,
        help="keep uploaded blobs in the IPFS daemon at this API URL (default: <home>/blobs)",
    )
    p.add_argument(
        "--snapshot-interval",
        type=int,
        default=0,
        help="take a state-sync snapshot every N heights (default 0 = never)",
    )
    p.add_argument(
        "--snapshot-keep-recent",
        type=int,
        default=2,
        help="how many snapshots to keep on disk (default 2)",
    )
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")

    localnet = branch(
        subs,
        "localnet",
        "Run N CometBFT validators + aivm apps on this machine (chain aivm-localnet-1)",
    )
    home_help = "  (--home DIR: the localnet directory, default ~/.aivm-localnet)"
    p = leaf(
        localnet,
        "init",
        cmd_localnet_init,
        "Write N node homes, one genesis, config.toml per node and accounts.json",
        "  aivm localnet init --validators 4\n"
        "  aivm localnet init --validators 7 --home /tmp/ln --base-port 36656 --overwrite\n"
        + home_help,
    )
    p.add_argument("--validators", type=int, default=4, help="number of validators (default 4)")
    p.add_argument(
        "--base-port",
        type=int,
        default=26656,
        help="node i uses base+10i (p2p), +1 (RPC), +2 (ABCI), +3 (REST); default 26656",
    )
    p.add_argument("--accounts", type=int, default=4, help="funded test accounts (default 4)")
    p.add_argument("--cometbft", default=None, help="CometBFT binary (default: build the pinned)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing localnet")
    for name, handler, help_ in (
        ("start", cmd_localnet_start, "Start the nodes (or one node) in the background"),
        ("stop", cmd_localnet_stop, "Stop the nodes (or one node): SIGTERM, then SIGKILL"),
    ):
        p = leaf(
            localnet,
            name,
            handler,
            help_,
            f"  aivm localnet {name}\n  aivm localnet {name} 2\n" + home_help,
        )
        p.add_argument("node", type=int, nargs="?", default=None, help="node index (default all)")
        p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    leaf(
        localnet,
        "status",
        cmd_localnet_status,
        "Per node: processes running, height, the app's height and app hash",
        "  aivm localnet status\n  aivm localnet status -o json\n" + home_help,
    )
    p = leaf(
        localnet,
        "logs",
        cmd_localnet_logs,
        "Print the end of a node's logs (app and CometBFT); -f follows them",
        "  aivm localnet logs 1\n  aivm localnet logs 0 --process cometbft -n 200 -f\n" + home_help,
    )
    p.add_argument("node", type=int, nargs="?", default=None, help="node index (default 0)")
    p.add_argument("--process", choices=("app", "cometbft"), default=None, help="only this log")
    p.add_argument("-n", "--lines", type=int, default=50, help="lines per log (default 50)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")

    provider_commands.register(subs, leaf, branch)
    verifier_commands.register(subs, leaf, branch)

    keys = branch(subs, "keys", "Manage the local keyring")
    p = leaf(
        keys,
        "add",
        cmd_keys_add,
        "Create a new key (or recover one with --recover) and store it",
        "  aivm keys add alice\n"
        '  echo "$MNEMONIC" | aivm keys add bob --recover --keyring-backend test',
    )
    p.add_argument("name")
    p.add_argument(
        "--recover", action="store_true", help="read a mnemonic instead of generating one"
    )
    p.add_argument("--account", type=int, default=0, help="HD account (m/44'/118'/ACCOUNT'/0/i)")
    p.add_argument("--index", type=int, default=0, help="HD address index")
    p = leaf(
        keys,
        "import",
        cmd_keys_import,
        "Import a key from a BIP39 mnemonic (prompted, or read from stdin)",
        "  aivm keys import alice\n"
        "  cat mnemonic.txt | aivm keys import alice --keyring-backend test",
    )
    p.add_argument("name")
    p.add_argument("--account", type=int, default=0, help="HD account")
    p.add_argument("--index", type=int, default=0, help="HD address index")
    leaf(keys, "list", cmd_keys_list, "List all keys", "  aivm keys list -o json")
    p = leaf(
        keys,
        "show",
        cmd_keys_show,
        "Show a key by name or address",
        "  aivm keys show alice -a\n  aivm keys show alice --bech val -a   # its aivmvaloper1...",
    )
    p.add_argument("name")
    p.add_argument("-a", "--address", action="store_true", help="print only the address")
    p.add_argument(
        "--bech",
        choices=("acc", "val", "cons"),
        default="acc",
        help="address kind: acc (aivm1...), val (validator operator aivmvaloper1...), "
        "cons (aivmvalcons1...); default acc",
    )
    p = leaf(keys, "delete", cmd_keys_delete, "Delete a key", "  aivm keys delete alice --yes")
    p.add_argument("name")
    p = leaf(
        keys,
        "export",
        cmd_keys_export,
        "Print a key's mnemonic (asks for confirmation)",
        "  aivm keys export alice",
    )
    p.add_argument("name")

    tx = branch(subs, "tx", "Sign and broadcast transactions")
    query = branch(subs, "query", "Query chain state", aliases=["q"])
    p = leaf(
        query, "tx", cmd_query_tx, "An included transaction by hash", "  aivm query tx 5E1F..."
    )
    p.add_argument("hash")
    p = leaf(
        query, "block", cmd_query_block, "A block (latest when no height)", "  aivm query block 10"
    )
    p.add_argument("height", type=int, nargs="?", default=None)
    _register_module_commands(subs, tx, query, leaf, branch)
    return root


def _register_module_commands(subs: Any, tx: Any, query: Any, leaf: Leaf, branch: Branch) -> None:
    """Each module of the app whose package has a ``cli`` submodule
    (``aivm/modules/<name>/cli.py``) adds its own commands through its ``register`` (see
    :data:`aivm.cli.common.Register`), in the order of the app's module list, after the core
    commands."""
    import importlib
    import importlib.util

    from aivm.app.modules import MODULES

    for definition in MODULES:
        name = f"aivm.modules.{definition.name}.cli"
        if importlib.util.find_spec(name) is not None:
            register: Register = importlib.import_module(name).register
            register(subs, tx, query, leaf, branch)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``aivm``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    handler = getattr(args, "handler", None)
    if handler is None:
        target = getattr(args, "branch", parser)
        target.print_help()
        return 0 if args.command is None and argv is not None and not list(argv) else 2
    try:
        handler(Settings(args), args)
        return 0
    except (ChainError, ClientError, KeyringError, CliError, AivmError, ValueError, OSError) as exc:
        if os.environ.get("AIVM_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"Error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("AIVM_DEBUG"):
            raise
        print(f"Error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
