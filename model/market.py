"""`MarketModel`: the composition root.

It builds the venue, the trader population, the social graph and the shock
schedule from a validated `Scenario`, owns the simulated clock (fixed step
``dt`` seconds) and runs the step of DESIGN §3:

1. apply the shocks that are due;
2. update sentiment every ``sentiment.every`` seconds (one sparse mat-vec);
3. the venue moves its mark, samples the premium, pays funding when due and
   fires any trigger the mark has crossed;
4. market makers requote;
5. the traders drawn active this step act, in random order; the venue
   resolves stops and liquidations after every fill;
6. the insurance fund works off positions it took over;
7. record every ``record_every`` seconds.

Activation is a Poisson process per trader with its own rate. Each block of
steps draws the number of activations per step and then *which* traders by
inverting the cumulative rate, so the cost grows with activations, not with
population size.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents.exchange.audit import assert_venue_ok
from agents.exchange.margin import TierTable
from agents.exchange.native import market_maker_native, traders_native
from agents.exchange.venue import SHOCK, AssetRules, OrderBookAgent, VenueRules
from agents.market_maker import MarketMaker, act_all
from model.mood import Mood
from model.population import act_each, build_population, population_size
from model.recorder import SERIES_COLUMNS, Recorder
from model.scenario import Scenario
from model.shocks import ShockRunner

_BLOCK = 4096  # steps per block of pre-drawn random numbers


def first_asset_last_price(model: "MarketModel") -> float:
    """DataCollector reporter: the first asset's last price."""
    return model.venue.last_price(0)


def venue_from_scenario(model: mesa.Model, scenario: Scenario, n_accounts: int) -> OrderBookAgent:
    """Build the venue agent from the scenario's assets and venue rules."""
    assets = [AssetRules(a.symbol, a.tick_size, a.lot_size, a.price,
                         **({"tiers": TierTable.from_rows(a.tiers)} if a.tiers else {}))
              for a in scenario.assets]
    v = scenario.venue
    rules = VenueRules(maker_fee=v.maker_fee, taker_fee=v.taker_fee, liquidation_fee=v.liquidation_fee,
                       insurance_fund=v.insurance_fund, mark_method=v.mark_method, mark_half_life=v.mark_half_life,
                       funding_every=v.funding_every, funding_interest=v.funding_interest,
                       funding_clamp=v.funding_clamp, funding_cap=v.funding_cap, fund_unwind_bps=v.fund_unwind_bps,
                       fund_unwind_usd=v.fund_unwind_usd, market_band=v.market_band)
    return OrderBookAgent(model, assets, n_accounts, rules)


class MarketModel(mesa.Model):
    """A perpetual-futures market with one venue and a population of traders.

    Args:
        scenario: a validated scenario (kept as `spec`).
        rng: seed (int) or numpy Generator; the only source of randomness.
        audit: check the venue's invariants at every record (slower; for tests).
    """

    SHOCK_CAUSE = SHOCK

    def __init__(self, scenario: Scenario, rng: int | np.random.Generator | None = None, audit: bool = False) -> None:
        super().__init__(rng=rng)
        # Not `self.scenario`: Mesa 3.5 gives Model a `scenario` property of its own.
        self.spec = scenario
        self.audit = audit
        self.dt = scenario.dt
        self.now = 0.0
        self.n_steps = int(round(scenario.duration / scenario.dt))
        n_traders = population_size(scenario)
        n_accounts = n_traders + ShockRunner.accounts_needed(scenario.shocks)
        self.venue = venue_from_scenario(self, scenario, n_accounts)
        # Fundamental of asset a: start × (first asset's walk)^beta_a × own walk (beta_0 = 0).
        self._fund_base = np.array([a.price for a in scenario.assets], dtype=float)
        self._fund_beta = np.array([0.0] + [a.beta for a in scenario.assets[1:]])
        self._fund_own = np.ones(len(scenario.assets))
        self.fundamental = self._fund_base.copy()
        self._fund_sigma = np.array([a.fundamental_vol for a in scenario.assets]) * math.sqrt(self.dt / 86400.0)
        # Ranging assets: own/anchor decays by this factor per step (1 = a pure random walk).
        self._fund_anchor = np.ones(len(scenario.assets))
        self._fund_keep = np.array([1.0 if a.fundamental_half_life is None else 0.5 ** (self.dt / a.fundamental_half_life)
                                    for a in scenario.assets])
        self._fund_ranging = bool((self._fund_keep < 1.0).any())
        self.liquidity_factor = np.ones(len(scenario.assets))
        self.fund_vol_factor = np.ones(len(scenario.assets))  # a spot_volatility shock scales it
        self._vol_shocks = any(sh.kind == "spot_volatility" for sh in scenario.shocks)
        self._unit_factors = [1.0] * len(scenario.assets)
        self.sentiment = np.zeros(n_traders)
        self.behaviour = scenario.sentiment
        self.traders, rates, self.cohort_of = build_population(self, scenario)
        self.mood = Mood(self, scenario, n_traders)
        self.shocks = ShockRunner(self, scenario.shocks, first_account=n_traders)
        self.shocks.fund_accounts()
        is_maker = np.array([s == MarketMaker.strategy for s in self.traders.strategies], dtype=bool)
        self.market_makers = [self.traders[i] for i in np.flatnonzero(is_maker).tolist()]
        self._maker_states = [mm.compiled for mm in self.market_makers]  # read once: see act_all
        self.set_rates(np.where(is_maker, 0.0, rates))
        native = getattr(self.venue, "kernels", None) == "native"
        self._act_each = traders_native.act_each if native else act_each
        self._act_makers = market_maker_native.act_all if native else act_all
        self.recorder = Recorder(SERIES_COLUMNS, int(scenario.duration // scenario.record_every), scenario.symbols)
        self._record_every_steps = max(1, int(round(scenario.record_every / self.dt)))
        self._past_ranges: dict[tuple[int, int], tuple[float, float]] = {}  # see recent_range
        self._past_ranges_n = 0
        self._fund_block = np.zeros((0, len(scenario.assets)))
        self.datacollector = mesa.DataCollector(model_reporters={"last_price": first_asset_last_price})
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
        step = self._fund_block[i]
        # As `(fund_vol_factor != 1.0).any()`, in a tenth of the time (two numpy calls cost microseconds).
        if self._vol_shocks and self.fund_vol_factor.tolist() != self._unit_factors:
            step = step ** self.fund_vol_factor  # exp(σz)^f = exp(fσz)
        if self._fund_ranging:
            np.multiply(self._fund_anchor * (self._fund_own / self._fund_anchor) ** self._fund_keep,
                        step, out=self._fund_own)
        else:
            self._fund_own *= step
        self._refresh_fundamentals()

    def _refresh_fundamentals(self) -> None:
        np.multiply(self._fund_base * self._fund_own[0] ** self._fund_beta, self._fund_own, out=self.fundamental)

    def jump_fundamental(self, asset: int, pct: float) -> None:
        """Move one asset's fundamental by ``pct`` percent (the first asset's carries its followers along)."""
        self._fund_own[asset] *= 1.0 + pct / 100.0
        self._fund_anchor[asset] *= 1.0 + pct / 100.0
        self._refresh_fundamentals()

    def jump_all_fundamentals(self, pct: float) -> None:
        """Move every fundamental by exactly ``pct`` percent."""
        g = 1.0 + pct / 100.0
        move = g / g ** self._fund_beta  # the first asset's share reaches the others through beta
        self._fund_own *= move
        self._fund_anchor *= move
        self._refresh_fundamentals()

    def step(self) -> None:
        """Advance the market by one ``dt``."""
        self.now = self.steps * self.dt  # Mesa has already incremented `steps`
        self.venue.set_time(self.now)
        self._advance_fundamentals()
        self.shocks.step(self.now)
        self.mood.maybe_update(self.now)
        self.venue.begin_step(self.now, self.fundamental)
        self._act_makers(self.market_makers, self._maker_states)
        self._act_each(self.traders, self.active_traders())
        self.venue.end_step()
        if self.steps % self._record_every_steps == 0:
            self.record()

    def run(self, progress=None) -> None:
        """Run the whole scenario; ``progress(steps_done)`` is called now and then."""
        chunk = max(1, self.n_steps // 200)
        while self.steps < self.n_steps:
            self.step()
            if progress is not None and self.steps % chunk == 0:
                progress(self.steps)
        self.mood.snapshot("end", self.now)

    def recent_range(self, asset: int, window_s: float) -> tuple[float, float]:
        """Low and high of an asset's recorded last price over the past ``window_s`` (and now)."""
        rec = self.recorder
        k = max(0, rec.n - int(window_s // self.spec.record_every))
        now = self.venue.last_price(asset)
        if k >= rec.n:  # nothing recorded in the window
            return now, now
        # Recorded rows never change, so each maker's and speculator's look at the same rows
        # between two records reuses one min and max (the cache is emptied at each new record).
        if self._past_ranges_n != rec.n:
            self._past_ranges, self._past_ranges_n = {}, rec.n
        low_high = self._past_ranges.get((asset, k))
        if low_high is None:
            past = rec.data["last"][k:rec.n, asset]
            low_high = self._past_ranges[asset, k] = (float(past.min()), float(past.max()))
        return min(now, low_high[0]), max(now, low_high[1])

    # ------------------------------------------------------------- shocks
    def shock_snapshot(self) -> dict:
        """State recorded when a shock starts."""
        return {"sentiment_before": float(self.sentiment.mean()) if len(self.sentiment) else 0.0,
                "price_before": float(self.venue.last_price(0))}

    # --------------------------------------------------------------- record
    def record(self) -> None:
        """Write one row per asset into the recorder (and check invariants when auditing)."""
        self.recorder.record_market(self)
        self.datacollector.collect(self)
        if self.audit:
            assert_venue_ok(self.venue)
