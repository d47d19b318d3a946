"""``aivm.tools.localnet.merge_json``: how ``Localnet.init(genesis_overrides=...)`` merges into
the genesis ``app_state``."""

from __future__ import annotations

from aivm.tools.localnet import merge_json


def test_objects_merge_key_by_key_and_other_values_are_replaced() -> None:
    base = {
        "bank": {"balances": [{"address": "a"}]},
        "staking": {"gen_txs": [1], "params": {"max_validators": 100, "bond_denom": "ucgpt"}},
    }
    overrides = {
        "staking": {"params": {"unbonding_time": "30s", "max_validators": 7}},
        "slashing": {"params": {"signed_blocks_window": "20"}},
        "bank": {"balances": []},
    }
    merged = merge_json(base, overrides)
    assert merged == {
        "bank": {"balances": []},
        "staking": {
            "gen_txs": [1],
            "params": {"max_validators": 7, "bond_denom": "ucgpt", "unbonding_time": "30s"},
        },
        "slashing": {"params": {"signed_blocks_window": "20"}},
    }
    assert base["staking"]["params"] == {"max_validators": 100, "bond_denom": "ucgpt"}


def test_a_non_object_override_replaces_an_object() -> None:
    assert merge_json({"a": {"b": 1}}, {"a": 2}) == {"a": 2}
    assert merge_json({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
