"""Shocks and sentiment in running models: delivery, liquidity, news spreading, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.run import run_scenario
from model.market import MarketModel
from model.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS

SMALL = {"population.noise.count": 600, "population.fundamentalists.count": 50}


def calm_with(shocks: list[dict], duration: str = "1h") -> object:
    return load_scenario(SCENARIOS / "calm.yaml", {"duration": duration, "shocks": shocks, **SMALL})


def test_market_order_delivers_its_notional_within_one_lot_over_its_duration():
    sc = calm_with([{"kind": "market_order", "at": "20m", "asset": "BTC", "side": "sell",
                     "notional_usd": 3_000_000, "over": "5m"}])
    r = run_scenario(sc, seed=2, audit=True)
    (delivered,) = r.summary["shock_delivered_usd"].values()
    assert abs(delivered - 3_000_000) <= r.series["last"].max() * 0.001
    shock = r.trades[r.trades["cause"] == "shock"]
    assert shock["time"].min() >= 1200 and shock["time"].max() < 1200 + 300
    assert (shock["taker_side"] == -1).all()
    # spread evenly: every minute of the five carries a share
    assert shock.groupby(shock["time"] // 60)["qty"].sum().size == 5


def test_liquidity_withdrawal_thins_depth_then_restores_it():
    sc = calm_with([{"kind": "liquidity_withdrawal", "at": "20m", "factor": 0.2, "duration": "15m"}], "50m")
    s = run_scenario(sc, seed=3).series
    depth = (s["depth_1pct_bid"] + s["depth_1pct_ask"]).to_numpy()
    t = s["time"].to_numpy()
    before = depth[(t > 600) & (t <= 1200)].mean()
    during = depth[(t > 1500) & (t <= 2100)].mean()   # after makers requoted at least once
    after = depth[(t > 2400)].mean()
    assert during < 0.6 * before
    assert after > 0.85 * before


def test_fundamental_jump_moves_the_fundamental():
    sc = calm_with([{"kind": "fundamental_jump", "at": "10m", "pct": 2.0}], "20m")
    s = run_scenario(sc, seed=4).series
    f = s.set_index("time")["fundamental"]
    assert f.loc[660] / f.loc[540] - 1 == pytest.approx(0.02, abs=0.003)


def test_gradual_fundamental_jump_compounds_evenly_over_its_duration():
    sc = calm_with([{"kind": "fundamental_jump", "at": "10m", "pct": 3.0, "over": "20m"}], "40m")
    sc.assets[0].fundamental_vol = 0.0
    m = MarketModel(sc, rng=4)
    seen = {}
    while m.now < 2400:
        m.step()
        seen[m.now] = float(m.fundamental[0])
    start = sc.assets[0].price
    assert seen[599.0] == pytest.approx(start)
    assert np.log(seen[1199.0] / start) == pytest.approx(0.5 * np.log(1.03), rel=0.01)
    assert seen[1799.0] == pytest.approx(start * 1.03, rel=1e-9)
    assert seen[2399.0] == pytest.approx(start * 1.03, rel=1e-9)


def test_ranging_fundamental_reverts_to_its_anchor_and_jumps_move_the_anchor():
    sc = calm_with([{"kind": "fundamental_jump", "at": "10m", "pct": 5.0}], "2h")
    sc.assets[0].fundamental_half_life = 600.0
    sc.assets[0].fundamental_vol = 0.0
    m = MarketModel(sc, rng=4)
    m._fund_own[0] = 1.02  # displaced 2% from its anchor
    m.step()
    assert np.log(m.fundamental[0] / sc.assets[0].price) == pytest.approx(np.log(1.02) * 0.5 ** (1 / 600), rel=1e-9)
    while m.now < 7200:
        m.step()
    # After 11 half-lives of the displacement the level is the anchor, which the jump moved by 5%.
    assert m.fundamental[0] / (sc.assets[0].price * 1.05) == pytest.approx(1.0, abs=1e-4)


def news_model(seed: int = 5) -> MarketModel:
    sc = load_scenario(SCENARIOS / "news_hubs.yaml", {
        "duration": "2h", "shocks.0.at": "30m", "population.noise.count": 800,
        "population.speculators.count": 400, "sentiment.noise": 0.0, "sentiment.momentum": 0.0,
        "sentiment.pain": 0.0, "sentiment.initial": 0.0})
    return MarketModel(sc, rng=seed)


def test_news_to_hubs_spreads_to_their_neighbours_first():
    m = news_model()
    while m.now < 1800:
        m.step()
    hubs = m.mood.hubs
    neighbours = sorted({j for h in hubs.tolist() for j in m.mood.graph.neighbors(h)} - set(hubs.tolist()))
    others = sorted(set(range(len(m.sentiment))) - set(neighbours) - set(hubs.tolist()))
    # The news landed and one update ran: only the hubs and their direct neighbours have moved.
    assert (m.sentiment[hubs] > 0.5).all()
    assert m.sentiment[neighbours].max() > 0
    assert np.abs(m.sentiment[others]).max() == 0
    while m.now < 1800 + 5 * 60:
        m.step()
    assert m.sentiment[hubs].mean() > m.sentiment[neighbours].mean() > m.sentiment[others].mean() > 0


def test_same_seed_same_sentiment_series():
    sc = load_scenario(SCENARIOS / "news_hubs.yaml", {"duration": "1h", "shocks.0.at": "20m", **SMALL,
                                                      "population.speculators.count": 300})
    a, b = run_scenario(sc, seed=9), run_scenario(sc, seed=9)
    cols = ["sentiment_mean", "sentiment_std", "bullish_share", "sentiment_p50"]
    pd.testing.assert_frame_equal(a.series[cols], b.series[cols])
    assert a.series["sentiment_std"].iloc[-1] > 0
    pd.testing.assert_frame_equal(a.network_nodes, b.network_nodes)


def test_sentiment_before_and_after_each_shock_in_summary():
    sc = load_scenario(SCENARIOS / "news_hubs.yaml", {"duration": "2h", "shocks.0.at": "30m", **SMALL,
                                                      "population.speculators.count": 300})
    (shock,) = run_scenario(sc, seed=1).summary["shocks"]
    assert shock["kind"] == "news" and shock["sentiment_after"] > shock["sentiment_before"]


@pytest.mark.parametrize(("shock", "message"), [
    ({"kind": "earthquake", "at": "1m"}, "earthquake"),
    ({"kind": "market_order", "at": "3h", "asset": "BTC", "side": "buy", "notional_usd": 1e6}, "not before the end"),
    ({"kind": "market_order", "at": "1m", "asset": "DOGE", "side": "buy", "notional_usd": 1e6}, "unknown asset"),
    ({"kind": "market_order", "at": "1m", "asset": "BTC", "side": "up", "notional_usd": 1e6}, "shocks.0.side"),
    ({"kind": "news", "at": "1m", "amount": 0.5, "target": "fraction"}, "fraction is required"),
    ({"kind": "news", "at": "1m", "amount": 0.5, "target": "hubs"}, "network.hubs > 0"),
    ({"kind": "news", "at": "soon", "amount": 0.5}, "expected a duration"),
])
def test_bad_shocks_are_rejected_before_any_work(tmp_path, capsys, shock, message):
    import yaml

    text = (SCENARIOS / "calm.yaml").read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("duration: 24h", "duration: 2h") + "\n" + yaml.safe_dump({"shocks": [shock]}))
    with pytest.raises(ScenarioError):
        load_scenario(path)
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.yaml" in err
    assert not (tmp_path / "runs").exists()


def test_spot_volatility_shock_scales_the_fundamentals_volatility_then_restores_it():
    sc = calm_with([{"kind": "spot_volatility", "at": "20m", "factor": 4.0, "duration": "20m"}], "1h")
    m = MarketModel(sc, rng=4)
    logs = []
    while m.now < 3600:
        m.step()
        logs.append(np.log(m.fundamental[0]))
    r = np.diff(logs)
    before, during, after = r[60:1190].std(), r[1210:2390].std(), r[2410:].std()
    assert during / before == pytest.approx(4.0, rel=0.15)
    assert after / before == pytest.approx(1.0, rel=0.15)
    assert m.fund_vol_factor[0] == 1.0
