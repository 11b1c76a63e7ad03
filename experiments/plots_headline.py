"""The headline figure of a squeeze run: ``headline.png``.

One tall PNG whose panels share the hours axis, so a squeeze reads top to
bottom: (a) price with liquidations by side and asset, (b) open interest
with the funding rate, (c) trader sentiment, (d) the order-book depth
profile of the first asset. Shocks are marked on every panel. Panels whose
columns are missing are left out; the figure is skipped when the series has
neither liquidation nor (varying) sentiment columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes

from experiments.plots_common import (
    add_legend,
    asset_frames,
    bin_sum,
    draw_bars,
    draw_heatmap,
    draw_shocks,
    hours,
    new_figure,
    present,
    raise_above_twin,
    save_figure,
    shock_marks,
    time_edges,
    usd_axis,
    values,
    varies,
)
from experiments.plots_market import MAX_HEATMAP_COLS, depth_band_matrix, depth_profile_columns
from experiments.plots_network import draw_sentiment_fan, sentiment_columns

Frames = list[tuple[str, pd.DataFrame]]
PanelFn = Callable[[Axes, Frames], None]

FAMILIES = ("Oranges", "Blues", "Greens", "Purples", "Reds", "Greys")
"""One colour family per asset (cycled): dark = price/OI, mid = shorts, light = longs."""
LIQ = (  # column, bar direction, shade in the asset's family, legend label
    ("liq_short_usd", 1.0, 0.65, "shorts liq. ↑"),
    ("liq_long_usd", -1.0, 0.35, "longs liq. ↓"),
)
OI_COLS = ("open_interest_long", "open_interest_short")
SENTIMENT_COLS = ("sentiment_mean", *sentiment_columns())
ROW_HEIGHT_IN = 2.7


def family(i: int, shade: float) -> tuple[float, float, float, float]:
    """RGBA of the ``i``-th asset's colour family at ``shade`` (0 light … 1 dark)."""
    return colormaps[FAMILIES[i % len(FAMILIES)]](shade)


def _line_color(frames: Frames, i: int, single: str) -> Any:
    """``single`` for a one-asset run, else the asset's dark family colour."""
    return single if len(frames) == 1 else family(i, 0.85)


def _label(frames: Frames, asset: str, what: str) -> str:
    return what if len(frames) == 1 else f"{asset} {what}"


def _headroom(*axes: Axes | None, frac: float = 0.22) -> None:
    """Stretch each y axis upward so the top-left legend does not hide the data."""
    for ax in axes:
        if ax is not None:
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, hi + frac * (hi - lo))


# ------------------------------------------------------------------------ panels


def draw_price_liquidations(ax: Axes, frames: Frames) -> None:
    """Price per asset (% from start if several) and liquidation bars on a twin axis.

    Short liquidations are stacked upward and long ones downward, in the
    asset's colour family, summed per common time bin.
    """
    several = len(frames) > 1
    for i, (asset, df) in enumerate(frames):
        col = present(df, ["last", "mid"])[:1]
        if col:
            y = values(df, col[0])
            if several:
                start = y[np.isfinite(y)][0]
                y = 100.0 * (y / start - 1.0)
            ax.plot(hours(df), y, color=_line_color(frames, i, "black"), lw=1.1,
                    label=_label(frames, asset, "price") if several else col[0])
    ax.set_ylabel("price change (%)" if several else "price (USD)")
    liq_cols = [c for c, *_ in LIQ]
    if not any(present(df, liq_cols) for _, df in frames):
        _headroom(ax)
        add_legend(ax)
        return
    twin = ax.twinx()
    edges = time_edges(np.concatenate([hours(df) for _, df in frames]))
    stack = {1.0: np.zeros(max(edges.size - 1, 0)), -1.0: np.zeros(max(edges.size - 1, 0))}
    for i, (asset, df) in enumerate(frames):
        for col, sign, shade, label in LIQ:
            if present(df, [col]):
                sums = sign * bin_sum(edges, hours(df), values(df, col))
                draw_bars(twin, edges, sums, bottom=stack[sign], color=family(i, shade), alpha=0.9,
                          label=_label(frames, asset, label))
                stack[sign] = stack[sign] + sums
    top, bottom = float(stack[1.0].max(initial=0.0)), float(stack[-1.0].min(initial=0.0))
    span = max(top - bottom, 1.0)
    twin.set_ylim(bottom - 0.05 * span, top + 0.05 * span)
    twin.axhline(0, color="0.5", lw=0.5)
    usd_axis(twin, absolute=True)
    twin.set_ylabel("USD liquidated\n(shorts ↑ / longs ↓)")
    raise_above_twin(ax, twin)
    _headroom(ax, twin)
    add_legend(ax, twin)


def draw_oi_funding(ax: Axes, frames: Frames) -> None:
    """Open interest per asset (USD, one side) with funding (%) on a twin axis.

    Every long faces a short, so ``open_interest_long`` and ``_short`` match;
    their mean is the exchange-style open interest, not double-counted.
    """
    with_oi = [(i, a, df) for i, (a, df) in enumerate(frames) if present(df, OI_COLS)]
    for i, asset, df in with_oi:
        oi = np.nanmean(np.vstack([values(df, c) for c in present(df, OI_COLS)]), axis=0)
        ax.plot(hours(df), oi, color=_line_color(frames, i, "tab:green"), lw=1.1,
                label=_label(frames, asset, "open interest"))
    if with_oi:
        usd_axis(ax)
        ax.set_ylabel("open interest (USD)")
    with_funding = [(i, a, df) for i, (a, df) in enumerate(frames) if present(df, ["funding_rate"])]
    twin = ax.twinx() if with_oi and with_funding else ax
    for i, asset, df in with_funding:
        twin.plot(hours(df), values(df, "funding_rate", 100.0), ls=":", lw=1.1,
                  color=family(i, 0.55) if len(frames) > 1 else "tab:blue",
                  label=_label(frames, asset, "funding rate (%)"))
    if with_funding:
        twin.axhline(0, color="0.5", lw=0.5)
        twin.set_ylabel("funding rate (%)")
    twin = twin if twin is not ax else None
    _headroom(ax, twin)
    add_legend(ax, twin)


def draw_sentiment(ax: Axes, frames: Frames) -> None:
    """Market-wide sentiment: mean with the p10–p90 band (first asset's rows)."""
    draw_sentiment_fan(ax, frames[0][1], bands=((10, 90),), median=False)
    _headroom(ax)
    add_legend(ax)


def draw_depth(ax: Axes, frames: Frames) -> None:
    """Depth-profile heatmap of the first asset: USD per bps band, bids below mid, asks above."""
    asset, df = frames[0]
    bands, bid_cols, ask_cols = depth_profile_columns(df)
    x_edges = time_edges(hours(df), MAX_HEATMAP_COLS)
    n = len(bands)
    draw_heatmap(ax, x_edges, np.arange(-n, n + 1, dtype=float),
                 depth_band_matrix(df, bid_cols, ask_cols, x_edges), "USD in band")
    ax.axhline(0, color="white", lw=1.0)
    labels = [f"−{k:g}" for k in bands[::-1]] + ["mid"] + [f"+{k:g}" for k in bands]
    ax.set_yticks(np.arange(-n, n + 1), labels, fontsize=7)
    ax.set_ylabel(f"{asset} depth\nbps (bid − / ask +)")


# ------------------------------------------------------------------------ figure


@dataclass(frozen=True)
class Panel:
    """One row of the headline figure: the columns it needs and how to draw it."""

    name: str
    needed: Sequence[str]
    draw: PanelFn
    must_vary: bool = False


def _depth_cols(series: pd.DataFrame) -> list[str]:
    """Every ``depth_bps_<k>_<side>`` column usable for the depth heatmap."""
    _, bid_cols, ask_cols = depth_profile_columns(series)
    return bid_cols + ask_cols


def headline_panels(series: pd.DataFrame) -> list[tuple[Panel, Frames]]:
    """The panels that have data, each with its per-asset frames."""
    panels = [
        Panel("price", ("last", "mid", *(c for c, *_ in LIQ)), draw_price_liquidations),
        Panel("open interest", (*OI_COLS, "funding_rate"), draw_oi_funding),
        Panel("sentiment", SENTIMENT_COLS, draw_sentiment, must_vary=True),
        Panel("depth", _depth_cols(series), draw_depth),
    ]
    out = []
    for panel in panels:
        frames = asset_frames(series, panel.needed)
        if panel.must_vary:
            frames = [(a, df) for a, df in frames if varies(df, panel.needed)]
        if frames:
            out.append((panel, frames))
    return out


def plot_headline(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path) -> Path | None:
    """Write ``headline.png``; ``None`` without liquidation and sentiment data."""
    if series is None or "time" not in series.columns:
        return None
    if not present(series, [c for c, *_ in LIQ]) and not varies(series, SENTIMENT_COLS):
        return None
    panels = headline_panels(series)
    fig, axes = new_figure(len(panels), row_height=ROW_HEIGHT_IN)
    marks = shock_marks(summary)
    for i, (ax, (panel, frames)) in enumerate(zip(axes, panels)):
        panel.draw(ax, frames)
        draw_shocks(ax, marks, annotate=(i == 0))
        ax.set_title(f"({chr(ord('a') + i)}) {panel.name}", loc="left", fontsize=9, fontweight="bold")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("hours since start")
    scenario = (summary or {}).get("scenario")
    fig.suptitle("Squeeze headline" + (f" — {scenario}" if scenario else ""), fontsize=12)
    return save_figure(fig, out_dir, "headline")
