"""What the compute marketplace asks of a verification module (the ``verify`` module
implements it; an app without one settles accepted results after the challenge window).

The marketplace calls the hooks inside the same block branch as its own writes, so a hook's
state changes commit or roll back with the message or EndBlock that triggered them. Hooks
called from EndBlock paths (``on_accepted`` through a partial acceptance at the deadline,
``on_settled``) must not raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aivm.modules.compute import compute_pb2
from aivm.modules.framework import Context


@dataclass(frozen=True)
class AcceptPlan:
    """What happens to an accepted result: how long its challenge window lasts and whether
    settlement waits for the verification module to release the job."""

    window_blocks: int
    hold: bool


@dataclass
class Payee:
    """A wrong provider whose slash pays someone instead of being burned: the winner of a
    dispute game. ``paid`` is set by the marketplace to what was actually transferred
    (``amount`` capped at the provider's collateral)."""

    provider: str
    recipient: bytes
    amount: int
    paid: int = 0


class VerificationHooks(Protocol):
    """The verification module, as the marketplace sees it."""

    def check_submit(self, ctx: Context, msg: compute_pb2.MsgSubmitJob) -> None:
        """Refuse (AivmError) a job whose criticality cannot be verified now, e.g. too few
        AI validators for the re-execution the policy asks for."""
        ...

    def check_result(
        self,
        ctx: Context,
        job: compute_pb2.Job,
        provider: bytes,
        msg: compute_pb2.MsgSubmitResult,
    ) -> None:
        """Refuse (AivmError) a result whose evidence the job's verification needs and does
        not get, e.g. a missing or invalid TEE quote. Runs in the provider's tx (its gas)."""
        ...

    def on_accepted(self, ctx: Context, job: compute_pb2.Job) -> AcceptPlan:
        """A result was accepted by the providers' comparison (``job`` is PENDING_ACCEPTANCE
        with its output set): start the job's verification. Must not raise."""
        ...

    def on_settled(self, ctx: Context, job: compute_pb2.Job) -> None:
        """The job was paid (COMPLETED): record its attestation trail. Must not raise."""
        ...
