"""AIVM Python SDK: wallets, keyring, transaction signing and node clients.

Example::

    from aivm.client import Client, Wallet

    wallet = Wallet.from_mnemonic("...24 words...")
    with Client("http://127.0.0.1:26657") as client:
        sent = client.send(wallet, "aivm1...", "1000ucgpt")
        print(client.wait_for_tx(sent.hash).height)
"""

from aivm.client.client import (
    DEFAULT_GAS_ADJUSTMENT,
    DEFAULT_GAS_PRICE,
    DEFAULT_RPC,
    AsyncClient,
    Client,
    parse_gas_price,
)
from aivm.client.errors import (
    ChainError,
    ClientError,
    NodeUnreachableError,
    RpcError,
    TxTimeoutError,
)
from aivm.client.results import Account, Block, BroadcastResult, Event, Status, TxResult
from aivm.client.storage import StorageClient, StorageError
from aivm.client.wallet import Wallet

__all__ = [
    "DEFAULT_GAS_ADJUSTMENT",
    "DEFAULT_GAS_PRICE",
    "DEFAULT_RPC",
    "Account",
    "AsyncClient",
    "Block",
    "BroadcastResult",
    "ChainError",
    "Client",
    "ClientError",
    "Event",
    "NodeUnreachableError",
    "RpcError",
    "Status",
    "StorageClient",
    "StorageError",
    "TxResult",
    "TxTimeoutError",
    "Wallet",
    "parse_gas_price",
]
