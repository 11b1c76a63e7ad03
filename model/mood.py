"""Sentiment on the model: the social graph, news and the periodic update.

`Mood` owns everything sentiment needs on the model side: the graph and its
influence matrix (built once), the per-trader coefficients drawn from the
scenario, the running news, and the inputs of each update:

* the recent return: log return of the first asset's last price over
  ``sentiment.return_window`` (a market-wide signal);
* the pain signal: each trader's unrealised loss as a share of its equity,
  signed against its position (a losing short leans bullish);
* news: a news shock moves the targeted traders' sentiment at once by its
  amount, and keeps pushing them toward it while it lasts: the update's news
  input is ``level × (1 − persistence)``, so a lasting level L is where
  sentiment settles. The level decays with the shock's half-life, or never.

The update itself is `model.sentiment.update_sentiment`.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np

from agents.exchange.accounts import PAIRWISE_FROM, row_sums
from agents.exchange.native import sentiment_native
from model.distributions import draw
from model.sentiment import (SentimentCoefficients, build_graph, decay_factor, influence_matrix, news_vector,
                             pick_hubs, update_sentiment)


class Mood:
    """Sentiment machinery of one model."""

    def __init__(self, model, scenario, n_traders: int) -> None:
        spec, net = scenario.sentiment, scenario.network
        self.model = model
        self.spec = spec
        self.enabled = spec.enabled and n_traders > 0
        self.next_update = spec.every
        self.hubs = np.zeros(0, dtype=np.int64)
        self.graph = None
        self._news: list[tuple[np.ndarray, float, float]] = []  # (vector, start, half-life)
        self._prices: deque[tuple[float, float]] = deque()
        self.snapshots: list[tuple[str, float, np.ndarray, np.ndarray]] = []
        if not self.enabled:
            return
        rng = model.rng
        path = Path(net.path) if net.path else None
        self.graph = build_graph(net.kind, n_traders, dict(net.params), rng, edge_list=path)
        self.hubs = pick_hubs(self.graph, net.hubs)
        self.W = influence_matrix(self.graph, n_traders, self.hubs, net.hub_weight)
        self.coef = SentimentCoefficients(
            conformity=draw(spec.conformity, n_traders, rng), momentum=draw(spec.momentum, n_traders, rng),
            pain=draw(spec.pain, n_traders, rng), noise=draw(spec.noise, n_traders, rng),
            persistence=draw(spec.persistence, n_traders, rng))
        model.sentiment[:] = np.clip(draw(spec.initial, n_traders, rng), -1.0, 1.0)
        # The same arithmetic compiled (model/sentiment_native.pyx) when the venue runs on the compiled kernels.
        self._native = sentiment_native if model.venue.kernels == "native" else None

    def recent_return(self, now: float) -> float:
        """Log return of the first asset over the return window (0 until there is history)."""
        price = self.model.venue.last_price(0)
        self._prices.append((now, price))
        while len(self._prices) > 1 and self._prices[1][0] <= now - self.spec.return_window + 1e-9:
            self._prices.popleft()
        return math.log(price / self._prices[0][1])

    def pain_signal(self) -> np.ndarray:
        """Unrealised loss / equity per trader, signed against the position."""
        venue = self.model.venue
        led, n = venue.ledger, len(self.model.sentiment)
        if self._native is not None and len(led.lot) < PAIRWISE_FROM:  # (row_sums' own order)
            out = np.empty(n)
            self._native.pain_signal(out, led.position, led.lot, venue.mark.value, led.entry, led.wallet, led.margin)
            return out
        upnl = led.unrealized(venue.mark.value)[:n]
        loss = np.maximum(0.0, -upnl) * -np.sign(led.position[:n])
        equity = led.wallet[:n] + row_sums(led.margin[:n]) + row_sums(upnl)
        return row_sums(loss) / np.maximum(equity, 1.0)

    def news_level(self, now: float) -> np.ndarray | float:
        """Sum of the running news shocks' decayed levels."""
        if not self._news:
            return 0.0
        return sum(v * decay_factor(now - t0, hl) for v, t0, hl in self._news)

    def maybe_update(self, now: float) -> None:
        """Run the sentiment update if one is due."""
        if not self.enabled or now + 1e-9 < self.next_update:
            return
        self.next_update += self.spec.every
        s = self.model.sentiment
        news = self.news_level(now) * (1.0 - self.coef.persistence)
        update_sentiment(s, self.W, self.coef, self.recent_return(now), self.pain_signal(), news,
                         self.model.rng, out=s, return_scale=self.spec.return_scale,
                         native=self._native)
        self._news = [(v, t0, hl) for v, t0, hl in self._news if decay_factor(now - t0, hl) > 1e-3]

    def snapshot(self, label: str, now: float) -> None:
        """Keep each trader's sentiment and position notional now, for the network plots."""
        if not self.enabled:
            return
        venue = self.model.venue
        n = len(self.model.sentiment)
        notional = (np.abs(venue.ledger.position[:n]) * venue.ledger.lot * venue.mark.value).sum(axis=1)
        self.snapshots.append((label, now, self.model.sentiment.copy(), notional))

    def edges(self) -> np.ndarray:
        """The social graph's edges as an (m, 2) array (empty when sentiment is off)."""
        if self.graph is None:
            return np.zeros((0, 2), dtype=np.int64)
        return np.array(list(self.graph.edges()), dtype=np.int64).reshape(-1, 2)

    def apply_news(self, shock, now: float) -> None:
        """Shift the targeted traders' sentiment now and keep the news running."""
        s = self.model.sentiment
        if not self.enabled or len(s) == 0:
            return
        v = news_vector(len(s), shock.target, shock.amount, self.model.rng, fraction=shock.fraction, hubs=self.hubs)
        np.clip(s + v, -1.0, 1.0, out=s)
        self._news.append((v, now, shock.half_life if shock.half_life else math.inf))
