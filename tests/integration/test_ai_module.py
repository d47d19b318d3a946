"""ai module over ABCI: register on-chain models, versions, lifecycle, transfer, inference,
execution records, queries and every bad-input path (coded error, state unchanged)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Threshold, int_array
from aivm.app.application import AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.crypto.cid import cid_of
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.protogen import ai_pb2
from harness import Chain, make_key

OWNER, CALLER, OTHER = make_key(1), make_key(2), make_key(3)
Q = "/aivm.ai.v1.Query/"


def scorer() -> bytes:
    """A 3-feature linear scorer with a threshold: approve when 2a - b + 3c >= 10."""
    spec = InputSpec(3, -1000, 1000, (10, 10, 1), (1, 1, 1), (0, 0, 0), ("a", "b", "c"))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    return runtime.serialize(Model(spec, ops, name="scorer"))


def register_msg(
    model_bytes: bytes, name: str = "credit", version: str = "1.0.0", price: int = 500, **kw: object
) -> ai_pb2.MsgRegisterModel:
    fields: dict[str, object] = dict(
        owner=acc_address(OWNER.pubkey.address()),
        name=name,
        version=version,
        artifact_cid=cid_of(model_bytes),
        artifact_sha256=hashlib.sha256(model_bytes).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        input_schema='{"features": ["a", "b", "c"]}',
        output_schema='{"approve": "0|1"}',
        price=[pb.coin.Coin(denom="ucgpt", amount=str(price))] if price else [],
        license="Apache-2.0",
        tags=["credit", "scoring"],
        artifact=model_bytes,
    )
    fields.update(kw)
    return ai_pb2.MsgRegisterModel(**fields)  # type: ignore[arg-type]


def infer_msg(model_id: int = 1, key=CALLER, **kw: object) -> ai_pb2.MsgInfer:  # type: ignore[no-untyped-def]
    return ai_pb2.MsgInfer(caller=acc_address(key.pubkey.address()), model_id=model_id, **kw)  # type: ignore[arg-type]


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    funded = {k.pubkey.address(): 10**12 for k in (OWNER, CALLER)}
    funded[OTHER.pubkey.address()] = 20_400  # the fee (20,000) but not the price (500)
    chain = Chain.start(tmp_path / "data", funded, with_accounts=True)
    chain.block([])
    return chain


def query(chain: Chain, method: str, request: pb.Message, response: type):  # type: ignore[no-untyped-def]
    result, value = chain.query(Q + method, request, response)
    return result, value


def events(result: pb.abci.ExecTxResult, kind: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == kind]


def test_register_infer_and_query(chain: Chain) -> None:
    result = chain.deliver(OWNER, register_msg(scorer()))
    assert result.code == 0, result.log
    assert events(result, "aivm.ai.v1.EventRegisterModel")[0]["model_id"] == "1"

    _, model = query(
        chain, "Model", ai_pb2.QueryModelRequest(model_id=1), ai_pb2.QueryModelResponse
    )
    assert model.model.name == "credit" and model.model.latest_version == "1.0.0"
    version = model.versions[0]
    assert version.status == ai_pb2.MODEL_STATUS_ACTIVE
    assert version.gas_per_row == 3 + 2 + 200 and version.input_width == 3

    owner_before = chain.balance(OWNER.pubkey.address())
    result = chain.deliver(CALLER, infer_msg(decimal_input=["6", "0.5", "1"]))
    assert result.code == 0, result.log
    response = ai_pb2.MsgInferResponse.FromString(
        pb.sdk_abci.TxMsgData.FromString(result.data).msg_responses[0].value
    )
    assert list(response.output) == [1]  # 2*60 - 5 + 3*1 = 118 >= 100
    event = events(result, "aivm.ai.v1.EventInference")[0]
    assert event["output"] == "1" and event["execution_id"] == "1"
    assert chain.balance(OWNER.pubkey.address()) == owner_before + 500

    result = chain.deliver(CALLER, infer_msg(input=[10, 50, 0]))  # 20 - 50 = -30 < 100
    assert result.code == 0 and events(result, "aivm.ai.v1.EventInference")[0]["output"] == "0"

    _, record = query(
        chain, "Execution", ai_pb2.QueryExecutionRequest(id=1), ai_pb2.QueryExecutionResponse
    )
    record = record.execution
    assert list(record.input) == [60, 5, 1] and list(record.output) == [1]
    assert record.caller == acc_address(CALLER.pubkey.address()) and record.gas == 205
    # anyone can re-run the execution from chain data alone and get the same bytes
    _, art = query(
        chain,
        "Artifact",
        ai_pb2.QueryArtifactRequest(sha256=record.model_sha256),
        ai_pb2.QueryArtifactResponse,
    )
    program = runtime.load(art.artifact)
    rerun = program.run(runtime.as_rows([list(record.input)]))
    assert hashlib.sha256(runtime.output_bytes(rerun)).digest() == record.output_hash


def test_versions_lifecycle_transfer_and_listing(chain: Chain) -> None:
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    second = chain.deliver(OWNER, register_msg(scorer(), version="1.1.0", tags=["fraud"]))
    assert second.code == 0, second.log
    stale = chain.deliver(OWNER, register_msg(scorer(), version="1.0.5"))
    assert (stale.codespace, stale.code) == ("ai", 12)
    taken = chain.deliver(
        CALLER, register_msg(scorer(), owner=acc_address(CALLER.pubkey.address()), version="9.0.0")
    )
    assert (taken.codespace, taken.code) == ("ai", 4)

    _, listed = query(
        chain, "Models", ai_pb2.QueryModelsRequest(tag="fraud"), ai_pb2.QueryModelsResponse
    )
    assert [m.id for m in listed.models] == [1]
    _, by_owner = query(
        chain,
        "Models",
        ai_pb2.QueryModelsRequest(owner=acc_address(OWNER.pubkey.address())),
        ai_pb2.QueryModelsResponse,
    )
    assert [m.id for m in by_owner.models] == [1]

    owner = acc_address(OWNER.pubkey.address())
    deprecate = ai_pb2.MsgSetModelStatus(
        owner=owner,
        model_id=1,
        version="1.0.0",
        status=ai_pb2.MODEL_STATUS_DEPRECATED,
        reason="superseded",
    )
    assert chain.deliver(OWNER, deprecate).code == 0
    assert (
        chain.deliver(CALLER, infer_msg(version="1.0.0", input=[1, 1, 1])).code == 0
    )  # still usable
    revoke = ai_pb2.MsgSetModelStatus(
        owner=owner,
        model_id=1,
        version="1.0.0",
        status=ai_pb2.MODEL_STATUS_REVOKED,
        reason="biased",
    )
    assert chain.deliver(OWNER, revoke).code == 0
    revoked = chain.deliver(CALLER, infer_msg(version="1.0.0", input=[1, 1, 1]))
    assert (revoked.codespace, revoked.code) == ("ai", 8) and "biased" in revoked.log
    back = ai_pb2.MsgSetModelStatus(
        owner=owner, model_id=1, version="1.0.0", status=ai_pb2.MODEL_STATUS_ACTIVE, reason=""
    )
    assert (chain.deliver(OWNER, back).codespace, 9) == ("ai", 9)
    assert chain.deliver(CALLER, infer_msg(input=[1, 1, 1])).code == 0  # latest = 1.1.0

    new_owner = acc_address(CALLER.pubkey.address())
    assert (
        chain.deliver(
            OWNER, ai_pb2.MsgTransferModel(owner=owner, model_id=1, new_owner=new_owner)
        ).code
        == 0
    )
    not_owner = chain.deliver(OWNER, revoke)
    assert (not_owner.codespace, not_owner.code) == ("ai", 5)
    _, model = query(
        chain, "Model", ai_pb2.QueryModelRequest(model_id=1), ai_pb2.QueryModelResponse
    )
    assert model.model.owner == new_owner


def bad_artifact_cases() -> list[tuple[str, object, tuple[str, int]]]:
    good = scorer()
    junk = b'{"format":"aivm-dsm/1"}'
    big = runtime.serialize(
        Model(
            InputSpec(1, 0, 1, (1,), (1,), (0,)),
            (Dense((0,), int_array([[1]] * 70, 2), int_array([0] * 70)),),
        )
    )
    return [
        ("unparsable", register_msg(junk), ("ai", 20)),
        ("hash-mismatch", register_msg(good, artifact_sha256=b"\x00" * 32), ("ai", 7)),
        ("cid-mismatch", register_msg(good, artifact_cid=cid_of(b"other")), ("ai", 7)),
        (
            "too-many-ops",
            register_msg(
                runtime.serialize(
                    Model(
                        InputSpec(1, 0, 1, (1,), (1,), (0,)),
                        tuple(Threshold((i,), 0) for i in range(65)),
                    )
                )
            ),
            ("ai", 21),
        ),
        ("bad-name", register_msg(good, name="Bad Name"), ("ai", 6)),
        ("bad-version", register_msg(good, version="1.0"), ("ai", 6)),
        ("no-artifact", register_msg(good, artifact=b""), ("ai", 6)),
        ("wrong-format", register_msg(good, format="onnx"), ("ai", 6)),
        ("big-ok", register_msg(big), ("", 0)),
    ]


@pytest.mark.parametrize(
    "name,msg,expected", bad_artifact_cases(), ids=[c[0] for c in bad_artifact_cases()]
)
def test_bad_registrations(
    chain: Chain, name: str, msg: ai_pb2.MsgRegisterModel, expected: tuple[str, int]
) -> None:
    result = chain.deliver(OWNER, msg)
    assert (result.codespace, result.code) == expected, result.log
    _, models = query(chain, "Models", ai_pb2.QueryModelsRequest(), ai_pb2.QueryModelsResponse)
    assert len(models.models) == (1 if expected[1] == 0 else 0)


@pytest.mark.parametrize(
    "msg,expected",
    [
        (infer_msg(input=[1, 2]), ("ai", 22)),
        (infer_msg(input=[1, 2, 3, 4]), ("ai", 22)),
        (infer_msg(input=[1001, 0, 0]), ("ai", 22)),
        (infer_msg(decimal_input=["1e2", "0", "0"]), ("ai", 22)),
        (infer_msg(decimal_input=["100.1", "0", "0"]), ("ai", 22)),
        (infer_msg(input=[1, 2, 3], decimal_input=["1", "2", "3"]), ("ai", 22)),
        (infer_msg(model_id=7, input=[1, 2, 3]), ("ai", 2)),
        (infer_msg(version="2.0.0", input=[1, 2, 3]), ("ai", 3)),
        (infer_msg(key=OTHER, input=[1, 2, 3]), ("sdk", 5)),
    ],
    ids=[
        "short",
        "long",
        "out-of-range",
        "exponent",
        "decimal-out-of-range",
        "both",
        "no-model",
        "no-version",
        "cannot-pay-price",
    ],
)
def test_bad_inference_changes_nothing(
    chain: Chain, msg: ai_pb2.MsgInfer, expected: tuple[str, int]
) -> None:
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    key = OTHER if msg.caller == acc_address(OTHER.pubkey.address()) else CALLER
    owner_before = chain.balance(OWNER.pubkey.address())
    result = chain.deliver(key, msg)
    assert (result.codespace, result.code) == expected, result.log
    assert chain.balance(OWNER.pubkey.address()) == owner_before
    response, _ = query(
        chain, "Execution", ai_pb2.QueryExecutionRequest(id=1), ai_pb2.QueryExecutionResponse
    )
    assert response.code != 0  # no execution record was written


def test_inference_gas_is_charged(chain: Chain) -> None:
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    result = chain.deliver(CALLER, infer_msg(input=[1, 2, 3]))
    low = chain.deliver(CALLER, infer_msg(input=[1, 2, 3]), gas=result.gas_used - 100)
    assert (low.codespace, low.code) == ("sdk", 11)


def test_genesis_export_and_reimport_give_same_app_hash(chain: Chain, tmp_path: Path) -> None:
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    assert chain.deliver(CALLER, infer_msg(input=[1, 2, 3])).code == 0
    owner = acc_address(OWNER.pubkey.address())
    new_owner = acc_address(CALLER.pubkey.address())
    transfer = ai_pb2.MsgTransferModel(owner=owner, model_id=1, new_owner=new_owner)
    assert chain.deliver(OWNER, transfer).code == 0
    exported = chain.app.export_genesis()
    assert exported.app_state["ai"]["models"][0]["name"] == "credit"
    assert exported.app_state["ai"]["next_execution_id"] == "2"
    doc = GenesisDoc.from_json(json.loads(json.dumps(exported.to_json())))
    fresh = AivmApp(CommitStore.open(tmp_path / "reimport"))
    response = fresh.init_chain(doc.init_chain_request())
    assert response.app_hash == chain.app.store.last_hash
    fresh.store.close()
