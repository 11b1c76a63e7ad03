"""`MarketModel`: the composition root.

It builds the venue and the trader population from a validated `Scenario`,
owns the simulated clock (fixed step ``dt`` seconds) and runs the step of
DESIGN §3:

1. advance the clock and the fundamental values;
2. market makers requote;
3. the traders drawn active this step act, in random order;
4. record every ``record_every`` seconds.

Activation is a Poisson process per trader with its own rate. Instead of a
Bernoulli draw per trader per step, each block of steps draws the number of
activations per step and then *which* traders by inverting the cumulative
rate, so the cost grows with activations, not with population size.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents.exchange.audit import assert_venue_ok
from agents.exchange.book import BUY, SELL
from agents.exchange.venue import OrderBookAgent
from agents.market_maker import MarketMaker
from model.population import build_population, population_size
from model.recorder import Recorder
from model.scenario import Scenario

DEPTH_BANDS_BPS = (10, 25, 50, 100, 200)
SERIES_COLUMNS = [
    "last", "mid", "best_bid", "best_ask", "spread_bps", "volume", "notional", "trades",
    "depth_1pct_bid", "depth_1pct_ask", "fundamental",
    *[f"depth_bps_{b}_{s}" for b in DEPTH_BANDS_BPS for s in ("bid", "ask")],
]
_BLOCK = 4096  # steps per block of pre-drawn random numbers


def last_btc_price(model: "MarketModel") -> float:
    """DataCollector reporter: the first asset's last price."""
    return model.venue.last_price(0)


class MarketModel(mesa.Model):
    """A perpetual-futures market with one venue and a population of traders.

    Args:
        scenario: a validated scenario.
        rng: seed (int) or numpy Generator; the only source of randomness.
        audit: check the venue's invariants at every record (slower; for tests).
    """

    def __init__(self, scenario: Scenario, rng: int | np.random.Generator | None = None, audit: bool = False) -> None:
        super().__init__(rng=rng)
        self.scenario = scenario
        self.audit = audit  # check the venue's invariants at every record (tests)
        self.dt = scenario.dt
        self.now = 0.0
        self.n_steps = int(round(scenario.duration / scenario.dt))
        symbols = scenario.symbols
        assets = scenario.assets
        self.venue = OrderBookAgent(
            self, symbols, [a.tick_size for a in assets], [a.lot_size for a in assets],
            [a.price for a in assets], population_size(scenario),
            maker_fee=scenario.venue.maker_fee, taker_fee=scenario.venue.taker_fee,
        )
        self.fundamental = np.array([a.price for a in assets], dtype=float)
        self._fund_sigma = np.array([a.fundamental_vol for a in assets]) * math.sqrt(self.dt / 86400.0)
        self.liquidity_factor = np.ones(len(assets))
        self.traders, rates, self.cohort_of = build_population(self, scenario)
        self.market_makers = [t for t in self.traders if isinstance(t, MarketMaker)]
        self.set_rates(np.where([isinstance(t, MarketMaker) for t in self.traders], 0.0, rates))
        self.initial_money = self.venue.money_total()
        n_records = int(scenario.duration // scenario.record_every)
        self.recorder = Recorder(SERIES_COLUMNS, n_records, symbols)
        self._record_every_steps = max(1, int(round(scenario.record_every / self.dt)))
        self._tape_pos = [0] * len(assets)
        self._block_start = 0
        self._fund_block = np.zeros((0, len(assets)))
        self.datacollector = mesa.DataCollector(model_reporters={"last_price": last_btc_price})
        for mm in self.market_makers:
            mm.act()

    # ---------------------------------------------------------- activation
    def set_rates(self, rates: np.ndarray) -> None:
        """Set every trader's activation rate (per second) and rebuild the sampler."""
        self.rates = np.asarray(rates, dtype=float)
        self._cum_rates = np.cumsum(self.rates)
        self._total_rate = float(self._cum_rates[-1]) if len(self.rates) else 0.0
        self._active_block: list[list[int]] = []
        self._block_step = 0

    def _draw_block(self) -> None:
        counts = self.rng.poisson(self._total_rate * self.dt, _BLOCK)
        picks = np.searchsorted(self._cum_rates, self.rng.random(int(counts.sum())) * self._total_rate, side="right")
        picks = np.minimum(picks, len(self.rates) - 1).tolist()
        bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
        self._active_block = [picks[bounds[i]:bounds[i + 1]] for i in range(_BLOCK)]
        self._block_step = 0

    def active_traders(self) -> list[int]:
        """Indices of the traders that act this step, in random order."""
        if self._total_rate <= 0:
            return []
        if self._block_step >= len(self._active_block):
            self._draw_block()
        active = self._active_block[self._block_step]
        self._block_step += 1
        return active

    # ----------------------------------------------------------------- step
    def _advance_fundamentals(self) -> None:
        i = self.steps % _BLOCK
        if i == 0 or len(self._fund_block) == 0:
            self._fund_block = np.exp(self._fund_sigma * self.rng.standard_normal((_BLOCK, len(self.fundamental))))
            i = 0
        self.fundamental *= self._fund_block[i]

    def step(self) -> None:
        """Advance the market by one ``dt``."""
        self.now = self.steps * self.dt  # Mesa has already incremented `steps`
        self.venue.set_time(self.now)
        self._advance_fundamentals()
        for mm in self.market_makers:
            mm.act()
        traders = self.traders
        for i in self.active_traders():
            traders[i].act()
        if self.steps % self._record_every_steps == 0:
            self.record()

    def run(self, progress=None) -> None:
        """Run the whole scenario; ``progress(steps_done)`` is called now and then."""
        chunk = max(1, self.n_steps // 200)
        while self.steps < self.n_steps:
            self.step()
            if progress is not None and self.steps % chunk == 0:
                progress(self.steps)

    # --------------------------------------------------------------- record
    def record(self) -> None:
        """Write one row per asset into the recorder."""
        rec = self.recorder
        i = rec.start_row(self.now)
        d = rec.data
        for a, book in enumerate(self.venue.books):
            bid, ask = book.best_bid(), book.best_ask()
            tick, lot = book.tick_size, book.lot_size
            mid = self.venue.mid_price(a)
            d["last"][i, a] = self.venue.last_price(a)
            d["mid"][i, a] = mid
            d["fundamental"][i, a] = self.fundamental[a]
            if bid is not None:
                d["best_bid"][i, a] = bid * tick
            if ask is not None:
                d["best_ask"][i, a] = ask * tick
            if bid is not None and ask is not None:
                d["spread_bps"][i, a] = (ask - bid) / (0.5 * (ask + bid)) * 1e4
            lo = self._tape_pos[a]
            hi = book.n_fills
            qty = np.asarray(book.tape_qty[lo:hi], dtype=float)
            px = np.asarray(book.tape_tick[lo:hi], dtype=float) * tick
            d["volume"][i, a] = qty.sum() * lot
            d["notional"][i, a] = (qty * px).sum() * lot
            d["trades"][i, a] = hi - lo
            self._tape_pos[a] = hi
            usd = lot * mid
            d["depth_1pct_bid"][i, a] = book.depth_within_bps(BUY, 100) * usd
            d["depth_1pct_ask"][i, a] = book.depth_within_bps(SELL, 100) * usd
            for side, name in ((BUY, "bid"), (SELL, "ask")):
                prof = book.depth_profile(side, DEPTH_BANDS_BPS) * usd
                for b, v in zip(DEPTH_BANDS_BPS, prof):
                    d[f"depth_bps_{b}_{name}"][i, a] = v
        self.datacollector.collect(self)
        if self.audit:
            assert_venue_ok(self.venue)
