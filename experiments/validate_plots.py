"""The stylized-facts panel of ``squeeze validate``: one PNG with four views.

(a) the distribution of standardised returns against a standard Gaussian (log y), (b) the
ACF of ``r`` and of ``|r|`` up to lag 50 with the ``±2/sqrt(n)`` band, (c) excess kurtosis
against the aggregation factor, and (d) ``|r|`` against traded volume. Every series passed
in (the simulation, and optionally a reference of real prices) is drawn in its own colour
in every panel.

Returns are standardised (``(r - mean) / std``) in (a) and (d), and volume is divided by
its mean in (d), so that a simulation and a real market whose volatility and volume differ
by orders of magnitude can still be compared by *shape*; each legend gives the raw std.
Uses Matplotlib's object-oriented API only (no pyplot state).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments import stylized as sf
from experiments.plots_common import DPI, save_figure

__all__ = ["COLORS", "MAX_LAG", "SampledPrices", "aggregation_factors", "make_validation_panel"]

MAX_LAG = 50
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
MIN_AGG_RETURNS = 30
"""An aggregation factor is plotted only if it leaves at least this many returns."""
MAX_SCATTER = 20_000
"""Longer series are thinned (evenly) in the scatter panel."""


@dataclass
class SampledPrices:
    """A price series on a fixed grid, with the volume traded in each interval.

    ``volume[k]`` is the volume of the interval ending at ``prices[k]`` (so it has the
    length of ``prices``), or ``None`` when unknown.
    """

    label: str
    interval_s: float
    prices: np.ndarray
    volume: np.ndarray | None = None

    @property
    def returns(self) -> np.ndarray:
        """Log returns of :attr:`prices`."""
        return sf.log_returns(self.prices)


def aggregation_factors(n_prices: int, min_returns: int = MIN_AGG_RETURNS) -> list[int]:
    """Aggregation factors for panel (c): those of ``compute_facts`` plus a doubling ladder.

    Only factors leaving at least ``min_returns`` returns are kept.
    """
    ladder = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024}
    return sorted(f for f in ladder | set(sf.AGG_FACTORS) if (n_prices - 1) // f >= min_returns)


def _standardised(r: np.ndarray) -> np.ndarray:
    """``(r - mean) / std``; an empty array for constant or too-short input."""
    sd = float(r.std()) if r.size > 1 else 0.0
    return (r - r.mean()) / sd if sd > 0 else np.empty(0)


def _draw_distribution(ax: Axes, data: Sequence[SampledPrices]) -> None:
    """Panel (a): histograms of standardised returns and the N(0, 1) density, log y."""
    zs = [_standardised(d.returns) for d in data]
    finite = [z for z in zs if z.size]
    lim = max([4.0] + [float(np.max(np.abs(z))) for z in finite])
    edges = np.linspace(-lim, lim, 81)
    for d, z, color in zip(data, zs, COLORS):
        if z.size:
            dens, _ = np.histogram(z, bins=edges, density=True)
            label = f"{d.label} (σ={d.returns.std() * 1e4:.3g} bps, n={z.size})"
            ax.stairs(np.where(dens > 0, dens, np.nan), edges, color=color, lw=1.2, label=label)
    x = np.linspace(-lim, lim, 400)
    ax.plot(x, np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi), "k--", lw=1.0, label="Gaussian, same std")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-5)
    ax.set_xlabel("standardised return (r − mean) / std")
    ax.set_ylabel("density")
    ax.set_title("(a) return distribution", loc="left", fontsize=9)


def _draw_acf(ax: Axes, data: Sequence[SampledPrices]) -> None:
    """Panel (b): ACF of r (solid) and |r| (dashed) with the ±2/√n band of each series."""
    lags = np.arange(1, MAX_LAG + 1)
    for d, color in zip(data, COLORS):
        r = d.returns
        if r.size < 3:
            continue
        band = 2.0 / np.sqrt(r.size)
        ax.plot(lags, sf.acf(r, MAX_LAG), "-", color=color, lw=1.0, marker=".", ms=3, label=f"{d.label}: r")
        ax.plot(lags, sf.acf_abs(r, MAX_LAG), "--", color=color, lw=1.0, marker="x", ms=3, label=f"{d.label}: |r|")
        ax.axhspan(-band, band, color=color, alpha=0.12, lw=0)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlabel("lag (intervals)")
    ax.set_ylabel("autocorrelation")
    ax.set_title("(b) ACF of r and |r|, shaded ±2/√n", loc="left", fontsize=9)


def _draw_aggregation(ax: Axes, data: Sequence[SampledPrices]) -> None:
    """Panel (c): excess kurtosis of aggregated returns against the aggregation factor."""
    for d, color in zip(data, COLORS):
        factors = aggregation_factors(d.prices.size)
        if not factors:
            continue
        k = sf.aggregated_kurtosis(d.prices, factors)
        minutes = np.array(factors) * d.interval_s / 60.0
        ax.plot(minutes, [k[f] for f in factors], "o-", color=color, lw=1.0, ms=4, label=d.label)
    ax.axhline(0.0, color="k", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("return horizon (minutes) = factor × interval")
    ax.set_ylabel("excess kurtosis")
    ax.set_title("(c) aggregational Gaussianity", loc="left", fontsize=9)


def _draw_volume(ax: Axes, data: Sequence[SampledPrices]) -> None:
    """Panel (d): |r| / std against volume / mean volume, with the correlation in the legend."""
    drawn = False
    for d, color in zip(data, COLORS):
        r = d.returns
        if d.volume is None or r.size < 3 or d.volume.size != r.size + 1:
            continue
        v = d.volume[1:]
        sd, mv = float(r.std()), float(np.mean(v))
        if sd <= 0 or mv <= 0:
            continue
        step = max(1, r.size // MAX_SCATTER)
        corr = sf.volume_volatility_corr(r, d.volume)
        ax.scatter(v[::step] / mv, np.abs(r[::step]) / sd, s=5, alpha=0.4, color=color, lw=0,
                   zorder=3 if d is data[0] else 2, label=f"{d.label} (corr={corr:.2f})")
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no volume data", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xlabel("volume / mean volume")
    ax.set_ylabel("|r| / std(r)")
    ax.set_title("(d) volume and volatility", loc="left", fontsize=9)


def make_validation_panel(data: Sequence[SampledPrices], out_dir: Path, title: str,
                          name: str = "validation") -> Path:
    """Draw the four-panel figure for ``data`` (first = simulation) into ``out_dir/<name>.png``.

    Returns the PNG path. Series too short for a panel are left out of that panel.
    """
    if not data:
        raise ValueError("make_validation_panel needs at least one series")
    fig = Figure(figsize=(13.0, 9.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()
    for ax, draw in zip(axes, (_draw_distribution, _draw_acf, _draw_aggregation, _draw_volume)):
        draw(ax, data)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, framealpha=0.7, loc="best")
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, Path(out_dir), name)
