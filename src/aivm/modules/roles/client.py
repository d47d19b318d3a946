"""Python SDK for the ``roles`` module: register in a role, manage the bond, withdraw role
rewards, and read operators, active sets, slash records and rewards.

Example::

    from aivm.client import Client
    from aivm.modules.roles import roles_pb2

    with Client("http://127.0.0.1:26657") as client:
        roles = client.modules.roles
        cap = roles.compute_capability("gpu_flagship", accelerators=8, memory_gib=141,
                                       tflops=7900)
        roles.register(wallet, "compute", 2_000_000_000, cap, moniker="rack-7")
        print([m.operator for m in roles.active_set("compute")])
"""

from __future__ import annotations

from typing import cast

from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.roles import roles_pb2
from aivm.modules.roles.queries import SERVICE
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

ROLE_BY_NAME = {
    "ai": roles_pb2.ROLE_AI,
    "compute": roles_pb2.ROLE_COMPUTE,
    "data": roles_pb2.ROLE_DATA,
}
STATUS_BY_NAME = {
    "active": roles_pb2.OPERATOR_STATUS_ACTIVE,
    "standby": roles_pb2.OPERATOR_STATUS_STANDBY,
    "jailed": roles_pb2.OPERATOR_STATUS_JAILED,
    "unbonded": roles_pb2.OPERATOR_STATUS_UNBONDED,
}
HARDWARE_BY_NAME = {
    "cpu": roles_pb2.HARDWARE_CLASS_CPU,
    "gpu_consumer": roles_pb2.HARDWARE_CLASS_GPU_CONSUMER,
    "gpu_datacenter": roles_pb2.HARDWARE_CLASS_GPU_DATACENTER,
    "gpu_flagship": roles_pb2.HARDWARE_CLASS_GPU_FLAGSHIP,
}
METHOD_BY_NAME = {
    name.removeprefix("VERIFICATION_METHOD_").lower(): number
    for name, number in roles_pb2.VerificationMethod.items()
    if number
}


def role_number(role: str | int) -> roles_pb2.Role:
    """``"compute"`` → ``ROLE_COMPUTE``; numbers pass through."""
    if isinstance(role, int):
        return cast(roles_pb2.Role, role)
    try:
        return ROLE_BY_NAME[role.lower()]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; one of {sorted(ROLE_BY_NAME)}") from None


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))


class RolesClient:
    """``roles`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float = 30.0) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    @staticmethod
    def compute_capability(
        hardware: str,
        accelerators: int,
        memory_gib: int,
        tflops: int = 0,
        tokens_per_second: int = 0,
    ) -> roles_pb2.Capability:
        """A compute declaration (``hardware`` one of cpu, gpu_consumer, gpu_datacenter,
        gpu_flagship)."""
        return roles_pb2.Capability(
            compute=roles_pb2.ComputeCapability(
                hardware_class=HARDWARE_BY_NAME[hardware],
                accelerators=accelerators,
                memory_gib=memory_gib,
                benchmark_tflops=tflops,
                benchmark_tokens_per_second=tokens_per_second,
            )
        )

    @staticmethod
    def ai_capability(runtimes: list[str], methods: list[str]) -> roles_pb2.Capability:
        """An ai declaration (methods by name: reexecution, optimistic, zk, toploc, tee,
        redundancy)."""
        numbers = [METHOD_BY_NAME[m.lower()] for m in methods]
        return roles_pb2.Capability(ai=roles_pb2.AiCapability(runtimes=runtimes, methods=numbers))

    @staticmethod
    def data_capability(storage_bytes: int) -> roles_pb2.Capability:
        """A data declaration."""
        return roles_pb2.Capability(data=roles_pb2.DataCapability(storage_bytes=storage_bytes))

    def register(
        self,
        wallet: Wallet,
        role: str | int,
        bond: int,
        capability: roles_pb2.Capability,
        moniker: str = "",
        description: str = "",
    ) -> TxResult:
        """Register ``wallet`` in ``role`` with ``bond`` ucgpt."""
        msg = roles_pb2.MsgRegisterRole(
            operator=wallet.address,
            role=role_number(role),
            bond=_coin(bond),
            capability=capability,
            moniker=moniker,
            description=description,
        )
        return self._submit(wallet, msg)

    def add_bond(self, wallet: Wallet, role: str | int, amount: int) -> TxResult:
        """Top up the bond."""
        msg = roles_pb2.MsgAddRoleBond(
            operator=wallet.address,
            role=role_number(role),
            amount=_coin(amount),
        )
        return self._submit(wallet, msg)

    def update_capability(
        self, wallet: Wallet, role: str | int, capability: roles_pb2.Capability
    ) -> TxResult:
        """Replace the declaration."""
        msg = roles_pb2.MsgUpdateCapability(
            operator=wallet.address,
            role=role_number(role),
            capability=capability,
        )
        return self._submit(wallet, msg)

    def unbond(self, wallet: Wallet, role: str | int, amount: int | None = None) -> TxResult:
        """Unbond ``amount`` (None: all of it)."""
        msg = roles_pb2.MsgUnbondRole(operator=wallet.address, role=role_number(role))
        if amount is None:
            msg.all = True
        else:
            msg.amount.CopyFrom(_coin(amount))
        return self._submit(wallet, msg)

    def unjail(self, wallet: Wallet, role: str | int) -> TxResult:
        """Lift a role jail whose time has passed."""
        msg = roles_pb2.MsgUnjailRole(operator=wallet.address, role=role_number(role))
        return self._submit(wallet, msg)

    def withdraw_rewards(self, wallet: Wallet, role: str | int | None = None) -> TxResult:
        """Withdraw role rewards (every role by default)."""
        number = 0 if role is None else role_number(role)
        msg = roles_pb2.MsgWithdrawRoleRewards(operator=wallet.address, role=number)  # type: ignore[arg-type]
        return self._submit(wallet, msg)

    def params(self) -> roles_pb2.Params:
        """Current params."""
        response = self.client.query(
            SERVICE + "Params", roles_pb2.QueryParamsRequest(), roles_pb2.QueryParamsResponse
        )
        found: roles_pb2.Params = response.params
        return found

    def operator(self, address: str, role: str | int) -> roles_pb2.QueryOperatorResponse:
        """An operator's record in a role, with its unbonding entries."""
        request = roles_pb2.QueryOperatorRequest(operator=address, role=role_number(role))
        return self.client.query(SERVICE + "Operator", request, roles_pb2.QueryOperatorResponse)

    def operators(
        self, role: str | int | None = None, status: str | None = None, page_size: int = 100
    ) -> list[roles_pb2.RoleOperator]:
        """Every operator (of ``role``, with ``status``), page by page."""
        request = roles_pb2.QueryOperatorsRequest(
            role=0 if role is None else role_number(role),  # type: ignore[arg-type]
            status=STATUS_BY_NAME[status] if status else 0,  # type: ignore[arg-type]
        )
        request.pagination.limit = page_size
        found: list[roles_pb2.RoleOperator] = []
        while True:
            response = self.client.query(
                SERVICE + "Operators", request, roles_pb2.QueryOperatorsResponse
            )
            found.extend(response.operators)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def active_set(self, role: str | int) -> list[roles_pb2.ActiveMember]:
        """The role's active set, best first."""
        request = roles_pb2.QueryActiveSetRequest(role=role_number(role))
        response = self.client.query(
            SERVICE + "ActiveSet", request, roles_pb2.QueryActiveSetResponse
        )
        return list(response.members)

    def slash_records(
        self, operator: str = "", role: str | int | None = None
    ) -> list[roles_pb2.SlashRecord]:
        """Slash records (of ``operator``, in ``role``), first page of 100."""
        request = roles_pb2.QuerySlashRecordsRequest(
            operator=operator,
            role=0 if role is None else role_number(role),  # type: ignore[arg-type]
        )
        response = self.client.query(
            SERVICE + "SlashRecords", request, roles_pb2.QuerySlashRecordsResponse
        )
        return list(response.records)

    def rewards(self, operator: str) -> roles_pb2.QueryRewardsResponse:
        """Claimable rewards of ``operator`` per role and in total."""
        request = roles_pb2.QueryRewardsRequest(operator=operator)
        return self.client.query(SERVICE + "Rewards", request, roles_pb2.QueryRewardsResponse)

    def reason_codes(self) -> list[roles_pb2.ReasonCode]:
        """Registered slash reason codes."""
        response = self.client.query(
            SERVICE + "ReasonCodes",
            roles_pb2.QueryReasonCodesRequest(),
            roles_pb2.QueryReasonCodesResponse,
        )
        return list(response.codes)

    def work_counters(
        self, role: str | int | None = None, operator: str = "", page_size: int = 100
    ) -> list[roles_pb2.WorkCounter]:
        """Work recorded in the current reward period (of ``role``, of ``operator``)."""
        request = roles_pb2.QueryWorkCountersRequest(
            role=0 if role is None else role_number(role),  # type: ignore[arg-type]
            operator=operator,
        )
        request.pagination.limit = page_size
        found: list[roles_pb2.WorkCounter] = []
        while True:
            response = self.client.query(
                SERVICE + "WorkCounters", request, roles_pb2.QueryWorkCountersResponse
            )
            found.extend(response.counters)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key


# The helper class ``client.modules.roles`` builds, once per Client.
CLIENT = RolesClient
