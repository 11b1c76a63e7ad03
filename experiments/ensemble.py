"""Seed ensembles: one scenario, many seeds, the targets' spread.

``squeeze run --seeds N SCENARIO`` runs seeds ``seed, seed+1, …`` in parallel
(joblib, loky) and reports, per target, the median and the 10–90% range over
seeds and how many seeds pass it, plus the share of seeds that pass every
target. The per-seed rows go to ``ensemble.parquet`` in an ensemble folder,
written atomically like a run folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.run import rename_unique, run_scenario
from model.scenario import Scenario


def _one(scenario: Scenario, seed: int) -> dict:
    """Run one seed; never raises (a failure is a row with its traceback)."""
    try:
        s = run_scenario(scenario, seed).summary
        row = {"seed": seed, "status": "ok", "error": "", "wall_s": s["wall_s"]}
        for t in s.get("targets", []):
            row[t["name"]] = t["value"]
            row[f"{t['name']} passed"] = t["passed"]
        row["all passed"] = all(t["passed"] for t in s.get("targets", []))
        return row
    except Exception:  # noqa: BLE001 - one failing seed must not stop the others
        return {"seed": seed, "status": "failed", "error": traceback.format_exc(), "all passed": False}


def run_ensemble(scenario: Scenario, seeds: list[int], n_jobs: int = -1, progress: bool = True) -> pd.DataFrame:
    """One row per seed (sorted by seed), whatever the job count."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    tasks = (delayed(_one)(scenario, s) for s in seeds)
    rows = []
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
    for row in tqdm(results, total=len(seeds), desc=f"{scenario.name} seeds", disable=not progress, unit="run"):
        rows.append(row)
    return pd.DataFrame(rows).sort_values("seed", ignore_index=True)


def target_table(scenario: Scenario, runs: pd.DataFrame) -> list[dict]:
    """Per target: range, median, 10th and 90th percentiles over the seeds that ran, and pass rate."""
    ok = runs[runs["status"] == "ok"]
    table = []
    for t in scenario.targets:
        values = pd.to_numeric(ok.get(t.name, pd.Series(dtype=float)), errors="coerce").dropna().to_numpy()
        med = float(np.median(values)) if len(values) else None
        table.append({
            "target": t.name, "metric": t.metric, "low": t.range[0], "high": t.range[1],
            "median": med,
            "p10": float(np.percentile(values, 10)) if len(values) else None,
            "p90": float(np.percentile(values, 90)) if len(values) else None,
            "median in range": med is not None and t.range[0] <= med <= t.range[1],
            "seeds passing": int(ok[f"{t.name} passed"].sum()) if f"{t.name} passed" in ok else 0,
        })
    return table


def format_table(table: list[dict], runs: pd.DataFrame) -> str:
    """The table as text for the terminal."""
    lines = [f"{'target':<28} {'range':>23} {'median':>12} {'10–90%':>25} {'pass':>6}"]
    for r in table:
        rng = f"[{r['low']:.4g}, {r['high']:.4g}]"
        spread = "-" if r["p10"] is None else f"{r['p10']:.4g} – {r['p90']:.4g}"
        med = "-" if r["median"] is None else f"{r['median']:.4g}"
        lines.append(f"{r['target']:<28} {rng:>23} {med:>12} {spread:>25} {r['seeds passing']:>3}/{len(runs)}")
    all_ok = int(runs["all passed"].sum())
    failed = int((runs["status"] != "ok").sum())
    lines.append(f"seeds passing every target: {all_ok}/{len(runs)} ({all_ok / max(len(runs), 1):.0%})"
                 + (f"; {failed} seed(s) failed to run" if failed else ""))
    return "\n".join(lines)


def write_ensemble(out_root: str | Path, scenario: Scenario, runs: pd.DataFrame, table: list[dict]) -> Path:
    """Write ``ensemble.parquet``, ``targets.json`` and ``index.html`` into a new folder, atomically."""
    from datetime import datetime, timezone

    from experiments.report import html_table

    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{scenario.name}-ensemble{len(runs)}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    try:
        runs.to_parquet(tmp / "ensemble.parquet", index=False)
        (tmp / "targets.json").write_text(json.dumps(table, indent=2))
        body = html_table(table) + html_table(runs.drop(columns=["error"]).to_dict("records"))
        (tmp / "index.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{scenario.name} "
                                        f"ensemble</title></head><body><h1>{scenario.name}: {len(runs)} seeds</h1>"
                                        f"{body}</body></html>")
        return rename_unique(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
