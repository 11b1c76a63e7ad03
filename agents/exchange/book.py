"""A price-time priority limit order book in integer ticks and integer lots.

`LimitOrderBook` is a plain data structure: it knows nothing of Mesa, accounts
or margin. Prices are integer ticks and quantities integer lots, so prices
compare exactly. One book serves one asset.

Layout, chosen for speed in pure Python:

* each side maps ``tick -> deque of order ids`` (a FIFO queue per level) and
  ``tick -> resting lots`` (so depth queries never walk the queues);
* best prices come from a heap per side with lazy deletion of emptied levels;
* ``order id -> [side, tick, qty, owner]`` gives O(1) cancels. A cancelled id
  stays in its level's deque until matching reaches it and skips it.

Every fill is appended to the tape (`tape` columns) with the book's current
`time` and `cause`; the venue sets those two attributes before it submits.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
import math
from array import array
from collections import deque
import numpy as np

BUY = 1
SELL = -1

# Order record fields (a list, so fills can update quantity in place).
_SIDE, _TICK, _QTY, _OWNER = 0, 1, 2, 3


class OrderError(ValueError):
    """An order the book cannot accept; the book is left unchanged."""


_NONE: tuple = ()  # shared empty result for submissions that matched nothing
TIFS = frozenset(("GTC", "IOC", "POST"))
# Far beyond any real order, and small enough that a level's total stays well inside
# 64 bits (the compiled book's integers) and ticks stay exact as floats.
MAX_LOTS = 2**40
MAX_TICK = 2**53
MIN_OWNER, MAX_OWNER = -2**63, 2**63 - 1  # account ids are 64-bit on the tape
_WHOLE = (int, np.integer)


def check_side(side: object) -> None:
    """Raise `OrderError` unless ``side`` is BUY or SELL (a whole number: 1.0 is not a side)."""
    if not isinstance(side, _WHOLE) or side not in (BUY, SELL):
        raise OrderError(f"side must be +1 (buy) or -1 (sell), got {side!r}")


def check_qty(qty: object) -> None:
    """Raise `OrderError` unless ``qty`` is a positive whole number of lots, at most `MAX_LOTS`."""
    if not isinstance(qty, _WHOLE) or qty <= 0:
        raise OrderError(f"quantity must be a positive whole number of lots, got {qty!r}")
    if qty > MAX_LOTS:
        raise OrderError(f"quantity must be at most {MAX_LOTS} lots, got {qty!r}")


def check_tick(tick: object) -> None:
    """Raise `OrderError` unless ``tick`` is a positive whole number of ticks, at most `MAX_TICK`."""
    if not isinstance(tick, _WHOLE) or not 0 < tick <= MAX_TICK:
        raise OrderError(f"limit price must be a positive whole number of ticks up to {MAX_TICK}, got {tick!r}")


def check_tif(tif: object) -> None:
    """Raise `OrderError` unless ``tif`` is a known time in force."""
    if tif not in TIFS:
        raise OrderError(f"unknown time in force {tif!r}")


def check_owner(owner: object) -> None:
    """Raise `OrderError` unless ``owner`` is a whole number that fits 64 bits (an account id)."""
    if not isinstance(owner, _WHOLE) or not MIN_OWNER <= owner <= MAX_OWNER:
        raise OrderError(f"owner must be a whole number (an account id), got {owner!r}")


def checked_order(owner: object, side: object, qty: object, tick: object = None,
                  tif: object = "GTC") -> tuple[int, int, int, int | None]:
    """Check an order's arguments in the order the books report them; return them as ints.

    Returns ``(owner, side, qty, tick)``; raises `OrderError` naming the first bad
    argument. ``tick`` None is a market order. The books call this only when their
    inline fast check finds something unusual.
    """
    check_side(side)
    check_qty(qty)
    if tick is not None:
        check_tick(tick)
        check_tif(tif)
        tick = int(tick)
    check_owner(owner)
    return int(owner), int(side), int(qty), tick


def checked_sizes(tick_size: float, lot_size: float) -> tuple[float, float]:
    """``(tick_size, lot_size)`` as floats; `ValueError` unless both are positive."""
    if not tick_size > 0 or not lot_size > 0:
        raise ValueError("tick_size and lot_size must be positive")
    return float(tick_size), float(lot_size)


def new_tape() -> tuple[array, ...]:
    """Empty tape columns: time, tick, qty, taker side, taker, maker, cause.

    Typed arrays, not lists: a long run prints millions of fills, and a list of
    boxed ints and floats costs about five times the memory.
    """
    return array("d"), array("q"), array("q"), array("b"), array("q"), array("q"), array("b")


def price_to_tick(price: float, tick_size: float, asset: str) -> int:
    """Convert a price to ticks of ``tick_size``, raising `OrderError` if it is off the tick grid."""
    t = price / tick_size
    if not math.isfinite(t):
        raise OrderError(f"{asset}: price {price} is not a finite number")
    tick = round(t)
    if abs(t - tick) > 1e-9 * max(1.0, abs(t)) or tick <= 0:
        raise OrderError(f"{asset}: price {price} is not a positive multiple of tick {tick_size}")
    return int(tick)


# Depth queries shared by both book implementations: they need only `best_bid`,
# `best_ask` and `_level_arrays` from a book.
def lots_between(book, side: int, lo_tick: float, hi_tick: float) -> int:
    """Resting lots on one side of ``book`` with ``lo_tick <= tick <= hi_tick``."""
    ticks, qty = book._level_arrays(side)
    return int(qty[(ticks >= lo_tick) & (ticks <= hi_tick)].sum())


def depth_within_bps(book, side: int, bps: float) -> int:
    """Resting lots on one side of ``book`` within ``bps`` basis points of mid (0 if no mid)."""
    b, a = book.best_bid(), book.best_ask()
    if b is None or a is None:
        return 0
    mid = 0.5 * (a + b)
    if side == BUY:
        return lots_between(book, BUY, mid * (1 - bps * 1e-4), mid)
    return lots_between(book, SELL, mid, mid * (1 + bps * 1e-4))


def depth_profile(book, side: int, bps_bands: np.ndarray) -> np.ndarray:
    """Resting lots within each of several bps distances of mid, vectorised."""
    b, a = book.best_bid(), book.best_ask()
    bands = np.asarray(bps_bands, dtype=float)
    if b is None or a is None:
        return np.zeros(len(bands), dtype=np.int64)
    ticks, qty = book._level_arrays(side)
    mid = 0.5 * (a + b)
    dist_bps = np.abs(ticks - mid) / mid * 1e4
    return np.array([qty[dist_bps <= band].sum() for band in bands], dtype=np.int64)


class Match:
    """What one submission did.

    Attributes:
        fills: ``(maker_order_id, maker_owner, tick, qty)`` per fill, in order (a
            sequence: an empty tuple when nothing matched).
        order_id: id of the resting remainder, or None if nothing rests.
        filled: total lots filled.
        cancelled: resting order ids cancelled by self-trade prevention,
            as ``(order_id, owner, tick, qty)``.
        rejected: True for a post-only order that would have crossed.
    """

    __slots__ = ("fills", "order_id", "filled", "cancelled", "rejected")

    def __init__(self, fills=_NONE, order_id: int | None = None, filled: int = 0, cancelled=_NONE,
                 rejected: bool = False) -> None:
        self.fills = fills
        self.order_id = order_id
        self.filled = filled
        self.cancelled = cancelled
        self.rejected = rejected

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented  # the compiled book's `NativeMatch` compares itself with a Match
        return match_fields(self) == match_fields(other)

    def __repr__(self) -> str:
        return match_repr(self)


def match_fields(m) -> tuple:
    """A `Match`'s fields, with the sequences as lists: what two records that are equal share."""
    return list(m.fills), m.order_id, m.filled, list(m.cancelled), m.rejected


def match_repr(m) -> str:
    """How a `Match` (or the compiled book's `NativeMatch`) prints."""
    return (f"Match(fills={list(m.fills)}, order_id={m.order_id}, filled={m.filled}, "
            f"cancelled={list(m.cancelled)}, rejected={m.rejected})")


class LimitOrderBook:
    """Continuous double auction with price-time priority for one asset."""

    def __init__(self, tick_size: float, lot_size: float, asset: str = "BTC") -> None:
        self.tick_size, self.lot_size = checked_sizes(tick_size, lot_size)
        self.asset = asset
        self.time = 0.0
        self.cause = 0
        self._queues: tuple[dict[int, deque], dict[int, deque]] = ({}, {})
        self._level_qty: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._heaps: tuple[list[int], list[int]] = ([], [])  # bids stored negated
        self._orders: dict[int, list] = {}
        self._next_id = 1
        (self.tape_time, self.tape_tick, self.tape_qty, self.tape_side, self.tape_taker, self.tape_maker,
         self.tape_cause) = new_tape()

    # ------------------------------------------------------------------ prices
    def to_tick(self, price: float) -> int:
        """Convert a price to ticks, raising `OrderError` if it is off the tick grid."""
        return price_to_tick(price, self.tick_size, self.asset)

    def price(self, tick: int) -> float:
        """Price of a tick."""
        return tick * self.tick_size

    # ----------------------------------------------------------------- queries
    def _best(self, side: int) -> int | None:
        i = 0 if side == BUY else 1
        heap, queues = self._heaps[i], self._queues[i]
        while heap:
            top = heap[0]
            tick = -top if i == 0 else top
            if tick in queues:
                return tick
            heappop(heap)
        return None

    def best_bid(self) -> int | None:
        """Best bid tick, or None if there are no bids."""
        return self._best(BUY)

    def best_ask(self) -> int | None:
        """Best ask tick, or None if there are no asks."""
        return self._best(SELL)

    def mid(self) -> float | None:
        """Mid price (not ticks), or None unless both sides are present."""
        bids, asks = self._heaps
        # The usual case, both tops live, without the lazy-deletion loop of `_best`.
        if bids and asks and -bids[0] in self._queues[0] and asks[0] in self._queues[1]:
            return 0.5 * (asks[0] - bids[0]) * self.tick_size
        b, a = self._best(BUY), self._best(SELL)
        if b is None or a is None:
            return None
        return 0.5 * (a + b) * self.tick_size

    def spread(self) -> int | None:
        """Spread in ticks, or None unless both sides are present."""
        b, a = self._best(BUY), self._best(SELL)
        if b is None or a is None:
            return None
        return a - b

    def depth(self, side: int, levels: int | None = None) -> list[tuple[int, int]]:
        """``(tick, lots)`` per level from the best price outward."""
        i = 0 if side == BUY else 1
        ticks = sorted(self._level_qty[i], reverse=(i == 0))
        if levels is not None:
            ticks = ticks[:levels]
        return [(t, self._level_qty[i][t]) for t in ticks]

    def _level_arrays(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Every level of one side as (ticks as floats, resting lots) arrays, for vectorised depth queries."""
        levels = self._level_qty[0 if side == BUY else 1]
        return (np.fromiter(levels.keys(), dtype=float, count=len(levels)),
                np.fromiter(levels.values(), dtype=np.int64, count=len(levels)))

    def lots_between(self, side: int, lo_tick: float, hi_tick: float) -> int:
        """Resting lots on one side with ``lo_tick <= tick <= hi_tick``."""
        return lots_between(self, side, lo_tick, hi_tick)

    def depth_within_bps(self, side: int, bps: float) -> int:
        """Resting lots on one side within ``bps`` basis points of mid (0 if no mid)."""
        return depth_within_bps(self, side, bps)

    def depth_profile(self, side: int, bps_bands: np.ndarray) -> np.ndarray:
        """Resting lots within each of several bps distances of mid, vectorised."""
        return depth_profile(self, side, bps_bands)

    def depth_summary(self, side: int, bps: float, bps_bands: np.ndarray) -> tuple[int, np.ndarray]:
        """``(depth_within_bps(side, bps), depth_profile(side, bps_bands))`` (the compiled book walks once)."""
        return depth_within_bps(self, side, bps), depth_profile(self, side, bps_bands)

    def order(self, order_id: int) -> tuple[int, int, int, int]:
        """``(side, tick, qty, owner)`` of a resting order; `OrderError` if unknown."""
        o = self._orders.get(order_id)
        if o is None:
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        return o[_SIDE], o[_TICK], o[_QTY], o[_OWNER]

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._orders

    @property
    def resting_ids(self):
        """A live, read-only view of the ids of every resting order (cheaper than ``in book`` in a loop)."""
        return self._orders.keys()

    def __len__(self) -> int:
        return len(self._orders)

    def resting(self, side: int) -> list[tuple[int, int, int, int]]:
        """All resting orders on a side as ``(order_id, owner, tick, qty)`` in priority order."""
        i = 0 if side == BUY else 1
        out = []
        for tick in sorted(self._queues[i], reverse=(i == 0)):
            for oid in self._queues[i][tick]:
                o = self._orders.get(oid)
                if o is not None and o[_TICK] == tick:
                    out.append((oid, o[_OWNER], tick, o[_QTY]))
        return out

    # ------------------------------------------------------------------ orders
    def submit_limit(self, owner: int, side: int, tick: int, qty: int, tif: str = "GTC") -> Match:
        """Submit a limit order.

        Args:
            owner: account id, used for self-trade prevention and the tape.
            side: BUY (+1) or SELL (-1).
            tick: limit price in ticks.
            qty: lots.
            tif: ``"GTC"`` rests the remainder, ``"IOC"`` cancels it, ``"POST"``
                (post-only) is rejected if it would take liquidity.
        """
        # One inline test for the usual valid call: this is the hottest call of a run.
        if (type(side) is not int or (side != BUY and side != SELL) or type(qty) is not int
                or not 0 < qty <= MAX_LOTS or type(tick) is not int or not 0 < tick <= MAX_TICK
                or tif not in TIFS or type(owner) is not int
                or not MIN_OWNER <= owner <= MAX_OWNER):
            owner, side, qty, tick = checked_order(owner, side, qty, tick, tif)
        j = 1 if side == BUY else 0  # the opposite side
        heap, queues = self._heaps[j], self._queues[j]
        crosses = False
        while heap:  # best opposite price, dropping emptied levels (lazy deletion)
            top = heap[0]
            if j:
                if top in queues:
                    crosses = top <= tick
                    break
            elif -top in queues:
                crosses = -top >= tick
                break
            heappop(heap)
        if not crosses:  # the common passive case: nothing to match
            return Match(_NONE, None if tif == "IOC" else self._rest(owner, side, tick, qty))
        if tif == "POST":
            return Match(rejected=True)
        m = self._match(owner, side, qty, tick)
        rest = qty - m.filled
        if rest > 0 and tif != "IOC":
            m.order_id = self._rest(owner, side, tick, rest)
        return m

    def submit_market(self, owner: int, side: int, qty: int) -> Match:
        """Submit a market order; whatever the book cannot fill is cancelled."""
        if (type(side) is not int or (side != BUY and side != SELL) or type(qty) is not int
                or not 0 < qty <= MAX_LOTS or type(owner) is not int
                or not MIN_OWNER <= owner <= MAX_OWNER):
            owner, side, qty, _ = checked_order(owner, side, qty)
        return self._match(owner, side, qty, None)

    def cancel(self, order_id: int) -> int:
        """Cancel a resting order and return its remaining lots."""
        o = self._orders.pop(order_id, None)
        if o is None:
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        i = 0 if o[_SIDE] == BUY else 1
        tick, qty = o[_TICK], o[_QTY]
        level_qty = self._level_qty[i]
        left = level_qty[tick] - qty
        if left:
            level_qty[tick] = left
        else:
            del level_qty[tick]
            del self._queues[i][tick]
        return qty

    def reduce(self, order_id: int, new_qty: int) -> None:
        """Lower a resting order's quantity in place; it keeps its queue priority."""
        o = self._orders.get(order_id)
        if o is None:
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        check_qty(new_qty)
        if new_qty > o[_QTY]:
            raise OrderError(f"reduce can only lower a quantity ({o[_QTY]} -> {new_qty}); cancel and resubmit to raise it")
        i = 0 if o[_SIDE] == BUY else 1
        self._level_qty[i][o[_TICK]] -= o[_QTY] - int(new_qty)
        o[_QTY] = int(new_qty)

    # -------------------------------------------------------------- internals
    def _rest(self, owner: int, side: int, tick: int, qty: int) -> int:
        oid = self._next_id
        self._next_id += 1
        self._orders[oid] = [side, tick, qty, owner]
        i = 0 if side == BUY else 1
        q = self._queues[i].get(tick)
        if q is None:
            queues, heap = self._queues[i], self._heaps[i]
            queues[tick] = deque((oid,))
            self._level_qty[i][tick] = qty
            heappush(heap, -tick if i == 0 else tick)
            if len(heap) > 2 * len(queues) + 256:
                # Emptied levels stay in the heap until they reach its top; rebuild it
                # from the live levels before they pile up (the best price is unchanged).
                heap[:] = [-t for t in queues] if i == 0 else list(queues)
                heapify(heap)
        else:
            q.append(oid)
            self._level_qty[i][tick] += qty
        return oid

    def _match(self, owner: int, side: int, qty: int, limit: int | None) -> Match:
        fills: list = []
        cancelled: list = []
        j = 1 if side == BUY else 0  # the side being hit
        queues, level_qty, orders, heap = self._queues[j], self._level_qty[j], self._orders, self._heaps[j]
        t_time, t_tick, t_qty, t_side = self.tape_time, self.tape_tick, self.tape_qty, self.tape_side
        t_taker, t_maker, t_cause = self.tape_taker, self.tape_maker, self.tape_cause
        now, cause = self.time, self.cause
        remaining = qty
        while remaining:
            while heap:  # best opposite price, dropping emptied levels
                best = heap[0] if j else -heap[0]
                if best in queues:
                    break
                heappop(heap)
            else:
                break
            if limit is not None and (best > limit if j else best < limit):
                break
            queue = queues[best]
            while remaining and queue:
                oid = queue[0]
                o = orders.get(oid)
                if o is None:
                    queue.popleft()
                    continue
                maker, oq = o[_OWNER], o[_QTY]
                if maker == owner:  # self-trade prevention: the resting order goes
                    queue.popleft()
                    del orders[oid]
                    level_qty[best] -= oq
                    cancelled.append((oid, maker, best, oq))
                    continue
                if oq <= remaining:
                    q = oq
                    queue.popleft()
                    del orders[oid]
                else:
                    q = remaining
                    o[_QTY] = oq - q
                remaining -= q
                level_qty[best] -= q
                fills.append((oid, maker, best, q))
                t_time.append(now)
                t_tick.append(best)
                t_qty.append(q)
                t_side.append(side)
                t_taker.append(owner)
                t_maker.append(maker)
                t_cause.append(cause)
            if not queue or level_qty[best] == 0:
                del queues[best]
                del level_qty[best]
        return Match(fills, None, qty - remaining, cancelled)

    @property
    def n_fills(self) -> int:
        """Number of fills on the tape."""
        return len(self.tape_tick)
