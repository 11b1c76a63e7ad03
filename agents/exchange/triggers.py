"""Trigger books: stop orders and liquidation watches, as heaps keyed by price.

A `TriggerHeap` holds ``(price, seq, ident, version)`` entries and hands back
the *nearest* one the price has crossed, so a cascade unfolds in price order.
Entries are invalidated lazily: each owner keeps the current version of each
ident, and an entry whose version is stale is dropped when it reaches the
top. A fill therefore costs O(log n), not a scan of every account.

Direction ``UP`` fires when the price rises to or through the key (buy stops,
short liquidations); ``DOWN`` fires when it falls to or through it.
"""

from __future__ import annotations

import heapq
import itertools
import math

UP = 1
DOWN = -1


class TriggerHeap:
    """Price-keyed triggers firing in one direction."""

    def __init__(self, direction: int) -> None:
        if direction not in (UP, DOWN):
            raise ValueError("direction must be UP (+1) or DOWN (-1)")
        self.direction = direction
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, price: float, ident: int, version: int) -> None:
        """Add a trigger at ``price``; earlier pushes at the same price fire first."""
        key = price if self.direction == UP else -price
        heapq.heappush(self._heap, (key, next(self._seq), ident, version))

    def pop_due(self, price: float, is_live) -> tuple[float, int, int] | None:
        """Remove and return the nearest live trigger crossed by ``price``.

        Args:
            price: the current trigger price (last or mark).
            is_live: ``is_live(ident, version) -> bool``; stale entries are discarded.

        Returns:
            ``(trigger_price, ident, version)`` or None if nothing is due.
        """
        heap = self._heap
        bound = price if self.direction == UP else -price
        while heap and heap[0][0] <= bound:
            key, _, ident, version = heapq.heappop(heap)
            if is_live(ident, version):
                return (key if self.direction == UP else -key), ident, version
        return None

    def peek_due(self, price: float, is_live) -> float | None:
        """Trigger price of the nearest live due entry, without removing it."""
        heap = self._heap
        bound = price if self.direction == UP else -price
        while heap and heap[0][0] <= bound:
            key, _, ident, version = heap[0]
            if is_live(ident, version):
                return key if self.direction == UP else -key
            heapq.heappop(heap)
        return None


class StopBook:
    """Stop-market orders on one asset, triggered by the last traded price.

    A buy stop fires when the last price rises to its trigger, a sell stop
    when it falls to it. Stops are reduce-only: when fired, the venue sends a
    market order for at most the position still open.
    """

    def __init__(self) -> None:
        self.buys = TriggerHeap(UP)
        self.sells = TriggerHeap(DOWN)
        self.stops: dict[int, tuple[int, int, int, float]] = {}  # id -> (account, side, lots, trigger)
        self._ids = itertools.count(1)

    def add(self, account: int, side: int, lots: int, trigger: float) -> int:
        """Register a stop and return its id."""
        sid = next(self._ids)
        self.stops[sid] = (account, side, lots, trigger)
        (self.buys if side > 0 else self.sells).push(trigger, sid, 0)
        return sid

    def cancel(self, sid: int) -> bool:
        """Cancel a stop; False if it had already fired or been cancelled."""
        return self.stops.pop(sid, None) is not None

    def _live(self, sid: int, _version: int) -> bool:
        return sid in self.stops

    def next_due(self, last: float) -> tuple[float, int] | None:
        """``(trigger, direction)`` of the nearest due stop, without removing it."""
        up = self.buys.peek_due(last, self._live)
        if up is not None:
            return up, UP
        down = self.sells.peek_due(last, self._live)
        return None if down is None else (down, DOWN)

    def pop(self, last: float, direction: int) -> tuple[int, int, int, int] | None:
        """Remove the nearest due stop in a direction: ``(id, account, side, lots)``."""
        got = (self.buys if direction == UP else self.sells).pop_due(last, self._live)
        if got is None:
            return None
        sid = got[1]
        account, side, lots, _ = self.stops.pop(sid)
        return sid, account, side, lots

    def of_account(self, account: int) -> list[int]:
        """Ids of an account's live stops."""
        return [sid for sid, (acct, *_rest) in self.stops.items() if acct == account]


class LiquidationWatch:
    """Liquidation prices of open positions on one asset, triggered by the mark price.

    Shorts are liquidated when the mark rises to their liquidation price,
    longs when it falls to it. `watch` replaces an account's previous entry.
    """

    def __init__(self, n_accounts: int) -> None:
        self.shorts = TriggerHeap(UP)
        self.longs = TriggerHeap(DOWN)
        self.version = [0] * n_accounts

    def _live(self, account: int, version: int) -> bool:
        return self.version[account] == version

    def watch(self, account: int, position: int, liq_price: float) -> None:
        """(Re)register an account's position; a flat position just invalidates."""
        self.version[account] += 1
        if position == 0 or not math.isfinite(liq_price):
            return
        heap = self.longs if position > 0 else self.shorts
        heap.push(liq_price, account, self.version[account])

    def next_due(self, mark: float) -> tuple[float, int] | None:
        """``(liquidation price, direction)`` of the nearest due account."""
        up = self.shorts.peek_due(mark, self._live)
        if up is not None:
            return up, UP
        down = self.longs.peek_due(mark, self._live)
        return None if down is None else (down, DOWN)

    def pop(self, mark: float, direction: int) -> tuple[float, int] | None:
        """Remove the nearest due account in a direction: ``(liquidation price, account)``."""
        got = (self.shorts if direction == UP else self.longs).pop_due(mark, self._live)
        if got is None:
            return None
        self.version[got[1]] += 1
        return got[0], got[1]
