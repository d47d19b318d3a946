"""Python SDK for the ``compute`` module (provider registry): register and manage a provider,
and read providers, asks and slash records.

Example::

    from aivm.client import Client
    from aivm.modules.compute.client import ComputeClient

    with Client("http://127.0.0.1:26657") as client:
        compute = client.modules.compute
        hardware = compute.hardware("H100-SXM", gpu_count=8, gpu_memory_mib=81920,
                                    cpu_cores=96, memory_mib=1 << 20)
        compute.register(wallet, 100_000_000, hardware, ["onnxruntime"],
                         [compute.offer(1, "1.0.0", 250)], capacity=4, moniker="rack-7")
        print([(a.operator, a.price_per_unit) for a in compute.asks(1, "1.0.0")])
"""

from __future__ import annotations

from collections.abc import Sequence

from aivm.client.client import Client
from aivm.client.results import TxResult
from aivm.client.wallet import Wallet
from aivm.modules.compute import compute_pb2
from aivm.modules.compute.queries import SERVICE
from aivm.types import pb
from aivm.types.coin import BOND_DENOM

STATUS_BY_NAME = {
    "active": compute_pb2.PROVIDER_STATUS_ACTIVE,
    "paused": compute_pb2.PROVIDER_STATUS_PAUSED,
    "exiting": compute_pb2.PROVIDER_STATUS_EXITING,
    "jailed": compute_pb2.PROVIDER_STATUS_JAILED,
}
TIER_BY_NAME = {
    "entry": compute_pb2.TIER_ENTRY,
    "standard": compute_pb2.TIER_STANDARD,
    "high_performance": compute_pb2.TIER_HIGH_PERFORMANCE,
}


def _coin(amount: int) -> pb.coin.Coin:
    return pb.coin.Coin(denom=BOND_DENOM, amount=str(amount))


class ComputeClient:
    """``compute`` module calls over a blocking :class:`~aivm.client.Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _submit(self, wallet: Wallet, msg: pb.Message, timeout: float = 30.0) -> TxResult:
        sent = self.client.sign_and_broadcast(wallet, [msg])
        return self.client.wait_for_tx(sent.hash, timeout=timeout)

    @staticmethod
    def hardware(
        gpu_model: str = "",
        gpu_count: int = 0,
        gpu_memory_mib: int = 0,
        cpu_cores: int = 1,
        memory_mib: int = 1024,
    ) -> compute_pb2.Hardware:
        """A hardware declaration (GPU memory per GPU; no GPU fields for CPU only)."""
        return compute_pb2.Hardware(
            gpu_model=gpu_model,
            gpu_count=gpu_count,
            gpu_memory_mib=gpu_memory_mib,
            cpu_cores=cpu_cores,
            memory_mib=memory_mib,
        )

    @staticmethod
    def offer(model_id: int, version: str, price_per_unit: int) -> compute_pb2.Offer:
        """An offer of an off-chain model version at ``price_per_unit`` ucgpt."""
        return compute_pb2.Offer(
            model_id=model_id, version=version, price_per_unit=str(price_per_unit)
        )

    def register(
        self,
        wallet: Wallet,
        collateral: int,
        hardware: compute_pb2.Hardware,
        runtimes: Sequence[str],
        offers: Sequence[compute_pb2.Offer] = (),
        capacity: int = 1,
        moniker: str = "",
        description: str = "",
    ) -> TxResult:
        """Register ``wallet`` as a provider with ``collateral`` ucgpt."""
        msg = compute_pb2.MsgRegisterProvider(
            operator=wallet.address,
            collateral=_coin(collateral),
            hardware=hardware,
            runtimes=list(runtimes),
            offers=list(offers),
            capacity=capacity,
            moniker=moniker,
            description=description,
        )
        return self._submit(wallet, msg)

    def update(
        self,
        wallet: Wallet,
        hardware: compute_pb2.Hardware,
        runtimes: Sequence[str],
        offers: Sequence[compute_pb2.Offer] = (),
        capacity: int = 1,
        moniker: str = "",
        description: str = "",
    ) -> TxResult:
        """Replace the provider's declaration (every field)."""
        msg = compute_pb2.MsgUpdateProvider(
            operator=wallet.address,
            hardware=hardware,
            runtimes=list(runtimes),
            offers=list(offers),
            capacity=capacity,
            moniker=moniker,
            description=description,
        )
        return self._submit(wallet, msg)

    def add_collateral(self, wallet: Wallet, amount: int) -> TxResult:
        """Top up the collateral."""
        msg = compute_pb2.MsgAddCollateral(operator=wallet.address, amount=_coin(amount))
        return self._submit(wallet, msg)

    def heartbeat(self, wallet: Wallet) -> TxResult:
        """Tell the chain the provider is up."""
        return self._submit(wallet, compute_pb2.MsgProviderHeartbeat(operator=wallet.address))

    def pause(self, wallet: Wallet) -> TxResult:
        """Take the offers off the market."""
        return self._submit(wallet, compute_pb2.MsgPauseProvider(operator=wallet.address))

    def resume(self, wallet: Wallet) -> TxResult:
        """Put the offers back."""
        return self._submit(wallet, compute_pb2.MsgResumeProvider(operator=wallet.address))

    def exit(self, wallet: Wallet) -> TxResult:
        """Leave; the collateral comes back after the unbonding time."""
        return self._submit(wallet, compute_pb2.MsgExitProvider(operator=wallet.address))

    def unjail(self, wallet: Wallet) -> TxResult:
        """Leave jail once its time is over."""
        return self._submit(wallet, compute_pb2.MsgUnjailProvider(operator=wallet.address))

    def params(self) -> compute_pb2.Params:
        """Current params."""
        response = self.client.query(
            SERVICE + "Params", compute_pb2.QueryParamsRequest(), compute_pb2.QueryParamsResponse
        )
        found: compute_pb2.Params = response.params
        return found

    def provider(self, operator: str) -> compute_pb2.QueryProviderResponse:
        """A provider's record and whether it is available now."""
        request = compute_pb2.QueryProviderRequest(operator=operator)
        return self.client.query(SERVICE + "Provider", request, compute_pb2.QueryProviderResponse)

    def providers(
        self, status: str | None = None, tier: str | None = None, page_size: int = 100
    ) -> list[compute_pb2.Provider]:
        """Every provider (with ``status``, in ``tier``), page by page."""
        request = compute_pb2.QueryProvidersRequest(
            status=STATUS_BY_NAME[status] if status else 0,  # type: ignore[arg-type]
            tier=TIER_BY_NAME[tier] if tier else 0,  # type: ignore[arg-type]
        )
        request.pagination.limit = page_size
        found: list[compute_pb2.Provider] = []
        while True:
            response = self.client.query(
                SERVICE + "Providers", request, compute_pb2.QueryProvidersResponse
            )
            found.extend(response.providers)
            if not response.pagination.next_key:
                return found
            request.pagination.key = response.pagination.next_key

    def asks(
        self,
        model_id: int,
        version: str,
        tier: str | None = None,
        max_price: int | None = None,
        limit: int = 100,
    ) -> list[compute_pb2.Ask]:
        """The first ``limit`` asks for a model version, cheapest first (by tier when no
        tier is given)."""
        request = compute_pb2.QueryAsksRequest(
            model_id=model_id,
            version=version,
            tier=TIER_BY_NAME[tier] if tier else 0,  # type: ignore[arg-type]
            max_price="" if max_price is None else str(max_price),
        )
        request.pagination.limit = limit
        response = self.client.query(SERVICE + "Asks", request, compute_pb2.QueryAsksResponse)
        return list(response.asks)

    def slash_records(self, operator: str = "") -> list[compute_pb2.SlashRecord]:
        """Slash records (of ``operator``), first page of 100."""
        request = compute_pb2.QuerySlashRecordsRequest(operator=operator)
        response = self.client.query(
            SERVICE + "SlashRecords", request, compute_pb2.QuerySlashRecordsResponse
        )
        return list(response.records)


# The helper class ``client.modules.compute`` builds, once per Client.
CLIENT = ComputeClient
