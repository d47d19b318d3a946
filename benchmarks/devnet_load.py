"""Devnet load: N concurrent clients broadcasting signed sends over ``broadcast_tx_sync``.

The script starts ``aivm devnet`` as a subprocess on a free loopback port with a
fresh home, funds ``--senders`` accounts from the dev account (MsgMultiSend, a few txs), then
pre-signs every load tx (signing and request encoding are client costs, done before timing)
and lets ``--clients`` asyncio workers (aiohttp, one keep-alive connection each) push them
over ``broadcast_tx_sync``. Each sender belongs to one worker, which sends its txs in
sequence order, so sequences never race. A watcher polls ``status`` and reads ``block`` and
``block_results`` of every new height, so the node builds no event JSON per tx for us.

- inclusion latency of a tx = its block's header time − the wall time its request was sent
  (the header time is taken when the block starts, both clocks are this machine's);
- committed tx/s = txs included with code 0 / (last such block's time − first send time);
- steady tx/s = txs of the blocks made while sending (the first such block excluded) / the
  time between those blocks' headers: the sustained rate, without ramp-up and tail.

Then the chain-core benchmark (``chain_throughput.run``: CheckTx, FinalizeBlock and Commit
in-process, no RPC, no mempool) runs on a small state in the same process; the ratio of the
two shows what the RPC, the mempool and the block producer's loop cost. One JSON line goes to
stdout, progress to stderr::

    {"clients", "txs_sent", "committed", "rejected", "committed_tx_per_s", "latency_ms_p50",
     "latency_ms_p99", "block_time_ms", "blocks", "in_process_tx_per_s",
     "ratio_vs_in_process", ...}

``node_cpu_pct`` is the node process; ``helper_cpu_pct`` its child processes (the tx indexer
and the RPC front end, ADR 0009; ``--no-rpc-frontend`` serves the RPC in the node's process,
the pre-ADR-0009 reference).

Usage: python benchmarks/devnet_load.py [--clients 64] [--txs 60000] [--senders 2000]
       [--block-time 1000] [--duration 20] [--no-rpc-frontend] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from aivm.app.genesis import parse_time
from aivm.client.tx import Signer, bank_send, coins_proto, sign_tx
from aivm.crypto.hd import derive_privkey
from aivm.crypto.keys import PrivKey
from aivm.node import eventloop
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chain_throughput

DENOM = "ucgpt"
FUND_CHUNK = 250
FEE = [Coin(DENOM, 250)]  # gas 100_000 at the devnet's 0.0025ucgpt minimum


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def sender_key(i: int) -> PrivKey:
    return PrivKey.from_bytes(hashlib.sha256(b"devnet-load-%d" % i).digest())


def request_body(tx: bytes, id_: int = 1) -> bytes:
    params = {"tx": base64.b64encode(tx).decode()}
    return json.dumps(
        {"jsonrpc": "2.0", "id": id_, "method": "broadcast_tx_sync", "params": params}
    ).encode()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux /proc; nan if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_modules(parent: int) -> list[tuple[int, str]]:
    """``(pid, module)`` of ``parent``'s children started as ``python -m aivm.devnet.<module>``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"-m" in argv:
            module = argv[argv.index(b"-m") + 1].decode()
            found.append((int(entry.name), module.rsplit(".", 1)[-1]))
    return found


class Node:
    """The devnet subprocess: started on a free port, stopped (SIGTERM, then SIGKILL)."""

    def __init__(
        self, workdir: Path, block_time_ms: int, profile: str | None, rpc_frontend: bool = True
    ) -> None:
        self.home = workdir / "home"
        self.stdout_path = workdir / "devnet.out"
        self.stderr_path = workdir / "devnet.err"
        # ``--profile``: the node process runs under cProfile, pstats written on exit
        profiler = ["-m", "cProfile", "-o", profile] if profile else []
        cmd = [
            sys.executable,
            *profiler,
            "-m",
            "aivm.cli.main",
            "devnet",
            "--home",
            str(self.home),
            "--rpc-port",
            "0",
            "--rest-port",
            "-1",
            "--block-time",
            f"{block_time_ms}ms",
            "--accounts",
            "1",
            "--log-level",
            "WARNING",
        ]
        if not rpc_frontend:
            cmd.append("--no-rpc-frontend")
        self._out = open(self.stdout_path, "w")  # noqa: SIM115 - closed in stop()
        self._err = open(self.stderr_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=self._err)
        self.url = ""

    async def wait_ready(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"devnet exited {self.proc.returncode}: {self.stderr_tail()}")
            for line in self.stdout_path.read_text().splitlines():
                if "RPC on " in line:
                    self.url = line.split("RPC on ", 1)[1].strip()
                    return self.url
            await asyncio.sleep(0.05)
        raise TimeoutError("devnet did not start")

    def cpu_s(self) -> float:
        """User + system CPU seconds the devnet process has used so far (Linux /proc)."""
        return process_cpu_s(self.proc.pid)

    def helper_cpu_s(self) -> dict[str, float]:
        """CPU seconds of the devnet's child processes so far, by module (Linux /proc)."""
        used: dict[str, float] = {}
        for pid, module in child_modules(self.proc.pid):
            used[module] = used.get(module, 0.0) + process_cpu_s(pid)
        return used

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text()[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self._err.close()


class Rpc:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(self, method: str, **params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with self.session.post(self.url, json=body) as resp:
            message = await resp.json(content_type=None)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message["result"]

    async def account_number(self, address: str) -> tuple[int, int]:
        data = pb.auth_query.QueryAccountRequest(address=address).SerializeToString()
        result = await self.call(
            "abci_query", path="/cosmos.auth.v1beta1.Query/Account", data=data.hex()
        )
        response = result["response"]
        if response["code"] != 0:
            raise RuntimeError(f"account {address}: {response['log']}")
        value = base64.b64decode(response["value"])
        account = pb.unpack_any(
            pb.auth_query.QueryAccountResponse.FromString(value).account, pb.auth.BaseAccount
        )
        return int(account.account_number), int(account.sequence)

    async def height(self) -> int:
        return int((await self.call("status"))["sync_info"]["latest_block_height"])


@dataclass
class Watcher:
    """Reads every new block as it commits (header time, tx hashes) and, on request, the
    result codes of chosen heights (``block_results`` is asked for after the load, so the
    observer does not take CPU from the node while it is measured)."""

    rpc: Rpc
    from_height: int
    included: dict[bytes, tuple[int, int, int, float]] = field(default_factory=dict)
    """tx hash → (height, index in block, block time ns, wall time ns it was seen)."""
    codes: dict[int, list[int]] = field(default_factory=dict)
    blocks: list[tuple[int, int, int]] = field(default_factory=list)  # height, time_ns, n_txs
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        next_height = self.from_height + 1
        while True:
            latest = await self.rpc.height()
            while next_height <= latest:
                await self._read(next_height)
                next_height += 1
            if self.stop.is_set():
                return
            await asyncio.sleep(0.05)

    async def _read(self, height: int) -> None:
        block = (await self.rpc.call("block", height=str(height)))["block"]
        seen = time.time_ns()
        seconds, nanos = parse_time(block["header"]["time"])
        time_ns = seconds * 1_000_000_000 + nanos
        txs = block["data"]["txs"] or []
        for index, tx in enumerate(txs):
            digest = hashlib.sha256(base64.b64decode(tx)).digest()
            self.included[digest] = (height, index, time_ns, seen)
        self.blocks.append((height, time_ns, len(txs)))
        log(f"block {height}: {len(txs)} txs")

    def committed(self, digest: bytes) -> tuple[int, float] | None:
        """(block time ns, seen ns) of a tx included with code 0 (codes read by ``code``)."""
        entry = self.included.get(digest)
        if entry is None or self.codes.get(entry[0], [])[entry[1] : entry[1] + 1] != [0]:
            return None
        return entry[2], entry[3]

    async def code(self, digest: bytes) -> int:
        """The result code of an included tx (its block's results read once)."""
        height, index, _, _ = self.included[digest]
        if height not in self.codes:
            results = await self._results(height)
            self.codes[height] = [int(r["code"]) for r in results["txs_results"] or []]
        return self.codes[height][index]

    async def _results(self, height: int) -> Any:
        # CometBFT reports a height in ``status`` a moment before it has saved the block's
        # results; retry that error briefly
        for _ in range(100):
            try:
                return await self.rpc.call("block_results", height=str(height))
            except RuntimeError as exc:
                if "could not find results" not in str(exc):
                    raise
            await asyncio.sleep(0.02)
        return await self.rpc.call("block_results", height=str(height))


async def wait_included(watcher: Watcher, hashes: list[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(h not in watcher.included for h in hashes):
        if time.monotonic() > deadline:
            raise TimeoutError("txs not included")
        await asyncio.sleep(0.05)


async def fund(
    rpc: Rpc, watcher: Watcher, dev: dict[str, str], chain_id: str, senders: list[PrivKey]
) -> None:
    """MsgMultiSend from ``dev`` (address, mnemonic) to every sender, in chunks, and wait for
    inclusion."""
    dev_key = derive_privkey(dev["mnemonic"])
    number, sequence = await rpc.account_number(dev["address"])
    amount = 10**8
    hashes = []
    for start in range(0, len(senders), FUND_CHUNK):
        chunk = senders[start : start + FUND_CHUNK]
        msg = pb.bank_tx.MsgMultiSend(
            inputs=[
                pb.bank.Input(
                    address=dev["address"], coins=coins_proto([Coin(DENOM, amount * len(chunk))])
                )
            ],
            outputs=[
                pb.bank.Output(
                    address=acc_address(k.pubkey.address()),
                    coins=coins_proto([Coin(DENOM, amount)]),
                )
                for k in chunk
            ],
        )
        raw = sign_tx(
            [msg],
            [Signer(dev_key, number, sequence)],
            chain_id,
            fee=[Coin(DENOM, 125_000)],
            gas_limit=50_000_000,
        )
        sequence += 1
        result = await rpc.call("broadcast_tx_sync", tx=base64.b64encode(raw).decode())
        if result["code"] != 0:
            raise RuntimeError(f"funding tx rejected: {result['log']}")
        hashes.append(hashlib.sha256(raw).digest())
    await wait_included(watcher, hashes, 60)
    failed = [code for h in hashes if (code := await watcher.code(h)) != 0]
    if failed:
        raise RuntimeError(f"funding txs failed with codes {failed}")


async def account_numbers(rpc: Rpc, senders: list[PrivKey]) -> list[int]:
    semaphore = asyncio.Semaphore(16)

    async def one(k: PrivKey) -> int:
        async with semaphore:
            number, sequence = await rpc.account_number(acc_address(k.pubkey.address()))
            assert sequence == 0
            return number

    return list(await asyncio.gather(*(one(k) for k in senders)))


def presign(
    senders: list[PrivKey], numbers: list[int], chain_id: str, total: int, clients: int
) -> list[list[tuple[bytes, bytes]]]:
    """Per worker: (tx hash, request body) in send order; sender i belongs to worker i % N."""
    queues: list[list[tuple[bytes, bytes]]] = [[] for _ in range(clients)]
    m = len(senders)
    addresses = [k.pubkey.address() for k in senders]
    for n in range(total):
        i, sequence = n % m, n // m
        raw = sign_tx(
            [bank_send(addresses[i], addresses[(i + 1) % m], [Coin(DENOM, 1)])],
            [Signer(senders[i], numbers[i], sequence)],
            chain_id,
            fee=FEE,
            gas_limit=100_000,
        )
        queues[i % clients].append((hashlib.sha256(raw).digest(), request_body(raw, n)))
    return queues


@dataclass
class Sent:
    sent_ns: dict[bytes, int] = field(default_factory=dict)
    accepted: list[bytes] = field(default_factory=list)
    rejected: collections.Counter[int] = field(default_factory=collections.Counter)
    rtt_ms: list[float] = field(default_factory=list)


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    queue: list[tuple[bytes, bytes]],
    out: Sent,
    deadline: float,
) -> None:
    headers = {"Content-Type": "application/json"}
    for digest, body in queue:
        if time.monotonic() > deadline:
            return
        start = time.perf_counter()
        out.sent_ns[digest] = time.time_ns()
        async with session.post(url, data=body, headers=headers) as resp:
            message = json.loads(await resp.read())
        out.rtt_ms.append((time.perf_counter() - start) * 1000)
        code = message["result"]["code"] if "result" in message else -1
        if code == 0:
            out.accepted.append(digest)
        else:
            out.rejected[code] += 1


@dataclass
class Measured:
    """What one load run saw: the sends, the watcher's blocks and the CPU it cost."""

    sent: Sent
    watcher: Watcher
    first_block: int
    start_ns: int
    submit_s: float
    client_cpu: float
    node_cpu: float
    helper_cpu: dict[str, float] = field(default_factory=dict)


async def drive(
    session: aiohttp.ClientSession,
    urls: list[str],
    dev: dict[str, str],
    args: argparse.Namespace,
    node_cpu_s: Callable[[], float],
    helper_cpu_s: Callable[[], dict[str, float]] = dict,
) -> Measured:
    """Fund ``args.senders`` senders from ``dev``, pre-sign ``args.txs`` sends, push them with
    ``args.clients`` workers (worker w talks to ``urls[w % len(urls)]``, so sender i goes to
    node i % len(urls) when the client count is a multiple of it) and wait for inclusion. The
    watcher and the funding use ``urls[0]``."""
    rpc = Rpc(session, urls[0])
    chain_id = (await rpc.call("status"))["node_info"]["network"]
    while await rpc.height() < 1:  # genesis state is queryable from height 1
        await asyncio.sleep(0.05)
    watcher = Watcher(rpc, await rpc.height())
    watch_task = asyncio.create_task(watcher.run())
    try:
        senders = [sender_key(i) for i in range(args.senders)]
        t0 = time.perf_counter()
        await fund(rpc, watcher, dev, chain_id, senders)
        numbers = await account_numbers(rpc, senders)
        log(f"funded {len(senders)} senders in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        queues = presign(senders, numbers, chain_id, args.txs, args.clients)
        log(f"pre-signed {args.txs} txs in {time.perf_counter() - t0:.1f}s")
        first_block = len(watcher.blocks)
        sent = Sent()
        start_ns = time.time_ns()
        deadline = time.monotonic() + args.duration
        t0 = time.perf_counter()
        cpu0, node_cpu0, helper_cpu0 = time.process_time(), node_cpu_s(), helper_cpu_s()
        await asyncio.gather(
            *(
                worker(session, urls[w % len(urls)], q, sent, deadline)
                for w, q in enumerate(queues)
                if q
            )
        )
        submit_s = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
        node_cpu = node_cpu_s() - node_cpu0
        helper_cpu = {k: v - helper_cpu0.get(k, 0.0) for k, v in helper_cpu_s().items()}
        log(
            f"sent {len(sent.sent_ns)} in {submit_s:.1f}s "
            f"({len(sent.accepted)} accepted, rejected {dict(sent.rejected)})"
        )
        with contextlib.suppress(TimeoutError):
            await wait_included(watcher, sent.accepted, 10 + 5 * args.block_time / 1000)
    finally:
        watcher.stop.set()
        await watch_task
    for digest in sent.accepted:  # read the result codes now that the load is over
        if digest in watcher.included:
            await watcher.code(digest)
    return Measured(
        sent, watcher, first_block, start_ns, submit_s, client_cpu, node_cpu, helper_cpu
    )


def _steady_rate(blocks: list[tuple[int, int, int]], last_send_ns: int) -> dict[str, Any]:
    """The sustained rate while the load ran: txs of the blocks after the first one made
    during the load, up to the last send, over the time between those blocks' headers (the
    txs of block k arrived between blocks k-1 and k). ``committed_tx_per_s`` also counts the
    ramp-up before the first block and the tail after the last send, so it is lower."""
    during = [b for b in blocks if b[1] <= last_send_ns]
    if len(during) < 3:
        return {"steady_tx_per_s": None}
    span_s = (during[-1][1] - during[0][1]) / 1e9
    return {"steady_tx_per_s": round(sum(b[2] for b in during[1:]) / span_s, 1)}


def summarize(m: Measured, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON figures of one run (see the module docstring)."""
    sent, watcher, start_ns, submit_s = m.sent, m.watcher, m.start_ns, m.submit_s
    latencies, seen_latencies, committed, failed = [], [], 0, collections.Counter[int]()
    last_ns = start_ns
    for digest in sent.accepted:
        entry = watcher.included.get(digest)
        if entry is None:
            continue
        height, index, block_ns, seen_ns = entry
        code = watcher.codes[height][index]
        if code != 0:
            failed[code] += 1
            continue
        committed += 1
        last_ns = max(last_ns, block_ns)
        latencies.append((block_ns - sent.sent_ns[digest]) / 1e6)
        seen_latencies.append((seen_ns - sent.sent_ns[digest]) / 1e6)
    first_ns = min(sent.sent_ns.values()) if sent.sent_ns else start_ns
    blocks = [b for b in watcher.blocks[m.first_block :] if b[1] >= first_ns]
    span_s = (last_ns - first_ns) / 1e9
    return {
        **_steady_rate(blocks, max(sent.sent_ns.values(), default=first_ns)),
        "clients": args.clients,
        "txs_sent": len(sent.sent_ns),
        "committed": committed,
        "rejected": sum(sent.rejected.values()),
        "rejected_codes": {str(k): v for k, v in sorted(sent.rejected.items())},
        "failed_in_block": dict(failed),
        "not_included": len(sent.accepted) - committed - sum(failed.values()),
        "committed_tx_per_s": round(committed / span_s, 1) if span_s > 0 else 0.0,
        "submit_tx_per_s": round(len(sent.sent_ns) / submit_s, 1) if submit_s else 0.0,
        "latency_ms_p50": round(percentile(latencies, 0.5), 1),
        "latency_ms_p99": round(percentile(latencies, 0.99), 1),
        "seen_latency_ms_p50": round(percentile(seen_latencies, 0.5), 1),
        "rtt_ms_p50": round(percentile(sent.rtt_ms, 0.5), 2),
        "rtt_ms_p99": round(percentile(sent.rtt_ms, 0.99), 2),
        "client_cpu_pct": round(100 * m.client_cpu / submit_s, 1),
        "node_cpu_pct": round(100 * m.node_cpu / submit_s, 1),
        "helper_cpu_pct": {k: round(100 * v / submit_s, 1) for k, v in m.helper_cpu.items()},
        "block_time_ms": args.block_time,
        "blocks": len(blocks),
        "max_block_txs": max((b[2] for b in blocks), default=0),
        "senders": args.senders,
    }


async def load(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    node = Node(workdir, args.block_time, args.profile, args.rpc_frontend)
    try:
        url = await node.wait_ready()
        log(f"devnet at {url}")
        dev = json.loads((node.home / "config" / "dev_accounts.json").read_text())[0]
        connector = aiohttp.TCPConnector(limit=args.clients + 8)
        async with aiohttp.ClientSession(connector=connector) as session:
            measured = await drive(session, [url], dev, args, node.cpu_s, node.helper_cpu_s)
    finally:
        node.stop()
    if args.profile:
        log(f"node profile written to {args.profile}")
    return summarize(measured, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--txs", type=int, default=60_000, help="txs to pre-sign and send")
    parser.add_argument("--senders", type=int, default=2000, help="distinct funded senders")
    parser.add_argument("--block-time", type=int, default=1000, help="milliseconds")
    parser.add_argument("--duration", type=float, default=20.0, help="max seconds of sending")
    parser.add_argument(
        "--in-process-accounts", type=int, default=10_000, help="state size of the reference"
    )
    parser.add_argument("--in-process-block-size", type=int, default=2000)
    parser.add_argument("--in-process-blocks", type=int, default=2)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--rpc-frontend",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the devnet's RPC front-end process (default on, as in `aivm devnet`)",
    )
    parser.add_argument("--profile", default=None, help="cProfile the devnet into this file")
    args = parser.parse_args()
    if args.profile:
        args.profile = os.path.abspath(args.profile)
    workdir = Path(tempfile.mkdtemp(prefix="aivm-load-"))
    try:
        result = eventloop.run(load(args, workdir))  # uvloop: less client CPU per request
        reference = 0.0
        if not args.skip_in_process:
            log("in-process reference (chain_throughput.run)")
            size = args.in_process_block_size
            reference = float(
                chain_throughput.run(
                    max(args.in_process_accounts, size), size, args.in_process_blocks, workdir
                )["tx_per_s"]
            )
        result["in_process_tx_per_s"] = reference or None
        result["ratio_vs_in_process"] = (
            round(result["committed_tx_per_s"] / reference, 3) if reference else None
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
