"""IpfsBlobStore against a real IPFS daemon (kubo, built by ``scripts/install-kubo.sh``).

The fixture runs ``ipfs init --profile test`` in a temporary ``IPFS_PATH``, puts the API,
gateway and swarm on free loopback ports, starts ``ipfs daemon --offline`` and stops it after
the module (checking the process is gone). The tests check that files stored through the
daemon get the same CIDs as the local store and as kubo's own importer (``/api/v0/add``), that
kubo reads our DAGs (``/api/v0/cat``), and that a block corrupted in the daemon's repository is
detected, never served. ``AIVM_IPFS=/path/to/ipfs`` uses a kubo built elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aivm.client.storage import StorageClient
from aivm.crypto import unixfs
from aivm.node.blobstore import IpfsBlobStore, LocalBlobStore, open_blob_store
from aivm.node.rest import RestGateway
from aivm.types.errors import AivmError

pytestmark = [pytest.mark.ipfs, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "scripts" / "install-kubo.sh"
CHUNK = unixfs.CHUNK_SIZE
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 1000, 175 * CHUNK + 5]


def content(size: int, tag: bytes = b"ipfs") -> bytes:
    """Distinct chunks, cheap to make (the same chunks for the same tag)."""
    full = b"".join(i.to_bytes(4, "big") * (CHUNK // 4) for i in range(size // CHUNK + 1))
    return (tag + full)[:size]


def kubo_binary() -> Path:
    """The kubo binary: ``$AIVM_IPFS``, or built once by scripts/install-kubo.sh; else fail."""
    override = os.environ.get("AIVM_IPFS")
    if override:
        if not Path(override).is_file():
            pytest.fail(f"AIVM_IPFS={override} does not exist")
        return Path(override)
    (REPO / ".tools").mkdir(exist_ok=True)
    with open(REPO / ".tools" / "kubo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800
        )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        pytest.fail(
            "the IPFS tests need kubo: scripts/install-kubo.sh failed "
            f"(exit {done.returncode}); build it, or set AIVM_IPFS=/path/to/ipfs:\n{tail}"
        )
    return Path(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ipfs(binary: Path, repo: Path, *args: str) -> str:
    done = subprocess.run(
        [str(binary), *args],
        env={**os.environ, "IPFS_PATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"ipfs {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(API URL, IPFS_PATH) of an offline kubo daemon on free loopback ports."""
    binary = kubo_binary()
    repo = tmp_path_factory.mktemp("ipfs")
    ipfs(binary, repo, "init", "--profile", "test")
    api, gateway, swarm = free_port(), free_port(), free_port()
    ipfs(binary, repo, "config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}")
    ipfs(binary, repo, "config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gateway}")
    ipfs(binary, repo, "config", "--json", "Addresses.Swarm", f'["/ip4/127.0.0.1/tcp/{swarm}"]')
    log = open(repo / "daemon.log", "wb")  # noqa: SIM115 - closed in finally
    daemon = subprocess.Popen(
        [str(binary), "daemon", "--offline"],
        env={**os.environ, "IPFS_PATH": str(repo)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{api}"
    try:
        wait_for_api(url, daemon, repo)
        yield url, repo
    finally:
        daemon.terminate()
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
        log.close()
        assert daemon.poll() is not None


def wait_for_api(url: str, daemon: subprocess.Popen[bytes], repo: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(f"ipfs daemon exited: {(repo / 'daemon.log').read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.post(url + "/api/v0/version", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"ipfs daemon API did not answer: {(repo / 'daemon.log').read_text()[-2000:]}")


def kubo_add(url: str, data: bytes) -> str:
    """The CID kubo's own importer gives ``data`` (``ipfs add --cid-version=1``)."""
    response = requests.post(
        url + "/api/v0/add",
        params={"cid-version": "1", "raw-leaves": "true", "pin": "false", "only-hash": "true"},
        files={"file": ("f", data)},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["Hash"])


def kubo_cat(url: str, cid: str) -> bytes:
    response = requests.post(
        url + "/api/v0/cat", params={"arg": cid, "offline": "true"}, timeout=120
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("size", SIZES)
def test_same_cids_as_local_store_and_kubo(
    kubo: tuple[str, Path], tmp_path: Path, size: int
) -> None:
    url, _ = kubo
    data = content(size)
    store = IpfsBlobStore(url)
    pieces = [data[i : i + 100_000] for i in range(0, len(data), 100_000)] or [b""]
    stat = store.put(pieces)
    assert stat.cid == LocalBlobStore(tmp_path / "blobs").put_bytes(data).cid
    assert stat.cid == unixfs.cid_of(data) == kubo_add(url, data)
    assert (stat.size, stat.chunks) == (size, unixfs.chunk_count(size))
    assert store.has(stat.cid) and store.stat(stat.cid) == stat
    assert store.read_all(stat.cid) == data
    assert kubo_cat(url, stat.cid) == data  # kubo reads the DAG we wrote
    if size > 10:
        assert b"".join(store.read(stat.cid, 5, size - 5)) == data[5 : size - 5]
    for index in sorted({0, stat.chunks // 2, stat.chunks - 1}):
        chunk, proof = store.chunk_with_proof(stat.cid, index)
        unixfs.verify_chunk(stat.cid, size, index, chunk, proof)


def test_missing_object(kubo: tuple[str, Path]) -> None:
    store = IpfsBlobStore(kubo[0])
    cid = unixfs.cid_of(b"never stored in this daemon")
    assert not store.has(cid)
    with pytest.raises(AivmError) as err:
        store.stat(cid)
    assert (err.value.codespace, err.value.code) == ("storage", 3)


def test_block_corrupted_in_the_daemon_is_detected(kubo: tuple[str, Path]) -> None:
    url, repo = kubo
    data = content(2 * CHUNK + 9, b"corrupt")
    store = IpfsBlobStore(url)
    stat = store.put_bytes(data)
    leaf = data[CHUNK : 2 * CHUNK]
    files = [p for p in (repo / "blocks").rglob("*.data") if p.read_bytes() == leaf]
    assert len(files) == 1, "the leaf block was not found in the daemon's flatfs blockstore"
    files[0].write_bytes(b"X" + leaf[1:])
    assert kubo_cat(url, stat.cid) != data  # kubo itself serves the corrupted bytes ...
    with pytest.raises(AivmError) as err:  # ... we do not
        store.read_all(stat.cid)
    assert (err.value.codespace, err.value.code) == ("storage", 4)
    with pytest.raises(AivmError):
        store.chunk_with_proof(stat.cid, 1)
    assert b"".join(store.read(stat.cid, 0, CHUNK)) == data[:CHUNK]  # intact chunks still read


@contextlib.contextmanager
def gateway_over(store: IpfsBlobStore) -> Iterator[str]:
    """A REST gateway with only its content-store routes in use, on its own loop and thread."""
    loop = asyncio.new_event_loop()
    gateway = RestGateway("http://127.0.0.1:1", blob_store=store)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(gateway.start("127.0.0.1", 0), loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_rest_and_sdk_over_the_ipfs_backend(kubo: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = kubo
    store = open_blob_store(tmp_path / "unused", url)
    assert isinstance(store, IpfsBlobStore) and not (tmp_path / "unused").exists()
    data = content(4 * CHUNK + 3, b"rest")
    with gateway_over(store) as rest:
        client = StorageClient(rest)
        stat = client.put(data)
        assert stat.cid == unixfs.cid_of(data) == kubo_add(url, data)
        (tmp_path / "out.part").write_bytes(data[:CHUNK])
        client.get(stat.cid, tmp_path / "out")
        assert (tmp_path / "out").read_bytes() == data
    assert kubo_cat(url, stat.cid) == data
