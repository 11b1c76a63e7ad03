"""Tests for `agents.exchange.book.LimitOrderBook`.

* A hypothesis state machine drives the fast book and the slow
  `tests.reference.book.ReferenceBook` with identical random operations and
  checks that they agree after every step.
* Plain unit tests pin down validation, priority and the depth queries.
* The benchmark stream replays identically on both books.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agents.exchange.book import (BUY, SELL, LimitOrderBook, Match, OrderError, depth_profile, depth_within_bps,
                                  lots_between)
from agents.exchange.native import NativeLimitOrderBook
from experiments.bench_book import order_stream, replay, tape_rows
from tests.reference.book import ReferenceBook

OWNERS = st.integers(0, 3)
SIDES = st.sampled_from([BUY, SELL])
TICKS = st.integers(990, 1010)
QTYS = st.integers(1, 20)
TIFS = st.sampled_from(["GTC", "IOC", "POST"])
BAD_QTYS = st.sampled_from([0, -1, -7, 1.0, 2.5, "3", None])


# Every test runs on each book implementation that is built: the pure-Python one, and the
# compiled one when the install compiled it (CI checks that it did, in test_native.py).
BOOKS = [LimitOrderBook] + ([NativeLimitOrderBook] if NativeLimitOrderBook is not None else [])


@pytest.fixture(params=BOOKS, ids=lambda cls: cls.__name__)
def book_cls(request) -> type:
    """Each built book class in turn."""
    return request.param


@pytest.fixture
def new_book(book_cls):
    """A factory of fresh BTC-like books of the class under test."""
    def make(tick_size: float = 0.1):
        return book_cls(tick_size, 0.001, "BTC")
    return make


def snapshot(book: LimitOrderBook) -> tuple:
    """Everything observable about a fast book's state."""
    return (book.resting(BUY), book.resting(SELL), book.depth(BUY), book.depth(SELL),
            book.best_bid(), book.best_ask(), len(book), book.n_fills)


def as_tuple(m: Match) -> tuple:
    """A Match's fields as a comparable tuple."""
    return (list(m.fills), m.order_id, m.filled, list(m.cancelled), m.rejected)


# --------------------------------------------------------------------------- differential
class BookVsReference(RuleBasedStateMachine):
    """Fast and reference books fed the same operations must stay identical."""

    book_cls: type = LimitOrderBook

    def __init__(self) -> None:
        super().__init__()
        self.fast = self.book_cls(0.1, 0.001, "BTC")
        self.ref = ReferenceBook()
        self.ids: list[int] = []  # every id ever handed out (live or dead)
        self.step = 0
        self.tape_seen = 0
        self.last_fills: list[tuple[int, int, int, int]] = []
        self.last_taker: tuple[int, int] | None = None

    # ---- helpers
    def _stamp(self) -> None:
        self.step += 1
        self.fast.time = self.ref.time = float(self.step)
        self.fast.cause = self.ref.cause = self.step % 5

    def _both(self, op: str, *args: object) -> object:
        """Apply one operation to both books; both raise OrderError or neither does."""
        self._stamp()
        before_fast, before_ref = snapshot(self.fast), (self.ref.resting(BUY), self.ref.resting(SELL))
        results, errors = [], []
        for book in (self.fast, self.ref):
            try:
                results.append(getattr(book, op)(*args))
                errors.append(None)
            except OrderError as e:
                results.append(None)
                errors.append(e)
        assert (errors[0] is None) == (errors[1] is None), (op, args, errors)
        if errors[0] is not None:
            assert str(errors[0]), "error message must not be empty"
            assert snapshot(self.fast) == before_fast
            assert (self.ref.resting(BUY), self.ref.resting(SELL)) == before_ref
            return None
        fast_res, ref_res = results
        if isinstance(ref_res, Match):  # the compiled book returns an equal `NativeMatch`
            assert as_tuple(fast_res) == as_tuple(ref_res), (op, args)
            if fast_res.order_id is not None:
                self.ids.append(fast_res.order_id)
            self.last_fills = fast_res.fills
        else:
            assert fast_res == ref_res, (op, args)
            self.last_fills = []
        return fast_res

    def _pick_id(self, i: int) -> int:
        return self.ids[i % len(self.ids)] if self.ids else 1

    def _pick_live(self, i: int) -> int:
        live = [o[0] for o in self.fast.resting(BUY) + self.fast.resting(SELL)]
        return live[i % len(live)] if live else 1

    def _pick_queued(self, i: int) -> int:
        """A live order with another order queued behind it at the same level."""
        ahead = [a[0] for rest in (self.fast.resting(BUY), self.fast.resting(SELL))
                 for a, b in zip(rest, rest[1:]) if a[2] == b[2]]
        return ahead[i % len(ahead)] if ahead else self._pick_live(i)

    def _pick_unknown(self, i: int) -> int:
        return (0, -1, 10**9, max(self.ids, default=0) + 1)[i % 4]

    # ---- rules (three of the six add liquidity, so the book gets some depth)
    @rule(owner=OWNERS, side=SIDES, tick=TICKS, qty=QTYS, tif=TIFS)
    def limit(self, owner: int, side: int, tick: int, qty: int, tif: str) -> None:
        self.last_taker = (owner, side)
        self._both("submit_limit", owner, side, tick, qty, tif)

    @rule(owner=OWNERS, side=SIDES, offset=st.integers(0, 4), qty=QTYS)
    def limit_passive(self, owner: int, side: int, offset: int, qty: int) -> None:
        """A GTC order on its own side of 1000, often sharing a level with others."""
        self.last_taker = (owner, side)
        self._both("submit_limit", owner, side, 1000 - side * (1 + offset), qty, "GTC")

    @rule(owner=OWNERS, side=SIDES, qty=st.integers(1, 40))
    def market(self, owner: int, side: int, qty: int) -> None:
        self.last_taker = (owner, side)
        self._both("submit_market", owner, side, qty)

    @rule(which=st.sampled_from(["live", "live", "seen", "unknown"]), i=st.integers(0, 10_000))
    def cancel(self, which: str, i: int) -> None:
        """Cancel a live order, any id ever issued (maybe dead), or an id never issued."""
        oid = {"live": self._pick_live, "seen": self._pick_id, "unknown": self._pick_unknown}[which](i)
        live = oid in self.fast
        assert (self._both("cancel", oid) is not None) == live
        assert oid not in self.fast and oid not in self.ref

    @rule(which=st.sampled_from(["live", "queued", "seen", "unknown"]), i=st.integers(0, 10_000),
          change=st.one_of(st.integers(-3, 2), st.just(1.0), st.just(0.5)))
    def reduce(self, which: str, i: int, change: float) -> None:
        """Reduce by ``change`` lots (<= 0 is an invalid increase/no-op, floats are invalid)."""
        oid = {"live": self._pick_live, "queued": self._pick_queued, "seen": self._pick_id,
               "unknown": self._pick_unknown}[which](i)
        old = self.fast.order(oid)[2] if oid in self.fast else 5
        new_qty = old - change if isinstance(change, int) else change
        self._both("reduce", oid, new_qty)
        if oid in self.fast and 0 < new_qty <= old and isinstance(new_qty, int):
            assert self.fast.order(oid)[2] == new_qty

    @rule(owner=st.one_of(OWNERS, st.just(1.0), st.just(2**63)), market=st.booleans(),
          side=st.sampled_from([BUY, SELL, 0, 2, 1.0, np.int64(-1)]),
          tick=st.sampled_from([1000, 0, -5, 1000.0]), qty=st.one_of(QTYS, BAD_QTYS),
          tif=st.sampled_from(["GTC", "FOK", "gtc"]))
    def maybe_invalid(self, owner: int, market: bool, side: int, tick: object, qty: object, tif: str) -> None:
        """Submissions with some invalid argument (occasionally all valid)."""
        self.last_taker = (owner, side)
        if market:
            self._both("submit_market", owner, side, qty)
        else:
            self._both("submit_limit", owner, side, tick, qty, tif)

    # ---- invariants
    @invariant()
    def same_state(self) -> None:
        for side in (BUY, SELL):
            rest = self.fast.resting(side)
            assert rest == self.ref.resting(side)
            levels: dict[int, int] = {}
            for _, _, tick, qty in rest:
                levels[tick] = levels.get(tick, 0) + qty
            assert self.fast.depth(side) == sorted(levels.items(), reverse=(side == BUY))
        assert self.fast.best_bid() == self.ref.best_bid()
        assert self.fast.best_ask() == self.ref.best_ask()
        assert len(self.fast) == len(self.ref)

    @invariant()
    def depth_queries_match_vectorised(self) -> None:
        """Each book's depth queries equal the shared vectorised functions over its level arrays."""
        bands = np.array([0.0, 5.0, 10.0, 14.9, 25.0, 50.0, 100.0, 250.0])
        for side in (BUY, SELL):
            assert self.fast.depth_profile(side, bands).tolist() == depth_profile(self.fast, side, bands).tolist()
            for bps in (0.0, 10.0, 33.3, 100.0, 1e4):
                assert self.fast.depth_within_bps(side, bps) == depth_within_bps(self.fast, side, bps)
            for bps, bbands in ((100.0, bands), (33.3, bands[:3]), (1e4, bands), (2e4, bands[:0]), (-5.0, bands),
                                (float("nan"), bands), (float("inf"), bands[4:])):
                within, profile = self.fast.depth_summary(side, bps, bbands)
                assert within == depth_within_bps(self.fast, side, bps)
                assert profile.tolist() == depth_profile(self.fast, side, bbands).tolist()
            for lo, hi in ((995.5, 1004.5), (990, 1010), (-1.0, 2e18), (1003, 1003), (1010.0, 990.0), (0, float("inf"))):
                assert self.fast.lots_between(side, lo, hi) == lots_between(self.fast, side, lo, hi)

    @invariant()
    def never_crossed(self) -> None:
        bid, ask = self.fast.best_bid(), self.fast.best_ask()
        assert bid is None or ask is None or bid < ask

    @invariant()
    def tape_matches_fills(self) -> None:
        rows = tape_rows(self.fast)
        assert rows == tape_rows(self.ref)
        new = rows[self.tape_seen:]
        assert len(new) == len(self.last_fills)
        for row, (_, maker, tick, qty) in zip(new, self.last_fills):
            assert self.last_taker is not None
            assert row == (float(self.step), tick, qty, self.last_taker[1], self.last_taker[0], maker, self.step % 5)
        self.tape_seen = len(rows)
        self.last_fills = []


BookVsReference.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBookVsReference = BookVsReference.TestCase


class NativeBookVsReference(BookVsReference):
    """The same differential machine on the compiled book."""

    book_cls = NativeLimitOrderBook


NativeBookVsReference.TestCase.settings = BookVsReference.TestCase.settings
TestNativeBookVsReference = pytest.mark.skipif(NativeLimitOrderBook is None, reason="compiled book not built")(
    NativeBookVsReference.TestCase)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.submit_limit(1, BUY, 1000, 0), "positive whole number of lots"),
        (lambda b: b.submit_limit(1, BUY, 1000, -3), "positive whole number of lots"),
        (lambda b: b.submit_limit(1, BUY, 1000, 1.5), "positive whole number of lots"),
        (lambda b: b.submit_limit(1, BUY, 1000, 2.0), "positive whole number of lots"),
        (lambda b: b.submit_market(1, SELL, 0), "positive whole number of lots"),
        (lambda b: b.submit_limit(1, BUY, 0, 1), "positive whole number of ticks"),
        (lambda b: b.submit_limit(1, BUY, 1000.0, 1), "positive whole number of ticks"),
        (lambda b: b.submit_limit(1, 0, 1000, 1), "side must be"),
        (lambda b: b.submit_limit(1, BUY, 1000, 1, "FOK"), "time in force"),
        (lambda b: b.submit_limit(1, BUY, b.to_tick(91300.05), 1), "not a positive multiple of tick"),
        (lambda b: b.to_tick(-0.1), "not a positive multiple of tick"),
        (lambda b: b.to_tick(float("nan")), "not a finite number"),
        (lambda b: b.cancel(999), "unknown order id 999"),
        (lambda b: b.reduce(999, 1), "unknown order id 999"),
        (lambda b: b.reduce(1, 6), "can only lower"),
        (lambda b: b.reduce(1, 0), "positive whole number of lots"),
        (lambda b: b.reduce(1, 2.0), "positive whole number of lots"),
    ],
)
def test_invalid_input_raises_and_leaves_book_unchanged(new_book, call, message: str) -> None:
    book = new_book()
    assert book.submit_limit(1, BUY, 999, 5).order_id == 1
    assert book.submit_limit(2, SELL, 1001, 4).order_id == 2
    before = snapshot(book)
    with pytest.raises(OrderError, match=message):
        call(book)
    assert snapshot(book) == before
    assert book.submit_limit(3, BUY, 998, 1).order_id == 3  # no id was consumed


def test_to_tick_round_trips_on_grid_prices(new_book) -> None:
    book = new_book()
    assert book.to_tick(91300.0) == 913_000
    assert book.to_tick(91300.1) == 913_001
    assert all(book.to_tick(book.price(t)) == t for t in range(1, 2_000_000, 9973))


def test_odd_arguments_are_read_as_the_python_book_reads_them(new_book) -> None:
    """Floats, numpy integers and out-of-range values, on every book (the compiled one converts to C)."""
    book = new_book()
    oid = book.submit_limit(1, BUY, 1000, 5).order_id
    assert oid in book and 1.0 in book and 1.5 not in book and float("nan") not in book and None not in book
    for call in (lambda: book.cancel(1.5), lambda: book.order(1.9), lambda: book.reduce(2**64, 1)):
        with pytest.raises(OrderError, match="unknown order id"):
            call()
    assert book.price(5.5) == 5.5 * 0.1
    before = snapshot(book)
    for call, message in ((lambda: book.submit_limit(2.7, SELL, 1000, 1), "owner must be a whole number"),
                          (lambda: book.submit_market(2**63, SELL, 1), "owner must be a whole number"),
                          (lambda: book.submit_limit(2, 1.0, 1000, 1), "side must be"),
                          (lambda: book.submit_market(2, SELL, 2**40 + 1), "at most 1099511627776 lots"),
                          (lambda: book.submit_limit(2, SELL, 2**53 + 1, 1), "ticks up to")):
        with pytest.raises(OrderError, match=message):
            call()
        assert snapshot(book) == before
    m = book.submit_market(np.int64(2), np.int64(SELL), np.int64(2))
    assert m.fills == [(oid, 1, 1000, 2)] and book.order(oid) == (BUY, 1000, 3, 1)
    assert list(book.tape_taker) == [2] and list(book.tape_side) == [SELL]


def test_a_viewed_tape_is_never_moved(new_book) -> None:
    """A numpy view of a tape column stays valid: a fill that would move the column raises instead."""
    book = new_book()
    book.submit_limit(1, BUY, 1000, 10_000)
    book.submit_market(2, SELL, 1)
    view = np.asarray(book.tape_tick)
    with pytest.raises(BufferError):
        for _ in range(10_000):
            book.submit_market(2, SELL, 1)
    assert view.tolist() == [1000]
    del view
    book.submit_market(2, SELL, 1)
    assert book.tape_tick[-1] == 1000


# --------------------------------------------------------------------------- matching
def test_price_time_priority(new_book) -> None:
    book = new_book()
    a = book.submit_limit(1, SELL, 1001, 3).order_id
    b = book.submit_limit(2, SELL, 1001, 3).order_id
    c = book.submit_limit(3, SELL, 1000, 3).order_id
    m = book.submit_limit(4, BUY, 1001, 7)
    assert m.fills == [(c, 3, 1000, 3), (a, 1, 1001, 3), (b, 2, 1001, 1)]
    assert m.filled == 7 and m.order_id is None
    assert book.resting(SELL) == [(b, 2, 1001, 2)]


def test_a_long_lived_level_keeps_time_priority_as_its_queue_turns_over(new_book) -> None:
    """One price level fed and eaten for a long time, with cancels along the way: the queue's
    consumed front is dropped now and then (the compiled book's `IdQueue`), never a live order."""
    book, ref = new_book(), ReferenceBook()
    for i in range(2000):
        for b in (book, ref):
            m = b.submit_limit(1 + i % 3, SELL, 1000, 1 + i % 4)
        if i % 5 == 0 and m.order_id is not None:
            assert book.cancel(m.order_id) == ref.cancel(m.order_id)
        if i % 3 == 2:  # eat a few of the oldest
            assert as_tuple(book.submit_market(0, BUY, 5)) == as_tuple(ref.submit_market(0, BUY, 5))
        assert book.resting(SELL) == ref.resting(SELL)
    assert len(book.resting(SELL)) > 200 and book.depth(SELL) == [(1000, sum(q for *_, q in ref.resting(SELL)))]


def test_partial_fill_rests_remainder_and_keeps_maker_remainder(new_book) -> None:
    book = new_book()
    maker = book.submit_limit(1, BUY, 1000, 10).order_id
    m = book.submit_limit(2, SELL, 1000, 4)
    assert m.fills == [(maker, 1, 1000, 4)] and m.order_id is None
    assert book.resting(BUY) == [(maker, 1, 1000, 6)]
    m = book.submit_limit(2, SELL, 999, 9)
    assert m.filled == 6 and m.order_id is not None
    assert book.resting(BUY) == [] and book.resting(SELL) == [(m.order_id, 2, 999, 3)]
    assert list(book.tape_qty) == [4, 6] and list(book.tape_side) == [SELL, SELL]


def test_reduce_keeps_priority(new_book) -> None:
    book = new_book()
    first = book.submit_limit(1, BUY, 1000, 10).order_id
    second = book.submit_limit(2, BUY, 1000, 10).order_id
    book.reduce(first, 2)
    assert book.depth(BUY) == [(1000, 12)]
    m = book.submit_market(3, SELL, 5)
    assert m.fills == [(first, 1, 1000, 2), (second, 2, 1000, 3)]


def test_self_trade_prevention_cancels_resting_order(new_book) -> None:
    book = new_book()
    own = book.submit_limit(1, SELL, 1000, 5).order_id
    other = book.submit_limit(2, SELL, 1000, 5).order_id
    m = book.submit_limit(1, BUY, 1000, 3)
    assert m.cancelled == [(own, 1, 1000, 5)]
    assert m.fills == [(other, 2, 1000, 3)]
    assert own not in book and book.resting(SELL) == [(other, 2, 1000, 2)]


def test_post_only_rejected_when_crossing(new_book) -> None:
    book = new_book()
    book.submit_limit(1, SELL, 1000, 5)
    before = snapshot(book)
    m = book.submit_limit(2, BUY, 1000, 1, "POST")
    assert m.rejected and m.order_id is None and list(m.fills) == []
    assert snapshot(book) == before
    ok = book.submit_limit(2, BUY, 999, 1, "POST")
    assert not ok.rejected and ok.order_id is not None


def test_every_book_returns_match_records_equal_to_the_python_books(new_book) -> None:
    """The compiled book's `NativeMatch` equals a `Match` with the same fields, either way round, prints as
    one, and is unhashable like one."""
    book, python_book = new_book(), LimitOrderBook(0.1, 0.001, "BTC")
    for b in (book, python_book):
        b.submit_limit(1, SELL, 1000, 2)
        b.submit_limit(3, SELL, 1001, 4)
    m, expected = book.submit_limit(2, BUY, 1001, 5), python_book.submit_limit(2, BUY, 1001, 5)
    assert m == expected and expected == m and not (m != expected)
    assert repr(m) == repr(expected) == ("Match(fills=[(1, 1, 1000, 2), (2, 3, 1001, 3)], order_id=None, "
                                         "filled=5, cancelled=[], rejected=False)")
    assert type(m.filled) is int and type(m.rejected) is bool
    assert m != Match(list(expected.fills), None, 4, [])
    assert m != (list(expected.fills), None, 5, [], False)
    with pytest.raises(TypeError):
        hash(m)


def test_ioc_leaves_nothing_resting(new_book) -> None:
    book = new_book()
    book.submit_limit(1, SELL, 1000, 2)
    m = book.submit_limit(2, BUY, 1005, 10, "IOC")
    assert m.filled == 2 and m.order_id is None
    assert len(book) == 0 and book.best_bid() is None and book.best_ask() is None
    assert book.submit_limit(2, BUY, 990, 10, "IOC").order_id is None and len(book) == 0


def test_market_order_into_empty_book_fills_nothing(new_book) -> None:
    book = new_book()
    m = book.submit_market(1, BUY, 10)
    assert list(m.fills) == [] and m.filled == 0 and m.order_id is None
    assert len(book) == 0 and book.n_fills == 0


def test_cancel_returns_remaining_and_frees_level(new_book) -> None:
    book = new_book()
    oid = book.submit_limit(1, BUY, 1000, 7).order_id
    book.submit_market(2, SELL, 3)
    assert book.cancel(oid) == 4
    assert book.best_bid() is None and book.depth(BUY) == []
    with pytest.raises(OrderError):
        book.cancel(oid)


# --------------------------------------------------------------------------- depth
def _hand_built(book_cls: type):
    book = book_cls(1.0, 1.0)
    book.submit_limit(1, BUY, 990, 5)
    book.submit_limit(1, BUY, 995, 3)
    book.submit_limit(2, SELL, 1005, 4)
    book.submit_limit(2, SELL, 1020, 7)
    return book


def test_depth_queries_on_hand_built_book(book_cls) -> None:
    book = _hand_built(book_cls)
    assert book.mid() == 1000.0 and book.spread() == 10
    assert book.depth(BUY) == [(995, 3), (990, 5)]
    assert book.depth(SELL, levels=1) == [(1005, 4)]
    # mid 1000: 995 is 50 bps away, 990 is 100 bps, 1005 is 50 bps, 1020 is 200 bps
    assert [book.depth_within_bps(BUY, b) for b in (40, 60, 150)] == [0, 3, 8]
    assert [book.depth_within_bps(SELL, b) for b in (40, 60, 150, 250)] == [0, 4, 4, 11]
    bands = np.array([40, 60, 150, 250])
    assert book.depth_profile(BUY, bands).tolist() == [0, 3, 8, 8]
    assert book.depth_profile(SELL, bands).tolist() == [0, 4, 4, 11]


def test_depth_queries_without_mid(book_cls) -> None:
    book = book_cls(1.0, 1.0)
    book.submit_limit(1, BUY, 990, 5)
    assert book.mid() is None and book.spread() is None
    assert book.depth_within_bps(BUY, 1000) == 0
    assert book.depth_profile(BUY, [10, 100]).tolist() == [0, 0]


# --------------------------------------------------------------------------- benchmark stream
def test_bench_stream_replays_identically_on_both_books(new_book) -> None:
    stream = order_stream(3000, seed=7)
    assert stream == order_stream(3000, seed=7)
    kinds = [op[0] for op in stream]
    assert {0, 1, 2} <= set(kinds)
    fast, ref = new_book(), ReferenceBook()
    assert replay(fast, stream) == replay(ref, stream) == 3000
    assert fast.n_fills > 100
    assert tape_rows(fast) == tape_rows(ref)
    assert fast.resting(BUY) == ref.resting(BUY) and fast.resting(SELL) == ref.resting(SELL)


def test_emptied_levels_do_not_pile_up_in_the_price_heaps() -> None:
    book = LimitOrderBook(0.1, 0.001)
    for k in range(5000):  # a quote that moves every time: each level is made, then emptied
        oid = book.submit_limit(1, BUY, 1000 + k % 997, 1).order_id
        book.submit_limit(2, SELL, 5000 + k % 991, 1)
        book.cancel(oid)
    assert len(book._heaps[0]) < 300 and len(book._heaps[1]) < 2 * 991 + 300
    assert book.best_bid() is None and book.best_ask() == 5000
    book.submit_limit(1, BUY, 1200, 1)
    assert book.best_bid() == 1200
