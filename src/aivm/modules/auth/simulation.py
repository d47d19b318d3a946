"""auth's part of the simulation: the faults of the ante step (see
:mod:`aivm.modules.simulation` for the contract every module implements).

auth has no messages, so it has no operations; its faults are those of the ante step: a wrong
sequence, account number or chain id, a bad signature, too little gas, a fee the payer cannot
pay or in another denom, a gas limit near 2⁶⁴, a memo that is too long, a timeout height
already passed.
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.auth.module import AuthModule
from aivm.modules.auth.params import AuthParams
from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.simulation import SimEnv, TxFault, TxFields, WeightedOperation
from aivm.types import pb

MAX_SIM_MEMO_LIMIT = 512
"""The highest memo limit update_params sets, so a too-long memo stays too long whatever
params change in the same block."""


def operations(module: AuthModule) -> dict[str, WeightedOperation]:
    """update_params: the ante step's prices and limits moved within ±25%."""

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        current = module.keeper.get_params(env.ctx)
        params = AuthParams(
            max_memo_characters=min(
                MAX_SIM_MEMO_LIMIT, scaled(env, current.max_memo_characters, 64)
            ),
            tx_sig_limit=scaled(env, current.tx_sig_limit, 1),
            tx_size_cost_per_byte=scaled(env, current.tx_size_cost_per_byte, 10),
            sig_verify_cost_ed25519=scaled(env, current.sig_verify_cost_ed25519, 100),
            sig_verify_cost_secp256k1=scaled(env, current.sig_verify_cost_secp256k1, 5_000),
        ).to_proto()
        if env.rng.randrange(0, 10) == 0:
            params.tx_sig_limit = 0  # invalid: refused by the stateless check
        authority = claimed_authority(env, module.authority)
        return [pb.auth_tx.MsgUpdateParams(authority=authority, params=params)]

    return {"update_params": WeightedOperation(1, update_params)}


def tx_faults(module: AuthModule) -> dict[str, TxFault]:
    """The ante step's faults, by name; ``none`` leaves the transaction as it was."""
    keeper = module.keeper

    def sequence_behind(env: SimEnv, fields: TxFields) -> TxFields:
        """A sequence below the committed one: it can never match, whatever the block holds."""
        account = keeper.get_account(env.ctx, fields["signer"])
        if account is None or account.sequence == 0:
            return _sequence_ahead(env, fields)
        return {**fields, "sequence": env.rng.randrange(0, account.sequence)}

    return {
        "none": TxFault(200, _unchanged, must_fail=False),
        "sequence_ahead": TxFault(4, _sequence_ahead, must_fail=True),
        "sequence_behind": TxFault(3, sequence_behind, must_fail=True),
        "account_number": TxFault(2, _wrong_account_number, must_fail=True),
        "chain_id": TxFault(2, _wrong_chain_id, must_fail=True),
        "bad_signature": TxFault(4, _bad_signature, must_fail=True),
        "low_gas": TxFault(6, _low_gas, must_fail=False),
        "tiny_gas": TxFault(2, _tiny_gas, must_fail=True),
        "unpayable_fee": TxFault(3, _unpayable_fee, must_fail=True),
        "no_fee": TxFault(5, _no_fee, must_fail=False),
        "fee_denom": TxFault(2, _fee_denom, must_fail=True),
        "huge_gas": TxFault(2, _huge_gas, must_fail=False),
        "long_memo": TxFault(2, _long_memo, must_fail=True),
        "expired": TxFault(2, _expired, must_fail=True),
        "future_timeout": TxFault(2, _future_timeout, must_fail=False),
    }


def _unchanged(env: SimEnv, fields: TxFields) -> TxFields:
    return fields


def _sequence_ahead(env: SimEnv, fields: TxFields) -> TxFields:
    """Above every sequence the signer's account can reach before this tx: never valid."""
    highest = max(fields["sequence"], fields["reachable_sequence"])
    return {**fields, "sequence": highest + env.rng.randrange(1, 4)}


def _wrong_account_number(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "account_number": fields["account_number"] + env.rng.randrange(1, 50)}


def _wrong_chain_id(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "chain_id": fields["chain_id"] + "-fork"}


def _bad_signature(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "sign": False}


def _low_gas(env: SimEnv, fields: TxFields) -> TxFields:
    """Between a quarter and all of the estimate: fails in the ante step or in a message."""
    gas = fields["gas_limit"]
    return {**fields, "gas_limit": env.rng.randrange(gas // 4, gas + 1)}


def _tiny_gas(env: SimEnv, fields: TxFields) -> TxFields:
    """Less than the tx-size gas of the smallest transaction: the ante step must fail."""
    return {**fields, "gas_limit": env.rng.randrange(0, 1000)}


def _unpayable_fee(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "fee": 10**30 + env.rng.randrange(0, 10**6)}


def _no_fee(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "fee": 0}


def _fee_denom(env: SimEnv, fields: TxFields) -> TxFields:
    """Fees are paid in ucgpt only."""
    return {**fields, "fee": max(1, fields["fee"]), "fee_denom": "uother"}


def _huge_gas(env: SimEnv, fields: TxFields) -> TxFields:
    """A gas limit at or near the uint64 maximum (a block gas limit may refuse it)."""
    return {**fields, "gas_limit": 2**64 - 1 - env.rng.randrange(0, 2)}


def _long_memo(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "memo": "m" * env.rng.randrange(MAX_SIM_MEMO_LIMIT + 1, 700)}


def _expired(env: SimEnv, fields: TxFields) -> TxFields:
    if env.height < 2:
        return _long_memo(env, fields)
    return {**fields, "timeout_height": env.rng.randrange(1, env.height)}


def _future_timeout(env: SimEnv, fields: TxFields) -> TxFields:
    return {**fields, "timeout_height": env.height + env.rng.randrange(0, 5)}
