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
    return {
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
