"""A market maker's compiled step against its Python original, step by step.

Two identical markets (both venues on the compiled kernels) get the same
makers; in one they act through the compiled `maker_act`, in the other through
`MarketMaker.act`. Every step a taker trades against them and the spot moves,
so centres follow mid, the tape's flow and the index, and requotes and refills
come due. After every step the venue and every maker's state must be the same.
"""

from __future__ import annotations

from types import MethodType, SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.audit import venue_state
from agents.exchange.book import BUY, SELL
from agents.exchange.native import BUILT, market_maker_native
from agents import market_maker
from agents.market_maker import MarketMaker
from tests.stub_market import Market

pytestmark = pytest.mark.skipif(not BUILT, reason="compiled kernels not built")

MAKER_PARAMS = st.fixed_dictionaries({
    "assets": st.sampled_from([[0], [1], [0, 1]]),
    "size_usd": st.floats(200.0, 20_000.0),
    "levels": st.integers(1, 4),
    "first_bps": st.floats(0.5, 20.0),
    "spacing_bps": st.floats(1.0, 30.0),
    "size_growth": st.floats(1.0, 1.5),
    "skew_bps": st.sampled_from([0.0, 5.0]),
    "max_inventory_usd": st.sampled_from([2_000.0, 1e9]),
    "requote_every": st.sampled_from([1.0, 3.0, 30.0]),
    "requote_bps": st.floats(0.5, 20.0),
    "stress_bps": st.sampled_from([0.0, 40.0]),
    "index_weight": st.sampled_from([0.0, 0.5]),
    "refill_every": st.sampled_from([0.0, 1.0, 2.0]),
    "vol_exponent": st.sampled_from([0.0, 1.0]),
    "flow_impact_bps": st.sampled_from([0.0, 22.0]),
    "mid_weight": st.sampled_from([1.0, 0.05]),
})
STATE = ("centre", "tape_read", "stress_now", "quotes", "quoted_at", "refilled_at")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), params=st.lists(MAKER_PARAMS, min_size=1, max_size=2),
       flow=st.lists(st.tuples(st.integers(0, 1), st.sampled_from([BUY, SELL]), st.integers(0, 30),
                               st.floats(-0.01, 0.01), st.none() | st.integers(-3, 3)), min_size=1, max_size=40))
def test_compiled_step_is_the_python_one(seed, params, flow):
    differences, _clamped, _markets = run_side_by_side(seed, params, flow)
    assert differences == []


def test_refills_clamped_to_the_touch_are_the_same_compiled():
    """Refills come due with levels filled and someone else's orders inside the spread, so the refill's
    prices are clamped to the touch (a case the random flows above rarely reach; the centre lags mid):
    the compiled step's look at the registry and its requotes must agree around them."""
    params = {"assets": [0], "size_usd": 300.0, "levels": 3, "first_bps": 2.0, "spacing_bps": 20.0,
              "size_growth": 1.2, "skew_bps": 0.0, "max_inventory_usd": 1e9, "requote_every": 1e9,
              "requote_bps": 1e9, "refill_every": 2.0, "mid_weight": 0.05}
    # Refills come due at odd seconds: take the best level, post inside the gap it leaves, let the refill come.
    quiet = (0, BUY, 0, 0.0, None)
    flow = [(0, SELL, 10, 0.0, None), (0, SELL, 2, 0.0, 2), quiet, quiet,
            (0, BUY, 10, 0.0, None), (0, BUY, 2, 0.0, 3), quiet, quiet] * 2
    differences, clamped, _markets = run_side_by_side(7, [params], flow)
    assert differences == []
    assert clamped[BUY] > 0 and clamped[SELL] > 0


@pytest.mark.parametrize("size_usd, max_inventory_usd, sweeps, refills, refused", [
    (300.0, 1e9, (BUY, SELL), 4, None),  # each sweep takes two levels, and both come back
    (1e5, 1e9, (BUY, SELL), None, "insufficient_margin"),  # some do not: the margin the fills used is not free
    (1e5, 500.0, (BUY,), 0, None),  # the side the taker hit is past the inventory cap: its levels stay away
])
def test_refills_of_levels_deep_in_the_ladder_are_the_same_compiled(size_usd, max_inventory_usd, sweeps, refills,
                                                                     refused):
    """A taker sweeps two and a half levels of a coarse ladder and the refills come due: the levels put back
    away from the touch (their prices from the centre, not clamped), refused ones, and a capped side."""
    params = {"assets": [0], "size_usd": size_usd, "levels": 4, "first_bps": 15.0, "spacing_bps": 25.0,
              "size_growth": 1.0, "skew_bps": 0.0, "max_inventory_usd": max_inventory_usd, "requote_every": 1e9,
              "requote_bps": 1e9, "refill_every": 2.0, "mid_weight": 1.0}
    quiet, lots = (0, BUY, 0, 0.0, None), int(size_usd / 70.0 * 2.5)  # 100 a lot of 0.7: 2.5 levels
    flow = [quiet] + [step for side in sweeps for step in [(0, side, lots, 0.0, None), quiet, quiet]]
    differences, clamped, markets = run_side_by_side(3, [params], flow)
    assert differences == []
    assert clamped == {BUY: 0, SELL: 0}
    venue = markets[1].venue
    if refused is None:
        assert venue.rejections == {}
        assert venue.orders_received == 8 + refills + len(sweeps)  # the ladder, the refills and the sweeps
    else:
        assert venue.rejections[refused] > 0


def run_side_by_side(seed: int, params: list[dict], flow: list[tuple]) -> tuple[list, dict[int, int], list]:
    """Drive the same makers through `maker_act` and `MarketMaker.act` in two markets, comparing after every
    step. Returns the differences found (step, what differs), how many refill prices the touch clamped
    on each side (counted on the Python side), and the two markets (compiled, Python)."""
    clamped = {BUY: 0, SELL: 0}
    differences = []
    original = MarketMaker.refill

    def counting_refill(self, asset, mid):
        book = self.model.venue.books[asset]
        before = [(q[1], q[2]) for q in self.quotes[asset] if q[0] not in book.resting_ids]
        bid, ask = book.best_bid(), book.best_ask()
        for side, offset in before:
            price = mid * (1.0 + offset * 1e-4) / book.tick_size
            clamped[side] += (side == BUY and ask is not None and price >= ask) or (
                side == SELL and bid is not None and price <= bid)
        original(self, asset, mid)

    markets = [Market(seed) for _ in range(2)]
    makers = [[MarketMaker(m, account, **p) for account, p in enumerate(params, start=1)] for m in markets]
    for mm in makers[1]:
        del mm.act  # the class's Python method
        mm.refill = MethodType(counting_refill, mm)
    assert all(mm.act.__func__ is market_maker_native.maker_act and mm.compiled.live for mm in makers[0])
    assert all(mm.act.__func__ is MarketMaker.act and not mm.compiled.live for mm in makers[1])
    taker = len(params) + 1
    for step, (asset, side, lots, spot_move, ticks_inside) in enumerate(flow, start=1):
        for m, mms in zip(markets, makers):
            m.now = float(step)
            m.fundamental[asset] *= 1.0 + spot_move
            (market_maker_native if mms is makers[0] else market_maker).act_all(mms, [mm.compiled for mm in mms])
            book = m.venue.books[asset]
            touch = book.best_bid() if side == BUY else book.best_ask()
            if lots and ticks_inside is None:
                m.venue.market(taker, asset, side, lots)
            elif lots and touch is not None:  # a limit order near the touch: the makers' refills must not cross it
                m.venue.limit(taker, asset, side, touch + side * ticks_inside, lots)
        if venue_state(markets[0].venue) != venue_state(markets[1].venue):
            differences.append((step, "venue"))
        for k, (compiled, python) in enumerate(zip(*makers)):
            if [getattr(compiled, key) for key in STATE] != [getattr(python, key) for key in STATE]:
                differences.append((step, f"maker {k}"))
    return differences, clamped, markets


def test_only_a_plain_market_maker_on_the_compiled_kernels_binds_it():
    args = ([0], 1_000.0, 2, 1.0, 5.0, 1.0, 0.0, 1e9, 30.0, 3.0)

    class Shy(MarketMaker):  # a subclass may override what the compiled step replaces
        def reference_mid(self, asset: int) -> float:
            return super().reference_mid(asset) * 0.999

    m = Market(1)
    assert MarketMaker(m, 1, *args).act.__func__ is market_maker_native.maker_act
    assert Shy(m, 2, *args).act.__func__ is Shy.act
    assert MarketMaker(Market(1, kind="python"), 1, *args).act.__func__ is MarketMaker.act


def test_the_compiled_loop_follows_what_is_done_to_a_maker():
    """A changed parameter is read at the next step; a replaced ``act`` or a dropped `MakerState` sends the
    compiled loop through ``act``, as the Python loop does; a removed attribute the step reads is an error."""
    m = Market(5)
    args = ([0], 1_000.0, 2, 1.0, 5.0, 1.0, 0.0, 1e9, 30.0, 3.0)
    makers = [MarketMaker(m, account, *args) for account in (1, 2, 3)]
    states = [mm.compiled for mm in makers]  # listed once, as the model does
    market_maker_native.act_all(makers, states)
    quoted = [mm.quoted_at[0] for mm in makers]
    m.now = 1.0
    makers[0].requote_every = 1.0  # due now: requotes at this step
    calls = []
    makers[1].act = lambda: calls.append("override")
    makers[2].compiled = None  # the maker's own `maker_act` still runs, from a fresh read of it
    makers[2].requote_every = 0.5
    market_maker_native.act_all(makers, states)
    assert makers[0].compiled.live and makers[0].quoted_at[0] == (1.0, makers[0].centre[0]) != quoted[0]
    assert calls == ["override"] and not makers[1].compiled.live and makers[1].quoted_at[0] == quoted[1]
    assert makers[2].quoted_at[0][0] == 1.0
    makers[1].act = lambda: calls.append("again")
    m.now = 2.0  # both other makers are due to requote
    market_maker_native.act_all(makers[::-1], states)  # a list reordered since: each maker steps itself
    assert calls == ["override", "again"] and makers[0].quoted_at[0][0] == makers[2].quoted_at[0][0] == 2.0
    del makers[0].refill_every
    assert not makers[0].compiled.live
    with pytest.raises(AttributeError):
        market_maker_native.act_all(makers, states)


@pytest.mark.parametrize("name, requote_bps", [("reference_mid", 1e9), ("refill", 1e9), ("requote", 0.1),
                                               ("stress", 0.1), ("position_usd", 0.1)])
def test_a_maker_given_its_own_method_steps_through_it(name, requote_bps):
    """The compiled step does the work of some of the maker's methods: a maker that has one of its own steps
    through the class's Python ``act``, which calls it; without it again, the compiled step does the work.
    (Each sweep moves the mid: with a small ``requote_bps`` the maker requotes, else it refills.)"""
    m = Market(5)
    mm = MarketMaker(m, 1, [0], 1_000.0, 2, 1.0, 5.0, 1.0, 0.0, 1e9, 1e9, requote_bps, refill_every=1.0)
    market_maker_native.act_all([mm], [mm.compiled])  # the first ladder
    calls = []
    original = getattr(mm, name)

    def own(*args):
        calls.append(args)
        return original(*args)

    setattr(mm, name, own)
    m.venue.market(3, 0, BUY, 28)  # the asks go: the mid moves, and refills come due
    m.now = 2.0
    market_maker_native.act_all([mm], [mm.compiled])
    assert calls and mm.compiled.live
    delattr(mm, name)
    before = len(calls)
    m.venue.market(3, 0, BUY, 28)
    m.now = 4.0
    market_maker_native.act_all([mm], [mm.compiled])
    assert len(calls) == before and mm.compiled.live


def test_refill_ticks_round_as_python_floor_division_does():
    """A sell level put back at exactly 100.4 on a 0.1 tick: Python's ``-(-100.4 // 0.1)`` is 1005 where C's
    ``floor`` gives 1004; and a buy level far below the book goes to tick 1, not 0."""
    params = dict(assets=[0], size_usd=300.0, levels=1, first_bps=1.0, spacing_bps=1.0, size_growth=1.0,
                  skew_bps=0.0, max_inventory_usd=1e9, requote_every=1e9, requote_bps=1e9, refill_every=1.0,
                  mid_weight=0.0)  # the centre stays where it is put: the refill's mid is exactly 100.0
    markets = [Market(2) for _ in range(2)]
    makers = [MarketMaker(m, 1, **params) for m in markets]
    del makers[1].act  # the class's Python method
    for m, mm in zip(markets, makers):
        m.now = 5.0
        mm.centre[0], mm.quoted_at[0], mm.refilled_at[0] = 100.0, (5.0, 100.0), 0.0
        mm.quotes[0] = [[10**9, SELL, 40.0, 3], [10**9 + 1, BUY, -9_999.0, 3]]  # neither rests: both come back
        (market_maker_native if mm is makers[0] else market_maker).act_all([mm], [mm.compiled])
    assert markets[1].venue.books[0].resting(SELL) == [(1, 1, 1005, 3)]
    assert markets[1].venue.books[0].resting(BUY) == [(2, 1, 1, 3)]
    assert venue_state(markets[0].venue) == venue_state(markets[1].venue)
    assert [getattr(makers[0], key) for key in STATE] == [getattr(makers[1], key) for key in STATE]


@pytest.mark.parametrize("vol_exponent, spot, capped", [(0.5, 1.0, False), (1.0, 1.0, False), (2.0, 1.0, True),
                                                        (0.0, 1.02, True)])
def test_a_stress_from_recent_volatility_is_the_same_compiled(vol_exponent, spot, capped):
    """The recorded tape turns wild in its last records: the makers' stress takes the volatility term (up to
    the threefold cap on the ratio and on the stress), and the compiled requote quotes as the Python one.
    Without that term, a centre pulled 2% from the last price by the index stresses them to the cap too."""
    import numpy as np

    last = np.full((21, 2), 100.0)
    last[1::2] = 100.1  # a calm tape ...
    last[-3:, :] = [[104.0, 52.0], [99.0, 49.0], [105.0, 53.0]]  # ... that turns wild
    params = dict(assets=[0, 1], size_usd=2_000.0, levels=3, first_bps=2.0, spacing_bps=5.0, size_growth=1.1,
                  skew_bps=0.0, max_inventory_usd=1e9, requote_every=1e9, requote_bps=1e9, stress_bps=40.0,
                  vol_exponent=vol_exponent, vol_horizon=180.0, vol_reference=1_200.0, index_weight=1.0)
    markets = [Market(4) for _ in range(2)]
    makers = [MarketMaker(m, 1, **params) for m in markets]
    del makers[1].act  # the class's Python method
    for m, mm in zip(markets, makers):
        m.recorder = SimpleNamespace(n=len(last), data={"last": last})
        m.fundamental *= spot
        m.now = 1.0
        (market_maker_native if mm is makers[0] else market_maker).act_all([mm], [mm.compiled])
    for stress in makers[1].stress_now.values():
        assert stress == 3.0 if capped else 1.5 < stress < 3.0
    assert venue_state(markets[0].venue) == venue_state(markets[1].venue)
    assert [getattr(makers[0], key) for key in STATE] == [getattr(makers[1], key) for key in STATE]
