"""The node's content store over REST, the SDK and the CLI, on a running devnet: upload,
stat, full and ranged download, resume, corruption reported and never served, and the
on-chain side (retention, a challenge answered from the node's store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from aivm.client.storage import StorageClient, StorageError
from aivm.crypto import unixfs
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys
from sample_data import sample_bytes

CHUNK = unixfs.CHUNK_SIZE
pytestmark = pytest.mark.parametrize("chain", ["devnet"], indirect=True)


def test_upload_stat_download_and_ranges(chain: ChainEndpoint) -> None:
    data = sample_bytes(3 * CHUNK + 123, b"rest")
    base = chain.rest_url + "/aivm/storage/v1/blobs"
    uploaded = requests.post(
        base, data=data, headers={"Content-Type": "application/octet-stream"}, timeout=30
    ).json()
    assert uploaded == {"cid": unixfs.cid_of(data), "size": len(data), "chunks": 4}
    cid = uploaded["cid"]
    assert requests.get(f"{base}/{cid}/stat", timeout=30).json()["size"] == len(data)
    full = requests.get(f"{base}/{cid}", timeout=30)
    assert full.status_code == 200 and full.content == data
    assert full.headers["Accept-Ranges"] == "bytes"
    part = requests.get(
        f"{base}/{cid}", headers={"Range": f"bytes={CHUNK - 10}-{CHUNK + 9}"}, timeout=30
    )
    assert part.status_code == 206 and part.content == data[CHUNK - 10 : CHUNK + 10]
    assert part.headers["Content-Range"] == f"bytes {CHUNK - 10}-{CHUNK + 9}/{len(data)}"
    bad = requests.get(f"{base}/{cid}", headers={"Range": f"bytes={len(data)}-"}, timeout=30)
    assert bad.status_code == 416
    missing = requests.get(f"{base}/{unixfs.cid_of(b'nothing here')}", timeout=30)
    assert missing.status_code == 404 and "storage/3" in missing.json()["message"]
    proof = requests.get(f"{base}/{cid}/chunks/2", timeout=30).json()
    assert set(proof) == {"cid", "index", "chunk", "proof"}


def test_sdk_resumes_and_verifies(chain: ChainEndpoint, tmp_path: Path) -> None:
    client = StorageClient(chain.rest_url)
    data = sample_bytes(2 * CHUNK + 7, b"sdk")
    stat = client.put(data)
    dest = tmp_path / "out.bin"
    (tmp_path / "out.bin.part").write_bytes(data[:100_000])  # an interrupted download
    seen: list[int] = []
    client.get(stat.cid, dest, progress=seen.append)
    assert dest.read_bytes() == data and not (tmp_path / "out.bin.part").exists()
    assert sum(seen) == len(data) - 100_000  # only the rest was transferred


def test_corrupted_blob_is_reported_not_served(chain: ChainEndpoint, tmp_path: Path) -> None:
    data = sample_bytes(CHUNK + 99, b"corrupt")
    stat = StorageClient(chain.rest_url).put(data)
    leaf = unixfs.build_dag(data).leaves[1]
    path = next((chain.home / "blobs").rglob(leaf))
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    response = requests.get(f"{chain.rest_url}/aivm/storage/v1/blobs/{stat.cid}", timeout=30)
    assert response.status_code == 500
    assert "storage/4" in response.json()["message"] and data[:100] not in response.content
    with pytest.raises(StorageError):
        StorageClient(chain.rest_url).get(stat.cid, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_put_get_store_challenge_answer(run: Run, chain: ChainEndpoint, tmp_path: Path) -> None:
    import_keys(run, chain, 1)
    data = sample_bytes(2 * CHUNK + 1, b"cli")
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    rest = ["--rest", chain.rest_url]
    code, out, err = run("storage", "put", str(source), *rest, "-o", "json")
    assert code == 0, err
    cid = json.loads(out)["cid"]
    assert cid == unixfs.cid_of(data)
    code, out, err = run("storage", "stat", cid, *rest, "-o", "json")
    assert json.loads(out)["chunks"] == "3"
    target = tmp_path / "copy.bin"
    code, out, err = run("storage", "get", cid, "--output-file", str(target), *rest, "-o", "json")
    assert code == 0, err
    assert target.read_bytes() == data and json.loads(out)["verified"] is True

    code, out, err = run(
        "tx",
        "storage",
        "store",
        cid,
        "--blocks",
        "20",
        "--from",
        "dev1",
        "--yes",
        *rest,
        "-o",
        "json",
    )
    assert code == 0, err
    code, out, err = run("query", "storage", "object", cid, "-o", "json")
    assert json.loads(out)["size"] == str(len(data))
    code, out, err = run("tx", "storage", "challenge", cid, "--from", "dev1", "--yes", "-o", "json")
    assert code == 0, err
    challenge_id = json.loads(out)["challenge_id"]
    code, out, err = run(
        "tx", "storage", "answer", challenge_id, "--from", "dev1", "--yes", *rest, "-o", "json"
    )
    assert code == 0, err
    code, out, err = run("query", "storage", "challenge", challenge_id, "-o", "json")
    assert json.loads(out)["status"] == "CHALLENGE_STATUS_PASSED"
