"""ai module over ABCI: register on-chain models, versions, lifecycle, transfer, inference,
execution records, queries and every bad-input path (coded error, state unchanged)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Scorecard, Threshold, int_array
from aivm.app.application import SIMULATE_PATH, AivmApp
from aivm.app.genesis import GenesisDoc
from aivm.client.tx import Signer, sign_tx
from aivm.crypto.cid import cid_of
from aivm.modules.ai import keeper as ai_keeper
from aivm.modules.auth.params import AuthParams
from aivm.store import CommitStore
from aivm.types import pb
from aivm.types.address import acc_address
from aivm.types.coin import Coin
from aivm.types.protogen import ai_pb2
from harness import CHAIN_ID, Chain, make_key

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
    local = runtime.load(scorer())  # a caller can compute the price before paying it
    assert version.gas_per_row == local.gas_per_row(runtime.GasTable())
    assert version.load_gas == local.load_gas(runtime.GasTable()) and version.input_width == 3

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
    assert record.caller == acc_address(CALLER.pubkey.address())
    decimal_gas = runtime.GasTable().decimal_input(3)  # the first inference sent decimals
    assert record.gas == version.load_gas + decimal_gas + version.gas_per_row
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
        # one spelling per name, version and owner (no aliases of the same model or account)
        ("name-with-newline", register_msg(good, name="credit\n"), ("ai", 6)),
        ("unicode-digit-version", register_msg(good, version="\u0661.0.0"), ("ai", 6)),
        (
            "upper-case-owner",
            register_msg(good, owner=acc_address(OWNER.pubkey.address()).upper()),
            ("sdk", 7),
        ),
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


# -- gas never depends on a node's program cache --------------------------------------------


def restarted_copy(chain: Chain, path: Path) -> Chain:
    """A second node over a copy of ``chain``'s committed state, started with empty caches."""
    shutil.copytree(chain.path, path, ignore=shutil.ignore_patterns("lock.mdb"))
    app = AivmApp(CommitStore.open(path))
    return Chain(app=app, path=path, height=chain.height, time_s=chain.time_s)


def simulate(chain: Chain, raw: bytes) -> pb.abci.ResponseQuery:
    """The free Simulate query (it runs the messages, so it warms the node's caches)."""
    request = pb.tx_service.SimulateRequest(tx_bytes=raw)
    return chain.app.query(
        pb.abci.RequestQuery(path=SIMULATE_PATH, data=request.SerializeToString())
    )


def test_inference_gas_is_the_same_on_a_warm_and_a_cold_node(chain: Chain, tmp_path: Path) -> None:
    """One node compiled the model at registration and again for a Simulate query; the other
    restarted from the same state with nothing cached. Same tx, same gas, same code, same app
    hash — also at the exact gas figure and one gas unit below it."""
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    infer = infer_msg(input=[1, 2, 3])
    assert chain.deliver(CALLER, infer).code == 0  # every key an inference writes now exists
    cold = restarted_copy(chain, tmp_path / "cold")
    try:
        assert simulate(chain, chain.msgs_tx(CALLER, [infer])).code == 0
        figure = 0
        for limit in ("roomy", "figure", "figure - 1"):
            # a roomy limit of the same varint length as the figure: the tx's size is charged
            gas = {"roomy": 2_000_000, "figure": figure, "figure - 1": figure - 1}[limit]
            raw = chain.msgs_tx(CALLER, [infer], gas=gas)
            assert raw == cold.msgs_tx(CALLER, [infer], gas=gas)
            warm_result = chain.block([raw]).tx_results[0]
            cold_result = cold.block([raw]).tx_results[0]
            assert (cold_result.code, cold_result.gas_used) == (
                warm_result.code,
                warm_result.gas_used,
            ), limit
            assert cold.app.store.last_hash == chain.app.store.last_hash, limit
            figure = figure or warm_result.gas_used
            assert warm_result.code == (11 if limit == "figure - 1" else 0), warm_result.log
    finally:
        cold.app.store.close()


def test_an_evicted_program_costs_what_a_cached_one_does(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker rotating through more models than the cache holds makes every inference
    compile; each use pays the load gas anyway, so eviction changes nothing a user sees."""
    monkeypatch.setattr(ai_keeper, "PROGRAM_CACHE_SIZE", 1)
    other = runtime.serialize(
        Model(InputSpec(1, 0, 9, (1,), (1,), (0,)), (Threshold((0,), 5),), name="other")
    )
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    assert chain.deliver(OWNER, register_msg(other, name="other")).code == 0
    evicting = restarted_copy(chain, tmp_path / "evicting")
    try:
        infer = infer_msg(input=[1, 2, 3])
        assert simulate(chain, chain.msgs_tx(CALLER, [infer])).code == 0  # scorer cached here
        assert simulate(evicting, evicting.msgs_tx(CALLER, [infer])).code == 0
        infer_other = evicting.msgs_tx(CALLER, [infer_msg(model_id=2, input=[3])])
        assert simulate(evicting, infer_other).code == 0  # compiles "other", evicts scorer
        raw = chain.msgs_tx(CALLER, [infer])
        cached, missed = chain.block([raw]).tx_results[0], evicting.block([raw]).tx_results[0]
        assert cached.code == 0, cached.log
        assert (missed.code, missed.gas_used) == (cached.code, cached.gas_used)
        assert evicting.app.store.last_hash == chain.app.store.last_hash
    finally:
        evicting.app.store.close()


def wide_scorecard(features: int) -> bytes:
    """A scorecard with two small arrays per feature (costly to decode, cheap to send)."""
    card = Scorecard(
        (0,),
        tuple(int_array([0]) for _ in range(features)),
        tuple(int_array([1, 2]) for _ in range(features)),
        0,
    )
    return runtime.serialize(
        Model(InputSpec(features, 0, 9, (1,) * features, (1,) * features, (0,) * features), (card,))
    )


def test_registration_pays_for_parsing_before_decoding(chain: Chain) -> None:
    """Parsing, checking and compiling an artifact is charged (``dsm load``) once its JSON is
    read, so a registration without the gas for it stops before the arrays are decoded."""
    artifact = wide_scorecard(256)
    load_gas = runtime.load(artifact).load_gas(runtime.GasTable())
    assert load_gas > 1_000_000
    raw = chain.msgs_tx(OWNER, [register_msg(artifact)])
    size_gas = AuthParams().tx_size_cost_per_byte * len(raw)
    tight = size_gas + 200_000  # the ante and the handler's reads, not the load
    result = chain.deliver(OWNER, register_msg(artifact), gas=tight)
    assert (result.codespace, result.code) == ("sdk", 11)
    assert "out of gas in location: dsm load" in result.log
    roomy = chain.deliver(OWNER, register_msg(artifact))
    assert roomy.code == 0 and roomy.gas_used > load_gas


def test_a_program_loaded_earlier_in_the_block_costs_only_the_reload_gas(
    chain: Chain, tmp_path: Path
) -> None:
    """In FinalizeBlock, the second inference of a model in the same block pays
    ``block_reload_gas`` instead of the artifact read and load gas: every node, cold or warm,
    compiled the program for the first one. The next block pays the full load again, and
    Simulate (which cannot know the block) always does."""
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    assert chain.deliver(CALLER, infer_msg(input=[1, 2, 3])).code == 0
    cold = restarted_copy(chain, tmp_path / "cold")
    try:
        account = chain.account(CALLER.pubkey.address())
        txs = [
            sign_tx(
                [infer_msg(input=[1, 2, 3])],
                [Signer(CALLER, account.account_number, account.sequence + i)],
                chain_id=CHAIN_ID,
                fee=[Coin("ucgpt", 20_000)],
                gas_limit=20_000_000,
            )
            for i in range(3)
        ]
        simulated = simulate(chain, txs[0])
        warm = chain.block(txs, prepare=False)
        replayed = cold.block(txs, prepare=False)
        assert replayed.app_hash == warm.app_hash
        first, second, third = (r.gas_used for r in warm.tx_results)
        assert [r.gas_used for r in replayed.tx_results] == [first, second, third]
        version = query(
            chain,
            "ModelVersion",
            ai_pb2.QueryModelVersionRequest(model_id=1, version="1.0.0"),
            ai_pb2.QueryModelVersionResponse,
        )[1].version
        saved = first - second
        assert abs(second - third) <= 100  # (record and sequence sizes differ by a byte)
        assert saved >= version.load_gas  # the artifact read is skipped too
        sim_gas = pb.tx_service.SimulateResponse.FromString(simulated.value).gas_info.gas_used
        assert sim_gas >= first - 100  # Simulate pays the full load (tx sizes differ slightly)
        next_block = chain.block([chain.msgs_tx(CALLER, [infer_msg(input=[1, 2, 3])])])
        assert next_block.tx_results[0].gas_used > second + version.load_gas
    finally:
        cold.app.store.close()


def test_an_upper_case_spelling_of_the_owner_is_refused(chain: Chain) -> None:
    """bech32 also spells an address in upper case; a module comparing owners as strings
    would see two accounts (the fuzzer transferred a model to the owner's upper-case
    spelling, and the owner lost it). Only the canonical spelling is accepted."""
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    owner = acc_address(OWNER.pubkey.address())
    transfer = ai_pb2.MsgTransferModel(owner=owner, new_owner=owner.upper(), model_id=1)
    result = chain.deliver(OWNER, transfer)
    assert (result.codespace, result.code) == ("sdk", 7), result.log
    _, found = query(
        chain, "Model", ai_pb2.QueryModelRequest(model_id=1), ai_pb2.QueryModelResponse
    )
    assert found.model.owner == owner


def test_a_block_executed_again_after_a_discard_pays_the_full_load_again(
    chain: Chain,
) -> None:
    """The programs 'loaded earlier in this block' are forgotten when a block starts: a block
    finalized, discarded and finalized again (as a node does after a crash before Commit)
    gives the same results as the first time, as any other node computes them. The fuzzer
    found the warm app charging the reload price to the first inference of the re-run."""
    assert chain.deliver(OWNER, register_msg(scorer())).code == 0
    raw = chain.msgs_tx(CALLER, [infer_msg(input=[1, 2, 3])])
    request = pb.abci.RequestFinalizeBlock(txs=[raw], height=chain.height + 1, hash=b"\x07" * 32)
    first = chain.app.finalize_block(request)
    chain.app.store.discard_pending()
    again = chain.app.finalize_block(request)
    chain.app.store.discard_pending()
    assert first.tx_results[0].code == 0, first.tx_results[0].log
    assert again.tx_results[0].gas_used == first.tx_results[0].gas_used
    assert again.app_hash == first.app_hash
