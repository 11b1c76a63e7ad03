"""The Thurner–Farmer–Geanakoplos check: do fat tails and clustered volatility rise with leverage?

Thurner, Farmer & Geanakoplos (Quant. Finance 2012) find that leverage plus margin calls
make returns fat-tailed and volatility clustered, and that both vanish without leverage
(FACTS §4). :func:`leverage_sweep` runs a scenario once per (leverage level, seed) and
measures the excess kurtosis and ACF(|r|) at lag 1 of its 1-minute returns;
:func:`summarize_sweep` summarizes over seeds and :func:`plot_leverage_tails` draws both
against the leverage level.

How leverage is set (``mode``)
------------------------------
* ``"cap"`` (default): *every trader's leverage is capped at L*. Every cohort whose
  leverage can exceed L gets it capped: a plain number becomes ``min(value, L)``; a
  distribution keeps its shape and gets ``max = min(max, L)`` (and ``min`` lowered to L if
  it was above). In ``leveraged_calm.yaml`` (log-normal, median 15x) a cap of 50 changes
  few traders while a cap of 1 removes leverage entirely.
* ``"constant"``: every cohort whose leverage is not already constant 1 (the leveraged
  ones) uses exactly L.
* ``"median"``: *the typical leverage is L*. Every cohort whose leverage is not already
  constant 1 keeps the shape of its leverage distribution, rescaled so that its median
  is L (a log-normal gets ``median: L`` with the same ``sigma``; other kinds are
  multiplied by L / their median, see `with_median` in `model.distributions`; a plain
  number becomes L). Its ``min`` and ``max`` are
  bounds, not shape, and are kept (``min`` lowered to L if it was above, ``max`` raised
  to L if it was below). In ``leveraged_calm.yaml`` (log-normal, sigma 0.6, 1-125x)
  L = 1 still leaves half the speculators above 1x (mean ~1.4x), while L = 50 moves the
  whole distribution up, which a cap of 50 does not; unlike ``"cap"``, it varies the
  leverage most traders actually use.

The venue's tier table still caps leverage by position size, and a sentiment-driven
leverage boost (``sentiment.leverage_weight``, off in the calm scenarios) is not capped.

Usage::

    python -m experiments.leverage_tails scenarios/leveraged_calm.yaml --hours 12 --seeds 3 --out validation
    python -m experiments.leverage_tails ... --report validation/<validation folder>   # add to a report

The output folder ``OUT/<scenario>-leverage-<UTC stamp>/`` holds ``runs.csv`` (one row per
run), ``leverage_tails.csv`` (the summary) and ``leverage_tails.png``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.plots_common import DPI, save_figure

__all__ = ["METRICS", "cap_leverage", "leverage_overrides", "leverage_sweep",
           "plot_leverage_tails", "run_one", "summarize_sweep", "write_sweep"]

RETURN_INTERVAL_S = 60.0
METRICS: tuple[str, ...] = ("excess_kurtosis", "acf_abs_lag1", "kurtosis_4min", "acf_abs_mean_1_10",
                            "daily_volatility_pct", "liquidations", "liquidated_usd", "mean_leverage")
"""Per-run measurements; the first two are the check itself, the rest are context."""
Mode = Literal["cap", "constant", "median"]
MODES: tuple[str, ...] = get_args(Mode)
AXIS_LABELS = {"cap": "leverage cap L", "constant": "leverage L (every leveraged trader)",
               "median": "median leverage L"}
"""The x-axis label of the plot for each mode."""


def _median_leverage(spec: Any, median: float) -> Any:
    """``spec`` rescaled to median ``median``, its ``min``/``max`` bounds kept (see the module docstring)."""
    median = float(median)
    if isinstance(spec, (int, float)):
        return median
    data = spec.with_median(median).model_dump()
    if data.get("min") is not None:
        data["min"] = min(float(data["min"]), median)
    if data.get("max") is not None:
        data["max"] = max(float(data["max"]), median)
    return data


def cap_leverage(spec: Any, cap: float, mode: Mode = "cap") -> Any:
    """The leverage parameter ``spec`` (a number or a distribution model) at leverage level ``cap``.

    Returns a number or a distribution mapping suitable for a scenario override; see the
    module docstring for the three modes (in mode ``"median"`` ``cap`` is the median).
    """
    if mode == "constant":
        return float(cap)
    if mode == "median":
        return _median_leverage(spec, cap)
    if isinstance(spec, (int, float)):
        return min(float(spec), float(cap))
    data = spec.model_dump()
    data["max"] = float(cap) if data.get("max") is None else min(float(data["max"]), float(cap))
    if data.get("min") is not None:
        data["min"] = min(float(data["min"]), float(cap))
    return data


def leverage_overrides(scenario_path: str | Path, cap: float, mode: Mode = "cap",
                       base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Scenario overrides that apply leverage level ``cap`` to every affected cohort (plus ``base``)."""
    from model.distributions import bounds
    from model.scenario import load_scenario

    scenario = load_scenario(scenario_path, dict(base or {}))
    out = dict(base or {})
    for cohort in scenario.population:
        lo, hi = bounds(cohort.leverage)
        affected = hi > cap if mode == "cap" else not (lo == hi == 1.0)  # constant, median: the leveraged
        if affected:
            out[f"population.{cohort.name}.leverage"] = cap_leverage(cohort.leverage, cap, mode)
    return out


def run_one(scenario_path: str, overrides: Mapping[str, Any], leverage: float, seed: int) -> dict[str, Any]:
    """Run one (leverage, seed) point and measure its 1-minute returns (a joblib task)."""
    from experiments import stylized as sf
    from experiments.run import run_scenario
    from experiments.validate import measure, sample_simulated
    from model.scenario import load_scenario

    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path, dict(overrides))
    ratio = RETURN_INTERVAL_S / scenario.record_every
    if not math.isclose(ratio, round(ratio)) or ratio < 1:
        raise ValueError(f"record_every ({scenario.record_every} s) must divide {RETURN_INTERVAL_S:g} s")
    result = run_scenario(scenario, seed)
    sample = sample_simulated(result.series, scenario.symbols[0], RETURN_INTERVAL_S)
    facts = measure(sample)
    acc = result.accounts
    lev = acc.loc[(acc["strategy"] == "leveraged") & (acc["asset"] == scenario.symbols[0]), "leverage"]
    liq = result.summary.get("liquidations", {})
    return {
        "leverage": float(leverage), "seed": int(seed), "n_returns": int(facts["n"]),
        "excess_kurtosis": facts["excess_kurtosis"], "acf_abs_lag1": facts["acf_abs_lag1"],
        "kurtosis_4min": facts["kurtosis_agg_4"],
        "acf_abs_mean_1_10": float(np.nanmean(sf.acf_abs(sample.returns, 10))) if sample.returns.size > 11 else math.nan,
        "daily_volatility_pct": facts["daily_volatility_pct"],
        "liquidations": int(liq.get("count", 0)), "liquidated_usd": float(liq.get("total_usd", 0.0)),
        "mean_leverage": float(lev.mean()) if len(lev) else math.nan,
        "significance": facts["significance"], "wall_s": time.perf_counter() - t0,
    }


def leverage_sweep(scenario_path: str | Path, leverages: Sequence[float] = (1, 5, 20, 50),
                   seeds: Sequence[int] = (1, 2, 3), hours: float = 12.0, n_jobs: int = 2,
                   mode: Mode = "cap", overrides: Mapping[str, Any] | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """Run every (leverage level, seed) pair in parallel and return one row per run.

    ``overrides`` are applied to the scenario first (the duration is ``hours``). Runs go
    through joblib's loky backend (``n_jobs=1`` runs in-process). Rows are sorted by
    leverage and seed; columns are ``leverage``, ``seed``, :data:`METRICS`,
    ``n_returns``, ``significance`` (2/sqrt(n)) and ``wall_s``.

    Raises:
        ScenarioError: if the scenario or an override is invalid (checked before any run).
    """
    from joblib import Parallel, delayed

    base = {**dict(overrides or {}), "duration": f"{hours}h"}
    tasks = [(str(scenario_path), leverage_overrides(scenario_path, lev, mode, base), float(lev), int(seed))
             for lev in leverages for seed in seeds]
    rows = []
    jobs = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
        delayed(run_one)(*task) for task in tasks)
    for row in jobs:
        rows.append(row)
        if progress:
            print(f"  L={row['leverage']:g} seed={row['seed']}: kurtosis {row['excess_kurtosis']:.3f}, "
                  f"ACF(|r|)1 {row['acf_abs_lag1']:.3f} ({len(rows)}/{len(tasks)}, {row['wall_s']:.0f} s)",
                  file=sys.stderr, flush=True)
    return pd.DataFrame(rows).sort_values(["leverage", "seed"], kind="stable").reset_index(drop=True)


def summarize_sweep(runs: pd.DataFrame) -> pd.DataFrame:
    """Per leverage level: the number of seeds and the mean, std and median (over seeds) of every metric.

    The medians (``<metric>_median``, after the mean and std columns) are less swayed by one
    seed's rare cascade than the means.
    """
    grouped = runs.groupby("leverage", sort=True)
    out = pd.DataFrame({"leverage": list(grouped.groups), "seeds": grouped.size().to_numpy()})
    for metric in METRICS:
        out[f"{metric}_mean"] = grouped[metric].mean().to_numpy()
        out[f"{metric}_std"] = grouped[metric].std(ddof=1).to_numpy()
    for metric in METRICS:
        out[f"{metric}_median"] = grouped[metric].median().to_numpy()
    return out


def plot_leverage_tails(summary: pd.DataFrame, out_dir: Path, runs: pd.DataFrame | None = None,
                        title: str = "Leverage and fat tails", mode: Mode = "cap") -> Path:
    """Kurtosis and ACF(|r|) at lag 1 against the leverage level (mean ± std, seeds as dots)."""
    fig = Figure(figsize=(11.0, 4.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, metric, label in zip(axes, ("excess_kurtosis", "acf_abs_lag1"),
                                 ("excess kurtosis of 1-min returns", "ACF(|r|) at lag 1 (1-min)")):
        ax.errorbar(summary["leverage"], summary[f"{metric}_mean"], yerr=summary[f"{metric}_std"].fillna(0.0),
                    fmt="o-", color="tab:blue", capsize=4, lw=1.2, label="mean ± std over seeds")
        if runs is not None:
            ax.plot(runs["leverage"], runs[metric], ".", color="tab:grey", alpha=0.7, label="single runs")
        if metric == "acf_abs_lag1" and runs is not None and "significance" in runs:
            band = float(runs["significance"].mean())
            ax.axhspan(-band, band, color="tab:grey", alpha=0.15, lw=0, label="±2/√n")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xticks(summary["leverage"], [f"{v:g}" for v in summary["leverage"]])
        ax.set_xlabel(AXIS_LABELS.get(mode, "leverage L"))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, Path(out_dir), "leverage_tails")


def write_sweep(out_dir: Path, runs: pd.DataFrame, summary: pd.DataFrame, title: str, mode: Mode = "cap") -> None:
    """Write ``runs.csv``, ``leverage_tails.csv`` and ``leverage_tails.png`` into ``out_dir``."""
    runs.to_csv(out_dir / "runs.csv", index=False)
    summary.to_csv(out_dir / "leverage_tails.csv", index=False)
    plot_leverage_tails(summary, out_dir, runs, title, mode)


def add_to_validation_report(validation_dir: Path, sweep_dir: Path, summary: pd.DataFrame) -> Path:
    """Copy the sweep's plot and table into a validation folder and rebuild its ``index.html``."""
    from experiments.validate import write_validation_report

    for name in ("leverage_tails.png", "leverage_tails.csv"):
        shutil.copy2(sweep_dir / name, validation_dir / name)
    table = summary[["leverage", "seeds"] + [f"{m}_{s}" for m in METRICS[:2] for s in ("mean", "std")]]
    return write_validation_report(validation_dir, leverage_table=table.round(4))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the sweep, print the summary, write the folder (and update a report)."""
    from experiments.cli import UsageError, parse_overrides
    from experiments.validate import write_folder_atomic
    from model.scenario import ScenarioError

    p = argparse.ArgumentParser(prog="python -m experiments.leverage_tails", description=__doc__.split("\n\n")[0])
    p.add_argument("scenario")
    p.add_argument("--hours", type=float, default=12.0, help="simulated hours per run (default 12)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 1..N per leverage (default 3)")
    p.add_argument("--leverages", type=float, nargs="+", default=[1, 5, 20, 50])
    p.add_argument("--mode", choices=MODES, default="cap",
                   help="cap: cap every trader at L; constant: every leveraged trader at L; "
                        "median: the leveraged cohorts' distribution rescaled to median L (default cap)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key first, as in `squeeze run --set`")
    p.add_argument("--out", default="validation", help="folder for the sweep folder (default validation/)")
    p.add_argument("--report", type=Path, default=None, help="a validation folder to add the result to")
    args = p.parse_args(argv)
    if args.report is not None and not (args.report / "facts.json").is_file():
        print(f"leverage_tails: error: {args.report} is not a validation folder (no facts.json)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        runs = leverage_sweep(args.scenario, args.leverages, range(1, args.seeds + 1), args.hours,
                              args.jobs, args.mode, parse_overrides(args.set), progress=True)
    except (ScenarioError, UsageError) as exc:
        print(f"leverage_tails: error: {exc}", file=sys.stderr)
        return 2
    summary = summarize_sweep(runs)
    name = Path(args.scenario).stem
    title = f"{name}: {args.hours:g} h per run, {args.seeds} seeds, leverage {args.mode}"
    if args.set:  # a figure must say what it was run on
        title += "; " + ", ".join(args.set)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = write_folder_atomic(args.out, f"{name}-leverage-{stamp}", lambda d: write_sweep(d, runs, summary, title, args.mode))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.round(4).to_string(index=False))
    print(f"{len(runs)} runs in {time.perf_counter() - t0:.0f} s wall; sweep folder: {path}")
    if args.report is not None:
        print(f"report: {add_to_validation_report(args.report, path, summary)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
