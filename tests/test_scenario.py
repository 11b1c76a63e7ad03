"""Scenario validation: good files load, bad ones get one clear message and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from experiments.cli import main
from model.scenario import ScenarioError, load_scenario, parse_duration
from model.yamlio import set_dotted

GOOD = """\
name: tiny
duration: 1h
assets:
  - symbol: BTC
    price: 100.0
    tick_size: 0.1
    lot_size: 0.001
population:
  - name: noise
    strategy: noise
    count: 3
    wallet: 1000
    rate: 1e-3
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["run", *args, "--no-progress"])
    return code, capsys.readouterr().err


def test_good_file_loads_with_yaml12_numbers(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD))
    assert sc.duration == 3600.0
    assert sc.population[0].rate == pytest.approx(0.001)  # YAML 1.1 would give the string "1e-3"


@pytest.mark.parametrize("text", ["24h", "90m", "1s", "2d", "500ms", 12])
def test_durations(text):
    assert parse_duration(text) > 0


@pytest.mark.parametrize(("text", "seconds"), [("1h30m", 5400.0), ("3h 10m", 11400.0), ("2d12h", 216000.0),
                                                ("1min5s", 65.0), ("1.5h", 5400.0)])
def test_compound_durations_add_up(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["h", "3x", "1h-2m", "", "1h 2"])
def test_malformed_durations_are_rejected(text):
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("duration: 1h", "duration: 1h\ncolour: red", ["s.yaml:3:", "colour", "unknown key"]),
        ("count: 3", "count: -3", ["s.yaml:11:", "population.0.count", "greater than or equal to 0"]),
        ("count: 3", "count: many", ["population.0.count", "valid integer"]),
        ("tick_size: 0.1", "tick_size: -0.1", ["s.yaml:6:", "assets.0.tick_size", "greater than 0"]),
        ("duration: 1h", "duration: soon", ["duration", "expected a duration"]),
        ("strategy: noise", "strategy: wizard", ["population.0", "wizard"]),
        ("wallet: 1000", "wallet: {dist: lognormal, median: 5, sigma: big}", ["population.0.wallet.sigma", "valid number"]),
        ("wallet: 1000", "wallet: {dist: normal, mean: 5, std: 1}", ["population.0", "wallet must be at least 0", "add min: 0"]),
        ("symbol: BTC", "symbol: btc", ["assets.0.symbol", "pattern"]),
        ("price: 100.0", "price: 100.05", ["assets.0", "multiple of tick_size"]),
        ("rate: 1e-3", "rate: NO", ["population.0.rate", "valid number"]),
        ("duration: 1h", "duration: 1h\nsentiment: {conviction: 1.0}", ["sentiment.conviction", "less than 1"]),
    ],
)
def test_bad_scenarios_exit_2_with_a_clear_message(tmp_path, capsys, old, new, expect):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    code, err = run_cli(capsys, str(path), "--out", str(tmp_path / "runs"))
    assert code == 2
    assert err.startswith("squeeze: error: ")
    assert "Traceback" not in err
    for piece in expect:
        assert piece in err, f"{piece!r} not in {err!r}"
    assert not (tmp_path / "runs").exists(), "no work may start on a bad file"


def test_missing_file(tmp_path, capsys):
    code, err = run_cli(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml: file not found" in err


def test_invalid_yaml(tmp_path, capsys):
    code, err = run_cli(capsys, str(write(tmp_path, "name: [\n")))
    assert code == 2 and "not valid YAML" in err


def test_not_a_mapping(tmp_path, capsys):
    code, err = run_cli(capsys, str(write(tmp_path, "- 1\n- 2\n")))
    assert code == 2 and "expected a mapping" in err


def test_bad_override_names_the_key(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    code, err = run_cli(capsys, str(path), "--set", "population.nobody.count=1")
    assert code == 2 and "population.nobody.count" in err
    code, err = run_cli(capsys, str(path), "--set", "population.noise.colour=1")
    assert code == 2 and "population.0.colour" in err and "unknown key" in err
    code, err = run_cli(capsys, str(path), "--set", "oops")
    assert code == 2 and "KEY=VALUE" in err


def test_overrides_apply(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD), {"population.noise.count": 7, "assets.BTC.price": 200.0})
    assert sc.population[0].count == 7 and sc.assets[0].price == 200.0


def test_scenario_error_is_a_value_error(tmp_path):
    with pytest.raises(ScenarioError):
        load_scenario(write(tmp_path, GOOD.replace("count: 3", "count: -1")))


def test_override_changes_only_the_named_entry_of_a_yaml_merge():
    """Cohorts built with ``<<: *anchor`` share nested mappings; an override must not leak into the other."""
    data = yaml.safe_load("population:\n  - &a {name: one, size: {dist: pareto, scale: 1}}\n  - {<<: *a, name: two}\n")
    assert data["population"][0]["size"] is data["population"][1]["size"]  # shared by the merge
    out = set_dotted(data, "population.one.size.scale", 5)
    assert out["population"][0]["size"]["scale"] == 5
    assert out["population"][1]["size"]["scale"] == 1
    assert data["population"][0]["size"]["scale"] == 1  # the input is untouched


def test_event_override_of_one_speculator_cohort_leaves_the_other():
    event = Path(__file__).parent.parent / "scenarios" / "short_squeeze_2026_01_14.yaml"
    before = {c.name: c for c in load_scenario(event).population}
    # leverage is one mapping shared through the file's `<<: *speculators` merge
    after = {c.name: c for c in load_scenario(event, {"population.speculators.leverage.median": 33}).population}
    assert after["speculators"].leverage.median == 33 != before["speculators"].leverage.median
    assert after["speculators_alts"] == before["speculators_alts"]
