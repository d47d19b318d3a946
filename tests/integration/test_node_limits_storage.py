"""Uploads to the node's content store (``POST /aivm/storage/v1/blobs``) within the
``[storage]`` limits of ``app.toml``, over real HTTP on a devnet's REST gateway and on
``aivm start``'s: only ``application/octet-stream`` (so a web page cannot post a file as a
CORS "simple request"), no foreign ``Origin`` and no cross-site fetch, a maximum object size
answered 413 as soon as it is passed, and a quota answered 507, with nothing of a refused
upload left in the store; the SDK keeps working and learns the refusals."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aivm.client.storage import StorageClient, StorageError
from aivm.crypto import unixfs
from devnet_helpers import DevnetRestThread, wait_for
from sample_data import sample_bytes

CHUNK = unixfs.CHUNK_SIZE
OCTETS = {"Content-Type": "application/octet-stream"}
ALLOWED = "https://app.example"
MAX_OBJECT = 3 * CHUNK
APP_TOML = f"""
[storage]
max-object-bytes = {MAX_OBJECT}
max-total-bytes = {8 * CHUNK}
cors-allowed-origins = ["{ALLOWED}"]
"""


def _home(root: Path, app_toml: str = APP_TOML) -> Path:
    home = root / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "app.toml").write_text(app_toml)
    return home


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetRestThread]:
    with DevnetRestThread(_home(tmp_path_factory.mktemp("storage-limits"))) as n:
        yield n


def _blocks(home: Path) -> list[Path]:
    """Every file of the content store (blocks and anything staged)."""
    return sorted(p for p in (home / "blobs").rglob("*") if p.is_file())


def _post(url: str, data: bytes, **headers: str) -> requests.Response:
    return requests.post(url + "/aivm/storage/v1/blobs", data=data, headers=headers, timeout=30)


def _coded(response: requests.Response) -> str:
    return str(response.json()["message"])


def test_only_raw_bytes_are_accepted(node: DevnetRestThread) -> None:
    for content_type in (
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json",
    ):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = _post(node.rest_url, b"hello", **headers)
        assert answer.status_code == 415, content_type
        assert _coded(answer).startswith("blobstore/3: ") and "application/octet-stream" in _coded(
            answer
        )
    ok = _post(node.rest_url, b"hello", **OCTETS)
    assert ok.status_code == 200 and ok.json()["cid"] == unixfs.cid_of(b"hello")


def test_foreign_origins_and_cross_site_requests_are_refused(node: DevnetRestThread) -> None:
    before = _blocks(node.home)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    ):
        answer = _post(node.rest_url, b"from a web page", **OCTETS, **headers)
        assert answer.status_code == 403, headers
        assert _coded(answer).startswith("blobstore/4: ")
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert _blocks(node.home) == before
    allowed = _post(node.rest_url, b"from our app", **OCTETS, Origin=ALLOWED)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in allowed.headers["Vary"]
    same_site = _post(node.rest_url, b"same site", **OCTETS, **{"Sec-Fetch-Site": "same-site"})
    assert same_site.status_code == 200  # no Origin, not cross-site: a script or the CLI


def test_the_cors_preflight_answers_allowed_origins_only(node: DevnetRestThread) -> None:
    url = node.rest_url + "/aivm/storage/v1/blobs"
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    answer = requests.options(url, headers={"Origin": ALLOWED, **ask}, timeout=10)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]
    refused = requests.options(url, headers={"Origin": "https://evil.example", **ask}, timeout=10)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    stored = _post(node.rest_url, b"readable", **OCTETS).json()["cid"]
    read = requests.get(f"{url}/{stored}", headers={"Origin": ALLOWED}, timeout=10)
    assert read.content == b"readable" and read.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_an_object_over_the_limit_is_refused_from_its_length(node: DevnetRestThread) -> None:
    before = _blocks(node.home)
    answer = _post(node.rest_url, sample_bytes(MAX_OBJECT + 1, b"long"), **OCTETS)
    assert answer.status_code == 413
    assert (
        _coded(answer) == f"storage/7: objects are limited to {MAX_OBJECT} bytes: object too large"
    )
    assert _blocks(node.home) == before
    exact = _post(node.rest_url, sample_bytes(MAX_OBJECT, b"exact"), **OCTETS)
    assert exact.status_code == 200 and exact.json()["size"] == MAX_OBJECT


def _chunked_upload_until_answered(port: int, total: int) -> bytes:
    """Stream ``total`` bytes with chunked encoding, never sending the end of the body; stop
    sending as soon as the node answers and return the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /aivm/storage/v1/blobs HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = 32 * 1024
        data = sample_bytes(total, b"stream")
        for start in range(0, total, piece):
            body = data[start : start + piece]
            try:
                conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([conn], [], [], 0)[0]:
                break
        answer = b""
        conn.settimeout(10)
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def test_a_streamed_object_is_refused_as_soon_as_it_passes_the_limit(
    node: DevnetRestThread,
) -> None:
    before = _blocks(node.home)
    answer = _chunked_upload_until_answered(node.rest_port, 40 * MAX_OBJECT)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"storage/7: objects are limited to" in answer
    assert _blocks(node.home) == before  # the chunks staged before the limit are gone


def test_an_upload_abandoned_midway_leaves_nothing(node: DevnetRestThread) -> None:
    before = _blocks(node.home)
    with socket.create_connection(("127.0.0.1", node.rest_port), timeout=10) as conn:
        conn.sendall(
            b"POST /aivm/storage/v1/blobs HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % MAX_OBJECT
        )
        conn.sendall(sample_bytes(2 * CHUNK + 10, b"abandoned"))  # two chunks staged ...
        time.sleep(0.3)
    # ... and the client is gone: they are deleted
    wait_for(lambda: _blocks(node.home) == before, 5, "the staged blocks to be deleted")


def test_the_sdk_sends_raw_bytes_with_their_length(node: DevnetRestThread, tmp_path: Path) -> None:
    client = StorageClient(node.rest_url)
    data = sample_bytes(CHUNK + 7, b"sdk")
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    seen: list[int] = []
    assert client.put(path, progress=seen.append).cid == unixfs.cid_of(data)
    assert sum(seen) == len(data)
    assert client.put(b"").cid == unixfs.cid_of(b"")
    path.write_bytes(sample_bytes(MAX_OBJECT + 1, b"too big"))
    with pytest.raises(StorageError) as err:
        client.put(path)
    assert err.value.status == 413 and (err.value.codespace, err.value.code) == ("storage", 7)


def test_the_quota_is_answered_507_and_leaves_nothing(tmp_path: Path) -> None:
    quota = 3 * CHUNK
    home = _home(tmp_path, f"[storage]\nmax-total-bytes = {quota}\n")
    with DevnetRestThread(home) as node:
        assert _post(node.rest_url, sample_bytes(CHUNK, b"one"), **OCTETS).status_code == 200
        assert _post(node.rest_url, sample_bytes(CHUNK + 50, b"two"), **OCTETS).status_code == 200
        held = _blocks(node.home)  # 2 chunks, 50 bytes and a root node: less than a chunk free
        by_length = _post(node.rest_url, sample_bytes(2 * CHUNK, b"three"), **OCTETS)
        streamed = requests.post(  # chunked: refused when its first chunk is staged
            node.rest_url + "/aivm/storage/v1/blobs",
            data=iter([sample_bytes(CHUNK, b"four")]),
            headers=OCTETS,
            timeout=30,
        )
        for answer in (by_length, streamed):
            assert answer.status_code == 507
            assert _coded(answer).startswith("blobstore/2: ")
            assert f"past its quota of {quota} bytes" in _coded(answer)
        assert _blocks(node.home) == held
        client = StorageClient(node.rest_url)
        for size in (CHUNK, 40 * CHUNK):  # refused mid-body: the SDK still reads the answer
            with pytest.raises(StorageError) as err:
                client.put(sample_bytes(size, b"five"))
            assert err.value.status == 507 and err.value.codespace == "blobstore"
        assert _blocks(node.home) == held
        assert client.put(sample_bytes(CHUNK, b"one")).size == CHUNK  # held already: no cost
        assert client.put(b"small").size == 5


def test_aivm_start_serves_uploads_within_its_app_toml(tmp_path: Path) -> None:
    home = _home(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aivm.cli.main",
            "--home",
            str(home),
            "start",
            "--abci",
            f"unix://{tmp_path}/abci.sock",
            "--rest-port",
            "0",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        rest = ""
        deadline = time.monotonic() + 30
        while not rest and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "aivm start exited"
            if line.startswith("REST gateway on "):
                rest = line.split()[3]
        assert _post(rest, b"x", **{"Content-Type": "text/plain"}).status_code == 415
        assert _post(rest, b"x", **OCTETS, Origin="https://evil.example").status_code == 403
        assert _post(rest, b"x", **OCTETS, Origin=ALLOWED).status_code == 200
        too_big = _post(rest, sample_bytes(MAX_OBJECT + 1, b"start"), **OCTETS)
        assert too_big.status_code == 413
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
