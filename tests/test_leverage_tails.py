"""The leverage sweep's ``median`` mode: the overrides it produces (no simulation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments import leverage_tails as lt
from model.distributions import Choice, Lognormal, Normal, Pareto, Uniform, draw, median
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LEVERAGED_CALM = ROOT / "scenarios" / "leveraged_calm.yaml"


def test_median_mode_rescales_a_lognormal_and_keeps_its_bounds() -> None:
    dist = Lognormal(dist="lognormal", median=15, sigma=0.6, min=1, max=125)
    for level in (1, 5, 20, 50):
        assert lt.cap_leverage(dist, level, mode="median") == {
            "dist": "lognormal", "median": float(level), "sigma": 0.6, "min": 1.0, "max": 125.0}
    # bounds move only when the median would fall outside them
    assert lt.cap_leverage(Lognormal(dist="lognormal", median=15, sigma=0.6, min=10, max=30), 5, mode="median") \
        == {"dist": "lognormal", "median": 5.0, "sigma": 0.6, "min": 5.0, "max": 30.0}
    assert lt.cap_leverage(Lognormal(dist="lognormal", median=15, sigma=0.6, min=1, max=30), 50,
                           mode="median")["max"] == 50.0
    assert lt.cap_leverage(7.0, 20, mode="median") == 20.0


@pytest.mark.parametrize("dist, shape_keys", [
    (Uniform(dist="uniform", low=5, high=25, min=1), ("low", "high")),
    (Normal(dist="normal", mean=10, std=3, min=1), ("mean", "std")),
    (Pareto(dist="pareto", scale=4, alpha=2, max=125), ("scale",)),
    (Choice(dist="choice", values=[2, 10, 50], weights=[1, 2, 1]), ()),
])
def test_median_mode_scales_other_shapes(dist, shape_keys) -> None:
    out = lt.cap_leverage(dist, 20, mode="median")
    factor = 20 / median(dist)
    for key in shape_keys:
        assert out[key] == pytest.approx(getattr(dist, key) * factor)
    assert out["min"] == dist.min and out["max"] == dist.max
    rescaled = type(dist)(**out)
    assert median(rescaled) == pytest.approx(20.0)


def test_median_matches_draws() -> None:
    rng = np.random.default_rng(0)
    for dist in (Lognormal(dist="lognormal", median=15, sigma=0.6), Pareto(dist="pareto", scale=4, alpha=1.5),
                 Uniform(dist="uniform", low=2, high=8), Normal(dist="normal", mean=10, std=2)):
        assert np.median(draw(dist, 200_000, rng)) == pytest.approx(median(dist), rel=0.01)
    assert median(Choice(dist="choice", values=[50, 2, 10], weights=[1, 1, 2])) == 10.0


def test_median_overrides_touch_only_the_leveraged_cohort_and_load() -> None:
    over = lt.leverage_overrides(LEVERAGED_CALM, 5, mode="median")
    assert list(over) == ["population.speculators.leverage"]
    spec = over["population.speculators.leverage"]
    assert spec["dist"] == "lognormal" and spec["median"] == 5.0 and spec["max"] == 125.0
    scenario = load_scenario(LEVERAGED_CALM, over)  # a valid scenario (leverage >= 1 everywhere)
    lev = next(c.leverage for c in scenario.population if c.name == "speculators")
    assert lev.median == 5.0 and lev.sigma == 0.6
    # the same override at every level differs only in the median: same shape, same bounds
    other = lt.leverage_overrides(LEVERAGED_CALM, 50, mode="median")["population.speculators.leverage"]
    assert {k: v for k, v in other.items() if k != "median"} == {k: v for k, v in spec.items() if k != "median"}
    assert lt.leverage_overrides(ROOT / "scenarios" / "calm.yaml", 5, mode="median") == {}


def test_summary_has_medians() -> None:
    import pandas as pd

    rows = [{"leverage": lev, "seed": s, **{m: float(s * lev) for m in lt.METRICS}}
            for lev in (1.0, 5.0) for s in (1, 2, 6)]
    summary = lt.summarize_sweep(pd.DataFrame(rows))
    assert list(summary["excess_kurtosis_median"]) == [2.0, 10.0]
    assert list(summary["acf_abs_lag1_mean"]) == [3.0, 15.0]
