"""Building the trader population from a scenario's cohorts.

Each cohort's heterogeneous parameters are drawn as numpy arrays from the
model's generator, every account is funded and given its leverage (capped at
each asset's top-tier maximum), and one Mesa agent per trader is made on
first use (`TraderRoster`).
This module only translates scenario cohorts into agent constructor arguments.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence

import numpy as np

from agents.arbitrage import BasisTrader, BetaTrader
from agents.market_maker import MarketMaker
from agents.speculator import LeveragedSpeculator
from agents.traders import Fundamentalist, NoiseTrader, Trader
from model.cohorts import (BasisCohort, BetaCohort, Cohort, FundamentalistCohort, LeveragedCohort, MarketMakerCohort,
                           NoiseCohort)
from model.distributions import draw


def population_size(scenario) -> int:
    """Number of trader accounts a scenario opens."""
    return sum(c.count for c in scenario.population)


class TraderRoster(Sequence):
    """The trader agents in account order, each made the first time it is needed.

    Every account is funded and leveraged at the venue from the start, but a
    trader becomes a Mesa agent (and joins ``model.agents``) only when it is
    first activated or looked up: an idle trader costs a ledger row, not an
    object. Making an agent draws no random numbers and reads only what
    nothing changes before the agent first acts (its own ledger row, the
    start prices), so when it is made does not change a run. Iterating the
    roster makes every agent.
    """

    def __init__(self, model) -> None:
        self._model = model
        self.made: list[Trader | None] = []  # per account: its agent, or None until it is made (read-only)
        self.compiled: list = []  # per account: its agent's compiled activation (`Trader.compiled`), or None
        self._starts: list[int] = []  # first account of each cohort
        self._cohorts: list[tuple[type, list[int], dict]] = []  # (class, assets, per-trader kwargs)
        self.strategies: list[str] = []

    def add_cohort(self, cls: type, strategy: str, assets: list[int], kwargs: dict, n: int) -> None:
        """Register ``n`` traders; ``kwargs`` values that are lists hold one value per trader."""
        self._starts.append(len(self.made))
        self._cohorts.append((cls, assets, kwargs))
        self.made.extend([None] * n)
        self.compiled.extend([None] * n)
        self.strategies.extend([strategy] * n)

    def __len__(self) -> int:
        return len(self.made)

    def __getitem__(self, account: int) -> Trader:  # type: ignore[override]
        agent = self.made[account]
        if agent is None:
            c = bisect_right(self._starts, account) - 1
            cls, assets, kwargs = self._cohorts[c]
            k = account - self._starts[c]
            args = {key: (vals[k] if isinstance(vals, list) else vals) for key, vals in kwargs.items()}
            agent = self.made[account] = cls(self._model, account, assets, **args)
            self.compiled[account] = agent.compiled
        return agent

    def __iter__(self) -> Iterator[Trader]:
        return (self[i] for i in range(len(self.made)))


def act_each(roster: TraderRoster, active: list[int]) -> None:
    """Activate the traders of accounts ``active`` in order, making any not made yet.

    `agents.traders_native.act_each` is the same loop compiled, which runs an agent's
    compiled activation (`Trader.compiled`) where it has one.
    """
    made = roster.made
    for i in active:
        agent = made[i]
        if agent is None:  # its first activation: make the agent
            agent = roster[i]
        agent.act()


def build_population(model, scenario) -> tuple[TraderRoster, np.ndarray, list[str]]:
    """Fund every trader's account, set its leverage and register its cohort's agents.

    Returns:
        The traders in account order (a `TraderRoster`: agents are made on
        first use), their activation rates (per second) and the cohort name of
        each account.
    """
    rng, venue = model.rng, model.venue
    roster = TraderRoster(model)
    rates: list[np.ndarray] = []
    cohort_of: list[str] = []
    symbols = scenario.symbols
    betas = [1.0] + [a.beta for a in scenario.assets[1:]]
    for cohort in scenario.population:
        n = cohort.count
        if n == 0:
            continue
        assets = [symbols.index(s) for s in (cohort.assets or symbols)]
        wallet = draw(cohort.wallet, n, rng)
        rates.append(draw(cohort.rate, n, rng))
        leverage = draw(cohort.leverage, n, rng)
        # Python floats, not numpy scalars: agents do scalar arithmetic on them.
        drawn = _draw_kwargs(cohort, n, rng, betas, symbols)
        kwargs = {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in drawn.items()}
        first = len(roster)
        venue.deposit_many(first, wallet)
        for a in assets:
            venue.ledger.leverage[first:first + n, a] = np.minimum(leverage, float(venue.tiers[a].max_leverage[0]))
        roster.add_cohort(_CLASSES[cohort.strategy], cohort.strategy, assets, kwargs, n)
        cohort_of.extend([cohort.name] * n)
    return roster, (np.concatenate(rates) if rates else np.zeros(0)), cohort_of


def _draw_kwargs(cohort: Cohort, n: int, rng: np.random.Generator, betas: list[float], symbols: list[str]) -> dict:
    """Constructor arguments per strategy.

    Per-trader values are numpy arrays or lists of length ``n`` (trader k gets
    element k); anything else is shared by the whole cohort.
    """
    size = draw(cohort.size_usd, n, rng)
    if isinstance(cohort, MarketMakerCohort):
        return dict(size_usd=size, levels=cohort.levels, first_bps=draw(cohort.first_bps, n, rng),
                    spacing_bps=draw(cohort.spacing_bps, n, rng), size_growth=cohort.size_growth,
                    skew_bps=cohort.skew_bps, max_inventory_usd=cohort.max_inventory_usd,
                    requote_every=cohort.requote_every, requote_bps=cohort.requote_bps,
                    stress_bps=cohort.stress_bps, stress_window=cohort.stress_window,
                    index_weight=cohort.index_weight, refill_every=cohort.refill_every,
                    vol_exponent=cohort.vol_exponent, vol_horizon=cohort.vol_horizon,
                    vol_reference=cohort.vol_reference, flow_impact_bps=cohort.flow_impact_bps,
                    mid_weight=cohort.mid_weight)
    if isinstance(cohort, NoiseCohort):
        return dict(size_usd=size, market_prob=cohort.market_prob, offset_bps=draw(cohort.offset_bps, n, rng),
                    max_orders=cohort.max_orders, offset_alpha=cohort.offset_alpha,
                    max_offset_bps=cohort.max_offset_bps, size_alpha=cohort.size_alpha,
                    max_size_factor=cohort.max_size_factor, attention=cohort.attention,
                    attention_base=cohort.attention_base, attention_horizon=draw(cohort.attention_horizon, n, rng),
                    attention_reference=cohort.attention_reference)
    if isinstance(cohort, FundamentalistCohort):
        return dict(size_usd=size, threshold_bps=draw(cohort.threshold_bps, n, rng),
                    market_prob=cohort.market_prob, max_position_usd=draw(cohort.max_position_usd, n, rng))
    if isinstance(cohort, LeveragedCohort):
        return dict(size_usd=size, long_prob=draw(cohort.long_prob, n, rng),
                    entry_market_prob=cohort.entry_market_prob, stop_bps=_stop_distances(cohort, n, rng),
                    stop_levels=_stop_levels(cohort, n, rng, symbols), stop_beyond_bps=draw(
                        cohort.stop_cluster.beyond_bps if cohort.stop_cluster else 0.0, n, rng),
                    stop_window=cohort.stop_cluster.window if cohort.stop_cluster else 0.0,
                    stop_sides=_CLUSTER_SIDES[cohort.stop_cluster.sides if cohort.stop_cluster else "both"],
                    take_profit_bps=draw(cohort.take_profit_bps, n, rng),
                    holding_s=draw(cohort.holding_s, n, rng))
    if isinstance(cohort, BetaCohort):
        return dict(size_usd=size, betas=[betas] * n, beta_noise=draw(cohort.beta_noise, n, rng),
                    threshold_bps=draw(cohort.threshold_bps, n, rng), market_prob=cohort.market_prob,
                    max_position_usd=draw(cohort.max_position_usd, n, rng))
    if isinstance(cohort, BasisCohort):
        return dict(size_usd=size, full_rate=cohort.full_rate, max_position_usd=draw(cohort.max_position_usd, n, rng),
                    market_prob=cohort.market_prob)
    raise TypeError(f"no agent class for cohort strategy {cohort.strategy!r}")


_CLUSTER_SIDES = {"both": 0, "long": 1, "short": -1}


def _stop_distances(cohort: LeveragedCohort, n: int, rng: np.random.Generator) -> np.ndarray:
    """Stop distance in bps per trader; NaN for traders who use no stop."""
    dist = draw(cohort.stop_bps, n, rng)
    return np.where(rng.random(n) < cohort.stop_prob, dist, np.nan)


def _stop_levels(cohort: LeveragedCohort, n: int, rng: np.random.Generator, symbols: list[str]) -> list:
    """Per trader, the price level per asset that anchors its stop, or None where stops follow entry.

    ``inf`` stands for "the recent extreme"; NaN for an asset the cluster names no level for.
    """
    c = cohort.stop_cluster
    if c is None:
        return [None] * n
    if c.level == "recent_extreme":
        per_asset = [np.inf] * len(symbols)
    elif isinstance(c.level, dict):
        per_asset = [float(c.level.get(sym, np.nan)) for sym in symbols]
    else:
        per_asset = [float(c.level)] * len(symbols)
    anchored = rng.random(n) < c.share
    return [per_asset if k else None for k in anchored]


_CLASSES = {"market_maker": MarketMaker, "noise": NoiseTrader, "fundamentalist": Fundamentalist,
            "leveraged": LeveragedSpeculator, "beta": BetaTrader, "basis": BasisTrader}
