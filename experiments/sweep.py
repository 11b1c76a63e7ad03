"""``squeeze sweep``: run a sweep's (point, seed) runs in parallel, resumably.

Each run is one joblib task (:func:`run_task`) that catches its own error and
returns a plain row, so one failing run never aborts the others. Rows stream
into ``runs.parquet`` as they finish (rewritten atomically: temp file plus
``os.replace``), behind a progress bar. Rerunning the same sweep into the
same folder skips finished run ids and retries failed ones; a folder holding
something else is refused before anything is written.

Backends: loky (one machine) or Dask (a ``LocalCluster`` on 127.0.0.1, or an
existing cluster via ``--scheduler``), which is probed before any task is sent.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.cli import UsageError
from experiments.sweep_spec import Sweep, build_scenarios, check_metrics, load_sweep, metric_value, run_seeds
from model.scenario import Scenario

RUNS_FILE = "runs.parquet"
SPEC_FILE = "sweep.yaml"
SERIES_DIR = "series"
OWN_ENTRIES = {SPEC_FILE, RUNS_FILE, SERIES_DIR, "plots", "index.html"}
ROW_COLUMNS = ["run_id", "point", "seed_index", "seed", "status", "wall_s", "worker", "error"]
FLUSH_EVERY_S = 1.0
"""At most one rewrite of runs.parquet per this many seconds (and always at the end)."""
QUIET_WARNINGS = (
    ".*tasks which were still being processed",  # the pending runs we cancel on Ctrl-C
    "A worker stopped while some jobs were given",  # loky recycling a worker whose memory grew; harmless
)
PROBE_TIMEOUT_S = 30.0
PROBE_MODULES = ("model.market", "experiments.run", "experiments.sweep")

Runner = Callable[[Scenario, int], Any]
"""``runner(scenario, seed)`` returns an object with ``.summary`` (and ``.series``), like `run_scenario`."""


# ----------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One (point, seed) run, with everything a worker needs (no files)."""

    run_id: str
    point: int
    seed_index: int
    seed: int
    params: dict[str, Any]
    scenario: Scenario
    metrics: tuple[str, ...]
    keep_series: bool = False


def run_task(task: Task, runner: Runner | None = None) -> dict[str, Any]:
    """Run one task and return its row; an exception is caught and recorded, never raised.

    The row holds the fixed columns, the axis values and the metrics; with
    ``keep_series`` it also carries ``_series`` (the series as Parquet bytes).
    """
    if runner is None:
        from experiments import run as run_module

        runner = run_module.run_scenario
    t0 = time.perf_counter()
    row: dict[str, Any] = {"run_id": task.run_id, "point": task.point, "seed_index": task.seed_index,
                           "seed": task.seed, "status": "ok", "error": None,
                           "worker": f"{socket.gethostname()}:{os.getpid()}", **task.params}
    row.update({m: float("nan") for m in task.metrics})
    try:
        result = runner(task.scenario, task.seed)
        row.update({m: metric_value(result.summary, m) for m in task.metrics})
        if task.keep_series:
            buf = io.BytesIO()
            result.series.to_parquet(buf, index=False)
            row["_series"] = buf.getvalue()
    except Exception:  # recorded in the row: a raising task would abort the whole Parallel
        row["status"] = "failed"
        row["error"] = traceback.format_exc()
    row["wall_s"] = time.perf_counter() - t0
    return row


def make_tasks(sweep: Sweep, scenarios: list[Scenario], skip: set[str]) -> list[Task]:
    """Every run of the sweep whose id is not in ``skip``, in run order."""
    seeds = run_seeds(sweep.spec.root_seed, sweep.n_runs)
    tasks = []
    for point, scenario in enumerate(scenarios):
        for s in range(sweep.seeds):
            run_id = sweep.run_id(point, s)
            if run_id not in skip:
                tasks.append(Task(run_id, point, s, seeds[point * sweep.seeds + s], sweep.points[point],
                                  scenario, tuple(sweep.metrics), sweep.spec.keep_series))
    return tasks


# ---------------------------------------------------------------------- folder


def read_runs(folder: Path) -> pd.DataFrame:
    """``runs.parquet`` of a sweep folder (an empty frame if there is none yet)."""
    path = Path(folder) / RUNS_FILE
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=ROW_COLUMNS)


def read_spec(folder: Path) -> dict[str, Any]:
    """The resolved spec in ``sweep.yaml`` of a sweep folder.

    Raises:
        UsageError: the file is missing, unreadable or not a resolved sweep spec.
    """
    path = Path(folder) / SPEC_FILE
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the sweep spec ({exc})") from None
    if not isinstance(spec, dict) or "spec_hash" not in spec:
        raise UsageError(f"{path}: not a resolved sweep spec (no spec_hash); this is not a sweep folder")
    return spec


class RunStore:
    """The rows of a sweep folder, rewritten atomically to ``runs.parquet``."""

    def __init__(self, folder: Path, rows: pd.DataFrame):
        self.folder = Path(folder)
        self.rows: dict[str, dict[str, Any]] = {r["run_id"]: r for r in rows.to_dict("records")}
        self._last_flush = time.monotonic()
        self._dirty = False

    def done(self) -> set[str]:
        """Run ids that finished without error."""
        return {k for k, r in self.rows.items() if r["status"] == "ok"}

    def add(self, row: dict[str, Any]) -> None:
        """Record a row (replacing an earlier attempt) and flush if due."""
        self.rows[row["run_id"]] = row
        self._dirty = True
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Rewrite ``runs.parquet`` (sorted by run id) via a temp file and ``os.replace``."""
        if not self._dirty:
            return
        frame = pd.DataFrame([self.rows[k] for k in sorted(self.rows)])
        write_bytes_atomic(self.folder / RUNS_FILE, lambda fh: frame.to_parquet(fh, index=False))
        self._dirty = False
        self._last_flush = time.monotonic()


def write_bytes_atomic(path: Path, write: Callable[[Any], None]) -> None:
    """Call ``write(fh)`` on a temp file next to ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_folder(folder: Path, sweep: Sweep, resolved: dict[str, Any]) -> RunStore:
    """Check that ``folder`` is empty or holds this very sweep; return its rows.

    Nothing is written or deleted here, so a refused folder stays as it was.

    Raises:
        UsageError: a file is in the way, the folder holds foreign files, a
            different sweep, or an unreadable ``runs.parquet``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a folder")
    entries = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    entries = {e for e in entries if not (e.startswith(".") and e.endswith(".tmp"))}  # our own crash leftovers
    if not entries:
        return RunStore(folder, pd.DataFrame(columns=ROW_COLUMNS))
    foreign = sorted(entries - OWN_ENTRIES)
    if SPEC_FILE not in entries or foreign:
        shown = ", ".join((foreign or sorted(entries))[:5])
        raise UsageError(f"{folder}: not a sweep folder (holds {shown}); choose another --out")
    old = read_spec(folder)
    if old.get("spec_hash") != resolved["spec_hash"]:
        raise UsageError(f"{folder}: holds a different sweep ({old.get('name')!r}, spec {old.get('spec_hash')}; "
                         f"this one is {resolved['spec_hash']}); choose another --out or remove the folder")
    try:
        rows = read_runs(folder)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UsageError(f"{folder / RUNS_FILE}: cannot be read ({type(exc).__name__}: {exc}); "
                         "move it away to start the sweep over") from None
    expected = {sweep.run_id(p, s) for p in range(len(sweep.points)) for s in range(sweep.seeds)}
    missing_cols = set(ROW_COLUMNS) - set(rows.columns)
    if missing_cols or not set(rows["run_id"]) <= expected:
        raise UsageError(f"{folder / RUNS_FILE}: does not match {SPEC_FILE} "
                         f"(missing columns {sorted(missing_cols)} or unknown run ids); move it away to start over")
    return RunStore(folder, rows)


# -------------------------------------------------------------------- backends


def _probe_fn(modules: tuple[str, ...]) -> Callable[[], str]:
    """A probe defined in a closure, so cloudpickle ships it by value to workers that lack the project."""
    def probe() -> str:
        import importlib
        from importlib.metadata import version

        for name in modules:
            importlib.import_module(name)
        return version("squeeze")
    return probe


def probe_cluster(client: Any, modules: tuple[str, ...] = PROBE_MODULES, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Check that the scheduler and every worker can import the project, at this version.

    Raises:
        UsageError: with the fix (install the project on every machine of the cluster).
    """
    from distributed import wait

    from experiments.run import package_version

    fix = f"install the project on every worker and on the scheduler: pip install -e {Path(__file__).resolve().parents[1]}"
    try:
        client.get_versions(check=True)
        workers = list(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError("the cluster has no workers")
        futures = [client.submit(_probe_fn(modules), workers=[w], allow_other_workers=False, pure=False)
                   for w in workers]
        wait(futures, timeout=timeout)
        versions = {f.result() for f in futures} | {client.run_on_scheduler(_probe_fn(modules))}
    except Exception as exc:
        raise UsageError(f"the Dask cluster cannot run squeeze tasks ({type(exc).__name__}: {exc}); {fix}") from None
    if versions != {package_version()}:
        raise UsageError(f"the Dask cluster runs squeeze {sorted(versions)}, this machine {package_version()}; {fix}")


@contextmanager
def backend(name: str, jobs: int, scheduler: str | None) -> Iterator[int]:
    """Configure joblib for ``name`` and yield the ``n_jobs`` to pass to ``Parallel``."""
    import joblib

    if name == "loky":
        with joblib.parallel_config(backend="loky"):
            yield jobs
        return
    if importlib.util.find_spec("distributed") is None:
        raise UsageError('--backend dask needs dask.distributed: pip install "squeeze[dask]"')
    with _dask_client(jobs, scheduler) as client:
        probe_cluster(client)
        with joblib.parallel_config(backend="dask"):
            yield -1


@contextmanager
def _dask_client(jobs: int, scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a private LocalCluster on 127.0.0.1."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=PROBE_TIMEOUT_S)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    n_workers = jobs if jobs > 0 else (os.cpu_count() or 2)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


# ------------------------------------------------------------------------- run


@dataclass
class SweepOutcome:
    """What one invocation did."""

    folder: Path
    total: int
    skipped: int
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _save_series(folder: Path, row: dict[str, Any]) -> None:
    data = row.pop("_series", None)
    if data is not None:
        (folder / SERIES_DIR).mkdir(exist_ok=True)
        write_bytes_atomic(folder / SERIES_DIR / f"{row['run_id']}.parquet", lambda fh: fh.write(data))


def run_sweep(sweep: Sweep, out: str | Path, jobs: int = -1, backend_name: str = "loky",
              scheduler: str | None = None, runner: Runner | None = None,
              on_row: Callable[[dict[str, Any]], None] | None = None, progress: bool = True) -> SweepOutcome:
    """Run every unfinished run of ``sweep`` into the folder ``out``.

    Every point's scenario, the metric keys and the folder are checked before
    the first run. ``runner`` replaces `run_scenario` (tests); ``on_row`` is
    called after each row is recorded. Rows are flushed even when interrupted.

    Raises:
        UsageError: a bad sweep, job count, backend or folder.
    """
    if jobs == 0 or jobs < -1:
        raise UsageError(f"--jobs must be a positive number or -1 (all cores), got {jobs}")
    if scheduler and backend_name != "dask":
        raise UsageError("--scheduler needs --backend dask")
    scenarios = build_scenarios(sweep)
    check_metrics(sweep, scenarios[0])
    resolved = sweep.resolved()
    folder = Path(out)
    store = open_folder(folder, sweep, resolved)
    done = store.done()
    tasks = make_tasks(sweep, scenarios, done)
    outcome = SweepOutcome(folder, sweep.n_runs, len(done))
    if not tasks:
        _write_spec(folder, resolved)
        return outcome
    from joblib import Parallel, delayed

    with backend(backend_name, jobs, scheduler) as n_jobs:
        _write_spec(folder, resolved)  # only now: an unusable backend leaves no folder behind
        rows = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(run_task)(t, runner) for t in tasks)
        _collect(rows, sweep, store, outcome, on_row, progress)
    return outcome


def _write_spec(folder: Path, resolved: dict[str, Any]) -> None:
    from experiments.report import write_text_atomic  # not at the top: the workers, which import this module, plot nothing

    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / SPEC_FILE, yaml.safe_dump(resolved, sort_keys=False))


def _collect(rows: Iterator[dict[str, Any]], sweep: Sweep, store: RunStore, outcome: SweepOutcome,
             on_row: Callable[[dict[str, Any]], None] | None, progress: bool) -> None:
    """Record rows as they arrive, behind a progress bar; flush even when interrupted."""
    from tqdm import tqdm

    bar = tqdm(total=sweep.n_runs, initial=outcome.skipped, unit="run", desc=sweep.spec.name,
               disable=not progress, dynamic_ncols=True)
    try:
        with warnings.catch_warnings(), closing(rows):  # closing aborts pending tasks if we stop early
            for noise in QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=noise)
            for row in rows:
                _save_series(store.folder, row)
                store.add(row)
                outcome.ran.append(row["run_id"])
                if row["status"] != "ok":
                    outcome.failed.append(row["run_id"])
                bar.update(1)
                bar.set_postfix(failed=len(outcome.failed), refresh=False)
                if on_row is not None:
                    on_row(row)
    finally:
        store.flush()
        bar.close()


def cli_sweep(args: argparse.Namespace) -> int:
    """``squeeze sweep``: run (or resume) a sweep, then write its report."""
    from experiments.sweep_report import build_sweep_report

    sweep = load_sweep(args.file, quick=args.quick)
    out = Path(args.out) if args.out else Path("sweeps_out") / (sweep.spec.name + ("-quick" if args.quick else ""))
    try:
        outcome = run_sweep(sweep, out, jobs=args.jobs, backend_name=args.backend, scheduler=args.scheduler)
    except KeyboardInterrupt:
        print(f"squeeze: interrupted; finished runs are kept in {out}; rerun the same command to resume",
              file=sys.stderr)
        return 130
    report = build_sweep_report(out)
    print(f"{sweep.spec.name}: {sweep.n_runs} runs ({len(sweep.points)} points x {sweep.seeds} seeds); "
          f"{outcome.skipped} already done, {len(outcome.ran)} run now, {len(outcome.failed)} failed")
    print(f"sweep folder: {out}")
    print(f"report:       {report}")
    if outcome.failed:
        print(f"failed runs (tracebacks in runs.parquet and the report): {', '.join(sorted(outcome.failed)[:10])}; "
              "rerun the same command to retry them")
        return 1
    return 0
