"""Trigger heaps against a plain reference: nearest due trigger first, ties in arrival order.

Compaction (dropping stale entries from deep in a heap) is forced often by a
tiny threshold, and must never change what fires or in which order. The
liquidation-watch tests run on the pure-Python watch and, when built, on the
compiled one.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agents.exchange.triggers as triggers
from agents.exchange.native import NativeLiquidationWatch
from agents.exchange.triggers import DOWN, UP, LiquidationWatch, StopBook

WATCHES = [LiquidationWatch] + ([NativeLiquidationWatch] if NativeLiquidationWatch is not None else [])
each_watch = pytest.mark.parametrize("watch_cls", WATCHES, ids=lambda cls: cls.__name__)

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

    def next_due(self, price: float):
        """``(price, direction)`` of what `pop` would fire, upward first."""
        for direction in (UP, DOWN):
            got = self._due(price, direction)
            if got is not None:
                return got[0], direction
        return None

    def _due(self, mark: float, direction: int):
        due = [(p if direction == UP else -p, seq, acct) for acct, (p, seq, d) in self.live.items()
               if d == direction and (p <= mark if direction == UP else p >= mark)]
        if not due:
            return None
        key, _, acct = min(due)
        return (key if direction == UP else -key), acct

    def pop(self, mark: float, direction: int):
        got = self._due(mark, direction)
        if got is not None:
            del self.live[got[1]]
        return got


@each_watch
@settings(max_examples=200, deadline=None)
@given(sequence=ops)
def test_liquidation_watch_matches_reference_with_compaction(watch_cls, sequence):
    fast, ref = watch_cls(N_ACCOUNTS, compact_min=2), ReferenceWatch()  # compact all the time
    for op in sequence:
        if op[0] == "watch":
            fast.watch(*op[1:])
            ref.watch(*op[1:])
        else:
            _, direction, mark = op
            due = ref.next_due(mark)
            assert fast.next_due(mark) == due
            got = ref.pop(mark, direction)
            assert fast.pop(mark, direction) == got
        assert fast.live() == sorted((d, p, acct) for acct, (p, _, d) in ref.live.items())
    for direction, mark in ((UP, math.inf), (DOWN, -math.inf)):
        while (got := ref.pop(mark, direction)) is not None:
            assert fast.pop(mark, direction) == got
        assert fast.pop(mark, direction) is None
    assert fast.sizes == (0, 0) and fast.live() == []


@each_watch
def test_stale_entries_do_not_pile_up(watch_cls):
    watch = watch_cls(1)
    for k in range(20_000):  # one account re-registered at every fill
        watch.watch(0, -1, 100.0 + k % 7)
    assert watch.sizes[0] < 2 * triggers._COMPACT_MIN and watch.sizes[1] == 0
    assert watch.pop(200.0, UP) == (100.0 + 19_999 % 7, 0)


@each_watch
def test_flat_or_unpriced_positions_are_not_watched(watch_cls):
    watch = watch_cls(3)
    watch.watch(0, 5, 90.0)
    watch.watch(0, 0, 95.0)  # flat: the long's entry is stale now
    watch.watch(1, -2, math.nan)
    watch.watch(2, -2, math.inf)
    assert watch.next_due(50.0) is None and watch.next_due(1e12) is None
    with pytest.raises(IndexError):
        watch.watch(3, 1, 90.0)


@each_watch
def test_a_watch_call_invalidates_before_it_looks_at_the_position(watch_cls):
    """As the Python watch: the account's entry goes stale first, so a position that cannot be compared
    still drops the old entry, and one without a price is never compared; -1 is the last account."""
    watch = watch_cls(3)
    watch.watch(1, 5, 90.0)
    watch.watch(1, None, math.nan)  # no price: the position is never looked at
    watch.watch(-1, 5, 90.0)
    with pytest.raises(TypeError):
        watch.watch(2, None, 95.0)
    assert watch.live() == [] and watch.next_due(80.0) is None


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


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "cancel", "pop"]), st.integers(0, 3), st.sampled_from([1, -1]),
                              st.floats(90.0, 110.0)), max_size=60))
def test_an_accounts_stops_are_the_live_ones_it_placed_in_id_order(ops):
    stops, placed = StopBook(), []
    for op, account, side, price in ops:
        if op == "add":
            placed.append(stops.add(account, side, 1, price))
        elif op == "cancel" and placed:
            stops.cancel(placed[int(price) % len(placed)])  # some already gone
        elif op == "pop":
            stops.pop(price, side)
        for acct in range(4):
            assert stops.of_account(acct) == [sid for sid, stop in stops.stops.items() if stop[0] == acct]
