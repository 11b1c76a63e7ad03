"""The scaling benchmark's scenario transformations and ratios (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments import bench_scaling
from experiments.bench_scaling import scale_param, scaled_population, verdicts, with_idle_traders
from model.scenario import load_scenario_data, validate_scenario
from tests.conftest import SCENARIOS


def test_scale_param_scales_numbers_and_every_scale_key_of_a_distribution():
    assert scale_param(0.5, 4) == 2.0
    assert scale_param({"dist": "lognormal", "median": 0.002, "sigma": 0.7}, 0.25) == {
        "dist": "lognormal", "median": 0.0005, "sigma": 0.7}
    assert scale_param({"dist": "uniform", "low": 1.0, "high": 3.0}, 2) == {"dist": "uniform", "low": 2.0, "high": 6.0}
    with pytest.raises(TypeError):
        scale_param("fast", 2)


def test_scaled_population_keeps_the_total_activation_rate():
    data, _ = load_scenario_data(SCENARIOS / "calm.yaml")
    base = validate_scenario(data)
    big = validate_scenario(scaled_population(data, 4))
    for a, b in zip(base.population, big.population):
        if a.strategy == "market_maker":
            assert b.count == a.count
        else:
            assert b.count == 4 * a.count
            assert b.rate.median * 4 == pytest.approx(a.rate.median)


def test_idle_traders_never_act():
    data, _ = load_scenario_data(SCENARIOS / "calm.yaml")
    sc = validate_scenario(with_idle_traders(data, 10))
    idle = sc.population[-1]
    traders = sum(c.count for c in sc.population[:-1] if c.strategy != "market_maker")
    assert idle.count == 10 * traders
    assert idle.rate == 0.0


def test_verdicts_are_the_ratios_the_targets_name():
    table = pd.DataFrame([
        {"curve": "traders", "x": 1, "wall_s": 10.0}, {"curve": "traders", "x": 16, "wall_s": 15.0},
        {"curve": "idle", "x": 0, "wall_s": 10.0}, {"curve": "idle", "x": 10, "wall_s": 11.0},
        {"curve": "jobs", "x": 1, "wall_s": 60.0}, {"curve": "jobs", "x": 2, "wall_s": 32.0}])
    v = verdicts(table)
    assert v["wall 16x traders / 1x"] == pytest.approx(1.5)
    assert v["extra wall with 10x idle traders"] == pytest.approx(0.1)
    assert v["sweep speed-up, 2 jobs"] == pytest.approx(1.875)


def test_jobs_alternate_and_keep_the_median(monkeypatch):
    calls = []
    walls = iter([30.0, 16.0, 40.0, 17.0, 31.0, 25.0])  # a slow minute hits the second pair

    def fake_wall(path, jobs):
        calls.append(jobs)
        return next(walls)

    monkeypatch.setattr(bench_scaling, "sweep_wall", fake_wall)
    rows = bench_scaling.jobs_rows(Path("sweep.yaml"), pairs=3)
    assert calls == [1, 2, 1, 2, 1, 2]
    assert [(r["x"], r["wall_s"]) for r in rows] == [(1, 31.0), (2, 17.0)]
