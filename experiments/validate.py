"""``squeeze validate``: the stylized facts of a simulated run, against the literature and real prices.

    squeeze validate SCENARIO [--days N] [--interval 1min] [--reference PRICES.csv] [--seed N] [--out DIR]

The scenario is run for ``--days`` simulated days; the first asset's last-traded price is
sampled every ``--interval`` (a multiple of the scenario's ``record_every``) and its
stylized facts are measured with :mod:`experiments.stylized` and checked against the
ranges of FACTS §5: the rules of :data:`experiments.stylized.FACT_CHECKS` plus the tail
index, the decay of ACF(|r|) and the volume–volatility correlation
(:data:`EXTRA_CHECKS`). A few more statistics are listed as ``info`` without a verdict.

Sample size: the verdicts are only meaningful with enough returns. The bound
``|ACF(r)| < 0.05`` at every lag 2-20 equals the 2/sqrt(n) noise band only at n near 1,600,
and fat tails and clustered volatility widen the noise of ACF(r) further. With n near 1,440
returns (one day at 1 min, or five days at 5 min) a series with no linear autocorrelation at
all (the simulated |r| with random signs) passed it in 0-1% of draws; with n near 7,200, in
65-80%. Use ``--days 5`` or more at 1 min (the default is 7) and about ``--days 25`` at 5 min.

With ``--reference`` a CSV of real prices (any layout :func:`experiments.prices_csv.read_prices`
reads) is measured the same way and shown in extra columns. If the CSV is coarser than
``--interval``, the reference is sampled at the smallest multiple of the interval that is
at least the CSV's spacing, and the simulation is shown at that interval too.

Output: ``DIR/<scenario>-s<seed>-<interval>-<UTC stamp>/`` holding ``facts.csv``,
``facts.json``, ``validation.png`` and ``index.html``, built in a temporary folder and
renamed when complete (an existing folder is never overwritten; a suffix is added).
Bad input (interval, reference file, scenario) is reported before the simulation starts.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import stylized as sf
from experiments.prices_csv import PriceFileError, read_prices, resample_close
from experiments.validate_plots import SampledPrices, make_validation_panel
from model.schema_types import parse_duration

__all__ = ["EXTRA_CHECKS", "Validation", "cli_validate", "fact_rows", "interval_label", "load_reference",
           "parse_interval", "sample_reference", "sample_simulated", "validate_result",
           "write_folder_atomic", "write_validation", "write_validation_report"]

PASS, FAIL, INFO = "PASS", "FAIL", "info"
MIN_REFERENCE_PRICES = 10


def _num(facts: Mapping[str, Any], key: str) -> float:
    """``facts[key]`` as a float, nan when missing."""
    v = facts.get(key)
    return math.nan if v is None else float(v)


def _clustered(f: Mapping[str, Any]) -> bool:
    return _num(f, "acf_abs_min_1_30") > _num(f, "significance")


EXTRA_CHECKS: list[sf.FactCheck] = [
    sf.FactCheck("tail_index", "Hill tail index (5% tail) between 2 and 5",
                 value=lambda f: _num(f, "hill_5"), passes=lambda f: 2.0 <= _num(f, "hill_5") <= 5.0),
    sf.FactCheck("slow_decay_of_acf_abs",
                 "ACF(|r|) ~ lag^-beta with beta 0.1-0.5 (and ACF(|r|) significant at lags 1-30)",
                 value=lambda f: _num(f, "acf_abs_decay"),
                 passes=lambda f: _clustered(f) and 0.1 <= _num(f, "acf_abs_decay") <= 0.5),
    sf.FactCheck("volume_volatility", "corr(|r|, volume) > 2/sqrt(n) = {significance:.4f}",
                 value=lambda f: _num(f, "vol_volume_corr"),
                 passes=lambda f: _num(f, "vol_volume_corr") > _num(f, "significance")),
]
"""FACTS §5 ranges that :data:`experiments.stylized.FACT_CHECKS` does not cover."""

INFO_ROWS: list[tuple[str, Callable[[Mapping[str, Any]], float]]] = [
    ("n_returns", lambda f: int(f.get("n") or 0)),
    ("daily_volatility_pct", lambda f: _num(f, "daily_volatility_pct")),
    ("acf_r_lag1", lambda f: _num(f, "acf_r_lag1")),
    ("acf_abs_lag1", lambda f: _num(f, "acf_abs_lag1")),
    ("skewness", lambda f: _num(f, "skewness")),
    ("leverage_effect", lambda f: _num(f, "leverage_effect")),
]
"""Statistics listed without a verdict: ``(row name, value from the facts dict)``."""


# ------------------------------------------------------------------ intervals / input


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``1min``, ``5m``, ``30s``, ``1h``.

    Raises:
        ValueError: for anything else, or a non-positive interval.
    """
    seconds = parse_duration(str(text))
    if not seconds > 0:
        raise ValueError(f"the interval must be positive, got {text!r}")
    return seconds


def interval_label(seconds: float) -> str:
    """Compact label for an interval: ``1min``, ``5min``, ``1h``, ``2d``, ``30s``, ``500ms``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size and math.isclose(seconds / size, round(seconds / size), abs_tol=1e-9):
            return f"{round(seconds / size)}{unit}"
    return f"{round(seconds * 1000)}ms"


def _pandas_rule(seconds: float) -> str:
    """A pandas offset alias for ``seconds`` (``60s``, ``500ms``)."""
    return f"{round(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def load_reference(path: str | Path) -> pd.DataFrame:
    """Read a real price CSV, turning every problem into a :class:`experiments.cli.UsageError`."""
    from experiments.cli import UsageError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = read_prices(path)
    except PriceFileError as exc:
        raise UsageError(f"--reference: {exc}") from None
    for w in caught:
        print(f"squeeze: warning: {w.message}", file=sys.stderr)
    return df


def native_spacing(df: pd.DataFrame) -> float:
    """Median spacing of a price frame's ``time`` column, in seconds."""
    return float(df["time"].diff().dt.total_seconds().median())


# ---------------------------------------------------------------------- sampling


def sample_simulated(series: pd.DataFrame, symbol: str, interval_s: float, label: str = "simulated") -> SampledPrices:
    """The ``last`` price of ``symbol`` every ``interval_s`` and the volume traded in each interval.

    Rows before the first trade (no last price yet) are skipped.
    """
    df = series[series["asset"] == symbol].sort_values("time", kind="stable")
    t = df["time"].to_numpy(dtype=float)
    last = df["last"].to_numpy(dtype=float)
    cum_volume = np.cumsum(np.nan_to_num(df["volume"].to_numpy(dtype=float)))
    ok = np.isfinite(last)
    _, prices = sf.resample_last(t[ok], last[ok], interval_s)
    _, cum = sf.resample_last(t[ok], cum_volume[ok], interval_s)
    return SampledPrices(label, interval_s, prices, np.diff(cum, prepend=0.0))


def sample_reference(df: pd.DataFrame, interval_s: float, label: str = "reference") -> SampledPrices:
    """A real price frame's last close per interval, with the volume summed over the same bins."""
    rule = _pandas_rule(interval_s)
    close = resample_close(df, rule)
    volume = None
    if "volume" in df.columns:
        binned = df.set_index("time")["volume"].resample(rule, label="left", closed="left").sum()
        volume = binned.reindex(close.index).to_numpy(dtype=float)
    return SampledPrices(label, interval_s, close.to_numpy(dtype=float), volume)


def measure(sample: SampledPrices) -> dict[str, float]:
    """:func:`experiments.stylized.compute_facts` plus daily volatility (%) and ACF(r) at lag 1."""
    facts = sf.compute_facts(sample.prices, sample.volume)
    r = sample.returns
    facts["daily_volatility_pct"] = float(r.std() * math.sqrt(86400.0 / sample.interval_s) * 100) if r.size > 1 else math.nan
    facts["acf_r_lag1"] = float(sf.acf(r, 1)[0])
    return facts


# ------------------------------------------------------------------------- table


def _jsonable(value: Any) -> Any:
    """Tuples to lists and nan/inf to None, so the value can go into strict JSON."""
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _verdict(passed: bool | None) -> str:
    return INFO if passed is None else PASS if passed else FAIL


def fact_rows(facts: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The validation table: one row per checked fact, then the ``info`` rows.

    ``facts`` maps a source key (``simulated`` first, then e.g. ``simulated_common``,
    ``reference``) to its :func:`measure` dict; ``labels`` maps each key to its column
    name. The ``expected`` column and ``result`` come from the first source; every other
    source adds its value column, and the reference its own ``reference result``.
    """
    checks = list(sf.FACT_CHECKS) + EXTRA_CHECKS
    checked = {key: sf.check_facts(f, checks) for key, f in facts.items()}
    first = next(iter(facts))
    rows: list[dict[str, Any]] = []
    for i, check in enumerate(checks):
        row: dict[str, Any] = {"fact": check.fact}
        for key, results in checked.items():
            row[labels[key]] = _jsonable(results[i]["value"])
            if key == first:
                row["expected"], row["result"] = results[i]["expected"], _verdict(results[i]["passed"])
            elif key == "reference":
                row["reference result"] = _verdict(results[i]["passed"])
        rows.append(row)
    for name, value in INFO_ROWS:
        row = {"fact": name, "expected": "", "result": INFO}
        if "reference" in facts:
            row["reference result"] = INFO
        row.update({labels[key]: _jsonable(value(f)) for key, f in facts.items()})
        rows.append(row)
    return rows


def table_columns(labels: Mapping[str, str]) -> list[str]:
    """Column order of the table for the given sources."""
    cols = ["fact", labels["simulated"], "expected", "result"]
    cols += [labels[k] for k in labels if k not in ("simulated", "reference")]
    if "reference" in labels:
        cols += [labels["reference"], "reference result"]
    return cols


def display(value: Any, full: bool = False) -> str:
    """Text of a table cell: 4 significant digits (all with ``full``), lists joined by `` / ``."""
    if isinstance(value, (list, tuple)):
        return " / ".join(display(v, full) for v in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if isinstance(value, float):
        return repr(value) if full else f"{value:.4g}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text, column-aligned rendering of the table for the terminal."""
    cells = [[display(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda parts: "  ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


# ---------------------------------------------------------------------- validate


@dataclass
class Validation:
    """Everything ``squeeze validate`` measured: the samples, facts, table and metadata."""

    samples: list[SampledPrices]
    facts: dict[str, dict[str, float]]
    rows: list[dict[str, Any]]
    columns: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The content of ``facts.json`` (strict JSON: nan becomes null)."""
        return {**self.meta, "columns": self.columns, "rows": self.rows,
                "facts": {k: {n: _jsonable(v) for n, v in f.items()} for k, f in self.facts.items()}}


def reference_interval(ref: pd.DataFrame, interval_s: float) -> float:
    """``interval_s``, or the smallest multiple of it at least the reference's spacing."""
    spacing = native_spacing(ref)
    return interval_s if spacing <= interval_s * (1 + 1e-9) else interval_s * math.ceil(spacing / interval_s - 1e-9)


def validate_result(series: pd.DataFrame, symbol: str, interval_s: float,
                    reference: pd.DataFrame | None = None, meta: Mapping[str, Any] | None = None) -> Validation:
    """Measure a run's ``series`` (and a reference frame) and build the table."""
    label = interval_label(interval_s)
    sim = sample_simulated(series, symbol, interval_s, f"simulated {symbol} @{label}")
    samples, facts = [sim], {"simulated": measure(sim)}
    labels = {"simulated": "simulated"}
    info: dict[str, Any] = {"asset": symbol, "interval": label, "interval_s": interval_s, "reference": None}
    if reference is not None:
        common = reference_interval(reference, interval_s)
        ref_label = interval_label(common)
        ref = sample_reference(reference, common, f"reference @{ref_label}")
        samples.append(ref)
        if common != interval_s:
            facts["simulated_common"] = measure(sample_simulated(series, symbol, common))
            labels["simulated_common"] = f"simulated @{ref_label}"
            note = (f"the reference CSV is coarser than {label} (spacing {interval_label(native_spacing(reference))}), "
                    f"so it is sampled at {ref_label}; the simulation is also shown at {ref_label}")
        else:
            note = f"reference sampled at the same interval as the simulation ({label})"
        facts["reference"] = measure(ref)
        labels["reference"] = f"reference @{ref_label}"
        info["reference"] = {"rows": int(len(reference)), "interval": ref_label, "interval_s": common,
                             "first": str(reference["time"].iloc[0]), "last": str(reference["time"].iloc[-1]),
                             "note": note, **(dict(meta or {}).get("reference") or {})}
    rows = fact_rows(facts, labels)
    return Validation(samples, facts, rows, table_columns(labels), {**dict(meta or {}), **info})


# ------------------------------------------------------------------------ output


def write_folder_atomic(out_root: str | Path, name: str, fill: Callable[[Path], None]) -> Path:
    """Create ``out_root/<name>`` by filling a temporary sibling folder and renaming it.

    Never replaces an existing folder: ``<name>-2``, ``<name>-3``… are tried. On any
    error the temporary folder is removed and nothing is left behind.
    """
    from experiments.run import rename_unique

    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    try:
        os.chmod(tmp, 0o755)
        fill(tmp)
        return rename_unique(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _result_class(column: str, value: Any) -> str | None:
    return str(value).lower() if value in (PASS, FAIL) else None


def render_validation_page(payload: Mapping[str, Any], leverage_table: pd.DataFrame | None = None,
                           leverage_png: bool = False) -> str:
    """The HTML text of a validation folder's ``index.html``."""
    from experiments.report import CSS, html_table

    title = f"Squeeze validation — {payload.get('scenario', '?')}"
    columns = payload["columns"]
    rows = [{c: display(r.get(c)) for c in columns} for r in payload["rows"]]
    meta = {k: payload.get(k) for k in ("scenario", "scenario_path", "seed", "days", "asset", "interval",
                                        "wall_s", "squeeze_version") if payload.get(k) is not None}
    ref = payload.get("reference") or {}
    body = [f"<h1>{html.escape(title)}</h1>",
            html_table([{"metric": k, "value": v} for k, v in meta.items()]),
            f"<p>Reference: {html.escape(str(ref.get('path', '')))} — {html.escape(str(ref.get('note', '')))}</p>"
            if ref else "",
            "<h2>Stylized facts</h2>",
            "<p>Expected ranges from FACTS §5; <em>info</em> rows carry no verdict. The aggregation row lists "
            "the excess kurtosis at 1, 4 and 24 intervals.</p>",
            html_table(rows, columns=columns, cell_class=_result_class),
            '<figure><img src="validation.png" alt="stylized-facts panel">'
            "<figcaption>(a) return distribution, (b) ACF of r and |r|, (c) kurtosis under aggregation, "
            "(d) |r| against volume</figcaption></figure>"]
    if leverage_table is not None:
        body += ["<h2>Leverage and fat tails (Thurner, Farmer &amp; Geanakoplos)</h2>",
                 html_table(leverage_table.to_dict("records"))]
        if leverage_png:
            body.append('<figure><img src="leverage_tails.png" alt="kurtosis and ACF(|r|) against leverage">'
                        "<figcaption>Excess kurtosis and ACF(|r|) at lag 1 against the leverage level (cap, constant or median) "
                        "(mean ± std over seeds)</figcaption></figure>")
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">',
                      f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style></head>", "<body>",
                      *(b for b in body if b), "</body>", "</html>", ""])


def write_validation_report(out_dir: str | Path, payload: Mapping[str, Any] | None = None,
                            leverage_table: pd.DataFrame | None = None) -> Path:
    """Write (or rewrite) ``out_dir/index.html``; returns its path.

    ``payload`` defaults to ``out_dir/facts.json``. A ``leverage_table`` (see
    :mod:`experiments.leverage_tails`) adds its section, with ``leverage_tails.png`` when
    that file is in ``out_dir``.
    """
    from experiments.report import write_text_atomic

    out = Path(out_dir)
    if payload is None:
        payload = json.loads((out / "facts.json").read_text(encoding="utf-8"))
    page = render_validation_page(payload, leverage_table, (out / "leverage_tails.png").is_file())
    write_text_atomic(out / "index.html", page)
    return out / "index.html"


def write_validation(out_root: str | Path, name: str, validation: Validation) -> Path:
    """Write the validation folder ``out_root/<name>`` atomically and return its path."""
    payload = validation.payload()

    def fill(tmp: Path) -> None:
        flat = [{c: display(r.get(c), full=True) if isinstance(r.get(c), list) else r.get(c)
                 for c in validation.columns} for r in validation.rows]
        pd.DataFrame(flat, columns=validation.columns).to_csv(tmp / "facts.csv", index=False)
        (tmp / "facts.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
        title = f"{payload.get('scenario', '')}: stylized facts of {payload['asset']} at {payload['interval']}"
        make_validation_panel(validation.samples, tmp, title)
        write_validation_report(tmp, payload)

    return write_folder_atomic(out_root, name, fill)


# --------------------------------------------------------------------------- CLI


def cli_validate(args: argparse.Namespace) -> int:
    """Run ``squeeze validate``: check the input, simulate, print the table, write the folder."""
    from experiments.cli import UsageError
    from experiments.run import package_version, run_scenario
    from model.scenario import load_scenario

    try:
        interval_s = parse_interval(args.interval)
    except ValueError:
        raise UsageError(f"--interval: expected a duration such as '1min', '5min', '1h' or '30s', "
                         f"got {args.interval!r}") from None
    if not args.days > 0:
        raise UsageError(f"--days must be positive, got {args.days}")
    scenario = load_scenario(args.scenario, {"duration": f"{args.days * 24}h"})
    ratio = interval_s / scenario.record_every
    if ratio < 1 - 1e-9 or not math.isclose(ratio, round(ratio), abs_tol=1e-9):
        raise UsageError(f"--interval {args.interval} must be a whole multiple of the scenario's record "
                         f"interval ({interval_label(scenario.record_every)}), e.g. "
                         f"{interval_label(scenario.record_every)} or {interval_label(5 * scenario.record_every)}")
    reference = None
    if args.reference is not None:
        reference = load_reference(args.reference)
        ref_interval = reference_interval(reference, interval_s)
        if len(sample_reference(reference, ref_interval).prices) < MIN_REFERENCE_PRICES:
            raise UsageError(f"--reference: {args.reference}: fewer than {MIN_REFERENCE_PRICES} prices at "
                             f"{interval_label(ref_interval)}; it is too short")

    result = run_scenario(scenario, args.seed, progress=True)
    symbol = scenario.symbols[0]
    meta = {"scenario": scenario.name, "scenario_path": str(args.scenario), "seed": int(args.seed),
            "days": float(args.days), "wall_s": result.summary.get("wall_s"), "squeeze_version": package_version(),
            "reference": {"path": str(args.reference)} if reference is not None else None}
    validation = validate_result(result.series, symbol, interval_s, reference, meta)
    print(f"{scenario.name}: {args.days:g} simulated days, seed {args.seed}, "
          f"{result.summary.get('wall_s', float('nan')):.1f} s wall; {symbol} last price every {interval_label(interval_s)}")
    if validation.meta["reference"]:
        print(f"reference {args.reference}: {validation.meta['reference']['note']}")
    print(format_table(validation.rows, validation.columns))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = write_validation(args.out, f"{scenario.name}-s{args.seed}-{interval_label(interval_s)}-{stamp}", validation)
    print(f"validation folder: {path}")
    print(f"report:            {path / 'index.html'}")
    return 0
