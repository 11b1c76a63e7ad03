"""Headline metrics of a run, computed from its tables (never from a live model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SENTIMENT_AFTER_S = 3600.0  # sentiment_after is read this long after a shock starts


def max_drawup_pct(prices: np.ndarray) -> float:
    """Largest rise from a running low, in percent."""
    if len(prices) == 0:
        return 0.0
    return float((prices / np.minimum.accumulate(prices) - 1.0).max() * 100.0)


def max_drawdown_pct(prices: np.ndarray) -> float:
    """Largest fall from a running high, in percent."""
    if len(prices) == 0:
        return 0.0
    return float((1.0 - prices / np.maximum.accumulate(prices)).max() * 100.0)


def asset_summary(series: pd.DataFrame, trades: pd.DataFrame, symbol: str, start_price: float,
                  record_every: float) -> dict:
    """Price path metrics of one asset."""
    last = series.loc[series["asset"] == symbol, "last"].to_numpy(dtype=float)
    path = np.concatenate([[start_price], last])
    r = np.diff(np.log(path))
    return {
        "start_price": start_price,
        "end_price": float(path[-1]),
        "high": float(path.max()),
        "low": float(path.min()),
        "return_pct": float((path[-1] / start_price - 1.0) * 100.0),
        "realized_vol": float(r.std() * np.sqrt(86400.0 / record_every)) if len(r) > 1 else 0.0,
        "max_gain_pct": float((path.max() / start_price - 1.0) * 100.0),
        "max_drawup_pct": max_drawup_pct(path),
        "max_drawdown_pct": max_drawdown_pct(path),
        "trades": int((trades["asset"] == symbol).sum()),
    }


def liquidation_summary(liq: pd.DataFrame) -> dict:
    """Liquidated notional by side and stage."""
    total = float(liq["notional_usd"].sum()) if len(liq) else 0.0
    long_usd = float(liq.loc[liq["side"] == "long", "notional_usd"].sum()) if len(liq) else 0.0
    short_usd = float(liq.loc[liq["side"] == "short", "notional_usd"].sum()) if len(liq) else 0.0
    by_stage = {st: float(liq.loc[liq["stage"] == st, "notional_usd"].sum()) if len(liq) else 0.0
                for st in ("ioc", "takeover", "adl")}
    return {
        "total_usd": total,
        "long_usd": long_usd,
        "short_usd": short_usd,
        "short_share": short_usd / total if total > 0 else None,
        "count": int(liq.groupby(["time", "account", "asset"]).ngroups) if len(liq) else 0,
        "by_stage": by_stage,
    }


def _log_return_std(series: pd.DataFrame, symbol: str, lo: float, hi: float) -> float:
    s = series[(series["asset"] == symbol) & (series["time"] > lo) & (series["time"] <= hi)]
    r = np.diff(np.log(s["last"].to_numpy(dtype=float)))
    return float(r.std()) if len(r) > 1 else float("nan")


def event_summary(event, series: pd.DataFrame, liq: pd.DataFrame, symbols: list[str]) -> dict:
    """Facts of the event window ``[at, at + window)``: liquidations by side and asset, volatility ratio."""
    lo, hi = event.at, event.at + event.window
    w = liq[(liq["time"] >= lo) & (liq["time"] < hi)] if len(liq) else liq
    total = float(w["notional_usd"].sum()) if len(w) else 0.0
    by_asset = {sym: float(w.loc[w["asset"] == sym, "notional_usd"].sum()) if len(w) else 0.0 for sym in symbols}
    short = float(w.loc[w["side"] == "short", "notional_usd"].sum()) if len(w) else 0.0
    before = _log_return_std(series, symbols[0], lo - event.vol_window, lo)
    after = _log_return_std(series, symbols[0], lo, lo + event.vol_window)
    return {
        "at": lo,
        "window": event.window,
        "liquidations_usd": total,
        "short_share": short / total if total > 0 else None,
        "liquidations_by_asset_usd": by_asset,
        "asset_share": {sym: (v / total if total > 0 else None) for sym, v in by_asset.items()},
        "vol_ratio": after / before if before and before > 0 else None,
    }


def get_dotted(data: dict, key: str):
    """``data['a']['b']`` for ``key = 'a.b'``; KeyError naming the missing part."""
    cur = data
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(key)
        cur = cur[part]
    return cur


def evaluate_targets(targets, summary: dict) -> list[dict]:
    """Each target with its simulated value and whether it lies in range."""
    rows = []
    for t in targets:
        try:
            value = get_dotted(summary, t.metric)
        except KeyError:
            value = None
        ok = isinstance(value, (int, float)) and t.range[0] <= value <= t.range[1]
        rows.append({"name": t.name, "metric": t.metric, "low": t.range[0], "high": t.range[1],
                     "value": value, "passed": bool(ok)})
    return rows


def shock_summary(shocks: list[dict], series: pd.DataFrame) -> list[dict]:
    """Each shock with the mean sentiment before it and an hour after it."""
    out = []
    first = series.drop_duplicates("time") if len(series) else series
    for s in shocks:
        after = first.loc[first["time"] >= s["time"] + SENTIMENT_AFTER_S, "sentiment_mean"]
        if after.empty and len(first):
            after = first["sentiment_mean"].iloc[-1:]
        out.append({**s, "sentiment_after": float(after.iloc[0]) if len(after) else None})
    return out


def summarize(scenario, seed: int, series: pd.DataFrame, trades: pd.DataFrame, liquidations: pd.DataFrame,
              facts: dict, wall_s: float, version: str) -> dict:
    """The content of ``summary.json``."""
    per_asset = {a.symbol: asset_summary(series, trades, a.symbol, a.price, scenario.record_every)
                 for a in scenario.assets}
    shocks = facts.pop("shocks", [])
    out = {
        "scenario": scenario.name,
        "seed": int(seed),
        "version": version,
        "wall_s": round(wall_s, 3),
        "trades": int(len(trades)),
        **facts,
        "assets": per_asset,
        "liquidations": liquidation_summary(liquidations),
        "shocks": shock_summary(shocks, series),
    }
    if scenario.event is not None:
        out["event"] = event_summary(scenario.event, series, liquidations, scenario.symbols)
    if scenario.targets:
        out["targets"] = evaluate_targets(scenario.targets, out)
    return out
