"""Trader agents.

Each trader is a Mesa agent holding its own parameters and behaviour; its
money and position live in the venue's ledger under ``self.account``. The
model activates only the traders drawn active this step (see
`model.market.MarketModel.step`), so an idle trader costs nothing.

Traders reach the venue as ``self.model.venue``, the fundamental values as
``self.model.fundamental`` (one float per asset), their sentiment as
``self.model.sentiment[account]`` (in [-1, 1]) and the scenario's behaviour
weights as ``self.model.behaviour``.

How sentiment drives behaviour (neutral sentiment changes nothing):

* noise traders buy with probability ``(1 + side_weight × s) / 2``;
  here and for speculators, ``s`` is the sentiment beyond the scenario's
  ``sentiment.conviction`` threshold (`Trader.conviction`);
* leveraged speculators: see `agents.speculator` (side, size, leverage
  appetite and capitulation);
* market makers and fundamentalists ignore sentiment.
"""

from __future__ import annotations

import math
import random
from collections import deque
from types import MethodType

import mesa

from agents.exchange.book import BUY, SELL
from agents.exchange.native import traders_native
from agents.ids import Agent
from model.sentiment import acted_on

_MAX_RATIO = 3.0  # how far recent volatility may sway behaviour: at most threefold either way


class RecentVolatility:
    """Realised volatility of each asset's recorded last price, recent against usual.

    What a trader reads off a chart: the root-mean-square return per record
    interval over a recent window, against the same over a longer one.
    Prefix sums of squared log returns are extended lazily whenever the
    recorder has written new rows, so a query costs O(1) however many traders
    ask. One instance is shared by every agent of a model (`recent_volatility`).
    """

    def __init__(self, model: mesa.Model) -> None:
        self.model = model
        self.n = 0
        self.cum: list[list[float]] = []

    def _update(self) -> None:
        """Extend the prefix sums over the rows recorded since the last call."""
        rec = self.model.recorder
        if rec.n == self.n:
            return
        last = rec.data["last"]
        if not self.cum:
            self.cum = [[0.0] for _ in range(last.shape[1])]
        for a, cum in enumerate(self.cum):
            for i in range(max(1, self.n), rec.n):
                r = math.log(last[i, a] / last[i - 1, a])
                cum.append(cum[-1] + r * r)
        self.n = rec.n

    def ratio(self, asset: int, window_s: float, reference_s: float) -> float:
        """Recent over usual volatility of one asset, clipped to [1/3, 3].

        Recent is the last ``window_s``, usual the last ``reference_s`` (each at
        least one record and at most the whole run); 1 while either is unknown.
        """
        self._update()
        if self.n < 2:
            return 1.0
        cum, every = self.cum[asset], self.model.spec.record_every
        k = min(len(cum) - 1, max(1, int(window_s // every)))
        k_ref = min(len(cum) - 1, max(1, int(reference_s // every)))
        recent, ref = (cum[-1] - cum[-1 - k]) / k, (cum[-1] - cum[-1 - k_ref]) / k_ref
        if not recent > 0 or not ref > 0:
            return 1.0
        return min(_MAX_RATIO, max(1.0 / _MAX_RATIO, math.sqrt(recent / ref)))


def bind_compiled(trader: "Trader", cls: type, name: str, module=None) -> bool:
    """Bind the same activation compiled, ``<module>.<name>`` (by default in `agents.traders_native`), as the
    trader's ``act``, where it gives the same results; returns whether it did.

    That is when the trader's class is ``cls`` itself (a subclass may override the helpers the compiled
    activation does not call), its venue runs on the compiled kernels and its model's generator is a plain
    `random.Random` (whose draws the compiled code rebuilds).
    """
    model = trader.model
    if type(trader) is cls and getattr(model.venue, "kernels", None) == "native" and type(model.random) is random.Random:
        trader.act = MethodType(getattr(module or traders_native, name), trader)
        return True
    return False


def recent_volatility(model: mesa.Model) -> RecentVolatility:
    """The model's shared `RecentVolatility` (made on first use).

    It lives on the model itself: a weak-keyed table would never let go, since
    the gauge refers to its model.
    """
    gauge = getattr(model, "_recent_volatility", None)
    if gauge is None:
        gauge = model._recent_volatility = RecentVolatility(model)
    return gauge


class Trader(Agent):
    """Base trader: an account on the venue and the assets it trades.

    Args:
        model: the Mesa model (must provide ``venue``).
        account: this trader's account id on the venue.
        assets: indices of the assets it trades.
        size_usd: typical order size in USD.
    """

    strategy = "trader"
    compiled = None  # a compiled activation the model's compiled loops run instead of `act`, if any (`Mirrored`)

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float) -> None:
        super().__init__(model)
        self.account = account
        self.assets = assets
        self.size_usd = size_usd

    def pick_asset(self) -> int:
        """One of this trader's assets, uniformly."""
        a = self.assets
        return a[0] if len(a) == 1 else a[self.model.random.randrange(len(a))]

    def lots_for(self, asset: int, usd: float) -> int:
        """Whole lots worth about ``usd`` at the current mid (at least one)."""
        venue = self.model.venue
        # The book's lot size is the ledger's, as a float: numpy scalar arithmetic here cost a third of the call.
        return max(1, int(usd / (venue.mid_price(asset) * venue.books[asset].lot_size)))

    def position_usd(self, asset: int) -> float:
        """Signed notional of this trader's position at mid."""
        venue = self.model.venue
        return float(venue.ledger.position[self.account, asset] * venue.ledger.lot[asset] * venue.mid_price(asset))

    def take_or_join(self, asset: int, side: int, lots: int, market_prob: float, tif: str = "GTC") -> int | None:
        """Cross the spread (a market order, with probability ``market_prob``) or join the touch.

        Returns the id of the resting limit order, if one rests.
        """
        venue = self.model.venue
        if self.model.random.random() < market_prob:
            venue.market(self.account, asset, side, lots)
            return None
        book = venue.books[asset]
        touch = book.best_bid() if side == BUY else book.best_ask()
        return None if touch is None else venue.limit(self.account, asset, side, touch, lots, tif=tif)

    def lean_toward(self, asset: int, target: float, threshold_bps: float, max_position_usd: float,
                    market_prob: float, tif: str = "GTC") -> int | None:
        """Buy below ``target`` and sell above it, by more than ``threshold_bps``, within a position limit.

        The order grows with the gap (up to three times ``size_usd``). Returns
        the id of a resting limit order, if one rests.
        """
        gap_bps = (target / self.model.venue.mid_price(asset) - 1.0) * 1e4
        if abs(gap_bps) < threshold_bps:
            return None
        side = BUY if gap_bps > 0 else SELL
        if side * self.position_usd(asset) >= max_position_usd:
            return None
        lots = self.lots_for(asset, self.size_usd * min(3.0, abs(gap_bps) / threshold_bps))
        return self.take_or_join(asset, side, lots, market_prob, tif)

    def mood(self) -> float:
        """This trader's sentiment in [-1, 1]."""
        return float(self.model.sentiment[self.account])

    def conviction(self) -> float:
        """The part of this trader's sentiment that moves its choices (`model.sentiment.acted_on`)."""
        return acted_on(self.mood(), self.model.behaviour.conviction)

    def act(self) -> None:
        """One activation; subclasses decide what to do."""
        raise NotImplementedError

    def step(self) -> None:
        """Mesa entry point: same as `act`."""
        self.act()


class Mirrored:
    """Mixin for an agent whose compiled activation (``compiled``: a `traders_native.NoiseState` or a
    `market_maker_native.MakerState`) reads a copy of its attributes: every attribute set or removed
    brings the copy up to date (`_sync_compiled`)."""

    def __setattr__(self, name: str, value) -> None:
        state = self.__dict__.get("compiled")
        super().__setattr__(name, value)
        _sync_compiled(state, name)

    def __delattr__(self, name: str) -> None:
        state = self.__dict__.get("compiled")
        super().__delattr__(name)
        _sync_compiled(state, name)


def _sync_compiled(state, name: str) -> None:
    """Keep an agent's compiled activation (``state``, see `Mirrored`) current after its attribute
    ``name`` was set or removed.

    Once ``act`` or ``compiled`` is replaced or removed, or an attribute the activation reads is
    removed, the state is retired: the model's compiled loop then calls ``act``, as the Python loop does.
    """
    if state is None or not state.live:
        return
    if name in ("act", "compiled"):
        state.live = False
        return
    try:
        state.refresh()
    except AttributeError:
        state.live = False


class NoiseTrader(Mirrored, Trader):
    """Zero-intelligence liquidity: random side, market or limit orders.

    Limit orders rest at the touch on their own side plus a random distance
    with scale ``offset_bps``: exponential by default, so the average book is
    deepest near the quote; with ``offset_alpha`` > 0 a power law
    ``P(d > x) = (1 + x / offset_bps) ** -offset_alpha`` (Bouchaud, Mézard &
    Potters 2002), capped at ``max_offset_bps``. Beyond ``max_orders``
    resting orders, the oldest is cancelled.

    Each order's size is ``size_usd`` times an exponential draw of mean 1, or,
    with ``size_alpha`` > 1, a Pareto draw of mean 1 (before its cap at
    ``max_size_factor``) and tail exponent ``size_alpha``: trade sizes are
    power-law distributed (Gopikrishnan et al. 2000).

    Attention (``attention`` > 0): the trader acts on only a share of its
    activations, ``attention_base × (σ_recent / σ_usual) ** attention``
    (at most 1), where σ_recent is the volatility of the last
    ``attention_horizon`` and σ_usual that of the last ``attention_reference``
    (their ratio clipped to [1/3, 3]). Traders pile in after big moves and
    drift away in quiet markets, so order flow excites itself, as a Hawkes
    process does; the cohort's ``rate`` is then its rate at full attention.
    """

    strategy = "noise"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float,
                 market_prob: float, offset_bps: float, max_orders: int, offset_alpha: float = 0.0,
                 max_offset_bps: float = 500.0, size_alpha: float = 0.0, max_size_factor: float = 50.0,
                 attention: float = 0.0, attention_base: float = 1.0, attention_horizon: float = 1800.0,
                 attention_reference: float = 86400.0) -> None:
        super().__init__(model, account, assets, size_usd)
        self.market_prob = market_prob
        self.offset_bps = offset_bps
        self.max_orders = max_orders
        self.offset_alpha = offset_alpha
        self.max_offset_bps = max_offset_bps
        self.size_alpha = size_alpha
        self.max_size_factor = max_size_factor
        self.attention = attention
        self.attention_base = attention_base
        self.attention_horizon = attention_horizon
        self.attention_reference = attention_reference
        self.orders: deque[tuple[int, int]] = deque()
        if bind_compiled(self, NoiseTrader, "noise_act"):  # it reads the attributes from its own copy of them
            self.compiled = traders_native.NoiseState(self)

    def choose_side(self) -> int:
        """Buy or sell; sentiment tilts the odds."""
        p_buy = 0.5 * (1.0 + self.model.behaviour.side_weight * self.conviction())
        return BUY if self.model.random.random() < p_buy else SELL

    def attentive(self, asset: int) -> bool:
        """Whether this activation turns into an order (always, without attention)."""
        if self.attention <= 0:
            return True
        ratio = recent_volatility(self.model).ratio(asset, self.attention_horizon, self.attention_reference)
        return self.model.random.random() < self.attention_base * ratio ** self.attention

    def size_factor(self) -> float:
        """Random multiple of ``size_usd`` for one order (mean about 1)."""
        rnd = self.model.random
        if self.size_alpha > 1:
            a = self.size_alpha
            return min(self.max_size_factor, (a - 1.0) / a * rnd.paretovariate(a))
        return rnd.expovariate(1.0)

    def offset_factor(self) -> float:
        """Random distance of a limit order behind the touch, in units of ``offset_bps``."""
        rnd = self.model.random
        if self.offset_alpha > 0:
            return min(self.max_offset_bps / self.offset_bps, rnd.paretovariate(self.offset_alpha) - 1.0)
        return rnd.expovariate(1.0)

    def act(self) -> None:
        venue, rnd = self.model.venue, self.model.random
        asset = self.pick_asset()
        if not self.attentive(asset):
            return
        side = self.choose_side()
        lots = self.lots_for(asset, self.size_usd * self.size_factor())
        if rnd.random() < self.market_prob:
            venue.market(self.account, asset, side, lots)
        else:
            book = venue.books[asset]
            touch = book.best_bid() if side == BUY else book.best_ask()
            if touch is None:
                touch = venue.last_tick[asset]
            dist = max(0, int(touch * self.offset_bps * 1e-4 * self.offset_factor()))
            oid = venue.limit(self.account, asset, side, touch - side * dist, lots)
            if oid is not None:
                self.orders.append((asset, oid))
        while len(self.orders) > self.max_orders:
            a, oid = self.orders.popleft()
            venue.cancel(a, oid)


class Fundamentalist(Trader):
    """Buys below and sells above the fundamental value, within a position limit."""

    strategy = "fundamentalist"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float,
                 threshold_bps: float, market_prob: float, max_position_usd: float) -> None:
        super().__init__(model, account, assets, size_usd)
        self.threshold_bps = threshold_bps
        self.market_prob = market_prob
        self.max_position_usd = max_position_usd
        self.order: tuple[int, int] | None = None
        bind_compiled(self, Fundamentalist, "fundamentalist_act")

    def act(self) -> None:
        venue = self.model.venue
        if self.order is not None:
            venue.cancel(*self.order)
            self.order = None
        asset = self.pick_asset()
        oid = self.lean_toward(asset, self.model.fundamental[asset], self.threshold_bps, self.max_position_usd,
                               self.market_prob)
        if oid is not None:
            self.order = (asset, oid)
