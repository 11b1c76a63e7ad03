"""Run folders: complete, atomic, never overwritten."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from experiments import run as run_mod
from experiments.cli import main, parse_seed_list
from model.market import MarketModel
from tests.conftest import SCENARIOS

FAST = ["--set", "duration=20m", "--set", "population.noise.count=300", "--no-progress"]


def test_cli_run_writes_a_complete_folder(tmp_path, capsys):
    assert main(["run", str(SCENARIOS / "calm.yaml"), "--seed", "5", "--out", str(tmp_path), *FAST]) == 0
    (run_dir,) = [p for p in tmp_path.iterdir()]
    assert run_dir.name.startswith("calm-s5-")
    names = {p.name for p in run_dir.iterdir()}
    assert {"scenario.yaml", "series.parquet", "trades.parquet", "accounts.parquet", "summary.json",
            "plots", "index.html"} <= names
    resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    assert resolved["seed"] == 5 and "squeeze_version" in resolved and resolved["duration"] == 1200
    series = pd.read_parquet(run_dir / "series.parquet")
    for col in ("time", "asset", "last", "mid", "best_bid", "best_ask", "spread_bps", "volume", "notional",
                "depth_1pct_bid", "depth_1pct_ask"):
        assert col in series.columns
    trades = pd.read_parquet(run_dir / "trades.parquet")
    for col in ("time", "asset", "price", "qty", "taker_side", "taker", "maker", "cause"):
        assert col in trades.columns
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == 5 and summary["trades"] == len(trades)
    assert {"price.png", "volume.png", "depth.png"} <= {p.name for p in (run_dir / "plots").iterdir()}
    out = capsys.readouterr().out
    assert str(run_dir / "index.html") in out


def test_interrupted_run_leaves_no_folder(tmp_path, monkeypatch, capsys):
    real_step = MarketModel.step

    def failing_step(self):
        if self.steps == 300:
            raise RuntimeError("injected failure")
        real_step(self)

    monkeypatch.setattr(MarketModel, "step", failing_step)
    with pytest.raises(RuntimeError, match="injected"):
        main(["run", str(SCENARIOS / "calm.yaml"), "--out", str(tmp_path), *FAST])
    assert list(tmp_path.iterdir()) == []


def test_crash_while_writing_leaves_no_folder(tmp_path, monkeypatch):
    def broken_report(_dir):
        raise OSError("disk full")

    monkeypatch.setattr("experiments.report.rebuild_report", broken_report)
    from model.scenario import load_scenario

    result = run_mod.run_scenario(load_scenario(SCENARIOS / "calm.yaml", {"duration": "5m"}), seed=1)
    with pytest.raises(OSError):
        run_mod.write_run(result, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_an_earlier_run(tmp_path, monkeypatch):
    from model.scenario import load_scenario

    monkeypatch.setattr(run_mod, "run_dir_name", lambda sc, seed: "fixed-name")
    result = run_mod.run_scenario(load_scenario(SCENARIOS / "calm.yaml", {"duration": "5m"}), seed=1)
    first = run_mod.write_run(result, tmp_path, make_report=False)
    marker = first / "marker.txt"
    marker.write_text("keep me")
    second = run_mod.write_run(result, tmp_path, make_report=False)
    assert first != second and marker.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed-name", "fixed-name-2"]


def test_bench_quick_prints_figures_and_commands(capsys, monkeypatch):
    import experiments.bench as bench

    monkeypatch.setattr(bench, "end_to_end", lambda path, seed=1, overrides=None, kernels=None: {
        "scenario": "calm", "kernels": kernels or "native", "simulated_s": 7200.0, "wall_s": 1.0, "orders": 10, "cancels": 5, "trades": 3,
        "orders_per_s": 15.0, "sim_s_per_wall_s": 7200.0, "peak_rss_mb": 100.0})
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "ratio fast/reference" in out and "orders/s" in out
    assert out.count("reproduce:") == 2


def test_full_bench_judges_each_figure_against_its_target(capsys, monkeypatch):
    import experiments.bench as bench

    monkeypatch.setattr(bench, "compare_books", lambda n, seed, ref_n: {
        "kind": "native", "fast": {"orders_per_s": 900_000.0, "n": n}, "python": {"orders_per_s": 600_000.0, "n": n},
        "ratio_fast_over_python": 1.5, "fast_at_ref_n": {"orders_per_s": 950_000.0},
        "reference": {"orders_per_s": 20_000.0}, "ratio_fast_over_reference": 47.5})
    monkeypatch.setattr(bench, "end_to_end", lambda path, seed=1, overrides=None, kernels=None: {
        "scenario": "short_squeeze_2026_01_14", "kernels": kernels or "native", "simulated_s": 259200.0,
        "wall_s": 120.0 if kernels else 60.0, "orders": 7_000_000,
        "cancels": 5_000_000, "trades": 1, "orders_per_s": 100_000.0, "sim_s_per_wall_s": 2160.0,
        "peak_rss_mb": 500.0})
    assert main(["bench"]) == 0
    out = capsys.readouterr().out
    assert "target >= 1,000,000: MISS" in out and "target >= 2x: pass" in out
    assert "ratio fast/Python 1.50x" in out and "on the pure-Python kernels: 120.0 s wall" in out and "ratio 2.00x" in out
    assert "target >= 100,000 orders+cancels/s: pass" in out and "target <= 30 s wall: MISS" in out
    assert "target < 1,024 MB peak memory: pass" in out


@pytest.mark.parametrize(("text", "seeds"), [("7", [7]), ("11-13,31-32", [11, 12, 13, 31, 32]), (" 5 , 2-3", [5, 2, 3])])
def test_seed_list_reads_seeds_and_ranges(text, seeds):
    assert parse_seed_list(text) == seeds


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed-list", "1-3,3"], "seeds listed more than once: [3]"),
    (["--seed-list", "5-2"], "not a range of non-negative seeds"),
    (["--seed-list", "a-b"], "'a-b' is not a seed or a range"),
    (["--seed-list", "1-3", "--seeds", "4"], "either --seed/--seeds or --seed-list"),
    (["--seed-list", "1-3", "--seed", "2"], "either --seed/--seeds or --seed-list"),
    (["--seeds", "0"], "--seeds must be at least 1"),
])
def test_bad_seed_choices_are_rejected_before_any_run(argv, message, capsys, monkeypatch, tmp_path):
    import experiments.ensemble as ensemble

    monkeypatch.setattr(ensemble, "run_ensemble", lambda *a, **k: pytest.fail("an ensemble ran"))
    assert main(["run", str(SCENARIOS / "calm.yaml"), "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_seed_list_runs_exactly_those_seeds(monkeypatch, tmp_path):
    import experiments.ensemble as ensemble

    ran = []

    def fake_run(scenario, seeds, n_jobs=-1, progress=True):
        ran.extend(seeds)
        return pd.DataFrame({"seed": seeds, "status": "ok", "error": "", "wall_s": 1.0, "all passed": True})

    monkeypatch.setattr(ensemble, "run_ensemble", fake_run)
    argv = ["run", str(SCENARIOS / "calm.yaml"), "--out", str(tmp_path), "--no-progress"]
    assert main([*argv, "--seed-list", "11-12,31"]) == 0
    assert main([*argv, "--seed", "4", "--seeds", "2"]) == 0
    assert ran == [11, 12, 31, 4, 5]
