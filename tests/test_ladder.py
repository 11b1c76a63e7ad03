"""A market maker's ladder: the compiled `build_ladder` against the Python one, and the ladder's shape."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.book import BUY, SELL
from agents.exchange.native import ladder_native
from agents.market_maker import build_ladder

needs_native = pytest.mark.skipif(ladder_native is None, reason="compiled kernels not built")
finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


def test_ladder_by_hand() -> None:
    # mid 100 on a 0.1 grid; levels 2 and 4 bps out with one step of spacing; $1,000 a level, lots of 1.
    ladder, offsets = build_ladder(100.0, 0.0, 1.0, 1000.0, 2.0, 2.0, 2.0, 2, 0.1, 1.0, None, None, 0.0, 1e9)
    assert ladder == [(BUY, 999, 10), (BUY, 999, 20), (SELL, 1001, 9), (SELL, 1001, 19)]
    assert offsets == [-2.0, -4.0, 2.0, 4.0]
    # A resting ask at 1000 caps the bids below it; long inventory at its limit drops the bids.
    assert [q[1] for q in build_ladder(100.05, 0.0, 1.0, 1e3, 2.0, 2.0, 1.0, 1, 0.1, 1.0, 998, 1000, 0.0, 1e9)[0]] == [999, 1001]
    assert {q[0] for q in build_ladder(100.0, 0.0, 1.0, 1e3, 2.0, 2.0, 1.0, 3, 0.1, 1.0, None, None, 5e5, 5e5)[0]} == {SELL}


@needs_native
@settings(max_examples=2000, deadline=None)
@given(finite, finite.filter(lambda w: w != 0.0))
def test_py_floordiv_is_pythons(vx: float, wx: float) -> None:
    got, want = ladder_native.py_floordiv(vx, wx), vx // wx
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


@needs_native
@settings(max_examples=500, deadline=None)
@given(mid=st.floats(0.5, 2e5), skew=st.floats(-20, 20), stress=st.floats(1.0, 3.0), size=st.floats(1.0, 1e6),
       first=st.floats(0.0, 5.0), spacing=st.floats(0.1, 10.0), growth=st.floats(0.8, 1.3), levels=st.integers(0, 20),
       tick=st.sampled_from([0.001, 0.01, 0.05, 0.1, 1.0]), lot=st.sampled_from([0.001, 0.1, 1.0]),
       touch=st.one_of(st.none(), st.integers(-50, 50)), inventory=st.floats(-2e6, 2e6))
def test_compiled_ladder_is_the_python_ladder(mid, skew, stress, size, first, spacing, growth, levels, tick, lot,
                                              touch, inventory) -> None:
    mid_tick = int(mid / tick)
    bid, ask = (None, None) if touch is None else (mid_tick + touch - 3, mid_tick + touch + 3)
    args = (mid, skew, stress, size, first, spacing, growth, levels, tick, lot, bid, ask, inventory, 1e6)
    assert ladder_native.build_ladder(*args) == build_ladder(*args)


@needs_native
def test_compiled_ladder_rejects_what_python_rejects() -> None:
    with pytest.raises(ZeroDivisionError):
        ladder_native.py_floordiv(1.0, 0.0)
    for mid in (math.nan, math.inf):
        with pytest.raises((ValueError, OverflowError)):
            ladder_native.build_ladder(mid, 0.0, 1.0, 1e3, 2.0, 2.0, 1.0, 1, 0.1, 1.0, None, None, 0.0, 1e9)
        with pytest.raises((ValueError, OverflowError)):
            build_ladder(mid, 0.0, 1.0, 1e3, 2.0, 2.0, 1.0, 1, 0.1, 1.0, None, None, 0.0, 1e9)
