from __future__ import annotations


def pass_complete(*, event_id: int, buyer_key: str) -> None:
    """The buyer's order was paid: end their pass and free its shopper slot.

    Called from orders through transaction.on_commit (it writes Redis).
    (Interface placeholder: the waiting-room work replaces the body.)
    """
    return None
