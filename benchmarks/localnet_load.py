"""Localnet load: the devnet load generator pointed at an N-validator localnet (default 4).

The script initialises ``aivm localnet`` (``aivm.tools.localnet.Localnet``) in a temp dir on a
free port range, with benchmark-only config.toml overrides (a larger mempool, higher p2p
rates, the block timeouts below; recheck stays on: the app resets its check state at
Commit, so a sender's pipelined txs need it), starts its N CometBFT nodes and N ``aivm start``
apps, funds ``--senders`` accounts from the localnet's ``account0`` and drives the load with
``devnet_load.drive``: pre-signed MsgSends from ``--clients`` aiohttp workers over
``broadcast_tx_sync``, worker w talking to node w % N (so sender i goes to node i % N), a
watcher on node 0 reading every block (result codes after the load). Measured as in devnet_load.py:

- committed tx/s = txs included with code 0 / (last such block's header time − first send);
- inclusion latency = header time − send time (``seen`` = when the watcher read the block).
  CometBFT's header time is BFT time, the median of the previous block's precommit times, so
  it precedes the proposal and the header latency can even be negative at long timeout_commit:
  on the localnet the ``seen`` latency is the honest figure;
- blocks/min = blocks with a header time in that window / its length;
- CPU: per-process (4 CometBFT, 4 apps, this load generator) and machine-wide busy share
  over the sending window, from /proc — 2N + 1 processes share this machine's cores.

Then the localnet is stopped (always, in ``finally``; SIGKILL after 10 s) and the devnet load
benchmark (``devnet_load.load``: one in-process node) runs at a smaller size in the same run.
One JSON line on stdout, progress on stderr::

    {"validators", "localnet": {devnet_load's figures + "blocks_per_min", "cpu", ...},
     "devnet": {devnet_load's figures}, "ratio_localnet_vs_devnet", "target_tx_per_s", ...}

Usage: python benchmarks/localnet_load.py [--validators 4] [--clients 32] [--txs 20000]
       [--senders 2000] [--duration 20] [--timeout-commit 1000] [--no-recheck/--recheck]
       [--broadcast/--no-broadcast] [--devnet-txs 6000] [--skip-devnet]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from aivm.tools.cometbft import ensure_cometbft
from aivm.tools.localnet import PROCESSES, Localnet, free_base_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devnet_load
from devnet_load import log, process_cpu_s

TARGET_TX_PER_S = 1000


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return float(sum(fields) - idle), float(sum(fields))


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def overrides(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The benchmark's config.toml settings on top of the localnet's defaults."""

    def ms(value: int) -> str:
        return f'"{value}ms"'

    return [
        ("mempool", "recheck", "true" if args.recheck else "false"),
        ("mempool", "broadcast", "true" if args.broadcast else "false"),
        ("mempool", "size", str(args.mempool_size)),
        ("mempool", "cache_size", str(2 * args.mempool_size)),
        ("mempool", "max_txs_bytes", str(1 << 30)),
        ("p2p", "send_rate", str(50 << 20)),
        ("p2p", "recv_rate", str(50 << 20)),
        ("p2p", "flush_throttle_timeout", '"10ms"'),
        ("consensus", "timeout_commit", ms(args.timeout_commit)),
        ("consensus", "timeout_propose", ms(args.timeout_propose)),
        ("consensus", "create_empty_blocks", "true" if args.empty_blocks else "false"),
        ("consensus", "peer_gossip_sleep_duration", '"20ms"'),
    ]


class CpuProbe:
    """Per-process and machine-wide CPU snapshots; ``total`` is what ``drive`` calls."""

    def __init__(self, net: Localnet) -> None:
        self.pids: dict[str, int] = {}
        for i in range(net.validators):
            for proc in PROCESSES:
                with contextlib.suppress(OSError, ValueError):  # the pid files start() wrote
                    self.pids[f"node{i}/{proc}"] = int(net.pid_path(i, proc).read_text())
        self.snaps: list[tuple[float, dict[str, float], tuple[float, float]]] = []

    def total(self) -> float:
        per = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        per["load_generator"] = time.process_time()
        self.snaps.append((time.perf_counter(), per, machine_cpu()))
        return sum(v for k, v in per.items() if k != "load_generator")

    def report(self) -> dict[str, Any]:
        """CPU % (100 = one core) between the first two snapshots (the sending window)."""
        if len(self.snaps) < 2:
            return {}
        (t0, a, m0), (t1, b, m1) = self.snaps[0], self.snaps[1]
        wall = t1 - t0
        per = {k: round(100 * (b[k] - a[k]) / wall, 1) for k in a}
        cores = os.cpu_count() or 1
        groups = {
            "cometbft_total": sum(v for k, v in per.items() if k.endswith("/cometbft")),
            "apps_total": sum(v for k, v in per.items() if k.endswith("/app")),
            "load_generator": per["load_generator"],
        }
        measured = sum(groups.values())
        machine = 100 * cores * (m1[0] - m0[0]) / (m1[1] - m0[1]) if m1[1] > m0[1] else 0.0
        return {
            "window_s": round(wall, 2),
            "cores": cores,
            "per_process_pct": per,
            **{k: round(v, 1) for k, v in groups.items()},
            "machine_busy_pct": round(machine, 1),
            "other_processes_pct": round(machine - measured, 1),
        }


async def localnet_phase(args: argparse.Namespace, net: Localnet) -> dict[str, Any]:
    urls = [net.rpc_url(i) for i in range(net.validators)]
    funder = net.accounts()[0]
    probe = CpuProbe(net)
    connector = aiohttp.TCPConnector(limit=args.clients + 8)
    async with aiohttp.ClientSession(connector=connector) as session:
        rpc = devnet_load.Rpc(session, urls[0])
        deadline = time.monotonic() + 60
        while True:  # every node has produced or synced a block
            try:
                heights = [await devnet_load.Rpc(session, u).height() for u in urls]
            except (aiohttp.ClientError, RuntimeError, KeyError):
                heights = [0]
            if min(heights) >= 1:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"localnet did not reach height 1: {heights}")
            await asyncio.sleep(0.2)
        log(f"localnet up at {urls}, height {await rpc.height()}")
        measured = await devnet_load.drive(session, urls, funder, args, probe.total)
    result = devnet_load.summarize(measured, args)
    # blocks/min over the window from the first send to the last committed block
    sent_ns = measured.sent.sent_ns
    first_ns = min(sent_ns.values()) if sent_ns else measured.start_ns
    last_ns = max(
        (e[0] for d in measured.sent.accepted if (e := measured.watcher.committed(d))),
        default=first_ns,
    )
    in_window = [b for b in measured.watcher.blocks if first_ns <= b[1] <= last_ns]
    span_min = (last_ns - first_ns) / 60e9
    seen = [
        (e[1] - sent_ns[d]) / 1e6
        for d in measured.sent.accepted
        if (e := measured.watcher.committed(d))
    ]
    result["seen_latency_ms_p99"] = round(devnet_load.percentile(seen, 0.99), 1)
    result["validators"] = net.validators
    result["window_s"] = round(span_min * 60, 2)
    result["blocks_per_min"] = round(len(in_window) / span_min, 1) if span_min > 0 else 0.0
    result["mean_block_txs"] = (
        round(sum(b[2] for b in in_window) / len(in_window), 1) if in_window else 0.0
    )
    result["cpu"] = probe.report()
    return result


def run_localnet(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    cometbft = ensure_cometbft()
    base = free_base_port(args.validators)
    net = Localnet.init(
        workdir / "localnet",
        args.validators,
        cometbft,
        base_port=base,
        accounts=1,
        config_overrides=overrides(args),
    )
    log(f"localnet of {args.validators} validators in {net.home}, ports {base}…")
    try:
        net.start(timeout=60)
        return asyncio.run(asyncio.wait_for(localnet_phase(args, net), args.max_seconds))
    except BaseException:
        for i in range(net.validators):
            for proc in PROCESSES:
                log(f"--- node{i} {proc}:\n{net.tail(i, proc, 5)}")
        raise
    finally:
        net.stop(timeout=10)
        nodes = range(net.validators)
        left = [f"node{i}/{p}" for i in nodes for p in PROCESSES if net.running(i, p)]
        if left:
            log(f"WARNING: still running after stop: {left}")
        log("localnet stopped")


def run_devnet(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    dev_args = argparse.Namespace(
        clients=args.clients,
        txs=args.devnet_txs,
        senders=args.devnet_senders,
        block_time=args.devnet_block_time,
        duration=args.duration,
        profile=None,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"devnet load: {args.devnet_txs} txs, {args.devnet_senders} senders")
    result: dict[str, Any] = asyncio.run(
        asyncio.wait_for(devnet_load.load(dev_args, workdir), args.max_seconds)
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32, help="a multiple of --validators")
    parser.add_argument("--txs", type=int, default=20_000, help="txs to pre-sign and send")
    parser.add_argument("--senders", type=int, default=2000, help="distinct funded senders")
    parser.add_argument("--duration", type=float, default=20.0, help="max seconds of sending")
    parser.add_argument("--timeout-commit", type=int, default=1000, help="milliseconds")
    parser.add_argument("--timeout-propose", type=int, default=1000, help="milliseconds")
    parser.add_argument("--mempool-size", type=int, default=50_000)
    parser.add_argument("--recheck", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--broadcast", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--empty-blocks", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--devnet-txs", type=int, default=6000)
    parser.add_argument("--devnet-senders", type=int, default=600)
    parser.add_argument("--devnet-block-time", type=int, default=1000, help="milliseconds")
    parser.add_argument("--skip-devnet", action="store_true")
    parser.add_argument(
        "--max-seconds", type=float, default=300, help="bound on each phase after start"
    )
    args = parser.parse_args()
    args.block_time = args.timeout_commit  # what drive()/summarize() call the block interval
    load_before = load_average()
    log(f"load average before: {load_before}")
    workdir = Path(tempfile.mkdtemp(prefix="aivm-localnet-load-"))
    try:
        localnet = run_localnet(args, workdir)
        devnet = None if args.skip_devnet else run_devnet(args, workdir / "devnet")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = (
        round(localnet["committed_tx_per_s"] / devnet["committed_tx_per_s"], 3)
        if devnet and devnet["committed_tx_per_s"]
        else None
    )
    result = {
        "validators": args.validators,
        "committed_tx_per_s": localnet["committed_tx_per_s"],
        "latency_ms_p50": localnet["latency_ms_p50"],
        "latency_ms_p99": localnet["latency_ms_p99"],
        "seen_latency_ms_p50": localnet["seen_latency_ms_p50"],
        "seen_latency_ms_p99": localnet["seen_latency_ms_p99"],
        "blocks_per_min": localnet["blocks_per_min"],
        "devnet_committed_tx_per_s": devnet["committed_tx_per_s"] if devnet else None,
        "ratio_localnet_vs_devnet": ratio,
        "target_tx_per_s": TARGET_TX_PER_S,
        "config_overrides": {f"{s}.{k}": v for s, k, v in overrides(args)},
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "localnet": localnet,
        "devnet": devnet,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
