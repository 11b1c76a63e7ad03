"""Scenario schema for observed facts: the event window and the targets.

A scenario that reproduces a real event names the event's time and declares
targets: observed facts with tolerances, each read from the run's
``summary.json`` by a dotted key, e.g.::

    event: {at: 36h, window: 24h}
    targets:
      - {name: BTC peak, metric: assets.BTC.high, range: [96500, 98500]}
      - {name: short share, metric: event.short_share, range: [0.80, 0.95]}

Event metrics (``event.*``) are computed over ``[at, at + window)``; see
`experiments.summary.event_summary`.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from model.schema_types import Duration, Offset, Strict


class EventSpec(Strict):
    """The moment of the real event and the window its facts refer to."""

    at: Offset = Field(description="when the event starts, from the start of the run")
    window: Duration = Field(24 * 3600.0, description="the window after it that the facts describe")
    vol_window: Duration = Field(12 * 3600.0, description="realised volatility is compared this long after vs before")


class TargetSpec(Strict):
    """One observed fact with its tolerance."""

    name: str = Field(min_length=1)
    metric: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$", description="dotted key into summary.json")
    range: tuple[float, float]
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self):
        lo, hi = self.range
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise ValueError(f"range must be [low, high] with low <= high, got {list(self.range)}")
        return self
