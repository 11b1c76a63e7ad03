"""The desks' compiled activations against their Python originals, activation by activation.

Two identical markets (same seed, both venues on the compiled kernels) get the
same fundamentalists, beta traders, basis traders or leveraged speculators; in
one they act through `agents.traders_native` (`fundamentalist_act`, `beta_act`,
`basis_act`, `speculator_act`), in the other through their Python ``act``.
Between activations a taker trades, spot moves, the funding premium, the clock
and the desks' sentiment change, the same in both, so the desks' gaps,
positions, rates, stops and holding times vary. After every activation the
venue, the desks' own state and the model's random generator must be the same.
"""

from __future__ import annotations

import math
import random
from functools import partial
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.arbitrage import BasisTrader, BetaTrader
from agents.exchange.book import BUY, SELL
from agents.exchange.native import BUILT, traders_native
from agents.speculator import LeveragedSpeculator
from agents.traders import Fundamentalist
from tests.stub_market import N_TRADERS, Market, attempt, same_markets

pytestmark = pytest.mark.skipif(not BUILT, reason="compiled kernels not built")

TAKER = N_TRADERS - 1  # the desks are accounts 1 and 2
ASSETS = st.sampled_from([[0], [1], [0, 1]])
COMMON = {"size_usd": st.floats(1.0, 5_000.0), "market_prob": st.floats(0.0, 1.0),
          "max_position_usd": st.sampled_from([0.0, 300.0, 3_000.0, 1e5])}
DESKS = {
    "fundamentalist": (Fundamentalist, "fundamentalist_act", st.fixed_dictionaries(
        {"assets": ASSETS, "threshold_bps": st.floats(0.1, 300.0), **COMMON})),
    "beta": (BetaTrader, "beta_act", st.fixed_dictionaries(
        {"assets": ASSETS, "betas": st.tuples(st.just(1.0), st.floats(0.5, 3.0)).map(list),
         "beta_noise": st.floats(0.5, 1.5), "threshold_bps": st.floats(0.1, 60.0), **COMMON})),
    "basis": (BasisTrader, "basis_act", st.fixed_dictionaries(
        {**COMMON, "assets": ASSETS, "full_rate": st.floats(5e-4, 3e-3) | st.floats(1e-5, 1e-2),
         "max_position_usd": st.sampled_from([300.0, 3_000.0])})),  # rates of ±0.15%: targets inside the limit
    "speculator": (LeveragedSpeculator, "speculator_act", st.fixed_dictionaries(
        {"assets": ASSETS, "size_usd": st.floats(100.0, 20_000.0), "long_prob": st.floats(0.0, 1.0),
         "entry_market_prob": st.floats(0.0, 1.0),
         "stop_bps": st.floats(5.0, 40.0) | st.floats(5.0, 500.0) | st.just(math.nan),  # near: stops fire
         "stop_levels": st.none() | st.tuples(*(st.floats(0.9 * p, 1.1 * p) | st.sampled_from([math.inf, math.nan])
                                                for p in (100.0, 50.0))).map(list),  # near each start price
         "stop_beyond_bps": st.floats(0.0, 50.0), "stop_window": st.floats(10.0, 600.0),
         "take_profit_bps": st.floats(2.0, 30.0) | st.floats(5.0, 500.0), "holding_s": st.floats(1.0, 60.0) | st.floats(600.0, 3600.0),
         "stop_sides": st.sampled_from([0, 1, -1])})),
}
BEHAVIOUR = st.builds(SimpleNamespace, side_weight=st.floats(0.0, 0.5), conviction=st.sampled_from([0.0, 0.3]),
                      leverage_weight=st.floats(0.0, 2.0), size_weight=st.floats(0.0, 2.0),
                      capitulation=st.floats(0.1, 1.0))
TURN = st.tuples(
    st.integers(0, 1),  # which desk acts
    st.none() | st.tuples(st.integers(0, 1), st.sampled_from([BUY, SELL]), st.integers(1, 150)),  # the taker's order
    st.floats(-0.03, 0.03),  # spot's move
    st.floats(-0.002, 0.002),  # the premium averaged so far
    st.floats(0.0, 30.0),  # seconds since the last activation
    st.floats(-1.0, 1.0),  # the desks' sentiment
)


@pytest.mark.parametrize("kind", sorted(DESKS))
@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), sides=st.sampled_from([(BUY, SELL), (BUY,), (SELL,)]),
       behaviour=BEHAVIOUR, leverage=st.floats(1.0, 200.0), turns=st.lists(TURN, min_size=10, max_size=40))
def test_compiled_activation_is_the_python_one(kind, data, seed, sides, behaviour, leverage, turns):
    cls, compiled, params = DESKS[kind]
    params = data.draw(st.lists(params, min_size=1, max_size=2))
    markets = [Market(seed) for _ in range(2)]
    desks = []
    for m in markets:
        m.behaviour = behaviour
        m.recent_range = partial(_recent_range, m)
        m.venue.ledger.leverage[1:TAKER] = leverage  # the speculators' base leverage (capped at the tier's)
        for asset in (0, 1):
            m.quote(asset, sides)
        desks.append([cls(m, account, **p) for account, p in enumerate(params, start=1)])
    for desk in desks[1]:
        del desk.act  # the class's Python method
    assert all(d.act.__func__ is getattr(traders_native, compiled) for d in desks[0])
    assert all(d.act.__func__ is cls.act for d in desks[1])
    for who, take, move, premium, dt, mood in turns:
        outcomes = []
        for m, ds in zip(markets, desks):
            m.now += dt
            m.sentiment[1:TAKER] = mood
            m.fundamental *= 1.0 + move
            m.venue.funding.premium_sum[:] = premium
            m.venue.funding.samples = 1
            if take is not None:
                m.venue.market(TAKER, *take)
            outcomes.append(attempt(ds[who % len(ds)].act))
        assert outcomes[0] == outcomes[1]
        assert same_markets(*markets)
        assert [_state(d) for d in desks[0]] == [_state(d) for d in desks[1]]


@pytest.mark.parametrize("gone", ["stop", "take-profit"])
def test_a_speculator_puts_back_a_stop_or_take_profit_that_went(gone):
    """A position whose stop or take-profit has gone (cancelled here; in a run, fired or filled while the
    position stayed): the next activation puts it back, compiled as in Python."""
    markets = [Market(11) for _ in range(2)]
    desks = []
    for m in markets:
        m.behaviour = SimpleNamespace(side_weight=0.0, conviction=0.0, leverage_weight=0.0, size_weight=0.0,
                                      capitulation=1.0)
        m.quote(0, (BUY, SELL))
        desks.append(LeveragedSpeculator(m, 1, [0], 2_000.0, 1.0, 1.0, 50.0, None, 0.0, 60.0, 80.0, 1e9))
    del desks[1].act  # the class's Python method
    for m, desk in zip(markets, desks):
        desk.act()  # opens at market, long
        desk.act()  # places the stop and the take-profit
        assert m.venue.ledger.position[1, 0] > 0 and desk.stop_id[0] in m.venue.stops[0].stops
        if gone == "stop":
            m.venue.cancel_stop(0, desk.stop_id[0])
        else:
            m.venue.cancel(0, desk.tp_order[0])
        before = (dict(m.venue.stops[0].stops), desk.tp_order[0])
        desk.act()
        assert (dict(m.venue.stops[0].stops), desk.tp_order[0]) != before  # put back
    assert same_markets(*markets)
    assert _state(desks[0]) == _state(desks[1])


def _recent_range(m: Market, asset: int, window_s: float) -> tuple[float, float]:
    """A range around the last price that widens with the window (the stub's own is the last price twice)."""
    last = m.venue.last_price(asset)
    return last * (1.0 - window_s * 1e-5), last * (1.0 + window_s * 2e-5)


def _state(desk) -> list:
    """What a desk keeps between activations (a fundamentalist's order, a speculator's orders and clocks)."""
    return [vars(desk).get(key) for key in ("order", "entry_order", "stop_id", "tp_order", "close_at")]


def test_only_a_plain_desk_on_the_compiled_kernels_binds_it():
    class Patient(Fundamentalist):  # a subclass may override a helper, which the compiled act would not call
        def lean_toward(self, *args, **kwargs):
            return None

    m, on_python = Market(1), Market(1, kind="python")
    args = ([0], 100.0, 20.0, 0.5, 1e4)
    assert Fundamentalist(m, 1, *args).act.__func__ is traders_native.fundamentalist_act
    assert Patient(m, 2, *args).act.__func__ is Patient.act
    assert Fundamentalist(on_python, 1, *args).act.__func__ is Fundamentalist.act
    assert BetaTrader(m, 1, [0, 1], 100.0, [1.0, 1.5], 1.0, 20.0, 0.5, 1e4).act.__func__ is traders_native.beta_act
    assert BasisTrader(m, 2, [0, 1], 100.0, 3e-4, 1e4, 0.5).act.__func__ is traders_native.basis_act
    speculator = ([0, 1], 1_000.0, 0.5, 0.5, 100.0, None, 0.0, 60.0, 200.0, 3600.0)
    assert LeveragedSpeculator(m, 1, *speculator).act.__func__ is traders_native.speculator_act

    class Drawn(random.Random):  # another generator's draws are not the ones the compiled code rebuilds
        pass

    m.random = Drawn(1)
    assert Fundamentalist(m, 1, *args).act.__func__ is Fundamentalist.act
    assert LeveragedSpeculator(m, 1, *speculator).act.__func__ is LeveragedSpeculator.act
