"""Leveraged speculators: directional positions with stops and take-profits.

On each activation a speculator looks at one of its assets, picked at
random: if flat there, it may open a position; if not, it keeps the
position's protective orders in place and closes it when its holding time is
up or when it capitulates. So it can hold positions in several assets.

* Side: long with probability ``long_prob + side_weight × sentiment``.
* Size and leverage: ``size_usd`` and the account's base leverage, each
  scaled up by ``(1 + weight × sentiment)`` when sentiment agrees with the
  side (never down), within free collateral and the tier's maximum leverage.
* Stop (reduce-only stop-market): ``stop_bps`` from entry, or, for traders
  anchored to a level, just beyond that level (``stop_beyond_bps``) when it
  lies on the losing side of entry. The level (``stop_levels[asset]``) is a
  fixed price, or (``inf``) the recent extreme: the high of the last ``stop_window`` for a short, the
  low for a long (``model.recent_range``); ``stop_sides`` may restrict the anchoring to
  shorts or to longs. Traders drawn without a stop have
  ``stop_bps = NaN``.
* Take-profit: a reduce-only limit ``take_profit_bps`` from entry.
* Capitulation: a losing position is closed at market when sentiment is at
  least ``capitulation`` against it.

Sentiment weights come from ``model.behaviour`` (the scenario's ``sentiment``
section); with neutral sentiment they change nothing. Side, size and leverage
read sentiment through the ``conviction`` threshold (`Trader.conviction`):
only the part beyond it acts. Capitulation reads the raw sentiment.
"""

from __future__ import annotations

import math

import mesa

from agents.exchange.book import BUY, SELL
from agents.traders import Trader, bind_compiled


class LeveragedSpeculator(Trader):
    """A leveraged directional trader."""

    strategy = "leveraged"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float, long_prob: float,
                 entry_market_prob: float, stop_bps: float, stop_levels: list[float] | None, stop_beyond_bps: float,
                 stop_window: float, take_profit_bps: float, holding_s: float, stop_sides: int = 0) -> None:
        super().__init__(model, account, assets, size_usd)
        self.long_prob = long_prob
        self.entry_market_prob = entry_market_prob
        self.stop_bps = stop_bps
        self.stop_levels = stop_levels
        self.stop_beyond_bps = stop_beyond_bps
        self.stop_window = stop_window
        self.stop_sides = stop_sides  # +1: only longs anchor to the level, -1: only shorts, 0: both
        self.take_profit_bps = take_profit_bps
        self.holding_s = holding_s
        self.base_leverage = [float(model.venue.ledger.leverage[account, a]) for a in range(len(model.venue.books))]
        # Per asset: pending entry order, stop id, take-profit order, time to close.
        self.entry_order: dict[int, int | None] = dict.fromkeys(assets)
        self.stop_id: dict[int, int | None] = dict.fromkeys(assets)
        self.tp_order: dict[int, int | None] = dict.fromkeys(assets)
        self.close_at: dict[int, float] = dict.fromkeys(assets, math.inf)
        bind_compiled(self, LeveragedSpeculator, "speculator_act")

    def act(self) -> None:
        """Manage one asset, picked at random: open a position if flat, else protect or close it."""
        venue = self.model.venue
        a = self.pick_asset()
        pos = int(venue.ledger.position[self.account, a])
        if pos == 0:
            self._clear(a)
            self._open(a)
            pos = int(venue.ledger.position[self.account, a])
            if pos == 0:
                return
        if self._should_close(a, pos):
            self._clear(a)
            venue.market(self.account, a, SELL if pos > 0 else BUY, abs(pos), reduce_only=True)
            return
        self._protect(a, pos)

    # ------------------------------------------------------------ decisions
    def _open(self, a: int) -> None:
        venue, rnd, b = self.model.venue, self.model.random, self.model.behaviour
        s = self.conviction()
        side = BUY if rnd.random() < self.long_prob + b.side_weight * s else SELL
        agree = max(0.0, s * side)
        lev = min(self.base_leverage[a] * (1.0 + b.leverage_weight * agree), float(venue.tiers[a].max_leverage[0]))
        venue.set_leverage(self.account, a, lev)
        usd = self.size_usd * (1.0 + b.size_weight * agree)
        usd = min(usd, venue.ledger.available(self.account) * lev * 0.9)
        lots = int(usd / (venue.mid_price(a) * venue.ledger.lot[a]))
        if lots < 1:
            return
        self.close_at[a] = self.model.now + rnd.expovariate(1.0 / self.holding_s)
        if rnd.random() < self.entry_market_prob:
            venue.market(self.account, a, side, lots)
            return
        book = venue.books[a]
        touch = book.best_bid() if side == BUY else book.best_ask()
        if touch is not None:
            self.entry_order[a] = venue.limit(self.account, a, side, touch, lots)

    def _should_close(self, a: int, pos: int) -> bool:
        if self.model.now >= self.close_at[a]:
            return True
        venue = self.model.venue
        losing = pos * (venue.mark.value[a] - venue.ledger.entry[self.account, a]) < 0
        return losing and self.mood() * (1 if pos > 0 else -1) <= -self.model.behaviour.capitulation

    def _protect(self, a: int, pos: int) -> None:
        venue = self.model.venue
        entry = float(venue.ledger.entry[self.account, a])
        d = 1 if pos > 0 else -1
        if not math.isnan(self.stop_bps) and (self.stop_id[a] is None or self.stop_id[a] not in venue.stops[a].stops):
            trigger = entry * (1.0 - d * self.stop_bps * 1e-4)
            level = math.nan if self.stop_levels is None or self.stop_sides == -d else self.stop_levels[a]
            if not math.isnan(level):
                if math.isinf(level):
                    low, high = self.model.recent_range(a, self.stop_window)
                    level = high if d < 0 else low
                anchored = level * (1.0 - d * self.stop_beyond_bps * 1e-4)
                if (anchored - entry) * d < 0:
                    trigger = anchored
            self.stop_id[a] = venue.stop(self.account, a, -d, trigger, abs(pos))
        if self.tp_order[a] is None or self.tp_order[a] not in venue.books[a]:
            price = entry * (1.0 + d * self.take_profit_bps * 1e-4)
            tick = venue.books[a].tick_size
            t = int(math.ceil(price / tick)) if d > 0 else int(price / tick)
            self.tp_order[a] = venue.limit(self.account, a, -d, max(1, t), abs(pos), reduce_only=True)

    def _clear(self, a: int) -> None:
        """Cancel this trader's pending entry, stop and take-profit on an asset."""
        venue = self.model.venue
        for oid in (self.entry_order[a], self.tp_order[a]):
            if oid is not None:
                venue.cancel(a, oid)
        if self.stop_id[a] is not None:
            venue.cancel_stop(a, self.stop_id[a])
        self.entry_order[a] = self.tp_order[a] = self.stop_id[a] = None
        self.close_at[a] = math.inf
