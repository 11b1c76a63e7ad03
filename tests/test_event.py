"""The event scenario, scaled down: the same file with fewer traders and a shorter calm.

Also the ensemble's determinism: the same seeds give the same table at any job count.
"""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.ensemble import run_ensemble, target_table
from experiments.run import run_scenario
from model.scenario import load_scenario
from tests.conftest import SCENARIOS

EVENT = SCENARIOS / "short_squeeze_2026_01_14.yaml"

# A 3 h calm instead of 36 h, every population a fifth to a tenth of its size.
# Every time in the file moves with the calm: the shocks and the event window.
SCALED = {
    "duration": "8h",
    "population.noise.count": 800,
    "population.fundamentalists.count": 60,
    "population.beta.count": 30,
    "population.basis.count": 20,
    "population.speculators.count": 800,
    "population.speculators.rate": 0.0004,
    "population.speculators_alts.count": 400,
    "population.speculators_alts.rate": 0.0004,
    "shocks.0.at": "3h", "shocks.1.at": "3h", "shocks.2.at": "3h", "shocks.2.duration": "2h",
    "shocks.3.at": "3h10m", "shocks.3.over": "2h", "shocks.4.at": "6h", "shocks.5.at": "6h",
    "event.at": "3h", "event.window": "4h", "event.vol_window": "2h",
}


def scaled(**extra) -> object:
    return load_scenario(EVENT, {**SCALED, **extra})


@pytest.fixture(scope="module")
def event_run():
    return run_scenario(scaled(), seed=3, audit=True)


def test_scaled_copy_keeps_every_asset_and_cohort_of_the_file():
    full, small = load_scenario(EVENT), scaled()
    assert small.symbols == full.symbols == ["BTC", "ETH", "ALTS"]
    assert [c.name for c in small.population] == [c.name for c in full.population]
    assert [s.kind for s in small.shocks] == [s.kind for s in full.shocks]
    assert [t.name for t in small.targets] == [t.name for t in full.targets]


def test_shock_rallies_every_asset(event_run):
    s = event_run.series
    for sym in ("BTC", "ETH", "ALTS"):
        a = s[s["asset"] == sym]
        before = a.loc[a["time"] <= 3 * 3600, "last"].iloc[-1]
        peak = a.loc[a["time"] > 3 * 3600, "last"].max()
        assert peak / before - 1 > 0.03, sym


def test_shock_liquidations_are_short_dominated_on_every_asset(event_run):
    liq = event_run.liquidations
    window = liq[(liq["time"] >= 3 * 3600) & (liq["time"] < 7 * 3600)]
    for sym in ("BTC", "ETH", "ALTS"):
        one = window[window["asset"] == sym]
        usd = one.groupby("side")["notional_usd"].sum()
        assert usd.get("short", 0.0) > 0, sym
        assert usd.get("short", 0.0) / usd.sum() > 0.7, sym


def test_event_summary_and_targets_are_reported(event_run):
    summary = event_run.summary
    assert set(summary["event"]["asset_share"]) == {"BTC", "ETH", "ALTS"}
    assert summary["event"]["short_share"] > 0.7
    assert [t["name"] for t in summary["targets"]] == [t.name for t in event_run.scenario.targets]
    assert summary["assets"]["BTC"]["start_price"] == pytest.approx(91300.0, rel=0.01)


def test_ensemble_table_is_the_same_at_any_job_count():
    sc = scaled(**{"duration": "2h", "shocks.0.at": "1h", "shocks.1.at": "1h", "shocks.2.at": "1h",
                   "shocks.2.duration": "20m", "shocks.3.at": "1h10m", "shocks.3.over": "20m",
                   "shocks.4.at": "90m", "shocks.5.at": "90m",
                   "event.at": "1h", "event.window": "1h", "event.vol_window": "30m",
                   "population.noise.count": 200, "population.speculators.count": 200,
                   "population.speculators_alts.count": 100})
    one = run_ensemble(sc, [1, 2, 3], n_jobs=1, progress=False)
    two = run_ensemble(sc, [1, 2, 3], n_jobs=2, progress=False)
    cols = [c for c in one.columns if c != "wall_s"]
    assert (one["status"] == "ok").all()
    pd.testing.assert_frame_equal(one[cols], two[cols])
    assert target_table(sc, one) == target_table(sc, two)


def test_only_the_shorts_anchor_their_stops_to_the_resistance():
    from agents.speculator import LeveragedSpeculator
    from model.market import MarketModel

    m = MarketModel(scaled(), rng=1)
    specs = [t for t in m.traders if isinstance(t, LeveragedSpeculator)]
    assert specs and all(t.stop_sides == -1 for t in specs)
    anchored = [t for t in specs if t.stop_levels is not None]
    assert anchored and all(t.stop_levels[0] == 94500.0 for t in anchored if 0 in t.assets)
