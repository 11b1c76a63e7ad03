"""The calm scenario over a full day: calm, alive, and every invariant holds at every record."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.run import run_scenario
from model.scenario import load_scenario


@pytest.fixture(scope="module")
def calm_day(request):
    from tests.conftest import SCENARIOS

    scenario = load_scenario(SCENARIOS / "calm.yaml")
    assert scenario.duration == 24 * 3600
    return run_scenario(scenario, seed=7, audit=True)  # audit: invariants at every record


def test_price_range_under_5_percent(calm_day):
    last = calm_day.series["last"].to_numpy()
    assert (last.max() - last.min()) / last.min() < 0.05


def test_spread_always_positive_and_both_sides_present(calm_day):
    s = calm_day.series
    assert s["best_bid"].notna().all() and s["best_ask"].notna().all()
    assert (s["spread_bps"] > 0).all()
    assert (s["best_ask"] > s["best_bid"]).all()


def test_trades_in_every_hour(calm_day):
    hours = (calm_day.trades["time"] // 3600).astype(int)
    assert set(range(24)) <= set(hours.unique())


def test_records_cover_the_day(calm_day):
    assert len(calm_day.series) == 24 * 60
    assert calm_day.series["time"].iloc[-1] == 24 * 3600


def test_positions_net_to_zero_at_the_end(calm_day):
    acc = calm_day.accounts
    assert abs(acc.groupby("asset")["position"].sum()).max() < 1e-9


def test_volume_matches_tape(calm_day):
    assert calm_day.series["volume"].sum() == pytest.approx(calm_day.trades["qty"].sum(), rel=1e-12)
    assert int(calm_day.series["trades"].sum()) == len(calm_day.trades)


def test_summary_has_headline_fields(calm_day):
    s = calm_day.summary
    for key in ("orders", "trades", "wall_s", "seed", "scenario"):
        assert key in s
    btc = s["assets"]["BTC"]
    for key in ("start_price", "end_price", "high", "low", "return_pct", "realized_vol"):
        assert np.isfinite(btc[key])
    assert btc["low"] <= btc["end_price"] <= btc["high"]
