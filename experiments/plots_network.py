"""Social-network and sentiment-distribution plots of a saved run.

``network.png`` draws the trader graph of ``network_edges.parquet`` twice,
side by side: once per node snapshot of ``network_nodes.parquet`` (the first
one, typically "before first shock", and the last, "end"), with one layout
shared by both panels so the eye can compare them. Large graphs are
subsampled for drawing (:func:`subsample_nodes`). ``sentiment_distribution.png``
is a fan chart of the ``sentiment_p*`` quantile columns of ``series.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import FuncNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from experiments.plots_common import (
    DPI,
    add_legend,
    hours,
    per_asset_plot,
    present,
    save_figure,
    values,
    varies,
)

MAX_DRAWN_NODES = 1500
"""At most this many traders are drawn (and laid out) in ``network.png``."""
LAYOUT_ITERATIONS = 50
SENTIMENT_CMAP = "RdYlGn"
SENTIMENT_TICKS = (-1.0, -0.5, -0.2, -0.05, 0.0, 0.05, 0.2, 0.5, 1.0)
NODE_SIZE_MIN, NODE_SIZE_MAX = 3.0, 160.0
"""Marker areas (points²): flat traders get the floor, the largest position the cap."""
NODE_COLS = ("snapshot", "time", "node", "sentiment")
FAN_BANDS = ((10, 90), (25, 75))
"""Quantile pairs shaded by the fan chart, outermost first."""


# ------------------------------------------------------------------ subsample


def subsample_nodes(nodes: np.ndarray, edges: np.ndarray, hubs: np.ndarray,
                    max_nodes: int = MAX_DRAWN_NODES, seed: int = 0) -> np.ndarray:
    """Sorted ids of at most ``max_nodes`` of ``nodes`` to draw.

    Every hub is kept (even beyond ``max_nodes``); the remaining budget goes
    first to the hubs' neighbours, then to the other nodes, each group in a
    random order fixed by ``seed`` -- the same inputs always give the same
    sample. ``edges`` is an ``(m, 2)`` array of node ids.
    """
    nodes = np.unique(np.asarray(nodes, dtype=np.int64))
    if nodes.size <= max_nodes:
        return nodes
    hubs = np.intersect1d(np.asarray(hubs, dtype=np.int64), nodes)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    touches = np.isin(edges, hubs)
    neighbours = np.setdiff1d(np.concatenate([edges[touches[:, 1], 0], edges[touches[:, 0], 1]]), hubs)
    neighbours = np.intersect1d(neighbours, nodes)
    others = np.setdiff1d(nodes, np.concatenate([hubs, neighbours]))
    rng = np.random.default_rng(seed)
    order = np.concatenate([hubs, rng.permutation(neighbours), rng.permutation(others)])
    return np.sort(order[:max(max_nodes, hubs.size)])


def force_layout(n: int, edges: np.ndarray, seed: int = 0, iterations: int = LAYOUT_ITERATIONS) -> np.ndarray:
    """Fruchterman-Reingold positions ``(n, 2)`` in [-1, 1] for nodes ``0..n-1``.

    The same algorithm and cooling schedule as ``networkx.spring_layout``,
    vectorised over all node pairs in float32 (about 1 s for 1,500 nodes,
    where networkx takes ~10 s). ``edges`` is an ``(m, 2)`` array of indices.
    """
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2)).astype(np.float32)
    if n < 2:
        return pos * 0.0
    src, dst = np.asarray(edges, dtype=np.int64).reshape(-1, 2).T
    k2 = np.float32(1.0 / n)
    k = np.sqrt(k2)
    temp, cooling = 0.1, 0.1 / (iterations + 1)
    for _ in range(iterations):
        sq = (pos * pos).sum(axis=1)
        w = pos @ pos.T  # becomes k² / d² for every pair (repulsion)
        w *= -2.0
        w += sq[:, None]
        w += sq[None, :]
        np.maximum(w, 1e-4, out=w)
        np.divide(k2, w, out=w)
        disp = w.sum(axis=1)[:, None] * pos - w @ pos
        delta = pos[src] - pos[dst]  # attraction d² / k along each edge
        pull = delta * (np.linalg.norm(delta, axis=1, keepdims=True) / k)
        np.subtract.at(disp, src, pull)
        np.add.at(disp, dst, pull)
        length = np.linalg.norm(disp, axis=1)
        length = np.where(length < 0.01, 0.1, length)
        pos += disp * (temp / length)[:, None]
        temp -= cooling
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max()
    return pos / scale if scale > 0 else pos


# -------------------------------------------------------------------- network


def _snapshots(nodes: pd.DataFrame) -> list[tuple[str, float, pd.DataFrame]]:
    """``(label, time, rows)`` of the first and the last snapshot by time."""
    times = nodes.groupby("snapshot", sort=False)["time"].min().sort_values(kind="stable")
    labels = list(dict.fromkeys([times.index[0], times.index[-1]]))
    return [(str(lab), float(times[lab]), nodes[nodes["snapshot"] == lab]) for lab in labels]


def sentiment_norm() -> Normalize:
    """Fixed -1..1 colour scale, square-root stretched so mild moods still show colour."""
    def stretch(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.sqrt(np.abs(x))

    def unstretch(y: np.ndarray) -> np.ndarray:
        return np.sign(y) * y * y

    return FuncNorm((stretch, unstretch), vmin=-1.0, vmax=1.0)


def _node_sizes(notional: np.ndarray, biggest: float) -> np.ndarray:
    """Marker areas growing with sqrt(notional), from the floor up to the cap."""
    frac = np.sqrt(np.clip(np.nan_to_num(notional), 0.0, None) / biggest) if biggest > 0 else 0.0
    return NODE_SIZE_MIN + (NODE_SIZE_MAX - NODE_SIZE_MIN) * frac


def _size_legend(ax: Axes, biggest: float, n_hubs: int) -> None:
    """Legend: the hub ring and three round position sizes up to ``biggest``."""
    handles = [Line2D([], [], ls="", marker="o", mfc="none", mec="black", mew=1.3, ms=8,
                      label=f"hub ({n_hubs})")] if n_hubs else []
    top = 10.0 ** np.floor(np.log10(biggest)) if biggest > 0 else 0.0
    for usd in (top / 100, top / 10, top):
        if usd >= 1.0:
            ms = float(np.sqrt(_node_sizes(np.array([usd]), biggest)[0]))
            label = f"${usd / 1e6:g}M" if usd >= 1e6 else f"${usd / 1e3:g}k" if usd >= 1e3 else f"${usd:g}"
            handles.append(Line2D([], [], ls="", marker="o", color="grey", ms=ms, label=label))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.7, title="position", title_fontsize=7)


def _draw_panel(ax: Axes, pos: np.ndarray, drawn: np.ndarray, segments: np.ndarray, rows: pd.DataFrame,
                biggest: float, norm: Normalize, title: str) -> None:
    """One snapshot: faint edges, nodes coloured by sentiment and sized by notional, hubs ringed."""
    ax.add_collection(LineCollection(segments, colors="0.4", linewidths=0.3, alpha=0.15, zorder=1))
    sub = rows[rows["node"].isin(drawn)].sort_values("notional_usd" if "notional_usd" in rows else "node",
                                                     ascending=False, kind="stable")
    xy = pos[np.searchsorted(drawn, sub["node"].to_numpy(dtype=np.int64))]
    size = _node_sizes(values(sub, "notional_usd"), biggest) if "notional_usd" in sub else NODE_SIZE_MIN
    hub = sub["hub"].fillna(False).to_numpy(dtype=bool) if "hub" in sub else np.zeros(len(sub), bool)
    ax.scatter(xy[:, 0], xy[:, 1], s=size, c=values(sub, "sentiment"), cmap=SENTIMENT_CMAP, norm=norm,
               edgecolors="0.3", linewidths=0.15, zorder=2)
    if hub.any():
        hub_size = np.maximum(np.broadcast_to(size, hub.shape)[hub], 40.0)
        ax.scatter(xy[hub, 0], xy[hub, 1], s=hub_size, c=values(sub, "sentiment")[hub], cmap=SENTIMENT_CMAP,
                   norm=norm, edgecolors="black", linewidths=1.3, zorder=3)
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_axis_off()


def network_figure(edges: pd.DataFrame | None, nodes: pd.DataFrame | None,
                   max_nodes: int = MAX_DRAWN_NODES) -> Figure | None:
    """The two-snapshot network figure, or ``None`` when nodes or edges are missing.

    The suptitle says "showing N of M traders" when the graph was subsampled.
    """
    if len(present(edges, ["source", "target"])) < 2 or len(present(nodes, NODE_COLS)) < len(NODE_COLS):
        return None
    nodes = nodes.dropna(subset=list(NODE_COLS))
    edge_ids = edges[["source", "target"]].dropna().to_numpy(dtype=np.int64)
    all_ids = np.unique(np.concatenate([nodes["node"].to_numpy(dtype=np.int64), edge_ids.ravel()]))
    hubs = nodes.loc[nodes["hub"].fillna(False).astype(bool), "node"].unique() if "hub" in nodes else []
    drawn = subsample_nodes(all_ids, edge_ids, np.asarray(hubs), max_nodes)
    keep = np.isin(edge_ids, drawn).all(axis=1)
    local = np.searchsorted(drawn, edge_ids[keep])
    pos = force_layout(drawn.size, local)
    segments = pos[local]
    snaps = _snapshots(nodes)
    biggest = float(np.nanmax(values(nodes, "notional_usd"))) if present(nodes, ["notional_usd"]) else 0.0
    norm = sentiment_norm()
    fig = Figure(figsize=(7.0 * len(snaps) + 1.0, 7.5), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(snaps), squeeze=False)[0]
    for ax, (label, t, rows) in zip(axes, snaps):
        mean = float(np.nanmean(values(rows, "sentiment")))
        _draw_panel(ax, pos, drawn, segments, rows, biggest, norm,
                    f"{label} — t = {t / 3600:.1f} h\nmean sentiment {mean:+.2f}")
    _size_legend(axes[0], biggest, int(np.isin(drawn, np.asarray(hubs)).sum()))
    cbar = fig.colorbar(ScalarMappable(norm=norm, cmap=SENTIMENT_CMAP), ax=list(axes), shrink=0.7, pad=0.01,
                        ticks=SENTIMENT_TICKS)
    cbar.set_label("sentiment (−1 bearish … +1 bullish)", fontsize=9)
    shown = f"showing {drawn.size} of {all_ids.size} traders" if drawn.size < all_ids.size \
        else f"{all_ids.size} traders"
    fig.suptitle(f"Social network: colour = sentiment, size = position notional ({shown}, "
                 f"{int(keep.sum())} of {len(edge_ids)} links)", fontsize=11)
    return fig


def plot_network(edges: pd.DataFrame | None, nodes: pd.DataFrame | None, out_dir: Path) -> Path | None:
    """Write ``network.png`` (see :func:`network_figure`); ``None`` if skipped."""
    fig = network_figure(edges, nodes)
    return None if fig is None else save_figure(fig, out_dir, "network")


# ------------------------------------------------------------------ sentiment


def quantile_col(q: int) -> str:
    """Series column of the ``q``-th sentiment percentile."""
    return f"sentiment_p{q}"


def draw_sentiment_fan(ax: Axes, df: pd.DataFrame, bands: Sequence[tuple[int, int]] = FAN_BANDS,
                       median: bool = True, mean: bool = True) -> bool:
    """Shade sentiment quantile bands, then the median (solid) and mean (dashed).

    Falls back to a ±1 std band around the mean when none of ``bands`` is in
    ``df``. Returns whether anything was drawn.
    """
    h = hours(df)
    drew = False
    for i, (lo, hi) in enumerate(bands):
        if len(present(df, [quantile_col(lo), quantile_col(hi)])) == 2:
            ax.fill_between(h, values(df, quantile_col(lo)), values(df, quantile_col(hi)), color="tab:blue",
                            alpha=0.15 + 0.15 * i, lw=0, label=f"p{lo}–p{hi}")
            drew = True
    if not drew and mean and len(present(df, ["sentiment_mean", "sentiment_std"])) == 2:
        m, s = values(df, "sentiment_mean"), values(df, "sentiment_std")
        ax.fill_between(h, m - s, m + s, color="tab:blue", alpha=0.2, lw=0, label="±1 std")
    if median and present(df, [quantile_col(50)]):
        ax.plot(h, values(df, quantile_col(50)), color="navy", lw=1.2, label="median")
        drew = True
    if mean and present(df, ["sentiment_mean"]):
        ax.plot(h, values(df, "sentiment_mean"), color="black", ls="--", lw=1.0, label="mean")
        drew = True
    if drew:
        ax.axhline(0, color="black", lw=0.5)
        ax.set_ylabel("sentiment")
    return drew


def sentiment_columns() -> list[str]:
    """Every quantile column the fan chart can use."""
    return [quantile_col(q) for pair in FAN_BANDS for q in pair] + [quantile_col(50)]


def plot_sentiment_distribution(series: pd.DataFrame | None, summary: dict[str, Any] | None,
                                out_dir: Path) -> Path | None:
    """Fan chart of trader sentiment over time with shocks marked.

    Sentiment is market-wide (the same on every asset's rows), so only the
    first asset is drawn. Skipped without varying quantile columns.
    """
    if not varies(series, sentiment_columns()):
        return None
    first = series[series["asset"] == series["asset"].iloc[0]] if "asset" in series.columns else series

    def draw(ax: Axes, df: pd.DataFrame, asset: str) -> None:
        draw_sentiment_fan(ax, df)
        add_legend(ax)

    return per_asset_plot(first.assign(asset="all traders"), summary, out_dir, "sentiment_distribution",
                          "Sentiment distribution across traders", sentiment_columns(), draw)
