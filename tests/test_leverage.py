"""Leverage end to end: invariants on complete runs, the squeeze counterfactual, liquidation order.

Both shipped leveraged scenarios run in full with ``audit=True``, which checks
at every record that money is conserved (every account's equity at one common
price, the insurance fund's and the whales' included, plus fees = deposits),
that positions net to zero per asset and that no book is crossed at rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.run import run_scenario
from model.scenario import load_scenario
from tests.conftest import SCENARIOS

SHOCK_AT = 8 * 3600.0


def _run(name: str, overrides: dict | None = None, seed: int = 11):
    return run_scenario(load_scenario(SCENARIOS / name, overrides), seed=seed, audit=True)


@pytest.fixture(scope="module")
def demo():
    return _run("squeeze_demo.yaml")


@pytest.fixture(scope="module")
def demo_unlevered():
    return _run("squeeze_demo.yaml", {"population.speculators.leverage": 1, "population.speculators.stop_prob": 0})


@pytest.fixture(scope="module")
def calm():
    return _run("leveraged_calm.yaml")


def peak_move_after_shock(result) -> float:
    s = result.series
    before = s.loc[s["time"] <= SHOCK_AT, "last"].iloc[-1]
    return float(s.loc[s["time"] > SHOCK_AT, "last"].max() / before - 1.0)


@pytest.mark.parametrize("which", ["demo", "calm"])
def test_final_state_invariants(which, request):
    result = request.getfixturevalue(which)
    s = result.summary
    assert s["money_end"] == pytest.approx(s["deposits"], rel=1e-9)
    acc = result.accounts
    assert acc.groupby("asset")["position"].sum().abs().max() < 1e-9
    for pay in s["funding_payments"]:
        assert abs(pay["net"]) <= 1e-9 * max(pay["gross"], 1.0)
    assert len(s["funding_payments"]) >= 1


@pytest.mark.parametrize("which", ["demo", "calm"])
def test_no_liquidated_trader_is_left_with_negative_equity(which, request):
    liq = request.getfixturevalue(which).liquidations
    assert (liq["account_equity_after"] >= -1e-6).all()


def test_summary_reports_fund_and_adl(demo):
    s = demo.summary
    for key in ("fund_shortfall_paid", "adl_notional", "insurance_fund_start", "insurance_fund_end"):
        assert np.isfinite(s[key])
    assert s["liquidations"]["count"] == demo.liquidations.groupby(["time", "account", "asset"]).ngroups


def test_leveraged_calm_stays_calm(calm):
    last = calm.series["last"].to_numpy()
    assert (last.max() - last.min()) / last.min() < 0.05
    assert calm.summary["liquidations"]["total_usd"] < 0.01 * calm.series["notional"].sum()


def test_counterfactual_leverage_and_stops_make_the_squeeze(demo, demo_unlevered):
    levered, unlevered = peak_move_after_shock(demo), peak_move_after_shock(demo_unlevered)
    assert levered > unlevered > 0
    # The cascade is the hour after the shock; later, as the price drifts back to the
    # unchanged fundamental, longs who bought the top get liquidated too.
    liq = demo.liquidations
    cascade = liq[(liq["time"] >= SHOCK_AT) & (liq["time"] < SHOCK_AT + 3600)]
    short_usd = cascade.loc[cascade["side"] == "short", "notional_usd"].sum()
    assert short_usd > 0 and short_usd / cascade["notional_usd"].sum() > 0.7
    assert demo.summary["stops_fired"] > demo_unlevered.summary["stops_fired"]
    assert demo_unlevered.summary["liquidations"]["total_usd"] == 0
    forced = demo.trades["cause"].isin(["stop", "liquidation", "takeover", "adl"])
    assert forced.any()


def test_the_whale_delivers_its_notional(demo):
    (delivered,) = demo.summary["shock_delivered_usd"].values()
    lot_usd = demo.series["last"].max() * 0.001
    assert abs(delivered - 25_000_000) <= lot_usd
    shock = demo.trades[demo.trades["cause"] == "shock"]
    assert shock["time"].min() >= SHOCK_AT and shock["time"].max() <= SHOCK_AT + 120


def test_liquidations_fire_in_price_order_and_only_below_maintenance(demo):
    liq = demo.liquidations
    first = liq.drop_duplicates(["time", "account", "asset"])  # one row per liquidation
    assert (first["equity"] <= first["maintenance"] + 1e-9).all()
    for (_, side), grp in first.groupby(["time", "side"]):
        trig = grp["trigger_price"].to_numpy()
        steps = np.diff(trig)
        # shorts are liquidated as the price rises (ascending triggers), longs as it falls
        assert (steps >= -1e-9).all() if side == "short" else (steps <= 1e-9).all()
