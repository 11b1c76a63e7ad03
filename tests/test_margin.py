"""Tests for agents.exchange.margin (pure margin maths)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.margin import (
    BINANCE_BTCUSDT,
    TierTable,
    apply_fill,
    bankruptcy_price,
    equity,
    initial_margin,
    liquidation_price,
    liquidation_price_one,
    maintenance_margin,
    maintenance_margin_one,
    unrealized_pnl,
)

FAST = settings(max_examples=200, deadline=None)


# ---------------------------------------------------------------- known values


def test_binance_cum_column_by_hand() -> None:
    expected = [
        0,
        300,  # 300k * 0.1%
        1_500,  # + 800k * 0.15%
        12_000,  # + 3M * 0.35%
        132_000,  # + 12M * 1%
        482_000,  # + 70M * 0.5%
        2_982_000,  # + 100M * 2.5%
        14_482_000,  # + 230M * 5%
        26_482_000,  # + 480M * 2.5%
        41_482_000,  # + 600M * 2.5%
        121_482_000,  # + 800M * 10%
        421_482_000,  # + 1.2B * 25%
    ]
    np.testing.assert_allclose(BINANCE_BTCUSDT.cum, expected, rtol=1e-12)


def test_tier_index_bands_and_max_leverage() -> None:
    t = BINANCE_BTCUSDT
    assert t.tier_index(0.0) == 0
    assert t.tier_index(300_000) == 0  # caps are inclusive
    assert t.tier_index(300_000.01) == 1
    assert t.tier_index(-5e6) == 3  # |notional|
    assert t.tier_index(1e12) == 11
    np.testing.assert_array_equal(t.tier_index(np.array([1.0, 5e5, 2e9])), [0, 1, 11])
    assert t.max_leverage_for(1e5) == 150
    assert t.max_leverage_for(5e6) == 50
    np.testing.assert_array_equal(t.max_leverage_for(np.array([1e5, 1e9])), [150, 2])


def test_maintenance_margin_is_continuous_at_caps() -> None:
    t = BINANCE_BTCUSDT
    for cap in t.caps[:-1]:
        below = maintenance_margin(1.0, cap, t)
        above = maintenance_margin(1.0, cap * (1 + 1e-12), t)
        assert above == pytest.approx(below, rel=1e-9)
    assert maintenance_margin(0.0, 60_000, t) == 0.0
    assert maintenance_margin(-10, 60_000, t) == pytest.approx(600_000 * 0.005 - 300)


@pytest.mark.parametrize("leverage", [1.5, 5, 20, 100, 150])
def test_tier0_closed_forms(leverage: float) -> None:
    ep, qty, mmr = 60_000.0, 0.01, 0.004
    wb = initial_margin(qty, ep, leverage)
    assert liquidation_price(qty, ep, wb, BINANCE_BTCUSDT) == pytest.approx(
        ep * (1 - 1 / leverage) / (1 - mmr), rel=1e-12
    )
    assert liquidation_price(-qty, ep, wb, BINANCE_BTCUSDT) == pytest.approx(
        ep * (1 + 1 / leverage) / (1 + mmr), rel=1e-12
    )
    assert bankruptcy_price(qty, ep, wb) == pytest.approx(ep * (1 - 1 / leverage), rel=1e-12)
    assert bankruptcy_price(-qty, ep, wb) == pytest.approx(ep * (1 + 1 / leverage), rel=1e-12)


def test_liquidation_price_higher_tiers_by_hand() -> None:
    # 100 BTC long at 60k, 10x: LP notional ~5.4M -> tier 4 (mmr 1%, cum 12k).
    lp = liquidation_price(100, 60_000, 600_000, BINANCE_BTCUSDT)
    assert lp == pytest.approx((600_000 + 12_000 - 6_000_000) / (100 * 0.01 - 100), rel=1e-12)
    # 55 BTC long at 60k (3.3M, tier 4 at entry), 10x. The tier-4 line would
    # give LP ~54325.05 (notional < 3M, inconsistent); the true LP is in tier 3.
    lp = liquidation_price(55, 60_000, 330_000, BINANCE_BTCUSDT)
    assert lp == pytest.approx((330_000 + 1_500 - 3_300_000) / (55 * 0.0065 - 55), rel=1e-12)
    assert 800_000 < 55 * lp <= 3_000_000


def test_edge_cases() -> None:
    t = BINANCE_BTCUSDT
    assert math.isnan(liquidation_price(0.0, 0.0, 0.0, t))
    assert math.isnan(bankruptcy_price(0.0, 0.0, 0.0))
    # Fully collateralised long (1x) never liquidates at a positive price.
    assert liquidation_price(1.0, 60_000, 60_000, t) == 0.0
    assert liquidation_price(1.0, 60_000, 90_000, t) == 0.0
    assert bankruptcy_price(1.0, 60_000, 90_000) == 0.0
    out = liquidation_price(np.array([0.0, 1.0, -1.0]), 60_000, 6_000, t)
    assert math.isnan(out[0]) and out[1] > 0 and out[2] > 60_000
    assert unrealized_pnl(-2, 100, 90) == 20
    assert equity(50, -2, 100, 90) == 70


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [(100, 0.01)],
        [(100, 0.01, 10), (100, 0.02, 5), (np.inf, 0.03, 2)],  # caps not strictly ascending
        [(200, 0.01, 10), (100, 0.02, 5), (np.inf, 0.03, 2)],  # caps descending
        [(-5, 0.01, 10), (np.inf, 0.02, 5)],  # cap <= 0
        [(100, 0.01, 10), (200, 0.02, 5)],  # last cap not inf
        [(100, 0.0, 10), (np.inf, 0.02, 5)],  # mmr == 0
        [(100, 0.01, 10), (np.inf, 1.0, 1)],  # mmr == 1
        [(100, 0.02, 10), (np.inf, 0.01, 5)],  # mmr decreasing
        [(100, 0.01, 10), (np.inf, 0.02, 20)],  # max leverage increasing
        [(100, 0.01, 10), (np.inf, 0.02, 0.5)],  # max leverage < 1
        [(100, 0.2, 10), (np.inf, 0.3, 2)],  # mmr >= 1/max_leverage
        [(100, float("nan"), 10), (np.inf, 0.3, 2)],
        [("abc", 0.01, 10)],
    ],
)
def test_from_rows_rejects_bad_tables(rows: list) -> None:
    with pytest.raises(ValueError):
        TierTable.from_rows(rows)


# ----------------------------------------------------- liquidation properties


@st.composite
def tier_tables(draw: st.DrawFn) -> TierTable:
    n = draw(st.integers(1, 7))
    first = draw(st.floats(1e2, 1e8))
    growth = draw(st.lists(st.floats(1.01, 20.0), min_size=n - 1, max_size=n - 1))
    caps = [first]
    for g in growth:
        caps.append(caps[-1] * g)
    caps = caps[: n - 1] + [np.inf]
    mmr = sorted(draw(st.lists(st.floats(1e-4, 0.5), min_size=n, max_size=n)))
    lev, prev = [], np.inf
    for m in mmr:
        # Below 1/mmr, >= 1 (as mmr <= 0.5), non-increasing.
        prev = min(prev, (1 / m) * draw(st.floats(0.5, 0.999)))
        lev.append(prev)
    return TierTable.from_rows(list(zip(caps, mmr, lev)))


@st.composite
def isolated_positions(draw: st.DrawFn) -> tuple[TierTable, float, float, float]:
    """(table, signed position, entry, wallet = initial margin at a legal leverage)."""
    table = draw(tier_tables())
    entry = draw(st.floats(1.0, 1e6))
    if len(table.caps) > 1 and draw(st.booleans()):
        # Near a tier edge, where the tier at LP often differs from the one at entry.
        cap = draw(st.sampled_from(table.caps[:-1].tolist()))
        notional = cap * draw(st.floats(0.7, 1.5))
    else:
        notional = 10 ** draw(st.floats(-2.0, 11.0))
    qty = notional / entry
    max_lev = float(table.max_leverage_for(notional))
    # Log-uniform in (1, max_lev]; L == 1 (LP clipped to 0) is covered in test_edge_cases.
    leverage = max_lev ** draw(st.floats(0.02, 1.0))
    side = draw(st.sampled_from([1.0, -1.0]))
    return table, side * qty, entry, initial_margin(qty, entry, leverage)


@FAST
@given(isolated_positions())
def test_equity_equals_mm_at_liquidation_price(case: tuple) -> None:
    table, pos, ep, wb = case
    lp = liquidation_price(pos, ep, wb, table)
    assert lp >= 0 and math.isfinite(lp)
    gap = equity(wb, pos, ep, lp) - maintenance_margin(pos, lp, table)
    # Relative to the larger of the position notional at entry and at LP: every
    # term in the computation is bounded by that, so it is the rounding scale.
    scale = abs(pos) * max(ep, lp)
    if lp == 0.0:
        # Long clipped at 0: it is still safe (equity >= MM) all the way down.
        assert pos > 0 and gap >= -1e-9 * scale
    else:
        assert abs(gap) <= 1e-9 * scale


@FAST
@given(isolated_positions(), st.floats(1e-6, 1e-2))
def test_liquidation_price_separates_safe_and_liquidated(case: tuple, rel_step: float) -> None:
    table, pos, ep, wb = case
    s = math.copysign(1.0, pos)
    lp = liquidation_price(pos, ep, wb, table)
    step = rel_step * max(ep, lp)

    def gap(price: float) -> float:
        return equity(wb, pos, ep, price) - maintenance_margin(pos, price, table)

    assert gap(lp + s * step) > 0  # safe side: above LP for a long, below for a short
    beyond = lp - s * step
    if beyond > 0:
        assert gap(beyond) < 0


@FAST
@given(st.lists(isolated_positions(), min_size=1, max_size=8))
def test_liquidation_price_vectorised_matches_scalar(cases: list) -> None:
    table = cases[0][0]
    pos = np.array([c[1] for c in cases] + [0.0])
    ep = np.array([c[2] for c in cases] + [0.0])
    wb = np.array([c[3] for c in cases] + [0.0])
    vec = liquidation_price(pos, ep, wb, table)
    scal = [liquidation_price(p, e, w, table) for p, e, w in zip(pos, ep, wb)]
    np.testing.assert_array_equal(vec, scal)
    np.testing.assert_array_equal(
        maintenance_margin(pos, ep, table), [maintenance_margin(p, e, table) for p, e in zip(pos, ep)]
    )


# ------------------------------------------------------------------ apply_fill


def test_apply_fill_by_hand() -> None:
    pos, ep, r = apply_fill(0.0, 0.0, 1.0, 100.0)
    assert (pos, ep, r) == (1.0, 100.0, 0.0)
    pos, ep, r = apply_fill(pos, ep, 1.0, 200.0)
    assert (pos, ep, r) == (2.0, 150.0, 0.0)
    pos, ep, r = apply_fill(pos, ep, -0.5, 250.0)  # reduce
    assert (pos, ep, r) == (1.5, 150.0, 50.0)
    pos, ep, r = apply_fill(pos, ep, -2.0, 100.0)  # flip
    assert (pos, ep, r) == (-0.5, 100.0, -75.0)
    pos, ep, r = apply_fill(pos, ep, 0.5, 80.0)  # close a short
    assert (pos, ep, r) == (0.0, 0.0, 10.0)
    assert apply_fill(-1.0, 100.0, 0.0, 50.0) == (-1.0, 100.0, 0.0)


fills = st.tuples(
    st.floats(1e-4, 1e3).flatmap(lambda q: st.sampled_from([q, -q])),
    st.floats(1e-2, 1e6),
)


@FAST
@given(st.lists(fills, min_size=1, max_size=40), st.floats(1e-2, 1e6))
def test_apply_fill_matches_cash_ledger(seq: list, mark: float) -> None:
    pos, ep, realized, cash = 0.0, 0.0, 0.0, 0.0
    for q, p in seq:
        pos, ep, r = apply_fill(pos, ep, q, p)
        realized += r
        cash -= q * p
        if pos == 0.0:
            assert ep == 0.0
    # Every term is bounded by gross traded size times the highest price.
    scale = sum(abs(q) for q, _ in seq) * max(max(p for _, p in seq), mark)
    lhs = realized + pos * (mark - ep)
    rhs = cash + pos * mark
    assert abs(lhs - rhs) <= 1e-9 * scale


@FAST
@given(
    st.lists(st.floats(1e-4, 1e3).flatmap(lambda q: st.sampled_from([q, -q])), min_size=1, max_size=30),
    st.floats(1e-2, 1e6),
)
def test_fills_at_one_price_realise_nothing(qtys: list, price: float) -> None:
    pos, ep = 0.0, 0.0
    for q in qtys:
        pos, ep, r = apply_fill(pos, ep, q, price)
        assert r == 0.0
        assert ep == (price if pos != 0.0 else 0.0)
    # Closing the remainder at the same price realises nothing as well.
    assert apply_fill(pos, ep, -pos, price) == (0.0, 0.0, 0.0)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_scalar_fast_paths_match_vectorised(data):
    """The venue's per-fill scalar functions agree with the vectorised ones."""
    table = data.draw(st.sampled_from([BINANCE_BTCUSDT, TierTable.from_rows([(1e5, 0.01, 50), (1e6, 0.02, 25), (np.inf, 0.1, 5)])]))
    qty = data.draw(st.floats(0.001, 5000)) * data.draw(st.sampled_from([1, -1]))
    entry = data.draw(st.floats(100, 200_000))
    wallet = data.draw(st.floats(0, 1e9))
    mark = data.draw(st.floats(1, 400_000))
    lp = liquidation_price(qty, entry, wallet, table)
    assert liquidation_price_one(qty, entry, wallet, table) == pytest.approx(lp, rel=1e-12, abs=1e-9)
    assert maintenance_margin_one(qty, mark, table) == pytest.approx(maintenance_margin(qty, mark, table), rel=1e-12, abs=1e-9)
    assert math.isnan(liquidation_price_one(0.0, entry, wallet, table))
