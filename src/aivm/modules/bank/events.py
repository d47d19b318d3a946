"""bank event types and attribute keys (Cosmos SDK names)."""

from aivm.modules.framework import Event

TYPE_TRANSFER = "transfer"
TYPE_COIN_SPENT = "coin_spent"
TYPE_COIN_RECEIVED = "coin_received"
TYPE_MESSAGE = "message"


def transfer(recipient: str, sender: str, amount: str) -> Event:
    """Emitted for every transfer between two accounts."""
    return Event(TYPE_TRANSFER, (("recipient", recipient), ("sender", sender), ("amount", amount)))


def coin_spent(spender: str, amount: str) -> Event:
    """Emitted when coins leave an account."""
    return Event(TYPE_COIN_SPENT, (("spender", spender), ("amount", amount)))


def coin_received(receiver: str, amount: str) -> Event:
    """Emitted when coins enter an account."""
    return Event(TYPE_COIN_RECEIVED, (("receiver", receiver), ("amount", amount)))


def message_sender(sender: str) -> Event:
    """The SDK's ``message`` event naming the sender of a transfer."""
    return Event(TYPE_MESSAGE, (("sender", sender),))
