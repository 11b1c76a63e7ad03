"""Static HTML report of a saved run folder.

:func:`write_run_report` turns ``runs/<id>/summary.json`` and the PNGs in
``runs/<id>/plots/`` into ``runs/<id>/index.html``: one self-contained page
(inline CSS, no scripts, no external or absolute URLs) that opens straight
from disk. :func:`html_table` is generic so sweep reports can reuse it.

Usage: ``python -m experiments.report runs/<id> [...] [--no-plots]``.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any
from urllib.parse import quote

from experiments.plots import PLOTS, PLOTS_DIR, make_run_plots, read_summary

MAX_ROWS = 200
"""Lists longer than this are truncated in generic summary sections."""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { background: #e3f6e3; color: #1a6b1a; font-weight: 600; }
td.fail { background: #fbe3e3; color: #a01818; font-weight: 600; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
"""


# ------------------------------------------------------------------- formatting


def format_value(value: Any) -> str:
    """Human-readable text for one table cell (not yet HTML-escaped)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        v = float(value)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:,.2f}" if abs(v) >= 1000 else f"{v:.6g}"
    return str(value)


def _numeric_class(_column: str, value: Any) -> str | None:
    return "num" if isinstance(value, Real) and not isinstance(value, bool) else None


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
               caption: str | None = None,
               cell_class: Callable[[str, Any], str | None] | None = None) -> str:
    """An HTML ``<table>`` of ``rows`` (one dict per row), all text escaped.

    ``columns`` defaults to the union of the rows' keys in first-seen order;
    a missing cell renders as "–". ``cell_class(column, value)`` may return a
    CSS class for a cell; by default numeric cells get ``num``. Returns ``""``
    for no rows.
    """
    if not rows:
        return ""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    classify = cell_class or _numeric_class
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = []
        for col in columns:
            value = row.get(col)
            cls = classify(col, value)
            attr = f' class="{html.escape(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{html.escape(format_value(value))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# --------------------------------------------------------------------- sections


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, Real))


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalars of ``d``, with one level of nested scalar dicts as ``outer.inner``."""
    flat: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if _is_scalar(value):
            flat[name] = value
        elif isinstance(value, Mapping) and not prefix and all(_is_scalar(v) for v in value.values()):
            flat.update(_flatten(value, prefix=f"{name}."))
    return flat


def generic_tables(data: Any, caption: str | None = None) -> str:
    """Render summary data of unknown shape as tables.

    A mapping gives a metric/value table of its scalars (one nesting level
    flattened), plus one row-per-key table for each sub-mapping of mappings
    and one table per list of mappings. A list of mappings is one table.
    """
    if isinstance(data, list):
        rows = [r for r in data[:MAX_ROWS] if isinstance(r, Mapping)]
        note = f" (first {MAX_ROWS} of {len(data)})" if len(data) > MAX_ROWS else ""
        return html_table([_flatten(r) for r in rows], caption=(caption or "") + note or None)
    if not isinstance(data, Mapping):
        return html_table([{"value": data}], caption=caption) if _is_scalar(data) else ""
    parts = []
    flat = _flatten(data)
    if flat:
        parts.append(html_table([{"metric": k, "value": v} for k, v in flat.items()], caption=caption))
    for key, value in data.items():
        if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
            rows = [{"name": k, **_flatten(v)} for k, v in value.items()]
            parts.append(html_table(rows, caption=str(key)))
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            parts.append(generic_tables(value, caption=str(key)))
    return "\n".join(p for p in parts if p)


def _assets_section(summary: Mapping[str, Any]) -> str:
    assets = summary.get("assets")
    if not isinstance(assets, Mapping) or not assets:
        return ""
    rows = [{"asset": name, **_flatten(m if isinstance(m, Mapping) else {"value": m})}
            for name, m in assets.items()]
    return "<h2>Assets</h2>\n" + html_table(rows)


def _targets_section(summary: Mapping[str, Any]) -> str:
    targets = [t for t in summary.get("targets") or [] if isinstance(t, Mapping)]
    if not targets:
        return ""
    rows = [{**_flatten(t), "passed": "PASS" if t.get("passed") else "FAIL"} for t in targets]
    columns = list(dict.fromkeys(["name", "low", "high", "value", "passed", *(k for r in rows for k in r)]))

    def classify(col: str, value: Any) -> str | None:
        return value.lower() if col == "passed" else _numeric_class(col, value)

    n_pass = sum(r["passed"] == "PASS" for r in rows)
    return (f"<h2>Targets</h2>\n<p>{n_pass} of {len(rows)} targets passed.</p>\n"
            + html_table(rows, columns=columns, cell_class=classify))


def _shocks_section(summary: Mapping[str, Any]) -> str:
    shocks = [s for s in summary.get("shocks") or [] if isinstance(s, Mapping)]
    if not shocks:
        return ""
    rows = []
    for s in shocks:
        row = _flatten(s)
        t = row.pop("time", None)
        rows.append({"time (h)": t / 3600 if isinstance(t, Real) and not isinstance(t, bool) else t, **row})
    return "<h2>Shocks</h2>\n" + html_table(rows)


def _other_sections(summary: Mapping[str, Any]) -> str:
    handled = {"assets", "targets", "shocks"}
    parts = []
    for key, value in summary.items():
        if key in handled or _is_scalar(value):
            continue
        body = generic_tables(value)
        if body:
            parts.append(f"<h2>{html.escape(str(key).replace('_', ' ').capitalize())}</h2>\n{body}")
    return "\n".join(parts)


def plot_files(run_dir: Path) -> list[Path]:
    """PNGs in ``run_dir/plots/``: known plots in report order, then others by name."""
    plots_dir = Path(run_dir) / PLOTS_DIR
    if not plots_dir.is_dir():
        return []
    order = {name: i for i, name in enumerate(PLOTS)}
    files = [p for p in plots_dir.iterdir() if p.is_file() and p.suffix.lower() == ".png"]
    return sorted(files, key=lambda p: (order.get(p.stem, len(order)), p.name))


def _plots_section(run_dir: Path) -> str:
    files = plot_files(run_dir)
    if not files:
        return "<h2>Plots</h2>\n<p>No plots.</p>"
    figures = []
    for path in files:
        src = html.escape(f"{PLOTS_DIR}/{quote(path.name)}", quote=True)
        caption = html.escape(path.stem.replace("_", " ").capitalize())
        figures.append(f'<figure><img src="{src}" alt="{caption}" loading="lazy">'
                       f"<figcaption>{caption}</figcaption></figure>")
    return "<h2>Plots</h2>\n" + "\n".join(figures)


# ------------------------------------------------------------------------ pages


def render_run_report(run_dir: Path) -> str:
    """The complete HTML text of a run's report page."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    scenario = str(summary.get("scenario", run_dir.name))
    seed = summary.get("seed")
    title = f"Squeeze run — {scenario}" + (f" (seed {format_value(seed)})" if seed is not None else "")
    run_facts = {k: v for k, v in summary.items() if _is_scalar(v) and k not in ("scenario", "seed")}
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Run folder: {html.escape(run_dir.name)}</p>',
        "<h2>Run</h2>\n" + html_table([{"metric": k, "value": v} for k, v in run_facts.items()])
        if run_facts else "",
        _assets_section(summary),
        _other_sections(summary),
        _targets_section(summary),
        _shocks_section(summary),
        _plots_section(run_dir),
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        *(part for part in body if part),
        "</body>",
        "</html>",
        "",
    ])


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder + ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run_report(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` (atomically) from the summary and existing plots."""
    run_dir = Path(run_dir)
    out = run_dir / "index.html"
    write_text_atomic(out, render_run_report(run_dir))
    return out


def rebuild_report(run_dir: Path) -> Path:
    """Re-render all plots of ``run_dir`` and then its ``index.html``."""
    make_run_plots(Path(run_dir))
    return write_run_report(Path(run_dir))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: rebuild the report of each given run folder."""
    parser = argparse.ArgumentParser(description="Build the HTML report of saved run folders.")
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--no-plots", action="store_true", help="only rewrite index.html")
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        out = write_run_report(run_dir) if args.no_plots else rebuild_report(run_dir)
        print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
