"""A deliberately simple reference limit order book, for differential testing.

`ReferenceBook` implements the same matching rules as
`agents.exchange.book.LimitOrderBook` the obvious, slow way, so that the two
can be driven with identical operations and compared:

* all resting orders live in one flat Python list of
  ``[order_id, owner, side, tick, qty, seq]``;
* every match sorts the opposite side by (price priority, arrival seq) afresh;
* no heaps, no deques, no per-level caches.

Rules mirrored from the fast book: price-time priority; self-trade prevention
cancels the RESTING order and matching carries on; post-only (``"POST"``) is
rejected if it would cross; ``"IOC"`` cancels its remainder; market orders
never rest; `reduce` lowers a quantity and keeps priority. Order ids are
consumed only by orders that rest. Invalid input raises `OrderError` and
leaves the book untouched.
"""

from __future__ import annotations

import numpy as np

from agents.exchange.book import BUY, MAX_LOTS, MAX_TICK, SELL, Match, OrderError

__all__ = ["ReferenceBook", "BUY", "SELL", "Match", "OrderError"]

_ID, _OWNER, _SIDE, _TICK, _QTY, _SEQ = range(6)


def _is_whole(x: object) -> bool:
    """True for Python or numpy integers (bool counts, as in the fast book)."""
    return isinstance(x, (int, np.integer))


class ReferenceBook:
    """Slow, obviously-correct price-time priority book for one asset."""

    def __init__(self) -> None:
        self.orders: list[list[int]] = []  # [id, owner, side, tick, qty, seq]
        self.next_id = 1
        self.next_seq = 0
        self.time = 0.0
        self.cause = 0
        # (time, tick, qty, taker_side, taker_owner, maker_owner, cause) per fill
        self.tape: list[tuple[float, int, int, int, int, int, int]] = []

    # ----------------------------------------------------------------- helpers
    def _find(self, order_id: int) -> list[int]:
        for o in self.orders:
            if o[_ID] == order_id:
                return o
        raise OrderError(f"unknown order id {order_id}")

    def _side_sorted(self, side: int) -> list[list[int]]:
        """Orders on one side, best price first, then earliest arrival."""
        same = [o for o in self.orders if o[_SIDE] == side]
        if side == BUY:
            return sorted(same, key=lambda o: (-o[_TICK], o[_SEQ]))
        return sorted(same, key=lambda o: (o[_TICK], o[_SEQ]))

    @staticmethod
    def _validate(side: int, qty: int) -> None:
        if not _is_whole(side) or side not in (BUY, SELL):
            raise OrderError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
        if not _is_whole(qty) or qty <= 0:
            raise OrderError(f"quantity must be a positive whole number of lots, got {qty!r}")
        if qty > MAX_LOTS:
            raise OrderError(f"quantity must be at most {MAX_LOTS} lots, got {qty!r}")

    @staticmethod
    def _validate_owner(owner: int) -> None:
        if not _is_whole(owner) or not -2**63 <= owner < 2**63:
            raise OrderError(f"owner must be a whole number (an account id), got {owner!r}")

    def _match(self, owner: int, side: int, qty: int, limit: int | None) -> Match:
        m = Match([], cancelled=[])
        remaining = qty
        for o in self._side_sorted(-side):
            if remaining == 0:
                break
            if limit is not None and (o[_TICK] > limit if side == BUY else o[_TICK] < limit):
                break
            if o[_OWNER] == owner:  # self-trade prevention cancels the resting order
                self.orders.remove(o)
                m.cancelled.append((o[_ID], o[_OWNER], o[_TICK], o[_QTY]))
                continue
            q = min(o[_QTY], remaining)
            remaining -= q
            o[_QTY] -= q
            if o[_QTY] == 0:
                self.orders.remove(o)
            m.fills.append((o[_ID], o[_OWNER], o[_TICK], q))
            self.tape.append((self.time, o[_TICK], q, side, owner, o[_OWNER], self.cause))
        m.filled = qty - remaining
        return m

    # ----------------------------------------------------------------- queries
    def best_bid(self) -> int | None:
        """Highest bid tick, or None."""
        bids = [o[_TICK] for o in self.orders if o[_SIDE] == BUY]
        return max(bids) if bids else None

    def best_ask(self) -> int | None:
        """Lowest ask tick, or None."""
        asks = [o[_TICK] for o in self.orders if o[_SIDE] == SELL]
        return min(asks) if asks else None

    def resting(self, side: int) -> list[tuple[int, int, int, int]]:
        """Resting orders on a side as ``(order_id, owner, tick, qty)`` in priority order."""
        return [(o[_ID], o[_OWNER], o[_TICK], o[_QTY]) for o in self._side_sorted(side)]

    def __contains__(self, order_id: int) -> bool:
        return any(o[_ID] == order_id for o in self.orders)

    def __len__(self) -> int:
        return len(self.orders)

    # ------------------------------------------------------------------ orders
    def submit_limit(self, owner: int, side: int, tick: int, qty: int, tif: str = "GTC") -> Match:
        """Submit a limit order (``tif`` in GTC, IOC, POST); see module docstring."""
        self._validate(side, qty)
        if not _is_whole(tick) or not 0 < tick <= MAX_TICK:
            raise OrderError(f"limit price must be a positive whole number of ticks up to {MAX_TICK}, got {tick!r}")
        if tif not in ("GTC", "IOC", "POST"):
            raise OrderError(f"unknown time in force {tif!r}")
        self._validate_owner(owner)
        owner, side, tick, qty = int(owner), int(side), int(tick), int(qty)
        if tif == "POST":
            opp = self.best_ask() if side == BUY else self.best_bid()
            if opp is not None and (opp <= tick if side == BUY else opp >= tick):
                return Match(rejected=True)
        m = self._match(owner, side, qty, tick)
        rest = qty - m.filled
        if rest > 0 and tif != "IOC":
            m.order_id = self.next_id
            self.orders.append([self.next_id, owner, side, tick, rest, self.next_seq])
            self.next_id += 1
            self.next_seq += 1
        return m

    def submit_market(self, owner: int, side: int, qty: int) -> Match:
        """Submit a market order; the unfilled remainder is dropped."""
        self._validate(side, qty)
        self._validate_owner(owner)
        return self._match(int(owner), int(side), int(qty), None)

    def cancel(self, order_id: int) -> int:
        """Cancel a resting order and return its remaining lots."""
        o = self._find(order_id)
        self.orders.remove(o)
        return o[_QTY]

    def reduce(self, order_id: int, new_qty: int) -> None:
        """Lower a resting order's quantity; it keeps its arrival seq (priority)."""
        o = self._find(order_id)
        if not _is_whole(new_qty) or new_qty <= 0:
            raise OrderError(f"quantity must be a positive whole number of lots, got {new_qty!r}")
        if new_qty > o[_QTY]:
            raise OrderError(f"reduce can only lower a quantity ({o[_QTY]} -> {new_qty})")
        o[_QTY] = int(new_qty)
