"""Invariants of the venue, checked on demand (every record in tests).

* Money is conserved: the accounts' equity at one common price per asset,
  plus fees collected, equals the money deposited.
* Positions net to zero per asset.
* No book is crossed at rest.
* Reserved order margin is never negative.

`venue_state` is everything observable about a venue, for telling whether two
venues are in the same state (the compiled and the Python kernels in the
tests; a replayed venue and the recorded one in `experiments.bench_split`).
"""

from __future__ import annotations

import numpy as np


class InvariantError(AssertionError):
    """A venue invariant does not hold."""


def venue_violations(venue, rel_tol: float = 1e-9) -> list[str]:
    """Every invariant the venue breaks right now, as messages (empty if none)."""
    problems = []
    for i, book in enumerate(venue.books):
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None and ask is not None and bid >= ask:
            problems.append(f"{book.asset}: book crossed at rest (bid {bid} >= ask {ask})")
        net = int(venue.ledger.position[:, i].sum())
        if net != 0:
            problems.append(f"{book.asset}: positions net to {net} lots, not 0")
    total = venue.money_total()
    expected = venue.deposits
    if abs(total - expected) > rel_tol * max(1.0, abs(expected)):
        problems.append(f"money not conserved: {total!r} vs {expected!r} deposited (diff {total - expected:.6g})")
    if (venue.ledger.order_margin < -1e-6).any():
        problems.append("negative order margin reserved")
    if not np.isfinite(venue.ledger.wallet).all():
        problems.append("non-finite wallet balance")
    return problems


def assert_venue_ok(venue) -> None:
    """Raise `InvariantError` listing every broken invariant."""
    problems = venue_violations(venue)
    if problems:
        raise InvariantError("; ".join(problems))


def venue_state(venue) -> dict:
    """Everything observable about a venue, as plain values that compare (and pickle) exactly.

    Numeric columns are their raw bytes, so equal means equal to the last bit
    (signed zeros and NaN included); sets are sorted.
    """
    led = venue.ledger
    books = [(b.resting(1), b.resting(-1), b.n_fills,
              [bytes(c) for c in (b.tape_time, b.tape_tick, b.tape_qty, b.tape_side, b.tape_taker, b.tape_maker,
                                  b.tape_cause)]) for b in venue.books]
    registry = [r.state() for r in venue.registries]
    arrays = {name: np.ascontiguousarray(a).tobytes() for name, a in (
        *((c, getattr(led, c)) for c in ("wallet", "fees_paid", "position", "entry", "margin", "leverage",
                                         "order_margin", "realized")),
        ("liq_usd", venue.liq_usd), ("stops_fired", venue.stops_fired), ("mark", venue.mark.value),
        ("mark_ema", venue.mark.ema), ("mark_basis", venue.mark.basis), ("premium_sum", venue.funding.premium_sum))}
    return {"books": books, "registry": registry, "arrays": arrays, "rejections": dict(venue.rejections),
            "counters": (venue.orders_received, venue.cancels_received, venue.funding.samples),
            "money": (float(venue.fees_collected).hex(), float(venue.deposits).hex()),
            "last_tick": list(venue.last_tick), "transfers": {k: list(v) for k, v in venue.transfers.items()},
            "stops": [sorted(book.stops.items()) for book in venue.stops],
            "watches": [(w.sizes, w.live()) for w in venue.watch]}
