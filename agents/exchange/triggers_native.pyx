# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: annotation_typing=False
"""The liquidation watch compiled: `NativeLiquidationWatch`.

The same watch as `agents.exchange.triggers.LiquidationWatch` (one live entry
per account, the nearest due one first, ties in arrival order, stale entries
dropped lazily and compacted away once a heap has doubled), with its two heaps
as C++ vectors of ``(key, seq, account, version)`` and the account versions in
a C++ vector. Entries are totally ordered by ``(key, seq)``, so it fires the
same accounts in the same order as the Python watch; the tests drive both
against a plain reference.
"""

from libc.math cimport isfinite

DEF UP = 1
DEF DOWN = -1


cdef class NativeLiquidationWatch:
    """Liquidation prices of open positions on one asset, triggered by the mark price (compiled).

    Args:
        n_accounts: accounts are ``0 .. n_accounts - 1``.
        compact_min: heaps smaller than this are never compacted.
    """

    def __init__(self, n_accounts: int, compact_min: int = 1024) -> None:
        self._version.assign(<Py_ssize_t>n_accounts, 0)
        self._compact_min = compact_min
        self._compact_up = self._compact_down = compact_min
        self._seq_up = self._seq_down = 0

    @property
    def sizes(self) -> tuple:
        """Entries (live or stale) in the UP and the DOWN heap."""
        return self._up.size(), self._down.size()

    def live(self) -> list:
        """Every live entry as ``(direction, liquidation price, account)``, sorted (for tests and audits)."""
        out = []
        cdef TriggerEntry e
        for e in self._up:
            if self._version[e.ident] == e.version:
                out.append((UP, e.key, e.ident))
        for e in self._down:
            if self._version[e.ident] == e.version:
                out.append((DOWN, -e.key, e.ident))
        return sorted(out)

    cdef i64 _account(self, account) except -1:
        """An account's index, negative ones counting from the end (as the Python watch's list does)."""
        cdef i64 a = account, n = self._version.size()
        if a < 0:
            a += n
        if not 0 <= a < n:
            raise IndexError("list index out of range")
        return a

    def watch(self, account, position, double liq_price) -> None:
        """(Re)register an account's position; a flat position just invalidates."""
        cdef i64 a = self._account(account)
        self._version[a] += 1
        if position == 0 or not isfinite(liq_price):
            return
        self._push(a, position > 0, liq_price)

    cdef int _watch(self, i64 account, i64 position, double liq_price) except -1:
        """`watch` for a C account index (negative ones counting from the end) and position, without a Python
        call."""
        cdef i64 a = account, n = self._version.size()
        if a < 0:
            a += n
        if not 0 <= a < n:
            raise IndexError("list index out of range")
        self._version[a] += 1
        if position != 0 and isfinite(liq_price):
            self._push(a, position > 0, liq_price)
        return 0

    cdef int _push(self, i64 a, bint long_position, double liq_price) except -1:
        """Add the account's live entry (its version already bumped) to the heap its side triggers on."""
        cdef TriggerEntry e
        e.ident, e.version = a, self._version[a]
        if long_position:  # a long: liquidated when the mark falls to it
            e.key, e.seq = -liq_price, self._seq_down
            self._seq_down += 1
            self._down.push_back(e)
            heap_push(self._down)
            self._compact_down = self._compact(self._down, self._compact_down)
        else:
            e.key, e.seq = liq_price, self._seq_up
            self._seq_up += 1
            self._up.push_back(e)
            heap_push(self._up)
            self._compact_up = self._compact(self._up, self._compact_up)
        return 0

    cdef Py_ssize_t _compact(self, vector[TriggerEntry]& heap, Py_ssize_t at):
        """Drop stale entries once the heap has reached ``at``; the next threshold."""
        if <Py_ssize_t>heap.size() < at:
            return at
        cdef Py_ssize_t i, kept = 0
        for i in range(<Py_ssize_t>heap.size()):
            if self._version[heap[i].ident] == heap[i].version:
                heap[kept] = heap[i]
                kept += 1
        heap.resize(kept)
        heap_make(heap)
        return max(self._compact_min, 2 * kept)

    cdef bint _top_due(self, vector[TriggerEntry]& heap, double bound):
        """Drop stale entries off the top; whether a live due one is left there."""
        while not heap.empty() and heap[0].key <= bound:
            if self._version[heap[0].ident] == heap[0].version:
                return True
            heap_pop(heap)
        return False

    cdef bint _any_due(self, double price) except -1:
        """Whether `next_due` would find an entry (it drops the same stale ones), without a Python call."""
        return self._top_due(self._up, price) or self._top_due(self._down, -price)

    def next_due(self, double price):
        """``(trigger price, direction)`` of the nearest due entry (upward first), without removing it."""
        if self._top_due(self._up, price):
            return self._up[0].key, UP
        if self._top_due(self._down, -price):
            return -self._down[0].key, DOWN
        return None

    def pop(self, double mark, int direction):
        """Remove the nearest due account in a direction: ``(liquidation price, account)``."""
        cdef vector[TriggerEntry]* heap = &self._up if direction == UP else &self._down
        if not self._top_due(heap[0], mark if direction == UP else -mark):
            return None
        cdef TriggerEntry e = heap[0][0]
        heap_pop(heap[0])
        self._version[e.ident] += 1
        return (e.key if direction == UP else -e.key), e.ident
