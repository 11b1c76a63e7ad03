"""The desks' compiled activations against their Python originals, activation by activation.

Two identical markets (same seed, both venues on the compiled kernels) get the
same fundamentalists, beta traders or basis traders; in one they act through
`agents.traders_native` (`fundamentalist_act`, `beta_act`, `basis_act`), in the
other through their Python ``act``. Between activations a taker trades, spot
moves and the funding premium changes, the same in both, so the desks' gaps,
positions and rates vary. After every activation the venue, the desks' own
state and the model's random generator must be the same.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.arbitrage import BasisTrader, BetaTrader
from agents.exchange.book import BUY, SELL
from agents.exchange.native import BUILT, traders_native
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
}
TURN = st.tuples(
    st.integers(0, 1),  # which desk acts
    st.none() | st.tuples(st.integers(0, 1), st.sampled_from([BUY, SELL]), st.integers(1, 60)),  # the taker's order
    st.floats(-0.03, 0.03),  # spot's move
    st.floats(-0.002, 0.002),  # the premium averaged so far
)


@pytest.mark.parametrize("kind", sorted(DESKS))
@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), sides=st.sampled_from([(BUY, SELL), (BUY,), (SELL,)]),
       turns=st.lists(TURN, min_size=1, max_size=30))
def test_compiled_activation_is_the_python_one(kind, data, seed, sides, turns):
    cls, compiled, params = DESKS[kind]
    params = data.draw(st.lists(params, min_size=1, max_size=2))
    markets = [Market(seed) for _ in range(2)]
    desks = []
    for m in markets:
        for asset in (0, 1):
            m.quote(asset, sides)
        desks.append([cls(m, account, **p) for account, p in enumerate(params, start=1)])
    for desk in desks[1]:
        del desk.act  # the class's Python method
    assert all(d.act.__func__ is getattr(traders_native, compiled) for d in desks[0])
    assert all(d.act.__func__ is cls.act for d in desks[1])
    for who, take, move, premium in turns:
        outcomes = []
        for m, ds in zip(markets, desks):
            m.fundamental *= 1.0 + move
            m.venue.funding.premium_sum[:] = premium
            m.venue.funding.samples = 1
            if take is not None:
                m.venue.market(TAKER, *take)
            outcomes.append(attempt(ds[who % len(ds)].act))
        assert outcomes[0] == outcomes[1]
        assert same_markets(*markets)
        assert [vars(d).get("order") for d in desks[0]] == [vars(d).get("order") for d in desks[1]]


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
