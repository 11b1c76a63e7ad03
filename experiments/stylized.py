"""Stylized facts of asset returns (Cont 2001) for price series sampled at a fixed interval.

Every function here is pure: numpy arrays in, floats / arrays / dicts out, no plotting and
no file IO. The intended use is to compare a simulated price path with a real one, both
first put on the same fixed grid (see :func:`resample_last`).

Conventions
-----------
* Returns are log returns ``r_t = log(p_{t+1} / p_t)``; ``n`` is the number of returns.
* Moments (kurtosis, skewness) and autocorrelations use the standard *biased* estimators
  (divide by ``n``), as in most of the stylized-facts literature.
* Degenerate input never raises: a series that is too short, constant (zero variance) or
  contains non-finite values gives ``nan`` for the affected statistic. The only input that
  raises is a non-positive or non-finite *price* in :func:`log_returns`, because its log
  return is undefined rather than merely uninformative.

Pass rules (:data:`FACT_CHECKS`, :func:`check_facts`)
-----------------------------------------------------
1. heavy tails: excess kurtosis > 1;
2. absence of linear autocorrelation: ``|ACF(r)| < 0.05`` at every lag 2..20 (lag 1 is
   excluded because microstructure effects such as bid-ask bounce legitimately act there);
3. volatility clustering: ``ACF(|r|) > 2/sqrt(n)`` at every lag 1..30;
4. aggregational Gaussianity: excess kurtosis falls *strictly* with the aggregation factor,
   ``k1 > k4 > k24``. The strict chain (rather than the weaker ``k1 > k24``) is used on
   purpose: it is the monotone decline the literature describes, and it fails loudly when
   a single aggregation level is noisy, which is what we want to notice.
A ``nan`` value never passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "FACT_CHECKS",
    "FactCheck",
    "acf",
    "acf_abs",
    "acf_decay_exponent",
    "aggregated_kurtosis",
    "check_facts",
    "compute_facts",
    "excess_kurtosis",
    "hill_tail_index",
    "leverage_effect",
    "log_returns",
    "resample_last",
    "skewness",
    "volume_volatility_corr",
]

NAN = float("nan")
AGG_FACTORS: tuple[int, ...] = (1, 4, 24)


def _as_1d(x: ArrayLike) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array (a copy is not guaranteed)."""
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _degenerate(x: np.ndarray, min_len: int) -> bool:
    """True if ``x`` is too short, has non-finite values, or is constant."""
    if x.size < min_len or not np.all(np.isfinite(x)):
        return True
    return bool(np.ptp(x) == 0.0)


def log_returns(prices: ArrayLike) -> np.ndarray:
    """Log returns ``log(p[t+1] / p[t])`` of a price series.

    A series with fewer than two prices gives an empty array.

    Raises:
        ValueError: if any price is non-positive or non-finite (log undefined).
    """
    p = _as_1d(prices)
    if p.size and (not np.all(np.isfinite(p)) or np.any(p <= 0.0)):
        raise ValueError("prices must be finite and strictly positive to take log returns")
    if p.size < 2:
        return np.empty(0, dtype=np.float64)
    return np.diff(np.log(p))


def _central_moments(r: ArrayLike, min_len: int) -> tuple[float, float, float] | None:
    """Biased central moments ``(m2, m3, m4)``, or None if ``r`` is degenerate."""
    x = _as_1d(r)
    if _degenerate(x, min_len):
        return None
    d = x - x.mean()
    d2 = d * d
    m2 = float(d2.mean())
    if m2 <= 0.0:
        return None
    return m2, float((d2 * d).mean()), float((d2 * d2).mean())


def excess_kurtosis(r: ArrayLike) -> float:
    """Excess kurtosis ``m4 / m2**2 - 3`` (biased moments; 0 for a Gaussian).

    nan for fewer than 4 values, constant or non-finite input.
    """
    m = _central_moments(r, 4)
    return NAN if m is None else m[2] / (m[0] * m[0]) - 3.0


def skewness(r: ArrayLike) -> float:
    """Skewness ``m3 / m2**1.5`` (biased moments). nan for fewer than 3 values or degenerate input."""
    m = _central_moments(r, 3)
    return NAN if m is None else m[1] / m[0] ** 1.5


def hill_tail_index(r: ArrayLike, tail_fraction: float = 0.025) -> float:
    """Hill estimate of the tail index alpha of ``|r|``.

    With ``X_(1) >= X_(2) >= ...`` the order statistics of ``|r|`` and
    ``k = ceil(tail_fraction * n)``, returns ``1 / H`` where
    ``H = mean_{i<=k} log X_(i) - log X_(k+1)``. For a Student-t with nu degrees of
    freedom alpha = nu; real returns typically give 2..5.

    nan if non-finite values are present, ``k < 2``, ``k >= n``, the threshold
    ``X_(k+1)`` is zero, or ``H`` is zero.
    """
    if not 0.0 < tail_fraction < 1.0:
        raise ValueError(f"tail_fraction must be in (0, 1), got {tail_fraction}")
    a = np.abs(_as_1d(r))
    n = a.size
    if n == 0 or not np.all(np.isfinite(a)):
        return NAN
    k = math.ceil(tail_fraction * n)
    if k < 2 or k >= n:
        return NAN
    top = -np.partition(-a, k)[: k + 1]  # the k+1 largest values (unordered, then sorted)
    top.sort()
    threshold = top[0]
    if threshold <= 0.0:
        return NAN
    h = float(np.mean(np.log(top[1:])) - np.log(threshold))
    return NAN if h <= 0.0 else 1.0 / h


def acf(x: ArrayLike, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags ``1..max_lag`` (standard biased estimator).

    ``acf[k-1] = sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)**2``. Lags ``>= len(x)``
    and every lag of a constant / non-finite / length<2 series are nan.
    """
    if max_lag < 1:
        raise ValueError(f"max_lag must be >= 1, got {max_lag}")
    v = _as_1d(x)
    out = np.full(max_lag, NAN)
    if _degenerate(v, 2):
        return out
    d = v - v.mean()
    c0 = float(d @ d)
    if c0 <= 0.0:
        return out
    for k in range(1, min(max_lag, v.size - 1) + 1):
        out[k - 1] = float(d[:-k] @ d[k:]) / c0
    return out


def acf_abs(r: ArrayLike, max_lag: int) -> np.ndarray:
    """Autocorrelation of ``|r|`` at lags ``1..max_lag`` (volatility clustering)."""
    return acf(np.abs(_as_1d(r)), max_lag)


def acf_decay_exponent(r: ArrayLike, max_lag: int) -> float:
    """Power-law decay exponent beta of ``ACF(|r|)(lag) ~ c * lag**(-beta)``.

    Least-squares fit of ``log ACF`` on ``log lag`` over the lags ``1..max_lag`` whose
    ACF is positive; returns beta (real markets: roughly 0.2..0.4). nan if fewer than 3
    lags have a positive ACF.
    """
    a = acf_abs(r, max_lag)
    lags = np.arange(1, max_lag + 1, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0.0)
    if int(ok.sum()) < 3:
        return NAN
    slope, _ = np.polyfit(np.log(lags[ok]), np.log(a[ok]), 1)
    return float(-slope)


def aggregated_kurtosis(prices: ArrayLike, factors: Sequence[int] = AGG_FACTORS) -> dict[int, float]:
    """Excess kurtosis of the log returns of ``prices[::f]`` for each factor ``f``.

    Aggregational Gaussianity: for real returns the values fall towards 0 as ``f`` grows.
    Too-short aggregated series give nan.
    """
    p = _as_1d(prices)
    out: dict[int, float] = {}
    for f in factors:
        if int(f) < 1:
            raise ValueError(f"aggregation factors must be >= 1, got {f}")
        out[int(f)] = excess_kurtosis(log_returns(p[:: int(f)]))
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; nan if shorter than 3, non-finite, or either side constant."""
    if _degenerate(a, 3) or _degenerate(b, 3):
        return NAN
    da, db = a - a.mean(), b - b.mean()
    den = math.sqrt(float(da @ da) * float(db @ db))
    return NAN if den == 0.0 else float(da @ db) / den


def volume_volatility_corr(r: ArrayLike, volume: ArrayLike) -> float:
    """Correlation of ``|r|`` with traded volume.

    ``volume`` may have the length of ``r`` (volume per return interval) or one more
    (volume per price sample, as it comes next to a price column); in the latter case
    ``volume[1:]`` is used, i.e. the volume of the interval ending at ``p[t+1]`` is
    paired with ``r_t = log(p[t+1]/p[t])``. nan for degenerate input.

    Raises:
        ValueError: if the lengths are otherwise incompatible.
    """
    x = np.abs(_as_1d(r))
    v = _as_1d(volume)
    if v.size == x.size + 1:
        v = v[1:]
    elif v.size != x.size:
        raise ValueError(f"volume has length {v.size}; expected {x.size} or {x.size + 1}")
    return _corr(x, v)


def leverage_effect(r: ArrayLike) -> float:
    """``corr(r_t, |r_{t+1}|)``: negative when falls are followed by higher volatility."""
    x = _as_1d(r)
    if x.size < 4:
        return NAN
    return _corr(x[:-1], np.abs(x[1:]))


def resample_last(
    times_s: ArrayLike, values: ArrayLike, interval_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``values`` on a fixed grid: last observation at or before each grid time.

    The grid is the multiples of ``interval_s`` from the first multiple ``>= times_s[0]``
    to the last multiple ``<= times_s[-1]``, so every grid point has an observation at or
    before it. Ties in time resolve to the observation appearing last. Unsorted input is
    sorted (stably) first. ``values`` may be N-D; it is indexed along axis 0.
    Empty input gives empty arrays.

    Raises:
        ValueError: for non-positive ``interval_s``, non-finite times, or length mismatch.
    """
    if not interval_s > 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    t = _as_1d(times_s)
    vals = np.asarray(values)
    if vals.shape[:1] != t.shape:
        raise ValueError(f"times has {t.size} entries but values has shape {vals.shape}")
    if t.size == 0:
        return np.empty(0), vals[:0]
    if not np.all(np.isfinite(t)):
        raise ValueError("times_s must be finite")
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, vals = t[order], vals[order]
    k0, k1 = math.ceil(t[0] / interval_s), math.floor(t[-1] / interval_s)
    grid = np.arange(k0, k1 + 1, dtype=np.float64) * interval_s
    idx = np.searchsorted(t, grid, side="right") - 1
    keep = idx >= 0  # guards against float rounding of the first grid point
    return grid[keep], vals[idx[keep]]


def _nan_max_abs(a: np.ndarray) -> float:
    """max |a|, nan if empty or any element is nan."""
    return NAN if a.size == 0 or np.isnan(a).any() else float(np.max(np.abs(a)))


def _nan_min(a: np.ndarray) -> float:
    """min a, nan if empty or any element is nan."""
    return NAN if a.size == 0 or np.isnan(a).any() else float(np.min(a))


def compute_facts(prices: ArrayLike, volume: ArrayLike | None = None, max_lag: int = 30) -> dict[str, float]:
    """All stylized-fact statistics of a fixed-interval price series, as one flat dict.

    Keys (stable): ``n`` (number of returns), ``excess_kurtosis``, ``skewness``,
    ``hill_2.5``, ``hill_5`` (Hill index at 2.5% / 5% tails), ``acf_r_max_abs_2_20``
    (max |ACF(r)| over lags 2..20), ``acf_abs_min_1_30`` (min ACF(|r|) over lags 1..30),
    ``acf_abs_lag1``, ``acf_abs_decay`` (power-law exponent fitted over lags
    1..``max_lag``), ``kurtosis_agg_1``, ``kurtosis_agg_4``, ``kurtosis_agg_24``,
    ``vol_volume_corr`` (nan without volume), ``leverage_effect``, ``significance``
    (``2/sqrt(n)``, the 95% band of an ACF under the i.i.d. null).

    The lag windows named in a key are fixed; ``max_lag`` only sets the decay-fit range.
    A window reaching beyond the series gives nan. ``volume`` is aligned as in
    :func:`volume_volatility_corr`.
    """
    p = _as_1d(prices)
    r = log_returns(p)
    n = int(r.size)
    agg = aggregated_kurtosis(p, AGG_FACTORS)
    a_abs = acf_abs(r, 30)
    return {
        "n": n,
        "excess_kurtosis": excess_kurtosis(r),
        "skewness": skewness(r),
        "hill_2.5": hill_tail_index(r, 0.025),
        "hill_5": hill_tail_index(r, 0.05),
        "acf_r_max_abs_2_20": _nan_max_abs(acf(r, 20)[1:]),
        "acf_abs_min_1_30": _nan_min(a_abs),
        "acf_abs_lag1": float(a_abs[0]),
        "acf_abs_decay": acf_decay_exponent(r, max_lag),
        "kurtosis_agg_1": agg[1],
        "kurtosis_agg_4": agg[4],
        "kurtosis_agg_24": agg[24],
        "vol_volume_corr": NAN if volume is None else volume_volatility_corr(r, volume),
        "leverage_effect": leverage_effect(r),
        "significance": 2.0 / math.sqrt(n) if n > 0 else NAN,
    }


@dataclass(frozen=True)
class FactCheck:
    """One pass rule: ``value(facts)`` is reported, ``passes(facts)`` decides.

    ``expected`` is human-readable; a ``{significance}`` placeholder in it is filled in by
    :func:`check_facts` with the series' ``2/sqrt(n)``.
    """

    fact: str
    expected: str
    value: Callable[[Mapping[str, Any]], Any]
    passes: Callable[[Mapping[str, Any]], bool]


def _f(facts: Mapping[str, Any], key: str) -> float:
    """``facts[key]`` as float, nan when missing or None."""
    v = facts.get(key)
    return NAN if v is None else float(v)


def _agg_chain(facts: Mapping[str, Any]) -> tuple[float, float, float]:
    return (_f(facts, "kurtosis_agg_1"), _f(facts, "kurtosis_agg_4"), _f(facts, "kurtosis_agg_24"))


# Comparisons with nan are False, so a nan value never passes.
FACT_CHECKS: list[FactCheck] = [
    FactCheck(
        fact="heavy_tails",
        expected="excess kurtosis > 1",
        value=lambda f: _f(f, "excess_kurtosis"),
        passes=lambda f: _f(f, "excess_kurtosis") > 1.0,
    ),
    FactCheck(
        fact="no_linear_autocorrelation",
        expected="|ACF(r)| < 0.05 at every lag 2-20",
        value=lambda f: _f(f, "acf_r_max_abs_2_20"),
        passes=lambda f: _f(f, "acf_r_max_abs_2_20") < 0.05,
    ),
    FactCheck(
        fact="volatility_clustering",
        expected="ACF(|r|) > 2/sqrt(n) = {significance:.4f} at every lag 1-30",
        value=lambda f: _f(f, "acf_abs_min_1_30"),
        passes=lambda f: _f(f, "acf_abs_min_1_30") > _f(f, "significance"),
    ),
    FactCheck(
        fact="aggregational_gaussianity",
        expected="excess kurtosis falls strictly under aggregation: k1 > k4 > k24",
        value=_agg_chain,
        passes=lambda f: _agg_chain(f)[0] > _agg_chain(f)[1] > _agg_chain(f)[2],
    ),
]


def check_facts(facts: Mapping[str, Any], checks: Sequence[FactCheck] = FACT_CHECKS) -> list[dict[str, Any]]:
    """Apply the pass rules to a :func:`compute_facts` dict.

    Returns one dict per rule: ``fact`` (rule name), ``value`` (float; for the aggregation
    rule the tuple ``(k1, k4, k24)``), ``expected`` (human-readable rule) and ``passed``
    (bool; False whenever a needed value is missing or nan).
    """
    sig = _f(facts, "significance")
    return [
        {
            "fact": c.fact,
            "value": c.value(facts),
            "expected": c.expected.format(significance=sig),
            "passed": bool(c.passes(facts)),
        }
        for c in checks
    ]
