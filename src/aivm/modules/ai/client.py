"""Python SDK for the ``ai`` module: register models, run on-chain inference, verify records.

Example::

    from aivm.client import Client, Wallet
    from aivm.modules.ai.client import AiClient

    with Client("http://127.0.0.1:26657") as client:
        ai = AiClient(client)          # or: ai = client.modules.ai
        registered = ai.register_model(wallet, artifact, name="credit", version="1.0.0",
                                       price="100ucgpt", tags=["credit"])
        # an off-chain model: uploaded to the content store, retention paid, registered
        # (one tx), its redundant results compared element-wise within a tolerance
        lm = ai.register_model(wallet, "lm.onnx", "tiny-lm", "1.0.0", offchain=True,
                               retention_blocks=100_000, comparison="tolerance",
                               atol="0.0001", rtol="0.001")
        result = ai.infer(wallet, registered.model_id, ["0.42", "35", "1200.5"])
        print(result.output, result.execution_id)
        assert ai.verify_execution(result.execution_id).ok   # re-run locally, same bytes
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aivm.ai import runtime
from aivm.client.client import Client, CoinsLike, to_coins
from aivm.client.results import TxResult
from aivm.client.storage import StorageClient
from aivm.client.wallet import Wallet
from aivm.crypto.cid import cid_of
from aivm.modules.storage.client import StorageTxClient
from aivm.types import pb
from aivm.types.protogen import ai_pb2, storage_pb2

QUERY = "/aivm.ai.v1.Query/"
STATUS_NAMES = {
    "active": ai_pb2.MODEL_STATUS_ACTIVE,
    "deprecated": ai_pb2.MODEL_STATUS_DEPRECATED,
    "revoked": ai_pb2.MODEL_STATUS_REVOKED,
}


@dataclass(frozen=True)
class Registered:
    """Outcome of a registration."""

    model_id: int
    version: str
    txhash: str
    gas_used: int
    artifact_cid: str = ""
    """The artifact's CID (for an off-chain model: where providers fetch it)."""


@dataclass(frozen=True)
class Inference:
    """Outcome of an on-chain inference."""

    execution_id: int
    output: list[int]
    gas: int
    txhash: str
    height: int


@dataclass(frozen=True)
class Verification:
    """Result of re-running a recorded execution locally."""

    execution_id: int
    ok: bool
    recorded_output: list[int]
    local_output: list[int]
    model_sha256: str
    detail: str


class AiClient:
    """``ai`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # -- transactions ---------------------------------------------------------------------

    def _submit(self, wallet: Wallet, msg: pb.Message, gas: int | str, timeout: float) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg], gas=gas)
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    def register_model(
        self,
        wallet: Wallet,
        artifact: bytes | str | Path | None,
        name: str,
        version: str,
        *,
        price: CoinsLike = (),
        tags: Sequence[str] = (),
        license: str = "",
        input_schema: str = "",
        output_schema: str = "",
        model_card_cid: str = "",
        offchain: bool = False,
        format: str = "",
        artifact_cid: str = "",
        artifact_sha256: bytes | str = b"",
        artifact_size: int = 0,
        retention_blocks: int = 0,
        comparison: str = "",
        atol: str = "",
        rtol: str = "",
        content: StorageClient | None = None,
        gas: int | str = "auto",
        timeout: float = 30.0,
    ) -> Registered:
        """Register a model, or a new version of one ``wallet`` owns.

        On-chain (the default): ``artifact`` is the DSM artifact (bytes or a file), carried in
        the message. Off-chain (``offchain=True``, ``format`` default ``onnx``): ``artifact``
        (bytes or a file) is uploaded to the node's content store (``content``, default
        ``client.storage``) and ``wallet``'s storage record of it is paid for
        ``retention_blocks`` blocks in the same tx as the registration; or ``artifact`` is
        None and ``artifact_cid``, ``artifact_sha256`` (bytes or hex) and ``artifact_size``
        name an object already in the content store — with ``retention_blocks`` its record is
        created or extended in the same tx (root block fetched from ``content``), without,
        ``wallet`` must already keep a record of it.

        ``comparison`` (``exact`` | ``tolerance`` | ``tokens``; default ``exact``) is how the
        compute module compares redundant results; ``atol``/``rtol`` are decimal strings for
        ``tolerance`` (empty: 0.00001 and 0.001). See ``src/aivm/modules/ai/README.md``.
        """
        msg = ai_pb2.MsgRegisterModel(
            owner=wallet.address,
            name=name,
            version=version,
            input_schema=input_schema,
            output_schema=output_schema,
            price=_price(price),
            license=license,
            model_card_cid=model_card_cid,
            tags=list(tags),
            comparison=comparison,
            comparison_atol=atol,
            comparison_rtol=rtol,
        )
        msgs: list[pb.Message] = []
        if offchain:
            store = self._offchain_artifact(
                wallet,
                msg,
                artifact,
                cid=artifact_cid,
                sha256=artifact_sha256,
                size=artifact_size,
                retention_blocks=retention_blocks,
                content=content or self.client.storage,
            )
            msgs.extend(store)
            msg.format = format or "onnx"
        else:
            if artifact is None:
                raise ValueError("an on-chain model needs its artifact")
            data = artifact if isinstance(artifact, bytes) else Path(artifact).read_bytes()
            msg.artifact_cid, msg.artifact_sha256 = cid_of(data), hashlib.sha256(data).digest()
            msg.format, msg.execution_path = format or runtime.FORMAT, "onchain"
            msg.artifact, msg.artifact_size = data, len(data)
        msgs.append(msg)
        sent = self.client.sign_and_broadcast(wallet, msgs, gas=gas)
        result = self.client.wait_for_tx(sent.hash, timeout=timeout)
        model_id = int(result.attribute("aivm.ai.v1.EventRegisterModel", "model_id"))
        return Registered(model_id, version, result.hash, result.gas_used, msg.artifact_cid)

    def _offchain_artifact(
        self,
        wallet: Wallet,
        msg: ai_pb2.MsgRegisterModel,
        artifact: bytes | str | Path | None,
        *,
        cid: str,
        sha256: bytes | str,
        size: int,
        retention_blocks: int,
        content: StorageClient,
    ) -> list[storage_pb2.MsgStoreObject]:
        """Fill ``msg``'s off-chain artifact fields (uploading ``artifact`` when given); the
        MsgStoreObject paying ``wallet``'s retention of it, when ``retention_blocks``."""
        msg.execution_path = "offchain"
        source: bytes | Path | None = None
        if artifact is not None:
            if not retention_blocks:
                raise ValueError("uploading an off-chain artifact needs retention_blocks")
            source = artifact if isinstance(artifact, bytes) else Path(artifact)
            stat = content.put(source)
            if cid and cid != stat.cid:
                raise ValueError(f"artifact has CID {stat.cid}, not {cid}")
            cid, size, digest = stat.cid, stat.size, _sha256_of(source)
            if sha256 and _digest_bytes(sha256) != digest:
                raise ValueError("artifact_sha256 does not match the artifact")
        else:
            if not (cid and sha256 and size):
                raise ValueError(
                    "an off-chain model needs its artifact, or artifact_cid, artifact_sha256 "
                    "and artifact_size"
                )
            digest = _digest_bytes(sha256)
        msg.artifact_cid, msg.artifact_sha256, msg.artifact_size = cid, digest, size
        if not retention_blocks:
            return []
        root = StorageTxClient(self.client).root_block(cid, source=source, content=content)
        return [
            storage_pb2.MsgStoreObject(
                owner=wallet.address, cid=cid, retention_blocks=retention_blocks, root_block=root
            )
        ]

    def infer(
        self,
        wallet: Wallet,
        model_id: int,
        inputs: Sequence[int | str],
        version: str = "",
        gas: int | str = "auto",
        timeout: float = 30.0,
    ) -> Inference:
        """Run model ``model_id`` on one row: integers as they are, strings as decimals."""
        msg = ai_pb2.MsgInfer(caller=wallet.address, model_id=model_id, version=version)
        if inputs and all(isinstance(v, str) for v in inputs):
            msg.decimal_input.extend(str(v) for v in inputs)
        else:
            msg.input.extend(int(v) for v in inputs)
        result = self._submit(wallet, msg, gas, timeout)
        event = "aivm.ai.v1.EventInference"
        output = result.attribute(event, "output")
        return Inference(
            execution_id=int(result.attribute(event, "execution_id")),
            output=[int(v) for v in output.split(",")] if output else [],
            gas=int(result.attribute(event, "gas")),
            txhash=result.hash,
            height=result.height,
        )

    def set_status(
        self, wallet: Wallet, model_id: int, version: str, status: str, reason: str = ""
    ) -> TxResult:
        """Deprecate, revoke or re-activate a version (``status``: active|deprecated|revoked)."""
        if status not in STATUS_NAMES:
            raise ValueError(f"status must be one of {sorted(STATUS_NAMES)}")
        msg = ai_pb2.MsgSetModelStatus(
            owner=wallet.address,
            model_id=model_id,
            version=version,
            status=STATUS_NAMES[status],
            reason=reason,
        )
        return self._submit(wallet, msg, "auto", 30.0)

    def transfer(self, wallet: Wallet, model_id: int, new_owner: str) -> TxResult:
        """Give a model to ``new_owner``."""
        msg = ai_pb2.MsgTransferModel(owner=wallet.address, model_id=model_id, new_owner=new_owner)
        return self._submit(wallet, msg, "auto", 30.0)

    # -- queries --------------------------------------------------------------------------

    def model(self, model_id: int) -> ai_pb2.QueryModelResponse:
        """A model and all its versions."""
        return self.client.query(
            QUERY + "Model", ai_pb2.QueryModelRequest(model_id=model_id), ai_pb2.QueryModelResponse
        )

    def models(self, owner: str = "", tag: str = "", limit: int = 100) -> list[ai_pb2.Model]:
        """Models, optionally of one owner and/or with one tag."""
        request = ai_pb2.QueryModelsRequest(owner=owner, tag=tag)
        request.pagination.limit = limit
        return list(self.client.query(QUERY + "Models", request, ai_pb2.QueryModelsResponse).models)

    def version(self, model_id: int, version: str = "") -> ai_pb2.ModelVersion:
        """One version (default: the latest)."""
        request = ai_pb2.QueryModelVersionRequest(model_id=model_id, version=version)
        return self.client.query(
            QUERY + "ModelVersion", request, ai_pb2.QueryModelVersionResponse
        ).version

    def execution(self, execution_id: int) -> ai_pb2.ExecutionRecord:
        """An execution record."""
        request = ai_pb2.QueryExecutionRequest(id=execution_id)
        return self.client.query(
            QUERY + "Execution", request, ai_pb2.QueryExecutionResponse
        ).execution

    def artifact(self, sha256: bytes) -> bytes:
        """An on-chain artifact by hash (checked against the hash)."""
        request = ai_pb2.QueryArtifactRequest(sha256=sha256)
        data = self.client.query(QUERY + "Artifact", request, ai_pb2.QueryArtifactResponse).artifact
        if hashlib.sha256(data).digest() != sha256:
            raise ValueError("node returned an artifact that does not match its hash")
        return bytes(data)

    def params(self) -> ai_pb2.Params:
        """Module params."""
        return self.client.query(
            QUERY + "Params", ai_pb2.QueryParamsRequest(), ai_pb2.QueryParamsResponse
        ).params

    def verify_execution(self, execution_id: int) -> Verification:
        """Fetch a record and its model, re-run the input locally, compare the output bytes."""
        record = self.execution(execution_id)
        artifact = self.artifact(record.model_sha256)
        program = runtime.load(artifact)
        rows = runtime.check_rows(program, runtime.as_rows([list(record.input)]))
        output = program.run(rows)
        local = [int(v) for v in output.reshape(-1)]
        same_hash = hashlib.sha256(runtime.output_bytes(output)).digest() == record.output_hash
        same_input = hashlib.sha256(runtime.output_bytes(rows)).digest() == record.input_hash
        ok = same_hash and same_input and local == list(record.output)
        detail = (
            "identical output"
            if ok
            else ("input hash differs" if not same_input else "output differs from the record")
        )
        return Verification(
            execution_id, ok, list(record.output), local, record.model_sha256.hex(), detail
        )


def _price(price: CoinsLike) -> list[pb.coin.Coin]:
    if not price:
        return []
    return [pb.coin.Coin(denom=c.denom, amount=str(c.amount)) for c in to_coins(price, "ucgpt")]


def _sha256_of(source: bytes | Path) -> bytes:
    """sha256 of bytes or of a file (streamed)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).digest()
    with source.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def _digest_bytes(value: bytes | str) -> bytes:
    """A sha256 given as bytes or hex; ValueError unless 32 bytes."""
    digest = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    if len(digest) != 32:
        raise ValueError("artifact_sha256 must be 32 bytes (64 hex digits)")
    return digest


# The helper class ``client.modules.ai`` builds, once per Client
# (aivm.client.client.ModuleClients).
CLIENT = AiClient
