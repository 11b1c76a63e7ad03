"""Mark price and funding for a single-venue perpetual.

Mark price. Real venues take the median of three estimates built on a spot
index. In a single-venue model the *index* is the asset's fundamental value
(the spot market the perp is anchored to), and the mark is one of:

* ``median`` (default): the median of the last price, the mid, and an
  exponential moving average of the mid with half-life ``mark_half_life``;
  one outlying print cannot move it, a sustained move does at once;
* ``index``: as real venues do (FACTS §2), the median of the index, the
  index plus a moving average of the basis (mid − index, same half-life),
  and the last price; a sweep of a thin book cannot drag the mark, and so
  the liquidations, away from spot;
* ``ema``: the moving average alone (smooth, lags);
* ``last`` or ``mid``.

Funding. Every ``funding_every`` seconds, with P̄ the time-weighted premium
index since the last payment (sampled each step as ``(mid - index)/index``),
the rate is ``F = P̄ + clamp(interest - P̄, ±clamp)``, capped at ±``cap``
(real venues cap funding per contract; FACTS gives only the clamp), and each position pays
``position notional at mark × F`` (longs pay shorts when F > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MARK_METHODS = ("median", "index", "ema", "last", "mid")


def funding_rate(premium: float, interest: float = 0.0001, clamp: float = 0.0005, cap: float = 0.02) -> float:
    """Funding rate from a mean premium index, clamped as on Binance, then capped at ±``cap``."""
    rate = premium + min(max(interest - premium, -clamp), clamp)
    return min(max(rate, -cap), cap)


def median3(x: float, y: float, z: float) -> float:
    """``max(min(x, y), min(max(x, y), z))``, the median of three, for floats without builtin calls.

    ``z`` is clamped to ``[min(x, y), max(x, y)]``; a NaN ``z`` gives the upper
    end, as the builtin form does. Equal to the builtin form for ``x`` and ``y``
    not NaN and not a pair of zeros of opposite sign (prices, here). This runs
    several times per simulated second.
    """
    lo, hi = (x, y) if x <= y else (y, x)
    return lo if z < lo else (z if z < hi else hi)


@dataclass
class MarkPrice:
    """Mark prices of every asset (see module docstring)."""

    method: str
    half_life_s: float
    dt: float
    ema: np.ndarray

    def __post_init__(self) -> None:
        if self.method not in MARK_METHODS:
            raise ValueError(f"mark method must be one of {MARK_METHODS}, got {self.method!r}")
        self.alpha = 1.0 - math.exp(-math.log(2.0) * self.dt / self.half_life_s)
        self.value = self.ema.astype(float).copy()
        self.index = self.value.copy()
        self.basis = np.zeros_like(self.value)

    def step(self, mids: np.ndarray, index: np.ndarray | None = None) -> None:
        """Advance the moving averages (of the mid, and of the basis over ``index``) by one step."""
        self.ema += self.alpha * (mids - self.ema)
        if index is not None and self.method == "index":  # only the index mark reads the basis
            self.basis += self.alpha * (mids - index - self.basis)
            self.index[:] = index

    def update(self, asset: int, last: float, mid: float) -> float:
        """Recompute one asset's mark from the latest last price and mid."""
        m = self.method
        if m == "median":
            v = median3(last, mid, float(self.ema[asset]))
        elif m == "index":
            i = float(self.index[asset])
            v = median3(last, i, i + float(self.basis[asset]))
        elif m == "ema":
            v = self.ema[asset]
        elif m == "last":
            v = last
        else:
            v = mid
        self.value[asset] = v
        return v


@dataclass
class FundingClock:
    """Accumulates the premium index and says when funding is due."""

    every_s: float
    interest: float
    clamp: float
    n_assets: int
    cap: float = 0.02

    def __post_init__(self) -> None:
        self.premium_sum = np.zeros(self.n_assets)
        self.samples = 0
        self.next_due = self.every_s
        self.last_rate = np.zeros(self.n_assets)

    def sample(self, mids: np.ndarray, index: np.ndarray) -> None:
        """Add one premium observation per asset (called every step)."""
        self.premium_sum += (mids - index) / index
        self.samples += 1

    def predicted(self) -> np.ndarray:
        """The rate that would be paid if funding were due now, per asset."""
        return np.array([self.predicted_one(a) for a in range(len(self.premium_sum))])

    def predicted_one(self, asset: int) -> float:
        """`predicted` for one asset."""
        return funding_rate(self.premium_sum[asset] / max(self.samples, 1), self.interest, self.clamp, self.cap)

    def due(self, now: float) -> np.ndarray | None:
        """The rates to pay if funding is due at ``now`` (and reset), else None."""
        if now + 1e-9 < self.next_due:
            return None
        rates = self.predicted()
        self.last_rate = rates
        self.premium_sum[:] = 0.0
        self.samples = 0
        self.next_due += self.every_s
        return rates
