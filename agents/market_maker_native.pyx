# cython: language_level=3, annotation_typing=False, cdivision=False
"""A market maker's step compiled: `maker_act`, the same as
`agents.market_maker.MarketMaker.act` with its `MarketMaker.reference_mid`,
which stay the reference.

Every maker runs this every step on each of its assets, mostly to find that
nothing is due; when a requote is due it runs `MarketMaker.requote` compiled
(the same Python operations, without the interpreter), and when a refill is due
and a level of the ladder has been filled, it calls `MarketMaker.refill`. It
does the same double operations in the same order as the Python methods (the
build disables floating-point contraction), so a run gives bit-identical results on either
(tests/test_market_maker_native.py compares them step by step). A maker binds
it over its ``act`` when its venue runs on the compiled kernels and its class
is `MarketMaker` itself (a subclass may override the methods it replaces).
"""

from libc.math cimport fabs

from agents.exchange.book_native cimport NativeLimitOrderBook
from agents.exchange.registry_native cimport NativeOrderRegistry

from agents.ladder_native import build_ladder

ctypedef long long i64


cdef double _reference_mid(object self, object model, object venue, object asset) except? -1.0:
    """`MarketMaker.reference_mid`: update and return the quote centre."""
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>venue.books[asset]
    cdef double mid, c, usd
    if not book._mid(&mid):
        mid = venue.last_price(asset)
    centre = self.centre[asset]
    cdef double w = self.mid_weight
    if centre is not None and w < 1.0:
        c = centre
        mid = c + w * (mid - c)
    cdef Py_ssize_t i, n, k
    cdef i64 lots = 0
    if <double>self.flow_impact_bps > 0:
        i, n = self.tape_read[asset], len(book.tape_tick)
        if n > i:
            for k in range(i, n):  # net taker lots: whole numbers, exact in any order
                lots += <i64>book.tape_side.data.as_schars[k] * book.tape_qty.data.as_longlongs[k]
            usd = <double>lots * <double>venue.ledger.lot[asset] * mid
            mid *= 1.0 + <double>self.flow_impact_bps * <double>self.stress_now[asset] * usd * 1e-10
            self.tape_read[asset] = n
    cdef double index_weight = self.index_weight
    if index_weight > 0:
        mid += index_weight * (<double>model.fundamental[asset] - mid)
    self.centre[asset] = mid
    return mid


cdef int _requote(object self, object model, object venue, object asset, object mid) except -1:
    """`MarketMaker.requote`: the same Python operations, without the interpreter."""
    quotes = self.quotes
    venue.cancel_many(asset, [q[0] for q in quotes[asset]])
    quotes[asset] = []
    self.quoted_at[asset] = (model.now, mid)
    self.refilled_at[asset] = model.now
    factor = model.liquidity_factor[asset]
    if factor <= 0:
        return 0
    stress = self.stress_now[asset] = self.stress(asset, mid)
    inventory = self.position_usd(asset)
    skew = -self.skew_bps * max(-1.0, min(1.0, inventory / self.max_inventory_usd))
    book = venue.books[asset]
    ladder, offsets = build_ladder(mid, skew, stress, self.size_usd * factor / stress, self.first_bps,
                                   self.spacing_bps, self.size_growth, self.levels, book.tick_size,
                                   venue.ledger.lot[asset], book.best_bid(), book.best_ask(), inventory,
                                   self.max_inventory_usd)
    ids = venue.post_quotes(self.account, asset, ladder)
    quotes[asset] = [[oid, side, offset, lots] for oid, (side, _, lots), offset in zip(ids, ladder, offsets)
                     if oid is not None]
    return 0


def maker_act(self):
    """`MarketMaker.act`, compiled (bound as the maker's ``act``)."""
    model = self.model
    venue = model.venue
    cdef double now = model.now, t0, mid0, mid
    for asset in self.assets:
        t0, mid0 = self.quoted_at[asset]
        mid = _reference_mid(self, model, venue, asset)
        if now - t0 >= <double>self.requote_every or fabs(mid / mid0 - 1.0) * 1e4 >= <double>self.requote_bps:
            _requote(self, model, venue, asset, mid)
        elif <double>self.refill_every > 0 and now - <double>self.refilled_at[asset] >= <double>self.refill_every:
            # `MarketMaker.refill`'s first look: with every level resting, nothing was filled.
            if (<NativeOrderRegistry?>venue.registries[asset])._count(self.account) == len(self.quotes[asset]):
                self.refilled_at[asset] = model.now
            else:
                self.refill(asset, mid)
