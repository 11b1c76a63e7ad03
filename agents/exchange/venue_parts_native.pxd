# The parts of a venue its compiled methods read (venue_native), typed.

cimport cython
from libcpp.vector cimport vector

from agents.exchange.accounts_native cimport LedgerKernel
from agents.exchange.margin_native cimport TierRows

ctypedef long long i64


@cython.final
cdef class VenueParts:
    cdef readonly object venue  # the venue whose parts these are (its compiled methods are bound to them)
    cdef readonly list books, registries, tiers, stops, watch, last_tick
    cdef readonly object ledger, mark, rejections
    cdef readonly LedgerKernel kernel  # the ledger's (one for its life: `Ledger._bind_kernel`)
    cdef readonly i64 fund
    cdef readonly double maker_fee, taker_fee, market_band
    cdef public i64 orders_received, cancels_received
    cdef public double fees_collected
    cdef double[::1] mark_value, mark_ema, mark_index, mark_basis  # the mark's arrays, updated in place
    cdef double[::1] mids  # begin_step's scratch: each asset's mid
    cdef list stop_heaps  # per asset, the heap lists of its stops (upward, downward): `TriggerHeap._heap`
    cdef vector[TierRows] tier_rows  # per asset, its tier table's rows as C arrays ...
    cdef list tier_tables  # ... and the table they were read from

    cdef const TierRows* tiers_of(self, Py_ssize_t asset) except NULL
