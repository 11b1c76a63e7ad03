"""Beta traders: keep the other assets moving with the first one.

Crypto trades as one market: when BTC rallies, ETH and the alts follow at
roughly their beta. A beta trader watches the first asset (the leader) and,
for one follower per activation, compares the follower's mid with where the
leader's move says it should be::

    target_a = start_a × (mark_leader / start_leader) ** (beta_a × beta_noise)

It buys a follower trading below its target and sells one above it (by more
than ``threshold_bps``), within a position limit, with market orders (or
joining the touch). ``beta_noise`` is drawn per trader, so the crowd's view of
the beta is spread around the asset's beta.
"""

from __future__ import annotations

import mesa

from agents.exchange.book import BUY, SELL
from agents.traders import Trader, bind_compiled


class BetaTrader(Trader):
    """Relative-value trader between the leader and its followers."""

    strategy = "beta"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float, betas: list[float],
                 beta_noise: float, threshold_bps: float, market_prob: float, max_position_usd: float) -> None:
        super().__init__(model, account, [a for a in assets if a != 0] or assets, size_usd)
        self.betas = betas
        self.beta_noise = beta_noise
        self.threshold_bps = threshold_bps
        self.market_prob = market_prob
        self.max_position_usd = max_position_usd
        venue = model.venue
        self.start = [venue.start_price(a) for a in range(len(venue.books))]
        bind_compiled(self, BetaTrader, "beta_act")

    def target(self, asset: int) -> float:
        """Where the follower should trade given the leader's move."""
        venue = self.model.venue
        leader_move = venue.mark.value[0] / self.start[0]
        return self.start[asset] * leader_move ** (self.betas[asset] * self.beta_noise)

    def act(self) -> None:
        asset = self.pick_asset()
        if asset == 0:
            return
        self.lean_toward(asset, self.target(asset), self.threshold_bps, self.max_position_usd, self.market_prob,
                         tif="IOC")


class BasisTrader(Trader):
    """Funding harvester (Rao 2025's basis trader): long the perp when funding is negative, short when positive.

    It stands for the cash-and-carry desks that hold the perp against spot:
    when speculators crowd one side and the perp trades at a discount to the
    index (negative funding), it buys the perp to collect funding, and the
    other way round. Its target position grows with the predicted funding
    rate, up to ``max_position_usd`` at ``full_rate``; it moves toward the
    target by ``size_usd`` per activation, joining the touch or (with
    ``market_prob``) crossing the spread.
    """

    strategy = "basis"

    def __init__(self, model: mesa.Model, account: int, assets: list[int], size_usd: float, full_rate: float,
                 max_position_usd: float, market_prob: float) -> None:
        super().__init__(model, account, assets, size_usd)
        self.full_rate = full_rate
        self.max_position_usd = max_position_usd
        self.market_prob = market_prob
        bind_compiled(self, BasisTrader, "basis_act")

    def act(self) -> None:
        venue = self.model.venue
        asset = self.pick_asset()
        rate = float(venue.funding.predicted_one(asset))
        target = -self.max_position_usd * max(-1.0, min(1.0, rate / self.full_rate))
        gap = target - self.position_usd(asset)
        if abs(gap) < 0.5 * self.size_usd:
            return
        side = BUY if gap > 0 else SELL
        lots = self.lots_for(asset, min(abs(gap), self.size_usd))
        self.take_or_join(asset, side, lots, self.market_prob, tif="IOC")
