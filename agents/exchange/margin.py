"""Margin maths for a linear, USDT-margined perpetual (Binance-style).

Pure functions, plain Python + numpy; nothing here knows about Mesa or the rest
of the project.

Conventions
-----------
* Quantities are in base units (e.g. BTC) as floats; prices and money in USD.
* ``position`` / ``qty`` arguments are *signed* (``+`` long, ``-`` short) unless a
  docstring says otherwise; ``Q = |position|`` and ``s = sign(position)``.
* ``entry`` (EP) is the average entry price; it is ``0.0`` for a flat position.
* ``wallet`` (WB) is the isolated wallet (margin) balance of one position, so
  ``equity = WB + position * (mark - EP)``; the position is liquidated when
  ``equity <= MM``.
* Maintenance margin ``MM = Q*P*mmr - cum`` with ``(mmr, cum)`` taken from the
  tier whose notional band contains ``Q*P``. Band ``n`` is ``(cap[n-1], cap[n]]``
  and band 0 is ``[0, cap[0]]``.
* Functions other than :func:`apply_fill` broadcast over numpy arrays; with
  all-scalar inputs they return Python scalars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence, Union

import numpy as np

ArrayLike = Union[float, np.ndarray]

__all__ = [
    "TierTable",
    "BINANCE_BTCUSDT",
    "initial_margin",
    "maintenance_margin",
    "equity",
    "unrealized_pnl",
    "liquidation_price",
    "liquidation_price_one",
    "maintenance_margin_one",
    "bankruptcy_price",
    "apply_fill",
]


def _out(x: np.ndarray) -> ArrayLike:
    """Return a Python scalar for 0-d results, the array otherwise."""
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x


@dataclass(frozen=True, eq=False)
class TierTable:
    """Notional-tiered maintenance-margin table; build it with :meth:`from_rows`."""

    caps: np.ndarray
    mmr: np.ndarray
    max_leverage: np.ndarray
    cum: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[float, float, float]]) -> "TierTable":
        """Build a table from ``(notional_cap, mmr, max_leverage)`` rows.

        Rows must be ordered by cap. ``cum`` (the maintenance amount) is computed
        as ``cum_0 = 0``, ``cum_n = cum_{n-1} + cap_{n-1} * (mmr_n - mmr_{n-1})``,
        which makes MM continuous in notional.

        Raises ``ValueError`` unless: caps are > 0, strictly ascending and the
        last one is ``inf``; every mmr is in (0, 1) and mmr is non-decreasing;
        every max leverage is >= 1 and max leverage is non-increasing; and
        ``mmr < 1 / max_leverage`` in each tier (otherwise a position opened at
        the tier's maximum leverage would be liquidatable at its entry price).
        """
        try:
            arr = np.array([tuple(map(float, r)) for r in rows], dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"tier rows must be (cap, mmr, max_leverage) numbers: {exc}") from exc
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != 3:
            raise ValueError("need at least one tier row of the form (cap, mmr, max_leverage)")
        caps, mmr, lev = arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()

        if np.isnan(arr).any():
            raise ValueError("tier rows contain NaN")
        if not np.all(caps > 0):
            raise ValueError(f"notional caps must be > 0, got {caps.tolist()}")
        if not np.all(np.diff(caps) > 0):
            raise ValueError(f"notional caps must be strictly ascending, got {caps.tolist()}")
        if caps[-1] != np.inf:
            raise ValueError(f"the last notional cap must be inf, got {caps[-1]}")
        if not np.all(np.isfinite(mmr) & (mmr > 0) & (mmr < 1)):
            raise ValueError(f"maintenance margin rates must lie in (0, 1), got {mmr.tolist()}")
        if not np.all(np.diff(mmr) >= 0):
            raise ValueError(f"maintenance margin rates must be non-decreasing, got {mmr.tolist()}")
        if not np.all(np.isfinite(lev) & (lev >= 1)):
            raise ValueError(f"max leverage must be finite and >= 1, got {lev.tolist()}")
        if not np.all(np.diff(lev) <= 0):
            raise ValueError(f"max leverage must be non-increasing, got {lev.tolist()}")
        if not np.all(mmr * lev < 1):
            raise ValueError("each tier needs mmr < 1/max_leverage (initial margin above maintenance)")

        cum = np.zeros_like(mmr)
        for n in range(1, len(caps)):
            cum[n] = cum[n - 1] + caps[n - 1] * (mmr[n] - mmr[n - 1])
        for a in (caps, mmr, lev, cum):
            a.setflags(write=False)
        return cls(caps=caps, mmr=mmr, max_leverage=lev, cum=cum)

    def tier_index(self, notional: ArrayLike) -> Union[int, np.ndarray]:
        """Index of the tier whose band ``(cap_{n-1}, cap_n]`` contains ``|notional|``."""
        idx = np.searchsorted(self.caps, np.abs(np.asarray(notional, dtype=float)), side="left")
        # Only NaN notionals can land past the last (infinite) cap.
        return _out(np.minimum(idx, len(self.caps) - 1))

    def max_leverage_for(self, notional: ArrayLike) -> ArrayLike:
        """Maximum leverage allowed for a position of the given notional."""
        return _out(self.max_leverage[np.asarray(self.tier_index(notional))])

    @cached_property
    def rows(self) -> tuple[tuple[float, float, float, float], ...]:
        """``(cap, mmr, max_leverage, cum)`` per tier as Python floats, for the scalar fast paths."""
        return tuple(zip(*(a.tolist() for a in (self.caps, self.mmr, self.max_leverage, self.cum))))

    @cached_property
    def _edges(self) -> tuple[tuple[float, float], ...]:
        """``(cap, MM at cap)`` for each finite cap."""
        return tuple((cap, cap * mmr - cum) for cap, mmr, _, cum in self.rows[:-1])

    def tier_of(self, notional: float) -> tuple[float, float, float, float]:
        """Scalar `tier_index`: the row whose band contains ``|notional|``."""
        notional = abs(notional)
        for row in self.rows:
            if notional <= row[0]:
                return row
        return self.rows[-1]


BINANCE_BTCUSDT: TierTable = TierTable.from_rows(
    [
        (300_000, 0.004, 150),
        (800_000, 0.005, 100),
        (3_000_000, 0.0065, 75),
        (12_000_000, 0.01, 50),
        (70_000_000, 0.02, 25),
        (100_000_000, 0.025, 20),
        (230_000_000, 0.05, 10),
        (480_000_000, 0.10, 5),
        (600_000_000, 0.125, 4),
        (800_000_000, 0.15, 3),
        (1_200_000_000, 0.25, 2),
        (np.inf, 0.50, 1),
    ]
)


def initial_margin(qty: ArrayLike, entry: ArrayLike, leverage: ArrayLike) -> ArrayLike:
    """Initial margin ``|Q| * EP / L``."""
    q, ep, lev = (np.asarray(a, dtype=float) for a in (qty, entry, leverage))
    return _out(np.abs(q) * ep / lev)


def maintenance_margin(qty: ArrayLike, mark: ArrayLike, table: TierTable) -> ArrayLike:
    """Maintenance margin ``|Q|*P*mmr - cum`` at the tier of notional ``|Q|*P`` (0 for Q=0)."""
    notional = np.abs(np.asarray(qty, dtype=float)) * np.asarray(mark, dtype=float)
    n = np.asarray(table.tier_index(notional))
    return _out(notional * table.mmr[n] - table.cum[n])


def unrealized_pnl(position: ArrayLike, entry: ArrayLike, mark: ArrayLike) -> ArrayLike:
    """Unrealised PnL ``position * (mark - entry)`` for a signed position."""
    q, ep, p = (np.asarray(a, dtype=float) for a in (position, entry, mark))
    return _out(q * (p - ep))


def equity(wallet: ArrayLike, position: ArrayLike, entry: ArrayLike, mark: ArrayLike) -> ArrayLike:
    """Isolated-position equity ``wallet + position * (mark - entry)``."""
    return _out(np.asarray(wallet, dtype=float) + np.asarray(unrealized_pnl(position, entry, mark)))


def liquidation_price(
    position: ArrayLike, entry: ArrayLike, wallet: ArrayLike, table: TierTable
) -> ArrayLike:
    """Mark price at which isolated equity equals maintenance margin.

    Within tier n the condition ``WB + q*(P - EP) = Q*P*mmr_n - cum_n`` gives
    ``LP_n = (WB + cum_n - q*EP) / (Q*mmr_n - q)``; the answer is ``LP_n`` for
    the tier whose notional band contains ``Q*LP_n``.

    Returns NaN for a flat position. The result is clipped at 0: for a long,
    ``0.0`` means it cannot be liquidated at any positive price; for a short
    (only possible with a negative wallet) it means it is liquidatable at any
    price. Both readings agree with the trigger rule ``long: mark <= LP``,
    ``short: mark >= LP``.
    """
    q, ep, wb = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (position, entry, wallet)))
    qabs, s = np.abs(q), np.sign(q)

    # Why the tier search always succeeds: let f(P) = WB + q*(P - EP) - MM(Q*P).
    # MM is continuous and piecewise linear in P with slope Q*mmr_n, mmr_n in (0,1),
    # so s*f has slope Q*(1 - s*mmr_n) > 0 on every piece: s*f is continuous and
    # strictly increasing with s*f(P) -> +inf as P -> +inf, hence it has exactly
    # one root P* in all of R (extending the first piece to P < 0). Rather than
    # testing every LP_n for band membership (fragile in floating point at a band
    # edge), find P*'s band directly: with edge prices B_k = cap_k / Q,
    # P* > B_k  <=>  s*f(B_k) < 0, so P* lies in band n* = #{k : s*f(B_k) < 0}
    # and LP_{n*} = P*. A rounding error when f(B_k) ~ 0 only swaps in a
    # neighbouring tier whose line meets the true one at B_k, so the answer
    # still equals B_k up to rounding.
    finite_caps = table.caps[:-1]
    mm_at_caps = finite_caps * table.mmr[:-1] - table.cum[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        edge_price = finite_caps / qabs[..., None]
        f_edge = wb[..., None] + q[..., None] * (edge_price - ep[..., None]) - mm_at_caps
        n = np.sum(s[..., None] * f_edge < 0, axis=-1)
        lp = (wb + table.cum[n] - q * ep) / (qabs * table.mmr[n] - q)
    lp = np.where(qabs == 0, np.nan, np.maximum(lp, 0.0))
    return _out(lp)


def liquidation_price_one(position: float, entry: float, wallet: float, table: TierTable) -> float:
    """Scalar `liquidation_price` in plain Python (the venue calls it on every fill).

    Same tier search as the vectorised version; NaN for a flat position.
    """
    if position == 0.0:
        return math.nan
    qabs = abs(position)
    s = 1.0 if position > 0 else -1.0
    n = 0
    for cap, mm_at_cap in table._edges:
        if s * (wallet + position * (cap / qabs - entry) - mm_at_cap) >= 0:
            break  # s*f is increasing and the edges ascend: no later edge lies below P*
        n += 1
    _, mmr, _, cum = table.rows[n]
    lp = (wallet + cum - position * entry) / (qabs * mmr - position)
    return lp if lp > 0.0 else 0.0


def maintenance_margin_one(qty: float, mark: float, table: TierTable) -> float:
    """Scalar `maintenance_margin` in plain Python."""
    notional = abs(qty) * mark
    _, mmr, _, cum = table.tier_of(notional)
    return notional * mmr - cum


def bankruptcy_price(position: ArrayLike, entry: ArrayLike, wallet: ArrayLike) -> ArrayLike:
    """Price at which isolated equity is zero: ``EP - s*WB/|Q|``, clipped at 0; NaN if flat.

    With ``WB = |Q|*EP/L`` this is ``EP * (1 - s/L)``.
    """
    q, ep, wb = (np.asarray(a, dtype=float) for a in (position, entry, wallet))
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = ep - wb / q  # s/|Q| == 1/q
    return _out(np.where(q == 0, np.nan, np.maximum(bp, 0.0)))


def apply_fill(
    position: float, entry: float, fill_qty: float, price: float
) -> tuple[float, float, float]:
    """Apply a signed fill (+buy, -sell) at ``price`` to a signed position.

    Returns ``(new_position, new_entry, realized_pnl)``:

    * opening or adding: entry becomes the size-weighted average, nothing realised;
    * reducing: entry is unchanged, ``sign(position) * |fill| * (price - entry)``
      is realised;
    * closing exactly: position and entry become 0.0, the whole position's PnL
      is realised;
    * flipping: the whole old position's PnL is realised and the remainder
      opens at ``price``.
    """
    position, entry, fill_qty, price = float(position), float(entry), float(fill_qty), float(price)
    if fill_qty == 0.0:
        return position, (entry if position != 0.0 else 0.0), 0.0
    if position == 0.0:
        return fill_qty, price, 0.0
    new_position = position + fill_qty
    if (position > 0.0) == (fill_qty > 0.0):
        # This form leaves entry bit-for-bit unchanged when price == entry.
        return new_position, entry + fill_qty * (price - entry) / new_position, 0.0
    if abs(fill_qty) < abs(position):
        return new_position, entry, -fill_qty * (price - entry)
    realized = position * (price - entry)
    if abs(fill_qty) == abs(position):
        return 0.0, 0.0, realized
    return new_position, price, realized
