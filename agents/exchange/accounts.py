"""The venue's ledger: numpy columns indexed by account id (and asset).

Like a real exchange, the venue owns the accounts. Per account:

* ``wallet``: free collateral in USD (cross wallet), from which isolated
  margin is moved into positions and fees are paid;
* ``fees_paid``.

Per account and asset (isolated margin, one position per asset):

* ``position``: signed lots (long > 0);
* ``entry``: average entry price (0 when flat);
* ``margin``: the isolated margin held by the position;
* ``leverage``: the leverage the account trades that asset at;
* ``order_margin``: collateral reserved by open orders (still in ``wallet``);
* ``realized``: realised PnL.

Money identity kept by `fill`: for every account,
``wallet + sum(margin) + sum(position * lot * (P - entry))`` changes only by
fees and by the counterparties' opposite PnL, so over all accounts the sum
plus fees collected is constant at any common price P.

`fill` and `available` run once per fill and per order: given a compiled
`agents.exchange.accounts_native.LedgerKernel` class, the ledger binds the
kernel's versions over the methods below, which stay the reference.
"""

from __future__ import annotations

import numpy as np

PAIRWISE_FROM = 8  # numpy sums a row of this many floats or more pairwise


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a 2-D float64 array, bit for bit, about ten times faster for few columns.

    numpy reduces a short last axis slowly. With fewer than eight columns its
    sum starts at 0.0 and adds the columns in order, which is what this does;
    from eight on it sums pairwise, and this hands over to it. The sentiment
    update sums the ledger's rows every simulated minute.
    """
    k = a.shape[1]
    if k == 0 or k >= PAIRWISE_FROM or a.dtype != np.float64:
        return a.sum(axis=1)
    out = 0.0 + a[:, 0]  # 0.0 + -0.0 is 0.0, as in numpy's sum
    for j in range(1, k):
        out += a[:, j]
    return out


class Ledger:
    """Per-account, per-asset state of a perpetual-futures venue."""

    def __init__(self, n_accounts: int, lot_sizes: np.ndarray, kernel: type | None = None) -> None:
        self.lot = np.ascontiguousarray(lot_sizes, dtype=float)
        n, a = int(n_accounts), len(self.lot)
        self.n_accounts, self.n_assets = n, a
        self.wallet = np.zeros(n)
        self.fees_paid = np.zeros(n)
        self.position = np.zeros((n, a), dtype=np.int64)
        self.entry = np.zeros((n, a))
        self.margin = np.zeros((n, a))
        self.leverage = np.ones((n, a))
        self.order_margin = np.zeros((n, a))
        self.realized = np.zeros((n, a))
        self._kernel_class = kernel
        self.kernel = None  # the compiled kernel over the current columns, if any
        self._bind_kernel()

    def _bind_kernel(self) -> None:
        """Bind the compiled `fill`, `available` and `side_totals` (if any) to the current columns.

        A ledger keeps one kernel for its life (the compiled venue holds it): new columns are bound to it.
        """
        if self._kernel_class is None:
            return
        if self.kernel is None:
            self.kernel = self._kernel_class(self)
            for name in ("fill", "available", "side_totals"):
                setattr(self, name, getattr(self.kernel, name))
        else:
            self.kernel.__init__(self)

    def side_totals(self, asset: int) -> tuple[int, int, int, int]:
        """``(long lots, short lots, longs, shorts)`` of one asset over every account (short lots >= 0)."""
        # A column at a time: numpy reduces a contiguous column several times faster than it reduces
        # a narrow array down axis 0. Integer sums: exact in any order.
        pos = np.ascontiguousarray(self.position[:, asset])
        return (int(pos.clip(min=0).sum()), int(-pos.clip(max=0).sum()),
                int(np.count_nonzero(pos > 0)), int(np.count_nonzero(pos < 0)))

    def grow(self, n_new: int) -> int:
        """Append ``n_new`` empty accounts and return the first new id."""
        first = self.n_accounts
        for name in ("wallet", "fees_paid"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(n_new)]))
        for name, dtype, fill in (("position", np.int64, 0), ("entry", float, 0.0), ("margin", float, 0.0),
                                  ("leverage", float, 1.0), ("order_margin", float, 0.0), ("realized", float, 0.0)):
            extra = np.full((n_new, self.n_assets), fill, dtype=dtype)
            setattr(self, name, np.concatenate([getattr(self, name), extra]))
        self.n_accounts += n_new
        self._bind_kernel()  # the columns are new arrays
        return first

    def available(self, account: int) -> float:
        """Wallet not reserved by open orders."""
        # Plain additions in order, as numpy's reduce does for a handful of assets and as the
        # compiled kernel does; not sum(), which compensates its rounding from Python 3.12 on.
        reserved = 0.0
        for x in self.order_margin[account].tolist():
            reserved += x
        return float(self.wallet[account]) - reserved

    def fill(self, account: int, asset: int, signed_lots: int, price: float, fee: float) -> float:
        """Apply one fill to an account and return its realised PnL.

        Reducing releases margin pro rata plus PnL into the wallet; opening
        moves ``notional / leverage`` from the wallet into isolated margin.
        """
        lot = self.lot[asset]
        pos = int(self.position[account, asset])
        entry = float(self.entry[account, asset])
        margin = float(self.margin[account, asset])
        wallet = float(self.wallet[account]) - fee
        pnl = 0.0
        if pos != 0 and (pos > 0) != (signed_lots > 0):
            closed = min(abs(signed_lots), abs(pos))
            pnl = closed * lot * (price - entry) * (1 if pos > 0 else -1)
            release = margin * closed / abs(pos)
            margin -= release
            wallet += release + pnl
            pos += closed if pos < 0 else -closed
            signed_lots += closed if signed_lots < 0 else -closed
            if pos == 0:
                entry, margin = 0.0, 0.0
        if signed_lots != 0:
            add = abs(signed_lots)
            im = add * lot * price / self.leverage[account, asset]
            entry = (abs(pos) * entry + add * price) / (abs(pos) + add)
            pos += signed_lots
            margin += im
            wallet -= im
        self.position[account, asset] = pos
        self.entry[account, asset] = entry
        self.margin[account, asset] = margin
        self.wallet[account] = wallet
        self.fees_paid[account] += fee
        self.realized[account, asset] += pnl
        return pnl

    def unrealized(self, marks: np.ndarray) -> np.ndarray:
        """Unrealised PnL per account and asset at the given mark prices."""
        return self.position * self.lot * (np.asarray(marks)[None, :] - self.entry)

    def equity(self, marks: np.ndarray) -> np.ndarray:
        """Total equity per account: wallet + isolated margins + unrealised PnL."""
        return self.wallet + row_sums(self.margin) + row_sums(self.unrealized(marks))

    def account_equity(self, account: int, marks: np.ndarray) -> float:
        """One account's total equity at the given mark prices."""
        upnl = self.position[account] * self.lot * (np.asarray(marks) - self.entry[account])
        return float(self.wallet[account] + self.margin[account].sum() + upnl.sum())

    def total_money(self, prices: np.ndarray) -> float:
        """Sum of all accounts' equity at one common price per asset."""
        return float(self.equity(prices).sum())
