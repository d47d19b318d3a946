"""Random staking operations for the simulation: create and edit validators, delegate,
undelegate, redelegate, cancel unbondings, change params; valid and deliberately invalid.

Operators are simulated accounts (a validator's operator address is its account's 20 bytes);
consensus keys are random ed25519-sized byte strings from the run's seed. Faults: a
consensus key already in use or of the wrong size, a commission above its maximum, another
denom, amounts above what is delegated or held, an unknown validator, a redelegation back to
the source, a cancel at a height with no entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.modules.addr import addr_str
from aivm.modules.authority.simulation import claimed_authority, scaled
from aivm.modules.simulation import SimEnv, WeightedOperation
from aivm.modules.staking.api import POWER_REDUCTION
from aivm.modules.staking.codec import NS_PER_S, ed25519_any, val_bytes, val_str
from aivm.modules.staking.keeper import StakingKeeper, operator_of
from aivm.modules.staking.module import StakingModule
from aivm.modules.staking.params import params_to_proto
from aivm.types import pb
from aivm.types.coin import BOND_DENOM
from aivm.types.dec import Dec


def operations(module: StakingModule) -> dict[str, WeightedOperation]:
    """Staking operations by name."""
    keeper = module.keeper

    def create_validator(env: SimEnv) -> Sequence[pb.Message] | None:
        """A new validator from a simulated account; one time in five something is wrong."""
        operator = env.rng.choice(env.accounts)
        balance = keeper.bank.get_balance(env.ctx, operator, BOND_DENOM)
        key = env.rng.randbytes(32)
        rate, max_rate = env.rng.randrange(0, 21), env.rng.randrange(20, 101)
        roll = env.rng.randrange(0, 25)
        if roll == 0:
            key = key[:31]
        elif roll == 1:
            existing = _validators(keeper, env)
            if existing:
                key = pb.ed25519.PubKey.FromString(
                    env.rng.choice(existing).consensus_pubkey.value
                ).key
        elif roll == 2:
            rate = max_rate + 1
        amount = _amount(env, balance)
        msg = pb.staking_tx.MsgCreateValidator(
            description=pb.staking.Description(moniker=f"sim-{env.height}"),
            commission=pb.staking.CommissionRates(
                rate=Dec.raw(rate * 10**16).to_proto_str(),
                max_rate=Dec.raw(max_rate * 10**16).to_proto_str(),
                max_change_rate=Dec.raw(10**16).to_proto_str(),
            ),
            min_self_delegation=str(env.rng.choice((1, 1, POWER_REDUCTION))),
            validator_address=val_str(operator),
            pubkey=ed25519_any(key),
            value=pb.coin.Coin(denom=_denom(env), amount=str(amount)),
        )
        return [msg]

    def edit_validator(env: SimEnv) -> Sequence[pb.Message] | None:
        """A commission or description change by a simulated operator."""
        own = [v for v in _validators(keeper, env) if operator_of(v) in set(env.accounts)]
        if not own:
            return None
        validator = env.rng.choice(own)
        msg = pb.staking_tx.MsgEditValidator(
            description=pb.staking.Description(
                moniker="[do-not-modify]", details=f"edited at {env.height}"
            ),
            validator_address=validator.operator_address,
        )
        if env.rng.randrange(0, 2):
            msg.commission_rate = Dec.raw(env.rng.randrange(0, 101) * 10**16).to_proto_str()
        return [msg]

    def delegate(env: SimEnv) -> Sequence[pb.Message] | None:
        """Delegate to a validator (sometimes one that does not exist)."""
        delegator = env.rng.choice(env.accounts)
        target = _target(keeper, env)
        balance = keeper.bank.get_balance(env.ctx, delegator, BOND_DENOM)
        return [
            pb.staking_tx.MsgDelegate(
                delegator_address=addr_str(delegator),
                validator_address=target,
                amount=pb.coin.Coin(denom=_denom(env), amount=str(_amount(env, balance))),
            )
        ]

    def undelegate(env: SimEnv) -> Sequence[pb.Message] | None:
        """Undelegate part of a delegation (sometimes more than it holds)."""
        found = _delegation(keeper, env)
        if found is None:
            return None
        delegator, delegation, tokens = found
        return [
            pb.staking_tx.MsgUndelegate(
                delegator_address=addr_str(delegator),
                validator_address=delegation.validator_address,
                amount=pb.coin.Coin(denom=_denom(env), amount=str(_amount(env, tokens))),
            )
        ]

    def redelegate(env: SimEnv) -> Sequence[pb.Message] | None:
        """Move part of a delegation to another validator (sometimes to itself)."""
        found = _delegation(keeper, env)
        if found is None:
            return None
        delegator, delegation, tokens = found
        target = (
            delegation.validator_address if env.rng.randrange(0, 10) == 0 else _target(keeper, env)
        )
        return [
            pb.staking_tx.MsgBeginRedelegate(
                delegator_address=addr_str(delegator),
                validator_src_address=delegation.validator_address,
                validator_dst_address=target,
                amount=pb.coin.Coin(denom=_denom(env), amount=str(_amount(env, tokens))),
            )
        ]

    def cancel_unbonding(env: SimEnv) -> Sequence[pb.Message] | None:
        """Cancel (part of) an unbonding entry; sometimes at a height with no entry."""
        delegator = env.rng.choice(env.accounts)
        unbondings = list(keeper.iterate_unbonding_delegations_of(env.ctx, delegator))
        if not unbondings:
            return None
        ubd = env.rng.choice(unbondings)
        entry = env.rng.choice(list(ubd.entries))
        amount = _amount(env, int(entry.balance))
        height = entry.creation_height + (1 if env.rng.randrange(0, 10) == 0 else 0)
        return [
            pb.staking_tx.MsgCancelUnbondingDelegation(
                delegator_address=ubd.delegator_address,
                validator_address=ubd.validator_address,
                amount=pb.coin.Coin(denom=_denom(env), amount=str(amount)),
                creation_height=height,
            )
        ]

    def update_params(env: SimEnv) -> Sequence[pb.Message] | None:
        """Move max_validators, max_entries and the unbonding time (bond denom unchanged)."""
        params = keeper.get_params(env.ctx)
        proto = params_to_proto(params)
        proto.max_validators = scaled(env, params.max_validators)
        proto.max_entries = scaled(env, params.max_entries)
        proto.unbonding_time.seconds = scaled(env, params.unbonding_time_ns // NS_PER_S)
        if env.rng.randrange(0, 10) == 0:
            proto.max_validators = 0  # refused: must be positive
        authority = claimed_authority(env, module.authority)
        return [pb.staking_tx.MsgUpdateParams(authority=authority, params=proto)]

    return {
        "create_validator": WeightedOperation(3, create_validator),
        "edit_validator": WeightedOperation(2, edit_validator),
        "delegate": WeightedOperation(10, delegate),
        "undelegate": WeightedOperation(5, undelegate),
        "redelegate": WeightedOperation(4, redelegate),
        "cancel_unbonding": WeightedOperation(2, cancel_unbonding),
        "update_params": WeightedOperation(1, update_params),
    }


def _validators(keeper: StakingKeeper, env: SimEnv) -> list[pb.staking.Validator]:
    return list(keeper.iterate_validator_protos(env.ctx))


def _target(keeper: StakingKeeper, env: SimEnv) -> str:
    """A validator's operator address; one time in ten one with no validator."""
    validators = _validators(keeper, env)
    if not validators or env.rng.randrange(0, 10) == 0:
        return val_str(env.rng.randbytes(20))
    return str(env.rng.choice(validators).operator_address)


def _delegation(
    keeper: StakingKeeper, env: SimEnv
) -> tuple[bytes, pb.staking.Delegation, int] | None:
    """A simulated account's delegation and the tokens it is worth (rounded down)."""
    delegator = env.rng.choice(env.accounts)
    delegations = list(keeper.iterate_delegation_protos_of(env.ctx, delegator))
    if not delegations:
        return None
    delegation = env.rng.choice(delegations)
    validator = keeper.get_validator(env.ctx, operator_of_address(delegation))
    if validator is None or validator.delegator_shares.is_zero():
        return delegator, delegation, 1
    shares = Dec.from_proto_str(delegation.shares)
    return delegator, delegation, validator.tokens_from_shares_truncated(shares).truncate_int()


def operator_of_address(delegation: pb.staking.Delegation) -> bytes:
    """The validator bytes of a delegation."""
    return val_bytes(delegation.validator_address)


def _amount(env: SimEnv, held: int) -> int:
    """Mostly up to half of ``held``; sometimes all of it, more than it, or zero."""
    roll = env.rng.randrange(0, 20)
    if roll == 0:
        return held + env.rng.randrange(1, 1000)
    if roll == 1:
        return 0
    if roll == 2:
        return max(1, held)
    return env.rng.randrange(1, max(2, held // 2))


def _denom(env: SimEnv) -> str:
    """The bond denom; one time in thirty another."""
    return "uother" if env.rng.randrange(0, 30) == 0 else BOND_DENOM
