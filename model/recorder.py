"""Preallocated per-record buffers that become a DataFrame at the end of a run.

One float64 array of shape ``(n_records, n_assets)`` per column; nothing is
allocated per step. `Recorder.to_frame` returns one row per asset per record
time. `record_market` fills one row from a live model.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from agents.exchange.book import BUY, SELL
from model.quantiles import percentiles

DEPTH_BANDS_BPS = (10, 25, 50, 100, 200)
SENTIMENT_QUANTILES = (10, 25, 50, 75, 90)
SERIES_COLUMNS = [
    "last", "mid", "mark", "best_bid", "best_ask", "spread_bps", "volume", "notional", "trades",
    "depth_1pct_bid", "depth_1pct_ask", "fundamental",
    "open_interest_long", "open_interest_short", "long_short_ratio", "liq_long_usd", "liq_short_usd",
    "stops_fired", "funding_rate", "insurance_fund", "sentiment_mean", "sentiment_std", "bullish_share",
    *[f"sentiment_p{q}" for q in SENTIMENT_QUANTILES],
    *[f"depth_bps_{b}_{s}" for b in DEPTH_BANDS_BPS for s in ("bid", "ask")],
]


class Recorder:
    """Column buffers for per-asset series."""

    def __init__(self, columns: list[str], n_records: int, symbols: list[str]) -> None:
        self.columns = list(columns)
        self.symbols = list(symbols)
        self.n = 0
        self.time = np.zeros(n_records)
        self.data = {c: np.full((n_records, len(symbols)), np.nan) for c in self.columns}
        self._tape_pos = [0] * len(symbols)
        self._prev_liq = np.zeros((len(symbols), 2))
        self._prev_stops = np.zeros(len(symbols), dtype=np.int64)
        self._mood_of: np.ndarray | None = None  # the sentiment `_mood` was computed from
        self._mood: tuple = ()

    def mood_statistics(self, s: np.ndarray) -> tuple:
        """``(quantiles, (mean, std, bullish share))`` of the sentiment ``s``.

        Computed again only when ``s`` has changed since the last call, bit for bit:
        with sentiment off, or between updates, every record would repeat the same
        percentiles over every trader, idle ones included.
        """
        if self._mood_of is not None and self._mood_of.shape == s.shape and np.array_equal(
                self._mood_of.view(np.int64), s.view(np.int64)):
            return self._mood
        if len(s):
            self._mood = (percentiles(s, SENTIMENT_QUANTILES), (s.mean(), s.std(), (s > 0).mean()))
        else:
            self._mood = (np.full(len(SENTIMENT_QUANTILES), np.nan), (np.nan, np.nan, np.nan))
        self._mood_of = s.copy()
        return self._mood

    def start_row(self, now: float) -> int:
        """Open the next record row at simulated time ``now``; returns its index."""
        i = self.n
        if i >= len(self.time):  # a run longer than planned: grow rather than fail
            self.time = np.concatenate([self.time, np.zeros(len(self.time) + 1)])
            for c, arr in self.data.items():
                self.data[c] = np.concatenate([arr, np.full_like(arr, np.nan)])
        self.time[i] = now
        self.n += 1
        return i

    def to_frame(self, start: datetime) -> pd.DataFrame:
        """Long-format frame: ``time``, ``timestamp``, ``asset`` and every column."""
        n, a = self.n, len(self.symbols)
        out = {
            "time": np.repeat(self.time[:n], a),
            "timestamp": pd.Timestamp(start) + pd.to_timedelta(np.repeat(self.time[:n], a), unit="s"),
            "asset": np.tile(np.array(self.symbols, dtype=object), n),
        }
        for c in self.columns:
            out[c] = self.data[c][:n].reshape(-1)
        return pd.DataFrame(out)

    def record_market(self, model) -> None:
        """Write one row per asset from the model's venue, sentiment and clock."""
        venue = model.venue
        led = venue.ledger
        i = self.start_row(model.now)
        d = self.data
        s = model.sentiment
        fund_eq = venue.fund_equity()
        quantiles, mood = self.mood_statistics(s)
        for a, book in enumerate(venue.books):
            bid, ask = book.best_bid(), book.best_ask()
            tick, lot = book.tick_size, book.lot_size
            mid = venue.mid_price(a)
            mark = venue.mark.value[a]
            d["last"][i, a] = venue.last_price(a)
            d["mid"][i, a] = mid
            d["mark"][i, a] = mark
            d["fundamental"][i, a] = model.fundamental[a]
            if bid is not None:
                d["best_bid"][i, a] = bid * tick
            if ask is not None:
                d["best_ask"][i, a] = ask * tick
            if bid is not None and ask is not None:
                d["spread_bps"][i, a] = (ask - bid) / (0.5 * (ask + bid)) * 1e4
            lo, hi = self._tape_pos[a], book.n_fills
            qty = np.asarray(book.tape_qty[lo:hi], dtype=float)
            px = np.asarray(book.tape_tick[lo:hi], dtype=float) * tick
            d["volume"][i, a] = qty.sum() * lot
            d["notional"][i, a] = (qty * px).sum() * lot
            d["trades"][i, a] = hi - lo
            self._tape_pos[a] = hi
            usd = lot * mid
            for side, name in ((BUY, "bid"), (SELL, "ask")):
                within, prof = book.depth_summary(side, 100, DEPTH_BANDS_BPS)
                d[f"depth_1pct_{name}"][i, a] = within * usd
                prof = prof * usd
                for b, v in zip(DEPTH_BANDS_BPS, prof):
                    d[f"depth_bps_{b}_{name}"][i, a] = v
            long_lots, short_lots, n_long, n_short = led.side_totals(a)
            d["open_interest_long"][i, a] = long_lots * lot * mark
            d["open_interest_short"][i, a] = short_lots * lot * mark
            d["long_short_ratio"][i, a] = n_long / n_short if n_short else np.nan
            d["liq_long_usd"][i, a] = venue.liq_usd[a, 0] - self._prev_liq[a, 0]
            d["liq_short_usd"][i, a] = venue.liq_usd[a, 1] - self._prev_liq[a, 1]
            d["stops_fired"][i, a] = venue.stops_fired[a] - self._prev_stops[a]
            d["funding_rate"][i, a] = venue.funding.predicted_one(a)
            d["insurance_fund"][i, a] = fund_eq
            d["sentiment_mean"][i, a], d["sentiment_std"][i, a], d["bullish_share"][i, a] = mood
            for q, v in zip(SENTIMENT_QUANTILES, quantiles):
                d[f"sentiment_p{q}"][i, a] = v
        self._prev_liq = venue.liq_usd.copy()
        self._prev_stops = venue.stops_fired.copy()
