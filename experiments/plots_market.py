"""Market-microstructure plots of a saved run: price, volume, depth and the
depth-profile heatmap.

Each function reads DataFrames loaded from a run folder, writes one PNG and
returns its path, or returns ``None`` when the columns it needs are absent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from experiments.plots_common import (
    Line,
    add_legend,
    bin_mean,
    bin_sum,
    draw_bars,
    draw_heatmap,
    draw_lines,
    finish_dual,
    hours,
    per_asset_plot,
    present,
    time_edges,
    usd_axis,
    values,
)

PRICE_COLS = ("last", "mid", "mark", "best_bid", "best_ask")
DEPTH_COLS = ("depth_1pct_bid", "depth_1pct_ask", "spread_bps")
DEPTH_BPS_RE = re.compile(r"^depth_bps_(\d+(?:\.\d+)?)_(bid|ask)$")
MAX_HEATMAP_COLS = 400


def draw_price_line(ax: Axes, df: pd.DataFrame, with_mark: bool = True) -> None:
    """Last price (or mid if no last) and, optionally, mark price."""
    lines = [Line(col, col, "tab:blue") for col in present(df, ["last", "mid"])[:1]]
    if with_mark:
        lines.append(Line("mark", "mark", "tab:orange", style="--"))
    draw_lines(ax, df, lines)


def plot_price(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Last (and mark) price per asset with the best bid/ask band shaded."""

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        if present(df, ["best_bid", "best_ask"]) == ["best_bid", "best_ask"]:
            ax.fill_between(hours(df), values(df, "best_bid"), values(df, "best_ask"),
                            color="tab:blue", alpha=0.25, lw=0, label="bid–ask")
        draw_price_line(ax, df)
        ax.set_ylabel("price (USD)")
        add_legend(ax)

    return per_asset_plot(series, summary, out_dir, "price", "Price", PRICE_COLS, draw)


def plot_volume(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Traded notional per interval (base-unit volume if notional is absent)."""

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        col = present(df, ["notional", "volume"])[0]
        edges = time_edges(hours(df))
        draw_bars(ax, edges, bin_sum(edges, hours(df), values(df, col)), color="tab:gray",
                  label="notional (USD)" if col == "notional" else "volume (base)")
        if col == "notional":
            usd_axis(ax)
            ax.set_ylabel("USD traded")
        else:
            ax.set_ylabel(f"{asset} traded")
        add_legend(ax)

    return per_asset_plot(series, summary, out_dir, "volume", "Traded volume per interval",
                          ("notional", "volume"), draw)


def plot_depth(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Book depth within 1% of mid (bids up, asks down) and spread on a twin axis."""
    sides = (("depth_1pct_bid", 1.0, "tab:green", "bid depth ±1%"),
             ("depth_1pct_ask", -1.0, "tab:red", "ask depth ±1%"))
    spread = [Line("spread_bps", "spread (bps)", "black")]

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        filled = [s for s in sides if present(df, [s[0]])]
        for col, sign, color, label in filled:
            ax.fill_between(hours(df), 0, sign * values(df, col), color=color, alpha=0.5, lw=0, label=label)
        if filled:
            ax.axhline(0, color="black", lw=0.5)
            usd_axis(ax, absolute=True)
        finish_dual(ax, df, bool(filled), spread, "USD (bid + / ask −)", "spread (bps)")

    return per_asset_plot(series, summary, out_dir, "depth", "Order-book depth within 1% and spread",
                          DEPTH_COLS, draw)


def depth_profile_columns(df: pd.DataFrame) -> tuple[list[float], list[str], list[str]]:
    """Sorted bps bands and matching bid/ask column names (bands with both sides only)."""
    found: dict[float, dict[str, str]] = {}
    for col in df.columns:
        m = DEPTH_BPS_RE.match(str(col))
        if m:
            found.setdefault(float(m.group(1)), {})[m.group(2)] = str(col)
    bands = sorted(k for k, sides in found.items() if len(sides) == 2)
    return bands, [found[k]["bid"] for k in bands], [found[k]["ask"] for k in bands]


def _band_matrix(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """USD resting in each band (cumulative columns differenced), rows = bands."""
    cum = np.vstack([values(df, c) for c in cols])
    inc = np.diff(cum, axis=0, prepend=0.0)
    return np.clip(inc, 0.0, None)


def depth_band_matrix(df: pd.DataFrame, bid_cols: list[str], ask_cols: list[str],
                      x_edges: np.ndarray) -> np.ndarray:
    """USD per bps band, binned to ``x_edges`` (hours); rows bottom to top:
    widest bid band … narrowest bid, narrowest ask … widest ask."""
    rows = np.vstack([_band_matrix(df, bid_cols)[::-1], _band_matrix(df, ask_cols)])
    return np.vstack([bin_mean(x_edges, hours(df), row) for row in rows])


def _band_label(k: float) -> str:
    return f"{k:g}"


def plot_depth_heatmap(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Heatmap of the depth profile over time: ask bands above zero, bids below.

    The ``depth_bps_<k>_<side>`` columns are cumulative (USD within k bps of
    mid); the colour shows the USD resting in each band between consecutive
    k values, so it is clear where liquidity sits and where it was pulled.
    """
    if series is None:
        return None
    bands, bid_cols, ask_cols = depth_profile_columns(series)
    if not bands:
        return None

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        x_edges = time_edges(hours(df), MAX_HEATMAP_COLS)
        n = len(bands)
        draw_heatmap(ax, x_edges, np.arange(-n, n + 1, dtype=float),
                     depth_band_matrix(df, bid_cols, ask_cols, x_edges), "USD in band")
        ax.axhline(0, color="white", lw=1.0)
        ticks = np.arange(-n, n + 1)
        labels = [f"−{_band_label(k)}" for k in bands[::-1]] + ["mid"] + [f"+{_band_label(k)}" for k in bands]
        ax.set_yticks(ticks, labels, fontsize=7)
        ax.set_ylabel("bps from mid\n(bid − / ask +)")

    return per_asset_plot(series, summary, out_dir, "depth_heatmap", "Depth profile (USD per bps band)",
                          bid_cols + ask_cols, draw)
