# cython: language_level=3, annotation_typing=False, cdivision=False
"""A market maker's step compiled: `maker_act`, the same as
`agents.market_maker.MarketMaker.act` with its `MarketMaker.reference_mid`,
which stay the reference; and the model's loop over its makers, `act_all`
(`agents.market_maker.act_all`), in which each maker's step reads its attributes
from a `MakerState` and all of them share one read of the model (`MakerStep`).

Every maker runs this every step on each of its assets, mostly to find that
nothing is due; when a requote is due it runs `MarketMaker.requote` compiled
(the same Python operations, without the interpreter, with its `MarketMaker.stress`
and `Trader.position_usd` compiled too), and when a refill is due
and a level of the ladder has been filled, `MarketMaker.refill` compiled (its
ticks as `agents.ladder_native` computes a ladder's). It
does the same double operations in the same order as the Python methods (the
build disables floating-point contraction), so a run gives bit-identical results on either
(tests/test_market_maker_native.py compares them step by step). A maker binds
it over its ``act`` by the rule every compiled activation follows
(`agents.traders.bind_compiled`: the compiled kernels, a plain `random.Random`,
and the class `MarketMaker` itself, as a subclass may override what it replaces).
"""

from libc.math cimport fabs

from agents.exchange.book_native cimport NativeLimitOrderBook
from agents.exchange.registry_native cimport NativeOrderRegistry
from agents.exchange.scalar_native cimport mid_price, position_usd
from agents.ladder_native cimport py_floordiv, trunc_int

from agents.ladder_native import build_ladder

ctypedef long long i64


cdef class MakerStep:
    """What a maker's step reads off its model, read once for all of a step's makers.

    Nothing here changes while the makers act: the model's venue, its books and registries are set when it
    is built, and the clock and the fundamentals move before the makers act. The fundamentals must be a
    float64 array (the model's are), even where no maker quotes around them.
    """

    cdef object model, venue, books, registries, now
    cdef double now_d
    cdef const double[:] fundamental

    def __init__(self, model):
        self.model, self.venue = model, model.venue
        self.books, self.registries = self.venue.books, self.venue.registries
        self.now = model.now
        self.now_d = self.now
        self.fundamental = model.fundamental


# The methods the compiled step does the work of: a maker given one of its own steps through the class's
# Python `act`, which calls it (a subclass that overrides one is never bound to the compiled step).
_OWN_METHODS = ("reference_mid", "requote", "refill", "stress", "position_usd")


cdef class MakerState:
    """A maker's attributes that its step reads, held where the compiled code reads them in one step.

    Made with the maker (`MarketMaker.compiled`) and read again from it whenever any of its attributes is set
    (`agents.traders.Mirrored`), so it never differs from them. The per-asset dicts are the maker's own, so
    what the step writes into them is the maker's state. The values are the attributes themselves, converted
    where they are used, as in the Python method. It reads every attribute the step may use, so removing one
    that the Python method would not reach (``tape_read`` without flow impact, say) raises here.
    """

    cdef readonly object maker
    cdef public bint live  # False once the maker's `act` or attributes went where `refresh` cannot follow
    cdef object assets, account, quoted_at, refilled_at, centre, tape_read, stress_now, quotes
    cdef object requote_every, requote_bps, refill_every, mid_weight, flow_impact_bps, index_weight
    cdef object max_inventory_usd
    cdef bint own_methods  # the maker has one of `_OWN_METHODS` as its own attribute
    cdef double max_stress  # `agents.market_maker._MAX_STRESS` (read here: importing it at load would be circular)

    def __init__(self, maker) -> None:
        self.maker = maker
        self.refresh()
        self.live = True

    def refresh(self) -> None:
        """Read the maker's attributes again."""
        m = self.maker
        self.assets, self.account, self.quotes = m.assets, m.account, m.quotes
        self.quoted_at, self.refilled_at, self.centre = m.quoted_at, m.refilled_at, m.centre
        self.tape_read, self.stress_now = m.tape_read, m.stress_now
        self.requote_every, self.requote_bps, self.refill_every = m.requote_every, m.requote_bps, m.refill_every
        self.mid_weight, self.flow_impact_bps, self.index_weight = m.mid_weight, m.flow_impact_bps, m.index_weight
        self.max_inventory_usd = m.max_inventory_usd
        self.own_methods = any(name in m.__dict__ for name in _OWN_METHODS)
        from agents.market_maker import _MAX_STRESS
        self.max_stress = _MAX_STRESS


cdef double _reference_mid(MakerState s, MakerStep step, object asset) except? -1.0:
    """`MarketMaker.reference_mid`: update and return the quote centre."""
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>step.books[asset]
    cdef double mid = mid_price(step.venue, book, asset), c, usd
    centre = s.centre[asset]
    cdef double w = s.mid_weight
    if centre is not None and w < 1.0:
        c = centre
        mid = c + w * (mid - c)
    cdef Py_ssize_t i, n, k
    cdef i64 lots = 0
    if <double>s.flow_impact_bps > 0:
        i, n = s.tape_read[asset], len(book.tape_tick)
        if n > i:
            for k in range(i, n):  # net taker lots: whole numbers, exact in any order
                lots += <i64>book.tape_side.data.as_schars[k] * book.tape_qty.data.as_longlongs[k]
            usd = <double>lots * <double>step.venue.ledger.lot[asset] * mid
            mid *= 1.0 + <double>s.flow_impact_bps * <double>s.stress_now[asset] * usd * 1e-10
            s.tape_read[asset] = n
    cdef double index_weight = s.index_weight
    if index_weight > 0:
        mid += index_weight * (step.fundamental[<Py_ssize_t>asset] - mid)
    s.centre[asset] = mid
    return mid


cdef int _requote(MakerState s, MakerStep step, object asset, object mid) except -1:
    """`MarketMaker.requote`: the same Python operations, without the interpreter."""
    self, model, venue = s.maker, step.model, step.venue
    quotes = self.quotes
    venue.cancel_many(asset, [q[0] for q in quotes[asset]])
    quotes[asset] = []
    self.quoted_at[asset] = (model.now, mid)
    self.refilled_at[asset] = model.now
    factor = model.liquidity_factor[asset]
    if factor <= 0:
        return 0
    book = venue.books[asset]
    stress = self.stress_now[asset] = _stress(self, model, asset, mid, s.max_stress)
    inventory = position_usd(self, venue, book, asset)
    skew = -self.skew_bps * max(-1.0, min(1.0, inventory / self.max_inventory_usd))
    ladder, offsets = build_ladder(mid, skew, stress, self.size_usd * factor / stress, self.first_bps,
                                   self.spacing_bps, self.size_growth, self.levels, book.tick_size,
                                   venue.ledger.lot[asset], book.best_bid(), book.best_ask(), inventory,
                                   self.max_inventory_usd)
    ids = venue.post_quotes(self.account, asset, ladder)
    quotes[asset] = [[oid, side, offset, lots] for oid, (side, _, lots), offset in zip(ids, ladder, offsets)
                     if oid is not None]
    return 0


cdef double _stress(object self, object model, object asset, double mid, double max_stress) except? -1.0:
    """`MarketMaker.stress`, capped at ``max_stress`` (the volatility term, when there is one, through the
    Python method)."""
    if <double>self.vol_exponent > 0:
        return self.stress(asset, mid)
    cdef double stress = 1.0, stress_bps = self.stress_bps, low, high, below, above
    if stress_bps > 0:
        low, high = model.recent_range(asset, self.stress_window)
        below, above = fabs(mid / low - 1.0), fabs(high / mid - 1.0)
        stress += (above if above > below else below) * 1e4 / stress_bps  # max(below, above), as the builtin
    return max_stress if max_stress < stress else stress  # min(stress, _MAX_STRESS), as the builtin


def maker_act(self):
    """`MarketMaker.act`, compiled (bound as the maker's ``act``).

    Without a live `MakerState` it reads the maker's attributes afresh.
    """
    cdef MakerState state = _live(self.compiled)
    _maker_act(MakerState(self) if state is None else state, MakerStep(self.model))


cdef int _maker_act(MakerState s, MakerStep step) except -1:
    if s.own_methods:
        type(s.maker).act(s.maker)
        return 0
    cdef double now = step.now_d, t0, mid0, mid
    for asset in s.assets:
        t0, mid0 = s.quoted_at[asset]
        mid = _reference_mid(s, step, asset)
        if now - t0 >= <double>s.requote_every or fabs(mid / mid0 - 1.0) * 1e4 >= <double>s.requote_bps:
            _requote(s, step, asset, mid)
        elif <double>s.refill_every > 0 and now - <double>s.refilled_at[asset] >= <double>s.refill_every:
            s.refilled_at[asset] = step.now  # `MarketMaker.refill`
            # Its first look: with every level resting, nothing was filled.
            if (<NativeOrderRegistry?>step.registries[asset])._count(s.account) != len(s.quotes[asset]):
                _refill(s, step, asset, mid)
    return 0


cdef int _refill(MakerState s, MakerStep step, object asset, double mid) except -1:
    """The rest of `MarketMaker.refill`: put back the ladder's filled levels, at their distances from ``mid``."""
    venue = step.venue
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>step.books[asset]
    cdef double tick = book.tick_size, inventory = 0.0, price
    cdef bint looked = False, has_bid = False, has_ask = False
    cdef i64 bid = 0, ask = 0, oid, t
    cdef int side
    cdef list levels = [], ladder = []
    for q in s.quotes[asset]:
        if book._find(q[0], &oid):  # ``q[0] in book.resting_ids``
            continue
        if not looked:
            inventory = position_usd(s.maker, venue, book, asset)
            has_bid, has_ask = book._touch(1, &bid), book._touch(-1, &ask)
            looked = True
        side = q[1]
        if side * inventory >= <double>s.max_inventory_usd:
            continue
        price = mid * (1.0 + <double>q[2] * 1e-4)
        t = trunc_int(price / tick) if side == 1 else -trunc_int(py_floordiv(-price, tick))
        if side == 1 and has_ask:
            t = min(t, ask - 1)
        elif side == -1 and has_bid:
            t = max(t, bid + 1)
        levels.append(q)
        ladder.append((q[1], t if t > 1 else 1, q[3]))
    if ladder:
        for q, placed in zip(levels, venue.post_quotes(s.account, asset, ladder)):
            if placed is not None:
                q[0] = placed
    return 0


def act_all(list makers, list states):
    """`agents.market_maker.act_all`, compiled: a maker whose `MakerState` in ``states`` (its ``compiled``
    when the list was made) is still live runs its compiled step, all of them through one `MakerStep`;
    the others run their ``act``. A state is retired once the maker's ``compiled`` or ``act`` changes."""
    cdef MakerStep step = None
    cdef MakerState state
    cdef Py_ssize_t i
    for i in range(len(makers)):
        state = _live(states[i])
        if state is None or state.maker is not makers[i]:  # (a list changed since: the maker's own act)
            makers[i].act()
            continue
        if step is None:
            step = MakerStep(state.maker.model)
        _maker_act(state, step)


cdef inline MakerState _live(object state):
    """``state`` if it is a live `MakerState`, else None."""
    return state if isinstance(state, MakerState) and (<MakerState>state).live else None
