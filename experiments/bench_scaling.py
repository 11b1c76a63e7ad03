"""``squeeze bench --scaling``: how wall time grows with traders, simulated hours and jobs.

Four measurements, each a curve of wall-clock seconds on this machine:

* **traders**: every cohort but the market makers multiplied by 1, 4 and 16,
  with each trader's activation rate divided by the same factor, so the
  order rate per simulated second stays fixed: the cost should follow the
  orders, not the head count;
* **idle traders**: the scenario plus ten times its traders in a cohort that
  never acts (rate 0); the extra wall time should stay small;
* **hours**: the same scenario for 1, 2 and 4 simulated hours (linear is right);
* **jobs**: a 16-run sweep (``tests/data/sweep16.yaml``) with ``--jobs 1`` and
  ``--jobs 2``; the speed-up on two cores. The two alternate three times and
  each keeps its median, so a slow minute of a noisy machine does not decide
  the ratio, and a drift over the measurement slows both alike.

The table goes to ``scaling.csv`` and the curves to ``scaling.png`` in the
output folder, and both are printed with the command that reproduces them.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from operator import itemgetter
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.run import run_scenario
from model.scenario import load_scenario_data, validate_scenario

ROOT = Path(__file__).resolve().parents[1]
# The keys of a distribution that carry its scale (all of them move together).
_SWEEP_PAIRS = 3  # alternating 1-job and 2-job sweeps; each keeps its median
_SCALE_KEYS = ("value", "median", "mean", "std", "low", "high", "scale", "min", "max")


def scale_param(param: Any, factor: float) -> Any:
    """A heterogeneous parameter (number or distribution) multiplied by ``factor``."""
    if isinstance(param, (int, float)) and not isinstance(param, bool):
        return param * factor
    if isinstance(param, dict):
        out = dict(param)
        for k in _SCALE_KEYS:
            if isinstance(out.get(k), (int, float)):
                out[k] = out[k] * factor
        if isinstance(out.get("values"), list):
            out["values"] = [v * factor for v in out["values"]]
        return out
    raise TypeError(f"cannot scale parameter {param!r}")


def scaled_population(data: dict, factor: float) -> dict:
    """Scenario data with every non-maker cohort ``factor`` times larger and ``factor`` times slower."""
    out = copy.deepcopy(data)
    for cohort in out["population"]:
        if cohort["strategy"] == "market_maker":
            continue
        cohort["count"] = int(round(cohort["count"] * factor))
        cohort["rate"] = scale_param(cohort.get("rate", 0.0), 1.0 / factor)
    return out


def with_idle_traders(data: dict, factor: float = 10.0) -> dict:
    """Scenario data plus ``factor`` times its traders as noise traders that never act."""
    out = copy.deepcopy(data)
    n = sum(c["count"] for c in out["population"] if c["strategy"] != "market_maker")
    out["population"].append({"name": "idle", "strategy": "noise", "count": int(n * factor),
                              "wallet": 10_000, "rate": 0.0, "size_usd": 1_000})
    return out


def timed(data: dict, path: Path, seed: int = 1) -> dict:
    """Validate and run scenario data once; wall time (construction included) and orders."""
    t0 = time.perf_counter()
    scenario = validate_scenario(data, path)
    summary = run_scenario(scenario, seed).summary
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "orders": summary["orders"] + summary["cancels"],
            "traders": sum(c.count for c in scenario.population)}


def sweep_wall(sweep_path: Path, jobs: int) -> float:
    """Wall seconds of a whole sweep at ``jobs`` (into a throw-away folder)."""
    from experiments.sweep import run_sweep
    from experiments.sweep_spec import load_sweep

    sweep = load_sweep(sweep_path)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(sweep, Path(tmp) / "s", jobs=jobs, progress=False)
        return time.perf_counter() - t0


def measure(scenario: Path, hours: float = 1.0, factors: tuple[int, ...] = (1, 4, 16),
            hour_points: tuple[float, ...] = (1.0, 2.0, 4.0), sweep: Path | None = None) -> pd.DataFrame:
    """Every scaling measurement as rows of (curve, x, wall_s, orders, traders)."""
    data, _ = load_scenario_data(scenario)
    base = {**data, "duration": f"{hours}h", "shocks": [], "event": None, "targets": []}
    rows = []
    for f in factors:
        rows.append({"curve": "traders", "x": f, **timed(scaled_population(base, f), scenario)})
    # The idle pair differs by a few percent at most, less than run-to-run noise: best of three each.
    idle = with_idle_traders(base, 10)
    rows.append({"curve": "idle", "x": 0, **min((timed(base, scenario) for _ in range(3)), key=itemgetter("wall_s"))})
    rows.append({"curve": "idle", "x": 10, **min((timed(idle, scenario) for _ in range(3)), key=itemgetter("wall_s"))})
    for h in hour_points:
        rows.append({"curve": "hours", "x": h, **timed({**base, "duration": f"{h}h"}, scenario)})
    if sweep is not None:
        rows += jobs_rows(sweep)
    return pd.DataFrame(rows)


def jobs_rows(sweep: Path, pairs: int = _SWEEP_PAIRS) -> list[dict]:
    """The jobs curve: the sweep at 1 and 2 jobs, alternating ``pairs`` times; each point is its median."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(pairs):
        for j, w in walls.items():
            w.append(sweep_wall(sweep, j))
    return [{"curve": "jobs", "x": j, "wall_s": statistics.median(w), "orders": None, "traders": None}
            for j, w in walls.items()]


def verdicts(table: pd.DataFrame) -> dict[str, float]:
    """The ratios the targets are stated in."""
    out: dict[str, float] = {}
    w = table.set_index(["curve", "x"])["wall_s"]
    if ("traders", 16) in w and ("traders", 1) in w:
        out["wall 16x traders / 1x"] = w[("traders", 16)] / w[("traders", 1)]
    if ("idle", 10) in w:
        out["extra wall with 10x idle traders"] = w[("idle", 10)] / w[("idle", 0)] - 1.0
    if ("jobs", 2) in w:
        out["sweep speed-up, 2 jobs"] = w[("jobs", 1)] / w[("jobs", 2)]
    return out


def plot_scaling(table: pd.DataFrame, path: Path) -> Path:
    """Three panels: wall against traders, against simulated hours, against jobs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (curve, xlabel) in zip(axes, [("traders", "traders (× scenario, same order rate)"),
                                          ("hours", "simulated hours"), ("jobs", "jobs (16-run sweep)")]):
        part = table[table["curve"] == curve]
        if part.empty:
            ax.set_axis_off()
            continue
        if curve == "jobs":
            ax.bar(part["x"].astype(str), part["wall_s"], color="#4c72b0")
        else:
            ax.plot(part["x"], part["wall_s"], "o-", color="#4c72b0")
            ax.set_xscale("log" if curve == "traders" else "linear")
            ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("wall s")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_scaling(out: Path, scenario: Path | None = None, quick: bool = False) -> pd.DataFrame:
    """Measure, print, and write ``scaling.csv`` and ``scaling.png`` into ``out``."""
    scenario = scenario or ROOT / "scenarios" / "calm.yaml"
    if quick:
        table = measure(scenario, hours=0.25, factors=(1, 4), hour_points=(0.25, 0.5), sweep=None)
    else:
        table = measure(scenario, sweep=ROOT / "tests" / "data" / "sweep16.yaml")
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "scaling.csv", index=False)
    plot_scaling(table, out / "scaling.png")
    print(f"Scaling on {scenario.name} (wall s, construction included)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    for name, value in verdicts(table).items():
        print(f"  {name}: {value:.2f}")
    print(f"  table: {out / 'scaling.csv'}  plot: {out / 'scaling.png'}")
    print(f"  reproduce: squeeze bench --scaling{' --quick' if quick else ''} --out {out}")
    return table
