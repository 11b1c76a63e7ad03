"""The same seed gives identical results; different seeds differ."""

from __future__ import annotations

import pandas as pd

from experiments.run import run_scenario
from model.scenario import load_scenario
from tests.conftest import SCENARIOS


def short_calm():
    return load_scenario(SCENARIOS / "calm.yaml", {"duration": "40m", "population.noise.count": 600})


def test_same_seed_identical_series_and_trades():
    a = run_scenario(short_calm(), seed=3)
    b = run_scenario(short_calm(), seed=3)
    pd.testing.assert_frame_equal(a.series, b.series)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    pd.testing.assert_frame_equal(a.accounts, b.accounts)
    assert len(a.trades) > 100


def test_different_seeds_differ():
    a = run_scenario(short_calm(), seed=3)
    b = run_scenario(short_calm(), seed=4)
    assert not a.trades["price"].equals(b.trades["price"])
