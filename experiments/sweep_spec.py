"""Sweep files: the schema, the points, the run seeds and up-front validation.

A sweep file names a base scenario, dotted-key overrides applied to every
run (``base``), the axes to vary (grid lists, or ranges sampled jointly with
``scipy.stats.qmc``), seeds per point and the summary metrics to keep. See
``docs/sweeps.md``. :func:`load_sweep` reads and validates the file and
returns a :class:`Sweep`: the resolved spec whose :meth:`Sweep.resolved` dict
is written to ``sweep.yaml`` and whose hash identifies the sweep on resume.
:func:`build_scenarios` validates every point's scenario before any run.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from experiments.cli import UsageError
from model.scenario import Scenario, ScenarioError, format_validation_error, load_scenario_data, scenario_from_data
from model.schema_types import Strict
from model.yamlio import YamlError, line_of, load_yaml

CASCADE_METRIC = "liquidations.total_usd"
"""Compared with ``cascade_threshold_usd`` for the cascade probability; always kept."""
SAMPLER_STREAM = 0x5A3E
"""Mixed into the root seed for the quasi-random samplers, so they never share a stream with a run."""


class Axis(Strict):
    """One swept key: a grid of ``values`` (a YAML list) or a sampled ``range``."""

    values: list[Any] | None = Field(None, min_length=1)
    range: tuple[float, float] | None = None
    n: int | None = Field(None, ge=1, le=100_000, description="sampled points (range only)")
    sampler: Literal["sobol", "latin_hypercube"] = "sobol"
    log: bool = Field(False, description="sample uniformly in log space")

    @model_validator(mode="before")
    @classmethod
    def _list_is_grid(cls, data: Any) -> Any:
        return {"values": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.values is None) == (self.range is None):
            raise ValueError("an axis is a list of values or {range: [low, high], n: N, sampler: sobol}")
        if self.values is not None:
            bad = [v for v in self.values if not isinstance(v, (int, float, str)) or isinstance(v, bool)]
            if bad:
                raise ValueError(f"grid values must be numbers or strings, got {bad[0]!r}")
        else:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"range must be [low, high] with low < high, got {list(self.range)}")
            if self.n is None:
                raise ValueError("a range axis needs n (how many points to sample)")
            if self.log and low <= 0:
                raise ValueError("log: true needs a positive range")
        return self

    @property
    def sampled(self) -> bool:
        """True for a range axis (drawn with a quasi-random sampler)."""
        return self.range is not None


class QuickSpec(Strict):
    """What ``--quick`` shrinks the sweep to."""

    points: int = Field(2, ge=1, description="values kept per axis (grid: evenly spaced incl. both ends)")
    seeds: int = Field(1, ge=1)
    base: dict[str, Any] = Field(default_factory=dict, description="extra overrides, on top of base")


class SweepFile(Strict):
    """A sweep file as written."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenario: str = Field(description="scenario file, relative to the sweep file")
    base: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, Axis] = Field(min_length=1)
    seeds: int = Field(1, ge=1, le=10_000)
    root_seed: int = Field(0, ge=0)
    metrics: list[str] = Field(min_length=1)
    cascade_threshold_usd: float = Field(1e6, gt=0)
    keep_series: bool = False
    quick: QuickSpec = QuickSpec()

    @model_validator(mode="after")
    def _consistent(self):
        sampled = [a for a in self.axes.values() if a.sampled]
        if len({a.n for a in sampled}) > 1 or len({a.sampler for a in sampled}) > 1:
            raise ValueError("sampled axes are drawn jointly: give them all the same n and sampler")
        clash = set(self.axes) & set(self.metrics)
        if clash:
            raise ValueError(f"{sorted(clash)} is both an axis and a metric")
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("metrics must not repeat")
        return self


@dataclass
class Sweep:
    """A loaded, resolved sweep: its file, spec (``--quick`` applied) and points."""

    path: Path
    spec: SweepFile
    scenario_path: Path
    base: dict[str, Any]
    axes: dict[str, list[Any] | dict[str, Any]]
    points: list[dict[str, Any]]
    quick: bool
    node: Any = None

    @property
    def seeds(self) -> int:
        """Seeds per point."""
        return self.spec.seeds

    @property
    def metrics(self) -> list[str]:
        """Metrics kept per run: those asked for, plus the cascade measure."""
        return list(dict.fromkeys([*self.spec.metrics, CASCADE_METRIC]))

    @property
    def n_runs(self) -> int:
        """Points × seeds."""
        return len(self.points) * self.seeds

    def run_id(self, point: int, seed_index: int) -> str:
        """Deterministic run id ``p0003-s1``."""
        return f"p{point:04d}-s{seed_index}"

    def overrides(self, point: int) -> dict[str, Any]:
        """Dotted-key overrides of one point: base, then the point's axis values."""
        return {**self.base, **self.points[point]}

    @functools.cached_property
    def scenario_file(self) -> tuple[Any, Any]:
        """The base scenario file's parsed data and YAML node tree, read once (parsing is slow, points many).

        Raises:
            UsageError: the file is missing or not valid YAML.
        """
        try:
            return load_scenario_data(self.scenario_path)
        except ScenarioError as exc:
            raise UsageError(f"{_where(self, 'scenario')}: {exc}") from None

    def scenario(self, overrides: dict[str, Any]) -> Scenario:
        """The base scenario with dotted-key ``overrides`` applied, validated.

        Raises:
            ScenarioError: naming the scenario file, the line and the key.
        """
        return scenario_from_data(self.scenario_path, *self.scenario_file, overrides)

    def resolved(self) -> dict[str, Any]:
        """The content of ``sweep.yaml``: everything a run depends on, plus its hash."""
        core = {
            "name": self.spec.name,
            "quick": self.quick,
            "base": self.base,
            "axes": self.axes,
            "seeds": self.seeds,
            "root_seed": self.spec.root_seed,
            "metrics": self.metrics,
            "keep_series": self.spec.keep_series,
            # the file's parsed content, not the validated model: new schema defaults must not orphan a folder
            "scenario_digest": _digest(self.scenario_file[0]),
            "points": self.points,
        }
        return {
            "description": self.spec.description,
            "sweep_file": str(self.path.resolve()),
            "scenario": str(self.scenario_path.resolve()),
            "cascade_threshold_usd": self.spec.cascade_threshold_usd,
            "n_points": len(self.points),
            "n_runs": self.n_runs,
            **core,
            "spec_hash": _digest(core),
        }


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------- seeds


def run_seeds(root_seed: int, n_runs: int) -> list[int]:
    """Run k's seed: child k of ``SeedSequence(root_seed)``, as one 32-bit int.

    Child k does not depend on ``n_runs``, the job count or the backend.
    """
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(root_seed).spawn(n_runs)]


# --------------------------------------------------------------------- points


def _shrink(values: list[Any], k: int) -> list[Any]:
    """``k`` evenly spaced values, always keeping the first and the last."""
    if len(values) <= k:
        return list(values)
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, k)).astype(int))
    return [values[i] for i in idx]


def _samples(axes: Mapping[str, Axis], root_seed: int) -> dict[str, list[float]]:
    """Joint quasi-random draws for the sampled axes, scaled to their ranges."""
    sampled = {k: a for k, a in axes.items() if a.sampled}
    if not sampled:
        return {}
    from scipy.stats import qmc

    first = next(iter(sampled.values()))
    rng = np.random.default_rng([root_seed, SAMPLER_STREAM])
    engine_cls = qmc.Sobol if first.sampler == "sobol" else qmc.LatinHypercube
    engine = engine_cls(d=len(sampled), seed=rng)
    with warnings.catch_warnings():  # Sobol warns when n is not a power of two; still usable
        warnings.simplefilter("ignore", UserWarning)
        unit = engine.random(first.n)
    out = {}
    for j, (key, axis) in enumerate(sampled.items()):
        low, high = axis.range
        if axis.log:
            vals = np.exp(np.log(low) + unit[:, j] * (np.log(high) - np.log(low)))
        else:
            vals = low + unit[:, j] * (high - low)
        out[key] = [float(v) for v in vals]
    return out


def make_points(axes: Mapping[str, Axis], root_seed: int) -> list[dict[str, Any]]:
    """Every point: the product of the grid axes times the joint samples of the range axes."""
    grids = {k: a.values for k, a in axes.items() if not a.sampled}
    samples = _samples(axes, root_seed)
    n_samples = len(next(iter(samples.values()))) if samples else 1
    points = []
    for combo in itertools.product(*grids.values()):
        for i in range(n_samples):
            point = dict(zip(grids, combo))
            point.update({k: v[i] for k, v in samples.items()})
            points.append({k: point[k] for k in axes})  # axis order as written
    return points


# -------------------------------------------------------------------- loading


def _apply_quick(spec: SweepFile) -> SweepFile:
    q = spec.quick
    axes = {}
    for key, axis in spec.axes.items():
        if axis.sampled:
            axes[key] = axis.model_copy(update={"n": min(axis.n, q.points)})
        else:
            axes[key] = axis.model_copy(update={"values": _shrink(axis.values, q.points)})
    return spec.model_copy(update={"axes": axes, "seeds": min(spec.seeds, q.seeds), "base": {**spec.base, **q.base}})


def load_sweep(path: str | Path, quick: bool = False) -> Sweep:
    """Read and validate a sweep file, check its axes against the scenario, and resolve its points.

    Raises:
        UsageError: naming the sweep file, the line and the key.
    """
    path = Path(path)
    try:
        data, node, _ = load_yaml(path)
    except YamlError as exc:
        raise UsageError(str(exc)) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of sweep keys at the top level")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(path, exc, node)
        raise UsageError(message.replace("the README's scenario reference", "docs/sweeps.md")) from None
    if quick:
        spec = _apply_quick(spec)
    scenario_path = Path(spec.scenario) if Path(spec.scenario).is_absolute() else path.parent / spec.scenario
    axes_out = {k: (a.values if not a.sampled else a.model_dump(include={"range", "n", "sampler", "log"}))
                for k, a in spec.axes.items()}
    sweep = Sweep(path, spec, scenario_path, dict(spec.base), axes_out, make_points(spec.axes, spec.root_seed),
                  quick, node)
    check_axes(sweep)
    return sweep


def _where(sweep: Sweep, *loc: Any) -> str:
    line = line_of(sweep.node, loc) if sweep.node is not None else None
    return f"{sweep.path}:{line}" if line else str(sweep.path)


def check_axes(sweep: Sweep) -> None:
    """Build the scenario for the base and for each axis's first and last value.

    Raises:
        UsageError: naming the sweep file, the axis key and the scenario's error.
    """
    try:
        sweep.scenario(sweep.base)
    except ScenarioError as exc:
        raise UsageError(f"{_where(sweep, 'base')}: base: {exc}") from None
    first = sweep.points[0]
    for key, axis in sweep.spec.axes.items():
        ends = axis.range if axis.sampled else (axis.values[0], axis.values[-1])
        for value in dict.fromkeys(ends):
            try:
                sweep.scenario({**sweep.base, **first, key: value})
            except ScenarioError as exc:
                raise UsageError(f"{_where(sweep, 'axes', key)}: axes.{key} = {value!r}: {exc}") from None


def build_scenarios(sweep: Sweep) -> list[Scenario]:
    """The validated scenario of every point (all built before any run starts).

    Raises:
        UsageError: naming the point and the scenario's error.
    """
    out = []
    for i, point in enumerate(sweep.points):
        try:
            out.append(sweep.scenario(sweep.overrides(i)))
        except ScenarioError as exc:
            raise UsageError(f"{_where(sweep, 'axes')}: point {i} {point}: {exc}") from None
    return out


# -------------------------------------------------------------------- metrics


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Scalar leaves of nested dicts and lists as dotted keys (list items by index)."""
    if isinstance(data, Mapping):
        items = ((str(k), v) for k, v in data.items())
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def metric_value(summary: Mapping[str, Any], key: str) -> float:
    """One metric (a dotted key into ``summary.json``) as a float; None → NaN.

    Raises:
        KeyError: the key is not in the summary (the message lists the available keys).
        TypeError: the value is not a number.
    """
    flat = flatten(summary)
    if key not in flat:
        numeric = sorted(k for k, v in flat.items() if _is_number(v))
        raise KeyError(f"metric {key!r} is not in the run summary; available: {', '.join(numeric)}")
    value = flat[key]
    if value is None:
        return math.nan
    if not _is_number(value):
        raise TypeError(f"metric {key!r} is not a number: {value!r}")
    return float(value)


def summary_keys(scenario: Scenario) -> tuple[set[str], set[str]]:
    """Keys a run's summary will have, from a built but unrun model: ``(scalar keys, list prefixes)``.

    List-valued entries (shocks, funding) fill up only while running, so any
    key under one of the returned prefixes is accepted.
    """
    from experiments.run import package_version
    from experiments.summary import summarize
    from model.market import MarketModel
    from model.results import liquidations_frame, run_facts, trades_frame

    model = MarketModel(scenario, rng=0)
    summary = summarize(scenario, 0, model.recorder.to_frame(scenario.start), trades_frame(model),
                        liquidations_frame(model), run_facts(model), 0.0, package_version())
    lists: set[str] = set()

    def walk(d: Any, prefix: str) -> None:
        if isinstance(d, list):
            lists.add(prefix)
        elif isinstance(d, Mapping):
            for k, v in d.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))

    walk(summary, "")
    numeric = {k for k, v in flatten(summary).items() if v is None or _is_number(v)}
    return numeric, lists


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_metrics(sweep: Sweep, scenario: Scenario) -> None:
    """Reject metric keys the runs' summaries will not have, before any run.

    Raises:
        UsageError: naming the sweep file, the metric and the available keys.
    """
    keys, lists = summary_keys(scenario)
    for metric in sweep.metrics:
        if metric in keys or any(metric.startswith(p + ".") for p in lists):
            continue
        raise UsageError(f"{_where(sweep, 'metrics')}: metrics: {metric!r} is not a key of summary.json; "
                         f"available: {', '.join(sorted(keys))}")
