"""``squeeze bench``: throughput figures, each with the command that reproduces it.

* Book throughput: the fast `LimitOrderBook` against the simple reference
  book from the tests, on the same fixed random stream, in the same run.
* End-to-end: orders (and cancels) reaching the venue per wall-second and
  simulated seconds per wall-second for a scenario (``calm.yaml`` by default).
"""

from __future__ import annotations

import time
from pathlib import Path

from experiments.bench_book import compare_books
from experiments.run import run_scenario
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def end_to_end(scenario_path: Path, seed: int = 1, overrides: dict | None = None) -> dict:
    """Run a scenario once and return its throughput figures."""
    scenario = load_scenario(scenario_path, overrides)
    t0 = time.perf_counter()
    result = run_scenario(scenario, seed)
    wall = time.perf_counter() - t0
    s = result.summary
    messages = s["orders"] + s["cancels"]
    return {
        "scenario": scenario.name,
        "simulated_s": s["simulated_s"],
        "wall_s": wall,
        "orders": s["orders"],
        "cancels": s["cancels"],
        "trades": s["trades"],
        "orders_per_s": messages / wall,
        "sim_s_per_wall_s": s["simulated_s"] / wall,
    }


def run_bench(quick: bool = False, scenario: Path | None = None) -> dict:
    """Measure and print the benchmark figures; returns them as a dict."""
    n, ref_n = (20_000, 5_000) if quick else (200_000, 20_000)
    book = compare_books(n=n, seed=0, ref_n=ref_n)
    print("Order book throughput (50% limit / 20% market / 30% cancel, BTC-like ticks and lots)")
    print(f"  fast book:      {book['fast']['orders_per_s']:>12,.0f} orders/s  (n={book['fast']['n']:,})")
    if book.get("reference"):
        print(f"  fast book:      {book['fast_at_ref_n']['orders_per_s']:>12,.0f} orders/s  (n={ref_n:,})")
        print(f"  reference book: {book['reference']['orders_per_s']:>12,.0f} orders/s  (n={ref_n:,})")
        print(f"  ratio fast/reference at n={ref_n:,}: {book['ratio_fast_over_reference']:.1f}x")
    else:
        print(f"  ({book.get('note')})")
    print(f'  reproduce: python -c "from experiments.bench_book import compare_books; '
          f'print(compare_books(n={n}, seed=0, ref_n={ref_n}))"')
    path = scenario or ROOT / "scenarios" / "calm.yaml"
    overrides = {"duration": "2h"} if quick else None
    e2e = end_to_end(path, overrides=overrides)
    print(f"End to end: {e2e['scenario']} ({e2e['simulated_s'] / 3600:.0f} simulated h)")
    print(f"  {e2e['orders_per_s']:,.0f} orders+cancels/s, {e2e['sim_s_per_wall_s']:,.0f} simulated s per wall s, "
          f"{e2e['wall_s']:.1f} s wall ({e2e['orders']:,} orders, {e2e['cancels']:,} cancels, {e2e['trades']:,} trades)")
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    flags = " --set duration=2h" if quick else ""
    print(f"  reproduce: squeeze run {rel}{flags} --no-progress  (the run prints its wall time)")
    return {"book": book, "end_to_end": e2e}
