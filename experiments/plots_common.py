"""Shared helpers for the run plots: data selection, figure layout, shock
markers, binning, axis formatting and saving.

Everything here uses Matplotlib's object-oriented API (``Figure`` plus an
Agg canvas), so importing the plotting modules never touches pyplot's global
state or the process-wide backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

DPI = 100
ROW_WIDTH_IN = 10.0
ROW_HEIGHT_IN = 3.0
MAX_BARS = 240
"""Interval series are re-binned to at most this many bars per row."""

DrawFn = Callable[[Axes, pd.DataFrame, str], None]
"""Draws one asset's row: ``draw(ax, asset_frame, asset_name)``."""


@dataclass(frozen=True)
class Line:
    """One series column drawn as a line: column, legend label, style."""

    col: str
    label: str
    color: str | None = None
    scale: float = 1.0
    style: str = "-"


# --------------------------------------------------------------------------- data


def present(df: pd.DataFrame | None, cols: Iterable[str]) -> list[str]:
    """Return those of ``cols`` that exist in ``df`` with at least one value."""
    if df is None or df.empty:
        return []
    return [c for c in cols if c in df.columns and df[c].notna().any()]


def values(df: pd.DataFrame, col: str, scale: float = 1.0) -> np.ndarray:
    """Column as a float array (non-numeric entries become NaN), times ``scale``."""
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float) * scale


def hours(df: pd.DataFrame) -> np.ndarray:
    """Simulated time of each row in hours since start."""
    return values(df, "time") / 3600.0


def asset_frames(series: pd.DataFrame | None, needed: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """Split ``series`` by asset (first-appearance order), sorted by time.

    Returns ``[]`` -- meaning "skip this plot" -- when there is no ``time``
    column or none of ``needed`` holds any data. Assets whose rows carry no
    data in ``needed`` are dropped. A frame without an ``asset`` column is
    treated as a single asset called ``"all"``.
    """
    if series is None or "time" not in series.columns or not present(series, needed):
        return []
    if "asset" not in series.columns:
        series = series.assign(asset="all")
    frames = []
    for asset in pd.unique(series["asset"]):
        sub = series[series["asset"] == asset]
        if present(sub, needed):
            frames.append((str(asset), sub.sort_values("time", kind="stable")))
    return frames


def time_edges(h: np.ndarray, max_bins: int = MAX_BARS) -> np.ndarray:
    """Bin edges (hours) over the record times ``h``.

    With at most ``max_bins`` distinct times every record gets its own bin
    (edges half-way between records); otherwise ``max_bins`` equal bins.
    """
    h = np.unique(h[np.isfinite(h)])
    if h.size == 0:
        return np.empty(0)
    if h.size > max_bins:
        return np.linspace(h[0], h[-1], max_bins + 1)
    step = float(np.median(np.diff(h))) if h.size > 1 else 1.0 / 60
    return np.concatenate([[h[0] - step / 2], (h[:-1] + h[1:]) / 2, [h[-1] + step / 2]])


def bin_sum(edges: np.ndarray, h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sum of ``v`` (at hours ``h``) per bin of ``edges``; NaNs count as zero."""
    if edges.size < 2:
        return np.zeros(0)
    ok = np.isfinite(h)
    sums, _ = np.histogram(h[ok], bins=edges, weights=np.nan_to_num(v[ok]))
    return sums


def bin_mean(edges: np.ndarray, h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mean of the finite ``v`` per bin of ``edges``; NaN for empty bins."""
    if edges.size < 2:
        return np.zeros(0)
    ok = np.isfinite(h) & np.isfinite(v)
    sums, _ = np.histogram(h[ok], bins=edges, weights=v[ok])
    counts, _ = np.histogram(h[ok], bins=edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def draw_bars(ax: Axes, edges: np.ndarray, heights: np.ndarray, bottom: np.ndarray | float = 0.0,
              **kwargs: Any) -> None:
    """Filled steps of ``heights`` over the bins ``edges``, stacked on ``bottom``.

    One ``stairs`` patch instead of one rectangle per bar keeps long runs fast.
    """
    if edges.size >= 2:
        base = np.broadcast_to(np.asarray(bottom, dtype=float), heights.shape)
        ax.stairs(base + heights, edges, baseline=base, fill=True, lw=0, **kwargs)


# ------------------------------------------------------------------------ shocks


def shock_marks(summary: dict[str, Any] | None) -> list[tuple[float, str]]:
    """``(hours, label)`` for each entry of ``summary["shocks"]`` with a time."""
    marks = []
    for shock in (summary or {}).get("shocks") or []:
        if not isinstance(shock, dict):
            continue
        try:
            t = float(shock["time"]) / 3600.0
        except (KeyError, TypeError, ValueError):
            continue
        label = str(shock.get("label") or shock.get("kind") or "shock")
        marks.append((t, label))
    return marks


def draw_shocks(ax: Axes, marks: Sequence[tuple[float, str]], annotate: bool = False) -> None:
    """Vertical dashed lines at shock times; labels along the top if asked."""
    for t, label in marks:
        ax.axvline(t, color="crimson", ls="--", lw=0.9, alpha=0.8, zorder=5)
        if annotate:
            ax.annotate(label[:40], xy=(t, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(2, -2), textcoords="offset points", rotation=90,
                        va="top", ha="left", fontsize=7, color="crimson",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


# ------------------------------------------------------------------ axes / lines


def _usd(x: float, _pos: int | None = None, absolute: bool = False) -> str:
    x = abs(x) if absolute else x
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def usd_axis(ax: Axes, absolute: bool = False) -> None:
    """Format the y axis as compact USD amounts (``1.5M``); ``absolute`` hides signs."""
    ax.yaxis.set_major_formatter(usd_formatter(absolute))


def usd_formatter(absolute: bool = False) -> FuncFormatter:
    """Tick formatter for compact USD amounts (``1.5M``); ``absolute`` hides signs."""
    return FuncFormatter(lambda x, p: _usd(x, p, absolute))


def draw_lines(ax: Axes, df: pd.DataFrame, lines: Sequence[Line]) -> list[Line]:
    """Plot each ``Line`` whose column has data; return those drawn."""
    h = hours(df)
    drawn = [ln for ln in lines if present(df, [ln.col])]
    for ln in drawn:
        ax.plot(h, values(df, ln.col, ln.scale), ln.style, color=ln.color, lw=1.0, label=ln.label)
    return drawn


def twin_lines(ax: Axes, df: pd.DataFrame, lines: Sequence[Line], label: str) -> Axes | None:
    """Draw ``lines`` on a new twin y axis of ``ax``; ``None`` (no twin) if no data."""
    if not present(df, [ln.col for ln in lines]):
        return None
    twin = ax.twinx()
    draw_lines(twin, df, lines)
    twin.set_ylabel(label)
    return twin


def finish_dual(ax: Axes, df: pd.DataFrame, drew_left: bool, right: Sequence[Line],
                left_label: str, right_label: str) -> Axes | None:
    """Complete a two-scale row once the left side has (or has not) been drawn.

    If ``drew_left`` the ``right`` lines go on a twin y axis; otherwise they
    go on ``ax`` itself, so a twin only exists when both sides have data.
    Adds one legend covering both axes and returns the twin (or ``None``).
    """
    twin = None
    if drew_left:
        ax.set_ylabel(left_label)
        twin = twin_lines(ax, df, right, right_label)
    elif draw_lines(ax, df, right):
        ax.set_ylabel(right_label)
    add_legend(ax, twin)
    return twin


def dual_axis(ax: Axes, df: pd.DataFrame, left: Sequence[Line], right: Sequence[Line],
              left_label: str, right_label: str) -> Axes | None:
    """Lines ``left`` on ``ax`` and ``right`` on a twin axis (see :func:`finish_dual`)."""
    return finish_dual(ax, df, bool(draw_lines(ax, df, left)), right, left_label, right_label)


def add_legend(ax: Axes, *others: Axes | None) -> None:
    """One small legend on ``ax`` gathering handles from ``ax`` and ``others``."""
    handles, labels = ax.get_legend_handles_labels()
    for other in others:
        if other is not None:
            h, lab = other.get_legend_handles_labels()
            handles, labels = handles + h, labels + lab
    if handles:
        ax.legend(handles, labels, loc="upper left", fontsize=7, framealpha=0.7, ncols=min(len(handles), 4))


def raise_above_twin(ax: Axes, twin: Axes) -> None:
    """Draw ``ax`` (e.g. a price line) on top of its twin (e.g. bars)."""
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)


# ----------------------------------------------------------------- figure / save


def new_figure(n_rows: int, width: float = ROW_WIDTH_IN, row_height: float = ROW_HEIGHT_IN,
               sharex: bool = True) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``n_rows`` stacked axes and an Agg canvas."""
    fig = Figure(figsize=(width, row_height * max(n_rows, 1)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(n_rows, 1), 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, list(axes)


def save_figure(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write ``fig`` to ``out_dir/<name>.png`` at :data:`DPI`, then free it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    try:
        fig.savefig(path, dpi=DPI, format="png")
    finally:
        fig.clear()
    return path


def per_asset_plot(series: pd.DataFrame | None, summary: dict[str, Any] | None, out_dir: Path,
                   name: str, title: str, needed: Sequence[str], draw: DrawFn) -> Path | None:
    """The common shape of every time-series plot: one row per asset.

    Skips (returns ``None``) when none of ``needed`` has data. Otherwise calls
    ``draw(ax, frame, asset)`` per asset, adds shock lines (labelled on the
    top row), a grid, the hours axis label and a title, and saves
    ``out_dir/<name>.png``.
    """
    frames = asset_frames(series, needed)
    if not frames:
        return None
    fig, axes = new_figure(len(frames))
    marks = shock_marks(summary)
    for i, (ax, (asset, df)) in enumerate(zip(axes, frames)):
        draw(ax, df, asset)
        draw_shocks(ax, marks, annotate=(i == 0))
        ax.set_title(asset, loc="left", fontsize=9, fontweight="bold")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("hours since start")
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, out_dir, name)


# ----------------------------------------------------------------------- heatmap

LOG_COLOR_RATIO = 100.0
"""A heatmap uses a log colour scale when its positive values span more than this."""


def heatmap_norm(matrix: np.ndarray) -> tuple[Normalize, np.ndarray]:
    """Colour normalisation for a non-negative ``matrix``, and the matrix to draw.

    Log scale (floored at 1e-4 of the maximum, zeros left blank) when the
    positive values span more than :data:`LOG_COLOR_RATIO`, else linear from 0.
    """
    positive = matrix[np.isfinite(matrix) & (matrix > 0)]
    if positive.size and positive.max() / positive.min() > LOG_COLOR_RATIO:
        norm: Normalize = LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max())
        return norm, np.where(matrix > 0, matrix, np.nan)
    return Normalize(vmin=0.0, vmax=float(positive.max()) if positive.size else 1.0), matrix


def draw_heatmap(ax: Axes, x_edges: np.ndarray, y_edges: np.ndarray, matrix: np.ndarray,
                 cbar_label: str, cmap: str = "viridis", usd: bool = True) -> None:
    """``pcolormesh`` of ``matrix`` (rows = y bins, columns = x bins) with a slim colorbar.

    The colour scale comes from :func:`heatmap_norm`; ``usd`` formats the
    colorbar ticks as compact USD amounts.
    """
    norm, shown = heatmap_norm(matrix)
    mesh = ax.pcolormesh(x_edges, y_edges, shown, cmap=cmap, norm=norm, shading="flat")
    cbar = ax.figure.colorbar(mesh, ax=ax, pad=0.01, fraction=0.04, format=usd_formatter() if usd else None)
    cbar.set_label(cbar_label, fontsize=8)
    cbar.ax.tick_params(labelsize=7)


def varies(df: pd.DataFrame | None, cols: Iterable[str]) -> list[str]:
    """Those of ``cols`` that are :func:`present` in ``df`` and not constant."""
    if df is None:
        return []
    out = []
    for col in present(df, cols):
        v = values(df, col)
        v = v[np.isfinite(v)]
        if v.size and v.max() > v.min():
            out.append(col)
    return out
