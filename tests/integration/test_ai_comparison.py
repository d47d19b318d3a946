"""The result comparison rule a model version declares (ai module over ABCI): stored
normalised (``exact`` by default, tolerances as 18-place decimals with their defaults), read
back by the compute module's ``rule_of``, refused with ``ai/13`` when malformed or declared
by an on-chain model, and checked in genesis."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from aivm.ai import runtime
from aivm.ai.runtime.model import Dense, InputSpec, Model, Threshold, int_array
from aivm.crypto.cid import cid_of
from aivm.modules.ai import genesis as ai_genesis
from aivm.modules.compute.compare import ComparisonRule, rule_of
from aivm.types.address import acc_address
from aivm.types.dec import Dec
from aivm.types.errors import AivmError
from aivm.types.protogen import ai_pb2, storage_pb2
from harness import Chain, make_key

OWNER = make_key(31)
OWNER_ADDR = acc_address(OWNER.pubkey.address())
ARTIFACT = b"an off-chain model file, stored by its owner before registration"
Q = "/aivm.ai.v1.Query/"


def offchain(version: str = "1.0.0", **fields: Any) -> ai_pb2.MsgRegisterModel:
    msg = ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="remote",
        version=version,
        artifact_cid=cid_of(ARTIFACT),
        artifact_sha256=hashlib.sha256(ARTIFACT).digest(),
        artifact_size=len(ARTIFACT),
        format="onnx",
        execution_path="offchain",
    )
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def onchain(**fields: Any) -> ai_pb2.MsgRegisterModel:
    spec = InputSpec(3, -1000, 1000, (10, 10, 1), (1, 1, 1), (0, 0, 0), ("a", "b", "c"))
    ops = (Dense((0,), int_array([[2, -1, 3]], 2), int_array([0])), Threshold((1,), 100))
    artifact = runtime.serialize(Model(spec, ops, name="scorer"))
    msg = ai_pb2.MsgRegisterModel(
        owner=OWNER_ADDR,
        name="scorer",
        version="1.0.0",
        artifact_cid=cid_of(artifact),
        artifact_sha256=hashlib.sha256(artifact).digest(),
        format=runtime.FORMAT,
        execution_path="onchain",
        artifact=artifact,
    )
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    chain = Chain.start(tmp_path / "data", {OWNER.pubkey.address(): 10**12}, with_accounts=True)
    chain.block([])
    store = storage_pb2.MsgStoreObject(
        owner=OWNER_ADDR, cid=cid_of(ARTIFACT), retention_blocks=1000, root_block=ARTIFACT
    )
    assert chain.deliver(OWNER, store).code == 0
    return chain


def version_of(chain: Chain, model_id: int, version: str) -> ai_pb2.ModelVersion:
    request = ai_pb2.QueryModelVersionRequest(model_id=model_id, version=version)
    _, response = chain.query(Q + "ModelVersion", request, ai_pb2.QueryModelVersionResponse)
    found: ai_pb2.ModelVersion = response.version
    return found


def stored_rule(version: ai_pb2.ModelVersion) -> tuple[str, str, str]:
    return version.comparison, version.comparison_atol, version.comparison_rtol


def test_rules_are_stored_normalised_and_read_back(chain: Chain) -> None:
    steps = [
        ("1.0.0", {}, ("exact", "", "")),
        (
            "1.1.0",
            {"comparison": "tolerance"},
            ("tolerance", "0.000010000000000000", "0.001000000000000000"),
        ),
        (
            "1.2.0",
            {"comparison": "tolerance", "comparison_atol": "0.0001", "comparison_rtol": "0"},
            ("tolerance", "0.000100000000000000", "0.000000000000000000"),
        ),
        (
            "1.3.0",
            {"comparison": "tolerance", "comparison_rtol": "1"},
            ("tolerance", "0.000010000000000000", "1.000000000000000000"),
        ),
        ("1.4.0", {"comparison": "tokens"}, ("tokens", "", "")),
        ("1.5.0", {"comparison": "exact"}, ("exact", "", "")),
    ]
    for version, fields, expected in steps:
        result = chain.deliver(OWNER, offchain(version, **fields))
        assert result.code == 0, result.log
        event = next(e for e in result.events if e.type == "aivm.ai.v1.EventRegisterModel")
        assert {a.key: a.value for a in event.attributes}["comparison"] == expected[0]
        stored = version_of(chain, 1, version)
        assert stored_rule(stored) == expected
        rule = rule_of(stored)
        assert rule.kind == expected[0]
        if rule.kind == "tolerance":
            assert (rule.atol, rule.rtol) == (Dec.from_str(expected[1]), Dec.from_str(expected[2]))
    assert chain.deliver(OWNER, onchain()).code == 0
    assert stored_rule(version_of(chain, 2, "1.0.0")) == ("exact", "", "")
    assert rule_of(version_of(chain, 2, "1.0.0")) == ComparisonRule("exact", Dec.zero(), Dec.zero())


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"comparison": "fuzzy"}, "comparison must be one of"),
        ({"comparison": "EXACT"}, "comparison must be one of"),
        ({"comparison": "tokens", "comparison_atol": "0.1"}, "tolerance only"),
        ({"comparison_rtol": "0.1"}, "tolerance only"),
        ({"comparison": "tolerance", "comparison_rtol": "1.000000000000000001"}, "between 0 and"),
        ({"comparison": "tolerance", "comparison_rtol": "-0.1"}, "between 0 and"),
        ({"comparison": "tolerance", "comparison_atol": "1000000.1"}, "between 0 and"),
        ({"comparison": "tolerance", "comparison_atol": "1e-4"}, "not a decimal"),
        ({"comparison": "tolerance", "comparison_atol": ".5"}, "not a decimal"),
        ({"comparison": "tolerance", "comparison_atol": "0." + "0" * 18 + "1"}, "not a decimal"),
        ({"comparison": "tolerance", "comparison_atol": "1" * 65}, "exceeds 64"),
    ],
)
def test_bad_offchain_rules_are_refused(chain: Chain, fields: dict[str, str], detail: str) -> None:
    result = chain.deliver(OWNER, offchain(**fields))
    assert (result.codespace, result.code) == ("ai", 13), result.log
    assert detail in result.log
    request = ai_pb2.QueryModelRequest(model_id=1)
    query, _ = chain.query(Q + "Model", request, ai_pb2.QueryModelResponse)
    assert query.code != 0  # nothing registered


@pytest.mark.parametrize(
    "fields",
    [
        {"comparison": "tolerance"},
        {"comparison": "tokens"},
        {"comparison": "exact", "comparison_atol": "0.1"},
    ],
)
def test_onchain_models_compare_exactly(chain: Chain, fields: dict[str, str]) -> None:
    result = chain.deliver(OWNER, onchain(**fields))
    assert (result.codespace, result.code) == ("ai", 13), result.log


def test_genesis_checks_and_keeps_the_rules(chain: Chain) -> None:
    assert chain.deliver(OWNER, offchain(comparison="tolerance", comparison_atol="0.5")).code == 0
    exported = chain.app.export_genesis().app_state["ai"]
    assert exported["versions"][0]["comparison"] == "tolerance"
    assert exported["versions"][0]["comparison_atol"] == "0.500000000000000000"
    ai_genesis.validate_genesis(exported)
    for bad in ({"comparison": "close enough"}, {"comparison_rtol": "2"}):
        broken = {**exported, "versions": [{**exported["versions"][0], **bad}]}
        with pytest.raises(AivmError, match="invalid result comparison rule"):
            ai_genesis.validate_genesis(broken)
    assert chain.deliver(OWNER, onchain()).code == 0
    exported = chain.app.export_genesis().app_state["ai"]
    versions = exported["versions"]
    assert [v["execution_path"] for v in versions] == ["offchain", "onchain"]
    assert versions[1]["comparison"] == "exact"
    tokens = {**exported, "versions": [versions[0], {**versions[1], "comparison": "tokens"}]}
    with pytest.raises(AivmError, match="compare exactly"):
        ai_genesis.validate_genesis(tokens)
