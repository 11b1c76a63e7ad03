"""The ``squeeze`` command line.

    squeeze run SCENARIO [--seed N] [--seeds N | --seed-list LIST] [--jobs N] [--out DIR] [--set KEY=VALUE ...]
                [--no-progress]
    squeeze report DIR
    squeeze sweep FILE [--jobs N] [--backend loky|dask] [--scheduler tcp://HOST:PORT] [--quick] [--out DIR]
    squeeze validate SCENARIO [--days N] [--interval 1min] [--reference PRICES.csv] [--out DIR]
    squeeze bench [--quick] [--split] [--scaling] [--out DIR]

Bad input (a missing or invalid scenario, a bad override) prints one clear
message and exits with status 2 before any work starts.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

from model.scenario import ScenarioError, load_scenario

EXIT_USAGE = 2


class UsageError(Exception):
    """A user error: reported as one message with exit status 2."""


def parse_overrides(pairs: list[str]) -> dict:
    """``KEY=VALUE`` strings into a dict; VALUE is parsed as YAML (``3``, ``2h``, ``[1, 2]``)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def parse_seed_list(text: str) -> list[int]:
    """``"11-20,31-40,7"`` into seeds in the order given; `UsageError` on bad syntax or a repeat."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi if sep else lo)
        except ValueError:
            raise UsageError(f"--seed-list: {part.strip()!r} is not a seed or a range like 11-20") from None
        if first < 0 or last < first:
            raise UsageError(f"--seed-list: {part.strip()!r} is not a range of non-negative seeds, low to high")
        seeds.extend(range(first, last + 1))
    repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if repeated:
        raise UsageError(f"--seed-list: seeds listed more than once: {repeated}")
    return seeds


def run_seeds(args: argparse.Namespace) -> list[int]:
    """The seeds ``squeeze run`` runs: ``--seed-list``, or ``--seeds`` consecutive seeds from ``--seed``."""
    if args.seed_list is not None:
        if args.seeds != 1 or args.seed is not None:
            raise UsageError("give either --seed/--seeds or --seed-list, not both")
        return parse_seed_list(args.seed_list)
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1, got {args.seeds}")
    first = 1 if args.seed is None else args.seed
    return list(range(first, first + args.seeds))


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario (or an ensemble of seeds) and write its run folder and report."""
    from experiments.run import run_scenario, write_run

    seeds = run_seeds(args)
    scenario = load_scenario(args.scenario, parse_overrides(args.set))
    if len(seeds) > 1 or args.seed_list is not None:
        return _run_ensemble(scenario, seeds, args)
    result = run_scenario(scenario, seeds[0], progress=not args.no_progress)
    path = write_run(result, args.out)
    s = result.summary
    print(f"{scenario.name}: {s['orders']} orders, {s['trades']} trades in {s['wall_s']:.1f} s wall")
    for sym, a in s["assets"].items():
        print(f"  {sym}: {a['start_price']:.2f} -> {a['end_price']:.2f} ({a['return_pct']:+.2f}%), "
              f"high {a['high']:.2f}, low {a['low']:.2f}")
    liq = s["liquidations"]
    if liq["total_usd"]:
        print(f"  liquidations: ${liq['total_usd'] / 1e6:,.1f}M, {liq['short_share']:.0%} shorts")
    if s.get("targets"):
        print(format_targets(s["targets"]))
    print(f"run folder: {path}")
    print(f"report:     {path / 'index.html'}")
    return 0


def format_targets(rows: list[dict]) -> str:
    """Target, tolerance, simulated value and pass/fail, one line each."""
    lines = [f"  {'target':<28} {'range':>24} {'simulated':>12}  result"]
    for t in rows:
        value = "-" if t["value"] is None else f"{t['value']:.4g}"
        lines.append(f"  {t['name']:<28} {'[' + format(t['low'], '.4g') + ', ' + format(t['high'], '.4g') + ']':>24} "
                     f"{value:>12}  {'pass' if t['passed'] else 'FAIL'}")
    return "\n".join(lines)


def _run_ensemble(scenario, seeds: list[int], args: argparse.Namespace) -> int:
    from experiments.ensemble import format_table, run_ensemble, target_table, write_ensemble

    runs = run_ensemble(scenario, seeds, n_jobs=args.jobs, progress=not args.no_progress)
    table = target_table(scenario, runs)
    print(format_table(table, runs))
    path = write_ensemble(args.out, scenario, runs, table)
    print(f"ensemble folder: {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the plots and index.html of a run folder (or a sweep folder) from its files."""
    from experiments.report import rebuild_report

    run_dir = Path(args.dir)
    if (run_dir / "sweep.yaml").is_file() and (run_dir / "runs.parquet").is_file():
        from experiments.sweep_report import build_sweep_report

        print(build_sweep_report(run_dir))
        return 0
    if not (run_dir / "summary.json").is_file():
        raise UsageError(f"{run_dir}: neither a run folder (no summary.json) nor a sweep folder (no sweep.yaml and runs.parquet)")
    print(rebuild_report(run_dir))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Print throughput figures and the commands that reproduce them."""
    if args.scaling:
        from experiments.bench_scaling import run_scaling

        if args.split:
            raise UsageError("--split splits the end-to-end run; it does not apply to --scaling")

        run_scaling(Path(args.out), quick=args.quick)
        return 0
    from experiments.bench import run_bench

    run_bench(quick=args.quick, split=args.split)
    return 0


def _lazy(module: str, name: str):
    """A command function imported only when its command runs (keeps `squeeze --help` fast)."""
    def call(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)
    return call


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="squeeze", description="Agent-based simulation of leveraged perpetual-futures markets.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario file and write a run folder with its report")
    r.add_argument("scenario", help="path to a scenario YAML file")
    r.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    r.add_argument("--out", default="runs", help="folder to write run folders into (default runs/)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set duration=2h --set population.noise.count=100")
    r.add_argument("--seeds", type=int, default=1, help="run this many seeds (seed, seed+1, …) and report the "
                   "targets' median and 10–90%% range")
    r.add_argument("--seed-list", metavar="LIST", help="run these seeds instead, e.g. 11-20,31-40 (a holdout), and "
                   "report as --seeds does")
    r.add_argument("--jobs", type=int, default=-1, help="parallel jobs for --seeds (default: all cores)")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="rebuild the plots and index.html of a run folder")
    rep.add_argument("dir")
    rep.set_defaults(func=cmd_report)

    sw = sub.add_parser("sweep", help="run a parameter sweep in parallel (resumable)")
    sw.add_argument("file", help="sweep YAML file (see experiments/sweeps/)")
    sw.add_argument("--jobs", type=int, default=-1, help="parallel jobs (default: all cores)")
    sw.add_argument("--backend", choices=("loky", "dask"), default="loky")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address, tcp://HOST:PORT")
    sw.add_argument("--quick", action="store_true", help="a shrunken sweep for smoke tests")
    sw.add_argument("--out", default=None, help="sweep folder (default sweeps_out/<sweep name>)")
    sw.set_defaults(func=_lazy("experiments.sweep", "cli_sweep"))

    v = sub.add_parser("validate", help="measure stylized facts of a long run against the literature")
    v.add_argument("scenario")
    v.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    v.add_argument("--interval", default="1min", help="sampling interval (default 1min)")
    v.add_argument("--reference", default=None, help="a CSV of real prices to compare with")
    v.add_argument("--seed", type=int, default=1)
    v.add_argument("--out", default="validation", help="folder for the table and plots")
    v.set_defaults(func=_lazy("experiments.validate", "cli_validate"))

    b = sub.add_parser("bench", help="measure book and end-to-end throughput")
    b.add_argument("--quick", action="store_true", help="smaller measurements (for smoke tests)")
    b.add_argument("--split", action="store_true",
                   help="also replay the end-to-end run's venue calls alone: the venue's share of the run")
    b.add_argument("--scaling", action="store_true",
                   help="wall time against traders, idle traders, simulated hours and sweep jobs")
    b.add_argument("--out", default="bench", help="folder for scaling.csv and scaling.png (default bench/)")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``squeeze`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, UsageError) as exc:
        print(f"squeeze: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("squeeze: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
