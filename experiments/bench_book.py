"""Throughput benchmark for the limit order book.

Generates a fixed random stream of book operations on a BTC-like book
(tick 0.1 near 91,300, i.e. centre tick 913,000; lot 0.001; sizes 1-1000 lots,
heavy tailed) in the mix 50% limit / 20% market / 30% cancel, and replays it
against the fast book a venue uses (`agents.exchange.native.book_class`: the compiled
`NativeLimitOrderBook` when it is built), the pure-Python `LimitOrderBook`, and the slow
`tests.reference.book.ReferenceBook`.

Stream rows are plain tuples (generation is never timed):

* ``(LIMIT, owner, side, tick, qty, tif)``
* ``(MARKET, owner, side, qty)``
* ``(CANCEL, k)`` -- cancel whatever the k-th limit order of the stream left
  resting; skipped (no exception) if it never rested or is already gone.

Usage::

    .venv/bin/python -c "from experiments.bench_book import compare_books; print(compare_books())"
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from agents.exchange.book import BUY, SELL, LimitOrderBook
from agents.exchange.native import book_class, kernel_kind

LIMIT, MARKET, CANCEL = 0, 1, 2
N_OWNERS = 8
TICK_SIZE = 0.1
LOT_SIZE = 0.001

Op = tuple


def order_stream(n: int, seed: int, center_tick: int = 913_000, spread_ticks: int = 50) -> list[Op]:
    """A reproducible stream of ``n`` book operations (see module docstring).

    Limit prices: 85% passive, ``1 + Exp(spread_ticks)`` ticks behind the centre
    on their own side; 15% aggressive, up to ``spread_ticks // 2`` ticks through
    the centre (these cross). Time in force: 85% GTC, 10% IOC, 5% POST.
    Sizes are log-normal (median ~20 lots) clipped to 1..1000 lots.
    """
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=n, p=[0.5, 0.2, 0.3])
    owner = rng.integers(0, N_OWNERS, size=n)
    side = np.where(rng.random(n) < 0.5, BUY, SELL)
    qty = np.clip(np.rint(rng.lognormal(np.log(20.0), 1.3, size=n)), 1, 1000).astype(np.int64)
    passive = 1 + np.floor(rng.exponential(spread_ticks, size=n)).astype(np.int64)
    aggressive = rng.integers(0, max(1, spread_ticks // 2) + 1, size=n)
    is_aggr = rng.random(n) < 0.15
    tick = np.where(is_aggr, center_tick + side * aggressive, center_tick - side * passive)
    tif_draw = rng.random(n)
    pick = rng.random(n)

    stream: list[Op] = []
    n_limits = 0
    for i in range(n):
        k = int(kind[i])
        if k == CANCEL and n_limits == 0:
            k = LIMIT  # nothing to cancel yet
        if k == LIMIT:
            tif = "GTC" if tif_draw[i] < 0.85 else ("IOC" if tif_draw[i] < 0.95 else "POST")
            stream.append((LIMIT, int(owner[i]), int(side[i]), int(tick[i]), int(qty[i]), tif))
            n_limits += 1
        elif k == MARKET:
            stream.append((MARKET, int(owner[i]), int(side[i]), int(qty[i])))
        else:
            stream.append((CANCEL, int(pick[i] * n_limits)))
    return stream


def replay(book: Any, stream: list[Op]) -> int:
    """Run ``stream`` against ``book`` and return the number of operations processed.

    Works for any book with ``submit_limit``/``submit_market``/``cancel`` and
    ``in``; a cancel whose order never rested or is gone is skipped.
    """
    placed: list[int | None] = []
    submit_limit, submit_market, cancel = book.submit_limit, book.submit_market, book.cancel
    for op in stream:
        code = op[0]
        if code == LIMIT:
            placed.append(submit_limit(op[1], op[2], op[3], op[4], op[5]).order_id)
        elif code == MARKET:
            submit_market(op[1], op[2], op[3])
        else:
            oid = placed[op[1]]
            if oid is not None and oid in book:
                cancel(oid)
    return len(stream)


def tape_rows(book: Any) -> list[tuple]:
    """The tape as ``(time, tick, qty, side, taker, maker, cause)`` rows, for either book."""
    if hasattr(book, "tape_tick"):
        return list(zip(book.tape_time, book.tape_tick, book.tape_qty, book.tape_side,
                        book.tape_taker, book.tape_maker, book.tape_cause))
    return list(book.tape)


def book_throughput(factory: Callable[[], Any], n: int, seed: int, repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` replay throughput of a fresh ``factory()`` book on ``order_stream(n, seed)``."""
    stream = order_stream(n, seed)
    best = float("inf")
    for _ in range(repeat):
        book = factory()
        t0 = time.perf_counter()
        done = replay(book, stream)
        best = min(best, time.perf_counter() - t0)
    return {"orders_per_s": done / best, "seconds": best, "n": done}


def _fast_factory():
    return book_class()(TICK_SIZE, LOT_SIZE, "BTC")


def _python_factory() -> LimitOrderBook:
    return LimitOrderBook(TICK_SIZE, LOT_SIZE, "BTC")


def _import_reference() -> type | None:
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        from tests.reference.book import ReferenceBook
    except ImportError:
        return None
    return ReferenceBook


def compare_books(n: int = 200_000, seed: int = 0, ref_n: int = 20_000, check_n: int = 3_000) -> dict[str, Any]:
    """Throughput of the fast book (at ``n``) and of the reference book (at ``ref_n``).

    ``fast`` is the book a venue uses (``kind``: ``"native"`` or ``"python"``); when it
    is the compiled one, ``python`` is the pure-Python book on the same stream and
    ``ratio_fast_over_python`` their ratio. The reference ratio is taken at equal
    stream length ``ref_n`` (``fast_at_ref_n`` / ``reference``), since book depth grows
    with the stream. Before timing, the books replay the first ``check_n`` operations
    and their tapes must match.
    """
    kind = kernel_kind()
    out: dict[str, Any] = {"kind": kind, "fast": book_throughput(_fast_factory, n, seed)}
    if kind == "native":
        out["python"] = book_throughput(_python_factory, n, seed)
        out["ratio_fast_over_python"] = out["fast"]["orders_per_s"] / out["python"]["orders_per_s"]
    ref_cls = _import_reference()
    if ref_cls is None:
        out["note"] = "tests.reference.book could not be imported; fast figure only"
        return out
    prefix = order_stream(check_n, seed)
    ref = ref_cls()
    replay(ref, prefix)
    for factory in (_fast_factory, _python_factory):
        book = factory()
        replay(book, prefix)
        assert tape_rows(book) == tape_rows(ref), f"{type(book).__name__} and the reference disagree on the stream"
        assert book.resting(BUY) == ref.resting(BUY) and book.resting(SELL) == ref.resting(SELL)
    out["checked_prefix"] = {"n": check_n, "fills": len(ref.tape)}
    fast_small = book_throughput(_fast_factory, ref_n, seed)
    reference = book_throughput(ref_cls, ref_n, seed, repeat=1)
    out["fast_at_ref_n"] = fast_small
    out["reference"] = reference
    out["ratio_fast_over_reference"] = fast_small["orders_per_s"] / reference["orders_per_s"]
    return out


if __name__ == "__main__":
    import pprint

    pprint.pprint(compare_books())
