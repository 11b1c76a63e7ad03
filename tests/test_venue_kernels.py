"""A venue on the compiled kernels against one on the pure-Python kernels, operation by operation.

A hypothesis state machine sends both venues the same random orders, ladders,
cancels, stops and leverage changes on a small, thin, leveraged market (lots
that are not powers of two, margin tiers with small caps) (the
mark follows the last trade, so stops, liquidations, fund takeovers and ADL
happen), and after every operation everything observable must be identical:
return values, every ledger column to the last bit, the books, the tapes,
the resting-order registry, the counters, the fees and the invariants.
"""

from __future__ import annotations

import os
from unittest import mock

import mesa
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agents.exchange.audit import venue_state, venue_violations
from agents.exchange.book import BUY, SELL, Match
from agents.exchange.margin import TierTable
from agents.exchange.native import BUILT, ENV_VAR
from agents.exchange.venue import AssetRules, OrderBookAgent, VenueRules

N_TRADERS = 6
MAKER = 0
ACCOUNTS = st.integers(0, N_TRADERS - 1)
SIDES = st.sampled_from([BUY, SELL])
OFFSETS = st.integers(-20, 20)  # ticks from the last price: the books stay near the action
LOTS = st.integers(1, 60)
REDUCE_ONLY = st.sampled_from([False, False, False, True])
COLUMNS = ("wallet", "fees_paid", "position", "entry", "margin", "leverage", "order_margin", "realized")


class StubModel(mesa.Model):
    """Just what the venue reads from a model: dt and the spot index."""

    def __init__(self) -> None:
        super().__init__(rng=0)
        self.dt = 1.0
        self.fundamental = np.array([100.0, 50.0])


# Small caps, so positions reach the higher tiers (with their cumulative amounts) as well.
TIERS = TierTable.from_rows([(2_000, 0.005, 100), (10_000, 0.01, 50), (40_000, 0.02, 20), (float("inf"), 0.1, 5)])


def make_venue(kind: str, band: float = 0.05, mark: str = "last", funding_every: float = 8 * 3600.0) -> OrderBookAgent:
    # Lots that are not powers of two, so that any reordering of a product by the lot size shows.
    assets = [AssetRules("BTC", 0.1, 0.7, 100.0, TIERS), AssetRules("ALT", 0.05, 1.3, 50.0, TIERS)]
    with mock.patch.dict(os.environ, {ENV_VAR: kind}):
        venue = OrderBookAgent(StubModel(), assets, N_TRADERS,
                               VenueRules(insurance_fund=2_000.0, mark_method=mark, market_band=band,
                                          funding_every=funding_every))
    assert venue.kernels == kind
    venue.deposit(MAKER, 5e7)
    for acct, cash in zip(range(1, N_TRADERS), (900.0, 2_500.0, 7_000.0, 30_000.0, 150_000.0)):
        venue.deposit(acct, cash)
        for asset in (0, 1):
            venue.set_leverage(acct, asset, (20.0, 50.0, 10.0, 5.0, 2.0)[acct - 1])
    venue.set_leverage(MAKER, 0, 3.0)
    return venue


@pytest.mark.skipif(not BUILT, reason="compiled kernels not built")
class VenueKernelsAgree(RuleBasedStateMachine):
    """Both venues get the same operations; they must stay identical."""

    band = 0.05  # market orders' price band: wide enough for sweeps to liquidate
    mark = "last"  # the mark follows the last trade, so moves liquidate at once
    funding_every = 8 * 3600.0

    def __init__(self) -> None:
        super().__init__()
        self.py, self.nat = (make_venue(kind, self.band, self.mark, self.funding_every) for kind in ("python", "native"))
        self.ids: list[tuple[int, int]] = []  # (asset, order id) of every order that rested
        self.now = 0.0
        # A thin ladder on both books, and leveraged positions on both sides for the moves to liquidate.
        for asset in (0, 1):
            self.ladder(asset, 0, 2, 30, 6)
            for account, side in ((1, SELL), (2, BUY), (3, SELL), (4, BUY)):
                self._both("market", account, asset, side, 12)

    def _both(self, op: str, *args, **kwargs):
        """Apply one call to both venues: the same result, or the same error."""
        out = []
        for v in (self.py, self.nat):
            try:
                out.append(("ok", getattr(v, op)(*args, **kwargs)))
            except Exception as exc:  # noqa: BLE001 - both must fail alike
                out.append((type(exc).__name__, str(exc)))
        assert out[0] == out[1], (op, args, kwargs, out)
        return out[0][1] if out[0][0] == "ok" else None

    @rule(account=ACCOUNTS, asset=st.integers(0, 1), side=SIDES, offset=OFFSETS, lots=LOTS,
          tif=st.sampled_from(["GTC", "GTC", "IOC", "POST"]), reduce_only=REDUCE_ONLY)
    def limit(self, account, asset, side, offset, lots, tif, reduce_only):
        tick = self.py.last_tick[asset] + offset
        oid = self._both("limit", account, asset, side, tick, lots, tif=tif, reduce_only=reduce_only)
        if oid is not None:
            self.ids.append((asset, oid))

    @rule(account=ACCOUNTS, asset=st.integers(0, 1), side=SIDES, lots=LOTS, reduce_only=REDUCE_ONLY)
    def market(self, account, asset, side, lots, reduce_only):
        self._both("market", account, asset, side, lots, reduce_only=reduce_only)

    @rule(asset=st.integers(0, 1), offset=st.integers(-3, 3), spacing=st.integers(1, 4), lots=st.integers(1, 400),
          levels=st.integers(1, 6))
    def ladder(self, asset, offset, spacing, lots, levels):
        centre = self.py.last_tick[asset] + offset
        quotes = [(side, centre - side * (1 + k * spacing), lots * (k + 1)) for k in range(levels) for side in (BUY, SELL)]
        ids = self._both("post_quotes", MAKER, asset, quotes)
        self.ids.extend((asset, oid) for oid in ids if oid is not None)

    @rule(i=st.integers(0, 10_000), n=st.integers(1, 8))
    def cancel_many(self, i, n):
        if not self.ids:
            return
        asset = self.ids[i % len(self.ids)][0]
        picks = [oid for a, oid in self.ids[i % len(self.ids):][:n] if a == asset] + [987_654]
        self._both("cancel_many", asset, picks)

    @rule(i=st.integers(0, 10_000))
    def cancel(self, i):
        if self.ids:
            self._both("cancel", *self.ids[i % len(self.ids)])

    @rule(asset=st.integers(0, 1), side=SIDES, lots=st.integers(50, 400))
    def sweep(self, asset, side, lots):
        self._both("market", N_TRADERS - 1, asset, side, lots)

    @rule(account=st.integers(1, N_TRADERS - 1), asset=st.integers(0, 1), side=SIDES, offset=st.integers(-15, 15),
          lots=LOTS)
    def stop(self, account, asset, side, offset, lots):
        trigger = self.py.last_price(asset) + offset * self.py.books[asset].tick_size
        self._both("stop", account, asset, side, trigger, lots)

    @rule(account=ACCOUNTS, asset=st.integers(0, 1), leverage=st.sampled_from([1.0, 2.5, 7.0, 33.0, 120.0]))
    def set_leverage(self, account, asset, leverage):
        self._both("set_leverage", account, asset, leverage)  # refused unless the position is flat

    @rule(jump=st.floats(-0.03, 0.03))
    def step(self, jump):
        self.now += 1.0
        index = np.array([100.0, 50.0]) * (1.0 + jump)
        for v in (self.py, self.nat):
            v.begin_step(self.now, index)
            v.end_step()

    @invariant()
    def identical(self) -> None:
        for name in COLUMNS:
            np.testing.assert_array_equal(getattr(self.py.ledger, name), getattr(self.nat.ledger, name), err_msg=name,
                                          strict=True)
        assert venue_state(self.py) == venue_state(self.nat)
        for a in (0, 1):
            assert self.py.watch[a].sizes == self.nat.watch[a].sizes
            assert self.py.watch[a].live() == self.nat.watch[a].live()
            for price in (0.0, 1e9, *np.linspace(0.8, 1.2, 41) * (100.0, 50.0)[a]):
                assert self.py.watch[a].next_due(price) == self.nat.watch[a].next_due(price)

    @invariant()
    def invariants_hold(self) -> None:
        assert venue_violations(self.nat) == []


VenueKernelsAgree.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                               suppress_health_check=[HealthCheck.too_slow])
TestVenueKernelsAgree = VenueKernelsAgree.TestCase


class VenueKernelsAgreeNarrowBand(VenueKernelsAgree):
    """The same, with a band so narrow that market orders often stop at its edge."""

    band = 0.01


VenueKernelsAgreeNarrowBand.TestCase.settings = VenueKernelsAgree.TestCase.settings
TestVenueKernelsAgreeNarrowBand = VenueKernelsAgreeNarrowBand.TestCase


class VenueKernelsAgreeIndexMark(VenueKernelsAgree):
    """The same with the event's mark: the median of the index, the index plus the basis average, and the last
    price; and funding paid every five steps."""

    mark = "index"
    funding_every = 5.0


VenueKernelsAgreeIndexMark.TestCase.settings = settings(max_examples=50, stateful_step_count=50, deadline=None,
                                                        suppress_health_check=[HealthCheck.too_slow])
TestVenueKernelsAgreeIndexMark = VenueKernelsAgreeIndexMark.TestCase


class VenueKernelsAgreeMedianMark(VenueKernelsAgreeIndexMark):
    """The same with the default mark: the median of the last price, the mid and the mid's average."""

    mark = "median"


TestVenueKernelsAgreeMedianMark = VenueKernelsAgreeMedianMark.TestCase


@pytest.mark.skipif(not BUILT, reason="compiled kernels not built")
@pytest.mark.parametrize("calls", [
    [("limit", (1, 0, BUY, 1000, 2.5))], [("limit", (1, 0, 1.0, 1000, 2))], [("limit", (1, 0, BUY, "1000", 2))],
    [("limit", (1, 0, 0, 1000, 2))], [("market", (1, 0, SELL, 0))], [("market", (1, 0, BUY, 2.0))],
    [("limit", (10**6, 0, BUY, 990, 1))], [("limit", (1, 2, BUY, 990, 1))], [("cancel", (-3, 1))],
    [("limit", (1, -1, BUY, 990, 1))], [("limit", (1, 0, BUY, 990, 2**70))], [("market", (1, 0, SELL, 2**70))],
    [("post_quotes", (MAKER, 0, [(1.0, 990, 2.5)]))], [("post_quotes", (MAKER, 0, [(BUY, 990, 2), (BUY, 0, 2)]))],
    [("cancel_many", (0, "iter", (1, 2, 999)))],
    [("begin_step", (1.0, [100.0, 50.0]))], [("begin_step", (1.0, np.array([100, 50])))],
    [("cancel", (0, 1)), ("market", (1, 0, 0, 1))], [("cancel", (0, 2)), ("market", (1, 0, 2, 1))],
    [("begin_step", (1.0, np.array([[100.0, 50.0]])[:, ::1][0]))], [("begin_step", (1.0, np.array([0.0, 50.0])))],
    # Plain ints the book refuses (side, lots, tick, time in force), and a float id: the C paths hand them back.
    [("post_quotes", (MAKER, 0, [(2, 990, 2)]))], [("post_quotes", (MAKER, 0, [(BUY, 990, 0)]))],
    [("post_quotes", (MAKER, 0, [(BUY, 2**60, 1)]))], [("limit", (1, 0, BUY, 990, 1, "FOK"))],
    [("limit", (1, 0, BUY, 0, 1))], [("limit", (1, 0, BUY, 990, 2**41))], [("market", (1, 0, BUY, 2**41))],
    [("cancel", (0, 1.0))], [("cancel", (0, 1.5))], [("cancel_many", (0, "iter", (1.0, 2.0)))],
    [("set_leverage", (1, 0, 0.0)), ("limit", (1, 0, BUY, 990, 1)), ("market", (1, 0, BUY, 1))],
    [("set_leverage", (1, 0, float("nan"))), ("limit", (1, 0, BUY, 990, 1))],
    # A Python `Match` (the compiled book makes `NativeMatch`es): the compiled `_settle` hands it back.
    [("_settle", (0, 1, BUY, Match([(2, MAKER, 1005, 2)], None, 2, []), 0))],
    # An asset or an account counted from the end, as Python's lists count (the last asset; the fund).
    [("transfer", (1, 2, -1, 1, 50.0, "adl"))], [("transfer", (1, 2, -2, 3, 100.0, "adl"))],
    [("market", (1, 0, BUY, 2)), ("_after_position_change", (-1, 0)), ("_after_position_change", (1, -1))],
], ids=lambda calls: "+".join(op for op, _ in calls))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy: a zero or NaN leverage divides to inf or NaN
def test_odd_orders_go_alike_on_both(calls) -> None:
    """Orders outside the fast paths (odd numbers, ids out of range, odd leverage): same results or errors."""
    venues = make_venue("python"), make_venue("native")
    for v in venues:
        v.post_quotes(MAKER, 0, [(BUY, 995, 5), (SELL, 1005, 5)])
    for op, args in calls:
        outcomes = []
        for v in venues:
            try:
                call_args = (args[0], iter(args[2])) if args[1:2] == ("iter",) else args  # a fresh iterator each
                outcomes.append(("ok", getattr(v, op)(*call_args)))
            except Exception as exc:  # noqa: BLE001 - the point is that both go the same way
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1], (op, outcomes)
        assert venue_state(venues[0]) == venue_state(venues[1])
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(venues[0].ledger, name), getattr(venues[1].ledger, name), strict=True)


@pytest.mark.skipif(not BUILT, reason="compiled kernels not built")
@pytest.mark.parametrize("python_watch", [False, True])
def test_a_tier_table_or_watch_replaced_after_the_venue_is_built_is_the_one_used(python_watch) -> None:
    """The compiled venue reads each asset's tier table as C arrays, and its watch through C: a table
    replaced later is read again (a tighter one rejects where the first did not, and positions are watched
    at its liquidation prices), and a watch of another kind is called through Python, on both venues alike."""
    from agents.exchange.triggers import LiquidationWatch

    tight = TierTable.from_rows([(500, 0.02, 10), (float("inf"), 0.05, 4)])
    venues = make_venue("python"), make_venue("native")
    outcomes = []
    for v in venues:
        v.post_quotes(MAKER, 0, [(BUY, 995, 50), (SELL, 1005, 50)])
        v.market(1, 0, BUY, 3)  # watched under the first table
        v.tiers[0] = tight
        if python_watch:
            v.watch[0] = LiquidationWatch(N_TRADERS + 1)
        outcomes.append([v.limit(1, 0, BUY, 990, 2),  # 20x is over the tight table's 10x
                         v.market(2, 0, SELL, 3), v.market(3, 0, BUY, 2)])  # watched under the tight one
    assert outcomes[0] == outcomes[1]
    assert venues[0].rejections["leverage_above_tier_max"] == 2  # accounts 1 (20x) and 2 (50x)
    assert venue_state(venues[0]) == venue_state(venues[1])
    assert venues[1].watch[0].live() == venues[0].watch[0].live() != []
