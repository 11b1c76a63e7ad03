"""The scenario schema and `load_scenario`.

A scenario file describes a market (assets, venue rules), its population
(cohorts of traders) and, in later versions, shocks and targets. It is
validated completely before any work starts; every model forbids unknown keys.
A bad file raises `ScenarioError`, whose message names the file, the line,
the key path and what was expected, e.g.::

    scenarios/calm.yaml:12: population.0.count: Input should be greater than or equal to 0
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from agents.exchange.margin import TierTable
from model.distributions import Param, bounds
from model.cohorts import COHORT_STRATEGIES, CohortSpec
from model.sentiment import GRAPH_KINDS
from model.shocks import SHOCK_KINDS, ShockSpec
from model.targets import EventSpec, TargetSpec
from model.schema_types import Duration, Strict, Symbol, parse_duration
from model.yamlio import YamlError, line_of, load_yaml, set_dotted

__all__ = ["Scenario", "ScenarioError", "load_scenario", "validate_scenario", "parse_duration"]

class AssetSpec(Strict):
    """One perpetual contract and its book."""

    symbol: Symbol
    price: float = Field(gt=0, description="start price, USD")
    tick_size: float = Field(gt=0)
    lot_size: float = Field(gt=0)
    fundamental_vol: float = Field(0.01, ge=0, description="fundamental value volatility per sqrt(day) (own part)")
    fundamental_half_life: Duration | None = Field(
        None, description="a ranging market: the own walk reverts to its anchor with this half-life "
                          "(Ornstein-Uhlenbeck in log price); fundamental jumps move the anchor. None: a random walk")
    beta: float = Field(1.0, ge=0, le=5, description="for assets after the first: the fundamental moves with the "
                                                     "first asset's to this power, times its own walk")
    tiers: list[tuple[float, float, float]] | None = Field(
        None, description="margin tiers as [notional cap, mmr, max leverage] rows; Binance BTCUSDT if omitted")

    @model_validator(mode="after")
    def _on_grid(self):
        if self.tiers is not None:
            TierTable.from_rows(self.tiers)  # raises ValueError with the reason
        ticks = self.price / self.tick_size
        if abs(ticks - round(ticks)) > 1e-6 * ticks:
            raise ValueError(f"price {self.price} is not a multiple of tick_size {self.tick_size}")
        return self


class VenueSpec(Strict):
    """Exchange rules shared by every book."""

    maker_fee: float = Field(0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(0.0005, ge=0, le=0.01)
    liquidation_fee: float = Field(0.015, ge=0, le=0.1, description="share of notional the fund keeps from a liquidation")
    insurance_fund: float = Field(10_000_000.0, ge=0, description="insurance fund at the start, USD")
    mark_method: Literal["median", "index", "ema", "last", "mid"] = "median"
    mark_half_life: Duration = 30.0
    funding_every: Duration = 8 * 3600.0
    funding_interest: float = Field(0.0001, ge=-0.01, le=0.01)
    funding_clamp: float = Field(0.0005, ge=0, le=0.05)
    funding_cap: float = Field(0.02, gt=0, le=0.1, description="funding rate cap per period (a venue setting)")
    fund_unwind_bps: float = Field(50.0, gt=0, description="the fund works off taken-over positions within this band of mark")
    fund_unwind_usd: float = Field(0.0, ge=0, description="at most this much notional per asset per step (0: all it can)")
    market_band: float = Field(0.05, gt=0, le=1, description="market orders fill only within this fraction of the mark")

    @model_validator(mode="after")
    def _no_arbitrage(self):
        if self.maker_fee + self.taker_fee < 0:
            raise ValueError("a maker rebate larger than the taker fee lets traders print money")
        return self


class NetworkSpec(Strict):
    """The social graph over the traders (one node per trader account)."""

    kind: Literal["barabasi_albert", "watts_strogatz", "erdos_renyi", "complete", "edge_list"] = "barabasi_albert"
    params: dict[str, int | float] = Field(default_factory=lambda: {"m": 3}, description="the graph generator's parameters")
    path: str | None = Field(None, description="edge-list file for kind: edge_list (relative to the scenario file)")
    hubs: int = Field(0, ge=0, description="number of influencer hubs (highest degree)")
    hub_weight: float = Field(1.0, ge=0, description="extra weight of a hub's opinion")

    @model_validator(mode="after")
    def _path(self):
        if (self.kind == "edge_list") != (self.path is not None):
            raise ValueError("path is required with kind: edge_list, and only then")
        return self


class SentimentSpec(Strict):
    """How sentiment updates and how strongly it drives behaviour (see model.sentiment)."""

    enabled: bool = False
    every: Duration = 60.0
    initial: Param = 0.0
    conformity: Param = 0.2
    momentum: Param = 0.3
    pain: Param = 1.0
    noise: Param = 0.02
    persistence: Param = 0.98
    return_window: Duration = 1800.0
    return_scale: float = Field(0.01, gt=0, description="a return of this size moves momentum traders by tanh(1)")
    side_weight: float = Field(0.4, ge=0, le=1, description="how far sentiment tilts the odds of buying")
    size_weight: float = Field(0.5, ge=0, description="size multiplier per unit of |sentiment| in the trade's direction")
    leverage_weight: float = Field(0.5, ge=0, description="leverage multiplier per unit of |sentiment| in the trade's direction")
    capitulation: float = Field(0.5, ge=0, le=1, description="a losing position is closed when sentiment is this far against it")
    conviction: float = Field(0.0, ge=0, lt=1, description="sentiment weaker than this moves no side, size or leverage "
                              "choice; beyond it the excess acts, rescaled to reach 1 at ±1")

    @model_validator(mode="after")
    def _ranges(self):
        lo, hi = bounds(self.initial)
        if lo < -1 or hi > 1:
            raise ValueError(f"initial sentiment must lie in [-1, 1] (possible range {lo}..{hi}); add min/max")
        for key in ("pain", "noise", "persistence", "conformity"):
            if bounds(getattr(self, key))[0] < 0:
                raise ValueError(f"{key} must never be negative; add min: 0")
        return self


class Scenario(Strict):
    """A complete, validated scenario."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    start: datetime = datetime(2026, 1, 12, tzinfo=timezone.utc)
    duration: Duration
    dt: Duration = 1.0
    record_every: Duration = 60.0
    assets: list[AssetSpec] = Field(min_length=1)
    venue: VenueSpec = VenueSpec()
    population: list[CohortSpec] = Field(min_length=1)
    network: NetworkSpec = NetworkSpec()
    sentiment: SentimentSpec = SentimentSpec()
    shocks: list[ShockSpec] = Field(default_factory=list)
    event: EventSpec | None = None
    targets: list[TargetSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self):
        symbols = [a.symbol for a in self.assets]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"asset symbols must be unique, got {symbols}")
        names = [c.name for c in self.population]
        if len(set(names)) != len(names):
            raise ValueError(f"cohort names must be unique, got {names}")
        for c in self.population:
            unknown = set(c.assets or []) - set(symbols)
            if unknown:
                raise ValueError(f"cohort {c.name!r} trades unknown assets {sorted(unknown)}; known: {symbols}")
        if self.sentiment.enabled:
            self._check_network()
        for i, shock in enumerate(self.shocks):
            shock.check(self, i)
        if self.event is not None and self.event.at >= self.duration:
            raise ValueError(f"event.at ({self.event.at:g} s) is not before the end of the run ({self.duration:g} s)")
        if any(t.metric.startswith("event.") for t in self.targets) and self.event is None:
            raise ValueError("targets on event.* metrics need an event: {at: ..., window: ...} section")
        if self.record_every < self.dt or self.duration < self.dt:
            raise ValueError("record_every and duration must be at least dt")
        if self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=timezone.utc)
        return self

    def _check_network(self) -> None:
        net, n = self.network, sum(c.count for c in self.population)
        required = set(GRAPH_KINDS[net.kind])
        if set(net.params) != required:
            raise ValueError(f"network.params for kind {net.kind!r} must be exactly {sorted(required)}, got {sorted(net.params)}")
        for key, value in net.params.items():
            if key in ("m", "k") and (not isinstance(value, int) or not 0 < value < n):
                raise ValueError(f"network.params.{key} must be a whole number between 1 and the population size - 1 ({n - 1})")
            if key == "p" and not 0 <= value <= 1:
                raise ValueError(f"network.params.p must be a probability in [0, 1], got {value}")
        if net.hubs > n:
            raise ValueError(f"network.hubs ({net.hubs}) exceeds the population size ({n})")

    @property
    def symbols(self) -> list[str]:
        """Asset symbols in book order."""
        return [a.symbol for a in self.assets]


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str(err)`` is the full user-facing message."""


def format_validation_error(path: str | Path, exc: ValidationError, node=None) -> str:
    """One line per problem: ``file:line: key.path: message``."""
    lines = []
    errors = exc.errors()
    paths = [tuple(str(k) for k in e["loc"] if not _is_union_tag(k)) for e in errors]
    for err, path_keys in zip(errors, paths):
        # A union (number or distribution) reports each alternative; keep the deepest.
        if any(len(p) > len(path_keys) and p[: len(path_keys)] == path_keys for p in paths):
            continue
        loc = tuple(err["loc"])
        keys = ".".join(path_keys) or "(top level)"
        line = line_of(node, loc) if node is not None else None
        where = f"{path}:{line}" if line else f"{path}"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the README's scenario reference)"
        lines.append(f"{where}: {keys}: {msg}")
    return "\n".join(dict.fromkeys(lines))


_UNION_TAGS = {"constant", "lognormal", "normal", "uniform", "pareto", "choice", "float", *COHORT_STRATEGIES,
               *SHOCK_KINDS}


def _is_union_tag(key: Any) -> bool:
    return isinstance(key, str) and (key in _UNION_TAGS or "[" in key)


def validate_scenario(data: Any, path: str | Path = "<scenario>", node=None) -> Scenario:
    """Validate already-loaded YAML data, raising `ScenarioError` with located messages."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario keys at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(path, exc, node)) from None


def load_scenario_data(path: str | Path) -> tuple[dict, Any]:
    """Read a scenario file's raw mapping and YAML node tree (for overrides)."""
    try:
        data, node, _ = load_yaml(path)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    return data, node


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file, applying dotted-key overrides first.

    Raises:
        ScenarioError: with a message naming the file, line and key.
    """
    return scenario_from_data(path, *load_scenario_data(path), overrides)


def scenario_from_data(path: str | Path, data: Any, node: Any, overrides: dict[str, Any] | None = None) -> Scenario:
    """`load_scenario` on a file already read by `load_scenario_data` (a sweep reads its base file once).

    ``data`` is left unchanged: overrides copy what they write to.

    Raises:
        ScenarioError: with a message naming the file, line and key.
    """
    for key, value in (overrides or {}).items():
        if not isinstance(data, dict):
            break
        try:
            data = set_dotted(data, key, value)
        except KeyError as exc:
            raise ScenarioError(f"{path}: override {exc.args[0]}") from None
    scenario = validate_scenario(data, path, node)
    net = scenario.network
    if net.path is not None:
        edge_file = Path(net.path) if Path(net.path).is_absolute() else Path(path).parent / net.path
        if not edge_file.is_file():
            line = line_of(node, ("network", "path"))
            raise ScenarioError(f"{path}:{line}: network.path: edge-list file {edge_file} not found")
        net.path = str(edge_file)
    return scenario
