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
* leveraged speculators: see `agents.speculator` (side, size, leverage
  appetite and capitulation);
* market makers and fundamentalists ignore sentiment.
"""

from __future__ import annotations

from collections import deque

import mesa

from agents.exchange.book import BUY, SELL


class Trader(mesa.Agent):
    """Base trader: an account on the venue and the assets it trades.

    Args:
        model: the Mesa model (must provide ``venue``).
        account: this trader's account id on the venue.
        assets: indices of the assets it trades.
        size_usd: typical order size in USD.
    """

    strategy = "trader"

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
        return max(1, int(usd / (venue.mid_price(asset) * venue.ledger.lot[asset])))

    def position_usd(self, asset: int) -> float:
        """Signed notional of this trader's position at mid."""
        venue = self.model.venue
        return float(venue.ledger.position[self.account, asset] * venue.ledger.lot[asset] * venue.mid_price(asset))

    def mood(self) -> float:
        """This trader's sentiment in [-1, 1]."""
        return float(self.model.sentiment[self.account])

    def act(self) -> None:
        """One activation; subclasses decide what to do."""
        raise NotImplementedError

    def step(self) -> None:
        """Mesa entry point: same as `act`."""
        self.act()


class NoiseTrader(Trader):
    """Zero-intelligence liquidity: random side, market or limit orders.

    Limit orders rest at the touch on their own side plus an exponentially
    distributed distance with mean ``offset_bps``, so the average book is
    deepest near the quote and thins outward. Beyond ``max_orders`` resting
    orders, the oldest is cancelled.
    """

    strategy = "noise"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float,
                 market_prob: float, offset_bps: float, max_orders: int) -> None:
        super().__init__(model, account, assets, size_usd)
        self.market_prob = market_prob
        self.offset_bps = offset_bps
        self.max_orders = max_orders
        self.orders: deque[tuple[int, int]] = deque()

    def choose_side(self) -> int:
        """Buy or sell; sentiment tilts the odds."""
        p_buy = 0.5 * (1.0 + self.model.behaviour.side_weight * self.mood())
        return BUY if self.model.random.random() < p_buy else SELL

    def act(self) -> None:
        venue, rnd = self.model.venue, self.model.random
        asset = self.pick_asset()
        side = self.choose_side()
        lots = self.lots_for(asset, self.size_usd * rnd.expovariate(1.0))
        if rnd.random() < self.market_prob:
            venue.market(self.account, asset, side, lots)
        else:
            book = venue.books[asset]
            touch = book.best_bid() if side == BUY else book.best_ask()
            if touch is None:
                touch = venue.last_tick[asset]
            dist = max(0, int(touch * self.offset_bps * 1e-4 * rnd.expovariate(1.0)))
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

    def act(self) -> None:
        venue = self.model.venue
        if self.order is not None:
            venue.cancel(*self.order)
            self.order = None
        asset = self.pick_asset()
        mid = venue.mid_price(asset)
        gap_bps = (self.model.fundamental[asset] / mid - 1.0) * 1e4
        if abs(gap_bps) < self.threshold_bps:
            return
        side = BUY if gap_bps > 0 else SELL
        if side * self.position_usd(asset) >= self.max_position_usd:
            return
        lots = self.lots_for(asset, self.size_usd * min(3.0, abs(gap_bps) / self.threshold_bps))
        if self.model.random.random() < self.market_prob:
            venue.market(self.account, asset, side, lots)
            return
        book = venue.books[asset]
        touch = book.best_bid() if side == BUY else book.best_ask()
        if touch is not None:
            oid = venue.limit(self.account, asset, side, touch, lots)
            if oid is not None:
                self.order = (asset, oid)
