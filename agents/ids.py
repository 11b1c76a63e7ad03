"""Per-model ``unique_id`` counters that do not keep a finished model alive.

Mesa 3.3 numbers agents from a class attribute, ``Agent._ids``: a
``defaultdict`` keyed by the model itself. That dict holds every model ever
built, with all its agents, venue and ledger, for the life of the process
(mesa#3179, fixed in Mesa 3.5 by numbering agents in ``Model.register_agent``).
A sweep worker that runs model after model grew by about 20 MB a run, and
loky replaced its workers once they had grown by 300 MB.

Every agent of the project derives from `Agent`, whose ``_ids`` is `COUNTERS`:
the same numbering (one count per model, from 1) with the model held weakly.
Mesa 3.5 never reads ``_ids``, so there it changes nothing.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import mesa


class ModelCounters(weakref.WeakKeyDictionary):
    """A weak-keyed ``defaultdict(lambda: itertools.count(1))``."""

    def __getitem__(self, model: Any) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


COUNTERS = ModelCounters()


class Agent(mesa.Agent):
    """The base of every agent here: a `mesa.Agent` numbered from `COUNTERS`."""

    _ids = COUNTERS
