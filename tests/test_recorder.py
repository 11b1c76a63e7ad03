"""The recorder's sentiment statistics: numpy's to the bit, computed again only when the sentiment has changed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import recorder
from model.recorder import SENTIMENT_QUANTILES, Recorder, percentiles, sorting_first_is_faster


def fresh(s: np.ndarray) -> tuple:
    return np.percentile(s, SENTIMENT_QUANTILES), (s.mean(), s.std(), (s > 0).mean())


def test_mood_statistics_follow_every_change_of_the_sentiment_to_the_bit():
    rec = Recorder(["last"], 4, ["BTC"])
    s = np.array([0.3, -0.2, 0.0, 0.7])
    first = rec.mood_statistics(s)
    np.testing.assert_array_equal(first[0], fresh(s)[0])
    assert first[1] == fresh(s)[1]
    assert rec.mood_statistics(s) is first  # unchanged: not computed again
    s[2] = -0.0  # equal to 0.0, but another bit pattern: computed again
    again = rec.mood_statistics(s)
    assert again is not first
    s[0] = 0.9  # changed in place: computed again, from the new values
    np.testing.assert_array_equal(rec.mood_statistics(s)[0], fresh(s)[0])
    assert rec.mood_statistics(s)[1] == fresh(s)[1]
    empty = rec.mood_statistics(np.zeros(0))
    assert np.isnan(empty[0]).all() and all(np.isnan(v) for v in empty[1])


def _same_bits(ours: np.ndarray, numpys: np.ndarray) -> bool:
    return ours.view(np.int64).tolist() == numpys.view(np.int64).tolist()


_ANY = st.sampled_from([0.0, -0.0, 0.25, -1.0, 1e-300, np.inf, -np.inf, np.nan]) | st.floats(-1, 1)
_QUANTILES = st.lists(st.floats(0, 100), min_size=1, max_size=6)


def both_ways(s: np.ndarray, q: list[float]) -> list[np.ndarray]:
    """`percentiles` sorting first and calling numpy directly (whichever this CPU would pick)."""
    saved, out = recorder._sort_first, []
    try:
        for sort_first in (True, False):
            recorder._sort_first = sort_first
            out.append(percentiles(s, tuple(q)))
    finally:
        recorder._sort_first = saved
    return out


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=_ANY), _QUANTILES)
def test_percentiles_are_numpys_to_the_bit(s, q):
    with np.errstate(invalid="ignore"):  # inf - inf between two ranks: NaN, from both
        numpys = np.percentile(s, q)
        assert all(_same_bits(ours, numpys) for ours in both_ways(s, q))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(100, 400), elements=st.sampled_from([0.0, -0.0, 0.5, -0.5, 0.1]),
              fill=st.nothing()), _QUANTILES)  # every element drawn: a fill value would make most of them one value
def test_percentiles_with_zeros_of_both_signs(s, q):
    """Long, with many ties: a sort and numpy's partition can leave different zeros at a rank (the guard)."""
    numpys = np.percentile(s, q)
    assert all(_same_bits(ours, numpys) for ours in both_ways(s, q))


def test_percentiles_leave_the_sentiment_as_it_was():
    s = np.array([0.5, -0.1, 0.3, -0.7, 0.0])
    before = s.copy()
    both_ways(s, list(SENTIMENT_QUANTILES))
    assert _same_bits(s, before)


@pytest.mark.parametrize("faster", [True, False])
def test_the_first_call_picks_the_way_that_timed_faster(monkeypatch, faster):
    monkeypatch.setattr(recorder, "_sort_first", None)
    monkeypatch.setattr(recorder, "sorting_first_is_faster", lambda: faster)
    s = np.array([0.5, -0.1, 0.3])
    np.testing.assert_array_equal(percentiles(s, SENTIMENT_QUANTILES), np.percentile(s, SENTIMENT_QUANTILES))
    assert recorder._sort_first is faster


@pytest.mark.parametrize("sorted_s, direct_s, expected", [(1.0, 2.0, True), (2.0, 1.0, False)])
def test_the_timing_compares_the_best_of_each_way(monkeypatch, sorted_s, direct_s, expected):
    """A clock on which each call with a sort takes ``sorted_s`` and each direct one ``direct_s``,
    except one slow outlier of each (the best of the tries counts)."""
    durations = iter([sorted_s, direct_s, 10.0, 10.0, sorted_s, direct_s])
    clock = {"now": 0.0, "started": False}

    def perf_counter() -> float:
        if clock["started"]:
            clock["now"] += next(durations)
        clock["started"] = not clock["started"]
        return clock["now"]

    monkeypatch.setattr(recorder.time, "perf_counter", perf_counter)
    assert sorting_first_is_faster(n=50, tries=3) is expected
