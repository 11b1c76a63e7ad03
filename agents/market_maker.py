"""Market makers: a ladder of post-only quotes around mid, skewed by inventory.

A maker requotes every ``requote_every`` seconds, or sooner when its quote
centre has moved ``requote_bps`` since its last quote. Quotes are shifted
against inventory (long inventory lowers both sides, so it sells more and
buys less), and the maker stops quoting the side that would take its
inventory past ``max_inventory_usd``.

The quote centre, updated every step:

* by default, mid: the price is wherever the flow has pushed the book;
* with ``flow_impact_bps`` > 0, the maker's own estimate of value, which it
  moves by ``flow_impact_bps`` (times its current stress, below) per $1M of
  net taker buying printed on the tape since the last step, and pulls a
  ``mid_weight`` share of the way toward mid. Makers learn from order flow
  (Glosten & Milgrom 1985, Kyle 1985; price changes are linear in the
  order-flow imbalance, Cont, Kukanov & Stoikov 2014), so the impact of
  uninformed flow is permanent and unpredictable, and returns are
  uncorrelated however resilient the book;
* with ``index_weight`` > 0, then pulled that share of the way toward the
  index (the fundamental), as makers pricing off spot would.

Between requotes, with ``refill_every`` > 0, it puts back every level of its
ladder that has been filled, every ``refill_every`` seconds, at the level's
distance from the current quote centre: the book is resilient, as real
makers replenish consumed depth within seconds.

Two ways to quote smaller and wider when the market is volatile (each
divides sizes and multiplies spacing, at most ``_MAX_STRESS``-fold in all):

* ``stress_bps``: when mid has moved by ``stress_bps`` within the last
  ``stress_window`` seconds, by ``1 + move / stress_bps``, so liquidity thins
  as a cascade runs;
* ``vol_exponent``: by ``(σ_recent / σ_usual) ** vol_exponent``, where
  σ_recent is the realised volatility of the last ``vol_horizon`` and
  σ_usual that of the last ``vol_reference`` (ratio clipped to [1/3, 3]):
  makers price the inventory risk of the current volatility regime, so they
  quote bigger and tighter in quiet markets and thin out for a while after
  big moves, which makes the next moves bigger too.

The model may scale every maker's depth through ``model.liquidity_factor``
(a liquidity-withdrawal shock).
"""

from __future__ import annotations

import mesa

from agents.exchange.book import BUY, SELL
from agents.exchange.native import ladder_native, market_maker_native
from agents.traders import Mirrored, Trader, bind_compiled, recent_volatility

_MAX_STRESS = 3.0  # makers thin out at most threefold: they still quote, as real ones mostly do


def build_ladder(mid: float, skew: float, stress: float, size: float, first_bps: float, spacing_bps: float,
                 size_growth: float, levels: int, tick: float, lot: float, best_bid: int | None,
                 best_ask: int | None, inventory: float, max_inventory: float) -> tuple[list, list]:
    """A maker's ladder: ``(side, tick, lots)`` per level to post, and each level's distance from ``mid`` in bps.

    Bids first, then asks, each from the touch outward; a side is left out when
    ``inventory`` (USD, signed) has reached ``max_inventory`` that way. Level k
    lies ``(first_bps + k * spacing_bps) * stress`` from ``mid`` (plus ``skew``)
    and is worth ``size * size_growth ** k`` USD (at least one lot). No level
    crosses the other side's best price, since post-only orders would be
    rejected. `agents.ladder_native.build_ladder` is the same function compiled.
    """
    ladder: list[tuple[int, int, int]] = []  # (side, tick, lots) to post
    offsets: list[float] = []  # each level's distance from the centre, bps
    for side in (BUY, SELL):
        if side * inventory >= max_inventory:
            continue
        level_size = size
        for k in range(levels):
            dist_bps = (first_bps + k * spacing_bps) * stress
            price = mid * (1.0 + (skew - side * dist_bps) * 1e-4)
            t = int(price / tick) if side == BUY else -int(-price // tick)
            if side == BUY and best_ask is not None:
                t = min(t, best_ask - 1)
            elif side == SELL and best_bid is not None:
                t = max(t, best_bid + 1)
            ladder.append((side, max(t, 1), max(1, int(level_size / (price * lot)))))
            offsets.append(skew - side * dist_bps)
            level_size *= size_growth
    return ladder, offsets


class MarketMaker(Mirrored, Trader):
    """Quotes a ladder on each of its assets."""

    strategy = "market_maker"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float, levels: int,
                 first_bps: float, spacing_bps: float, size_growth: float, skew_bps: float,
                 max_inventory_usd: float, requote_every: float, requote_bps: float, stress_bps: float = 0.0,
                 stress_window: float = 60.0, index_weight: float = 0.0, refill_every: float = 0.0,
                 vol_exponent: float = 0.0, vol_horizon: float = 1800.0, vol_reference: float = 86400.0,
                 flow_impact_bps: float = 0.0, mid_weight: float = 1.0) -> None:
        super().__init__(model, account, assets, size_usd)
        self.levels = levels
        self.first_bps = first_bps
        self.spacing_bps = spacing_bps
        self.size_growth = size_growth
        self.skew_bps = skew_bps
        self.max_inventory_usd = max_inventory_usd
        self.requote_every = requote_every
        self.requote_bps = requote_bps
        self.stress_bps = stress_bps
        self.stress_window = stress_window
        self.index_weight = index_weight
        self.refill_every = refill_every
        self.vol_exponent = vol_exponent
        self.vol_horizon = vol_horizon
        self.vol_reference = vol_reference
        self.flow_impact_bps = flow_impact_bps
        self.mid_weight = mid_weight
        self.centre: dict[int, float | None] = {a: None for a in assets}
        self.tape_read: dict[int, int] = {a: 0 for a in assets}
        self.stress_now: dict[int, float] = {a: 1.0 for a in assets}
        # Per asset: [order id, side, distance from the centre in bps (skew included), lots] of every level.
        self.quotes: dict[int, list[list]] = {a: [] for a in assets}
        self.quoted_at: dict[int, tuple[float, float]] = {a: (-1e18, 0.0) for a in assets}
        self.refilled_at: dict[int, float] = {a: -1e18 for a in assets}
        if bind_compiled(self, MarketMaker, "maker_act", market_maker_native):  # agents/market_maker_native.pyx
            self.compiled = market_maker_native.MakerState(self)  # what the compiled step reads (`act_all`)

    def act(self) -> None:
        """Requote every asset whose quotes are due or stale; refill consumed levels of the others."""
        now = self.model.now
        for asset in self.assets:
            t0, mid0 = self.quoted_at[asset]
            mid = self.reference_mid(asset)
            if now - t0 >= self.requote_every or abs(mid / mid0 - 1.0) * 1e4 >= self.requote_bps:
                self.requote(asset, mid)
            elif self.refill_every > 0 and now - self.refilled_at[asset] >= self.refill_every:
                self.refill(asset, mid)

    def reference_mid(self, asset: int) -> float:
        """Update and return the quote centre (once per step; see the module docstring)."""
        venue = self.model.venue
        mid = venue.mid_price(asset)
        c = self.centre[asset]
        if c is not None and self.mid_weight < 1.0:
            mid = c + self.mid_weight * (mid - c)
        if self.flow_impact_bps > 0:
            book = venue.books[asset]
            i, n = self.tape_read[asset], book.n_fills
            if n > i:
                lots = sum(s * q for s, q in zip(book.tape_side[i:n], book.tape_qty[i:n]))
                usd = lots * venue.ledger.lot[asset] * mid
                mid *= 1.0 + self.flow_impact_bps * self.stress_now[asset] * usd * 1e-10
                self.tape_read[asset] = n
        if self.index_weight > 0:
            mid += self.index_weight * (float(self.model.fundamental[asset]) - mid)
        self.centre[asset] = mid
        return mid

    def stress(self, asset: int, mid: float) -> float:
        """How many times smaller and wider than usual to quote now."""
        stress = 1.0
        if self.stress_bps > 0:
            low, high = self.model.recent_range(asset, self.stress_window)
            stress += max(abs(mid / low - 1.0), abs(high / mid - 1.0)) * 1e4 / self.stress_bps
        if self.vol_exponent > 0:
            ratio = recent_volatility(self.model).ratio(asset, self.vol_horizon, self.vol_reference)
            stress *= ratio ** self.vol_exponent
        return min(stress, _MAX_STRESS)

    def requote(self, asset: int, mid: float) -> None:
        """Cancel this maker's quotes on one asset and post a fresh ladder."""
        venue = self.model.venue
        venue.cancel_many(asset, [q[0] for q in self.quotes[asset]])
        self.quotes[asset] = []
        self.quoted_at[asset] = (self.model.now, mid)
        self.refilled_at[asset] = self.model.now
        factor = self.model.liquidity_factor[asset]
        if factor <= 0:
            return
        stress = self.stress_now[asset] = self.stress(asset, mid)
        inventory = self.position_usd(asset)
        skew = -self.skew_bps * max(-1.0, min(1.0, inventory / self.max_inventory_usd))
        book = venue.books[asset]
        build = ladder_native.build_ladder if venue.kernels == "native" else build_ladder
        ladder, offsets = build(mid, skew, stress, self.size_usd * factor / stress, self.first_bps, self.spacing_bps,
                                self.size_growth, self.levels, book.tick_size, venue.ledger.lot[asset],
                                book.best_bid(), book.best_ask(), inventory, self.max_inventory_usd)
        ids = venue.post_quotes(self.account, asset, ladder)
        self.quotes[asset] = [[oid, side, offset, lots] for oid, (side, _, lots), offset in zip(ids, ladder, offsets)
                              if oid is not None]

    def refill(self, asset: int, mid: float) -> None:
        """Put back the filled levels of the current ladder, at their distances from the centre ``mid``."""
        venue = self.model.venue
        self.refilled_at[asset] = self.model.now
        # A maker's resting orders are all levels of its ladder (it places no others), and the
        # ladder's ids are distinct: when as many rest as it has levels, none was filled.
        if venue.resting_count(self.account, asset) == len(self.quotes[asset]):
            return
        book = venue.books[asset]
        best_bid = best_ask = inventory = None
        resting = book.resting_ids
        levels: list[list] = []  # the ladder entries to put back, and their orders
        ladder: list[tuple[int, int, int]] = []
        for q in self.quotes[asset]:
            if q[0] in resting:
                continue
            if inventory is None:
                inventory = self.position_usd(asset)
                best_bid, best_ask = book.best_bid(), book.best_ask()
            side = q[1]
            if side * inventory >= self.max_inventory_usd:
                continue
            price = mid * (1.0 + q[2] * 1e-4)
            t = int(price / book.tick_size) if side == BUY else -int(-price // book.tick_size)
            if side == BUY and best_ask is not None:
                t = min(t, best_ask - 1)
            elif side == SELL and best_bid is not None:
                t = max(t, best_bid + 1)
            levels.append(q)
            ladder.append((side, max(t, 1), q[3]))
        if ladder:
            for q, oid in zip(levels, venue.post_quotes(self.account, asset, ladder)):
                if oid is not None:
                    q[0] = oid


def act_all(makers: list[MarketMaker], states: list) -> None:
    """Step every maker, in order (the model's step, before the traders act).

    `agents.market_maker_native.act_all` is the same loop compiled, which runs a maker's
    compiled step from its `MakerState` in ``states`` (each maker's ``compiled``, listed
    once) where that is still live; here ``states`` is not needed.
    """
    for mm in makers:
        mm.act()
