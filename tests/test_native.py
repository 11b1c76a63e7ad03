"""The compiled and the pure-Python kernels are interchangeable: same run, bit for bit.

`tests/test_book.py` drives each book against the reference book operation by
operation and `tests/test_ledger.py` the ledger kernel against the ledger's
methods; here a whole scaled event run (stops, liquidations, ADL, funding) is
run on each set of kernels and every table must be identical.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from agents.exchange.book import LimitOrderBook
from agents.exchange.native import BUILT, ENV_VAR, MODULES, NativeLimitOrderBook, book_class, kernel_kind
from experiments.run import run_scenario
from tests.test_event import scaled

needs_native = pytest.mark.skipif(not BUILT, reason="compiled kernels not built")


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI promises a C++ compiler")
def test_ci_install_built_the_compiled_kernels() -> None:
    assert BUILT, f"pip install -e . did not compile every one of {', '.join(MODULES)}"


def test_kernels_follow_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, "python")
    assert book_class() is LimitOrderBook and kernel_kind() == "python"
    monkeypatch.setenv(ENV_VAR, "auto")
    assert book_class() is (NativeLimitOrderBook or LimitOrderBook)
    assert kernel_kind() == ("native" if BUILT else "python")
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError, match="SQUEEZE_NATIVE='fast': expected one of auto, native, python"):
        book_class()


@needs_native
def test_resting_ids_view_is_live() -> None:
    book = NativeLimitOrderBook(0.1, 0.001)
    view = book.resting_ids
    a = book.submit_limit(1, 1, 1000, 2).order_id
    b = book.submit_limit(1, 1, 999, 2).order_id
    assert a in view and b in view and len(view) == 2 and list(view) == [a, b]
    book.cancel(a)
    assert a not in view and None not in view and "x" not in view and list(view) == [b]


@needs_native
def test_scaled_event_is_identical_on_both_kernels(monkeypatch) -> None:
    runs = {}
    for kind in ("python", "native"):
        monkeypatch.setenv(ENV_VAR, kind)
        runs[kind] = run_scenario(scaled(), seed=5, audit=True)
        assert runs[kind].summary["kernels"] == kind
    py, nat = runs["python"], runs["native"]
    assert nat.summary["liquidation_count"] > 0 and nat.summary["stops_fired"] > 0
    for table in ("series", "trades", "accounts", "liquidations"):
        pd.testing.assert_frame_equal(getattr(py, table), getattr(nat, table), check_exact=True, obj=table)
