"""``squeeze bench``: throughput figures against their targets, each with the command that reproduces it.

* Book throughput: the book a venue uses (compiled when built) against the
  pure-Python book and the simple reference book from the tests, on the same
  fixed random stream, in the same run.
* End-to-end: orders (and cancels) reaching the venue per wall-second, the
  wall time and the peak memory of one whole run of a scenario: the event
  scenario ``short_squeeze_2026_01_14.yaml`` (``calm.yaml`` for two hours
  with ``--quick``). Construction, cascades and recording all count. When the
  compiled kernels are built, the same run is repeated on the pure-Python ones.

Every figure is measured on one core (one process) in one run.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from unittest import mock

from agents.exchange.native import ENV_VAR
from experiments.bench_book import compare_books
from experiments.bench_split import run_split
from experiments.run import run_scenario
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
EVENT = ROOT / "scenarios" / "short_squeeze_2026_01_14.yaml"
CALM = ROOT / "scenarios" / "calm.yaml"

# The targets of issue 8, as (figure, comparison, bound).
BOOK_TARGET = 1_000_000.0  # orders/s
BOOK_RATIO_TARGET = 2.0  # fast over reference
E2E_RATE_TARGET = 100_000.0  # orders + cancels per wall-second
E2E_WALL_TARGET = 30.0  # seconds for the event scenario
MEMORY_TARGET_MB = 1024.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def end_to_end(scenario_path: Path, seed: int = 1, overrides: dict | None = None, kernels: str | None = None) -> dict:
    """Run a scenario once (construction included) on the ``kernels`` kernels and return its throughput figures."""
    scenario = load_scenario(scenario_path, overrides)
    t0 = time.perf_counter()
    with mock.patch.dict(os.environ, {ENV_VAR: kernels} if kernels else {}):  # the venue reads SQUEEZE_NATIVE
        result = run_scenario(scenario, seed)
    wall = time.perf_counter() - t0
    s = result.summary
    messages = s["orders"] + s["cancels"]
    return {
        "scenario": scenario.name,
        "kernels": s["kernels"],
        "simulated_s": s["simulated_s"],
        "wall_s": wall,
        "orders": s["orders"],
        "cancels": s["cancels"],
        "trades": s["trades"],
        "orders_per_s": messages / wall,
        "sim_s_per_wall_s": s["simulated_s"] / wall,
        "peak_rss_mb": peak_rss_mb(),
    }


def _against(target: str, ok: bool, judged: bool) -> str:
    """``target ...: pass/MISS`` in a full bench; nothing in a quick one (its sizes are not the targets')."""
    return f"  target {target}: {'pass' if ok else 'MISS'}" if judged else ""


def run_bench(quick: bool = False, scenario: Path | None = None, split: bool = False) -> dict:
    """Measure and print the benchmark figures against the targets; returns them as a dict.

    With ``split``, the end-to-end run's venue calls are also replayed alone
    (`experiments.bench_split`): the venue's share of the run.
    """
    n, ref_n = (20_000, 5_000) if quick else (200_000, 20_000)
    book = compare_books(n=n, seed=0, ref_n=ref_n)
    rate = book["fast"]["orders_per_s"]
    print("Order book throughput (50% limit / 20% market / 30% cancel, BTC-like ticks and lots)")
    print(f"  fast book ({book['kind']}): {rate:>12,.0f} orders/s  (n={book['fast']['n']:,})"
          + _against(f">= {BOOK_TARGET:,.0f}", rate >= BOOK_TARGET, not quick))
    if book.get("python"):
        print(f"  Python book:    {book['python']['orders_per_s']:>12,.0f} orders/s  (n={book['python']['n']:,}); "
              f"ratio fast/Python {book['ratio_fast_over_python']:.2f}x")
    if book.get("reference"):
        ratio = book["ratio_fast_over_reference"]
        print(f"  fast book:      {book['fast_at_ref_n']['orders_per_s']:>12,.0f} orders/s  (n={ref_n:,})")
        print(f"  reference book: {book['reference']['orders_per_s']:>12,.0f} orders/s  (n={ref_n:,})")
        print(f"  ratio fast/reference at n={ref_n:,}: {ratio:.1f}x"
              + _against(f">= {BOOK_RATIO_TARGET:.0f}x", ratio >= BOOK_RATIO_TARGET, not quick))
    else:
        print(f"  ({book.get('note')})")
    print(f'  reproduce: python -c "from experiments.bench_book import compare_books; '
          f'print(compare_books(n={n}, seed=0, ref_n={ref_n}))"')
    path = scenario or (CALM if quick else EVENT)
    overrides = {"duration": "2h"} if quick else None
    e2e = end_to_end(path, overrides=overrides)
    print(f"End to end: {e2e['scenario']} ({e2e['simulated_s'] / 3600:.0f} simulated h, one process, "
          f"{e2e['kernels']} kernels)")
    print(f"  {e2e['orders_per_s']:,.0f} orders+cancels/s, {e2e['sim_s_per_wall_s']:,.0f} simulated s per wall s, "
          f"{e2e['wall_s']:.1f} s wall ({e2e['orders']:,} orders, {e2e['cancels']:,} cancels, {e2e['trades']:,} trades), "
          f"peak memory {e2e.get('peak_rss_mb', float('nan')):,.0f} MB")
    e2e_python = None
    if e2e["kernels"] == "native":
        e2e_python = end_to_end(path, overrides=overrides, kernels="python")
        print(f"  the same run on the pure-Python kernels: {e2e_python['wall_s']:.1f} s wall, "
              f"{e2e_python['orders_per_s']:,.0f} orders+cancels/s; ratio {e2e_python['wall_s'] / e2e['wall_s']:.2f}x")
    # Last: its log of every venue call grows the process, which the figures above must not see.
    venue_only = run_split(path, e2e["wall_s"], overrides) if split else None
    if path == EVENT and not quick:
        print(_against(f">= {E2E_RATE_TARGET:,.0f} orders+cancels/s", e2e["orders_per_s"] >= E2E_RATE_TARGET, True))
        print(_against(f"<= {E2E_WALL_TARGET:.0f} s wall", e2e["wall_s"] <= E2E_WALL_TARGET, True))
        print(_against(f"< {MEMORY_TARGET_MB:,.0f} MB peak memory", e2e["peak_rss_mb"] < MEMORY_TARGET_MB, True))
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    flags = " --set duration=2h" if quick else ""
    print(f"  reproduce: squeeze run {rel}{flags} --no-progress  (the run prints its wall time)"
          + ("; squeeze bench --split" + (" --quick" if quick else "") if split else ""))
    return {"book": book, "end_to_end": e2e, "end_to_end_python": e2e_python, "venue_only": venue_only}
