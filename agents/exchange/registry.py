"""`OrderRegistry`: the venue's record of one asset's resting orders.

For every resting order it keeps the account that owns it, the collateral it
reserves per lot and whether it is reduce-only, and it finds an account's
orders (and its reduce-only ones) without scanning the book. The venue keeps
one per asset (`agents.exchange.venue.OrderBookAgent.registries`). On the
compiled kernels the venue uses `NativeOrderRegistry`
(``agents/exchange/registry_native.pyx``), the same registry in C++
containers; tests/test_registry.py drives both with the same operations.
"""

from __future__ import annotations


class OrderRegistry:
    """Resting orders by id and by account (pure Python)."""

    def __init__(self) -> None:
        self._owner: dict[int, tuple[int, float, bool]] = {}  # id -> (account, per lot, reduce-only)
        self._by_account: dict[int, set[int]] = {}
        self._reduce_only: dict[int, set[int]] = {}

    def add(self, order_id: int, account: int, per_lot: float, reduce_only: bool) -> None:
        """Record a new resting order."""
        self._owner[order_id] = (account, per_lot, bool(reduce_only))
        self._by_account.setdefault(account, set()).add(order_id)
        if reduce_only:
            self._reduce_only.setdefault(account, set()).add(order_id)

    def entry(self, order_id: int) -> tuple[int, float, bool]:
        """``(account, collateral per lot, reduce-only)`` of a resting order; `KeyError` if unknown."""
        return self._owner[order_id]

    def remove(self, order_id: int) -> None:
        """Forget an order that no longer rests; `KeyError` if unknown."""
        account, _, reduce_only = self._owner.pop(order_id)
        self._by_account[account].discard(order_id)
        if reduce_only:
            self._reduce_only.get(account, set()).discard(order_id)

    def of_account(self, account: int) -> list[int]:
        """Ids of an account's resting orders, ascending."""
        return sorted(self._by_account.get(account, ()))

    def count(self, account: int) -> int:
        """How many resting orders an account has."""
        return len(self._by_account.get(account, ()))

    def pop_reduce_only(self, account: int) -> list[int]:
        """Ids of an account's reduce-only orders, ascending, no longer listed as such (the venue cancels them)."""
        return sorted(self._reduce_only.pop(account, ()))

    def state(self) -> tuple[dict, dict, dict]:
        """Everything recorded, as plain values that compare and pickle exactly: keys ascending, accounts
        without orders left out."""
        owner = {oid: (acct, float(per_lot).hex(), ro) for oid, (acct, per_lot, ro) in sorted(self._owner.items())}
        return (owner, {a: sorted(ids) for a, ids in sorted(self._by_account.items()) if ids},
                {a: sorted(ids) for a, ids in sorted(self._reduce_only.items()) if ids})
