"""distribution params (``cosmos.distribution.v1beta1.Params``) as Python values."""

from __future__ import annotations

from dataclasses import dataclass, field

from aivm.types import pb
from aivm.types.dec import Dec
from aivm.types.errors import AivmError, ErrInvalidRequest


@dataclass(frozen=True)
class DistributionParams:
    """Community tax and whether delegators may set a withdraw address."""

    community_tax: Dec = field(default_factory=lambda: Dec("0.02"))
    """Share of every allocation that goes to the community pool, in [0, 1]."""
    withdraw_addr_enabled: bool = True
    """Whether MsgSetWithdrawAddress is accepted."""

    def to_proto(self) -> pb.distribution.Params:
        """Protobuf form (the deprecated proposer rewards are zero)."""
        zero = Dec.zero().to_proto_str()
        return pb.distribution.Params(
            community_tax=self.community_tax.to_proto_str(),
            base_proposer_reward=zero,
            bonus_proposer_reward=zero,
            withdraw_addr_enabled=self.withdraw_addr_enabled,
        )


def params_from_proto(proto: pb.distribution.Params) -> DistributionParams:
    """Check and convert params as the SDK's ``MsgUpdateParams``: community tax set and in
    [0, 1]; the deprecated proposer rewards empty or zero. ErrInvalidRequest otherwise."""
    for name in ("base_proposer_reward", "bonus_proposer_reward"):
        text = getattr(proto, name)
        if text and not _dec(text, name).is_zero():
            raise ErrInvalidRequest.wrap(
                "cannot update base or bonus proposer reward because these are deprecated fields"
            )
    if not proto.community_tax:
        raise ErrInvalidRequest.wrap("community tax must be not nil")
    tax = _dec(proto.community_tax, "community tax")
    if tax.is_negative():
        raise ErrInvalidRequest.wrap(f"community tax must be positive: {tax}")
    if tax > Dec.one():
        raise ErrInvalidRequest.wrap(f"community tax too large: {tax}")
    return DistributionParams(tax, bool(proto.withdraw_addr_enabled))


def _dec(text: str, what: str) -> Dec:
    try:
        return Dec.from_proto_str(text)
    except AivmError as exc:
        raise ErrInvalidRequest.wrap(f"invalid {what}: {exc.log}") from exc
