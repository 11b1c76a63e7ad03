"""Sweeps: spec validation, seeding, determinism across backends, failure capture, resume, folders, report."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments import run as run_module
from experiments import sweep as sweep_module
from experiments.cli import UsageError, main
from experiments.sweep import RUNS_FILE, SPEC_FILE, probe_cluster, read_runs, run_sweep, write_bytes_atomic
from experiments.sweep_report import build_sweep_report, make_sweep_plots
from experiments.sweep_spec import load_sweep, run_seeds
from tests.conftest import ROOT, SCENARIOS

TINY = Path(__file__).parent / "data" / "tiny_sweep.yaml"
SHIPPED = [*sorted((ROOT / "experiments" / "sweeps").glob("*.yaml")), TINY.parent / "sweep16.yaml"]
VOLATILE = ["wall_s", "worker"]  # the only columns allowed to differ between backends


def write_sweep(tmp_path: Path, name: str = "sweep.yaml", **changes) -> Path:
    """A copy of the tiny sweep with top-level keys replaced (``None`` deletes a key)."""
    data = yaml.safe_load(TINY.read_text())
    data["scenario"] = str(SCENARIOS / "squeeze_demo.yaml")
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def flaky_runner(scenario, seed):
    """`run_scenario`, except that the point (leverage 40, $8M buy) raises."""
    spec = next(c for c in scenario.population if c.name == "speculators")
    if spec.leverage.median == 40 and scenario.shocks[0].notional_usd == 8e6:
        raise RuntimeError("injected failure")
    return run_module.run_scenario(scenario, seed)


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=VOLATILE).sort_values("run_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The quick tiny sweep (4 runs) run serially: the reference for the other backends."""
    out = tmp_path_factory.mktemp("ref") / "tiny"
    outcome = run_sweep(load_sweep(TINY, quick=True), out, jobs=1, progress=False)
    assert len(outcome.ran) == 4 and not outcome.failed
    return out


# ------------------------------------------------------------------- spec


def test_points_seeds_and_quick_are_deterministic(tmp_path):
    sweep = load_sweep(TINY)
    assert sweep.points == [
        {"population.speculators.leverage.median": lev, "shocks.0.notional_usd": usd}
        for lev in (5, 40) for usd in (2e6, 8e6)]
    assert sweep.n_runs == 8 and sweep.run_id(3, 1) == "p0003-s1"
    seeds = run_seeds(7, 8)
    assert seeds == [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(7).spawn(8)]
    assert run_seeds(7, 3) == seeds[:3] and len(set(seeds)) == 8

    path = write_sweep(tmp_path, axes={
        "population.speculators.leverage.median": [5, 10, 20, 40],
        "shocks.0.notional_usd": {"range": [5e6, 4e7], "n": 8, "sampler": "latin_hypercube"},
        "venue.taker_fee": {"range": [1e-4, 1e-3], "n": 8, "sampler": "latin_hypercube", "log": True}})
    full = load_sweep(path)
    assert len(full.points) == 32 and full.points == load_sweep(path).points
    usd = np.array([p["shocks.0.notional_usd"] for p in full.points[:8]])
    # Latin hypercube: exactly one sample in each eighth of the range, drawn jointly with the fee axis
    assert sorted(np.floor((usd - 5e6) / (3.5e7 / 8)).astype(int)) == list(range(8))
    fees = np.array([p["venue.taker_fee"] for p in full.points[:8]])
    assert sorted(np.floor(np.log(fees / 1e-4) / np.log(10) * 8).astype(int)) == list(range(8))
    quick = load_sweep(path, quick=True)
    assert [p["population.speculators.leverage.median"] for p in quick.points] == [5, 5, 40, 40]
    assert quick.seeds == 1 and quick.resolved()["spec_hash"] != full.resolved()["spec_hash"]


@pytest.mark.parametrize("changes, expected", [
    ({"seedz": 2}, ["sweep.yaml:", "seedz: unknown key"]),
    ({"axes": {"population.speculators.leverrage.median": [5, 40]}},
     ["sweep.yaml:", "axes.population.speculators.leverrage.median", "leverrage: unknown key"]),
    ({"axes": {"shocks.0.notional_usd": [1e6, -5]}}, ["axes.shocks.0.notional_usd = -5", "greater than 0"]),
    ({"axes": {"population.nobody.count": [1, 2]}}, ["axes.population.nobody.count", "no list element named 'nobody'"]),
    ({"axes": {"venue.taker_fee": {"range": [1e-4, 1e-3], "n": 4},
               "venue.maker_fee": {"range": [0, 1e-4], "n": 8}}}, ["same n and sampler"]),
    ({"metrics": ["assets.BTC.max_drawup"]}, ["'assets.BTC.max_drawup' is not a key", "assets.BTC.max_drawup_pct"]),
    ({"scenario": "no_such_scenario.yaml"}, ["sweep.yaml:", "no_such_scenario.yaml: file not found"]),
])
def test_bad_sweep_is_rejected_before_any_run(tmp_path, capsys, changes, expected):
    path = write_sweep(tmp_path, **changes)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("squeeze: error: ") and err.count("\n") == 1
    for text in expected:
        assert text in err
    assert not out.exists()


def test_base_scenario_is_parsed_once_for_every_point(tmp_path, monkeypatch):
    from model import scenario as scenario_module
    from experiments.sweep_spec import build_scenarios

    calls = []
    real = scenario_module.load_yaml
    monkeypatch.setattr(scenario_module, "load_yaml", lambda path: calls.append(path) or real(path))
    sweep = load_sweep(write_sweep(tmp_path, axes={"shocks.0.notional_usd": [1e6, 2e6, 4e6, 8e6],
                                                   "population.speculators.leverage.median": [5, 10, 20]}))
    scenarios = build_scenarios(sweep)
    assert calls == [SCENARIOS / "squeeze_demo.yaml"]
    assert [s.shocks[0].notional_usd for s in scenarios[:4]] == [1e6, 1e6, 1e6, 2e6]
    assert len(scenarios) == 12 and len({id(s) for s in scenarios}) == 12
    # every point's scenario is the one a fresh read of the file gives
    assert scenarios[7] == scenario_module.load_scenario(SCENARIOS / "squeeze_demo.yaml", sweep.overrides(7))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_sweeps_are_valid(path):
    for quick in (False, True):
        sweep = load_sweep(path, quick=quick)
        assert sweep.spec.name == path.stem and len(sweep.points) >= (4 if quick else 12)


# -------------------------------------------------------------- execution


def test_two_jobs_give_the_same_rows_as_one(reference, tmp_path):
    run_sweep(load_sweep(TINY, quick=True), tmp_path / "two", jobs=2, progress=False)
    one, two = read_runs(reference), read_runs(tmp_path / "two")
    assert list(one["run_id"]) == ["p0000-s0", "p0001-s0", "p0002-s0", "p0003-s0"]
    assert (one["status"] == "ok").all() and one["assets.BTC.max_drawup_pct"].notna().all()
    pd.testing.assert_frame_equal(stable(one), stable(two))


def test_dask_backend_gives_the_same_rows(reference, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra: dask)")
    run_sweep(load_sweep(TINY, quick=True), tmp_path / "dask", jobs=2, backend_name="dask", progress=False)
    pd.testing.assert_frame_equal(stable(read_runs(reference)), stable(read_runs(tmp_path / "dask")))

    # an external scheduler: probed first, a project module the workers lack gives the fix
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(UsageError, match="pip install -e"):
            probe_cluster(client, modules=("model.market", "no_such_squeeze_module"), timeout=20)
        path = write_sweep(tmp_path, seeds=1, axes={"population.speculators.leverage.median": [5, 40]})
        outcome = run_sweep(load_sweep(path), tmp_path / "ext", backend_name="dask",
                            scheduler=cluster.scheduler_address, progress=False)
    assert sorted(outcome.ran) == ["p0000-s0", "p0001-s0"] and not outcome.failed

    monkeypatch.setattr(sweep_module, "PROBE_TIMEOUT_S", 1.0)
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        run_sweep(load_sweep(path), tmp_path / "none", backend_name="dask", scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "none").exists()


def test_failed_run_is_recorded_and_retried_on_resume(tmp_path):
    sweep = load_sweep(TINY, quick=True)
    out = tmp_path / "flaky"
    outcome = run_sweep(sweep, out, jobs=2, runner=flaky_runner, progress=False)
    assert outcome.failed == ["p0003-s0"] and len(outcome.ran) == 4
    runs = read_runs(out).set_index("run_id")
    bad = runs.loc["p0003-s0"]
    assert bad["status"] == "failed" and np.isnan(bad["liquidations.total_usd"])
    assert "Traceback" in bad["error"] and "RuntimeError: injected failure" in bad["error"]
    good = runs.drop(index="p0003-s0")
    assert (good["status"] == "ok").all() and good["error"].isna().all()

    again = run_sweep(sweep, out, jobs=1, progress=False)
    assert again.skipped == 3 and again.ran == ["p0003-s0"] and not again.failed
    after = read_runs(out).set_index("run_id")
    assert (after["status"] == "ok").all()
    pd.testing.assert_series_equal(after.loc[good.index, "wall_s"], good["wall_s"])  # not rerun


def test_interrupted_sweep_resumes_without_repeats_or_losses(tmp_path):
    sweep = load_sweep(TINY)
    out = tmp_path / "resume"
    seen: list[str] = []

    def crash_after_three(row):
        seen.append(row["run_id"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, jobs=2, on_row=crash_after_three, progress=False)
    first = read_runs(out)
    assert sorted(first["run_id"]) == sorted(seen) and (first["status"] == "ok").all()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    outcome = run_sweep(sweep, out, jobs=2, progress=False)
    assert outcome.skipped == 3 and not set(outcome.ran) & set(seen)
    final = read_runs(out)
    assert sorted(final["run_id"]) == sorted(seen + outcome.ran) and len(final) == sweep.n_runs == 8
    kept = final.set_index("run_id").loc[first["run_id"], ["wall_s", "worker"]]
    pd.testing.assert_frame_equal(kept, first.set_index("run_id")[["wall_s", "worker"]])


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / RUNS_FILE
    target.write_bytes(b"old")

    def half_then_crash(fh):
        fh.write(b"ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(target, half_then_crash)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [RUNS_FILE]


# ---------------------------------------------------------------- folders


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_foreign_corrupted_or_different_folders_are_refused(reference, tmp_path, capsys):
    sweep = load_sweep(TINY, quick=True)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(reference, corrupt)
    (corrupt / RUNS_FILE).write_bytes(b"PAR1 not really parquet")
    other = tmp_path / "other"
    shutil.copytree(reference, other)
    cases = [(foreign, sweep, "not a sweep folder"), (corrupt, sweep, "cannot be read"),
             (other, load_sweep(write_sweep(tmp_path, root_seed=8), quick=True), "holds a different sweep")]
    for folder, this, message in cases:
        before = snapshot(folder)
        with pytest.raises(UsageError, match=message):
            run_sweep(this, folder, jobs=1, progress=False)
        assert snapshot(folder) == before

    assert main(["sweep", str(TINY), "--quick", "--out", str(foreign)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_cli_sweep_keeps_series_and_report_rebuilds(tmp_path, capsys):
    path = write_sweep(tmp_path, keep_series=True)
    out = tmp_path / "cli"
    assert main(["sweep", str(path), "--quick", "--jobs", "2", "--out", str(out)]) == 0
    assert f"report:       {out / 'index.html'}" in capsys.readouterr().out
    runs = read_runs(out)
    assert {p.stem for p in (out / "series").iterdir()} == set(runs["run_id"])
    series = pd.read_parquet(out / "series" / "p0000-s0.parquet")
    assert {"time", "asset", "last"} <= set(series.columns) and len(series) == 30
    spec = yaml.safe_load((out / SPEC_FILE).read_text())
    assert spec["quick"] is True and spec["n_runs"] == 4 and len(spec["points"]) == 4

    shutil.rmtree(out / "plots")
    (out / "index.html").unlink()
    assert main(["report", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert {"cascade.png", "map_liquidations_total_usd.png", "lines_assets_BTC_max_drawup_pct.png"} <= \
        {p.name for p in (out / "plots").iterdir()}
    assert 'src="plots/cascade.png"' in page and "Summary" in page


# ----------------------------------------------------------------- report


def synthetic_runs(axes: dict[str, list], seeds: int = 3, failed: int = 1) -> pd.DataFrame:
    """Rows shaped like runs.parquet over every combination of ``axes`` values."""
    rng = np.random.default_rng(0)
    grid = pd.MultiIndex.from_product(list(axes.values()), names=list(axes)).to_frame(index=False)
    rows = []
    for point, params in grid.iterrows():
        for s in range(seeds):
            rows.append({"run_id": f"p{point:04d}-s{s}", "point": point, "seed_index": s, "seed": s,
                         "status": "ok", "wall_s": 1.0, "worker": "w", "error": None, **params,
                         "liquidations.total_usd": float(rng.lognormal(13, 2)), "x.pct": float(rng.normal())})
    for row in rows[:failed]:
        row.update(status="failed", error="Traceback ...\nRuntimeError: boom")
    return pd.DataFrame(rows)


@pytest.mark.parametrize("axes", [
    {"a.usd": [1e6, 2e6, 4e6]},
    {"a": [1, 2, 3], "b": ["x", "y"]},
    {"a": [float(v) for v in np.linspace(0, 1, 30)], "b": [1, 2], "c": [0.5]},
], ids=["one axis", "grid with a string axis", "many values and a third axis"])
def test_report_plots_any_axis_shape(tmp_path, axes):
    runs = synthetic_runs(axes)
    spec = {"name": "syn", "axes": axes, "metrics": ["x.pct", "liquidations.total_usd"],
            "cascade_threshold_usd": 1e6, "n_runs": len(runs) + 2, "spec_hash": "h"}
    files = make_sweep_plots(tmp_path, spec, runs)
    names = {f.name for f in files}
    assert {"lines_x_pct.png", "cascade.png"} <= names
    assert ("map_x_pct.png" in names) == (len(axes) > 1)
    assert all(f.stat().st_size > 1000 for f in files)
    (tmp_path / SPEC_FILE).write_text(yaml.safe_dump(spec))
    runs.to_parquet(tmp_path / RUNS_FILE)
    page = build_sweep_report(tmp_path).read_text()
    assert "RuntimeError: boom" in page and "Failed runs" in page and "not run yet" in page
