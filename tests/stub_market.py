"""A small two-asset market on either kernels, for comparing compiled agents with their Python originals."""

from __future__ import annotations

import os
from types import SimpleNamespace
from unittest import mock

import mesa
import numpy as np

from agents.exchange.audit import venue_state
from agents.exchange.native import ENV_VAR
from agents.exchange.venue import AssetRules, OrderBookAgent, VenueRules

MAKER, N_TRADERS = 0, 4


class Market(mesa.Model):
    """What traders and makers read from a model: venue, clock, spot, sentiment, behaviour, random generator."""

    def __init__(self, seed: int, sentiment: list[float] | None = None, side_weight: float = 0.0,
                 conviction: float = 0.0, kind: str = "native") -> None:
        super().__init__(rng=seed)
        self.dt = 1.0
        self.now = 0.0
        self.fundamental = np.array([100.0, 50.0])
        self.liquidity_factor = np.ones(2)
        # Lots that are not powers of two, so that any reordering of a product shows.
        assets = [AssetRules("BTC", 0.1, 0.7, 100.0), AssetRules("ALT", 0.05, 1.3, 50.0)]
        with mock.patch.dict(os.environ, {ENV_VAR: kind}):
            self.venue = OrderBookAgent(self, assets, N_TRADERS, VenueRules(mark_method="last"))
        self.venue.deposit(MAKER, 5e7)
        for account in range(1, N_TRADERS):
            self.venue.deposit(account, 1e6)
        self.sentiment = np.zeros(N_TRADERS) if sentiment is None else np.array(sentiment, dtype=float)
        self.behaviour = SimpleNamespace(side_weight=side_weight, conviction=conviction)
        # Nothing recorded yet: attention sees a volatility ratio of 1 (and still draws).
        self.recorder = SimpleNamespace(n=0, data={"last": np.zeros((0, 2))})
        self.spec = SimpleNamespace(record_every=60.0)

    def quote(self, asset: int, sides: tuple[int, ...]) -> None:
        """A ladder of five levels a side around the start price, on the given sides."""
        start = self.venue.last_tick[asset]
        self.venue.post_quotes(MAKER, asset, [(side, start - side * k, 40) for side in sides for k in range(1, 6)])

    def recent_range(self, asset: int, window_s: float) -> tuple[float, float]:
        """`model.market.MarketModel.recent_range` with nothing recorded: the last price, twice."""
        last = self.venue.last_price(asset)
        return last, last


def attempt(action) -> object:
    """``"ok"``, or the error ``action()`` raised (its type's name and message): for comparing two sides
    that must fail alike, if at all."""
    try:
        action()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the caller compares what happened on both sides
        return type(exc).__name__, str(exc)


def same_markets(a: Market, b: Market) -> bool:
    """Whether two markets' venues (books, tapes, ledger, registries, counters) and generators are the same."""
    return venue_state(a.venue) == venue_state(b.venue) and a.random.getstate() == b.random.getstate()
