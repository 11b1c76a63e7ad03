"""Scenario schema of the trader population: one model per strategy.

A cohort is a group of traders of one strategy; every heterogeneous
parameter is a number or a distribution (see `model.distributions`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from model.distributions import Param, bounds
from model.schema_types import Duration, Fraction, Offset, Strict, Symbol

def require_at_least(section: Strict, key: str, minimum: float) -> None:
    """Raise ValueError unless parameter ``key`` (a number or a distribution) can never go below ``minimum``."""
    lo, _ = bounds(getattr(section, key))
    if lo < minimum:
        raise ValueError(f"{key} must be at least {minimum:g} (lowest possible value {lo}); add min: {minimum:g}")


class Cohort(Strict):
    """Fields every cohort has."""

    name: str = Field(min_length=1)
    count: int = Field(ge=0)
    wallet: Param = Field(description="starting wallet, USD")
    rate: Param = Field(0.0, description="activations per simulated second")
    leverage: Param = Field(1.0, description="leverage on every position (isolated margin), capped by the tier table")
    assets: list[Symbol] | None = Field(None, description="assets this cohort trades; all if omitted")

    @model_validator(mode="after")
    def _positive(self):
        require_at_least(self, "wallet", 0)
        require_at_least(self, "rate", 0)
        require_at_least(self, "leverage", 1)
        return self


class MarketMakerCohort(Cohort):
    """Quotes a ladder around mid, skewed against inventory."""

    strategy: Literal["market_maker"]
    levels: int = Field(10, ge=1, le=200)
    first_bps: Param = Field(1.0, description="distance of the first quote from mid, bps")
    spacing_bps: Param = Field(2.0, description="distance between ladder levels, bps")
    size_usd: Param = Field(50_000.0, description="quote size at the first level, USD")
    size_growth: float = Field(1.0, gt=0, description="size multiplier per level outward")
    skew_bps: float = Field(5.0, ge=0, description="quote shift in bps at full inventory")
    max_inventory_usd: float = Field(5_000_000.0, gt=0)
    requote_every: Duration = 5.0
    requote_bps: float = Field(1.0, ge=0, description="requote early when mid moves this far")
    stress_bps: float = Field(0.0, ge=0, description="a mid move of this many bps within stress_window halves "
                                                      "quote sizes and doubles spacing; 0 turns it off")
    stress_window: Duration = 60.0
    index_weight: Fraction = Field(0.0, description="share of the gap between quote centre and index (fundamental) "
                                                     "closed each step; 0 ignores the index")
    refill_every: Offset = Field(0.0, description="put filled ladder levels back this often between requotes; "
                                                    "0 turns it off")
    vol_exponent: float = Field(0.0, ge=0, description="quote sizes divided and spacing multiplied by (recent / usual "
                                                       "volatility) ** vol_exponent; 0 turns it off")
    vol_horizon: Duration = Field(1800.0, description="window of the recent volatility")
    vol_reference: Duration = Field(86400.0, description="window of the usual volatility")
    flow_impact_bps: float = Field(0.0, ge=0, description="quote centre shift, bps per $1M of net taker buying on "
                                                          "the tape (adverse selection); 0 turns it off")
    mid_weight: Fraction = Field(1.0, description="with flow_impact_bps: share of the gap between quote centre "
                                                  "and mid closed each step; 1 centres on mid")


class NoiseCohort(Cohort):
    """Zero-intelligence traders: random side, market or limit orders."""

    strategy: Literal["noise"]
    market_prob: Fraction = 0.2
    size_usd: Param = 2_000.0
    offset_bps: Param = Field(5.0, description="limit distance from the touch on its own side, bps")
    max_orders: int = Field(3, ge=1, description="resting orders kept; the oldest is cancelled beyond this")
    offset_alpha: float = Field(0.0, ge=0, description="0: exponential limit distances of mean offset_bps; > 0: power "
                                                       "law P(d > x) = (1 + x/offset_bps)^-offset_alpha")
    max_offset_bps: float = Field(500.0, gt=0, description="cap on the power-law limit distance, bps")
    size_alpha: float = Field(0.0, ge=0, description="0: exponential order sizes of mean size_usd; > 1: Pareto sizes "
                                                     "of mean size_usd with this tail exponent")
    max_size_factor: float = Field(50.0, gt=0, description="cap on a Pareto order size, in multiples of size_usd")
    attention: float = Field(0.0, ge=0, description="act on attention_base * (recent / usual volatility) ** attention "
                                                    "of activations (at most all); 0: act on every activation")
    attention_base: Fraction = Field(1.0, description="share of activations acted on at usual volatility")
    attention_horizon: Param = Field(1800.0, description="window of the recent volatility, seconds")
    attention_reference: Duration = Field(86400.0, description="window of the usual volatility")

    @model_validator(mode="after")
    def _size_tail_and_horizon(self):
        if 0 < self.size_alpha <= 1:
            raise ValueError("size_alpha must be above 1 (a finite mean), or 0 for exponential sizes")
        require_at_least(self, "attention_horizon", 0)
        return self


class FundamentalistCohort(Cohort):
    """Trades toward the asset's fundamental value."""

    strategy: Literal["fundamentalist"]
    size_usd: Param = 5_000.0
    threshold_bps: Param = Field(10.0, description="mispricing needed before acting, bps")
    market_prob: Fraction = 0.5
    max_position_usd: Param = 200_000.0


class StopCluster(Strict):
    """Stops placed just beyond a price level: a named one, or the recent high (shorts) / low (longs)."""

    level: float | dict[str, float] | Literal["recent_extreme"] = Field(
        description="a price (e.g. a thrice-rejected high), a price per asset symbol, or recent_extreme: the "
                    "high (for shorts) or low (for longs) of the last `window`")
    window: Duration = Field(6 * 3600.0, description="look-back for recent_extreme")
    share: Fraction = Field(description="share of stop users whose stop sits beyond the level")
    beyond_bps: Param = Field(10.0, description="how far beyond the level, bps")
    sides: Literal["both", "short", "long"] = Field(
        "both", description="whose stops the level anchors: shorts (above a resistance), longs (below a support) or both")

    @model_validator(mode="after")
    def _positive_level(self):
        levels = self.level.values() if isinstance(self.level, dict) else [self.level]
        if any(isinstance(v, float) and v <= 0 for v in levels):
            raise ValueError("level must be a positive price, a price per asset, or recent_extreme")
        return self


class LeveragedCohort(Cohort):
    """Leveraged speculators: directional positions with stops and take-profits."""

    strategy: Literal["leveraged"]
    size_usd: Param = Field(10_000.0, description="position notional, USD (heavy-tailed: use pareto)")
    long_prob: Param = Field(0.5, description="probability that a new position is long (the side bias)")
    entry_market_prob: Fraction = Field(0.5, description="share of entries sent as market orders (else join the touch)")
    stop_prob: Fraction = Field(0.7, description="share of traders who protect positions with a stop")
    stop_bps: Param = Field(150.0, description="stop distance from entry, bps")
    stop_cluster: StopCluster | None = None
    take_profit_bps: Param = Field(300.0, description="take-profit distance from entry, bps")
    holding_s: Param = Field(6 * 3600.0, description="mean holding time, seconds")

    @model_validator(mode="after")
    def _probabilities(self):
        lo, hi = bounds(self.long_prob)
        if lo < 0 or hi > 1:
            raise ValueError(f"long_prob must lie in [0, 1] (possible range {lo}..{hi}); add min/max")
        return self


class BetaCohort(Cohort):
    """Beta traders: keep the other assets moving with the first at their beta (see agents.arbitrage)."""

    strategy: Literal["beta"]
    size_usd: Param = 20_000.0
    beta_noise: Param = Field(1.0, description="multiplies each asset's beta, per trader (spread of views)")
    threshold_bps: Param = Field(15.0, description="mispricing vs the beta target needed before acting, bps")
    market_prob: Fraction = 0.7
    max_position_usd: Param = 2_000_000.0


class BasisCohort(Cohort):
    """Funding harvesters: long the perp when funding is negative, short when positive (see agents.arbitrage)."""

    strategy: Literal["basis"]
    size_usd: Param = 200_000.0
    full_rate: float = Field(0.0003, gt=0, description="predicted funding rate (per period) at which they hold the most")
    max_position_usd: Param = 20_000_000.0
    market_prob: Fraction = 0.3


CohortSpec = Annotated[
    Union[MarketMakerCohort, NoiseCohort, FundamentalistCohort, LeveragedCohort, BetaCohort, BasisCohort],
    Field(discriminator="strategy"),
]
COHORT_STRATEGIES = ("market_maker", "noise", "fundamentalist", "leveraged", "beta", "basis")


