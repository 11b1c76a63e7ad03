"""Targets, event metrics and ensemble statistics computed from known inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.ensemble import target_table
from experiments.summary import evaluate_targets, event_summary, get_dotted
from model.targets import EventSpec, TargetSpec


class _Scenario:
    def __init__(self, targets):
        self.targets = targets


TARGETS = [TargetSpec(name="peak", metric="assets.BTC.high", range=(96500, 98500)),
           TargetSpec(name="share", metric="event.short_share", range=(0.8, 0.95)),
           TargetSpec(name="vol", metric="event.vol_ratio", range=(2, math.inf))]


def test_evaluate_targets_reads_dotted_keys_and_judges_ranges():
    summary = {"assets": {"BTC": {"high": 97000.0}}, "event": {"short_share": 0.7, "vol_ratio": None}}
    rows = evaluate_targets(TARGETS, summary)
    assert [(r["name"], r["value"], r["passed"]) for r in rows] == [
        ("peak", 97000.0, True), ("share", 0.7, False), ("vol", None, False)]
    with pytest.raises(KeyError):
        get_dotted(summary, "assets.ETH.high")


def test_event_summary_from_a_known_window():
    liq = pd.DataFrame({"time": [50.0, 100.0, 150.0, 250.0], "asset": ["BTC", "BTC", "ETH", "BTC"],
                        "side": ["short", "short", "long", "short"], "notional_usd": [1.0, 6.0, 2.0, 9.0]})
    t = np.arange(0, 301, 10.0)
    steps = np.where(t <= 100, 0.001, 0.004) * np.where(np.arange(len(t)) % 2, 1.0, -1.0)
    series = pd.DataFrame({"time": t, "asset": "BTC", "last": 100 * np.exp(np.cumsum(steps))})
    ev = event_summary(EventSpec(at=100, window=100, vol_window=100), series, liq, ["BTC", "ETH"])
    assert ev["liquidations_usd"] == 8.0                      # 6 (BTC short) + 2 (ETH long); 50 and 250 are outside
    assert ev["short_share"] == pytest.approx(6 / 8)
    assert ev["asset_share"] == {"BTC": pytest.approx(0.75), "ETH": pytest.approx(0.25)}
    assert ev["vol_ratio"] == pytest.approx(4.0)              # returns four times larger after the event


def test_ensemble_table_median_percentiles_and_pass_counts():
    runs = pd.DataFrame({"seed": [1, 2, 3, 4, 5], "status": ["ok", "ok", "ok", "ok", "failed"],
                         "peak": [96000.0, 97000.0, 98000.0, 99000.0, None],
                         "peak passed": [False, True, True, False, False],
                         "all passed": [False, True, True, False, False]})
    (row,) = target_table(_Scenario(TARGETS[:1]), runs)
    assert row["median"] == 97500.0
    assert row["p10"] == pytest.approx(np.percentile([96000, 97000, 98000, 99000], 10))
    assert row["p90"] == pytest.approx(np.percentile([96000, 97000, 98000, 99000], 90))
    assert row["median in range"] and row["seeds passing"] == 2
