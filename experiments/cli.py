"""The ``squeeze`` command line.

    squeeze run SCENARIO [--seed N] [--out DIR] [--set KEY=VALUE ...] [--no-progress]
    squeeze report DIR
    squeeze bench [--quick]

Bad input (a missing or invalid scenario, a bad override) prints one clear
message and exits with status 2 before any work starts.
"""

from __future__ import annotations

import argparse
import sys
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


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its run folder and report."""
    from experiments.run import run_scenario, write_run

    scenario = load_scenario(args.scenario, parse_overrides(args.set))
    result = run_scenario(scenario, args.seed, progress=not args.no_progress)
    path = write_run(result, args.out)
    s = result.summary
    print(f"{scenario.name}: {s['orders']} orders, {s['trades']} trades in {s['wall_s']:.1f} s wall")
    for sym, a in s["assets"].items():
        print(f"  {sym}: {a['start_price']:.2f} -> {a['end_price']:.2f} ({a['return_pct']:+.2f}%), "
              f"high {a['high']:.2f}, low {a['low']:.2f}")
    print(f"run folder: {path}")
    print(f"report:     {path / 'index.html'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the plots and index.html of a run folder from its files."""
    from experiments.report import rebuild_report

    run_dir = Path(args.dir)
    if not (run_dir / "summary.json").is_file():
        raise UsageError(f"{run_dir}: not a run folder (no summary.json)")
    print(rebuild_report(run_dir))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Print throughput figures and the commands that reproduce them."""
    from experiments.bench import run_bench

    run_bench(quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="squeeze", description="Agent-based simulation of leveraged perpetual-futures markets.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario file and write a run folder with its report")
    r.add_argument("scenario", help="path to a scenario YAML file")
    r.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    r.add_argument("--out", default="runs", help="folder to write run folders into (default runs/)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set duration=2h --set population.noise.count=100")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="rebuild the plots and index.html of a run folder")
    rep.add_argument("dir")
    rep.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="measure book and end-to-end throughput")
    b.add_argument("--quick", action="store_true", help="smaller measurements (for smoke tests)")
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
