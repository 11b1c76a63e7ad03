"""The recorder's sentiment statistics: numpy's to the bit, computed again only when the sentiment has changed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model.quantiles import order_statistics, percentiles
from model.recorder import SENTIMENT_QUANTILES, Recorder


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
_QUANTILES = st.lists(st.floats(0, 100) | st.sampled_from([0.0, 50.0, 100.0]), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=_ANY), _QUANTILES)
def test_percentiles_are_numpys_to_the_bit(s, q):
    with np.errstate(invalid="ignore"):  # inf - inf between two ranks: NaN, from both
        assert _same_bits(percentiles(s, tuple(q)), np.percentile(s, q))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(100, 400), elements=st.sampled_from([0.0, -0.0, 0.5, -0.5, 0.1]),
              fill=st.nothing()), _QUANTILES)  # every element drawn: a fill value would make most of them one value
def test_percentiles_with_zeros_of_both_signs(s, q):
    """Long, with many ties: a sort and numpy's partition can leave different zeros at a rank (the guard)."""
    assert _same_bits(percentiles(s, tuple(q)), np.percentile(s, q))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30_000), st.sampled_from(["normal", "ties", "wide", "tails"]),
       _QUANTILES)
def test_percentiles_of_many_traders_are_numpys_to_the_bit(seed, n, shape, q):
    """Thousands of values, spread as sentiment is or as no histogram would like: ties, a span near the
    largest float, or values over hundreds of orders of magnitude."""
    rng = np.random.default_rng(seed)
    s = {"normal": lambda: np.tanh(rng.standard_normal(n)),
         "ties": lambda: np.round(rng.standard_normal(n), 1),
         "wide": lambda: rng.standard_normal(n) * 1e307,
         "tails": lambda: np.exp(rng.standard_normal(n) * 100)}[shape]()
    with np.errstate(over="ignore", invalid="ignore"):
        assert _same_bits(percentiles(s, tuple(q)), np.percentile(s, q))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 3_000), elements=st.floats(allow_nan=False) | _ANY.filter(
    lambda x: x == x)), st.data())
def test_order_statistics_are_the_sorted_values_at_those_ranks(s, data):
    ranks = np.sort(np.array(data.draw(st.lists(st.integers(0, len(s) - 1), min_size=1, max_size=12))))
    assert order_statistics(s, ranks).tolist() == np.sort(s)[ranks].tolist()  # zeros of either sign are equal


def test_percentiles_where_numpys_two_interpolations_part():
    """At a weight of exactly one half numpy interpolates from above; at the last rank its weight is
    the index plus one, which turns the top zero's sign."""
    s = np.array([6.3170710824306425e-06, 8.701448475755365])  # a + (b - a) / 2 is one ulp below b - (b - a) / 2
    assert _same_bits(percentiles(s, (50,)), np.percentile(s, (50,)))
    assert percentiles(s, (50,))[0] == 4.350727396413224
    top = np.array([-1.0, -0.0])
    assert _same_bits(percentiles(top, (100,)), np.percentile(top, (100,)))
    assert not np.signbit(percentiles(top, (100,))[0])


def test_percentiles_out_of_range_raise_as_numpys_do():
    with pytest.raises(ValueError, match="range"):
        percentiles(np.array([0.1, 0.2]), (50, 101))


def test_order_statistics_of_values_with_a_nan_are_none():
    assert order_statistics(np.array([0.1, np.nan, -0.3]), np.array([0, 1])) is None


def test_percentiles_leave_the_sentiment_as_it_was():
    s = np.array([0.5, -0.1, 0.3, -0.7, 0.0])
    before = s.copy()
    percentiles(s, SENTIMENT_QUANTILES)
    assert _same_bits(s, before)
