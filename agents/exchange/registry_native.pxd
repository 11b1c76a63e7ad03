# The compiled order registry's C-level interface, for other compiled kernels (venue_native).

cimport cython

from agents.exchange.containers cimport IdMap

ctypedef long long i64


cdef struct Entry:
    i64 account
    double per_lot
    bint reduce_only


@cython.final
cdef class NativeOrderRegistry:
    cdef IdMap[Entry] _owner
    cdef IdMap[IdMap[bint]] _by_account  # sets of ids, as maps to a flag that is never read
    cdef IdMap[IdMap[bint]] _reduce_only

    cdef void _add(self, i64 order_id, i64 account, double per_lot, bint reduce_only) noexcept
    cdef Entry* _entry(self, i64 order_id) noexcept
    cdef void _remove(self, i64 order_id) noexcept
    cdef Py_ssize_t _count(self, i64 account) noexcept
    cdef list _pop_reduce_only(self, i64 account)
