"""Preallocated per-record buffers that become a DataFrame at the end of a run.

One float64 array of shape ``(n_records, n_assets)`` per column; nothing is
allocated per step. `to_frame` returns one row per asset per record time.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd


class Recorder:
    """Column buffers for per-asset series."""

    def __init__(self, columns: list[str], n_records: int, symbols: list[str]) -> None:
        self.columns = list(columns)
        self.symbols = list(symbols)
        self.n = 0
        self.time = np.zeros(n_records)
        self.data = {c: np.full((n_records, len(symbols)), np.nan) for c in self.columns}

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
