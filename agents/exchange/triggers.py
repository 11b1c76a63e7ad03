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
_COMPACT_MIN = 1024  # heaps smaller than this are never compacted


class TriggerHeap:
    """Price-keyed triggers firing in one direction."""

    def __init__(self, direction: int, compact_min: int = _COMPACT_MIN) -> None:
        if direction not in (UP, DOWN):
            raise ValueError("direction must be UP (+1) or DOWN (-1)")
        self.direction = direction
        # (direction * price, seq, ident, version); the compiled venue peeks at its top (venue_native._maybe_due).
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = itertools.count()
        self._compact_min = self._compact_at = compact_min

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, price: float, ident: int, version: int) -> None:
        """Add a trigger at ``price``; earlier pushes at the same price fire first."""
        key = price if self.direction == UP else -price
        heapq.heappush(self._heap, (key, next(self._seq), ident, version))

    def compact_if_stale(self, is_live) -> None:
        """Drop stale entries once the heap has doubled since it was last compacted.

        Stale entries deep in the heap would otherwise pile up for the whole run
        (every fill re-registers a position). Entries are ordered by ``(price,
        seq)`` with a unique ``seq``, so dropping stale ones never changes what
        fires or in which order. Amortised O(1) per push.
        """
        heap = self._heap
        if len(heap) < self._compact_at:
            return
        heap[:] = [e for e in heap if is_live(e[2], e[3])]
        heapq.heapify(heap)
        self._compact_at = max(self._compact_min, 2 * len(heap))

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


class _TwoWay:
    """An UP heap and a DOWN heap whose entries a subclass judges live or stale."""

    def __init__(self, compact_min: int = _COMPACT_MIN) -> None:
        self.up = TriggerHeap(UP, compact_min)
        self.down = TriggerHeap(DOWN, compact_min)

    def _live(self, ident: int, version: int) -> bool:
        raise NotImplementedError

    def next_due(self, price: float) -> tuple[float, int] | None:
        """``(trigger price, direction)`` of the nearest due entry (upward first), without removing it."""
        up = self.up.peek_due(price, self._live)
        if up is not None:
            return up, UP
        down = self.down.peek_due(price, self._live)
        return None if down is None else (down, DOWN)

    def _pop(self, price: float, direction: int) -> tuple[float, int] | None:
        got = (self.up if direction == UP else self.down).pop_due(price, self._live)
        return None if got is None else (got[0], got[1])


class StopBook(_TwoWay):
    """Stop-market orders on one asset, triggered by the last traded price.

    A buy stop fires when the last price rises to its trigger (the UP heap), a
    sell stop when it falls to it. Stops are reduce-only: when fired, the venue
    sends a market order for at most the position still open.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stops: dict[int, tuple[int, int, int, float]] = {}  # id -> (account, side, lots, trigger)
        self._of_account: dict[int, dict[int, None]] = {}  # account -> its live stops' ids, in id order
        self._ids = itertools.count(1)

    def add(self, account: int, side: int, lots: int, trigger: float) -> int:
        """Register a stop and return its id."""
        sid = next(self._ids)
        self.stops[sid] = (account, side, lots, trigger)
        self._of_account.setdefault(account, {})[sid] = None
        heap = self.up if side > 0 else self.down
        heap.push(trigger, sid, 0)
        heap.compact_if_stale(self._live)
        return sid

    def cancel(self, sid: int) -> bool:
        """Cancel a stop; False if it had already fired or been cancelled."""
        stop = self.stops.pop(sid, None)
        if stop is None:
            return False
        del self._of_account[stop[0]][sid]
        return True

    def _live(self, sid: int, _version: int) -> bool:
        return sid in self.stops

    def pop(self, last: float, direction: int) -> tuple[int, int, int, int] | None:
        """Remove the nearest due stop in a direction: ``(id, account, side, lots)``."""
        got = self._pop(last, direction)
        if got is None:
            return None
        sid = got[1]
        account, side, lots, _ = self.stops.pop(sid)
        del self._of_account[account][sid]
        return sid, account, side, lots

    def of_account(self, account: int) -> list[int]:
        """Ids of an account's live stops, ascending."""
        return list(self._of_account.get(account, ()))


class LiquidationWatch(_TwoWay):
    """Liquidation prices of open positions on one asset, triggered by the mark price.

    Shorts are liquidated when the mark rises to their liquidation price (the
    UP heap), longs when it falls to it. `watch` replaces an account's
    previous entry. Heaps smaller than ``compact_min`` are never compacted.
    `agents.exchange.triggers_native.NativeLiquidationWatch` is the same watch compiled.
    """

    def __init__(self, n_accounts: int, compact_min: int = _COMPACT_MIN) -> None:
        super().__init__(compact_min)
        self.version = [0] * n_accounts

    @property
    def sizes(self) -> tuple[int, int]:
        """Entries (live or stale) in the UP and the DOWN heap."""
        return len(self.up), len(self.down)

    def live(self) -> list[tuple[int, float, int]]:
        """Every live entry as ``(direction, liquidation price, account)``, sorted (for tests and audits)."""
        return sorted((heap.direction, key if heap.direction == UP else -key, ident)
                      for heap in (self.up, self.down) for key, _, ident, version in heap._heap if self._live(ident, version))

    def _live(self, account: int, version: int) -> bool:
        return self.version[account] == version

    def watch(self, account: int, position: int, liq_price: float) -> None:
        """(Re)register an account's position; a flat position just invalidates."""
        self.version[account] += 1
        if position == 0 or not math.isfinite(liq_price):
            return
        heap = self.down if position > 0 else self.up
        heap.push(liq_price, account, self.version[account])
        heap.compact_if_stale(self._live)

    def pop(self, mark: float, direction: int) -> tuple[float, int] | None:
        """Remove the nearest due account in a direction: ``(liquidation price, account)``."""
        got = self._pop(mark, direction)
        if got is not None:
            self.version[got[1]] += 1
        return got
