"""Report of a sweep folder: PNG plots of ``runs.parquet`` and a static ``index.html``.

Plots (Matplotlib's object-oriented API only, via `experiments.plots_common`):

* ``map_<metric>.png``: the seed-averaged metric over the first two axes
  (a heatmap for grid axes, a scatter of points for sampled ones);
* ``lines_<metric>.png``: the median and the 10–90% band over each axis,
  one line per level of another axis;
* ``cascade.png``: the probability per point that liquidations exceed
  ``cascade_threshold_usd``.

The page uses only relative links, inline CSS and no scripts.
``squeeze report SWEEP_DIR`` rebuilds it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from experiments.plots_common import new_figure, save_figure, usd_formatter
from experiments.report import CSS, MAX_ROWS, html_table, write_text_atomic
from experiments.sweep import RUNS_FILE, SPEC_FILE, read_runs, read_spec
from experiments.sweep_spec import CASCADE_METRIC

PLOTS_DIR = "plots"
MAX_LEVELS = 12
"""An axis with more distinct values than this is binned into quantiles."""
MAX_GROUPS = 5
"""At most this many lines per panel of a line plot."""
MAX_TRACEBACKS = 20
EXTRA_CSS = "pre { font-size: 0.8rem; overflow-x: auto; background: #f8f8f8; padding: 0.5rem; }"


def is_sweep_folder(folder: str | Path) -> bool:
    """True if ``folder`` has the files of a sweep folder."""
    return (Path(folder) / SPEC_FILE).is_file() and (Path(folder) / RUNS_FILE).is_file()


# ---------------------------------------------------------------------- levels


def _is_usd(key: str) -> bool:
    return key.endswith("usd")


def _label(value: Any, key: str = "") -> str:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and _is_usd(key):
        return usd_formatter()(float(f"{float(value):.3g}"))
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def levels(col: pd.Series, max_levels: int = MAX_LEVELS) -> tuple[pd.Series, list[str], np.ndarray]:
    """Discrete levels of an axis column: ``(level code per row, labels, x position per level)``.

    Numbers with more than ``max_levels`` distinct values fall into quantile
    bins placed at their medians; other values keep their sorted order.
    """
    numeric = pd.api.types.is_numeric_dtype(col)
    if numeric and col.nunique() > max_levels:
        codes = pd.Series(pd.qcut(col, max_levels, labels=False, duplicates="drop"), index=col.index).astype(int)
        x = col.groupby(codes).median().to_numpy(dtype=float)
        return codes, [_label(v, str(col.name)) for v in x], x
    uniq = sorted(col.dropna().unique()) if numeric else list(dict.fromkeys(col.astype(str)))
    pos = {v: i for i, v in enumerate(uniq)}
    codes = (col if numeric else col.astype(str)).map(pos)
    x = np.asarray(uniq, dtype=float) if numeric else np.arange(len(uniq), dtype=float)
    return codes, [_label(v, str(col.name)) for v in uniq], x


def _short(key: str) -> str:
    return key if len(key) <= 40 else "…" + key[-39:]


# ------------------------------------------------------------------------ plots


def draw_map(ax: Axes, runs: pd.DataFrame, value: pd.Series, xkey: str, ykey: str | None,
             label: str, vmin: float | None = None, vmax: float | None = None) -> None:
    """Seed-averaged ``value`` over two axes (one row if ``ykey`` is None).

    Grid axes give a heatmap with the value written in each cell; an axis
    with too many distinct values (sampled) gives a scatter of point means.
    """
    ycol = runs[ykey] if ykey else pd.Series(0, index=runs.index)
    per_point = pd.DataFrame({"x": runs[xkey], "y": ycol, "v": value, "point": runs["point"]}).groupby("point")
    pts = per_point.agg(x=("x", "first"), y=("y", "first"), v=("v", "mean"))
    fig = ax.get_figure()
    if runs[xkey].nunique() > MAX_LEVELS or ycol.nunique() > MAX_LEVELS:
        art = ax.scatter(pts["x"], pts["y"], c=pts["v"], cmap="viridis", vmin=vmin, vmax=vmax, s=40, edgecolors="k")
    else:
        xc, xlabels, _ = levels(pts["x"].rename(xkey))
        yc, ylabels, _ = levels(pts["y"].rename(ykey or ""))
        grid = np.full((len(ylabels), len(xlabels)), np.nan)
        cells = pd.DataFrame({"xc": xc, "yc": yc, "v": pts["v"]}).groupby(["yc", "xc"])["v"].mean()
        for (i, j), v in cells.items():
            grid[i, j] = v
        art = ax.pcolormesh(np.ma.masked_invalid(grid), cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set_xticks(np.arange(len(xlabels)) + 0.5, xlabels)
        ax.set_yticks(np.arange(len(ylabels)) + 0.5, ylabels if ykey else [""])
        for (i, j), v in cells.items():
            if np.isfinite(v):
                text = usd_formatter()(v) if _is_usd(label) else f"{v:.3g}"
                ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8, color="w",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "black", "ec": "none", "alpha": 0.35})
    bar = fig.colorbar(art, ax=ax)
    bar.set_label(_short(label))
    if _is_usd(label):
        bar.formatter = usd_formatter()
        bar.update_ticks()
    ax.set_xlabel(_short(xkey))
    ax.set_ylabel(_short(ykey) if ykey else "")


def draw_bands(ax: Axes, runs: pd.DataFrame, metric: str, xkey: str, gkey: str | None) -> None:
    """Median and 10–90% band of ``metric`` over ``xkey``, one line per level of ``gkey``."""
    xc, xlabels, xpos = levels(runs[xkey])
    if gkey:
        gc, glabels, _ = levels(runs[gkey], MAX_GROUPS)
    else:
        gc, glabels = pd.Series(0, index=runs.index), [""]
    frame = pd.DataFrame({"x": xc, "g": gc, "v": runs[metric]}).dropna()
    for g, sub in frame.groupby("g"):
        q = sub.groupby("x")["v"].quantile([0.1, 0.5, 0.9]).unstack()
        x = xpos[q.index.to_numpy(dtype=int)]
        label = f"{_short(gkey)} = {glabels[int(g)]}" if gkey else "median"
        (line,) = ax.plot(x, q[0.5], "o-", lw=1.2, ms=3, label=label)
        ax.fill_between(x, q[0.1], q[0.9], color=line.get_color(), alpha=0.2, lw=0)
    if not pd.api.types.is_numeric_dtype(runs[xkey]):
        ax.set_xticks(xpos, xlabels)
    if _is_usd(metric):
        ax.yaxis.set_major_formatter(usd_formatter())
    if _is_usd(xkey):
        ax.xaxis.set_major_formatter(usd_formatter())
    ax.set_xlabel(_short(xkey))
    ax.set_ylabel(_short(metric))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, framealpha=0.7)


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")


def make_sweep_plots(folder: Path, spec: dict[str, Any], runs: pd.DataFrame) -> list[Path]:
    """Write every sweep plot of the finished runs into ``folder/plots``; return the files."""
    out_dir = Path(folder) / PLOTS_DIR
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    axes = [k for k in spec.get("axes", {}) if k in ok.columns]
    if ok.empty or not axes:
        return []
    xkey, ykey = axes[0], (axes[1] if len(axes) > 1 else None)
    files = []
    if CASCADE_METRIC in ok.columns:
        threshold = float(spec.get("cascade_threshold_usd", 1e6))
        fig, (ax,) = new_figure(1, width=7.5, row_height=5.0 if ykey else 2.5, sharex=False)
        draw_map(ax, ok, (ok[CASCADE_METRIC] > threshold).astype(float), xkey, ykey,
                 "probability of a cascade", vmin=0.0, vmax=1.0)
        fig.suptitle(f"P(liquidations > {usd_formatter()(threshold)} USD) per point", fontsize=11)
        files.append(save_figure(fig, out_dir, "cascade"))
    metrics = [m for m in spec.get("metrics", []) if m in ok.columns and ok[m].notna().any()]
    for metric in metrics if ykey else []:
        fig, (ax,) = new_figure(1, width=7.5, row_height=5.0, sharex=False)
        draw_map(ax, ok, ok[metric], xkey, ykey, metric)
        fig.suptitle(f"{metric} (mean over seeds)", fontsize=11)
        files.append(save_figure(fig, out_dir, f"map_{_slug(metric)}"))
    for metric in metrics:
        fig, panels = new_figure(len(axes), sharex=False, row_height=3.5)
        for i, (ax, key) in enumerate(zip(panels, axes)):
            draw_bands(ax, ok, metric, key, axes[1 - i] if i < 2 and ykey else None)
        fig.suptitle(f"{metric}: median and 10–90% band over runs", fontsize=11)
        files.append(save_figure(fig, out_dir, f"lines_{_slug(metric)}"))
    for stale in set(out_dir.glob("*.png")) - set(files):  # from an earlier build with other metrics
        stale.unlink()
    return files


# ------------------------------------------------------------------------- html


def _summary_rows(spec: dict[str, Any], runs: pd.DataFrame) -> list[dict[str, Any]]:
    n_ok = int((runs["status"] == "ok").sum())
    n_failed = int((runs["status"] != "ok").sum())
    wall = pd.to_numeric(runs["wall_s"], errors="coerce")
    facts = {
        "sweep": spec.get("name"), "scenario": Path(str(spec.get("scenario", ""))).name,
        "quick": bool(spec.get("quick")), "points": spec.get("n_points"), "seeds per point": spec.get("seeds"),
        "root seed": str(spec.get("root_seed")), "runs": spec.get("n_runs"), "finished": n_ok, "failed": n_failed,
        "not run yet": max(int(spec.get("n_runs") or 0) - len(runs), 0),
        "run time, total (s)": float(wall.sum()), "run time, mean (s)": float(wall.mean()) if len(wall) else None,
        "cascade threshold (USD)": spec.get("cascade_threshold_usd"), "spec hash": spec.get("spec_hash"),
    }
    return [{"metric": k, "value": v} for k, v in facts.items()]


def _axes_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, axis in spec.get("axes", {}).items():
        if isinstance(axis, dict):
            lo, hi = axis["range"]
            kind = f"{axis['sampler']} ({'log' if axis.get('log') else 'linear'})"
            rows.append({"axis": key, "kind": kind, "values": f"{axis['n']} in [{lo:g}, {hi:g}]"})
        else:
            rows.append({"axis": key, "kind": "grid", "values": ", ".join(_label(v, key) for v in axis)})
    return rows


def _points_rows(spec: dict[str, Any], runs: pd.DataFrame) -> list[dict[str, Any]]:
    axes = [k for k in spec.get("axes", {}) if k in runs.columns]
    metrics = [m for m in spec.get("metrics", []) if m in runs.columns]
    threshold = float(spec.get("cascade_threshold_usd", 1e6))
    rows = []
    for point, sub in runs.groupby("point"):
        ok = sub[sub["status"] == "ok"]
        row = {"point": int(point), **{k: sub[k].iloc[0] for k in axes},
               "ok": len(ok), "failed": len(sub) - len(ok)}
        row.update({f"mean {m}": float(ok[m].mean()) if len(ok) else None for m in metrics})
        if CASCADE_METRIC in ok.columns and len(ok):
            row["P(cascade)"] = float((ok[CASCADE_METRIC] > threshold).mean())
        rows.append(row)
    return rows


def _failures_section(runs: pd.DataFrame) -> str:
    failed = runs[runs["status"] != "ok"]
    if failed.empty:
        return ""
    rows = [{"run": r["run_id"], "error": (str(r["error"] or "").strip().splitlines() or [""])[-1]}
            for _, r in failed.iterrows()]
    details = [f"<details><summary>{html.escape(r['run_id'])}</summary><pre>{html.escape(str(r['error']))}</pre></details>"
               for _, r in failed.head(MAX_TRACEBACKS).iterrows()]
    return "<h2>Failed runs</h2>\n" + html_table(rows[:MAX_ROWS]) + "\n" + "\n".join(details)


def render_sweep_report(spec: dict[str, Any], runs: pd.DataFrame, plots: list[Path]) -> str:
    """The complete HTML text of a sweep's report page."""
    title = f"Squeeze sweep — {spec.get('name', '?')}"
    points = _points_rows(spec, runs)
    note = f" (first {MAX_ROWS} of {len(points)})" if len(points) > MAX_ROWS else ""
    figures = []
    for path in plots:
        src = html.escape(f"{PLOTS_DIR}/{quote(path.name)}", quote=True)
        caption = html.escape(path.stem.replace("_", " "))
        figures.append(f'<figure><img src="{src}" alt="{caption}"><figcaption>{caption}</figcaption></figure>')
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(str(spec.get("description") or ""))}</p>',
        "<h2>Summary</h2>\n" + html_table(_summary_rows(spec, runs)),
        "<h2>Axes</h2>\n" + html_table(_axes_rows(spec)),
        "<h2>Plots</h2>\n" + ("\n".join(figures) if figures else "<p>No finished runs yet.</p>"),
        f"<h2>Points{note}</h2>\n" + html_table(points[:MAX_ROWS]) if points else "",
        _failures_section(runs),
    ]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>", f"<style>{CSS}{EXTRA_CSS}</style>", "</head>", "<body>",
        *(part for part in body if part), "</body>", "</html>", "",
    ])


def build_sweep_report(folder: str | Path) -> Path:
    """Rebuild the plots and ``index.html`` of a sweep folder; return the page's path."""
    folder = Path(folder)
    spec = read_spec(folder)
    runs = read_runs(folder)
    plots = make_sweep_plots(folder, spec, runs)
    out = folder / "index.html"
    write_text_atomic(out, render_sweep_report(spec, runs, plots))
    return out
