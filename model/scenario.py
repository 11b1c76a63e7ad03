"""The scenario schema and `load_scenario`.

A scenario file describes a market (assets, venue rules), its population
(cohorts of traders) and, in later versions, shocks and targets. It is
validated completely before any work starts; every model forbids unknown keys.
A bad file raises `ScenarioError`, whose message names the file, the line,
the key path and what was expected, e.g.::

    scenarios/calm.yaml:12: population.0.count: Input should be greater than or equal to 0
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from model.distributions import Param, bounds
from model.yamlio import YamlError, line_of, load_yaml, set_dotted

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|min|m|h|d)\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from ``"36h"``, ``"90m"``, ``"1s"``, ``"2d"``, ``"500ms"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '24h', '90m' or '1s'")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError(f"expected a duration such as '24h', '90m' or '1s', got {value!r}")


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,9}$")]


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class AssetSpec(Strict):
    """One perpetual contract and its book."""

    symbol: Symbol
    price: float = Field(gt=0, description="start price, USD")
    tick_size: float = Field(gt=0)
    lot_size: float = Field(gt=0)
    fundamental_vol: float = Field(0.01, ge=0, description="fundamental value volatility per sqrt(day)")

    @model_validator(mode="after")
    def _on_grid(self):
        ticks = self.price / self.tick_size
        if abs(ticks - round(ticks)) > 1e-6 * ticks:
            raise ValueError(f"price {self.price} is not a multiple of tick_size {self.tick_size}")
        return self


class VenueSpec(Strict):
    """Exchange rules shared by every book."""

    maker_fee: float = Field(0.0002, ge=-0.001, le=0.01)
    taker_fee: float = Field(0.0005, ge=0, le=0.01)

    @model_validator(mode="after")
    def _no_arbitrage(self):
        if self.maker_fee + self.taker_fee < 0:
            raise ValueError("a maker rebate larger than the taker fee lets traders print money")
        return self


class Cohort(Strict):
    """Fields every cohort has."""

    name: str = Field(min_length=1)
    count: int = Field(ge=0)
    wallet: Param = Field(description="starting wallet, USD")
    rate: Param = Field(0.0, description="activations per simulated second")
    assets: list[Symbol] | None = Field(None, description="assets this cohort trades; all if omitted")

    @model_validator(mode="after")
    def _positive(self):
        for key in ("wallet", "rate"):
            lo, _ = bounds(getattr(self, key))
            if lo < 0:
                raise ValueError(f"{key} must never be negative (lowest possible value {lo}); add min: 0")
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


class NoiseCohort(Cohort):
    """Zero-intelligence traders: random side, market or limit orders."""

    strategy: Literal["noise"]
    market_prob: Fraction = 0.2
    size_usd: Param = 2_000.0
    offset_bps: Param = Field(5.0, description="limit distance from the touch on its own side, bps")
    max_orders: int = Field(3, ge=1, description="resting orders kept; the oldest is cancelled beyond this")


class FundamentalistCohort(Cohort):
    """Trades toward the asset's fundamental value."""

    strategy: Literal["fundamentalist"]
    size_usd: Param = 5_000.0
    threshold_bps: Param = Field(10.0, description="mispricing needed before acting, bps")
    market_prob: Fraction = 0.5
    max_position_usd: Param = 200_000.0


CohortSpec = Annotated[Union[MarketMakerCohort, NoiseCohort, FundamentalistCohort], Field(discriminator="strategy")]


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
        if self.record_every < self.dt or self.duration < self.dt:
            raise ValueError("record_every and duration must be at least dt")
        if self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=timezone.utc)
        return self

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


def _is_union_tag(key: Any) -> bool:
    return isinstance(key, str) and (key in {"constant", "lognormal", "normal", "uniform", "pareto", "choice",
                                             "float", "market_maker", "noise", "fundamentalist"}
                                     or "[" in key)


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
    data, node = load_scenario_data(path)
    for key, value in (overrides or {}).items():
        if not isinstance(data, dict):
            break
        try:
            data = set_dotted(data, key, value)
        except KeyError as exc:
            raise ScenarioError(f"{path}: override {exc.args[0]}") from None
    return validate_scenario(data, path, node)
