# distutils: language = c++
# cython: language_level=3, annotation_typing=False, cdivision=False
# (Bounds checks and negative indices stay on, as in Python: the work here is mostly on Python objects.)
"""The venue's per-order paths compiled.

Compiled versions of the hottest methods of
`agents.exchange.venue.OrderBookAgent`, which a venue on the compiled
kernels binds over its own (the names are in ``METHODS``): limit and market
orders (``limit``, ``market``), the margin check of an order
(``_reserve``), booking and releasing resting orders (``_register``,
``_release``), a market maker's ladder (``post_quotes``) and its cancellation
(``cancel_many``, ``cancel``), the settlement of fills (``_settle``) and the
liquidation-watch upkeep after a position changes (``_after_position_change``,
with the liquidation price of `agents.exchange.margin.liquidation_price_one`).

They work on the venue's own state, read through its `VenueParts`
(``venue_parts_native``): its order registries, its ledger through the
compiled `LedgerKernel`, its books through the C methods of
`NativeLimitOrderBook` declared in ``book_native.pxd``, its tier tables as C
arrays, its watches through the C methods of `NativeLiquidationWatch`
declared in ``triggers_native.pxd`` (a watch of another kind through its
Python methods). So everything else in the venue is unchanged, and they do
the same double-precision operations in the same order as the Python methods,
which stay the reference: a venue with them gives bit-identical results
(tests/test_native.py and tests/test_venue_kernels.py). Orders whose numbers
are not plain ints in range (an account or asset the venue has, a tick and
lots below 2**62) take the Python methods, which validate them and raise what
they raise.
"""

cimport cython
from cpython.long cimport PyLong_AsLongLongAndOverflow

from libc.math cimport fabs, floor, isfinite

from agents.exchange.accounts_native cimport LedgerKernel
from agents.exchange.funding_native cimport mark_update
from agents.exchange.margin_native cimport liquidation_price, max_leverage
from agents.exchange.triggers_native cimport NativeLiquidationWatch
from agents.exchange.venue_parts_native cimport VenueParts
from agents.exchange.match_native cimport NativeMatch
from agents.exchange.book_native cimport TIF_GTC, TIF_IOC, TIF_POST, NativeLimitOrderBook, plain_order
from agents.exchange.registry_native cimport Entry, NativeOrderRegistry
from agents.exchange.scalar_native cimport ieee_div

import numpy as np

from agents.exchange.cascades import FORCED, TRADER

ctypedef long long i64

cdef int _TRADER = TRADER
cdef tuple _FORCED = FORCED  # the liquidated side pays no trading fee

cdef i64 _BIG = 1 << 62  # ticks and lots beyond this take the Python methods

METHODS = ("_reserve", "_register", "_release", "_after_position_change", "post_quotes", "cancel", "cancel_many",
           "_settle", "limit", "market", "resolve", "begin_step")


cdef bint _c_reserve(VenueParts p, NativeLimitOrderBook book, i64 account, Py_ssize_t asset, int side,
                     i64 lots, i64 tick, double* per_lot_out) except -1:
    """`OrderBookAgent._reserve`: whether the order is covered (its collateral per lot in ``per_lot_out``)."""
    cdef LedgerKernel k = p.kernel
    cdef i64 pos = k.position[account, asset]
    cdef i64 apos = pos if pos >= 0 else -pos
    cdef i64 opening = lots if pos * side >= 0 else lots - apos  # lots that open or add exposure
    if opening <= 0:
        per_lot_out[0] = 0.0
        return True
    cdef double price = <double>tick * book.tick_size
    cdef double lev = k.leverage[account, asset], lot = k.lot[asset]
    cdef double notional, per_lot
    if account != p.fund:
        notional = <double>(apos + opening) * lot * price
        if lev > max_leverage(p.tiers_of(asset), notional) + 1e-12:
            p.rejections["leverage_above_tier_max"] += 1
            return False
    # The leverage is a numpy float64 in the Python method, so a zero one gives inf there too.
    per_lot = lot * price * (ieee_div(1.0, lev) + <double>p.taker_fee)
    if per_lot * <double>opening > k.available(account) + 1e-9:
        p.rejections["insufficient_margin"] += 1
        return False
    per_lot_out[0] = per_lot * <double>opening / <double>lots
    return True


cdef int _c_register(VenueParts p, Py_ssize_t asset, i64 account, i64 order_id, double per_lot,
                     i64 lots, bint reduce_only) except -1:
    """`OrderBookAgent._register`."""
    _registry(p, asset)._add(order_id, account, per_lot, reduce_only)
    p.kernel.order_margin[account, asset] += per_lot * <double>lots
    return 0


cdef int _c_release(VenueParts p, Py_ssize_t asset, i64 order_id, i64 lots, bint gone) except -1:
    """`OrderBookAgent._release`."""
    cdef NativeOrderRegistry registry = _registry(p, asset)
    cdef Entry* entry = registry._entry(order_id)
    if entry is NULL:
        raise KeyError(order_id)
    cdef i64 account = entry.account
    cdef double per_lot = entry.per_lot, left
    cdef LedgerKernel k = p.kernel
    if per_lot:
        left = k.order_margin[account, asset] - per_lot * <double>lots
        k.order_margin[account, asset] = left if left > 0.0 else 0.0
    if gone:
        registry._remove(order_id)
    return 0


cdef int _c_after_position_change(VenueParts p, i64 account, Py_ssize_t asset) except -1:
    """`TriggerResolution._after_position_change`."""
    cdef LedgerKernel k = p.kernel
    cdef i64 pos = k.position[account, asset]
    if pos == 0:  # reduce-only orders of a flat position must not open a new one
        for oid in _registry(p, asset)._pop_reduce_only(account):
            p.venue.cancel(asset, oid)
    if account == p.fund:
        return 0
    cdef double lp = liquidation_price(<double>pos * k.lot[asset], k.entry[account, asset], k.margin[account, asset],
                                       p.tiers_of(asset))
    watch = p.watch[asset]
    if type(watch) is NativeLiquidationWatch:
        (<NativeLiquidationWatch>watch)._watch(account, pos, lp)
    else:
        watch.watch(account, pos, lp)
    return 0


cdef inline NativeLimitOrderBook _book(VenueParts p, Py_ssize_t asset):
    return <NativeLimitOrderBook?>p.books[asset]


cdef inline NativeOrderRegistry _registry(VenueParts p, Py_ssize_t asset):
    return <NativeOrderRegistry?>p.registries[asset]


cdef inline double _last_price(VenueParts p, NativeLimitOrderBook book, Py_ssize_t asset) except? -1.0:
    """`OrderBookAgent.last_price`."""
    return <double><i64>p.last_tick[asset] * book.tick_size


cdef int _c_settle(VenueParts p, NativeLimitOrderBook book, Py_ssize_t a, i64 tk,
                   i64 sd, NativeMatch m, object cause) except -1:
    """`OrderBookAgent._settle`."""
    cdef i64 lots, tick, maker
    for oid, _maker, _tick, lots in m.cancelled:
        _c_release(p, a, oid, lots, True)
    fills = m.fills
    if not fills:
        return 0
    cdef LedgerKernel k = p.kernel
    cdef double lot = k.lot[a], tick_size = book.tick_size, price, notional, maker_fee, taker_fee
    cdef double maker_rate = p.maker_fee
    cdef double taker_rate = 0.0 if cause in _FORCED else p.taker_fee
    for oid, maker, tick, lots in fills:
        price = <double>tick * tick_size
        notional = <double>lots * lot * price
        _c_release(p, a, oid, lots, not book._orders.contains(<i64>oid))
        maker_fee = notional * maker_rate
        taker_fee = notional * taker_rate
        k.fill(maker, a, -sd * lots, price, maker_fee)
        k.fill(tk, a, sd * lots, price, taker_fee)
        p.fees_collected += maker_fee + taker_fee
        _c_after_position_change(p, maker, a)
    _c_after_position_change(p, tk, a)
    p.last_tick[a] = fills[-1][2]
    return 0


cdef inline i64 _c_reducible(LedgerKernel k, i64 account, Py_ssize_t asset, i64 side, i64 lots):
    """`OrderBookAgent._reducible`."""
    cdef i64 pos = k.position[account, asset]
    cdef i64 apos = pos if pos >= 0 else -pos
    return (lots if lots < apos else apos) if pos * side < 0 else 0


cdef inline bint _int_in(object x, i64 lo, i64 hi):
    """Whether ``x`` is a plain int with ``lo <= x < hi``."""
    if type(x) is not int:
        return False
    cdef int overflow = 0
    cdef i64 value = PyLong_AsLongLongAndOverflow(x, &overflow)
    return overflow == 0 and lo <= value < hi


cdef bint _plain(LedgerKernel k, object account, object asset, object side, object tick, object lots):
    """Whether an order's numbers are plain ints in range (anything else takes the Python method)."""
    return (_int_in(account, 0, k.wallet.shape[0]) and _int_in(asset, 0, k.n_assets) and _int_in(side, -2, 3)
            and _int_in(tick, -_BIG, _BIG) and _int_in(lots, -_BIG, _BIG))


# The methods, bound to the venue's `VenueParts` (``p``: the venue is ``p.venue``).

def _reserve(VenueParts p, account, asset, side, lots, tick):
    """Collateral per lot to reserve for an order, or None (with a recorded reason)."""
    cdef LedgerKernel k = p.kernel
    if not _plain(k, account, asset, side, tick, lots):
        return type(p.venue)._reserve(p.venue, account, asset, side, lots, tick)
    cdef double per_lot
    return per_lot if _c_reserve(p, _book(p, asset), account, asset, side, lots, tick, &per_lot) else None


def _register(VenueParts p, asset, account, order_id, per_lot, lots, reduce_only):
    """Book a resting order to its account and reserve its collateral."""
    _c_register(p, asset, account, order_id, per_lot, lots, reduce_only)


def _release(VenueParts p, asset, order_id, lots, gone):
    _c_release(p, asset, order_id, lots, gone)


def _after_position_change(VenueParts p, account, asset):
    _c_after_position_change(p, account, asset)


def post_quotes(VenueParts p, account, asset, quotes):
    """Place post-only limit orders ``(side, tick, lots)``, in order; the resting id of each, or None."""
    cdef LedgerKernel k = p.kernel
    quotes = list(quotes)
    for side, tick, lots in quotes:
        if not _plain(k, account, asset, side, tick, lots):
            return type(p.venue).post_quotes(p.venue, account, asset, quotes)
    cdef Py_ssize_t a = asset
    cdef i64 acct = account
    cdef double per_lot
    cdef NativeLimitOrderBook book = _book(p, a)
    cdef list ids = []
    cdef i64 received = 0, oid
    try:
        for side, tick, lots in quotes:
            received += 1  # counted before the order is looked at, as the Python method does
            if not _c_reserve(p, book, acct, a, side, lots, tick, &per_lot):
                ids.append(None)
                continue
            book.cause = _TRADER
            if plain_order(side, tick, lots):
                oid = book._post(acct, side, tick, lots)
            else:  # the book checks the order and raises, as in the Python method
                m = book.submit_limit(account, side, tick, lots, "POST")
                oid = -1 if m.rejected else m.order_id
            if oid < 0:
                p.rejections["post_only_would_cross"] += 1
                ids.append(None)
            else:
                _c_register(p, a, acct, oid, per_lot, lots, False)
                ids.append(oid)
    finally:
        p.orders_received += received
    return ids


def cancel(VenueParts p, asset, order_id):
    """Cancel a resting order; returns its remaining lots, or 0 if it is already gone."""
    p.cancels_received += 1
    cdef NativeLimitOrderBook book = _book(p, asset)
    cdef i64 oid
    if not book._find(order_id, &oid):
        return 0
    lots = book._cancel(oid)
    _c_release(p, asset, oid, lots, True)
    return lots


def cancel_many(VenueParts p, asset, order_ids):
    """Cancel several resting orders (each as `cancel`; ids already gone are skipped)."""
    cdef LedgerKernel k = p.kernel
    cdef Py_ssize_t a = asset
    cdef NativeLimitOrderBook book = _book(p, a)
    cdef i64 received = 0, oid
    try:
        for order_id in order_ids:
            received += 1
            if book._find(order_id, &oid):
                _c_release(p, a, oid, book._cancel(oid), True)
    finally:
        p.cancels_received += received


def _settle(VenueParts p, asset, taker, side, m, cause):
    if not isinstance(m, NativeMatch):  # a `Match` from elsewhere: the Python method reads it
        return type(p.venue)._settle(p.venue, asset, taker, side, m, cause)
    _c_settle(p, _book(p, asset), asset, taker, side, m, cause)


def limit(VenueParts p, account, asset, side, tick, lots, tif="GTC", reduce_only=False, cause=_TRADER):
    """Place a limit order; returns the resting order id, or None (filled, IOC, rejected)."""
    cdef LedgerKernel k = p.kernel
    if not _plain(k, account, asset, side, tick, lots):
        return type(p.venue).limit(p.venue, account, asset, side, tick, lots, tif, reduce_only, cause)
    cdef Py_ssize_t a = asset
    cdef i64 acct = account, q = lots
    cdef double per_lot
    p.orders_received += 1
    if reduce_only:
        q = _c_reducible(k, acct, a, side, q)
        if q == 0:
            p.rejections["reduce_only_nothing_to_reduce"] += 1
            return None
    cdef NativeLimitOrderBook book = _book(p, a)
    if not _c_reserve(p, book, acct, a, side, q, tick, &per_lot):
        return None
    book.cause = cause
    cdef int code = TIF_GTC if tif == "GTC" else TIF_IOC if tif == "IOC" else TIF_POST if tif == "POST" else -1
    cdef NativeMatch m
    if code >= 0 and plain_order(side, tick, q):
        m = book._submit(acct, side, tick, q, code)
    else:
        m = <NativeMatch?>book.submit_limit(account, side, tick, q, tif)
    if m.rejected:
        p.rejections["post_only_would_cross"] += 1
        return None
    oid = m.order_id
    if oid is not None:
        _c_register(p, a, acct, oid, per_lot, q - m.filled, reduce_only)
    _c_settle(p, book, a, acct, side, m, cause)
    if m.fills:
        _c_resolve(p, a, asset)
    return oid


def market(VenueParts p, account, asset, side, lots, cause=_TRADER, reduce_only=False):
    """Send a market order; returns the lots filled (the rest is cancelled)."""
    cdef LedgerKernel k = p.kernel
    if not _plain(k, account, asset, side, 0, lots):
        return type(p.venue).market(p.venue, account, asset, side, lots, cause, reduce_only)
    cdef Py_ssize_t a = asset
    cdef i64 acct = account, q = lots, guard, band_tick = 0  # 0: the band is out of the C range
    cdef int sd = side
    cdef double edge, per_lot
    p.orders_received += 1
    if reduce_only:
        q = _c_reducible(k, acct, a, sd, q)
        if q == 0:
            return 0
    cdef NativeLimitOrderBook book = _book(p, a)
    cdef i64 opp
    if not book._touch(-1 if sd == 1 else 1, &opp):  # a buy takes the best ask, anything else the best bid
        p.rejections["no_liquidity"] += 1
        return 0
    # A sell fills at the best bid or lower; a buy is checked at a price 1% through the touch.
    guard = <i64>(<double>opp * 1.01) if sd == 1 else opp
    if not _c_reserve(p, book, acct, a, sd, q, guard, &per_lot):
        return 0
    # Price protection: a market order is an IOC limit at the edge of the band around the mark.
    edge = <double>p.mark.value[a] * (1.0 + sd * p.market_band) / <double>book.tick_size
    if isfinite(edge) and fabs(edge) < 9.0e18:
        band_tick = <i64>edge if sd == 1 else -<i64>floor(-edge)  # Python's -edge // 1 is floor(-edge), exactly
        if band_tick < 1:
            band_tick = 1
        band = band_tick
    else:  # a mark that is not finite, or absurd: Python's own conversions, and their errors
        py_edge = float(edge)
        band = max(1, int(py_edge) if sd == 1 else -int(-py_edge // 1))
    book.cause = cause
    cdef NativeMatch m
    if band_tick > 0 and plain_order(sd, band_tick, q):
        m = book._submit(acct, sd, band_tick, q, TIF_IOC)
    else:
        m = <NativeMatch?>book.submit_limit(account, side, band, q, "IOC")
    _c_settle(p, book, a, acct, sd, m, cause)
    if m.fills:
        _c_resolve(p, a, asset)
    return m.filled


# The per-step calls: the mark's moving averages, the premium sample and the trigger checks.

cdef inline bint _maybe_due(list heap, double bound):
    """Whether a `TriggerHeap`'s nearest entry (live or stale) is crossed: its key is at most ``bound``.

    It reads the heap's list, whose entries are keyed by ``direction * price``,
    as `TriggerHeap.peek_due` does, without a Python call.
    """
    return len(heap) > 0 and <double>(<tuple>heap[0])[0] <= bound


cdef int _c_resolve(VenueParts p, Py_ssize_t a, object asset) except -1:
    """`TriggerResolution.resolve`: its first look compiled; when anything is due, the Python loop does the rest.

    The look updates the mark as the loop's first pass does (the loop updates it
    again from the same prices, to the same value) and peeks at the stop heaps
    the way ``next_due`` does, so nothing else changes when nothing is due.
    """
    venue = p.venue
    if venue._resolving:
        return 0
    cdef NativeLimitOrderBook book = _book(p, a)
    cdef double last = _last_price(p, book, a), mid
    if not book._mid(&mid):  # `OrderBookAgent.mid_price`
        mid = last
    # The mark's method is read each time: it may be changed after the venue is built.
    mark = mark_update(p.mark.method, &p.mark_value[a], &p.mark_ema[a], &p.mark_index[a], &p.mark_basis[a], last, mid)
    up, down = <tuple>p.stop_heaps[a]
    watch = p.watch[a]
    if _maybe_due(up, last) or _maybe_due(down, -last) or (
            (<NativeLiquidationWatch>watch)._any_due(mark) if type(watch) is NativeLiquidationWatch
            else watch.next_due(mark) is not None):
        type(venue).resolve(venue, asset)
    return 0


def resolve(VenueParts p, asset):
    """Fire due stops and liquidations on one asset until nothing more is due."""
    _c_resolve(p, asset, asset)


@cython.cdivision(True)
cdef inline double _premium(double mid, double index) noexcept:
    """``(mid - index) / index`` as numpy divides: infinite or NaN rather than an error at zero."""
    return (mid - index) / index


def begin_step(VenueParts p, now, index):
    """Move the mark, sample the premium against the index, pay funding if due, fire due triggers."""
    cdef list books = p.books
    cdef Py_ssize_t a, n = len(books)
    if not (type(index) is np.ndarray and index.dtype == np.float64 and index.ndim == 1 and index.shape[0] == n):
        return type(p.venue).begin_step(p.venue, now, index)
    cdef double t = now
    cdef NativeLimitOrderBook book
    for a in range(n):  # `OrderBookAgent.set_time`
        (<NativeLimitOrderBook?>books[a]).time = t
    cdef double[::1] m = p.mids
    for a in range(n):
        book = books[a]
        if not book._mid(&m[a]):  # `OrderBookAgent.mid_price`
            m[a] = _last_price(p, book, a)
    mark, funding = p.mark, p.venue.funding
    cdef double[::1] ema = p.mark_ema, basis = p.mark_basis, mark_index = p.mark_index, premium = funding.premium_sum
    cdef const double[:] idx = index
    cdef double alpha = mark.alpha
    for a in range(n):  # MarkPrice.step
        ema[a] += alpha * (m[a] - ema[a])
    if mark.method == "index":
        for a in range(n):
            basis[a] += alpha * (m[a] - idx[a] - basis[a])
        for a in range(n):
            mark_index[a] = idx[a]
    for a in range(n):  # FundingClock.sample
        premium[a] += _premium(m[a], idx[a])
    funding.samples += 1
    rates = funding.due(now)
    if rates is not None:
        p.venue._pay_funding(rates)
    for a in range(n):
        _c_resolve(p, a, a)
