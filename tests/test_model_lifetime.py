"""A finished model is freed, so a process can run model after model (a sweep worker)."""

from __future__ import annotations

import gc
import weakref

from agents.ids import Agent
from model.market import MarketModel
from model.scenario import load_scenario
from tests.conftest import SCENARIOS


def tiny_calm():
    return load_scenario(SCENARIOS / "calm.yaml", {"duration": "2m", "population.noise.count": 50})


def test_a_finished_model_is_garbage_collected():
    model = MarketModel(tiny_calm(), rng=1)
    model.run()
    assert model.venue.ledger is not None
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None  # Mesa 3.3's Agent._ids kept every model alive (agents.ids)


def test_agent_ids_count_from_one_in_each_model():
    for seed in (1, 2):
        model = MarketModel(tiny_calm(), rng=seed)
        assert len(list(model.traders)) > 50  # iterating the roster makes every trader
        ids = sorted(a.unique_id for a in model.agents)
        assert ids == list(range(1, len(ids) + 1))
        assert all(isinstance(a, Agent) for a in model.agents)  # numbered from agents.ids.COUNTERS
