"""Network, sentiment-distribution and headline plots from synthetic saved run folders."""

from __future__ import annotations

import json
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from experiments.plots import PLOTS, load_run, make_run_plots
from experiments.plots_headline import headline_panels, plot_headline
from experiments.plots_network import force_layout, network_figure, subsample_nodes
from tests.test_plots_report import SHOCK_TIME, _assert_png, _series, _summary

NEW_PLOTS = {"headline", "network", "sentiment_distribution"}
N_NODES, N_HUBS = 300, 5
QUANTILES = {10: -1.28, 25: -0.67, 50: 0.0, 75: 0.67, 90: 1.28}
LIQ_COLS = ["liq_long_usd", "liq_short_usd"]
SENTIMENT_COLS = ["sentiment_mean", "sentiment_std", "bullish_share", *(f"sentiment_p{q}" for q in QUANTILES)]


def _graph_frames(n: int, m: int, n_hubs: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Edges of a Barabási-Albert graph and two node snapshots; the top-degree nodes are hubs."""
    graph = nx.barabasi_albert_graph(n, m, seed=seed)
    edges = pd.DataFrame(np.array(graph.edges(), dtype=np.int64), columns=["source", "target"])
    degree = np.array([d for _, d in sorted(graph.degree())])
    hub = np.isin(np.arange(n), np.argsort(-degree, kind="stable")[:n_hubs])
    rng = np.random.default_rng(seed)
    snaps = []
    for label, t, shift in (("before first shock", SHOCK_TIME, 0.0), ("end", 2 * SHOCK_TIME, 0.4)):
        sentiment = np.clip(rng.normal(shift * hub + shift / 2, 0.2, n), -1, 1)
        notional = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(9, 1.5, n))
        snaps.append(pd.DataFrame({"snapshot": label, "time": t, "node": np.arange(n),
                                   "cohort": rng.choice(["noise", "speculators"], n), "sentiment": sentiment,
                                   "notional_usd": notional, "hub": hub}))
    return edges, pd.concat(snaps, ignore_index=True)


def _full_series() -> pd.DataFrame:
    """Two assets with every column, including the sentiment quantiles (same on both assets)."""
    series = _series(np.random.default_rng(1))
    for q, z in QUANTILES.items():
        series[f"sentiment_p{q}"] = np.clip(series["sentiment_mean"] + z * series["sentiment_std"], -1, 1)
    return series


def _write_run(run_dir: Path, series: pd.DataFrame | None, network: bool = True) -> Path:
    """A saved run folder with ``series`` (if any), the network files (if asked) and a summary with shocks."""
    run_dir.mkdir(parents=True)
    if series is not None:
        series.to_parquet(run_dir / "series.parquet")
    if network:
        edges, nodes = _graph_frames(N_NODES, 3, N_HUBS)
        edges.to_parquet(run_dir / "network_edges.parquet")
        nodes.to_parquet(run_dir / "network_nodes.parquet")
    (run_dir / "summary.json").write_text(json.dumps(_summary(full=True)))
    return run_dir


def _stems(run_dir: Path) -> set[str]:
    """Which of the new plots the saved run produces (only those are rendered, for speed)."""
    run = load_run(run_dir)
    return {name for name in NEW_PLOTS if PLOTS[name](run, run_dir / "plots") is not None}


@pytest.fixture(scope="module")
def full_plots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    run_dir = _write_run(tmp_path_factory.mktemp("runs") / "full", _full_series())
    return {p.stem: p for p in make_run_plots(run_dir, strict=True)}


def test_full_run_writes_and_decodes_new_plots(full_plots: dict[str, Path]) -> None:
    assert NEW_PLOTS <= set(full_plots)
    shapes = {name: _assert_png(full_plots[name]).shape for name in NEW_PLOTS}
    assert shapes["headline"][0] > shapes["headline"][1]  # tall: four stacked panels
    assert shapes["network"][1] > shapes["network"][0]  # two panels side by side


def test_headline_has_every_panel_for_a_full_series() -> None:
    names = [panel.name for panel, _ in headline_panels(_full_series())]
    assert names == ["price", "open interest", "sentiment", "depth"]
    price_frames = headline_panels(_full_series())[0][1]
    assert [asset for asset, _ in price_frames] == ["BTC", "ETH"]


@pytest.mark.parametrize("drop, absent", [
    (LIQ_COLS + SENTIMENT_COLS, {"headline", "sentiment_distribution"}),  # neither: no headline
    ([f"sentiment_p{q}" for q in QUANTILES], {"sentiment_distribution"}),  # headline falls back to ±1 std
    (LIQ_COLS, set()),  # sentiment alone is enough for the headline
])
def test_missing_columns_skip(tmp_path: Path, drop: list[str], absent: set[str]) -> None:
    stems = _stems(_write_run(tmp_path / "run", _full_series().drop(columns=drop)))
    assert NEW_PLOTS - absent <= stems and not (absent & stems)


def test_missing_files_skip(tmp_path: Path) -> None:
    assert _stems(_write_run(tmp_path / "no_network", _full_series(), network=False)) == NEW_PLOTS - {"network"}
    only_network = _write_run(tmp_path / "only_network", None)
    assert [p.stem for p in make_run_plots(only_network, strict=True)] == ["network"]
    (only_network / "network_edges.parquet").unlink()
    assert make_run_plots(only_network, strict=True) == []
    assert not (only_network / "plots" / "network.png").exists()  # stale PNG removed


def test_headline_skips_flat_sentiment_without_liquidations(tmp_path: Path) -> None:
    series = _full_series().drop(columns=LIQ_COLS)
    series[SENTIMENT_COLS] = 0.0  # sentiment disabled: recorded as zeros
    assert plot_headline(series, None, tmp_path) is None
    assert [p.name for p, _ in headline_panels(series)] == ["price", "open interest", "depth"]


def test_network_tolerates_bad_node_tables() -> None:
    edges, nodes = _graph_frames(50, 2, 2)
    assert network_figure(edges, nodes.drop(columns=["sentiment"])) is None
    assert network_figure(edges.iloc[0:0], nodes) is None
    one_snapshot = nodes[nodes["snapshot"] == "end"].drop(columns=["notional_usd", "hub"])
    fig = network_figure(edges, one_snapshot)
    assert fig is not None and len([ax for ax in fig.axes if ax.get_title()]) == 1


def test_large_graph_is_subsampled_quickly() -> None:
    edges, nodes = _graph_frames(5000, 3, 20)
    start = time.perf_counter()
    fig = network_figure(edges, nodes)
    assert fig is not None
    fig.canvas.draw()
    assert time.perf_counter() - start < 15.0
    assert "showing 1500 of 5000 traders" in fig.get_suptitle()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("before first shock — t = 1.7 h") and titles[1].startswith("end — t = 3.3 h")


def test_subsample_keeps_hubs_and_is_deterministic() -> None:
    edges, nodes = _graph_frames(5000, 3, 20)
    ids = nodes["node"].unique()
    pairs = edges.to_numpy()
    hubs = nodes.loc[nodes["hub"], "node"].unique()
    sample = subsample_nodes(ids, pairs, hubs, max_nodes=1500)
    assert sample.size == 1500 and np.all(np.diff(sample) > 0) and np.isin(sample, ids).all()
    assert np.isin(hubs, sample).all()
    assert np.array_equal(sample, subsample_nodes(ids, pairs, hubs, max_nodes=1500))
    assert not np.array_equal(sample, subsample_nodes(ids, pairs, hubs, max_nodes=1500, seed=1))
    # a small budget goes to the hubs' neighbours before anyone else
    few_hubs = hubs[:2]
    small = subsample_nodes(ids, pairs, few_hubs, max_nodes=40)
    linked = set(pairs[np.isin(pairs, few_hubs).any(axis=1)].ravel())
    assert small.size == 40 and set(small) <= linked
    # hubs are kept even beyond the budget; small graphs are drawn whole
    assert np.array_equal(subsample_nodes(ids, pairs, hubs, max_nodes=5), np.sort(hubs))
    assert np.array_equal(subsample_nodes(np.arange(10), pairs[:0], [], max_nodes=50), np.arange(10))


def test_force_layout_is_bounded_and_deterministic() -> None:
    graph = nx.barabasi_albert_graph(200, 2, seed=3)
    edges = np.array(graph.edges())
    pos = force_layout(200, edges)
    assert pos.shape == (200, 2) and np.isfinite(pos).all() and np.abs(pos).max() <= 1.0 + 1e-6
    assert np.array_equal(pos, force_layout(200, edges))
    linked = np.linalg.norm(pos[edges[:, 0]] - pos[edges[:, 1]], axis=1).mean()
    rng = np.random.default_rng(0)
    random_pairs = np.linalg.norm(pos[rng.integers(0, 200, 500)] - pos[rng.integers(0, 200, 500)], axis=1).mean()
    assert linked < random_pairs  # neighbours are drawn close together
    assert force_layout(1, edges[:0]).shape == (1, 2)
