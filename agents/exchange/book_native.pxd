# The compiled book's C-level interface, for other compiled kernels (venue_native): they place,
# look up and cancel orders without a Python call or a `Match` for an order that only rests.

from cpython cimport array
from libcpp.map cimport map as cmap

cimport cython

from agents.exchange.containers cimport IdMap, IdQueue
from agents.exchange.match_native cimport NativeMatch

ctypedef long long i64

# Time in force, as C codes for `_submit`.
cdef enum:
    TIF_GTC = 0
    TIF_IOC = 1
    TIF_POST = 2


cdef struct Order:
    i64 tick
    i64 qty
    i64 owner
    int side


cdef struct Level:
    i64 qty
    IdQueue ids


@cython.final
cdef class NativeLimitOrderBook:
    cdef readonly str asset
    cdef readonly double tick_size, lot_size
    cdef public double time
    cdef public int cause
    cdef readonly array.array tape_time, tape_tick, tape_qty, tape_side, tape_taker, tape_maker, tape_cause
    cdef readonly object resting_ids  # a RestingIds view
    cdef cmap[i64, Level] _bids
    cdef cmap[i64, Level] _asks
    cdef IdMap[Order] _orders
    cdef i64 _next_id

    cdef cmap[i64, Level]* _side(self, int side)
    cdef i64 _lots_between(self, int side, double lo, double hi)
    cdef bint _find(self, order_id, i64* oid)
    cdef bint _touch(self, int side, i64* tick) noexcept
    cdef bint _mid(self, double* mid) noexcept
    cdef bint _crosses(self, int side, i64 tick) noexcept
    cdef NativeMatch _submit(self, i64 owner, int side, i64 tick, i64 qty, int tif)
    cdef i64 _post(self, i64 owner, int side, i64 tick, i64 qty)
    cdef i64 _cancel(self, i64 oid) except -1
    cdef i64 _rest(self, i64 owner, int side, i64 tick, i64 qty)
    cdef int _tape(self, double now, i64 tick, i64 qty, signed char side, i64 taker, i64 maker,
                   signed char cause) except -1
    cdef NativeMatch _match(self, i64 owner, int side, i64 qty, i64 limit, bint has_limit)


cdef bint plain_order(int side, i64 tick, i64 qty) noexcept
