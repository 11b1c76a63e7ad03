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

import numpy as np
import pandas as pd
import yaml

from agents.exchange.venue import CAUSES
from model.market import MarketModel
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
    summary: dict = field(default_factory=dict)


def trades_frame(model: MarketModel) -> pd.DataFrame:
    """The trade tape of every book as one frame."""
    frames = []
    for a, book in enumerate(model.venue.books):
        n = book.n_fills
        frames.append(pd.DataFrame({
            "time": np.asarray(book.tape_time, dtype=float),
            "asset": pd.Categorical([book.asset] * n, categories=model.scenario.symbols),
            "price": np.asarray(book.tape_tick, dtype=float) * book.tick_size,
            "qty": np.asarray(book.tape_qty, dtype=float) * book.lot_size,
            "taker_side": np.asarray(book.tape_side, dtype=np.int8),
            "taker": np.asarray(book.tape_taker, dtype=np.int64),
            "maker": np.asarray(book.tape_maker, dtype=np.int64),
            "cause": pd.Categorical.from_codes(np.asarray(book.tape_cause, dtype=np.int8), categories=list(CAUSES)),
        }))
    return pd.concat(frames, ignore_index=True).sort_values(["time", "asset"], kind="stable", ignore_index=True)


def accounts_frame(model: MarketModel) -> pd.DataFrame:
    """Final state of every account, one row per account and asset."""
    led, symbols = model.venue.ledger, model.scenario.symbols
    n, a = led.n_accounts, len(symbols)
    marks = model.venue.last_prices()
    return pd.DataFrame({
        "account": np.repeat(np.arange(n), a),
        "asset": np.tile(np.array(symbols, dtype=object), n),
        "cohort": np.repeat(np.array(model.cohort_of, dtype=object), a),
        "strategy": np.repeat(np.array([t.strategy for t in model.traders], dtype=object), a),
        "wallet": np.repeat(led.wallet, a),
        "position": (led.position * led.lot).reshape(-1),
        "entry_price": led.entry.reshape(-1),
        "margin": led.margin.reshape(-1),
        "leverage": led.leverage.reshape(-1),
        "unrealized_pnl": led.unrealized(marks).reshape(-1),
        "realized_pnl": led.realized.reshape(-1),
        "fees_paid": np.repeat(led.fees_paid, a),
    })


def summarize(model: MarketModel, series: pd.DataFrame, trades: pd.DataFrame, wall_s: float, seed: int) -> dict:
    """Headline metrics of a finished run."""
    per_asset = {}
    for i, sym in enumerate(model.scenario.symbols):
        s = series[series["asset"] == sym]
        last = s["last"].to_numpy()
        start = model.scenario.assets[i].price
        r = np.diff(np.log(last)) if len(last) > 1 else np.zeros(0)
        per_asset[sym] = {
            "start_price": start,
            "end_price": float(last[-1]) if len(last) else start,
            "high": float(max(start, last.max())) if len(last) else start,
            "low": float(min(start, last.min())) if len(last) else start,
            "return_pct": float((last[-1] / start - 1) * 100) if len(last) else 0.0,
            "realized_vol": float(r.std() * np.sqrt(86400.0 / model.scenario.record_every)) if len(r) > 1 else 0.0,
            "trades": int((trades["asset"] == sym).sum()),
        }
    return {
        "scenario": model.scenario.name,
        "seed": int(seed),
        "version": package_version(),
        "simulated_s": float(model.now),
        "wall_s": round(wall_s, 3),
        "orders": int(model.venue.orders_received),
        "cancels": int(model.venue.cancels_received),
        "trades": int(len(trades)),
        "rejections": dict(model.venue.rejections),
        "fees_collected": float(model.venue.fees_collected),
        "assets": per_asset,
    }


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
    accounts = accounts_frame(model)
    summary = summarize(model, series, trades, time.perf_counter() - t0, seed)
    return RunResult(scenario, seed, series, trades, accounts, summary)


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
        with open(tmp / "summary.json", "w") as fh:
            json.dump(result.summary, fh, indent=2, default=float)
        if make_report:
            from experiments.report import rebuild_report

            rebuild_report(tmp)
        return _rename_unique(tmp, root / base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _rename_unique(src: Path, dest: Path) -> Path:
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
