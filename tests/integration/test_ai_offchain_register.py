"""Registering off-chain models from the CLI and the SDK on a running devnet: the model file is
uploaded to the node's content store, its retention paid and the version registered in one tx
(or an object already stored is named by CID, sha256 and size), with the comparison rule the
compute module will use (``--comparison tolerance --atol 1e-4 --rtol 1e-3``, ``tokens``);
bad rules and missing records fail with coded errors and register nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aivm.client import Client, Wallet
from aivm.client.errors import ChainError
from aivm.client.storage import StorageClient
from aivm.crypto import unixfs
from aivm.modules.ai.client import AiClient
from aivm.modules.storage.client import StorageTxClient
from chain_drivers import ChainEndpoint
from cli_runner import Run, import_keys

pytestmark = pytest.mark.parametrize("chain", ["devnet"], indirect=True)


def model_file(size: int, tag: bytes) -> bytes:
    """Stand-in model bytes (the chain never parses an off-chain artifact); over one chunk so
    the CID is a dag-pb root."""
    block = hashlib.sha256(tag).digest()
    return (block * (size // 32 + 1))[:size]


def query_json(run: Run, *args: str) -> dict[str, object]:
    code, out, err = run("query", "ai", *args, "-o", "json")
    assert code == 0, err
    found: dict[str, object] = json.loads(out)
    return found


def test_cli_uploads_and_registers_an_offchain_model(
    run: Run, chain: ChainEndpoint, tmp_path: Path
) -> None:
    import_keys(run, chain, 0)
    data = model_file(unixfs.CHUNK_SIZE + 1234, b"cli-lm")
    path = tmp_path / "lm.onnx"
    path.write_bytes(data)
    code, out, err = run(
        "tx", "ai", "register", str(path), "--offchain", "--format", "onnx",
        "--blocks", "500", "--name", "cli-lm", "--version", "1.0.0",
        "--comparison", "tolerance", "--atol", "1e-4", "--rtol", "1e-3",
        "--tag", "nlp", "--rest", chain.rest_url, "--from", "dev0", "--yes", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    done = json.loads(out)
    cid = unixfs.cid_of(data)
    assert done["artifact_cid"] == cid and done["execution_path"] == "offchain"
    assert done["comparison"] == "tolerance"
    model_id = done["model_id"]

    versions = query_json(run, "model", model_id)["versions"]
    assert isinstance(versions, list)
    version = versions[0]
    assert version["execution_path"] == "offchain" and version["format"] == "onnx"
    assert version["artifact_cid"] == cid and version["artifact_size"] == str(len(data))
    assert version["comparison"] == "tolerance"
    assert version["comparison_atol"] == "0.000100000000000000"
    assert version["comparison_rtol"] == "0.001000000000000000"
    # the file is in the content store, and the owner's retention record was paid
    assert StorageClient(chain.rest_url).stat(cid).size == len(data)
    with Client(chain.rpc_url) as client:
        record = StorageTxClient(client).object(cid, chain.accounts[0].address)
        assert record.size == len(data)
        sha = AiClient(client).version(int(model_id)).artifact_sha256
    assert sha == hashlib.sha256(data).digest()

    # a new version of the same file, named by CID (the record exists: no --blocks)
    code, out, err = run(
        "tx", "ai", "register", "--offchain", "--artifact-cid", cid,
        "--artifact-sha256", hashlib.sha256(data).hexdigest(),
        "--artifact-size", str(len(data)), "--comparison", "tokens",
        "--name", "cli-lm", "--version", "1.1.0", "--from", "dev0", "--yes", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    version = query_json(run, "model", model_id)["versions"]
    assert isinstance(version, list)
    assert [(v["version"], v["comparison"]) for v in version] == [
        ("1.0.0", "tolerance"),
        ("1.1.0", "tokens"),
    ]


def test_cli_refuses_bad_offchain_registrations(
    run: Run, chain: ChainEndpoint, tmp_path: Path
) -> None:
    import_keys(run, chain, 0)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"small model")
    base = ["tx", "ai", "register", "--name", "bad-lm", "--version", "1.0.0", "--from", "dev0"]
    rest = ["--rest", chain.rest_url, "--yes"]
    # a relative tolerance above 1: refused before anything is uploaded or signed
    code, _, err = run(
        *base, str(path), "--offchain", "--blocks", "50", "--comparison", "tolerance",
        "--rtol", "2", *rest,
    )  # fmt: skip
    assert code == 1 and "(ai code 13): rtol must be between 0 and 1: 2" in err
    code, _, err = run(*base, str(path), "--offchain", "--blocks", "50", "--atol", "abc", *rest)
    assert code == 1 and "--atol: not a number" in err
    code, _, err = run(*base, str(path), "--offchain", *rest)
    assert code == 1 and "needs --blocks" in err
    code, _, err = run(*base, "--offchain", "--artifact-cid", unixfs.cid_of(b"x"), *rest)
    assert code == 1 and "go together" in err
    # on-chain models compare exactly
    code, _, err = run(*base, str(path), "--comparison", "tokens", *rest)
    assert code == 1 and "(ai code 13)" in err and "on-chain models compare exactly" in err
    # an object the owner keeps no storage record of: the chain refuses it (ai/6)
    other = b"never stored by dev0"
    code, _, err = run(
        *base, "--offchain", "--artifact-cid", unixfs.cid_of(other),
        "--artifact-sha256", hashlib.sha256(other).hexdigest(),
        "--artifact-size", str(len(other)), *rest,
    )  # fmt: skip
    assert code == 1 and "(ai code 6)" in err and "no storage record" in err
    code, out, _ = run("query", "ai", "models", "-o", "json")
    assert "bad-lm" not in out


def test_sdk_registers_offchain_models(chain: ChainEndpoint) -> None:
    wallet = Wallet.from_mnemonic(chain.accounts[1].mnemonic)
    data = model_file(4000, b"sdk-vision")
    with Client(chain.rpc_url, rest=chain.rest_url) as client:
        ai = client.modules.ai
        assert isinstance(ai, AiClient)
        done = ai.register_model(
            wallet,
            data,
            "sdk-vision",
            "1.0.0",
            offchain=True,
            retention_blocks=200,
            comparison="tolerance",
            tags=["vision"],
        )
        assert done.artifact_cid == unixfs.cid_of(data)
        version = ai.version(done.model_id)
        assert (version.execution_path, version.format, version.artifact_size) == (
            "offchain",
            "onnx",
            len(data),
        )
        # the defaults: atol 0.00001, rtol 0.001
        assert (version.comparison, version.comparison_atol, version.comparison_rtol) == (
            "tolerance",
            "0.000010000000000000",
            "0.001000000000000000",
        )
        # by CID, extending the record in the same tx (root block from the content store)
        again = ai.register_model(
            wallet,
            None,
            "sdk-vision",
            "2.0.0",
            offchain=True,
            artifact_cid=done.artifact_cid,
            artifact_sha256=hashlib.sha256(data).hexdigest(),
            artifact_size=len(data),
            retention_blocks=100,
            comparison="tokens",
        )
        assert ai.version(again.model_id, "2.0.0").comparison == "tokens"
        # the chain refuses a malformed rule with its code; nothing is registered
        with pytest.raises(ChainError) as caught:
            ai.register_model(
                wallet,
                None,
                "sdk-vision",
                "3.0.0",
                offchain=True,
                artifact_cid=done.artifact_cid,
                artifact_sha256=hashlib.sha256(data).digest(),
                artifact_size=len(data),
                comparison="tolerance",
                atol="-1",
            )
        assert (caught.value.codespace, caught.value.code) == ("ai", 13)
        assert ai.model(done.model_id).model.latest_version == "2.0.0"
        # the local checks of the SDK
        with pytest.raises(ValueError, match="retention_blocks"):
            ai.register_model(wallet, data, "sdk-other", "1.0.0", offchain=True)
        with pytest.raises(ValueError, match="artifact_sha256 does not match"):
            ai.register_model(
                wallet,
                data,
                "sdk-other",
                "1.0.0",
                offchain=True,
                retention_blocks=100,
                artifact_sha256=b"\x00" * 32,
            )
