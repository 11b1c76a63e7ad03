"""``squeeze bench --split``: how much of a run is the venue, and how much everything else.

A run is recorded: every call the model and its agents make on the venue
(orders, cancels, ladders, stops, leverage, deposits and the per-step calls)
is logged with its arguments, while the venue's own calls from inside (stops
firing, liquidations, the insurance fund's orders) are not. The log is then
replayed into the venue of a second, identically built model, with no agents,
sentiment or recording: the replay's wall time is what the venue and its books
cost on their own. The replayed venue must end in exactly the state of the
recorded one (ledger columns and every book's tape), or the split is refused:
the venue is a deterministic function of the calls it receives.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from agents.exchange.audit import venue_state
from model.market import MarketModel
from model.scenario import Scenario, load_scenario

VENUE_CALLS = ("set_time", "begin_step", "end_step", "deposit", "deposit_many", "move_cash", "set_leverage", "limit",
               "market", "post_quotes", "liquidation_order", "cancel", "cancel_many", "cancel_all", "stop",
               "cancel_stop", "transfer")
"""The venue's methods that change its state; a call of one from outside the venue is recorded."""
VENUE_QUERIES = ("fund_equity", "last_price", "last_prices", "mid_price", "mids", "money_total", "open_orders",
                 "resolve", "resting_count", "start_price")
"""Its other public methods, which only read (``resolve`` acts only on what earlier calls left due)."""

Call = tuple[str, tuple, dict]


def _frozen(value: Any) -> Any:
    """A copy of an argument the caller may change later (the fundamentals array, a ladder)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    return list(value) if isinstance(value, list) else value


def record_calls(model: MarketModel) -> list[Call]:
    """Log, from now on, every outside call on ``model.venue``'s state-changing methods (returned list grows)."""
    venue, log, depth = model.venue, [], [0]
    for name in VENUE_CALLS:
        method = getattr(venue, name)

        def logged(*args, _method=method, _name=name, **kwargs):
            if depth[0] == 0:
                log.append((_name, tuple(_frozen(a) for a in args), {k: _frozen(v) for k, v in kwargs.items()}))
            depth[0] += 1
            try:
                return _method(*args, **kwargs)
            finally:
                depth[0] -= 1

        setattr(venue, name, logged)
    return log


def venue_digest(venue) -> str:
    """Hash of everything observable about the venue (`agents.exchange.audit.venue_state`)."""
    return hashlib.sha256(pickle.dumps(venue_state(venue), protocol=5)).hexdigest()


class Replay(NamedTuple):
    """What `replay` returns."""

    wall_s: float
    venue: Any
    by_method: dict[str, float]  # seconds per venue method, when timed call by call (else empty)


def replay(scenario: Scenario, seed: int, calls: list[Call], per_method: bool = False) -> Replay:
    """Replay ``calls`` into the venue of a freshly built model.

    With ``per_method``, each call is also timed and the seconds are summed by
    method name; the timer's own cost (about 0.1 µs a call) is then in ``wall_s``.
    """
    venue = MarketModel(scenario, rng=seed).venue
    bound = [(getattr(venue, name), args, kwargs) for name, args, kwargs in calls]
    by_method: dict[str, float] = {}
    # The log's millions of objects are the measurement's, not the run's: keep the collector off them
    # (unfreeze also releases anything frozen before; nothing in the project freezes).
    gc.freeze()
    try:
        clock = time.perf_counter
        t0 = clock()
        if per_method:
            by_method = dict.fromkeys(VENUE_CALLS, 0.0)
            for (method, args, kwargs), (name, _, _) in zip(bound, calls):
                t = clock()
                method(*args, **kwargs)
                by_method[name] += clock() - t
        else:
            for method, args, kwargs in bound:
                method(*args, **kwargs)
        return Replay(clock() - t0, venue, by_method)
    finally:
        gc.unfreeze()


def venue_split(scenario: Scenario, seed: int = 1) -> dict[str, Any]:
    """Record one run of ``scenario`` and replay its venue calls alone.

    Returns the replay's wall time (``venue_s``), the number of calls, the
    kernels used and, from a second replay timing each call, ``by_method``:
    ``{method: (calls, seconds)}``. The recorded run itself is slowed by the
    logging, so compare ``venue_s`` with a plain run's wall time measured separately.

    Raises:
        RuntimeError: the replay fails or does not end in the recorded state.
    """
    model = MarketModel(scenario, rng=seed)
    calls = record_calls(model)
    model.run()
    expected = venue_digest(model.venue)
    kernels = model.venue.kernels
    # The recorded model and the first replay's venue stay alive until the replays are done. Freed,
    # their memory would be reused by the next venue, whose objects would then lie scattered: a
    # 12 h replay measured 10% slower that way than in fresh memory, as a run's venue is.
    lost = ("the replayed venue {}: some call on the venue was not recorded (see VENUE_CALLS), "
            "or the venue reads state the calls do not carry")
    try:
        venue_s, venue, _ = replay(scenario, seed, calls)
    except Exception as exc:
        raise RuntimeError(lost.format(f"failed ({type(exc).__name__}: {exc})")) from exc
    if venue_digest(venue) != expected:
        raise RuntimeError(lost.format("ended in another state than the recorded one"))
    by_method = replay(scenario, seed, calls, per_method=True).by_method  # a second pass: timing each call costs
    counts = Counter(name for name, _, _ in calls)
    return {"venue_s": venue_s, "calls": len(calls), "kernels": kernels,
            "by_method": {name: (counts[name], t) for name, t in by_method.items() if counts[name]}}


def run_split(path: Path, whole_s: float, overrides: dict | None = None, seed: int = 1) -> dict[str, Any]:
    """Print the split of one run of the scenario at ``path`` whose plain wall time was ``whole_s``.

    The venue's time is measured by the replay; the rest is ``whole_s`` minus it.
    """
    split = venue_split(load_scenario(path, overrides), seed)
    share = split["venue_s"] / whole_s
    print(f"  the venue alone (its {split['calls']:,} calls from the run replayed, {split['kernels']} kernels): "
          f"{split['venue_s']:.1f} s wall, {share:.0%} of the run; agents, sentiment, spot and recording: "
          f"{whole_s - split['venue_s']:.1f} s")
    timed = sum(t for _, t in split["by_method"].values())
    parts = sorted(split["by_method"].items(), key=lambda item: -item[1][1])
    print("    by method (each call timed, a second replay): " + ", ".join(
        f"{name} {t / timed:.0%} ({n:,} calls, {t / n * 1e6:.1f} µs each)" for name, (n, t) in parts[:6]))
    return {**split, "share": share}
