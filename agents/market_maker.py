"""Market makers: a ladder of post-only quotes around mid, skewed by inventory.

A maker requotes every ``requote_every`` seconds, or sooner when mid has
moved ``requote_bps`` since its last quote. Its quotes centre on mid shifted
against its inventory (long inventory lowers both sides, so it sells more
and buys less), and it stops quoting the side that would take its inventory
past ``max_inventory_usd``. When mid has moved by ``stress_bps`` within the
last ``stress_window`` seconds, it quotes smaller and wider: sizes divided
and spacing multiplied by ``1 + move / stress_bps`` (at most 3), so
liquidity thins as a cascade runs. The model may scale every maker's depth through
``model.liquidity_factor`` (a liquidity-withdrawal shock).
"""

from __future__ import annotations

import mesa

from agents.exchange.book import BUY, SELL
from agents.traders import Trader

_MAX_STRESS = 3.0  # makers thin out at most threefold: they still quote, as real ones mostly do


class MarketMaker(Trader):
    """Quotes a ladder on each of its assets."""

    strategy = "market_maker"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float, levels: int,
                 first_bps: float, spacing_bps: float, size_growth: float, skew_bps: float,
                 max_inventory_usd: float, requote_every: float, requote_bps: float, stress_bps: float = 0.0,
                 stress_window: float = 60.0) -> None:
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
        self.quotes: dict[int, list[int]] = {a: [] for a in assets}
        self.quoted_at: dict[int, tuple[float, float]] = {a: (-1e18, 0.0) for a in assets}

    def act(self) -> None:
        """Requote every asset whose quotes are due or stale."""
        now = self.model.now
        for asset in self.assets:
            t0, mid0 = self.quoted_at[asset]
            mid = self.reference_mid(asset)
            if now - t0 >= self.requote_every or abs(mid / mid0 - 1.0) * 1e4 >= self.requote_bps:
                self.requote(asset, mid)

    def reference_mid(self, asset: int) -> float:
        """Where to centre quotes: mid, or the last trade if a side is empty."""
        return self.model.venue.mid_price(asset)

    def requote(self, asset: int, mid: float) -> None:
        """Cancel this maker's quotes on one asset and post a fresh ladder."""
        venue = self.model.venue
        for oid in self.quotes[asset]:
            venue.cancel(asset, oid)
        self.quotes[asset] = []
        self.quoted_at[asset] = (self.model.now, mid)
        factor = self.model.liquidity_factor[asset]
        if factor <= 0:
            return
        stress = 1.0
        if self.stress_bps > 0:
            low, high = self.model.recent_range(asset, self.stress_window)
            stress += max(abs(mid / low - 1.0), abs(high / mid - 1.0)) * 1e4 / self.stress_bps
            stress = min(stress, _MAX_STRESS)
        inventory = self.position_usd(asset)
        skew = -self.skew_bps * max(-1.0, min(1.0, inventory / self.max_inventory_usd))
        book = venue.books[asset]
        lot, tick = venue.ledger.lot[asset], book.tick_size
        best_bid, best_ask = book.best_bid(), book.best_ask()
        for side in (BUY, SELL):
            if side * inventory >= self.max_inventory_usd:
                continue
            size = self.size_usd * factor / stress
            for k in range(self.levels):
                dist_bps = (self.first_bps + k * self.spacing_bps) * stress
                price = mid * (1.0 + (skew - side * dist_bps) * 1e-4)
                t = int(price / tick) if side == BUY else -int(-price // tick)
                # Never cross the other side's resting quotes: post-only would be rejected.
                if side == BUY and best_ask is not None:
                    t = min(t, best_ask - 1)
                elif side == SELL and best_bid is not None:
                    t = max(t, best_bid + 1)
                lots = max(1, int(size / (price * lot)))
                oid = venue.limit(self.account, asset, side, max(t, 1), lots, tif="POST")
                if oid is not None:
                    self.quotes[asset].append(oid)
                size *= self.size_growth
