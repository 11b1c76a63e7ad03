"""Invariants of the venue, checked on demand (every record in tests).

* Money is conserved: the accounts' equity at one common price per asset,
  plus fees collected, equals the money deposited.
* Positions net to zero per asset.
* No book is crossed at rest.
* Reserved order margin is never negative.
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
