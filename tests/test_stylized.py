"""Tests for experiments.stylized: known-answer checks on synthetic return processes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments import stylized as sf

N_GARCH = 100_000
GARCH_PATHS = 16
OMEGA, ALPHA, BETA = 1e-6, 0.1, 0.85


def prices_from_returns(r: np.ndarray, p0: float = 100.0) -> np.ndarray:
    """Price path whose log returns are exactly ``r``."""
    return p0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))


def simulate_garch(n: int, paths: int, seed: int) -> np.ndarray:
    """Gaussian GARCH(1,1) returns, shape (n, paths), started at the unconditional variance."""
    z = np.random.default_rng(seed).standard_normal((n, paths))
    r = np.empty_like(z)
    s2 = np.full(paths, OMEGA / (1.0 - ALPHA - BETA))
    for t in range(n):
        r[t] = np.sqrt(s2) * z[t]
        s2 = OMEGA + ALPHA * r[t] ** 2 + BETA * s2
    return r


def garch_aggregated_excess_kurtosis(m: int) -> float:
    """Closed-form excess kurtosis of the sum of m consecutive Gaussian-GARCH(1,1) returns.

    kappa = E r^4 / sigma^4 and rho_k = ACF of r^2 = rho_1 * (alpha+beta)^(k-1); for a symmetric
    martingale difference, E S^4 = m E r^4 + 6 sum_{t<s} E[r_t^2 r_s^2], which gives
    K_m = (kappa - 3)/m + 6 (kappa - 1)/m^2 * sum_{k=1}^{m-1} (m - k) rho_k.
    """
    p = ALPHA + BETA
    kappa = 3.0 * (1.0 - p**2) / (1.0 - p**2 - 2.0 * ALPHA**2)
    rho1 = ALPHA * (1.0 - ALPHA * BETA - BETA**2) / (1.0 - 2.0 * ALPHA * BETA - BETA**2)
    s = sum((m - k) * rho1 * p ** (k - 1) for k in range(1, m))
    return (kappa - 3.0) / m + 6.0 * (kappa - 1.0) / m**2 * s


@pytest.fixture(scope="module")
def garch_returns() -> np.ndarray:
    return simulate_garch(N_GARCH, GARCH_PATHS, seed=20240601)


# --------------------------------------------------------------------------- basics


def test_log_returns_known_values() -> None:
    r = sf.log_returns([100.0, 110.0, 99.0])
    assert np.allclose(r, [math.log(1.1), math.log(0.9)])
    assert sf.log_returns([5.0]).size == 0
    with pytest.raises(ValueError):
        sf.log_returns([1.0, 0.0, 2.0])


def test_moments_match_scipy() -> None:
    from scipy import stats

    x = np.random.default_rng(1).gamma(2.0, size=5000)
    assert sf.skewness(x) == pytest.approx(stats.skew(x), rel=1e-10)
    assert sf.excess_kurtosis(x) == pytest.approx(stats.kurtosis(x), rel=1e-10)


def test_gaussian_returns_have_no_excess_kurtosis_or_clustering() -> None:
    r = np.random.default_rng(12345).normal(0.0, 1e-3, 20_000)
    assert abs(sf.excess_kurtosis(r)) < 0.15
    assert abs(sf.skewness(r)) < 0.1
    assert np.max(np.abs(sf.acf_abs(r, 30))) < 0.05
    facts = sf.compute_facts(prices_from_returns(r))
    assert facts["n"] == 20_000
    assert facts["significance"] == pytest.approx(2 / math.sqrt(20_000))
    assert facts["acf_r_max_abs_2_20"] < 0.05
    assert abs(facts["leverage_effect"]) < 0.05


def test_hill_index_student_t3() -> None:
    r = np.random.default_rng(7).standard_t(3, 200_000)
    assert sf.hill_tail_index(r, 0.025) == pytest.approx(3.0, abs=0.8)
    assert sf.hill_tail_index(r, 0.05) == pytest.approx(3.0, abs=0.8)


def test_hill_index_exact_pareto() -> None:
    # Exact Pareto(alpha=2) tail: Hill is consistent with SD alpha/sqrt(k) ~ 0.03 here.
    r = np.random.default_rng(3).pareto(2.0, 100_000) + 1.0
    assert sf.hill_tail_index(r, 0.05) == pytest.approx(2.0, abs=0.1)


def test_acf_ar1_lag1_is_phi() -> None:
    rng = np.random.default_rng(99)
    e = rng.standard_normal(20_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, e.size):
        x[t] = 0.5 * x[t - 1] + e[t]
    a = sf.acf(x, 5)
    assert a.shape == (5,)
    assert a[0] == pytest.approx(0.5, abs=0.03)
    assert a[1] == pytest.approx(0.25, abs=0.03)


def test_acf_biased_estimator_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    d = x - 2.5
    expected = [(d[:-k] @ d[k:]) / (d @ d) for k in (1, 2, 3)]
    a = sf.acf(x, 4)
    assert np.allclose(a[:3], expected)
    assert np.isnan(a[3])  # lag 4 >= len(x)


# --------------------------------------------------------------------------- GARCH


def test_garch_volatility_clustering_and_heavy_tails(garch_returns: np.ndarray) -> None:
    r = garch_returns[:, 0]
    facts = sf.compute_facts(prices_from_returns(r))
    assert facts["acf_abs_min_1_30"] > facts["significance"]
    assert facts["excess_kurtosis"] > 0.5
    assert facts["acf_abs_lag1"] > facts["acf_abs_min_1_30"]
    assert facts["acf_abs_decay"] > 0.0
    assert facts["acf_r_max_abs_2_20"] < 0.05


def test_garch_aggregated_kurtosis_follows_theory(garch_returns: np.ndarray) -> None:
    """Mean over 16 paths vs the closed form. The SD of a 16-path mean is <= ~0.07; the wider
    tolerance allows for the heavy right tail of the sampling distribution of kurtosis.

    For this Gaussian GARCH, kurtosis *rises* from f=1 to f=4 (clustering adds more
    kurtosis to sums than averaging removes); it only falls at much longer horizons.
    So it does *not* satisfy the k1 > k4 > k24 rule, and we test the closed form instead."""
    per_path = [sf.aggregated_kurtosis(prices_from_returns(garch_returns[:, j])) for j in range(GARCH_PATHS)]
    mean = {f: float(np.mean([k[f] for k in per_path])) for f in (1, 4, 24)}
    theory = {f: garch_aggregated_excess_kurtosis(f) for f in (1, 4, 24)}
    for f in (1, 4, 24):
        assert mean[f] == pytest.approx(theory[f], abs=0.35), (f, mean, theory)
    assert theory[4] > theory[1] and mean[4] > mean[1]
    assert garch_aggregated_excess_kurtosis(2000) < theory[1]  # eventually Gaussian


def test_aggregated_kurtosis_falls_for_iid_laplace() -> None:
    # i.i.d. Laplace: excess kurtosis 3, and exactly 3/f for sums of f returns.
    r = np.random.default_rng(5).laplace(0.0, 1e-3, 100_000)
    k = sf.aggregated_kurtosis(prices_from_returns(r))
    assert set(k) == {1, 4, 24}
    assert k[1] > k[4] > k[24]
    assert k[1] == pytest.approx(3.0, abs=0.5)  # SD of the estimate ~0.16 at n=1e5
    assert k[4] == pytest.approx(0.75, abs=0.25)
    facts = sf.compute_facts(prices_from_returns(r))
    by_fact = {c["fact"]: c for c in sf.check_facts(facts)}
    assert by_fact["aggregational_gaussianity"]["passed"]
    assert by_fact["heavy_tails"]["passed"]
    assert not by_fact["volatility_clustering"]["passed"]  # i.i.d.: no clustering


def test_volume_volatility_corr_and_leverage() -> None:
    rng = np.random.default_rng(11)
    r = rng.standard_normal(5000)
    volume = 10.0 * np.abs(r) + rng.uniform(0.0, 1.0, r.size)
    assert sf.volume_volatility_corr(r, volume) > 0.9
    # A volume per price sample (len(r) + 1) is aligned by dropping the first entry.
    assert sf.volume_volatility_corr(r, np.concatenate([[0.0], volume])) > 0.9
    with pytest.raises(ValueError):
        sf.volume_volatility_corr(r, volume[:10])
    # Build a series where falls are followed by large moves.
    z = rng.standard_normal(20_000)
    lev = np.empty_like(z)
    lev[0] = z[0]
    for t in range(1, z.size):
        lev[t] = z[t] * (1.0 + (lev[t - 1] < 0))
    assert sf.leverage_effect(lev) < -0.1


# --------------------------------------------------------------------------- checks


def test_check_facts_known_dict() -> None:
    facts = {
        "n": 10_000,
        "excess_kurtosis": 4.2,
        "acf_r_max_abs_2_20": 0.08,
        "acf_abs_min_1_30": 0.05,
        "significance": 0.02,
        "kurtosis_agg_1": 4.2,
        "kurtosis_agg_4": 5.0,
        "kurtosis_agg_24": 1.0,
    }
    out = sf.check_facts(facts)
    assert [c["fact"] for c in out] == [c.fact for c in sf.FACT_CHECKS]
    by_fact = {c["fact"]: c for c in out}
    assert by_fact["heavy_tails"]["passed"] is True
    assert by_fact["no_linear_autocorrelation"]["passed"] is False
    assert by_fact["volatility_clustering"]["passed"] is True
    assert "0.0200" in by_fact["volatility_clustering"]["expected"]
    assert by_fact["aggregational_gaussianity"]["passed"] is False  # k4 > k1: not strict
    assert by_fact["aggregational_gaussianity"]["value"] == (4.2, 5.0, 1.0)
    for c in out:
        assert set(c) == {"fact", "value", "expected", "passed"}
        assert isinstance(c["expected"], str) and c["expected"]


def test_check_facts_nan_and_missing_never_pass() -> None:
    out = sf.check_facts({"excess_kurtosis": float("nan")})
    assert all(c["passed"] is False for c in out)


# --------------------------------------------------------------------------- degenerate


@pytest.mark.parametrize("prices", [np.full(100, 42.0), np.array([1.0, 2.0]), np.array([3.0]), np.array([])])
def test_degenerate_inputs_give_nan(prices: np.ndarray) -> None:
    facts = sf.compute_facts(prices)
    assert set(facts) == {
        "n", "excess_kurtosis", "skewness", "hill_2.5", "hill_5", "acf_r_max_abs_2_20",
        "acf_abs_min_1_30", "acf_abs_lag1", "acf_abs_decay", "kurtosis_agg_1", "kurtosis_agg_4",
        "kurtosis_agg_24", "vol_volume_corr", "leverage_effect", "significance",
    }  # fmt: skip
    for key in ("excess_kurtosis", "skewness", "hill_2.5", "acf_abs_min_1_30", "acf_abs_decay",
                "kurtosis_agg_24", "leverage_effect", "vol_volume_corr"):  # fmt: skip
        assert math.isnan(facts[key]), key
    assert not any(c["passed"] for c in sf.check_facts(facts))


def test_degenerate_function_level() -> None:
    assert math.isnan(sf.excess_kurtosis([1.0, 1.0, 1.0, 1.0, 1.0]))
    assert math.isnan(sf.skewness([0.1] * 7))
    assert np.isnan(sf.acf(np.full(50, 0.1), 3)).all()
    assert math.isnan(sf.hill_tail_index(np.zeros(1000)))
    assert math.isnan(sf.hill_tail_index([1.0, 2.0]))
    assert math.isnan(sf.acf_decay_exponent(np.random.default_rng(0).standard_normal(3), 30))
    assert math.isnan(sf.excess_kurtosis([1.0, np.nan, 2.0, 3.0, 4.0]))
    assert math.isnan(sf.volume_volatility_corr(np.arange(10.0), np.ones(10)))


# --------------------------------------------------------------------------- resampling


def test_resample_last_hand_made() -> None:
    times = np.array([0.0, 30.0, 59.0, 60.0, 61.0, 150.0, 185.0])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    grid, v = sf.resample_last(times, values, 60.0)
    assert np.array_equal(grid, [0.0, 60.0, 120.0, 180.0])
    assert np.array_equal(v, [1.0, 4.0, 5.0, 6.0])


def test_resample_last_offset_start_unsorted_and_ties() -> None:
    times = np.array([125.0, 5.0, 65.0, 65.0, 119.0])
    values = np.array([50.0, 10.0, 20.0, 30.0, 40.0])
    grid, v = sf.resample_last(times, values, 60.0)
    assert np.array_equal(grid, [60.0, 120.0])  # first grid point >= first time
    assert np.array_equal(v, [10.0, 40.0])
    grid2, v2 = sf.resample_last(times, values, 10.0)
    assert v2[list(grid2).index(70.0)] == 30.0  # tie at t=65 resolves to the later row
    g0, v0 = sf.resample_last(np.array([]), np.array([]), 60.0)
    assert g0.size == 0 and v0.size == 0
    with pytest.raises(ValueError):
        sf.resample_last(times, values[:3], 60.0)
