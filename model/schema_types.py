"""Small types shared by the scenario schema: durations, fractions, symbols."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = r"([0-9]*\.?[0-9]+)\s*(ms|s|min|m|h|d)"
_DURATION = re.compile(rf"^\s*(?:{_PART}\s*)+$")


def parse_duration(value: Any) -> float:
    """Seconds from ``"36h"``, ``"90m"``, ``"1s"``, ``"2d"``, ``"500ms"``, ``"1h30m"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '24h', '90m' or '1s'")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if _DURATION.match(value):
            return sum(float(n) * _UNITS[u] for n, u in re.findall(_PART, value))
    raise ValueError(f"expected a duration such as '24h', '90m' or '1s', got {value!r}")


#: A positive duration in seconds, written as "24h", "90m", "1s" or a number.
Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
#: A time offset from the start of the run (may be zero).
Offset = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,9}$")]


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
