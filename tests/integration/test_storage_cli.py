"""``aivm storage put|get|stat`` and the SDK's resumable download on a running devnet: a real
interruption and resume give the identical file, a corrupted blob is reported with its coded
error and never written, and the user's files are never clobbered by a failed download."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from aivm.client.storage import StorageClient, StorageError
from aivm.crypto import unixfs
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys

CHUNK = unixfs.CHUNK_SIZE
pytestmark = pytest.mark.parametrize("chain", ["devnet"], indirect=True)


def content(size: int, tag: bytes) -> bytes:
    """Distinct chunks, cheap to make."""
    full = b"".join(
        tag[:4].ljust(4, b"-") + i.to_bytes(4, "big") * (CHUNK // 4 - 1)
        for i in range(size // CHUNK + 1)
    )
    return full[:size]


class Interrupted(Exception):
    """Raised by a progress callback to cut a download short."""


def test_interrupted_download_resumes_to_the_identical_file(
    chain: ChainEndpoint, tmp_path: Path
) -> None:
    client = StorageClient(chain.rest_url)
    data = content(5 * CHUNK + 321, b"resume")
    stat = client.put(data)
    dest = tmp_path / "model.bin"
    cut = 2 * CHUNK + 1000
    received: list[int] = []

    def stop_after_cut(n: int) -> None:
        received.append(n)
        if sum(received) >= cut:
            raise Interrupted

    with pytest.raises(Interrupted):
        client.get(stat.cid, dest, progress=stop_after_cut)
    part = tmp_path / "model.bin.part"
    have = part.stat().st_size
    assert cut <= have < len(data) and not dest.exists()
    assert part.read_bytes() == data[:have]

    resumed: list[int] = []
    assert client.get(stat.cid, dest, progress=resumed.append) == stat
    assert dest.read_bytes() == data and not part.exists()
    assert sum(resumed) == len(data) - have  # only the missing bytes were fetched


def test_cli_put_stat_get_and_resume(run: Run, chain: ChainEndpoint, tmp_path: Path) -> None:
    data = content(3 * CHUNK + 5, b"cli2")
    source = tmp_path / "card.md"
    source.write_bytes(data)
    rest = ["--rest", chain.rest_url, "-o", "json"]
    code, out, err = run("storage", "put", str(source), *rest)
    assert code == 0, err
    put = json.loads(out)
    assert put == {"cid": unixfs.cid_of(data), "size": str(len(data)), "chunks": "4"}
    code, out, err = run("storage", "stat", put["cid"], *rest)
    assert code == 0 and json.loads(out) == put, err

    target = tmp_path / "copy.md"
    (tmp_path / "copy.md.part").write_bytes(data[: CHUNK + 17])  # a partial earlier download
    code, out, err = run("storage", "get", put["cid"], "--output-file", str(target), *rest)
    assert code == 0, err
    assert json.loads(out)["verified"] is True
    assert target.read_bytes() == data and not (tmp_path / "copy.md.part").exists()

    # a .part that is not a prefix of the file fails verification and is discarded ...
    (tmp_path / "copy2.md.part").write_bytes(b"garbage" * 10)
    code, _, err = run(
        "storage", "get", put["cid"], "--output-file", str(tmp_path / "copy2.md"), *rest
    )
    assert code == 1 and "not" in err and not (tmp_path / "copy2.md").exists()
    # ... and the next attempt starts over
    code, _, err = run(
        "storage", "get", put["cid"], "--output-file", str(tmp_path / "copy2.md"), *rest
    )
    assert code == 0, err
    assert (tmp_path / "copy2.md").read_bytes() == data


def test_cli_reports_a_corrupted_blob_and_writes_nothing(
    run: Run, chain: ChainEndpoint, tmp_path: Path
) -> None:
    data = content(2 * CHUNK + 77, b"bad!")
    stat = StorageClient(chain.rest_url).put(data)
    leaf = unixfs.build_dag(data).leaves[2]
    block = next((chain.home / "blobs").rglob(leaf))
    block.write_bytes(b"\x00" + block.read_bytes()[1:])
    target = tmp_path / "out.bin"
    target.write_bytes(b"the user's own file")
    code, out, err = run(
        "storage", "get", stat.cid, "--output-file", str(target), "--rest", chain.rest_url
    )
    assert code == 1 and out == ""
    assert "storage/4" in err and "corrupted" in err
    assert target.read_bytes() == b"the user's own file"  # untouched
    assert not (tmp_path / "out.bin.part").exists()
    with pytest.raises(StorageError) as caught:
        StorageClient(chain.rest_url).get(stat.cid, tmp_path / "sdk.bin")
    assert (caught.value.codespace, caught.value.code, caught.value.status) == ("storage", 4, 500)


def test_cli_unknown_and_invalid_cids(run: Run, chain: ChainEndpoint) -> None:
    rest = ["--rest", chain.rest_url]
    code, _, err = run("storage", "stat", unixfs.cid_of(b"never uploaded"), *rest)
    assert code == 1 and "storage/3" in err
    code, _, err = run("storage", "stat", "not-a-cid", *rest)
    assert code == 1 and "storage/2" in err


def test_progress_bars_on_a_terminal_only_and_never_in_json(
    run: Run, chain: ChainEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = content(5 * CHUNK, b"bars")  # 1.25 MiB: large enough for a bar
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    rest = ["--rest", chain.rest_url]
    code, out, err = run("storage", "put", str(source), *rest)
    assert code == 0 and "upload" not in err  # not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run("storage", "put", str(source), *rest)
    assert code == 0 and "upload" in err and "100%" in err
    code, out, err = run("storage", "put", str(source), *rest, "-o", "json")
    assert code == 0 and "upload" not in err
    cid = json.loads(out)["cid"]
    target = tmp_path / "big.out"
    code, out, err = run("storage", "get", cid, "--output-file", str(target), *rest)
    assert code == 0 and "download" in err and "100%" in err
    assert target.read_bytes() == data


@pytest.fixture
def signer(run: Run, chain: ChainEndpoint) -> Run:
    """The runner with two funded keys (``dev2``, ``dev3``) in its test keyring."""
    return import_keys(run, chain, 2, 3)


def test_cli_store_proves_the_size_and_keeps_one_record_per_owner(
    signer: Run, chain: ChainEndpoint, tmp_path: Path
) -> None:
    data = content(2 * CHUNK + 9, b"own!")
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    rest = ["--rest", chain.rest_url, "-o", "json"]
    code, out, err = signer("storage", "put", str(source), *rest)
    assert code == 0, err
    cid = json.loads(out)["cid"]

    def store(*args: str) -> tuple[int, str, str]:
        return signer("tx", "storage", "store", cid, "--blocks", "20", "--yes", *args, *rest)

    # the root block comes from the node's content store: no --size, no --file needed
    code, out, err = store("--from", "dev2")
    assert code == 0, err
    assert json.loads(out)["size"] == str(len(data))
    # another account keeps its own record, its root block computed from the local file
    code, out, err = store("--from", "dev3", "--file", str(source), "--size", str(len(data)))
    assert code == 0, err
    # a declared size the root block disagrees with is refused by the chain
    code, out, err = store("--from", "dev3", "--size", str(len(data) + 1))
    assert code == 1 and "storage code 6" in err, err
    # a file that is not the CID's content is refused before anything is signed
    other = tmp_path / "other.bin"
    other.write_bytes(data[:-1])
    code, out, err = store("--from", "dev3", "--file", str(other))
    assert code == 1 and "not " + cid in err, err

    code, out, err = signer("query", "storage", "records", cid, "-o", "json")
    assert code == 0, err
    owners = {r["owner"]: r["size"] for r in json.loads(out)["records"]}
    assert owners == {
        chain.accounts[2].address: str(len(data)),
        chain.accounts[3].address: str(len(data)),
    }
    code, out, err = signer(
        "query", "storage", "object", cid, "--owner", chain.accounts[3].address, "-o", "json"
    )
    assert code == 0 and json.loads(out)["owner"] == chain.accounts[3].address, err


def test_cli_store_of_a_one_chunk_file(signer: Run, chain: ChainEndpoint, tmp_path: Path) -> None:
    data = b"one chunk is its own root block"
    source = tmp_path / "note.txt"
    source.write_bytes(data)
    rest = ["--rest", chain.rest_url, "-o", "json"]
    cid = unixfs.cid_of(data)
    code, out, err = signer(
        "tx",
        "storage",
        "store",
        cid,
        "--file",
        str(source),
        "--blocks",
        "20",
        "--from",
        "dev2",
        "--yes",
        *rest,
    )
    assert code == 0, err
    assert json.loads(out)["size"] == str(len(data))
    # not uploaded to the node: without --file there is no root block to take
    missing = unixfs.cid_of(b"never uploaded anywhere")
    code, out, err = signer(
        "tx", "storage", "store", missing, "--blocks", "20", "--from", "dev2", "--yes", *rest
    )
    assert code == 1 and "storage/3" in err, err


def test_cli_store_refuses_a_root_block_that_does_not_match_the_cid(
    signer: Run, chain: ChainEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = content(2 * CHUNK + 3, b"lie!")
    cid = StorageClient(chain.rest_url).put(data).cid
    other = unixfs.build_dag(content(2 * CHUNK + 4, b"lie!"))
    honest_chunk = StorageClient.chunk

    def lying_chunk(self: StorageClient, cid_: str, index: int) -> tuple[bytes, bytes]:
        chunk, _ = honest_chunk(self, cid_, index)
        return chunk, unixfs.chunk_proof(other, 0).encode()  # another file's root node

    monkeypatch.setattr(StorageClient, "chunk", lying_chunk)
    code, out, err = signer(
        "tx", "storage", "store", cid, "--blocks", "20", "--from", "dev2", "--yes",
        "--rest", chain.rest_url,
    )  # fmt: skip
    assert code == 1 and "does not match" in err and out == "", err
