"""The recorder's sentiment statistics: computed again only when the sentiment has changed."""

from __future__ import annotations

import numpy as np

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
