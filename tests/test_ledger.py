"""The ledger's compiled kernel against its pure-Python methods: same columns, bit for bit.

`agents.exchange.accounts.Ledger.fill`, `available` and `side_totals` are the reference; a
ledger made with the compiled `LedgerKernel` must leave every column exactly
equal after any sequence of fills (opens, adds, reductions, flips, closes).
`row_sums`, the ledger's fast row sum, must equal numpy's ``sum(axis=1)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.exchange.accounts import Ledger, row_sums
from agents.exchange.native import LedgerKernel

needs_kernel = pytest.mark.skipif(LedgerKernel is None, reason="compiled kernels not built")

COLUMNS = ("wallet", "fees_paid", "position", "entry", "margin", "leverage", "order_margin", "realized")
N_ACCOUNTS, LOTS = 3, np.array([0.001, 0.01, 0.1])

fill_op = st.tuples(
    st.integers(0, N_ACCOUNTS - 1),  # account
    st.integers(0, len(LOTS) - 1),  # asset
    st.integers(1, 5000).flatmap(lambda q: st.sampled_from([q, -q])),  # signed lots
    st.floats(1e-3, 1e6, allow_nan=False),  # price
    st.sampled_from([0.0, 0.013, 7.5, 1234.5678]),  # fee
)


def pair() -> tuple[Ledger, Ledger]:
    """A pure-Python ledger and a compiled one, with the same wallets and leverages."""
    ledgers = Ledger(N_ACCOUNTS, LOTS), Ledger(N_ACCOUNTS, LOTS, kernel=LedgerKernel)
    for led in ledgers:
        led.wallet[:] = [1e6, 2.5e7, 333.25]
        led.leverage[:] = [[1.0, 3.0, 125.0], [7.0, 20.0, 50.0], [2.0, 10.0, 100.0]]
    return ledgers


def assert_same(py: Ledger, nat: Ledger) -> None:
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(py, name), getattr(nat, name), err_msg=name, strict=True)


@needs_kernel
@settings(max_examples=300, deadline=None)
@given(st.lists(fill_op, min_size=1, max_size=60), st.lists(st.floats(0, 1e6), min_size=9, max_size=9))
def test_kernel_fill_and_available_match_python(ops: list, reserved: list) -> None:
    py, nat = pair()
    assert isinstance(nat.fill.__self__, LedgerKernel) and py.fill.__self__ is py
    for account, asset, lots, price, fee in ops:
        assert py.fill(account, asset, lots, price, fee) == nat.fill(account, asset, lots, price, fee)
        assert_same(py, nat)
    for led in (py, nat):
        led.order_margin[:] = np.reshape(reserved, (N_ACCOUNTS, len(LOTS)))
    for account in range(N_ACCOUNTS):
        assert py.available(account) == nat.available(account)


@needs_kernel
def test_kernel_follows_the_columns_when_the_ledger_grows() -> None:
    py, nat = pair()
    for led in (py, nat):
        first = led.grow(2)
        led.wallet[first:] = 5e5
        led.fill(first + 1, 2, -40, 99.5, 0.25)
        led.fill(first + 1, 2, 90, 101.0, 0.5)
    assert nat.position[N_ACCOUNTS + 1, 2] == 50
    assert_same(py, nat)


@needs_kernel
def test_kernel_indexes_accounts_and_assets_as_numpy_does() -> None:
    py, nat = pair()
    for led in (py, nat):
        led.fill(-1, -2, 7, 100.0, 0.5)  # negative indices count from the end
        led.order_margin[-1, -1] = 12.5
    assert_same(py, nat)
    assert nat.position[N_ACCOUNTS - 1, len(LOTS) - 2] == 7 and py.available(-1) == nat.available(-1)
    for led in (py, nat):
        for bad in ((N_ACCOUNTS, 0), (0, len(LOTS)), (-N_ACCOUNTS - 1, 0)):
            with pytest.raises(IndexError):
                led.fill(*bad, 1, 100.0, 0.0)
        with pytest.raises(IndexError):
            led.available(N_ACCOUNTS)
    assert_same(py, nat)


@needs_kernel
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(-(1 << 40), 1 << 40) | st.sampled_from([0, 1, -1]), min_size=3, max_size=3),
                min_size=1, max_size=40))
def test_kernel_side_totals_match_python_and_a_plain_count(rows: list) -> None:
    py, nat = (Ledger(len(rows), LOTS), Ledger(len(rows), LOTS, kernel=LedgerKernel))
    for led in (py, nat):
        led.position[:] = rows
    for asset in (0, 1, 2, -1, -3):
        col = [r[asset] for r in rows]
        plain = (sum(q for q in col if q > 0), -sum(q for q in col if q < 0),
                 sum(q > 0 for q in col), sum(q < 0 for q in col))
        assert py.side_totals(asset) == nat.side_totals(asset) == plain
    assert all(type(v) is int for v in nat.side_totals(0) + py.side_totals(0))
    for led in (py, nat):
        for bad in (3, -4):
            with pytest.raises(IndexError):
                led.side_totals(bad)
    for led in (Ledger(0, LOTS), Ledger(0, LOTS, kernel=LedgerKernel)):  # no accounts: nothing open
        assert led.side_totals(1) == (0, 0, 0, 0)
    kernel = nat.kernel
    first = nat.grow(1)  # the kernel (the same one: the compiled venue holds it) is rebound to the new columns
    nat.position[first, 0] = -5
    assert nat.side_totals(0)[1] == -sum(r[0] for r in rows if r[0] < 0) + 5
    assert nat.kernel is kernel


# Any double, with signed zeros, infinities and NaN well represented.
any_double = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                       st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324]))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10).flatmap(lambda k: st.lists(st.lists(any_double, min_size=k, max_size=k), max_size=20)
                                  .map(lambda rows, k=k: np.array(rows, dtype=float).reshape(len(rows), k))))
def test_row_sums_equal_numpys_bit_for_bit(a: np.ndarray) -> None:
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and overflow are part of the test
        fast, ref = row_sums(a), a.sum(axis=1)
    assert fast.dtype == ref.dtype and fast.shape == ref.shape
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(fast), nan)
    assert fast[~nan].tobytes() == ref[~nan].tobytes()  # bit for bit: signed zeros included


def test_row_sums_on_large_fortran_and_strided_arrays() -> None:
    rng = np.random.default_rng(0)
    big = rng.standard_normal((50_000, 7)) * 10.0 ** rng.integers(-8, 8, (50_000, 7))
    big[rng.random(big.shape) < 0.2] = -0.0
    for a in (big[:, :3], np.asfortranarray(big[:, :5]), big[::3, ::2], big[:, 1:7]):
        assert row_sums(a).tobytes() == a.sum(axis=1).tobytes()
