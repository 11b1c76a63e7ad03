"""The venue-alone replay of `experiments.bench_split` (no timing is asserted).

The venue must be a deterministic function of the calls it receives: replaying
a run's recorded calls into an identically built venue ends in the same state,
cascades included, and a lost call is noticed.
"""

from __future__ import annotations

import pytest

from agents.exchange.book import OrderError
from agents.exchange.venue import OrderBookAgent
from experiments.bench_split import VENUE_CALLS, VENUE_QUERIES, record_calls, replay, run_split, venue_digest
from experiments.cli import main
from model.market import MarketModel
from model.scenario import load_scenario
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def recorded():
    """A squeeze_demo hour whose whale buy fires stops and liquidations, recorded."""
    scenario = load_scenario(SCENARIOS / "squeeze_demo.yaml", {"duration": "1h", "shocks.0.at": "30m"})
    model = MarketModel(scenario, rng=3)
    calls = record_calls(model)
    model.run()
    return scenario, model.venue, calls


def test_replayed_calls_rebuild_the_venue_exactly(recorded):
    scenario, venue, calls = recorded
    assert venue.stops_fired.sum() > 0 and venue.liq_usd.sum() > 0  # cascades ran inside the venue
    names = {name for name, _, _ in calls}
    assert {"begin_step", "end_step", "limit", "market", "post_quotes", "cancel_many", "cancel"} <= names
    # Only outside calls are logged: the venue's own orders (stops, liquidations) are not.
    assert sum(name in ("limit", "market", "post_quotes") for name, _, _ in calls) < venue.orders_received
    replayed = replay(scenario, 3, calls).venue
    assert venue_digest(replayed) == venue_digest(venue)
    assert replayed.orders_received == venue.orders_received and replayed.fees_collected == venue.fees_collected


@pytest.mark.parametrize("name", ["cancel", "begin_step"])
def test_a_lost_call_changes_the_replayed_state(recorded, name):
    scenario, venue, calls = recorded
    i = next(i for i, (called, _, _) in enumerate(calls) if called == name)
    replayed = replay(scenario, 3, calls[:i] + calls[i + 1:]).venue
    assert venue_digest(replayed) != venue_digest(venue)


def test_every_public_venue_method_is_recorded_or_only_reads():
    own = {name for cls in OrderBookAgent.__mro__ if cls.__module__.startswith("agents.exchange")
           for name, value in vars(cls).items() if callable(value) and not name.startswith("_")}
    assert own == set(VENUE_CALLS) | set(VENUE_QUERIES)
    assert not set(VENUE_CALLS) & set(VENUE_QUERIES)


@pytest.mark.parametrize("name", ["cancel_stop", "stop"])
def test_the_digest_sees_resting_stops(recorded, name):
    scenario, venue, calls = recorded
    i = max(i for i, (called, _, _) in enumerate(calls) if called == name)  # the last: nothing else need change
    replayed = replay(scenario, 3, calls[:i] + calls[i + 1:]).venue
    assert venue_digest(replayed) != venue_digest(venue)


def test_split_refuses_a_replay_that_ends_elsewhere(monkeypatch):
    import experiments.bench_split as split

    other = MarketModel(load_scenario(SCENARIOS / "calm.yaml", {"duration": "2m"}), rng=99).venue
    monkeypatch.setattr(split, "replay", lambda scenario, seed, calls, per_method=False: split.Replay(0.0, other, {}))
    with pytest.raises(RuntimeError, match="ended in another state"):
        split.venue_split(load_scenario(SCENARIOS / "calm.yaml", {"duration": "2m"}))


def test_split_does_not_apply_to_scaling(capsys):
    assert main(["bench", "--scaling", "--split"]) == 2
    assert "--split" in capsys.readouterr().err


def test_split_refuses_a_replay_that_fails(monkeypatch):
    import experiments.bench_split as split

    def failing(scenario, seed, calls):
        raise OrderError("leverage can only be changed while the position is flat")

    monkeypatch.setattr(split, "replay", failing)
    with pytest.raises(RuntimeError, match="some call on the venue was not recorded"):
        split.venue_split(load_scenario(SCENARIOS / "calm.yaml", {"duration": "2m"}))


def test_run_split_prints_the_venue_share_and_its_methods(capsys):
    split = run_split(SCENARIOS / "calm.yaml", whole_s=1e6, overrides={"duration": "10m"})
    out = capsys.readouterr().out
    assert "the venue alone" in out and f"{split['calls']:,} calls" in out and "by method" in out
    assert split["calls"] > 600 and 0 < split["share"] < 1e-3
    by_method = split["by_method"]
    assert sum(n for n, _ in by_method.values()) == split["calls"]
    assert by_method["begin_step"][0] == by_method["end_step"][0] == 600  # ten minutes of one-second steps
    assert all(t > 0 for _, t in by_method.values())


def test_a_timed_replay_ends_in_the_same_state(recorded):
    scenario, venue, calls = recorded
    timed = replay(scenario, 3, calls, per_method=True)
    assert venue_digest(timed.venue) == venue_digest(venue)
    assert set(timed.by_method) == set(VENUE_CALLS) and timed.by_method["market"] > 0
