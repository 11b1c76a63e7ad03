"""The compiled and the pure-Python kernels are interchangeable: same run, bit for bit.

`tests/test_book.py` drives each book against the reference book operation by
operation and `tests/test_ledger.py` the ledger kernel against the ledger's
methods; here a whole scaled event run (stops, liquidations, ADL, funding) is
run on each set of kernels and every table must be identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from agents.exchange.book import LimitOrderBook
from agents.exchange.native import BUILT, ENV_VAR, MODULES, NativeLimitOrderBook, book_class, kernel_kind
from experiments.run import run_scenario
from tests.test_event import scaled

ROOT = Path(__file__).resolve().parents[1]
needs_native = pytest.mark.skipif(not BUILT, reason="compiled kernels not built")


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI promises a C++ compiler")
def test_ci_install_built_the_compiled_kernels() -> None:
    assert BUILT, f"pip install -e . did not compile every one of {', '.join(MODULES)}"


def test_setup_builds_exactly_the_modules_native_loads() -> None:
    """setup.py compiles every *_native.pyx under agents/ and model/; native.py must name the same modules."""
    built = {".".join(p.relative_to(ROOT).with_suffix("").parts)
             for package in ("agents", "model") for p in (ROOT / package).rglob("*_native.pyx")}
    assert built == set(MODULES)


@needs_native
def test_a_kernel_is_stale_when_any_declaration_it_is_built_from_changes() -> None:
    """A compiled module's sources: its .pyx, its own .pxd, the project .pxd files it cimports, directly or
    through another .pxd, and the C++ headers these name."""
    import importlib

    from agents.exchange.native import _sources

    def names(module: str) -> set[str]:
        return {str(p.relative_to(ROOT)) for p in _sources(importlib.import_module(module)) if p.exists()}

    exchange = "agents/exchange/"
    containers = {exchange + "containers.pxd", exchange + "containers.h"}
    book = {exchange + "book_native.pxd", exchange + "match_native.pxd"} | containers
    assert names("agents.exchange.venue_native") == {exchange + f for f in (
        "venue_native.pyx", "accounts_native.pxd", "funding_native.pxd", "margin_native.pxd",
        "registry_native.pxd", "scalar_native.pxd", "triggers_native.pxd", "venue_parts_native.pxd")} | book
    assert names("agents.exchange.accounts_native") == {exchange + f for f in ("accounts_native.pyx",
                                                                               "accounts_native.pxd")}
    assert names("agents.exchange.registry_native") == {exchange + "registry_native.pyx",
                                                        exchange + "registry_native.pxd"} | containers
    assert names("agents.traders_native") == {"agents/traders_native.pyx", exchange + "scalar_native.pxd"} | book
    assert names("model.sentiment_native") == {"model/sentiment_native.pyx"}


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


def test_without_compiled_modules_the_pure_python_kernels_run(tmp_path) -> None:
    """A machine without a C++ compiler: a copy of the sources without the compiled modules still runs."""
    for package in ("agents", "model", "experiments", "scenarios"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.so", "*.cpp", "__pycache__"))
    script = tmp_path / "no_native.py"
    script.write_text(textwrap.dedent('''
        from agents.exchange import native
        assert native.__file__.startswith(%r), native.__file__
        assert not native.BUILT and native.kernel_kind() == "python"
        try:
            native.kernel_kind("native")
        except RuntimeError as exc:
            assert "agents.exchange.book_native" in str(exc)
        else:
            raise AssertionError("SQUEEZE_NATIVE=native must fail without the compiled modules")
        from experiments.run import run_scenario
        from model.scenario import load_scenario
        result = run_scenario(load_scenario("scenarios/calm.yaml", {"duration": "10m"}), seed=1)
        assert result.summary["kernels"] == "python" and result.summary["trades"] > 0
        print("ok")
    ''' % str(tmp_path)))
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR} | {"PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_partial_rebuild_falls_back_to_the_pure_python_kernels(monkeypatch) -> None:
    """A module compiled against an older build of a class it cimports: a warning, not a crash at import."""
    from agents.exchange import native

    mismatch = ("agents.exchange.book_native.NativeLimitOrderBook size changed, may indicate binary "
                "incompatibility. Expected 296 from C header, got 288 from PyObject")

    def fail(name: str):
        raise ValueError(mismatch)

    monkeypatch.setattr(native.importlib, "import_module", fail)
    expected = r"compiled agents\.exchange\.venue_native does not match.*pip install -e \."
    with pytest.warns(RuntimeWarning, match=expected):
        assert native._load("agents.exchange.venue_native") is None

    def broken(name: str):
        raise ValueError("some other error in the module's own code")

    monkeypatch.setattr(native.importlib, "import_module", broken)
    with pytest.raises(ValueError, match="some other error"):
        native._load("agents.exchange.venue_native")


@needs_native
def test_the_compiled_methods_read_the_venues_own_parts() -> None:
    """`VenueParts` holds the venue's objects themselves, and they are still its own after a run."""
    from model.market import MarketModel
    from model.scenario import load_scenario

    model = MarketModel(load_scenario(ROOT / "scenarios" / "calm.yaml", {"duration": "5m"}), rng=1)
    model.run()
    venue, parts = model.venue, model.venue._parts
    for name in ("books", "registries", "tiers", "stops", "watch", "last_tick", "ledger", "mark", "rejections"):
        assert getattr(parts, name) is getattr(venue, name), name
    assert (parts.fund, parts.maker_fee, parts.taker_fee, parts.market_band) == (
        venue.fund, venue.maker_fee, venue.taker_fee, venue.rules.market_band)
    assert venue.orders_received > 0 and parts.last_tick == venue.last_tick
    # The counters the compiled methods update are the venue's attributes of those names.
    assert (venue.orders_received, venue.cancels_received, venue.fees_collected) == (
        parts.orders_received, parts.cancels_received, parts.fees_collected)
    assert venue.cancels_received > 0 and venue.fees_collected > 0
    venue.orders_received += 5
    assert parts.orders_received == venue.orders_received
