"""`MarketModel.recent_range`: the recorded low and high over a window, with the live price."""

from __future__ import annotations

from model.market import MarketModel
from model.scenario import load_scenario
from tests.conftest import SCENARIOS


def plain_range(model: MarketModel, asset: int, window_s: float) -> tuple[float, float]:
    """The range computed afresh from the recorded rows (what the cached method must return)."""
    rec = model.recorder
    k = max(0, rec.n - int(window_s // model.spec.record_every))
    now = model.venue.last_price(asset)
    past = rec.data["last"][k:rec.n, asset]
    if len(past) == 0:
        return now, now
    return min(now, float(past.min())), max(now, float(past.max()))


def test_recent_range_follows_new_records_and_prices():
    model = MarketModel(load_scenario(SCENARIOS / "calm.yaml", {"duration": "40m", "population.noise.count": 300}),
                        rng=2)
    every = model.spec.record_every
    windows = (-every, 0.0, every / 2, every, 3 * every, 1e9)
    checked, seen_n = 0, set()
    while model.steps < model.n_steps:
        model.step()
        if model.steps % 7:
            continue
        seen_n.add(model.recorder.n)
        for asset in range(len(model.venue.books)):
            for window in windows + windows:  # twice: the second look is served from the cache
                assert model.recent_range(asset, window) == plain_range(model, asset, window)
                checked += 1
    assert checked > 1000 and len(seen_n) > 10
    low, high = model.recent_range(0, 1e9)
    assert low < high  # the calm market moved over 40 minutes
