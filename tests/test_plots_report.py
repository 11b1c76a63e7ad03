"""Plots and the HTML report, built from synthetic saved run folders."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from experiments.plots import PLOTS, make_run_plots
from experiments.report import format_value, html_table, rebuild_report, write_run_report

ASSETS = {"BTC": 65_000.0, "ETH": 3_400.0}
N_RECORDS = 200
DT = 60.0
BANDS = (10, 25, 50, 100, 200)
SHOCK_TIME = 100 * DT
EARLY_COLS = ["time", "timestamp", "asset", "last", "mid", "best_bid", "best_ask", "spread_bps",
              "volume", "notional", "trades", "depth_1pct_bid", "depth_1pct_ask"]
FULL_PLOTS = set(PLOTS) - {"network", "sentiment_distribution"}  # need network files / quantiles
EARLY_PLOTS = {"price", "volume", "depth"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _series(rng: np.random.Generator) -> pd.DataFrame:
    """All series columns for every asset, with a squeeze after the shock."""
    t = np.arange(N_RECORDS) * DT
    frames = []
    for asset, p0 in ASSETS.items():
        ret = rng.normal(0, 0.001, N_RECORDS) + np.where(t >= SHOCK_TIME, 0.002, 0.0)
        mid = p0 * np.exp(np.cumsum(ret))
        half = mid * rng.uniform(1e-4, 5e-4, N_RECORDS)
        vol = rng.gamma(2.0, 1.0, N_RECORDS)
        squeeze = (t >= SHOCK_TIME) & (t < SHOCK_TIME + 20 * DT)
        cols = {
            "time": t, "asset": asset, "last": mid + rng.normal(0, 1, N_RECORDS) * half,
            "mid": mid, "best_bid": mid - half, "best_ask": mid + half, "spread_bps": 2e4 * half / mid,
            "volume": vol, "notional": vol * mid, "trades": rng.integers(1, 50, N_RECORDS),
            "depth_1pct_bid": rng.uniform(1e5, 1e6, N_RECORDS), "depth_1pct_ask": rng.uniform(1e5, 1e6, N_RECORDS),
            "mark": mid * (1 + rng.normal(0, 1e-4, N_RECORDS)),
            "open_interest_long": 5e7 + np.cumsum(rng.normal(0, 1e5, N_RECORDS)),
            "open_interest_short": 5e7 + np.cumsum(rng.normal(0, 1e5, N_RECORDS)),
            "long_short_ratio": rng.uniform(0.8, 1.2, N_RECORDS),
            "liq_long_usd": rng.exponential(1e3, N_RECORDS),
            "liq_short_usd": np.where(squeeze, rng.exponential(5e5, N_RECORDS), rng.exponential(1e3, N_RECORDS)),
            "stops_fired": rng.integers(0, 3, N_RECORDS),
            "funding_rate": rng.normal(1e-4, 5e-5, N_RECORDS), "insurance_fund": 1e6 + np.cumsum(rng.normal(0, 1e3, N_RECORDS)),
            "sentiment_mean": np.tanh(np.cumsum(rng.normal(0, 0.05, N_RECORDS))),
            "sentiment_std": rng.uniform(0.1, 0.3, N_RECORDS), "bullish_share": rng.uniform(0.3, 0.7, N_RECORDS),
        }
        for side in ("bid", "ask"):
            cum = np.cumsum(rng.uniform(1e4, 1e5, (len(BANDS), N_RECORDS)), axis=0)
            cols.update({f"depth_bps_{k}_{side}": cum[i] for i, k in enumerate(BANDS)})
        frames.append(pd.DataFrame(cols))
    series = pd.concat(frames, ignore_index=True)
    series["timestamp"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(series["time"], unit="s")
    return series


def _summary(full: bool) -> dict:
    summary = {
        "scenario": "squeeze_test", "seed": 7, "wall_s": 3.25, "orders": 12345, "trades": 6789,
        "assets": {a: {"start_price": p, "end_price": p * 1.1, "high": p * 1.2, "low": p * 0.95,
                       "return_pct": 10.0, "realized_vol": 0.0123} for a, p in ASSETS.items()},
    }
    if full:
        summary["liquidations"] = {"count": 42, "notional_usd": 1_234_567.5,
                                   "by_stage": {"ioc": 40, "takeover": 2, "adl": 0}}
        summary["targets"] = [
            {"name": "max_drawup_pct", "low": 5.0, "high": 50.0, "value": 12.5, "passed": True},
            {"name": "liq_share_short", "low": 0.6, "high": 1.0, "value": 0.4, "passed": False},
        ]
        summary["shocks"] = [{"time": SHOCK_TIME, "kind": "news", "label": "ETF approval",
                              "sentiment_before": -0.1, "sentiment_after": 0.6}]
    return summary


def _write_run(run_dir: Path, full: bool) -> Path:
    """A synthetic saved run: all outputs if ``full``, else early columns only."""
    rng = np.random.default_rng(0)
    run_dir.mkdir(parents=True)
    series = _series(rng)
    if not full:
        series = series[EARLY_COLS]
    series.to_parquet(run_dir / "series.parquet")
    n_trades = 500
    pd.DataFrame({
        "time": np.sort(rng.uniform(0, N_RECORDS * DT, n_trades)), "asset": rng.choice(list(ASSETS), n_trades),
        "price": rng.uniform(3000, 70000, n_trades), "qty": rng.uniform(0.01, 1, n_trades),
        "taker_side": rng.choice(np.array([1, -1], dtype=np.int8), n_trades),
        "taker": rng.integers(0, 100, n_trades), "maker": rng.integers(0, 100, n_trades),
        "cause": rng.choice(["trader", "stop", "liquidation"], n_trades),
    }).to_parquet(run_dir / "trades.parquet")
    if full:
        n_liq = 60
        pd.DataFrame({
            "time": rng.uniform(SHOCK_TIME, SHOCK_TIME + 20 * DT, n_liq), "asset": rng.choice(list(ASSETS), n_liq),
            "account": rng.integers(0, 30, n_liq), "side": rng.choice(["long", "short"], n_liq, p=[0.2, 0.8]),
            "qty": rng.uniform(0.1, 2, n_liq), "price": rng.uniform(3000, 70000, n_liq),
            "notional_usd": rng.uniform(1e3, 1e5, n_liq), "leverage": rng.uniform(10, 50, n_liq),
            "stage": rng.choice(["ioc", "takeover", "adl"], n_liq),
        }).to_parquet(run_dir / "liquidations.parquet")
        n_acc = 200
        pd.DataFrame({
            "account": np.repeat(np.arange(n_acc // 2), 2), "asset": np.tile(list(ASSETS), n_acc // 2),
            "strategy": rng.choice(["momentum", "mean_reversion", "noise"], n_acc),
            "wallet": rng.uniform(1e3, 1e5, n_acc), "position": rng.normal(0, 1, n_acc),
            "entry_price": rng.uniform(3000, 70000, n_acc), "leverage": rng.uniform(1, 20, n_acc),
            "liquidated": np.repeat(np.arange(n_acc // 2) < 30, 2),
        }).to_parquet(run_dir / "accounts.parquet")
    (run_dir / "summary.json").write_text(json.dumps(_summary(full)))
    return run_dir


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    run_dir = _write_run(tmp_path_factory.mktemp("runs") / "full", full=True)
    plots = make_run_plots(run_dir, strict=True)
    write_run_report(run_dir)
    return run_dir, plots


@pytest.fixture(scope="module")
def early_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    run_dir = _write_run(tmp_path_factory.mktemp("runs") / "early", full=False)
    plots = make_run_plots(run_dir, strict=True)
    write_run_report(run_dir)
    return run_dir, plots


class _ImgCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"] or "")


def _assert_png(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_MAGIC, path
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4), (path, img.shape)
    return img


def _check_html(run_dir: Path) -> tuple[str, list[str]]:
    text = (run_dir / "index.html").read_text(encoding="utf-8")
    parser = _ImgCollector()
    parser.feed(text)
    parser.close()
    assert {"html", "head", "title", "body"} <= set(parser.tags)
    for bad in ("http://", "https://", "//", 'src="/', "<script"):
        assert bad not in text, bad
    pngs = sorted(f"plots/{p.name}" for p in (run_dir / "plots").glob("*.png"))
    assert sorted(parser.srcs) == pngs
    assert not list(run_dir.glob(".index.html.*"))  # no temp file left behind
    return text, parser.srcs


def test_full_run_writes_every_plot(full_run: tuple[Path, list[Path]]) -> None:
    run_dir, plots = full_run
    assert {p.stem for p in plots} == FULL_PLOTS
    assert {p.name for p in (run_dir / "plots").iterdir()} == {f"{n}.png" for n in FULL_PLOTS}
    for path in plots:
        img = _assert_png(path)
        if path.stem not in ("leverage_liquidated", "headline"):  # per-asset: one 3-inch row per asset at 100 dpi
            assert img.shape[:2] == (300 * len(ASSETS), 1000), (path, img.shape)


def test_early_run_skips_missing_columns(early_run: tuple[Path, list[Path]]) -> None:
    run_dir, plots = early_run
    assert {p.stem for p in plots} == EARLY_PLOTS
    assert {p.name for p in (run_dir / "plots").iterdir()} == {f"{n}.png" for n in EARLY_PLOTS}
    for path in plots:
        _assert_png(path)


def test_full_report_contents(full_run: tuple[Path, list[Path]]) -> None:
    run_dir, _ = full_run
    text, srcs = _check_html(run_dir)
    assert len(srcs) == len(FULL_PLOTS)
    assert "<title>Squeeze run — squeeze_test (seed 7)</title>" in text
    for value in ("65,000.00", "71,500.00", "3,400.00", "0.0123", "12,345", "6,789", "3.25",
                  "1,234,567.50", "max_drawup_pct", "liq_share_short", "ETF approval", "1 of 2 targets passed"):
        assert value in text, value
    assert '<td class="pass">PASS</td>' in text and '<td class="fail">FAIL</td>' in text


def test_early_report_contents(early_run: tuple[Path, list[Path]]) -> None:
    run_dir, _ = early_run
    text, srcs = _check_html(run_dir)
    assert len(srcs) == len(EARLY_PLOTS)
    assert "<table>" in text and "BTC" in text and "ETH" in text and "Targets" not in text


def test_rebuild_removes_stale_plots(tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path / "run", full=False)
    (run_dir / "plots").mkdir()
    (run_dir / "plots" / "sentiment.png").write_bytes(PNG_MAGIC)  # stale: no sentiment columns
    out = rebuild_report(run_dir)
    assert out == run_dir / "index.html"
    assert not (run_dir / "plots" / "sentiment.png").exists()
    _check_html(run_dir)


def test_missing_files_produce_no_plots(tmp_path: Path) -> None:
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    assert make_run_plots(run_dir, strict=True) == []
    text = (write_run_report(run_dir)).read_text(encoding="utf-8")
    assert "No plots." in text and "empty" in text


def test_html_table_escapes_and_formats() -> None:
    out = html_table([{"a": "<b>&", "b": 1234.5}, {"a": "x", "c": True}])
    assert "&lt;b&gt;&amp;" in out and "<b>" not in out
    assert '<td class="num">1,234.50</td>' in out
    assert out.count("<tr>") == 3 and ">yes<" in out and ">–<" in out
    assert html_table([]) == ""
    assert format_value(float("nan")) == "–" and format_value(0.000123) == "0.000123"


def test_degenerate_series_does_not_crash(tmp_path: Path) -> None:
    """One record per asset, all-NaN columns and no summary: plots skip or draw, never raise."""
    run_dir = tmp_path / "tiny"
    run_dir.mkdir()
    pd.DataFrame({
        "time": [0.0, 0.0], "asset": ["BTC", "ALTS"], "last": [1.0, np.nan], "notional": [5.0, 7.0],
        "liq_long_usd": [np.nan, np.nan], "funding_rate": [np.nan, 1e-4], "depth_bps_10_bid": [1.0, 2.0],
    }).to_parquet(run_dir / "series.parquet")
    (run_dir / "summary.json").write_text("[1, 2]")  # not a mapping: ignored
    stems = {p.stem for p in make_run_plots(run_dir, strict=True)}
    assert stems == {"price", "volume", "funding_insurance"}
    write_run_report(run_dir)
    _, srcs = _check_html(run_dir)
    assert len(srcs) == 3
