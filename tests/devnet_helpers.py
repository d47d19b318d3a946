"""Run a devnet (producer + JSON-RPC) on a background thread, and talk to it over HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from aivm.devnet.devnet import Devnet
from aivm.devnet.process import run_devnet


class DevnetThread:
    """A devnet on 127.0.0.1 with a free port, in its own thread and event loop.

    ``rpc_frontend=True`` serves the port from the front-end process, as ``aivm devnet`` does.
    """

    def __init__(
        self, home: Path, block_time_ms: int = 150, rpc_frontend: bool = False, **kwargs: Any
    ) -> None:
        self.home = home
        self.block_time_ms = block_time_ms
        self.rpc_frontend = rpc_frontend
        self.kwargs = kwargs
        self.port = 0
        self.devnet: Devnet | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.devnet = Devnet(self.home, out=io.StringIO(), **self.kwargs)

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        await run_devnet(
            self.devnet, self.block_time_ms, 0, self._stop, ready, rpc_frontend=self.rpc_frontend
        )

    def __enter__(self) -> DevnetThread:
        self._thread.start()
        self._ready.wait(20)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        assert not self._thread.is_alive()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def post_raw(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def rpc(url: str, method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
    """One JSON-RPC call; returns the whole response object."""
    body = json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}})
    return post_raw(url, body.encode())[1]


def result(url: str, method: str, params: Any = None) -> Any:
    response = rpc(url, method, params)
    assert "error" not in response, response
    return response["result"]


def wait_height(url: str, height: int, timeout: float = 8.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        h = int(result(url, "status")["sync_info"]["latest_block_height"])
        if h >= height:
            return h
        if time.monotonic() > deadline:
            raise TimeoutError(f"height {h} < {height}")
        time.sleep(0.05)


class DevnetRestThread(DevnetThread):
    """A DevnetThread that also serves the REST gateway (``rest_url``) on a free port."""

    rest_port = 0

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.devnet = Devnet(self.home, out=io.StringIO(), **self.kwargs)

        def rest_ready(port: int) -> None:
            self.rest_port = port

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        await run_devnet(
            self.devnet,
            self.block_time_ms,
            0,
            self._stop,
            ready,
            rest_port=0,
            on_rest_ready=rest_ready,
            rpc_frontend=self.rpc_frontend,
        )

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"


def process_state(pid: int) -> str | None:
    """The state letter of process ``pid`` (``R``, ``S``, ``Z``, …), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def child_pids(parent: int, module: str | None = None) -> list[int]:
    """Pids of ``parent``'s live children (from Linux /proc); with ``module``, only those
    whose command line has that word (``python -m <module>``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) != parent or fields[0] == "Z":
            continue
        if module is None or module.encode() in argv:
            found.append(int(entry.name))
    return found


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate()`` every 50 ms until it is true; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)
