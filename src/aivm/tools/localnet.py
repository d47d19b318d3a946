"""A multi-validator localnet on one machine: N CometBFT nodes, each driving its own
``aivm start`` app over ABCI, all on loopback.

```
DIR/localnet.json          chain id, validator count, base port, CometBFT binary, node ids
DIR/accounts.json          funded test accounts with their BIP39 mnemonics (mode 0600)
DIR/nodeI/cmt/             CometBFT home of node I (config.toml, keys, genesis, block store)
DIR/nodeI/app/             AIVM app home of node I (data/state)
DIR/nodeI/app.log          output of ``aivm start``       DIR/nodeI/app.pid
DIR/nodeI/cometbft.log     output of ``cometbft start``   DIR/nodeI/cometbft.pid
```

Ports: node I uses ``base + 10*I + k`` with k = 0 p2p, 1 RPC, 2 ABCI, 3 REST (base 26656 by
default: node 0 has p2p 26656, RPC 26657, ABCI 26658, REST 26659; node 1 26666…26669).

Every node lists all the others in ``persistent_peers``; all share one genesis.json
(``aivm-localnet-1``, every validator with power 10). Processes run detached in their own
process group (``start_new_session``), so they outlive the command that started them.

``add_node()`` adds a full node (index N, N+1, …: not a validator at genesis, its own
CometBFT keys) peered with the others; it becomes a validator only by ``MsgCreateValidator``
with the key in its ``priv_validator_key.json``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aivm.app.genesis import GenesisDoc, GenesisValidator, format_time
from aivm.crypto.hd import derive_privkey, generate_mnemonic
from aivm.modules.staking.api import POWER_REDUCTION
from aivm.modules.staking.genesis import gentx
from aivm.node.home import write_private_json
from aivm.types.address import acc_address

LOCALNET_CHAIN_ID = "aivm-localnet-1"
DEFAULT_LOCALNET_HOME = "~/.aivm-localnet"
DEFAULT_BASE_PORT = 26656
PORT_STRIDE = 10
MAX_VALIDATORS = 20
VALIDATOR_POWER = 10
DENOM = "ucgpt"
ACCOUNT_BALANCE = 1_000_000_000_000
DEFAULT_ACCOUNTS = 4
PROCESSES = ("app", "cometbft")

CONSENSUS_TIMEOUTS = {
    "timeout_propose": '"1s"',
    "timeout_propose_delta": '"200ms"',
    "timeout_prevote": '"500ms"',
    "timeout_prevote_delta": '"200ms"',
    "timeout_precommit": '"500ms"',
    "timeout_precommit_delta": '"200ms"',
    "timeout_commit": '"500ms"',
}


class LocalnetError(Exception):
    """A user-facing localnet failure."""


@dataclass(frozen=True)
class NodePorts:
    """The loopback ports of one node."""

    p2p: int
    rpc: int
    abci: int
    rest: int

    @classmethod
    def of(cls, base_port: int, index: int) -> NodePorts:
        first = base_port + PORT_STRIDE * index
        return cls(p2p=first, rpc=first + 1, abci=first + 2, rest=first + 3)

    def all(self) -> tuple[int, int, int, int]:
        return (self.p2p, self.rpc, self.abci, self.rest)


def set_toml(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = value`` inside ``[section]`` ("" = top level) of a CometBFT config.toml."""
    lines = text.splitlines()
    current = ""
    for i, line in enumerate(lines):
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            current = header.group(1)
        elif current == section and re.match(rf"^{re.escape(key)}\s*=", line):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise LocalnetError(f"{key} not found in [{section}] of config.toml")


def merge_json(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: objects key by key (recursively), any other value
    replaced. Neither argument is modified."""
    merged = dict(base)
    for key, value in overrides.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_json(old, value)
        else:
            merged[key] = value
    return merged


def node_id_from_key(node_key: dict[str, Any]) -> str:
    """CometBFT node id: lower-hex of sha256(ed25519 pub key)[:20] (as ``show-node-id``)."""
    raw = base64.b64decode(node_key["priv_key"]["value"])
    return hashlib.sha256(raw[32:]).digest()[:20].hex()


def ports_free(ports: Iterable[int]) -> bool:
    """True when every port can be bound on 127.0.0.1 now."""
    for port in ports:
        with socket.socket() as s:
            # as the servers do: a port left in TIME_WAIT by a killed process counts as free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base_port(validators: int, low: int = 15000, high: int = 32000) -> int:
    """A random base port whose whole range for ``validators`` nodes is free now (the default
    range stays below Linux's ephemeral ports)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, high - PORT_STRIDE * validators, PORT_STRIDE)
        if ports_free(range(base, base + PORT_STRIDE * validators)):
            return base
    raise LocalnetError(f"no free port range for {validators} nodes in {low}…{high}")


def _proc_state(pid: int) -> str:
    """The kernel's one-letter state of a process (R, S, D, Z, …), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return "gone"


def _pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our (dead) child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _write_config(
    cmt: Path,
    i: int,
    base_port: int,
    peers: str,
    config_overrides: Sequence[tuple[str, str, str]],
) -> None:
    """Set node i's ports, moniker, peers, consensus timeouts and the overrides in the
    config.toml under the CometBFT home ``cmt``."""
    ports = NodePorts.of(base_port, i)
    path = cmt / "config" / "config.toml"
    config = path.read_text()
    for section, key, value in (
        ("", "proxy_app", f'"tcp://127.0.0.1:{ports.abci}"'),
        ("", "moniker", f'"node{i}"'),
        ("rpc", "laddr", f'"tcp://127.0.0.1:{ports.rpc}"'),
        ("p2p", "laddr", f'"tcp://127.0.0.1:{ports.p2p}"'),
        ("p2p", "persistent_peers", f'"{peers}"'),
        ("p2p", "addr_book_strict", "false"),
        ("p2p", "allow_duplicate_ip", "true"),
        ("consensus", "create_empty_blocks", "true"),
        *(("consensus", k, v) for k, v in CONSENSUS_TIMEOUTS.items()),
        *config_overrides,
    ):
        config = set_toml(config, section, key, value)
    path.write_text(config)


class Localnet:
    """A localnet directory: create it (``init``), run, inspect and stop its processes."""

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home).expanduser()
        meta_path = self.home / "localnet.json"
        if not meta_path.exists():
            raise LocalnetError(f"no localnet in {self.home} (run 'aivm localnet init' first)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        self.validators: int = int(self.meta["validators"])
        """Genesis validators (nodes 0…validators-1)."""
        self.size: int = max(self.validators, len(self.meta.get("nodes") or []))
        """Nodes: the genesis validators, then the full nodes of ``add_node``."""
        self.base_port: int = int(self.meta["base_port"])
        self.chain_id: str = str(self.meta["chain_id"])
        self.cometbft = Path(self.meta["cometbft"])
        self._children: dict[tuple[int, str], subprocess.Popen[bytes]] = {}

    # -- layout -----------------------------------------------------------------------------

    def node_dir(self, i: int) -> Path:
        self._check_index(i)
        return self.home / f"node{i}"

    def cmt_home(self, i: int) -> Path:
        return self.node_dir(i) / "cmt"

    def app_home(self, i: int) -> Path:
        return self.node_dir(i) / "app"

    def log_path(self, i: int, proc: str) -> Path:
        return self.node_dir(i) / f"{proc}.log"

    def pid_path(self, i: int, proc: str) -> Path:
        return self.node_dir(i) / f"{proc}.pid"

    def ports(self, i: int) -> NodePorts:
        self._check_index(i)
        return NodePorts.of(self.base_port, i)

    def rpc_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports(i).rpc}"

    def node_id(self, i: int) -> str:
        self._check_index(i)
        return str(self.meta["nodes"][i]["node_id"])

    def accounts(self) -> list[dict[str, str]]:
        """The funded test accounts (name, address, mnemonic)."""
        data: list[dict[str, str]] = json.loads((self.home / "accounts.json").read_text())
        return data

    def operators(self) -> list[dict[str, str]]:
        """The account operating each node's validator (name, address, mnemonic), by node."""
        data: list[dict[str, str]] = json.loads((self.home / "operators.json").read_text())
        return data

    def _check_index(self, i: int) -> None:
        if not 0 <= i < self.size:
            raise LocalnetError(f"node {i} out of range (the localnet has {self.size})")

    def _nodes(self, nodes: Iterable[int] | None) -> list[int]:
        selected = list(range(self.size)) if nodes is None else list(nodes)
        for i in selected:
            self._check_index(i)
        return selected

    # -- init -------------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        home: Path | str,
        validators: int,
        cometbft: Path,
        base_port: int = DEFAULT_BASE_PORT,
        accounts: int = DEFAULT_ACCOUNTS,
        overwrite: bool = False,
        config_overrides: Sequence[tuple[str, str, str]] = (),
        genesis_overrides: Mapping[str, Any] | None = None,
    ) -> Localnet:
        """Write N node homes, one shared genesis, per-node config.toml and accounts.json.

        ``config_overrides``: extra ``(section, key, TOML value)`` settings for every node's
        config.toml, applied after the localnet's own (e.g. ``("mempool", "recheck", "false")``
        for a load benchmark); a key that config.toml lacks is an error.
        ``genesis_overrides``: merged into the genesis ``app_state`` (objects key by key, any
        other value replaced), e.g. ``{"slashing": {"params": {"signed_blocks_window": "20"}}}``.
        A module's app_state is merged over its defaults only at its top level, so a ``params``
        object given here must be complete unless the module fills in missing params (slashing
        does, staking does not)."""
        root = Path(home).expanduser()
        if not 1 <= validators <= MAX_VALIDATORS:
            raise LocalnetError(f"--validators must be 1…{MAX_VALIDATORS}, got {validators}")
        last = base_port + PORT_STRIDE * (validators - 1) + 3
        if base_port < 1024 or last > 65535:
            raise LocalnetError(f"ports {base_port}…{last} out of range 1024…65535")
        if (root / "localnet.json").exists():
            if not overwrite:
                raise LocalnetError(f"{root} already holds a localnet (pass --overwrite)")
            old = cls(root)
            if any(old.running(i, p) for i in range(old.size) for p in PROCESSES):
                raise LocalnetError(f"the localnet in {root} is running; stop it first")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)

        keys: list[dict[str, Any]] = []
        node_ids: list[str] = []
        for i in range(validators):
            cmt = root / f"node{i}" / "cmt"
            (root / f"node{i}" / "app").mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [str(cometbft), "init", "--home", str(cmt)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise LocalnetError(f"cometbft init failed: {done.stderr.strip()[-500:]}")
            keys.append(json.loads((cmt / "config" / "priv_validator_key.json").read_text()))
            node_ids.append(
                node_id_from_key(json.loads((cmt / "config" / "node_key.json").read_text()))
            )

        funded = []
        for k in range(accounts):
            mnemonic = generate_mnemonic(24)
            address = acc_address(derive_privkey(mnemonic).pubkey.address())
            funded.append({"name": f"account{k}", "address": address, "mnemonic": mnemonic})
        write_private_json(root / "accounts.json", funded)
        operators = []
        for i in range(validators):  # each node's validator is operated by its own account
            mnemonic = generate_mnemonic(24)
            address = acc_address(derive_privkey(mnemonic).pubkey.address())
            operators.append({"name": f"operator{i}", "address": address, "mnemonic": mnemonic})
        write_private_json(root / "operators.json", operators)
        self_bond = VALIDATOR_POWER * POWER_REDUCTION
        gen_txs = [
            gentx(op["address"], base64.b64decode(key["pub_key"]["value"]), self_bond, f"node{i}")
            for i, (op, key) in enumerate(zip(operators, keys, strict=True))
        ]

        now = time.time_ns()
        genesis = GenesisDoc(
            chain_id=LOCALNET_CHAIN_ID,
            app_state={
                "bank": {
                    "balances": [
                        {"address": a, "coins": [{"denom": DENOM, "amount": str(ACCOUNT_BALANCE)}]}
                        for a in sorted(f["address"] for f in funded + operators)
                    ]
                },
                "staking": {"gen_txs": gen_txs},
                # a test network: account0 may change params (MsgUpdateParams) until gov exists
                **({"authority": {"authority": funded[0]["address"]}} if funded else {}),
            },
            genesis_time=format_time(now // 1_000_000_000, now % 1_000_000_000),
            validators=[
                GenesisValidator(
                    base64.b64decode(key["pub_key"]["value"]), VALIDATOR_POWER, f"node{i}"
                )
                for i, key in enumerate(keys)
            ],
        )
        if genesis_overrides:
            genesis.app_state = merge_json(genesis.app_state, genesis_overrides)
        text = genesis.dumps()
        for i in range(validators):
            (root / f"node{i}" / "cmt" / "config" / "genesis.json").write_text(text)

        for i in range(validators):
            peers = ",".join(
                f"{node_ids[j]}@127.0.0.1:{NodePorts.of(base_port, j).p2p}"
                for j in range(validators)
                if j != i
            )
            _write_config(root / f"node{i}" / "cmt", i, base_port, peers, config_overrides)

        meta = {
            "chain_id": LOCALNET_CHAIN_ID,
            "config_overrides": [list(o) for o in config_overrides],
            "validators": validators,
            "base_port": base_port,
            "port_stride": PORT_STRIDE,
            "cometbft": str(Path(cometbft).resolve()),
            "nodes": [
                {"name": f"node{i}", "node_id": node_ids[i], **NodePorts.of(base_port, i).__dict__}
                for i in range(validators)
            ],
        }
        (root / "localnet.json").write_text(json.dumps(meta, indent=2) + "\n")
        return cls(root)

    def add_node(self) -> int:
        """Add a full node (not a validator) with its own CometBFT home and keys, the shared
        genesis and every other node as a persistent peer; returns its index. Start it with
        ``start([index])``: it block-syncs from the others. Its consensus key is in
        ``cmt_home(index)/config/priv_validator_key.json`` (for ``MsgCreateValidator``)."""
        i = self.size
        ports = NodePorts.of(self.base_port, i)
        if ports.rest > 65535:
            raise LocalnetError(f"node{i}: ports {ports.p2p}…{ports.rest} out of range")
        if not ports_free(ports.all()):
            raise LocalnetError(f"node{i}: ports {ports.p2p}…{ports.rest} are not all free")
        cmt = self.home / f"node{i}" / "cmt"
        (self.home / f"node{i}" / "app").mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(self.cometbft), "init", "--home", str(cmt)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise LocalnetError(f"cometbft init failed: {done.stderr.strip()[-500:]}")
        shutil.copyfile(
            self.cmt_home(0) / "config" / "genesis.json", cmt / "config" / "genesis.json"
        )
        node_id = node_id_from_key(json.loads((cmt / "config" / "node_key.json").read_text()))
        peers = ",".join(
            f"{self.node_id(j)}@127.0.0.1:{self.ports(j).p2p}" for j in range(self.size)
        )
        overrides = [(str(a), str(b), str(c)) for a, b, c in self.meta.get("config_overrides", [])]
        _write_config(cmt, i, self.base_port, peers, overrides)
        nodes = list(self.meta.get("nodes") or [])
        nodes.append({"name": f"node{i}", "node_id": node_id, "full_node": True, **ports.__dict__})
        self.meta["nodes"] = nodes
        (self.home / "localnet.json").write_text(json.dumps(self.meta, indent=2) + "\n")
        self.size = len(nodes)
        return i

    # -- processes --------------------------------------------------------------------------

    def pid(self, i: int, proc: str) -> int | None:
        """The pid of a running process of node i (None when not running)."""
        try:
            pid = int(self.pid_path(i, proc).read_text().strip())
        except (OSError, ValueError):
            return None
        child = self._children.get((i, proc))
        if child is not None and child.pid == pid:
            # our own child: ask it directly. Between fork and exec its /proc cmdline is still
            # ours, so the command-line check below would call a just-started child dead.
            return pid if child.poll() is None else None
        home = self.app_home(i) if proc == "app" else self.cmt_home(i)
        if not _pid_alive(pid) or str(home) not in _cmdline(pid):
            return None
        return pid

    def running(self, i: int, proc: str) -> bool:
        return self.pid(i, proc) is not None

    def _command(self, i: int, proc: str) -> list[str]:
        ports = self.ports(i)
        if proc == "app":
            return [
                sys.executable,
                "-m",
                "aivm.cli.main",
                "start",
                "--home",
                str(self.app_home(i)),
                "--abci",
                f"tcp://127.0.0.1:{ports.abci}",
                "--rest-port",
                str(ports.rest),
                "--rpc",
                self.rpc_url(i),
            ]
        return [str(self.cometbft), "start", "--home", str(self.cmt_home(i))]

    def _spawn(self, i: int, proc: str) -> int:
        with open(self.log_path(i, proc), "ab") as log:
            log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {proc}\n".encode())
            log.flush()
            child = subprocess.Popen(
                self._command(i, proc),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_path(i, proc).write_text(f"{child.pid}\n")
        self._children[(i, proc)] = child
        return child.pid

    def _exit_status(self, i: int, proc: str) -> str:
        """How a process this object started ended (exit code or signal), for error messages."""
        child = self._children.get((i, proc))
        code = None if child is None else child.poll()
        if code is None:
            return "exit status unknown"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def start(self, nodes: Iterable[int] | None = None, timeout: float = 60) -> list[str]:
        """Start whatever is not running of the given nodes (all by default): the apps first,
        then, once each app listens on its ABCI port, CometBFT. Returns what was started."""
        selected = self._nodes(nodes)
        started: list[str] = []
        apps: list[int] = []
        for i in selected:
            if not self.running(i, "app"):
                if self.running(i, "cometbft"):
                    # CometBFT without its app exits on its own; restart it with the app
                    self._stop_pids([self.pid(i, "cometbft")], timeout=10)
                if not ports_free([self.ports(i).abci]):
                    raise LocalnetError(f"node{i}: ABCI port {self.ports(i).abci} is in use")
                self._spawn(i, "app")
                apps.append(i)
                started.append(f"node{i}/app")
        deadline = time.monotonic() + timeout
        for i in apps:
            respawned = False
            while True:
                if not self.running(i, "app"):
                    status = self._exit_status(i, "app")
                    if not respawned:
                        # one retry: a start racing the previous process's exit can fail
                        respawned = True
                        with open(self.log_path(i, "app"), "ab") as log:
                            log.write(
                                f"=== app exited during start ({status}); retrying\n".encode()
                            )
                        self._spawn(i, "app")
                        continue
                    raise LocalnetError(
                        f"node{i}: aivm start exited ({status}); see "
                        f"{self.log_path(i, 'app')}:\n" + self.tail(i, "app", 15)
                    )
                try:
                    socket.create_connection(("127.0.0.1", self.ports(i).abci), timeout=1).close()
                    break
                except OSError as exc:
                    if time.monotonic() > deadline:
                        raise LocalnetError(
                            f"node{i}: the app did not listen in {timeout}s"
                        ) from exc
                    time.sleep(0.1)
        for i in selected:
            if not self.running(i, "cometbft"):
                self._spawn(i, "cometbft")
                started.append(f"node{i}/cometbft")
        return started

    def stop(self, nodes: Iterable[int] | None = None, timeout: float = 15) -> list[str]:
        """SIGTERM the process groups (CometBFT first, then the apps); SIGKILL what is left
        after ``timeout`` seconds. Returns what was stopped."""
        selected = self._nodes(nodes)
        stopped: list[str] = []
        for proc in ("cometbft", "app"):
            pids = []
            for i in selected:
                pid = self.pid(i, proc)
                if pid is not None:
                    pids.append(pid)
                    stopped.append(f"node{i}/{proc}")
            self._stop_pids(pids, timeout)
        for i in selected:
            for proc in PROCESSES:
                with contextlib.suppress(OSError):
                    self.pid_path(i, proc).unlink()
        return stopped

    def kill(self, i: int, procs: Iterable[str] = PROCESSES, timeout: float = 60) -> None:
        """SIGKILL processes of node i (a crash, for tests and drills) and wait until they are
        gone. A process in uninterruptible I/O (an fsync on a loaded disk) dies only when the
        I/O ends, so the wait is long; a process still there after ``timeout`` seconds raises
        :class:`LocalnetError` with its kernel state."""
        for proc in procs:
            pid = self.pid(i, proc)
            if pid is None:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            child = self._children.get((i, proc))
            if child is not None and child.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout)
            if self._wait_gone([pid], 0 if child is not None else timeout) or self.running(i, proc):
                raise LocalnetError(
                    f"node{i}/{proc} (pid {pid}) survived SIGKILL for {timeout:.0f}s: "
                    f"state {_proc_state(pid)}"
                )

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def _stop_pids(self, pids: Sequence[int | None], timeout: float) -> None:
        live = [p for p in pids if p is not None]
        for pid in live:
            self._signal(pid, signal.SIGTERM)
        left = self._wait_gone(live, timeout)
        for pid in left:
            self._signal(pid, signal.SIGKILL)
        self._wait_gone(left, 10)

    @staticmethod
    def _wait_gone(pids: list[int], timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        left = [p for p in pids if _pid_alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [p for p in left if _pid_alive(p)]
        return left

    # -- inspection -------------------------------------------------------------------------

    def rpc(self, i: int, method: str, timeout: float = 5, **params: str) -> Any:
        """GET a CometBFT JSON-RPC method on node i; returns ``result``."""
        url = f"{self.rpc_url(i)}/{method}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # RPC errors come with HTTP 500
            body = json.loads(exc.read() or b"{}")
        if "error" in body:
            raise LocalnetError(f"{method}: {body['error']}")
        return body["result"]

    def node_status(self, i: int) -> dict[str, Any]:
        """Running flags, height, catching_up, the app's last height and app hash."""
        out: dict[str, Any] = {
            "node": f"node{i}",
            "rpc": self.rpc_url(i),
            "app": self.running(i, "app"),
            "cometbft": self.running(i, "cometbft"),
            "height": None,
            "catching_up": None,
            "app_height": None,
            "app_hash": None,
        }
        try:
            sync = self.rpc(i, "status", timeout=2)["sync_info"]
            out["height"] = int(sync["latest_block_height"])
            out["catching_up"] = bool(sync["catching_up"])
            info = self.rpc(i, "abci_info", timeout=2)["response"]
            out["app_height"] = int(info.get("last_block_height", 0))
            out["app_hash"] = base64.b64decode(info.get("last_block_app_hash") or "").hex().upper()
        except (OSError, LocalnetError, ValueError, KeyError):
            pass
        return out

    def status(self) -> list[dict[str, Any]]:
        return [self.node_status(i) for i in range(self.size)]

    def tail(self, i: int, proc: str, lines: int = 50) -> str:
        path = self.log_path(i, proc)
        if not path.exists():
            return ""
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max(65536, 1000 * (lines + 1))))
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
