"""Running one scenario and writing its run folder atomically.

`run_scenario` builds a `MarketModel`, runs it and returns a `RunResult` of
DataFrames and a summary. `write_run` writes the folder into a hidden
temporary directory next to its destination and renames it when complete,
so a crash never leaves a half-written run and never replaces an earlier one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import yaml

from experiments.summary import summarize
from model.market import MarketModel
from model.results import accounts_frame, liquidations_frame, network_frames, run_facts, trades_frame
from model.scenario import Scenario


def package_version() -> str:
    """Installed version of squeeze (or 'unknown' when run from a bare checkout)."""
    try:
        return version("squeeze")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class RunResult:
    """Everything a run produced, as plain data."""

    scenario: Scenario
    seed: int
    series: pd.DataFrame
    trades: pd.DataFrame
    accounts: pd.DataFrame
    liquidations: pd.DataFrame
    summary: dict = field(default_factory=dict)
    network_edges: pd.DataFrame | None = None
    network_nodes: pd.DataFrame | None = None


def run_scenario(scenario: Scenario, seed: int, progress: bool = False, audit: bool = False) -> RunResult:
    """Run a scenario with one seed and return its results (writes nothing).

    With ``audit`` the venue's invariants are checked at every record.
    """
    t0 = time.perf_counter()
    model = MarketModel(scenario, rng=seed, audit=audit)
    if progress:
        from tqdm import tqdm

        hours = scenario.duration / 3600.0
        with tqdm(total=round(hours, 2), unit="sim h", desc=scenario.name, dynamic_ncols=True,
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} sim h [{elapsed}<{remaining}]") as bar:
            def report(steps: int) -> None:
                bar.n = round(steps * model.dt / 3600.0, 2)
                bar.refresh()
            model.run(report)
            report(model.steps)
    else:
        model.run()
    series = model.recorder.to_frame(scenario.start)
    trades = trades_frame(model)
    liquidations = liquidations_frame(model)
    accounts = accounts_frame(model)
    summary = summarize(scenario, seed, series, trades, liquidations, run_facts(model),
                        time.perf_counter() - t0, package_version())
    edges, nodes = network_frames(model)
    return RunResult(scenario, seed, series, trades, accounts, liquidations, summary, edges, nodes)


def run_dir_name(scenario: Scenario, seed: int) -> str:
    """``<scenario>-s<seed>-<UTC stamp>``."""
    return f"{scenario.name}-s{seed}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


def resolved_scenario(scenario: Scenario, seed: int) -> dict:
    """The scenario as run: every default filled in, plus the seed and version."""
    data = scenario.model_dump(mode="json")
    return {"seed": int(seed), "squeeze_version": package_version(), **data}


def write_run(result: RunResult, out_root: str | Path, make_report: bool = True) -> Path:
    """Write a run folder under ``out_root`` atomically and return its path.

    The folder is built in a temporary sibling directory and renamed into
    place; an existing folder is never overwritten (a suffix is added).
    """
    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    base = run_dir_name(result.scenario, result.seed)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{base}-", dir=root))
    try:
        with open(tmp / "scenario.yaml", "w") as fh:
            yaml.safe_dump(resolved_scenario(result.scenario, result.seed), fh, sort_keys=False)
        result.series.to_parquet(tmp / "series.parquet", index=False)
        result.trades.to_parquet(tmp / "trades.parquet", index=False)
        result.accounts.to_parquet(tmp / "accounts.parquet", index=False)
        result.liquidations.to_parquet(tmp / "liquidations.parquet", index=False)
        if result.network_nodes is not None and len(result.network_nodes):
            result.network_edges.to_parquet(tmp / "network_edges.parquet", index=False)
            result.network_nodes.to_parquet(tmp / "network_nodes.parquet", index=False)
        with open(tmp / "summary.json", "w") as fh:
            json.dump(result.summary, fh, indent=2, default=float)
        if make_report:
            from experiments.report import rebuild_report

            rebuild_report(tmp)
        return rename_unique(tmp, root / base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def rename_unique(src: Path, dest: Path) -> Path:
    """Rename ``src`` to ``dest`` or ``dest-2``, ``dest-3``…, never replacing anything."""
    for k in range(1, 1000):
        target = dest if k == 1 else dest.with_name(f"{dest.name}-{k}")
        try:
            os.mkdir(target)  # claim the name; fails if it exists
        except FileExistsError:
            continue
        os.rmdir(target)
        os.rename(src, target)
        return target
    raise FileExistsError(f"no free run folder name near {dest}")
