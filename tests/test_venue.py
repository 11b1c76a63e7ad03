"""The venue's margin mechanics on small hand-built markets.

Prices are ticks of 0.1 and lots are whole units, so every number can be
checked by hand. Mark price method ``last``: the mark follows trades at once.
"""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents.exchange.audit import venue_state, venue_violations
from agents.exchange.book import BUY, SELL
from agents.exchange.venue import AssetRules, OrderBookAgent, VenueRules

MM, SHORT, TAKER, OTHER = 0, 1, 2, 3


class StubModel(mesa.Model):
    """Just what the venue reads from a model: dt and the spot index."""

    def __init__(self) -> None:
        super().__init__(rng=0)
        self.dt = 1.0
        self.fundamental = np.array([100.0])


def make_venue(fund: float = 0.0, **rules) -> OrderBookAgent:
    venue = OrderBookAgent(StubModel(), [AssetRules("BTC", 0.1, 1.0, 100.0)], 4,
                           VenueRules(insurance_fund=fund, mark_method="last", market_band=0.5, **rules))
    for acct, cash in ((MM, 1e7), (SHORT, 1005.0), (TAKER, 1e6), (OTHER, 1e6)):
        venue.deposit(acct, cash)
    return venue


def short_at_10x(venue: OrderBookAgent) -> None:
    """SHORT sells 100 units at 100.0 with 10x leverage (margin 1000, taker fee 5: its whole wallet)."""
    venue.set_leverage(SHORT, 0, 10.0)
    venue.limit(MM, 0, BUY, 1000, 100)
    assert venue.market(SHORT, 0, SELL, 100) == 100
    led = venue.ledger
    assert led.position[SHORT, 0] == -100
    assert led.margin[SHORT, 0] == pytest.approx(1000.0)
    assert led.wallet[SHORT] == pytest.approx(0.0, abs=1e-9)


def test_order_the_account_cannot_margin_is_rejected_with_a_reason():
    venue = make_venue()
    venue.set_leverage(SHORT, 0, 10.0)
    venue.limit(MM, 0, BUY, 1000, 500)
    assert venue.market(SHORT, 0, SELL, 101) == 0  # 10,100 notional needs 1,010 + 5.05 fee at 10x
    assert venue.rejections["insufficient_margin"] == 1
    venue.set_leverage(SHORT, 0, 200.0)  # above the 150x top tier
    assert venue.market(SHORT, 0, SELL, 10) == 0
    assert venue.rejections["leverage_above_tier_max"] == 1
    assert venue.ledger.position[SHORT, 0] == 0


def test_liquidation_ioc_then_fund_takeover_at_bankruptcy():
    venue = make_venue(fund=1e6)
    short_at_10x(venue)
    for tick, lots in ((1050, 10), (1096, 5), (1098, 40), (1120, 500)):
        venue.limit(MM, 0, SELL, tick, lots)
    venue.limit(SHORT, 0, BUY, 900, 1)     # the short's own order: cancelled when liquidated
    venue.market(TAKER, 0, BUY, 10)        # last 105.0: mark below LP ~109.56, no liquidation
    assert venue.ledger.position[SHORT, 0] == -100 and venue.liquidations.count == 0
    venue.market(TAKER, 0, BUY, 5)         # last 109.6 >= LP: liquidated
    ev = venue.liquidations.events
    assert ev["stage"] == ["ioc", "takeover"]
    assert ev["qty"] == [40.0, 60.0]       # 40 at 109.8; 112.0 is beyond bankruptcy (110.0)
    assert ev["price"] == [pytest.approx(109.8), pytest.approx(110.0)]
    assert ev["trigger_price"][0] == pytest.approx(11000 / 100.4)
    assert ev["equity"][0] <= ev["maintenance"][0]
    led = venue.ledger
    assert led.position[SHORT, 0] == 0 and led.position[venue.fund, 0] == -60
    assert venue.open_orders(SHORT, 0) == []
    # 40 bought at 109.8 against 400 of margin leave 8: less than the 1.5% fee, so all 8 go to the fund.
    assert venue.liquidations.fund_fees_received == pytest.approx(8.0)
    assert venue.ledger.wallet[SHORT] == pytest.approx(0.0, abs=1e-9)
    assert ev["account_equity_after"][0] >= -1e-9
    assert venue_violations(venue) == []


def test_exhausted_fund_means_auto_deleveraging_of_profitable_longs():
    venue = make_venue(fund=0.0)
    short_at_10x(venue)                     # MM is now long 100 at 100.0
    venue.limit(OTHER, 0, SELL, 1096, 5)
    venue.market(TAKER, 0, BUY, 5)          # no asks below bankruptcy but OTHER's: liquidation at 109.6
    ev = venue.liquidations.events
    assert ev["stage"] == ["adl"]
    assert ev["qty"] == [100.0]
    led = venue.ledger
    assert led.position[SHORT, 0] == 0 and led.position[venue.fund, 0] == 0
    assert led.position[MM, 0] == 0         # the profitable long was closed at bankruptcy
    assert led.realized[MM, 0] == pytest.approx(100 * (110.0 - 100.0))
    assert venue.liquidations.adl_notional == pytest.approx(100 * 110.0)
    assert venue_violations(venue) == []


def test_stops_fire_in_price_order_and_only_reduce():
    venue = make_venue(fund=1e6)
    for acct, trigger in ((OTHER, 103.0), (TAKER, 101.0)):
        venue.limit(MM, 0, BUY, 1000, 10)
        venue.market(acct, 0, SELL, 10)
        venue.stop(acct, 0, BUY, trigger, 50)  # more than the position: reduce-only clips it
    for tick, lots in ((1010, 1), (1020, 5), (1030, 20), (1040, 20)):
        venue.limit(MM, 0, SELL, tick, lots)
    venue.limit(SHORT, 0, BUY, 1010, 1)     # last 101.0 fires TAKER's stop, whose buying reaches 103.0
    book = venue.books[0]
    stop_takers = [t for c, t in zip(book.tape_cause, book.tape_taker) if c == 1]
    assert stop_takers == [TAKER, TAKER, OTHER]   # nearest stop first; 5 @ 102 + 5 @ 103, then 10 @ 103
    assert venue.ledger.position[TAKER, 0] == 0 and venue.ledger.position[OTHER, 0] == 0
    assert venue.stops_fired[0] == 2
    assert venue_violations(venue) == []


def test_funding_nets_to_zero_and_longs_pay_when_the_perp_trades_rich():
    venue = make_venue(fund=1e6, funding_every=10.0, funding_cap=0.05)
    venue.limit(MM, 0, BUY, 1000, 30)
    venue.market(OTHER, 0, SELL, 30)        # OTHER short 30, MM long 30
    venue.limit(MM, 0, BUY, 1020, 5)
    venue.limit(MM, 0, SELL, 1030, 5)       # mid 102.5 vs index 100: premium 2.5%
    before = venue.ledger.margin[[MM, OTHER], 0].copy()
    for t in range(1, 11):
        venue.begin_step(float(t), np.array([100.0]))
    ((net, gross),) = venue.funding_net
    assert abs(net) <= 1e-12 * gross and gross > 0
    after = venue.ledger.margin[[MM, OTHER], 0]
    assert after[0] < before[0] and after[1] > before[1]   # long paid, short received
    assert venue.funding.last_rate[0] == pytest.approx(0.025 + max(min(0.0001 - 0.025, 0.0005), -0.0005))
    assert venue_violations(venue) == []


def test_funding_rate_clamp_and_cap():
    from agents.exchange.funding import funding_rate

    assert funding_rate(0.0) == pytest.approx(0.0001)          # no premium: the interest rate
    assert funding_rate(0.0003) == pytest.approx(0.0001)       # premium within ±0.05% of interest: interest
    assert funding_rate(0.001) == pytest.approx(0.0005)        # beyond it: premium less the clamp
    assert funding_rate(-0.002) == pytest.approx(-0.002 + 0.0005)
    assert funding_rate(0.5, cap=0.02) == 0.02 and funding_rate(-0.5, cap=0.02) == -0.02


def test_index_mark_is_the_median_of_index_index_plus_basis_and_last():
    venue = OrderBookAgent(StubModel(), [AssetRules("BTC", 0.1, 1.0, 100.0)], 4,
                           VenueRules(mark_method="index", mark_half_life=1.0))
    mark = venue.mark
    for _ in range(60):                      # a book 2% rich for a minute: the basis average is ~+2
        mark.step(np.array([102.0]), np.array([100.0]))
    assert mark.basis[0] == pytest.approx(2.0, rel=1e-6)
    assert mark.update(0, last=95.0, mid=95.0) == pytest.approx(100.0)    # a sweep to 95: mark stays at the index
    assert mark.update(0, last=101.0, mid=101.0) == pytest.approx(101.0)  # between the two: the last price
    assert mark.update(0, last=110.0, mid=110.0) == pytest.approx(102.0)  # above both: index + basis


def test_index_mark_keeps_a_book_sweep_from_liquidating():
    venue = make_venue(fund=1e6)
    venue.mark.method = "index"
    short_at_10x(venue)                       # MM long 100 at 100.0, SHORT's LP ~109.56
    venue.begin_step(1.0, np.array([100.0]))
    venue.limit(MM, 0, SELL, 1150, 10)
    venue.market(TAKER, 0, BUY, 10)           # one print at 115.0, index still 100
    assert venue.last_price(0) == pytest.approx(115.0)
    assert venue.ledger.position[SHORT, 0] == -100 and venue.liquidations.count == 0
    assert venue_violations(venue) == []


def test_fund_unwinds_at_most_fund_unwind_usd_per_step():
    venue = make_venue(fund=1e6, fund_unwind_usd=1000.0, fund_unwind_bps=5000.0)
    short_at_10x(venue)
    for tick, lots in ((1096, 5), (1200, 500)):
        venue.limit(MM, 0, SELL, tick, lots)
    venue.market(TAKER, 0, BUY, 5)            # liquidated; nothing below bankruptcy: the fund takes 100 over
    assert venue.ledger.position[venue.fund, 0] == -100
    for _ in range(3):                        # each step buys back 1000 USD worth at the mark, no more
        before, mark = int(venue.ledger.position[venue.fund, 0]), float(venue.mark.value[0])
        venue.end_step()
        assert venue.ledger.position[venue.fund, 0] - before == int(1000.0 / mark)
    assert venue.ledger.position[venue.fund, 0] == -100 + 9 + 8 + 8   # marks 109.6, then 120.0
    assert venue_violations(venue) == []


def test_post_quotes_and_cancel_many_do_what_one_call_per_order_does():
    ladder = [(BUY, 999, 50), (BUY, 990, 500_000), (SELL, 1001, 50), (SELL, 1000, 40), (BUY, 1002, 10)]
    one, batch = make_venue(), make_venue()
    for v in (one, batch):
        v.limit(OTHER, 0, SELL, 1002, 5)  # a resting ask: the bid at 1002 would cross and is rejected
    ids_one = [one.limit(MM, 0, side, tick, lots, tif="POST") for side, tick, lots in ladder]
    ids_batch = batch.post_quotes(MM, 0, ladder)
    assert ids_one == ids_batch
    assert ids_one[1] is None and ids_one[4] is None  # cannot margin 50M; would cross
    assert venue_state(one) == venue_state(batch)
    assert batch.rejections["post_only_would_cross"] == 1 and batch.rejections["insufficient_margin"] == 1
    gone = [ids_one[0], ids_one[2], 12345]  # an unknown id is skipped by both
    for oid in gone:
        one.cancel(0, oid)
    batch.cancel_many(0, gone)
    assert venue_state(one) == venue_state(batch)
    assert batch.open_orders(MM, 0) == [ids_one[3]] and batch.resting_count(MM, 0) == 1 == one.resting_count(MM, 0)
