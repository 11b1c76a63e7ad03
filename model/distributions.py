"""Parameter distributions declared in scenario files, and drawing from them.

A scenario writes a heterogeneous parameter either as a plain number (every
agent gets it) or as a small mapping::

    leverage: {dist: lognormal, median: 15, sigma: 0.8, max: 125}
    size_usd: {dist: pareto, scale: 2000, alpha: 1.5, max: 5_000_000}
    side_bias: {dist: uniform, low: -0.2, high: 0.2}
    stop_bps: {dist: normal, mean: 150, std: 40, min: 20}
    share: {dist: choice, values: [1, 2, 3], weights: [0.5, 0.3, 0.2]}

`min`/`max` clip the draw. All draws use the model's numpy Generator.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None
    _SCALE: ClassVar[tuple[str, ...]] = ()  # the fields that scale with the distribution (see `with_median`)

    @model_validator(mode="after")
    def _bounds(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self

    def _clip(self, x: np.ndarray) -> np.ndarray:
        if self.min is not None or self.max is not None:
            x = np.clip(x, self.min, self.max)
        return x

    def center(self) -> float:
        """The median, before ``min``/``max`` clipping."""
        raise NotImplementedError

    def with_median(self, m: float) -> "_Dist":
        """The same shape, scaled so that its unclipped median is ``m``; ``min`` and ``max`` unchanged."""
        old = self.center()
        if not old > 0:
            raise ValueError(f"cannot rescale a {self.dist!r} distribution with median {old} to {m}")
        return self._scaled(m / old)

    def _scaled(self, factor: float) -> "_Dist":
        return self.model_copy(update={k: getattr(self, k) * factor for k in self._SCALE})


class Constant(_Dist):
    dist: Literal["constant"]
    value: float

    def center(self) -> float:
        return float(self.value)

    def with_median(self, m: float) -> "Constant":
        return self.model_copy(update={"value": float(m)})

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(np.full(n, self.value, dtype=float))


class Lognormal(_Dist):
    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def center(self) -> float:
        return float(self.median)

    def with_median(self, m: float) -> "Lognormal":
        return self.model_copy(update={"median": float(m)})

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(self.median * np.exp(self.sigma * rng.standard_normal(n)))


class Normal(_Dist):
    dist: Literal["normal"]
    mean: float
    std: float = Field(ge=0)
    _SCALE = ("mean", "std")

    def center(self) -> float:
        return float(self.mean)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(self.mean + self.std * rng.standard_normal(n))


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float
    _SCALE = ("low", "high")

    def center(self) -> float:
        return 0.5 * (self.low + self.high)

    @model_validator(mode="after")
    def _order(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(rng.uniform(self.low, self.high, n))


class Pareto(_Dist):
    """Classical Pareto with minimum ``scale`` and tail exponent ``alpha``."""

    dist: Literal["pareto"]
    scale: float = Field(gt=0)
    alpha: float = Field(gt=0)
    _SCALE = ("scale",)

    def center(self) -> float:
        return self.scale * 2.0 ** (1.0 / self.alpha)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._clip(self.scale * (1.0 + rng.pareto(self.alpha, n)))


class Choice(_Dist):
    dist: Literal["choice"]
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values) or min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative, one per value, and not all zero")
        return self

    def center(self) -> float:
        values = np.asarray(self.values, dtype=float)
        weights = np.ones_like(values) if self.weights is None else np.asarray(self.weights, dtype=float)
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(weights[order]) / weights.sum()
        return float(values[order][np.searchsorted(cum, 0.5)])

    def _scaled(self, factor: float) -> "Choice":
        return self.model_copy(update={"values": [v * factor for v in self.values]})

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        p = None if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        return self._clip(rng.choice(np.asarray(self.values, dtype=float), size=n, p=p))


DistSpec = Annotated[
    Union[Constant, Lognormal, Normal, Uniform, Pareto, Choice], Field(discriminator="dist")
]
#: A parameter: a plain number or a distribution mapping.
Param = Union[float, DistSpec]


def draw(spec: Param, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` values of a parameter (a number is repeated ``n`` times)."""
    if isinstance(spec, (int, float)):
        return np.full(n, float(spec))
    return spec.sample(n, rng)


def median(spec: Param) -> float:
    """The median of a parameter before its ``min``/``max`` clipping (a number is its own median)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    return spec.center()


def bounds(spec: Param) -> tuple[float, float]:
    """The smallest and largest value a parameter can take (for validation)."""
    if isinstance(spec, (int, float)):
        return float(spec), float(spec)
    lo = {"constant": getattr(spec, "value", None), "uniform": getattr(spec, "low", None),
          "pareto": getattr(spec, "scale", None), "lognormal": 0.0}.get(spec.dist, -np.inf)
    hi = {"constant": getattr(spec, "value", None), "uniform": getattr(spec, "high", None)}.get(spec.dist, np.inf)
    if spec.dist == "choice":
        lo, hi = min(spec.values), max(spec.values)
    if spec.min is not None:
        lo = max(lo, spec.min)
    if spec.max is not None:
        hi = min(hi, spec.max)
    return float(lo), float(hi)
