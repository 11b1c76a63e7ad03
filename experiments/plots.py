"""Plots of a saved run folder (``runs/<id>/``), never of a live model.

:func:`make_run_plots` loads whichever of ``series.parquet``,
``liquidations.parquet``, ``accounts.parquet``, ``network_*.parquet`` and
``summary.json`` exist and writes every applicable PNG into
``runs/<id>/plots/``. A plot whose input columns or files are missing is
simply not produced. The market plots live in :mod:`experiments.plots_market`,
the network and sentiment-distribution plots in :mod:`experiments.plots_network`
and the headline figure in :mod:`experiments.plots_headline`; this module holds
the leverage, risk and sentiment plots plus the registry that drives them all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from experiments.plots_common import (
    Line,
    add_legend,
    bin_sum,
    draw_bars,
    dual_axis,
    finish_dual,
    hours,
    new_figure,
    per_asset_plot,
    present,
    raise_above_twin,
    save_figure,
    time_edges,
    usd_axis,
    values,
)
from experiments.plots_market import (
    PRICE_COLS,
    draw_price_line,
    plot_depth,
    plot_depth_heatmap,
    plot_price,
    plot_volume,
)
from experiments.plots_headline import plot_headline
from experiments.plots_network import plot_network, plot_sentiment_distribution

log = logging.getLogger(__name__)

PLOTS_DIR = "plots"
LIQ_SIDES = (  # series column, liquidations.parquet side, colour, legend label
    ("liq_short_usd", "short", "tab:orange", "shorts liquidated"),
    ("liq_long_usd", "long", "tab:purple", "longs liquidated"),
)


@dataclass
class RunData:
    """The saved outputs of one run; any table may be ``None`` if absent."""

    run_dir: Path
    series: pd.DataFrame | None = None
    liquidations: pd.DataFrame | None = None
    accounts: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    network_edges: pd.DataFrame | None = None
    network_nodes: pd.DataFrame | None = None


def read_parquet_if_present(path: Path) -> pd.DataFrame | None:
    """``pd.read_parquet(path)``, or ``None`` if the file is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - a corrupt file must not sink the report
        log.warning("cannot read %s: %s", path, exc)
        return None


def read_summary(run_dir: Path) -> dict[str, Any]:
    """Parsed ``summary.json`` of a run, or ``{}`` if missing or invalid."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def load_run(run_dir: Path) -> RunData:
    """Load whichever output files of ``run_dir`` exist."""
    run_dir = Path(run_dir)
    return RunData(
        run_dir=run_dir,
        series=read_parquet_if_present(run_dir / "series.parquet"),
        liquidations=read_parquet_if_present(run_dir / "liquidations.parquet"),
        accounts=read_parquet_if_present(run_dir / "accounts.parquet"),
        summary=read_summary(run_dir),
        network_edges=read_parquet_if_present(run_dir / "network_edges.parquet"),
        network_nodes=read_parquet_if_present(run_dir / "network_nodes.parquet"),
    )


# ----------------------------------------------------------------- liquidations


def _liq_events(liqs: pd.DataFrame | None, asset: str, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Hours and USD notional of the liquidation fills of one asset and side."""
    if not present(liqs, ["time", "notional_usd", "side"]) or "asset" not in liqs.columns:
        return np.empty(0), np.empty(0)
    sub = liqs[(liqs["asset"].astype(str) == asset) & (liqs["side"].astype(str) == side)]
    return hours(sub), values(sub, "notional_usd")


def plot_liquidations(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path,
                      liquidations: pd.DataFrame | None = None) -> Path | None:
    """Price line with stacked bars of USD liquidated (shorts, longs) per interval.

    Uses the series' ``liq_short_usd``/``liq_long_usd`` columns, falling back
    to summing ``liquidations.parquet`` fills when those columns are absent.
    """
    liq_cols = [col for col, *_ in LIQ_SIDES]
    if not present(series, liq_cols) and not present(liquidations, ["notional_usd"]):
        return None

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        draw_price_line(ax, df, with_mark=False)
        ax.set_ylabel("price (USD)")
        twin = ax.twinx()
        edges = time_edges(hours(df))
        bottom = np.zeros(max(edges.size - 1, 0))
        for col, side, color, label in LIQ_SIDES:
            h, usd = (hours(df), values(df, col)) if present(df, [col]) else _liq_events(liquidations, asset, side)
            if h.size:
                sums = bin_sum(edges, h, usd)
                draw_bars(twin, edges, sums, bottom=bottom, color=color, alpha=0.8, label=label)
                bottom = bottom + sums
        usd_axis(twin)
        twin.set_ylim(bottom=0.0)
        twin.set_ylabel("USD liquidated")
        raise_above_twin(ax, twin)
        add_legend(ax, twin)

    return per_asset_plot(series, summary, out_dir, "liquidations", "Liquidations (stacked) and price",
                          (*PRICE_COLS, *liq_cols), draw)


# --------------------------------------------------------------- risk / funding


def plot_open_interest(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Open interest long/short (USD) with the long/short ratio on a twin axis."""
    left = [Line("open_interest_long", "OI long", "tab:green"), Line("open_interest_short", "OI short", "tab:red")]
    right = [Line("long_short_ratio", "long/short ratio", "black", style=":")]

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        if present(df, [ln.col for ln in left]):
            usd_axis(ax)
        dual_axis(ax, df, left, right, "open interest (USD)", "long/short ratio")

    return per_asset_plot(series, summary, out_dir, "open_interest", "Open interest",
                          [ln.col for ln in left + right], draw)


def plot_funding_insurance(series: pd.DataFrame | None, summary: dict[str, Any] | None,
                           out_dir: Path) -> Path | None:
    """Funding rate (%) with the insurance fund (USD) on a twin axis."""
    left = [Line("funding_rate", "funding rate (%)", "tab:blue", scale=100.0)]
    right = [Line("insurance_fund", "insurance fund", "tab:brown")]

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        twin = dual_axis(ax, df, left, right, "funding rate (%)", "insurance fund (USD)")
        if present(df, ["funding_rate"]):
            ax.axhline(0, color="black", lw=0.5)
        if present(df, ["insurance_fund"]):
            usd_axis(twin if twin is not None else ax)

    return per_asset_plot(series, summary, out_dir, "funding_insurance", "Funding rate and insurance fund",
                          ("funding_rate", "insurance_fund"), draw)


def _max_leverage_per_account(df: pd.DataFrame) -> np.ndarray:
    lev = pd.to_numeric(df["leverage"], errors="coerce")
    per = lev.groupby(df["account"]).max() if "account" in df.columns else lev
    per = per.to_numpy(dtype=float)
    return per[np.isfinite(per) & (per > 0)]


def leverage_groups(liquidations: pd.DataFrame | None,
                    accounts: pd.DataFrame | None) -> list[tuple[str, str, np.ndarray]]:
    """``(label, colour, leverages)`` for liquidated and surviving accounts.

    Liquidated: unique accounts in ``liquidations`` (highest leverage seen).
    Surviving: accounts not flagged ``liquidated``, not in ``liquidations``,
    and with an open position or a positive leverage. Empty groups are left out.
    """
    groups = []
    liq_ids: set[Any] = set()
    if present(liquidations, ["leverage"]):
        liq_ids = set(liquidations["account"]) if "account" in liquidations.columns else set()
        groups.append(("liquidated", "tab:red", _max_leverage_per_account(liquidations)))
    if present(accounts, ["leverage"]):
        keep = pd.Series(True, index=accounts.index)
        if "liquidated" in accounts.columns:
            keep &= ~accounts["liquidated"].fillna(False).astype(bool)
        if "account" in accounts.columns:
            keep &= ~accounts["account"].isin(liq_ids)
        active = pd.to_numeric(accounts["leverage"], errors="coerce").fillna(0) > 0
        if "position" in accounts.columns:
            active |= pd.to_numeric(accounts["position"], errors="coerce").fillna(0) != 0
        groups.append(("surviving", "tab:blue", _max_leverage_per_account(accounts[keep & active])))
    return [g for g in groups if g[2].size]


def plot_leverage_liquidated(liquidations: pd.DataFrame | None, accounts: pd.DataFrame | None,
                             out_dir: Path) -> Path | None:
    """Histogram of leverage: liquidated accounts vs surviving ones.

    Each group is normalised to its own size (share of accounts per bin) so
    the shapes compare even when one group is far larger. Skipped when
    neither ``liquidations.parquet`` nor ``accounts.parquet`` has leverages.
    """
    groups = leverage_groups(liquidations, accounts)
    if not groups:
        return None
    pooled = np.concatenate([g[2] for g in groups])
    edges = np.histogram_bin_edges(pooled, bins=min(40, max(5, int(np.sqrt(pooled.size)))))
    fig, (ax,) = new_figure(1, row_height=3.5)
    for label, color, lev in groups:
        ax.hist(lev, bins=edges, weights=np.full(lev.size, 1.0 / lev.size), color=color, alpha=0.5,
                label=f"{label} (n={lev.size}, median {np.median(lev):.1f}x)")
    ax.set_xlabel("leverage (x)")
    ax.set_ylabel("share of accounts")
    ax.grid(alpha=0.3)
    add_legend(ax)
    fig.suptitle("Leverage of liquidated vs surviving accounts", fontsize=11)
    return save_figure(fig, out_dir, "leverage_liquidated")


def plot_sentiment(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Mean sentiment with a ±1 std band, bullish share on a twin axis, shocks marked."""
    bullish = [Line("bullish_share", "bullish share", "tab:green")]

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        drew = bool(present(df, ["sentiment_mean"]))
        if drew:
            h, mean = hours(df), values(df, "sentiment_mean")
            if present(df, ["sentiment_std"]):
                std = values(df, "sentiment_std")
                ax.fill_between(h, mean - std, mean + std, color="tab:blue", alpha=0.2, lw=0, label="±1 std")
            ax.plot(h, mean, color="tab:blue", lw=1.0, label="sentiment mean")
            ax.axhline(0, color="black", lw=0.5)
        twin = finish_dual(ax, df, drew, bullish, "sentiment", "bullish share")
        if twin is not None or not drew:  # the bullish share is a fraction
            (twin if twin is not None else ax).set_ylim(0.0, 1.0)

    return per_asset_plot(series, summary, out_dir, "sentiment", "Sentiment",
                          ("sentiment_mean", "sentiment_std", "bullish_share"), draw)


# --------------------------------------------------------------------- registry

PlotFn = Callable[[RunData, Path], Path | None]

PLOTS: dict[str, PlotFn] = {
    "headline": lambda r, out: plot_headline(r.series, r.summary, out),
    "price": lambda r, out: plot_price(r.series, r.summary, out),
    "volume": lambda r, out: plot_volume(r.series, r.summary, out),
    "depth": lambda r, out: plot_depth(r.series, r.summary, out),
    "liquidations": lambda r, out: plot_liquidations(r.series, r.summary, out, r.liquidations),
    "open_interest": lambda r, out: plot_open_interest(r.series, r.summary, out),
    "funding_insurance": lambda r, out: plot_funding_insurance(r.series, r.summary, out),
    "leverage_liquidated": lambda r, out: plot_leverage_liquidated(r.liquidations, r.accounts, out),
    "sentiment": lambda r, out: plot_sentiment(r.series, r.summary, out),
    "sentiment_distribution": lambda r, out: plot_sentiment_distribution(r.series, r.summary, out),
    "network": lambda r, out: plot_network(r.network_edges, r.network_nodes, out),
    "depth_heatmap": lambda r, out: plot_depth_heatmap(r.series, r.summary, out),
}
"""Plot name (also the PNG stem) -> function; the order is the report order."""


def make_run_plots(run_dir: Path, strict: bool = False) -> list[Path]:
    """Write every applicable plot of the saved run ``run_dir`` into ``run_dir/plots/``.

    Returns the written PNG paths in :data:`PLOTS` order. A plot whose inputs
    are missing is skipped, and a stale PNG of that name from an earlier
    rendering is removed so the folder matches the data. A plot that raises
    is logged and skipped unless ``strict`` (then the error propagates).
    """
    run = load_run(Path(run_dir))
    out_dir = run.run_dir / PLOTS_DIR
    written: list[Path] = []
    for name, fn in PLOTS.items():
        try:
            path = fn(run, out_dir)
        except Exception:
            if strict:
                raise
            log.exception("plot %r failed for %s", name, run.run_dir)
            path = None
        if path is None:
            (out_dir / f"{name}.png").unlink(missing_ok=True)
        else:
            written.append(path)
    return written
