"""The devnet renders EndBlock validator updates as CometBFT 0.38 does."""

from __future__ import annotations

import base64

from aivm.devnet.rpc_json import finalize_block_json, validator_update_json
from aivm.types import pb


def test_validator_updates_render_as_cometbft_does() -> None:
    key = bytes(range(32))
    update = pb.abci.ValidatorUpdate(pub_key=pb.tm_crypto.PublicKey(ed25519=key), power=7)
    assert validator_update_json(update) == {
        "pub_key": {
            "Sum": {
                "type": "tendermint.crypto.PublicKey_Ed25519",
                "value": {"ed25519": base64.b64encode(key).decode()},
            }
        },
        "power": "7",
    }
    response = pb.abci.ResponseFinalizeBlock(validator_updates=[update])
    assert finalize_block_json(response)["validator_updates"] == [validator_update_json(update)]
    assert finalize_block_json(pb.abci.ResponseFinalizeBlock())["validator_updates"] == []
