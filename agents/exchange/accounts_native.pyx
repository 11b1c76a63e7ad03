# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False, cdivision=True
"""The ledger's per-fill arithmetic compiled: `LedgerKernel`.

`agents.exchange.accounts.Ledger` keeps its numpy columns; a kernel holds typed
views of them and does `Ledger.fill` and `Ledger.available` in C, with the
same double-precision operations in the same order, so every column ends
bit-identical to the pure-Python methods' (the tests drive both side by side).
The build disables floating-point contraction (``-ffp-contract=off``), so the
compiler never fuses a multiply and an add into one rounding. Division is C's
(``cdivision``): the only divisor that can be zero is the leverage, a numpy
float64 in the Python method, which gives inf there as here. Accounts and
assets index as numpy does: negative ones count from the end.

A kernel views the arrays it was made from: the ledger makes a new one
whenever it reallocates its columns (`Ledger.grow`).
"""



cdef class LedgerKernel:
    """Compiled `fill` and `available` over one ledger's columns (fields in ``accounts_native.pxd``)."""

    def __init__(self, ledger) -> None:
        self.wallet, self.fees_paid, self.lot = ledger.wallet, ledger.fees_paid, ledger.lot
        self.position, self.entry, self.margin = ledger.position, ledger.entry, ledger.margin
        self.leverage, self.order_margin, self.realized = ledger.leverage, ledger.order_margin, ledger.realized
        self.n_assets = ledger.n_assets

    cpdef double fill(self, Py_ssize_t account, Py_ssize_t asset, i64 signed_lots, double price, double fee) except? -1.0:
        """`agents.exchange.accounts.Ledger.fill`, compiled."""
        self._check(&account, &asset)
        cdef double lot = self.lot[asset]
        cdef i64 pos = self.position[account, asset]
        cdef double entry = self.entry[account, asset]
        cdef double margin = self.margin[account, asset]
        cdef double wallet = self.wallet[account] - fee
        cdef double pnl = 0.0, release, im
        cdef i64 closed, add, apos = pos if pos >= 0 else -pos, alots = signed_lots if signed_lots >= 0 else -signed_lots
        if pos != 0 and (pos > 0) != (signed_lots > 0):
            closed = alots if alots < apos else apos
            pnl = <double>closed * lot * (price - entry) * (1.0 if pos > 0 else -1.0)
            release = margin * <double>closed / <double>apos
            margin -= release
            wallet += release + pnl
            pos += closed if pos < 0 else -closed
            signed_lots += closed if signed_lots < 0 else -closed
            if pos == 0:
                entry, margin = 0.0, 0.0
        if signed_lots != 0:
            add = signed_lots if signed_lots >= 0 else -signed_lots
            apos = pos if pos >= 0 else -pos
            im = <double>add * lot * price / self.leverage[account, asset]
            entry = (<double>apos * entry + <double>add * price) / <double>(apos + add)
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

    cpdef double available(self, Py_ssize_t account) except? -1.0:
        """`agents.exchange.accounts.Ledger.available`, compiled."""
        cdef Py_ssize_t asset = 0
        self._check(&account, &asset)
        cdef double reserved = 0.0
        cdef Py_ssize_t j
        for j in range(self.n_assets):
            reserved += self.order_margin[account, j]
        return self.wallet[account] - reserved

    cpdef tuple side_totals(self, Py_ssize_t asset):
        """`agents.exchange.accounts.Ledger.side_totals`, compiled (integer sums, so the same in any order)."""
        cdef Py_ssize_t i
        if asset < 0:
            asset += self.n_assets
        if not 0 <= asset < self.n_assets:  # (not _check: a ledger without accounts has totals too)
            raise IndexError(f"asset out of range ({self.n_assets} assets)")
        cdef i64 long_lots = 0, short_lots = 0, q
        cdef Py_ssize_t n_long = 0, n_short = 0
        for i in range(self.position.shape[0]):
            q = self.position[i, asset]
            if q > 0:
                long_lots += q
                n_long += 1
            elif q < 0:
                short_lots -= q
                n_short += 1
        return long_lots, short_lots, n_long, n_short

    cdef inline int _check(self, Py_ssize_t* account, Py_ssize_t* asset) except -1:
        """Wrap negative indices as numpy does and check both (bounds checks are off for the accesses)."""
        cdef Py_ssize_t n = self.wallet.shape[0]
        if account[0] < 0:
            account[0] += n
        if asset[0] < 0:
            asset[0] += self.n_assets
        if not (0 <= account[0] < n and 0 <= asset[0] < self.n_assets):
            raise IndexError(f"account or asset out of range ({n} accounts, {self.n_assets} assets)")
        return 0
