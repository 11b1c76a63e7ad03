# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False
"""The limit order book compiled: `NativeLimitOrderBook`, the same book as
`agents.exchange.book.LimitOrderBook` with its state in C++ containers.

It has the same public interface and the same rules (price-time priority,
self-trade prevention cancels the resting order, POST and IOC, order ids
consumed only by orders that rest), so for the same calls it returns equal
`Match` records (`agents.exchange.match_native.NativeMatch`), raises the same `OrderError` messages and writes the same tape.
The differential tests drive both books, and the reference book, with the same
operations.

Layout: each side is a ``std::map`` from tick to level (resting lots and an
`IdQueue` of order ids), so the best price is the first (asks) or last (bids)
key and emptied levels are erased at once; orders live in an `IdMap` from id to
(side, tick, lots, owner). Both are in ``containers.h``. As in the Python book,
a cancelled id stays in its level's queue until matching reaches it and skips
it. The tape is the same seven typed `array.array` columns, appended to
in place. ``book_native.pxd`` declares the class's C methods for the compiled venue
(`agents.exchange.venue_native`), which places, finds and cancels orders without a
Python call, and places an order that only rests without a `Match`.

Build: ``pip install -e .`` compiles it when a C++ compiler is present (it is
optional; without it the pure-Python book is used). See `agents.exchange.native`.
"""

from cpython cimport array
from cpython.ref cimport PyObject
from cython.operator cimport dereference as deref, preincrement as inc
from libc.math cimport INFINITY, fabs, floor

from agents.exchange.match_native cimport NativeMatch, new_match

import numpy as np

from agents.exchange.book import (BUY, MAX_LOTS, MAX_OWNER, MAX_TICK, MIN_OWNER, SELL, TIFS, OrderError,
                                  check_qty, checked_order, checked_sizes, new_tape, price_to_tick)

# The structs, the class's fields and its C methods are declared in book_native.pxd.

cdef i64 _MAX_LOTS = MAX_LOTS, _MAX_TICK = MAX_TICK


cdef tuple _NONE = ()


cdef inline bint _plain(object owner, object side, object qty) except -1:
    """Whether the arguments every order has are plain, valid ints: the fast path.

    Anything else goes to `checked_order`, which raises or converts as the Python book does.
    """
    return (type(side) is int and (side == BUY or side == SELL) and type(qty) is int and 0 < qty <= MAX_LOTS
            and type(owner) is int and MIN_OWNER <= owner <= MAX_OWNER)


cdef inline bint _sole(PyObject* column) noexcept:
    """Whether the book holds the only reference to a tape column (so nothing views its memory:
    a buffer view, numpy's included, holds a reference to what it views)."""
    return column.ob_refcnt == 1


cdef inline bint _add_to_bands(i64 tick, i64 qty, double mid, double widest, double[:] bands, i64[:] acc):
    """Add a level's lots to every band (bps from ``mid``) it lies within; False once past the widest band."""
    cdef double dist = fabs(<double>tick - mid) / mid * 1e4
    if dist > widest:
        return False
    cdef Py_ssize_t j
    for j in range(bands.shape[0]):
        if dist <= bands[j]:
            acc[j] += qty
    return True


cdef bint plain_order(int side, i64 tick, i64 qty) noexcept:
    """Whether an order's side, tick and lots are ones `submit_limit` takes without `checked_order`."""
    return (side == 1 or side == -1) and 0 < qty <= _MAX_LOTS and 0 < tick <= _MAX_TICK


cdef class NativeLimitOrderBook:
    """Continuous double auction with price-time priority for one asset (compiled)."""

    def __init__(self, tick_size: float, lot_size: float, asset: str = "BTC") -> None:
        self.tick_size, self.lot_size = checked_sizes(tick_size, lot_size)
        self.asset = asset
        self.time = 0.0
        self.cause = 0
        self._next_id = 1
        self.resting_ids = RestingIds(self)
        (self.tape_time, self.tape_tick, self.tape_qty, self.tape_side, self.tape_taker, self.tape_maker,
         self.tape_cause) = new_tape()

    # ----------------------------------------------------------------- queries
    cdef cmap[i64, Level]* _side(self, int side):
        return &self._bids if side == 1 else &self._asks

    def best_bid(self):
        """Best bid tick, or None if there are no bids."""
        cdef i64 tick
        return tick if self._touch(1, &tick) else None

    def best_ask(self):
        """Best ask tick, or None if there are no asks."""
        cdef i64 tick
        return tick if self._touch(-1, &tick) else None

    cdef bint _touch(self, int side, i64* tick) noexcept:
        """The best bid (``side`` 1) or ask (-1) in ``tick``; False if that side is empty."""
        if side == 1:
            if self._bids.empty():
                return False
            tick[0] = deref(self._bids.rbegin()).first
        else:
            if self._asks.empty():
                return False
            tick[0] = deref(self._asks.begin()).first
        return True

    def mid(self):
        """Mid price (not ticks), or None unless both sides are present."""
        cdef double mid
        return mid if self._mid(&mid) else None

    cdef bint _mid(self, double* mid) noexcept:
        """The mid price in ``mid``; False unless both sides are present."""
        if self._bids.empty() or self._asks.empty():
            return False
        mid[0] = 0.5 * (deref(self._asks.begin()).first + deref(self._bids.rbegin()).first) * self.tick_size
        return True

    def spread(self):
        """Spread in ticks, or None unless both sides are present."""
        if self._bids.empty() or self._asks.empty():
            return None
        return deref(self._asks.begin()).first - deref(self._bids.rbegin()).first

    def depth(self, side: int, levels=None) -> list:
        """``(tick, lots)`` per level from the best price outward."""
        out = [(p.first, p.second.qty) for p in deref(self._side(side))]
        if side == BUY:
            out.reverse()
        return out if levels is None else out[:levels]

    def _level_arrays(self, side: int):
        """Every level of one side as (ticks as floats, resting lots) arrays, for vectorised depth queries."""
        cdef cmap[i64, Level]* lv = self._side(side)
        ticks = np.empty(lv.size(), dtype=float)
        qty = np.empty(lv.size(), dtype=np.int64)
        cdef double[:] t = ticks
        cdef i64[:] q = qty
        cdef Py_ssize_t k = 0
        for p in deref(lv):
            t[k] = p.first
            q[k] = p.second.qty
            k += 1
        return ticks, qty

    # Prices and depth bands: the Python book's functions (agents.exchange.book), shared.
    def price(self, tick: int) -> float:
        """Price of a tick."""
        return tick * self.tick_size

    def to_tick(self, price: float) -> int:
        """Convert a price to ticks, raising `OrderError` if it is off the tick grid."""
        return price_to_tick(price, self.tick_size, self.asset)

    # The depth queries walk the levels in C; they return exactly what the Python
    # book's vectorised functions (agents.exchange.book) do, and are tested against them.
    def lots_between(self, side: int, lo_tick: float, hi_tick: float) -> int:
        """Resting lots on one side with ``lo_tick <= tick <= hi_tick``."""
        return self._lots_between(1 if side == BUY else -1, lo_tick, hi_tick)

    cdef i64 _lots_between(self, int side, double lo, double hi):
        cdef cmap[i64, Level]* lv = self._side(side)
        cdef cmap[i64, Level].iterator it
        cdef i64 total = 0
        if not (lo <= MAX_TICK and hi == hi):  # above every tick, or a NaN bound (which no tick compares to)
            return 0
        it = lv.begin() if lo <= 0 else lv.lower_bound(<i64>floor(lo))
        while it != lv.end():
            if deref(it).first > hi:
                break
            if deref(it).first >= lo:
                total += deref(it).second.qty
            inc(it)
        return total

    def depth_within_bps(self, side: int, bps: float) -> int:
        """Resting lots on one side within ``bps`` basis points of mid (0 if no mid)."""
        if self._bids.empty() or self._asks.empty():
            return 0
        cdef double mid = 0.5 * <double>(deref(self._asks.begin()).first + deref(self._bids.rbegin()).first)
        cdef double b = bps
        if side == BUY:
            return self._lots_between(1, mid * (1 - b * 1e-4), mid)
        return self._lots_between(-1, mid, mid * (1 + b * 1e-4))

    def depth_profile(self, side: int, bps_bands):
        """Resting lots within each of several bps distances of mid, vectorised."""
        return self.depth_summary(side, 0.0, bps_bands)[1]  # the same walk, counting nothing else

    def depth_summary(self, side: int, bps: float, bps_bands):
        """``(depth_within_bps(side, bps), depth_profile(side, bps_bands))`` in one walk from the touch."""
        bands_arr = np.asarray(bps_bands, dtype=float)
        out = np.zeros(len(bands_arr), dtype=np.int64)
        if self._bids.empty() or self._asks.empty():
            return 0, out
        cdef double[:] bands = np.ascontiguousarray(bands_arr)
        cdef i64[:] acc = out
        cdef Py_ssize_t j, nb = bands.shape[0]
        cdef double mid = 0.5 * <double>(deref(self._asks.begin()).first + deref(self._bids.rbegin()).first)
        cdef double widest = -INFINITY, b = bps, edge, t
        for j in range(nb):
            if bands[j] > widest:
                widest = bands[j]
        cdef i64 within = 0
        cdef bint in_bands = True
        cdef cmap[i64, Level].iterator it
        cdef cmap[i64, Level].reverse_iterator rit
        # The bounds are depth_within_bps's: a bid at or above mid (1 - bps), an ask at or below mid (1 + bps).
        # No bid is above mid and no ask below, so only the far bound counts; past it and past the widest
        # band (distances only grow from the touch outward), nothing more is counted.
        if side == BUY:
            edge = mid * (1 - b * 1e-4)
            rit = self._bids.rbegin()
            while rit != self._bids.rend():
                t = <double>deref(rit).first
                if in_bands:
                    in_bands = _add_to_bands(deref(rit).first, deref(rit).second.qty, mid, widest, bands, acc)
                if t >= edge:
                    within += deref(rit).second.qty
                elif not in_bands:
                    break
                inc(rit)
        else:
            edge = mid * (1 + b * 1e-4)
            it = self._asks.begin()
            while it != self._asks.end():
                t = <double>deref(it).first
                if in_bands:
                    in_bands = _add_to_bands(deref(it).first, deref(it).second.qty, mid, widest, bands, acc)
                if t <= edge:
                    within += deref(it).second.qty
                elif not in_bands:
                    break
                inc(it)
        return within, out

    cdef bint _find(self, order_id, i64* oid):
        """Whether ``order_id`` names a resting order, as a dict lookup would (1.0 does, 1.5 does not)."""
        try:
            oid[0] = order_id
        except (TypeError, ValueError, OverflowError):
            return False
        if type(order_id) is not int and oid[0] != order_id:  # C conversion truncates floats
            return False
        return self._orders.contains(oid[0])

    def order(self, order_id):
        """``(side, tick, qty, owner)`` of a resting order; `OrderError` if unknown."""
        cdef i64 oid
        if not self._find(order_id, &oid):
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        cdef Order o = self._orders.find(oid)[0]
        return o.side, o.tick, o.qty, o.owner

    def __contains__(self, order_id) -> bool:
        cdef i64 oid
        return self._find(order_id, &oid)

    def __len__(self) -> int:
        return self._orders.size()

    def _ids(self) -> list:
        cdef size_t i
        return [self._orders.key_at(i) for i in range(self._orders.capacity()) if self._orders.used(i)]

    def resting(self, side: int) -> list:
        """All resting orders on a side as ``(order_id, owner, tick, qty)`` in priority order."""
        out = []
        cdef Order* o
        cdef const i64* oid
        for p in deref(self._side(side)):
            level = []
            oid = p.second.ids.begin()
            while oid != p.second.ids.end():
                o = self._orders.find(oid[0])
                if o is not NULL:
                    level.append((oid[0], o.owner, p.first, o.qty))
                inc(oid)
            out.append(level)
        if side == BUY:
            out.reverse()
        return [row for level in out for row in level]

    # ------------------------------------------------------------------ orders
    def submit_limit(self, owner, side, tick, qty, tif="GTC"):
        """Submit a limit order (see `LimitOrderBook.submit_limit`)."""
        if not (_plain(owner, side, qty) and type(tick) is int and 0 < tick <= MAX_TICK and tif in TIFS):
            owner, side, qty, tick = checked_order(owner, side, qty, tick, tif)
        return self._submit(owner, 1 if side == BUY else -1, tick, qty,
                            TIF_POST if tif == "POST" else TIF_IOC if tif == "IOC" else TIF_GTC)

    cdef bint _crosses(self, int side, i64 tick) noexcept:
        """Whether a limit order at ``tick`` would trade at once."""
        cdef i64 opp
        return self._touch(-side, &opp) and (opp <= tick if side == 1 else opp >= tick)

    cdef NativeMatch _submit(self, i64 owner, int side, i64 tick, i64 qty, int tif):
        """`submit_limit` for checked arguments (``side`` ±1, ``tif`` a ``TIF_*`` code)."""
        if not self._crosses(side, tick):
            return new_match(_NONE, None if tif == TIF_IOC else self._rest(owner, side, tick, qty), 0, _NONE, False)
        if tif == TIF_POST:
            return new_match(_NONE, None, 0, _NONE, True)
        cdef NativeMatch m = self._match(owner, side, qty, tick, True)
        cdef i64 rest = qty - m.filled
        if rest > 0 and tif != TIF_IOC:
            m.order_id = self._rest(owner, side, tick, rest)
        return m

    cdef i64 _post(self, i64 owner, int side, i64 tick, i64 qty):
        """A post-only order for checked arguments: its id if it rests, -1 if it would cross (rejected)."""
        return -1 if self._crosses(side, tick) else self._rest(owner, side, tick, qty)

    def submit_market(self, owner, side, qty):
        """Submit a market order; whatever the book cannot fill is cancelled."""
        if not _plain(owner, side, qty):
            owner, side, qty, _ = checked_order(owner, side, qty)
        return self._match(owner, 1 if side == BUY else -1, qty, 0, False)

    def cancel(self, order_id) -> int:
        """Cancel a resting order and return its remaining lots."""
        cdef i64 oid
        if not self._find(order_id, &oid):
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        return self._cancel(oid)

    cdef i64 _cancel(self, i64 oid) except -1:
        """`cancel` of an id that rests."""
        cdef Order* found_order = self._orders.find(oid)
        if found_order is NULL:
            raise RuntimeError(f"{self.asset}: order {oid} does not rest")
        cdef Order o = found_order[0]
        self._orders.erase(oid)
        cdef cmap[i64, Level]* lv = self._side(o.side)
        cdef cmap[i64, Level].iterator found = lv.find(o.tick)
        if found == lv.end():
            raise RuntimeError(f"{self.asset}: order {oid} rests at a level the book does not have")
        cdef Level* lev = &deref(found).second
        lev.qty -= o.qty
        if lev.qty == 0:
            lv.erase(o.tick)
        return o.qty

    def reduce(self, order_id, new_qty) -> None:
        """Lower a resting order's quantity in place; it keeps its queue priority."""
        cdef i64 oid
        if not self._find(order_id, &oid):
            raise OrderError(f"{self.asset}: unknown order id {order_id}")
        check_qty(new_qty)
        cdef Order* o = self._orders.find(oid)
        if new_qty > o.qty:
            raise OrderError(f"reduce can only lower a quantity ({o.qty} -> {new_qty}); cancel and resubmit to raise it")
        cdef i64 q = new_qty
        cdef Level* lev = &deref(self._side(o.side).find(o.tick)).second
        lev.qty -= o.qty - q
        o.qty = q

    @property
    def n_fills(self) -> int:
        """Number of fills on the tape."""
        return len(self.tape_tick)

    # -------------------------------------------------------------- internals
    cdef i64 _rest(self, i64 owner, int side, i64 tick, i64 qty):
        cdef i64 oid = self._next_id
        self._next_id += 1
        cdef Order o
        o.tick, o.qty, o.owner, o.side = tick, qty, owner, side
        self._orders[oid] = o
        cdef Level* lev = &deref(self._side(side))[tick]  # a new level starts at 0 lots
        lev.qty += qty
        lev.ids.push_back(oid)
        return oid

    cdef int _tape(self, double now, i64 tick, i64 qty, signed char side, i64 taker, i64 maker,
                   signed char cause) except -1:
        cdef Py_ssize_t n = len(self.tape_tick)
        if not (_sole(<PyObject*>self.tape_time) and _sole(<PyObject*>self.tape_tick)
                and _sole(<PyObject*>self.tape_qty) and _sole(<PyObject*>self.tape_side)
                and _sole(<PyObject*>self.tape_taker) and _sole(<PyObject*>self.tape_maker)
                and _sole(<PyObject*>self.tape_cause)):
            # Someone holds a column (a numpy view, say): array.append refuses (BufferError) to
            # move an array that is viewed, where a raw resize would leave the view dangling.
            self.tape_time.append(now)
            self.tape_tick.append(tick)
            self.tape_qty.append(qty)
            self.tape_side.append(side)
            self.tape_taker.append(taker)
            self.tape_maker.append(maker)
            self.tape_cause.append(cause)
            return 0
        array.resize_smart(self.tape_time, n + 1)
        array.resize_smart(self.tape_tick, n + 1)
        array.resize_smart(self.tape_qty, n + 1)
        array.resize_smart(self.tape_side, n + 1)
        array.resize_smart(self.tape_taker, n + 1)
        array.resize_smart(self.tape_maker, n + 1)
        array.resize_smart(self.tape_cause, n + 1)
        self.tape_time.data.as_doubles[n] = now
        self.tape_tick.data.as_longlongs[n] = tick
        self.tape_qty.data.as_longlongs[n] = qty
        self.tape_side.data.as_schars[n] = side
        self.tape_taker.data.as_longlongs[n] = taker
        self.tape_maker.data.as_longlongs[n] = maker
        self.tape_cause.data.as_schars[n] = cause
        return 0

    cdef NativeMatch _match(self, i64 owner, int side, i64 qty, i64 limit, bint has_limit):
        cdef list fills = [], cancelled = []
        cdef cmap[i64, Level]* lv = self._side(-side)  # the side being hit
        cdef i64 remaining = qty, best, oid, oq, q, maker
        cdef Level* lev
        cdef Order* o
        cdef double now = self.time
        if not -128 <= self.cause <= 127:
            raise OverflowError(f"cause {self.cause} does not fit the tape's signed byte")
        cdef signed char cause = self.cause
        while remaining and not lv.empty():
            if side == 1:
                best = deref(lv.begin()).first
                lev = &deref(lv.begin()).second
            else:
                best = deref(lv.rbegin()).first
                lev = &deref(lv.rbegin()).second
            if has_limit and (best > limit if side == 1 else best < limit):
                break
            while remaining and not lev.ids.empty():
                oid = lev.ids.front()
                o = self._orders.find(oid)
                if o is NULL:  # cancelled earlier
                    lev.ids.pop_front()
                    continue
                maker, oq = o.owner, o.qty
                if maker == owner:  # self-trade prevention: the resting order goes
                    lev.ids.pop_front()
                    self._orders.erase(oid)
                    lev.qty -= oq
                    cancelled.append((oid, maker, best, oq))
                    continue
                if oq <= remaining:
                    q = oq
                    lev.ids.pop_front()
                    self._orders.erase(oid)
                else:
                    q = remaining
                    o.qty = oq - q
                remaining -= q
                lev.qty -= q
                fills.append((oid, maker, best, q))
                self._tape(now, best, q, side, owner, maker, cause)
            if lev.ids.empty() or lev.qty == 0:
                lv.erase(best)
        return new_match(fills, None, qty - remaining, cancelled, False)


cdef class RestingIds:
    """A live, read-only view of the ids of a native book's resting orders."""

    cdef NativeLimitOrderBook _book

    def __cinit__(self, NativeLimitOrderBook book):
        self._book = book

    def __contains__(self, order_id):
        return order_id in self._book

    def __len__(self):
        return self._book._orders.size()

    def __iter__(self):
        return iter(sorted(self._book._ids()))
