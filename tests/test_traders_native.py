"""A noise trader's compiled activation against its Python original, activation by activation.

Two identical markets (same seed, both venues on the compiled kernels) get the
same noise traders; in one they act through the compiled `noise_act`, in the
other through `NoiseTrader.act`. After every activation everything must be the
same: the venue (books, tapes, ledger, registries, counters), the traders'
resting orders and the state of the model's random generator, so every draw
was the same draw. A whole scaled event on both kernels is in tests/test_native.py.
"""

from __future__ import annotations

import math
import random
from functools import partial
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.book import BUY, SELL
from agents.exchange.native import BUILT, traders_native
from agents.traders import NoiseTrader
from model.population import act_each
from model.sentiment import acted_on
from tests.stub_market import N_TRADERS, Market, attempt, same_markets

pytestmark = pytest.mark.skipif(not BUILT, reason="compiled kernels not built")

TRADER = st.fixed_dictionaries({
    "assets": st.sampled_from([[0], [1], [0, 1]]),
    "size_usd": st.floats(1.0, 5_000.0),
    "market_prob": st.floats(0.0, 1.0),
    "offset_bps": st.floats(0.5, 80.0),
    "max_orders": st.integers(0, 3),
    "offset_alpha": st.sampled_from([0.0, 0.8, 1.5, 0.01]),  # 0.01: the offset's draw can overflow
    "max_offset_bps": st.floats(1.0, 500.0),
    "size_alpha": st.sampled_from([0.0, 1.0, 1.3, 2.5]),
    "max_size_factor": st.sampled_from([0.5, 3.0, 50.0, math.inf]),
    "attention": st.sampled_from([0.0, 0.0, 1.0]),
    "attention_base": st.floats(0.0, 1.0),
})


@pytest.mark.parametrize("per_step", [1, 4], ids=["alone", "in steps"])
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), params=st.lists(TRADER, min_size=1, max_size=N_TRADERS - 1),
       sentiment=st.lists(st.floats(-1.0, 1.0), min_size=N_TRADERS, max_size=N_TRADERS), side_weight=st.floats(0.0, 1.0), conviction=st.sampled_from([0.0, 0.3]),
       sides=st.sampled_from([(BUY, SELL), (BUY,), (SELL,), ()]),
       turns=st.lists(st.integers(0, N_TRADERS - 2), min_size=1, max_size=40))
def test_compiled_activation_is_the_python_one(per_step, seed, params, sentiment, side_weight, conviction, sides,
                                              turns):
    """One at a time through ``act``, or several a step through `act_each` (compiled: one `Step` for them all)."""
    markets = [Market(seed, sentiment, side_weight, conviction) for _ in range(2)]
    traders = []
    for m in markets:
        for asset in (0, 1):
            m.quote(asset, sides)  # one side or none: orders rest at the last price, or find no liquidity
        traders.append([NoiseTrader(m, account, **p) for account, p in enumerate(params, start=1)])
    for t in traders[1]:
        del t.act  # the class's Python method
    assert all(t.act.__func__ is traders_native.noise_act and t.compiled is not None for t in traders[0])
    assert all(t.act.__func__ is NoiseTrader.act for t in traders[1])
    turns = [t for t in turns if t < len(params)]
    for first in range(0, len(turns), per_step):
        step = turns[first:first + per_step]
        if first % 3 == 2:  # retune a trader: the compiled activation must follow its attributes
            for ts in traders:
                ts[step[0]].market_prob = 1.0 - ts[step[0]].market_prob
                ts[step[0]].max_orders = (ts[step[0]].max_orders + 1) % 4
        outcomes = [attempt(ts[step[0]].act if per_step == 1 else
                            partial(loop, SimpleNamespace(made=ts, compiled=[t.compiled for t in ts]), step))
                    for ts, loop in zip(traders, (traders_native.act_each, act_each))]
        assert outcomes[0] == outcomes[1]
        assert same_markets(*markets)
        assert [list(t.orders) for t in traders[0]] == [list(t.orders) for t in traders[1]]


def test_only_a_plain_noise_trader_on_the_compiled_kernels_binds_it():
    m = Market(1, [0.0] * N_TRADERS, 0.5, 0.0)

    class Contrarian(NoiseTrader):  # a subclass may override a helper, which the compiled act would not call
        def choose_side(self) -> int:
            return -super().choose_side()

    plain = NoiseTrader(m, 1, [0], 100.0, 0.5, 10.0, 1)
    assert plain.act.__func__ is traders_native.noise_act and plain.compiled.trader is plain
    contrarian = Contrarian(m, 2, [0], 100.0, 0.5, 10.0, 1)
    assert contrarian.act.__func__ is Contrarian.act and contrarian.compiled is None
    on_python = Market(1, [0.0] * N_TRADERS, 0.5, 0.0, kind="python")
    python = NoiseTrader(on_python, 1, [0], 100.0, 0.5, 10.0, 1)
    assert python.act.__func__ is NoiseTrader.act and python.compiled is None


def outcome(draw, *args):
    """A draw's value, or the error it raised."""
    try:
        return draw(*args)
    except ArithmeticError as exc:
        return type(exc).__name__, exc.args


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n=st.integers(1, 70), alpha=st.floats(0.005, 20.0),
       s=st.floats(-1.0, 1.0), conviction=st.floats(0.0, 0.99))
def test_draws_and_conviction_are_cpythons_to_the_last_bit(seed, n, alpha, s, conviction):
    """The compiled ``randrange``, ``expovariate``, ``paretovariate`` and `acted_on` against CPython's own
    (a tiny ``alpha`` overflows, and must raise as ``float ** float`` does)."""
    ours, theirs = random.Random(seed), random.Random(seed)
    for _ in range(5):
        assert traders_native.randbelow(ours, n) == theirs.randrange(n)
        assert traders_native.expovariate(ours.random) == theirs.expovariate(1.0)
        assert outcome(traders_native.paretovariate, ours.random, alpha) == outcome(theirs.paretovariate, alpha)
    assert ours.getstate() == theirs.getstate()
    assert math.copysign(1.0, traders_native.acted_on(s, conviction)) == math.copysign(1.0, acted_on(s, conviction))
    assert traders_native.acted_on(s, conviction) == acted_on(s, conviction)


def test_the_compiled_loop_follows_what_is_done_to_a_trader():
    """A replaced or removed ``act``, a dropped `NoiseState` or a removed attribute: the compiled loop then
    runs the trader's ``act``, as the Python loop does."""
    m = Market(3, [0.0] * N_TRADERS, 0.5, 0.0)
    for asset in (0, 1):
        m.quote(asset, (BUY, SELL))
    traders = [NoiseTrader(m, account, [0], 100.0, 0.5, 10.0, 2) for account in (1, 2, 3)]
    roster = SimpleNamespace(made=traders, compiled=[t.compiled for t in traders])
    calls = []
    traders[0].act = lambda: calls.append("override")
    traders_native.act_each(roster, [0, 0])
    assert calls == ["override", "override"] and not roster.compiled[0].live
    del traders[0].act  # the class's Python method
    before = m.venue.orders_received
    traders_native.act_each(roster, [0])
    assert m.venue.orders_received == before + 1 and calls == ["override", "override"]
    traders[1].compiled = None  # the roster's copy is no longer run; act() still works
    assert not roster.compiled[1].live
    traders_native.act_each(roster, [1])
    traders[1].act()
    assert m.venue.orders_received == before + 3
    del traders[2].max_orders
    assert not roster.compiled[2].live
    with pytest.raises(AttributeError):
        traders_native.act_each(roster, [2])
    with pytest.raises(AttributeError):
        act_each(roster, [2])
