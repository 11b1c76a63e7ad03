# cython: language_level=3, annotation_typing=False, cdivision=False
"""Traders' activations compiled: `noise_act`, the same as
`agents.traders.NoiseTrader.act`; `fundamentalist_act`, `beta_act`, `basis_act`
and `speculator_act`, the same as `Fundamentalist.act`,
`agents.arbitrage.BetaTrader.act`, `BasisTrader.act` and
`agents.speculator.LeveragedSpeculator.act` with the `Trader` helpers they call,
which all stay the reference; and the model's loop over the traders active in a step, `act_each`
(`model.population.act_each`), in which the noise traders' activations read
their attributes from a `NoiseState` and share one read of the model (`Step`).

It draws the same random numbers from the model's `random.Random`, in the same
order, as the Python method and its helpers do (``randrange``, ``random``,
``expovariate`` and ``paretovariate`` are reproduced from the generator's own
``random`` and ``getrandbits``, as CPython's `random` module computes them), and
does the same double operations in the same order, so a run gives bit-identical
results on either (tests/test_native.py runs a whole scaled event on both, and
tests/test_traders_native.py compares single activations). Where the Python
methods divide numpy scalars, the compiled ones divide as numpy does (a zero
divisor gives an infinity, not an error). A trader binds its compiled
activation over its ``act`` when its venue runs on the compiled kernels, the
model's generator is a `random.Random` and its class is the class itself (a
subclass may override the helpers). Attention (``attention`` > 0) calls the
Python `NoiseTrader.attentive`.
"""

from libc.math cimport NAN, ceil, copysign, fabs, isfinite, isinf, log, pow

from agents.exchange.book_native cimport NativeLimitOrderBook
from agents.exchange.scalar_native cimport ieee_div, mid_price, position_usd

from agents.exchange.book import BUY, SELL

ctypedef long long i64

cdef double _TRUNC_LIMIT = 9.0e18  # below 2**63: a double this size still truncates to a C long long
cdef int _BUY = BUY, _SELL = SELL


cpdef Py_ssize_t randbelow(object rnd, Py_ssize_t n) except -1:
    """``rnd.randrange(n)`` for ``n`` >= 1: ``random.Random._randbelow_with_getrandbits``."""
    return _randbelow(rnd.getrandbits, n)


cdef Py_ssize_t _randbelow(object getrandbits, Py_ssize_t n) except -1:
    """`randbelow` with the generator's ``getrandbits`` method read already."""
    cdef int k = 0
    cdef Py_ssize_t m = n
    while m:  # n.bit_length()
        k += 1
        m >>= 1
    cdef Py_ssize_t r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


cpdef double expovariate(object random) except? -1.0:
    """``rnd.expovariate(1.0)``: ``-log(1.0 - random()) / 1.0``."""
    return -log(1.0 - <double>random()) / 1.0


cpdef double paretovariate(object random, double alpha) except? -1.0:
    """``rnd.paretovariate(alpha)``: ``(1.0 - random()) ** (-1.0 / alpha)``, and CPython's error on overflow."""
    cdef double u = 1.0 - <double>random()
    cdef double x = pow(u, -1.0 / alpha)
    if isinf(x) and isfinite(u) and isfinite(alpha):
        raise OverflowError(34, "Numerical result out of range")  # what float ** raises
    return x


cpdef double acted_on(double s, double conviction) noexcept:
    """`model.sentiment.acted_on`."""
    if conviction == 0.0:
        return s
    cdef double excess = fabs(s) - conviction
    return 0.0 if excess <= 0.0 else copysign(excess / (1.0 - conviction), s)


cdef inline object _truncate(double x):
    """``int(x)``: a C cast where it is exact, else Python's own conversion (and its errors)."""
    if fabs(x) < _TRUNC_LIMIT:
        return <i64>x
    return int(x)


cdef inline object _pick_asset(object assets, object rnd, object getrandbits=None):
    """`Trader.pick_asset` (``getrandbits``: ``rnd.getrandbits``, if read already)."""
    cdef Py_ssize_t n = len(assets)
    if n == 1:
        return assets[0]
    if n < 1:
        return assets[rnd.randrange(n)]  # its error
    return assets[_randbelow(rnd.getrandbits if getrandbits is None else getrandbits, n)]


cdef inline object _lots_for(object venue, NativeLimitOrderBook book, object asset, double usd):
    """`Trader.lots_for`."""
    lots = _truncate(usd / (mid_price(venue, book, asset) * book.lot_size))
    return 1 if lots < 1 else lots


cdef class Step:
    """What a noise trader's activation reads off its model, read once for all of a step's activations.

    Nothing here changes while a step's traders act: the model's venue, generator, behaviour weights and
    sentiment array are set when it is built, and sentiment is updated in place before traders act. The
    sentiment must be a float64 array (the model's is); the weights are converted here, before any draw.
    """

    cdef object model, venue, rnd, random, getrandbits, books
    cdef double side_weight, conviction
    cdef const double[:] sentiment

    def __init__(self, model):
        self.model, self.venue, self.rnd = model, model.venue, model.random
        self.random, self.getrandbits, self.books = self.rnd.random, self.rnd.getrandbits, self.venue.books
        self.side_weight, self.conviction = model.behaviour.side_weight, model.behaviour.conviction
        self.sentiment = model.sentiment


cdef class NoiseState:
    """A noise trader's attributes that its activation reads, held where the compiled code reads them in one step.

    Made with the trader (`NoiseTrader.compiled`) and read again from it whenever any of its attributes is set
    (`agents.traders.Mirrored`), so it never differs from them; `act_each` runs the activation from it without
    touching the trader's ``__dict__``. The values are the attributes themselves, converted where they are used,
    as in the Python method.
    """

    cdef readonly object trader
    cdef public bint live  # False once the trader's `act` or attributes went where `refresh` cannot follow
    cdef object assets, account, attention, size_alpha, max_size_factor, size_usd, market_prob
    cdef object offset_bps, offset_alpha, max_offset_bps, orders, max_orders

    def __init__(self, trader) -> None:
        self.trader = trader
        self.refresh()
        self.live = True

    def refresh(self) -> None:
        """Read the trader's attributes again."""
        t = self.trader
        self.assets, self.account, self.attention = t.assets, t.account, t.attention
        self.size_alpha, self.max_size_factor, self.size_usd = t.size_alpha, t.max_size_factor, t.size_usd
        self.market_prob, self.offset_bps, self.offset_alpha = t.market_prob, t.offset_bps, t.offset_alpha
        self.max_offset_bps, self.orders, self.max_orders = t.max_offset_bps, t.orders, t.max_orders


def noise_act(self):
    """`agents.traders.NoiseTrader.act`, compiled (bound as the trader's ``act``).

    Without a live `NoiseState` it reads the trader's attributes afresh (an attribute removed
    raises `AttributeError` here, before any draw, where the Python method raises it later).
    """
    cdef NoiseState state = _live(self.compiled)
    _noise_act(NoiseState(self) if state is None else state, Step(self.model))


cdef int _noise_act(NoiseState t, Step step) except -1:
    venue, rnd, random = step.venue, step.rnd, step.random
    asset = _pick_asset(t.assets, rnd, step.getrandbits)
    if not (t.attention <= 0) and not t.trader.attentive(asset):
        return 0
    # choose_side
    cdef double mood = step.sentiment[<Py_ssize_t>t.account]
    cdef double p_buy = 0.5 * (1.0 + step.side_weight * acted_on(mood, step.conviction))
    cdef int side = _BUY if <double>random() < p_buy else _SELL
    # size_factor
    cdef double factor, a = t.size_alpha
    if a > 1:
        factor = (a - 1.0) / a * paretovariate(random, a)
        if not factor < <double>t.max_size_factor:  # min(max_size_factor, factor), as the builtin picks
            factor = t.max_size_factor
    else:
        factor = expovariate(random)
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>step.books[asset]
    lots = _lots_for(venue, book, asset, <double>t.size_usd * factor)
    cdef double offset_bps, f, cap
    cdef i64 touch
    if <double>random() < <double>t.market_prob:
        venue.market(t.account, asset, side, lots)
    else:
        if not book._touch(side, &touch):
            touch = venue.last_tick[asset]
        # offset_factor
        offset_bps = t.offset_bps
        if t.offset_alpha > 0:
            cap = <double>t.max_offset_bps / offset_bps
            f = paretovariate(random, t.offset_alpha) - 1.0
            if not f < cap:  # min(cap, f), as the builtin picks
                f = cap
        else:
            f = expovariate(random)
        dist = _truncate(<double>touch * offset_bps * 1e-4 * f)
        if dist < 0:
            dist = 0
        oid = venue.limit(t.account, asset, side, touch - side * dist, lots)
        if oid is not None:
            t.orders.append((asset, oid))
    orders = t.orders
    while len(orders) > t.max_orders:
        a_, oid = orders.popleft()
        venue.cancel(a_, oid)
    return 0


cdef object _take_or_join(object trader, object venue, object rnd, NativeLimitOrderBook book, object asset, int side,
                          object lots, double market_prob, object tif):
    """`Trader.take_or_join`."""
    if <double>rnd.random() < market_prob:
        venue.market(trader.account, asset, side, lots)
        return None
    cdef i64 touch
    return venue.limit(trader.account, asset, side, touch, lots, tif=tif) if book._touch(side, &touch) else None


cdef object _lean_toward(object trader, object venue, object rnd, object asset, double target, double threshold_bps,
                         double max_position_usd, double market_prob, object tif):
    """`Trader.lean_toward`, for a numpy ``target`` (its arithmetic is numpy's)."""
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>venue.books[asset]
    cdef double gap_bps = (ieee_div(target, mid_price(venue, book, asset)) - 1.0) * 1e4
    if fabs(gap_bps) < threshold_bps:
        return None
    cdef int side = _BUY if gap_bps > 0 else _SELL
    if side * position_usd(trader, venue, book, asset) >= max_position_usd:
        return None
    cdef double scale = ieee_div(fabs(gap_bps), threshold_bps)
    if not scale < 3.0:  # min(3.0, scale), as the builtin picks
        scale = 3.0
    lots = _lots_for(venue, book, asset, <double>trader.size_usd * scale)
    return _take_or_join(trader, venue, rnd, book, asset, side, lots, market_prob, tif)


def fundamentalist_act(self):
    """`agents.traders.Fundamentalist.act`, compiled (bound as the trader's ``act``)."""
    model = self.model
    venue, rnd = model.venue, model.random
    if self.order is not None:
        venue.cancel(*self.order)
        self.order = None
    asset = _pick_asset(self.assets, rnd)
    oid = _lean_toward(self, venue, rnd, asset, model.fundamental[asset], self.threshold_bps, self.max_position_usd,
                       self.market_prob, "GTC")
    if oid is not None:
        self.order = (asset, oid)


def beta_act(self):
    """`agents.arbitrage.BetaTrader.act` with its `BetaTrader.target`, compiled (bound as the trader's ``act``)."""
    model = self.model
    venue, rnd = model.venue, model.random
    asset = _pick_asset(self.assets, rnd)
    if asset == 0:
        return
    start = self.start
    cdef double leader_move = ieee_div(venue.mark.value[0], start[0])
    cdef double target = <double>start[asset] * pow(leader_move, <double>self.betas[asset] * <double>self.beta_noise)
    _lean_toward(self, venue, rnd, asset, target, self.threshold_bps, self.max_position_usd, self.market_prob, "IOC")


def basis_act(self):
    """`agents.arbitrage.BasisTrader.act`, compiled (bound as the trader's ``act``)."""
    model = self.model
    venue, rnd = model.venue, model.random
    asset = _pick_asset(self.assets, rnd)
    cdef double rate = float(venue.funding.predicted_one(asset))
    cdef double share = rate / <double>self.full_rate
    if not share < 1.0:  # max(-1.0, min(1.0, share)), as the builtins pick
        share = 1.0
    if not share > -1.0:
        share = -1.0
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>venue.books[asset]
    cdef double target = -<double>self.max_position_usd * share
    cdef double gap = target - position_usd(self, venue, book, asset)
    cdef double size_usd = self.size_usd
    if fabs(gap) < 0.5 * size_usd:
        return
    cdef int side = _BUY if gap > 0 else _SELL
    cdef double usd = fabs(gap)
    if size_usd < usd:  # min(abs(gap), size_usd), as the builtin picks
        usd = size_usd
    _take_or_join(self, venue, rnd, book, asset, side, _lots_for(venue, book, asset, usd), self.market_prob, "IOC")


def speculator_act(self):
    """`agents.speculator.LeveragedSpeculator.act` with its `_open`, `_should_close` and `_protect`, compiled
    (bound as the trader's ``act``); it calls the Python `_clear`, as the venue's ``set_leverage`` and ``stop``."""
    model = self.model
    venue, rnd = model.venue, model.random
    position = venue.ledger.position
    a = _pick_asset(self.assets, rnd)
    cdef NativeLimitOrderBook book = <NativeLimitOrderBook?>venue.books[a]
    cdef i64 pos = position[self.account, a]
    if pos == 0:
        self._clear(a)
        _speculator_open(self, model, venue, rnd, book, a)
        pos = position[self.account, a]
        if pos == 0:
            return
    if _speculator_should_close(self, model, venue, a, pos):
        self._clear(a)
        venue.market(self.account, a, _SELL if pos > 0 else _BUY, pos if pos > 0 else -pos, reduce_only=True)
        return
    _speculator_protect(self, model, venue, book, a, pos)


cdef int _speculator_open(object self, object model, object venue, object rnd, NativeLimitOrderBook book,
                          object a) except -1:
    b = model.behaviour
    cdef double s = acted_on(model.sentiment[self.account], b.conviction)
    cdef int side = _BUY if <double>rnd.random() < <double>self.long_prob + <double>b.side_weight * s else _SELL
    cdef double agree = s * side
    if not agree > 0.0:  # max(0.0, s * side), as the builtin picks
        agree = 0.0
    cdef double lev = <double>self.base_leverage[a] * (1.0 + <double>b.leverage_weight * agree)
    cdef double top = float(venue.tiers[a].max_leverage[0])
    if top < lev:  # min(lev, top), as the builtin picks
        lev = top
    venue.set_leverage(self.account, a, lev)
    cdef double usd = <double>self.size_usd * (1.0 + <double>b.size_weight * agree)
    cdef double cap = <double>venue.ledger.available(self.account) * lev * 0.9
    if cap < usd:  # min(usd, cap), as the builtin picks
        usd = cap
    lots = _truncate(ieee_div(usd, mid_price(venue, book, a) * <double>venue.ledger.lot[a]))
    if lots < 1:
        return 0
    cdef double lambd = 1.0 / <double>self.holding_s
    self.close_at[a] = model.now + -log(1.0 - <double>rnd.random()) / lambd  # rnd.expovariate(lambd)
    if <double>rnd.random() < <double>self.entry_market_prob:
        venue.market(self.account, a, side, lots)
        return 0
    cdef i64 touch
    if book._touch(side, &touch):
        self.entry_order[a] = venue.limit(self.account, a, side, touch, lots)
    return 0


cdef bint _speculator_should_close(object self, object model, object venue, object a, i64 pos) except -1:
    if model.now >= self.close_at[a]:
        return True
    cdef double entry = venue.ledger.entry[self.account, a]
    if not <double>pos * (<double>venue.mark.value[a] - entry) < 0:  # not losing
        return False
    return <double>model.sentiment[self.account] * (1 if pos > 0 else -1) <= -<double>model.behaviour.capitulation


cdef int _speculator_protect(object self, object model, object venue, NativeLimitOrderBook book, object a,
                             i64 pos) except -1:
    cdef double entry = venue.ledger.entry[self.account, a], stop_bps = self.stop_bps, trigger, level, anchored
    cdef int d = 1 if pos > 0 else -1
    cdef i64 lots = pos if pos > 0 else -pos
    stop_id = self.stop_id[a]
    if stop_bps == stop_bps and (stop_id is None or stop_id not in venue.stops[a].stops):
        trigger = entry * (1.0 - d * stop_bps * 1e-4)
        levels = self.stop_levels
        level = NAN if levels is None or self.stop_sides == -d else levels[a]
        if level == level:
            if isinf(level):
                low, high = model.recent_range(a, self.stop_window)
                level = high if d < 0 else low
            anchored = level * (1.0 - d * <double>self.stop_beyond_bps * 1e-4)
            if (anchored - entry) * d < 0:
                trigger = anchored
        self.stop_id[a] = venue.stop(self.account, a, -d, trigger, lots)
    tp = self.tp_order[a]
    cdef double price, tick
    if tp is None or tp not in book:
        price = entry * (1.0 + d * <double>self.take_profit_bps * 1e-4)
        tick = book.tick_size
        t = _truncate(ceil(price / tick)) if d > 0 else _truncate(price / tick)
        self.tp_order[a] = venue.limit(self.account, a, -d, 1 if t < 1 else t, lots, reduce_only=True)
    return 0


def act_each(roster, list active):
    """`model.population.act_each`, compiled: a trader with a live compiled activation (a `NoiseState`)
    runs it, all of the step's through one `Step`; the others run their ``act``."""
    cdef list made = roster.made, compiled = roster.compiled
    cdef Py_ssize_t i
    cdef Step step = None
    cdef NoiseState state
    for i in active:
        state = _live(compiled[i])
        if state is None:
            agent = made[i]
            if agent is None:  # its first activation: make the agent (and its NoiseState, if it has one)
                agent = roster[i]
                state = _live(compiled[i])
            if state is None:
                agent.act()
                continue
        if step is None:
            step = Step(state.trader.model)
        _noise_act(state, step)


cdef inline NoiseState _live(object state):
    """``state`` if it is a live `NoiseState`, else None (a maker's `MakerState`, say, runs through ``act``)."""
    return state if isinstance(state, NoiseState) and (<NoiseState>state).live else None
