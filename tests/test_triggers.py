"""Trigger heaps against a plain reference: nearest due trigger first, ties in arrival order.

Compaction (dropping stale entries from deep in a heap) is forced often by a
tiny threshold, and must never change what fires or in which order.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import agents.exchange.triggers as triggers
from agents.exchange.triggers import DOWN, UP, LiquidationWatch, StopBook

N_ACCOUNTS = 6
prices = st.integers(90, 110).map(float)
ops = st.lists(st.one_of(
    st.tuples(st.just("watch"), st.integers(0, N_ACCOUNTS - 1), st.integers(-3, 3), prices),
    st.tuples(st.just("pop"), st.sampled_from([UP, DOWN]), prices),
), max_size=80)


class ReferenceWatch:
    """One live entry per account; a linear scan finds the nearest due one."""

    def __init__(self) -> None:
        self.live: dict[int, tuple[float, int, int]] = {}  # account -> (price, seq, direction)
        self.seq = 0

    def watch(self, account: int, position: int, price: float) -> None:
        self.live.pop(account, None)
        if position != 0 and math.isfinite(price):
            self.seq += 1
            self.live[account] = (price, self.seq, DOWN if position > 0 else UP)

    def pop(self, mark: float, direction: int):
        due = [(p if direction == UP else -p, seq, acct) for acct, (p, seq, d) in self.live.items()
               if d == direction and (p <= mark if direction == UP else p >= mark)]
        if not due:
            return None
        key, _, acct = min(due)
        del self.live[acct]
        return (key if direction == UP else -key), acct


@settings(max_examples=200, deadline=None)
@given(ops)
def test_liquidation_watch_matches_reference_with_compaction(sequence):
    original = triggers._COMPACT_MIN
    triggers._COMPACT_MIN = 2  # compact all the time
    try:
        fast, ref = LiquidationWatch(N_ACCOUNTS), ReferenceWatch()
        for op in sequence:
            if op[0] == "watch":
                fast.watch(*op[1:])
                ref.watch(*op[1:])
            else:
                _, direction, mark = op
                assert fast.pop(mark, direction) == ref.pop(mark, direction)
        for direction, mark in ((UP, math.inf), (DOWN, -math.inf)):
            while (got := ref.pop(mark, direction)) is not None:
                assert fast.pop(mark, direction) == got
            assert fast.pop(mark, direction) is None
    finally:
        triggers._COMPACT_MIN = original


def test_stale_entries_do_not_pile_up():
    watch = LiquidationWatch(1)
    for k in range(20_000):  # one account re-registered at every fill
        watch.watch(0, -1, 100.0 + k % 7)
    assert len(watch.up) < 2 * triggers._COMPACT_MIN
    assert watch.pop(200.0, UP) == (100.0 + 19_999 % 7, 0)


def test_stops_fire_nearest_first_after_cancels_and_compaction():
    stops = StopBook()
    ids = []
    for k in range(3000):  # traders move their stops: each new one replaces one placed earlier
        ids.append(stops.add(account=k, side=1, lots=1, trigger=100.0 + k % 50))
        if k >= 100:
            stops.cancel(ids[k - 100])
    assert len(stops.up) < 2 * triggers._COMPACT_MIN  # compacted on the way
    fired = []
    while (got := stops.pop(1e9, UP)) is not None:
        fired.append(got[1])
    assert fired == sorted(range(2900, 3000), key=lambda k: (100.0 + k % 50, k))
